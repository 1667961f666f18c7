//! The server side of a SASL exchange on arbitrary lines: no panic, it
//! never asks for a line once it has finished, credentials come only from
//! a well-formed exchange, and what a client encodes decodes back.

use sansmail_smtp::sasl::server::{Exchange, Step};
use sansmail_smtp::sasl::{self, Credentials, Mechanism};

const MECHANISMS: [Mechanism; 4] = [
    Mechanism::Plain,
    Mechanism::Login,
    Mechanism::XOAuth2,
    Mechanism::OAuthBearer,
];

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let mechanism = MECHANISMS[usize::from(control % 4)].clone();
    let mut lines = rest.split(|&b| b == b'\n');
    let initial = (control & 4 != 0)
        .then(|| lines.next().map(|l| l.to_vec()))
        .flatten();
    let (mut exchange, mut step) = Exchange::start(mechanism.clone(), initial);
    let mut refused = false;
    loop {
        match step {
            Step::Challenge(c) => {
                assert!(exchange.wants_response());
                assert!(sasl::server::decode_response(c.as_bytes()).is_some());
            }
            Step::Credentials(ref credentials) => {
                assert!(!exchange.wants_response());
                check_credentials(&mechanism, credentials);
                // Refuse some, to run the error round of the bearer mechanisms.
                if control & 8 != 0 {
                    refused = true;
                    match exchange.refuse(()) {
                        Ok(c) => {
                            assert!(matches!(
                                mechanism,
                                Mechanism::XOAuth2 | Mechanism::OAuthBearer
                            ));
                            assert!(!c.is_empty() && exchange.wants_response());
                        }
                        Err(()) => assert!(!exchange.wants_response()),
                    }
                }
            }
            Step::Failed(_) | Step::Refused(()) => {
                assert!(!exchange.wants_response());
                if let Step::Refused(()) = step {
                    assert!(refused);
                }
            }
        }
        let Some(line) = lines.next() else { break };
        let wanted = exchange.wants_response();
        step = exchange.respond(line);
        if !wanted {
            assert!(matches!(step, Step::Failed(_)));
        }
    }
}

/// Credentials decoded from the client's message encode back to it.
fn check_credentials(mechanism: &Mechanism, credentials: &Credentials) {
    match (mechanism, credentials) {
        (
            Mechanism::Plain,
            Credentials::Plain {
                authzid,
                authcid,
                password,
            },
        ) => {
            let again = sasl::encode_plain(authzid.as_deref(), authcid, password.expose());
            assert_eq!(sasl::decode_plain(&again).as_ref(), Ok(credentials));
        }
        (Mechanism::Login, Credentials::Login { username, password }) => {
            assert!(!username.is_empty() && !password.expose().is_empty());
        }
        (Mechanism::XOAuth2, Credentials::XOAuth2 { user, token }) => {
            assert!(!user.is_empty());
            let again = sasl::encode_xoauth2(user, token.expose());
            if !user.contains('\x01') && !token.expose().contains('\x01') {
                assert_eq!(sasl::decode_xoauth2(&again).as_ref(), Ok(credentials));
            }
        }
        (Mechanism::OAuthBearer, Credentials::OAuthBearer { token, .. }) => {
            assert!(!token.expose().contains('\x01'));
        }
        other => panic!("{other:?}: credentials of another mechanism"),
    }
}

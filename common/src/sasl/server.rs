//! The server side of one SASL exchange, without I/O: the protocol hands
//! it the mechanism, the initial response and each response line; it says
//! what to send back. SMTP frames a challenge as `334 …`, POP3 and IMAP as
//! `+ …`, and each protocol words its own failures.
//!
//! ```
//! use sansmail_common::sasl::Mechanism;
//! use sansmail_common::sasl::server::{Exchange, Step};
//!
//! // AUTH LOGIN without an initial response.
//! let (mut exchange, step) = Exchange::<&str>::start(Mechanism::Login, None);
//! assert_eq!(step, Step::Challenge("VXNlcm5hbWU6")); // "Username:"
//! assert_eq!(exchange.respond(b"YWxpY2U="), Step::Challenge("UGFzc3dvcmQ6"));
//! let Step::Credentials(credentials) = exchange.respond(b"c2VjcmV0") else { panic!() };
//! assert_eq!(credentials.password(), Some("secret"));
//! // Refused: no error round for LOGIN, the protocol answers at once.
//! assert_eq!(exchange.refuse("535 no"), Err("535 no"));
//! ```

use base64::Engine;

use super::{
    Credentials, Mechanism, SaslError, Secret, decode_oauthbearer, decode_plain, decode_xoauth2,
};

/// The LOGIN mechanism's challenges, `Username:` and `Password:`.
const LOGIN_USER: &str = "VXNlcm5hbWU6";
const LOGIN_PASSWORD: &str = "UGFzc3dvcmQ6";
/// The error challenge of RFC 7628 §3.2.2: `{"status":"invalid_token"}`.
const BEARER_ERROR: &str = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=";

/// What the protocol does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step<F> {
    /// Send this challenge (already base64) and pass the client's next
    /// line to [`Exchange::respond`].
    Challenge(&'static str),
    /// The client presented these: the application verifies them, then
    /// the protocol accepts or calls [`Exchange::refuse`].
    Credentials(Credentials),
    /// The exchange ended without credentials.
    Failed(Failure),
    /// The client answered the error challenge: send the refusal given to
    /// [`Exchange::refuse`].
    Refused(F),
}

/// Why an exchange ended without credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The client sent `*`.
    #[error("authentication cancelled")]
    Cancelled,
    /// A response was not base64.
    #[error("invalid base64")]
    InvalidBase64,
    /// The response did not follow the mechanism.
    #[error(transparent)]
    Malformed(#[from] SaslError),
    /// The mechanism is not one [`super::is_supported`] names.
    #[error("unsupported mechanism")]
    Unsupported,
    /// A response came when none was asked for.
    #[error("no response expected")]
    Unexpected,
}

/// One exchange; `F` is the protocol's refusal (a reply, a status), held
/// through the error round of the bearer mechanisms.
#[derive(Debug)]
pub struct Exchange<F> {
    mechanism: Mechanism,
    stage: Stage<F>,
}

#[derive(Debug)]
enum Stage<F> {
    /// The mechanism's one message is due.
    Message,
    LoginUser,
    LoginPassword(String),
    /// Credentials are with the application.
    Verifying,
    /// The error challenge went out; any line ends the exchange.
    ErrorAck(F),
    Finished,
}

impl<F> Exchange<F> {
    /// Starts `mechanism`, with the initial response already decoded (see
    /// [`decode_response`]) when the client sent one.
    pub fn start(mechanism: Mechanism, initial: Option<Vec<u8>>) -> (Self, Step<F>) {
        let mut exchange = Exchange {
            stage: match mechanism {
                Mechanism::Login => Stage::LoginUser,
                _ => Stage::Message,
            },
            mechanism,
        };
        if !super::is_supported(&exchange.mechanism) {
            exchange.stage = Stage::Finished;
            return (exchange, Step::Failed(Failure::Unsupported));
        }
        let step = match initial {
            Some(data) => exchange.take(data),
            None if exchange.mechanism == Mechanism::Login => Step::Challenge(LOGIN_USER),
            None => Step::Challenge(""),
        };
        (exchange, step)
    }

    /// The mechanism being run.
    pub fn mechanism(&self) -> &Mechanism {
        &self.mechanism
    }

    /// A response line from the client, without its line end: base64, an
    /// empty line or `=` for an empty response, or `*` to cancel.
    pub fn respond(&mut self, line: &[u8]) -> Step<F> {
        match std::mem::replace(&mut self.stage, Stage::Finished) {
            Stage::ErrorAck(refusal) => Step::Refused(refusal),
            Stage::Verifying | Stage::Finished => Step::Failed(Failure::Unexpected),
            stage => {
                self.stage = stage;
                if line == b"*" {
                    return self.fail(Failure::Cancelled);
                }
                match decode_response(line) {
                    Some(data) => self.take(data),
                    None => self.fail(Failure::InvalidBase64),
                }
            }
        }
    }

    /// The application refused the credentials. For XOAUTH2 and
    /// OAUTHBEARER (RFC 7628 §3.2.2) an error challenge goes first: `Ok`
    /// gives it, and the client's next line gives the refusal back as
    /// [`Step::Refused`]. Otherwise `Err` gives the refusal to send now.
    pub fn refuse(&mut self, refusal: F) -> Result<&'static str, F> {
        let bearer = matches!(self.mechanism, Mechanism::XOAuth2 | Mechanism::OAuthBearer);
        if bearer && matches!(self.stage, Stage::Verifying) {
            self.stage = Stage::ErrorAck(refusal);
            Ok(BEARER_ERROR)
        } else {
            self.stage = Stage::Finished;
            Err(refusal)
        }
    }

    /// True while the exchange waits for a line from the client.
    pub fn wants_response(&self) -> bool {
        matches!(
            self.stage,
            Stage::Message | Stage::LoginUser | Stage::LoginPassword(_) | Stage::ErrorAck(_)
        )
    }

    /// Takes one decoded response.
    fn take(&mut self, data: Vec<u8>) -> Step<F> {
        match std::mem::replace(&mut self.stage, Stage::Finished) {
            Stage::LoginUser => match login_field(data) {
                Some(user) => {
                    self.stage = Stage::LoginPassword(user);
                    Step::Challenge(LOGIN_PASSWORD)
                }
                None => Step::Failed(Failure::Malformed(SaslError("LOGIN"))),
            },
            Stage::LoginPassword(username) => match login_field(data) {
                Some(password) => self.verify(Credentials::Login {
                    username,
                    password: Secret::new(password),
                }),
                None => Step::Failed(Failure::Malformed(SaslError("LOGIN"))),
            },
            Stage::Message => {
                let decoded = match self.mechanism {
                    Mechanism::Plain => decode_plain(&data),
                    Mechanism::XOAuth2 => decode_xoauth2(&data),
                    _ => decode_oauthbearer(&data),
                };
                match decoded {
                    Ok(credentials) => self.verify(credentials),
                    Err(e) => Step::Failed(Failure::Malformed(e)),
                }
            }
            _ => Step::Failed(Failure::Unexpected),
        }
    }

    fn verify(&mut self, credentials: Credentials) -> Step<F> {
        self.stage = Stage::Verifying;
        Step::Credentials(credentials)
    }

    fn fail(&mut self, failure: Failure) -> Step<F> {
        self.stage = Stage::Finished;
        Step::Failed(failure)
    }
}

/// A LOGIN user name or password: non-empty UTF-8.
fn login_field(data: Vec<u8>) -> Option<String> {
    String::from_utf8(data).ok().filter(|s| !s.is_empty())
}

/// Decodes a SASL response as SMTP, POP3 and IMAP send it: an empty line
/// or `=` is an empty response, anything else strict base64 (RFC 4648 §4,
/// padding required, no white space).
pub fn decode_response(line: &[u8]) -> Option<Vec<u8>> {
    if line.is_empty() || line == b"=" {
        return Some(Vec::new());
    }
    base64::engine::general_purpose::STANDARD.decode(line).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(data: &[u8]) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .encode(data)
            .into_bytes()
    }

    #[test]
    fn plain_with_and_without_an_initial_response() {
        let message = b"\0alice\0secret".to_vec();
        let (_, step) = Exchange::<()>::start(Mechanism::Plain, Some(message.clone()));
        let Step::Credentials(c) = step else {
            panic!("{step:?}")
        };
        assert_eq!(c.username(), Some("alice"));
        let (mut exchange, step) = Exchange::<()>::start(Mechanism::Plain, None);
        assert_eq!(step, Step::Challenge(""));
        assert!(exchange.wants_response());
        assert!(matches!(
            exchange.respond(&b64(&message)),
            Step::Credentials(_)
        ));
        assert!(!exchange.wants_response());
        // Nothing more is expected once the credentials are out.
        assert_eq!(exchange.respond(b""), Step::Failed(Failure::Unexpected));
    }

    #[test]
    fn login_with_the_user_as_initial_response() {
        let (mut exchange, step) = Exchange::<()>::start(Mechanism::Login, Some(b"bob".to_vec()));
        assert_eq!(step, Step::Challenge(LOGIN_PASSWORD));
        let Step::Credentials(c) = exchange.respond(&b64(b"pw")) else {
            panic!()
        };
        assert_eq!((c.username(), c.password()), (Some("bob"), Some("pw")));
    }

    #[test]
    fn failures_are_told_apart() {
        let (mut e, _) = Exchange::<()>::start(Mechanism::Plain, None);
        assert_eq!(e.respond(b"*"), Step::Failed(Failure::Cancelled));
        let (mut e, _) = Exchange::<()>::start(Mechanism::Plain, None);
        assert_eq!(
            e.respond(b"not base64!"),
            Step::Failed(Failure::InvalidBase64)
        );
        let (mut e, _) = Exchange::<()>::start(Mechanism::Plain, None);
        assert_eq!(
            e.respond(&b64(b"no nul")),
            Step::Failed(Failure::Malformed(SaslError("PLAIN")))
        );
        let (mut e, _) = Exchange::<()>::start(Mechanism::Login, None);
        assert_eq!(
            e.respond(b""),
            Step::Failed(Failure::Malformed(SaslError("LOGIN")))
        );
        let (_, step) = Exchange::<()>::start(Mechanism::Other("GSSAPI".into()), None);
        assert_eq!(step, Step::Failed(Failure::Unsupported));
    }

    #[test]
    fn bearer_refusals_take_an_error_round() {
        let token = crate::sasl::encode_oauthbearer("ann", "bad");
        let (mut e, step) = Exchange::start(Mechanism::OAuthBearer, Some(token));
        assert!(matches!(step, Step::Credentials(_)));
        assert_eq!(e.refuse("NO refused"), Ok(BEARER_ERROR));
        assert!(e.wants_response());
        // The client's dummy response (RFC 7628 §3.2.3 says ^A) ends it.
        assert_eq!(e.respond(b"AQ=="), Step::Refused("NO refused"));
        assert!(!e.wants_response());
        // A PLAIN refusal goes out at once.
        let (mut e, _) = Exchange::start(Mechanism::Plain, Some(b"\0a\0b".to_vec()));
        assert_eq!(e.refuse("NO"), Err("NO"));
    }

    #[test]
    fn responses_decode_strictly() {
        assert_eq!(decode_response(b"="), Some(Vec::new()));
        assert_eq!(decode_response(b""), Some(Vec::new()));
        assert_eq!(decode_response(b"YQ=="), Some(b"a".to_vec()));
        assert_eq!(decode_response(b"YQ"), None);
        assert_eq!(decode_response(b"Y Q=="), None);
    }
}

//! AUTHENTICATE: the SASL exchange framed in IMAP continuation requests.

use super::{Event, Pending, Phase, Session};
use crate::sasl::server::{Exchange, Failure, Step};
use crate::sasl::{self, Mechanism};
use crate::types::{Code, Status, Str, Tag};

impl Session {
    /// AUTHENTICATE: decodes the SASL exchange itself, then asks to verify.
    pub(super) fn authenticate(
        &mut self,
        tag: Tag,
        mechanism: &str,
        initial: Option<Str>,
        authenticated: bool,
    ) {
        if authenticated {
            return self.bad(Some(&tag), None, "Already logged in");
        }
        if !self.tls && !self.config.allow_plaintext_auth {
            return self.no(
                &tag,
                Some(Code::PrivacyRequired),
                "AUTHENTICATE needs TLS first",
            );
        }
        let mech = Mechanism::parse(mechanism);
        let Some(mech) =
            mech.filter(|m| self.config.mechanisms.contains(m) && sasl::is_supported(m))
        else {
            return self.no(
                &tag,
                Some(Code::Cannot),
                "Unsupported authentication mechanism",
            );
        };
        let initial = match initial {
            None => None,
            Some(data) => match sasl::server::decode_response(data.as_bytes()) {
                Some(data) => Some(data),
                None => return self.bad(Some(&tag), None, "Invalid base64"),
            },
        };
        let (exchange, step) = Exchange::start(mech, initial);
        self.auth_step(tag, exchange, step);
    }

    /// Carries out what the SASL exchange asks for.
    pub(super) fn auth_step(&mut self, tag: Tag, exchange: Exchange<Status>, step: Step<Status>) {
        match step {
            Step::Challenge(challenge) => {
                self.send_continue(challenge);
                self.phase = Phase::Auth { tag, exchange };
            }
            Step::Credentials(credentials) => {
                // Kept while the application decides, for the error round of a refusal.
                self.phase = Phase::Auth {
                    tag: tag.clone(),
                    exchange,
                };
                let ticket = self.wait_for(Pending::Login { tag });
                self.events.push_back(Event::Login {
                    ticket,
                    credentials,
                });
            }
            Step::Refused(status) => {
                self.tagged(&tag, status);
                self.count_error();
            }
            Step::Failed(Failure::Cancelled) => {
                self.bad(Some(&tag), None, "Authentication canceled")
            }
            Step::Failed(e) => self.bad(Some(&tag), None, &e.to_string()),
        }
    }
}

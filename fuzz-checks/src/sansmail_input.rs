//! What the app-facing crate reads from its caller: a server URL, and a
//! message whose header gives the envelope. Neither may panic; a URL that
//! parses names a server that parses back the same; a message without Bcc
//! goes out as given, after any Date and Message-ID added in front.

use sansmail::{Endpoint, Outgoing, Protocol, Security};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    if let Ok(url) = std::str::from_utf8(data)
        && let Ok(e) = Endpoint::parse(url)
    {
        let scheme = match (e.protocol(), e.security()) {
            (Protocol::Smtp, Security::Implicit) => "smtps",
            (Protocol::Smtp, Security::StartTls) => "smtp+starttls",
            (Protocol::Smtp, Security::Opportunistic) => "smtp",
            (Protocol::Imap, Security::Implicit) => "imaps",
            (Protocol::Imap, Security::StartTls) => "imap+starttls",
            (Protocol::Imap, Security::Opportunistic) => "imap",
            (Protocol::Pop3, Security::Implicit) => "pop3s",
            (Protocol::Pop3, Security::StartTls) => "pop3+starttls",
            (Protocol::Pop3, Security::Opportunistic) => "pop3",
        };
        let again = Endpoint::parse(&format!("{scheme}://{}", e.server())).unwrap();
        assert_eq!(
            (again.server(), again.security()),
            (e.server(), e.security())
        );
    }
    if let Ok(outgoing) = Outgoing::new(data.to_vec()) {
        assert!(!outgoing.recipients().is_empty());
        let has_bcc = data.windows(3).any(|w| w.eq_ignore_ascii_case(b"bcc"));
        if !has_bcc {
            assert!(outgoing.body().ends_with(data));
        }
    }
}

//! What mail-server reads from outside its sessions: its configuration
//! file, spamd's answers, queue envelopes after a crash, and recipient
//! addresses. None may panic; a spamd answer never turns into header
//! fields that could break out of their lines; an address is delivered
//! locally only when its local part is a plain name.

use sansmail_server::config::Settings;
use sansmail_server::filter::parse_spamd;
use sansmail_server::limits::Guard;
use sansmail_server::queue::Envelope;
use sansmail_server::users::{Directory, Route};
use sansmail_smtp::types::Mailbox;

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(settings) = Settings::from_toml(text, "fuzz.toml") {
        assert!(settings.check().is_ok());
    }
    if let Ok(score) = parse_spamd(text) {
        for line in score.headers().split_terminator("\r\n") {
            assert!(line.starts_with("X-Spam-"));
            assert!(line.bytes().all(|b| (0x20..0x7f).contains(&b)), "{line:?}");
        }
    }
    let _ = serde_json::from_str::<Envelope>(text);
    if let Ok(mailbox) = Mailbox::parse(text) {
        let settings = Settings::default();
        let directory = Directory::new(
            &settings,
            Guard::new(sansmail_server::limits::Policy {
                max_connections: 1,
                lockout_failures: 1,
                lockout: std::time::Duration::ZERO,
                max_penalty: std::time::Duration::ZERO,
            }),
        );
        if let Ok(Route::Local(_)) = directory.route(&mailbox) {
            let local = mailbox.local_part.as_str();
            assert!(!local.contains(['%', '!', '@', '"']), "{text:?}");
        }
    }
}

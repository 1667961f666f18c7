//! What the tests' scripted IMAP servers share: an INBOX holding UID 1.

use std::num::NonZeroU32;

use sansmail_imap::server::SelectInfo;

/// `n`, which is not zero.
pub(crate) fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("not zero")
}

/// An INBOX of one message, UID 1 (UIDVALIDITY 7, UIDNEXT 2).
pub(crate) fn inbox() -> SelectInfo {
    SelectInfo {
        uid_validity: nz(7),
        uid_next: nz(2),
        uids: vec![nz(1)],
        flags: vec![],
        permanent_flags: vec![],
        highest_modseq: None,
        recent: 0,
        first_unseen: None,
        read_only: false,
        changed: vec![],
        vanished: None,
        mailbox_id: None,
    }
}

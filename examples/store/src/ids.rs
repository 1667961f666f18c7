//! Stable identifiers: what JMAP and the IMAP OBJECTID extension (RFC
//! 8474) need, in a form every backend can give.
//!
//! - [`MailboxId`]: made when the folder is made; survives RENAME.
//! - [`EmailId`]: from the message's content, so a copy keeps it and a
//!   message moved to another folder is the same email.
//! - [`ThreadId`]: from the conversation's first Message-ID (the oldest
//!   `References` entry, else `In-Reply-To`, else its own), so replies
//!   join the thread of what they answer without any shared state.
//! - A blob id names the content ([`EmailId::blob`]).

use std::fmt;

use sha2::{Digest, Sha256};

fn hash64(parts: &[&[u8]]) -> u64 {
    let mut digest = Sha256::new();
    for part in parts {
        digest.update(part);
    }
    let out = digest.finalize();
    u64::from_be_bytes(out[..8].try_into().expect("a SHA-256 digest has 32 bytes"))
}

macro_rules! id_type {
    ($name:ident, $prefix:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{:016x}"), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = BadId;
            fn from_str(s: &str) -> Result<Self, BadId> {
                let hex = s.strip_prefix($prefix).ok_or(BadId)?;
                if hex.len() != 16 {
                    return Err(BadId);
                }
                u64::from_str_radix(hex, 16).map($name).map_err(|_| BadId)
            }
        }
    };
}

id_type!(MailboxId, "F", "A folder's id (`F` and 16 hex digits).");
id_type!(EmailId, "M", "A message's id (`M` and 16 hex digits).");
id_type!(
    ThreadId,
    "T",
    "A conversation's id (`T` and 16 hex digits)."
);

/// Text that is not an id of the expected kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct BadId;

impl MailboxId {
    /// An id for a folder made now: from its account, name and a unique stamp.
    pub fn made(user: &str, name: &str, stamp: u64) -> MailboxId {
        MailboxId(hash64(&[
            user.as_bytes(),
            b"\0",
            name.as_bytes(),
            &stamp.to_be_bytes(),
        ]))
    }
}

impl EmailId {
    /// The id of a message with this content.
    pub fn of_content(content: &[u8]) -> EmailId {
        EmailId(hash64(&[content]))
    }

    /// The id of this message's content as a blob (`B` and 16 hex digits).
    pub fn blob(&self) -> String {
        format!("B{:016x}", self.0)
    }
}

impl ThreadId {
    /// The thread a message with this header belongs to; `email` when its
    /// header names no message at all.
    pub fn of_header(header: &[u8], email: EmailId) -> ThreadId {
        let parsed = sansmail_mime::Message::parse(header);
        let fields = &parsed.root.header;
        let root = fields
            .ids("references")
            .into_iter()
            .next()
            .or_else(|| fields.ids("in-reply-to").into_iter().next())
            .or_else(|| fields.message_id());
        match root {
            Some(id) => ThreadId(hash64(&[b"<", id.as_bytes(), b">"])),
            None => ThreadId(email.0),
        }
    }
}

/// The header block of a message: up to and including the blank line (or all of it).
pub fn header_of(message: &[u8]) -> &[u8] {
    let mut at = 0;
    while let Some(i) = memchr::memchr(b'\n', &message[at..]) {
        let line_end = at + i + 1;
        let next = &message[line_end..];
        if next.starts_with(b"\r\n") || next.starts_with(b"\n") {
            return &message[..line_end];
        }
        at = line_end;
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_and_parse_back() {
        let id = EmailId::of_content(b"Subject: x\r\n\r\nbody\r\n");
        let text = id.to_string();
        assert!(text.starts_with('M') && text.len() == 17);
        assert_eq!(text.parse::<EmailId>(), Ok(id));
        assert!("F0123".parse::<MailboxId>().is_err());
        assert!(id.blob().starts_with('B'));
    }

    #[test]
    fn replies_join_the_thread_they_answer() {
        let first = b"Message-ID: <a@x>\r\nSubject: hi\r\n\r\n";
        let reply = b"Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\n\r\n";
        let later = b"Message-ID: <c@x>\r\nReferences: <a@x> <b@x>\r\n\r\n";
        let other = b"Message-ID: <d@x>\r\n\r\n";
        let t = |h: &[u8]| ThreadId::of_header(h, EmailId(7));
        assert_eq!(t(first), t(reply));
        assert_eq!(t(first), t(later));
        assert_ne!(t(first), t(other));
        assert_eq!(t(b"Subject: none\r\n\r\n"), ThreadId(7));
    }

    #[test]
    fn the_header_ends_at_the_blank_line() {
        assert_eq!(header_of(b"A: b\r\n\r\nbody"), b"A: b\r\n");
        assert_eq!(header_of(b"A: b\n\nbody"), b"A: b\n");
        assert_eq!(header_of(b"A: b"), b"A: b");
    }
}

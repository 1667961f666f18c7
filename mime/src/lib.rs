//! RFC 5322 and MIME message structure, zero-copy: header fields, the part
//! tree (multipart of every kind, enclosed `message/rfc822` and
//! `message/global`), each part's header and body byte ranges, IMAP section
//! numbers, and the defects repaired on the way, with their offsets.
//!
//! Parsing never fails: damaged input is read the way mail clients read it.
//! Nesting, part count and header size are bounded by [`Limits`].
//!
//! This is the structural core of the `mime` crate; decoding (transfer
//! encodings, charsets, encoded words), typed headers and the builder
//! build on it.
//!
//! ```
//! use sansmail_mime::Message;
//!
//! let raw = b"Subject: hi\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
//! --b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n--b--\r\n";
//! let message = Message::parse(raw);
//! let sections: Vec<String> = message.leaves().into_iter().map(|(s, _)| s).collect();
//! assert_eq!(sections, ["1", "2"]);
//! let (_, html) = &message.leaves()[1];
//! assert_eq!(message.slice(&html.body_range), b"<b>html</b>");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod content_type;
mod defect;
mod header;
mod message;

pub use content_type::{ContentType, Disposition, Param};
pub use defect::{Defect, DefectKind};
pub use header::{Field, Header};
pub use message::{Body, Limits, Message, Part};

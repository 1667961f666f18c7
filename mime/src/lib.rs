//! RFC 5322 and MIME messages, zero-copy: header fields, the part tree
//! (multipart of every kind, enclosed `message/rfc822` and `message/global`),
//! each part's header and body byte ranges, IMAP section numbers, and the
//! defects repaired on the way, with their offsets; bodies decoded on demand
//! (base64, quoted-printable, uuencode) and text converted to UTF-8 from any
//! charset `encoding_rs` knows; RFC 2047 encoded words and RFC 2231
//! parameters decoded.
//!
//! Parsing never fails: damaged input is read the way mail clients read it.
//! Nesting, part count and header size are bounded by [`Limits`].
//!
//! ```
//! use sansmail_mime::Message;
//!
//! let raw = b"Subject: =?utf-8?q?caf=C3=A9?=\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
//! --b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b\r\nContent-Type: text/html\r\n\
//! Content-Transfer-Encoding: base64\r\n\r\nPGI+aHRtbDwvYj4=\r\n--b--\r\n";
//! let message = Message::parse(raw);
//! assert_eq!(message.subject().as_deref(), Some("café"));
//! let sections: Vec<String> = message.leaves().into_iter().map(|(s, _)| s).collect();
//! assert_eq!(sections, ["1", "2"]);
//! let (_, html) = &message.leaves()[1];
//! assert_eq!(message.decoded_body(html).0.as_ref(), b"<b>html</b>");
//! ```
#![deny(unsafe_code)] // one allowed module: wide, see there
#![deny(missing_docs)]

pub mod address;
mod body_view;
pub mod builder;
pub mod charset;
mod content_type;
pub mod date;
mod defect;
mod header;
pub mod ids;
pub mod list;
mod message;
#[cfg(feature = "openpgp")]
pub mod openpgp;
pub mod protect;
pub mod received;
#[cfg(feature = "smime")]
pub mod smime;
pub mod stream;
pub mod transfer;
mod wide;
pub mod words;

pub use address::{Address, AddressList, Mailbox, MailboxError, parse_addresses};
pub use body_view::{BodyView, SectionPart};
pub use charset::{DecodedText, decode_text};
pub use content_type::{ContentType, Disposition, Param};
pub use date::{DateTime, parse_date};
pub use defect::{Defect, DefectKind};
pub use header::{Field, Header};
pub use ids::parse_ids;
pub use list::{ListId, parse_list_id, parse_list_urls};
pub use message::{Body, Limits, Message, Part};
pub use received::{Received, parse_received};
pub use transfer::{DecodeFlaws, TransferEncoding};
pub use words::{HeaderText, decode_header_text};

//! What IMAP asks of a stored message, computed from its parsed form
//! ([`sansmail_mime::Message`]): FETCH data (ENVELOPE, BODYSTRUCTURE,
//! sections, BINARY), SEARCH keys, SORT keys and THREAD.
//!
//! ```
//! use sansmail_imap::message::{Metadata, fetch};
//! use sansmail_imap::types::{FetchAttr, FetchValue, Section, SectionText, Str};
//! use sansmail_mime::Message;
//!
//! let raw = b"From: Ann <ann@example.com>\r\nSubject: Hi\r\n\r\nHello\r\n";
//! let message = Message::parse(raw);
//! let meta = Metadata::new(std::num::NonZeroU32::new(7).unwrap(), raw.len() as u64);
//! let attrs = [
//!     FetchAttr::Envelope,
//!     FetchAttr::BodySection {
//!         peek: true,
//!         section: Section { part: vec![], text: Some(SectionText::HeaderFields(vec![Str::from("subject")])) },
//!         partial: None,
//!     },
//! ];
//! let values = fetch(&message, &meta, &attrs).unwrap();
//! let FetchValue::Envelope(envelope) = &values[0] else { panic!() };
//! assert_eq!(envelope.from[0].host.as_deref(), Some(&b"example.com"[..]));
//! let FetchValue::BodySection { data, .. } = &values[1] else { panic!() };
//! assert_eq!(data.as_deref(), Some(&b"Subject: Hi\r\n\r\n"[..]));
//! ```

mod envelope;
mod search;
mod section;
mod sort;
mod thread;

use std::num::NonZeroU32;

use bytes::Bytes;
use sansmail_mime::Message;

pub use envelope::{body_structure, envelope, envelope_of, structure_of};
pub use search::{PreparedSearch, SearchContext, SearchError, matches};
pub use section::{BinaryError, binary, binary_to_base64, find_part, partial, section};
pub use sort::{base_subject, sort};
pub use thread::{ThreadItem, thread_ordered_subject, thread_references};

use crate::types::{Atom, DateTime, FetchAttr, FetchValue, Flag};

/// What the store knows of a message beyond its octets.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metadata {
    /// Its UID.
    pub uid: NonZeroU32,
    /// Its flags (`\Recent` included when it is recent).
    pub flags: Vec<Flag>,
    /// When it arrived.
    pub internal_date: Option<DateTime>,
    /// Its size in octets (RFC822.SIZE).
    pub size: u64,
    /// Its mod-sequence (CONDSTORE).
    pub modseq: Option<u64>,
    /// When it was saved in this mailbox (SAVEDATE).
    pub save_date: Option<DateTime>,
    /// Its EMAILID (OBJECTID).
    pub email_id: Option<Atom>,
    /// Its THREADID (OBJECTID).
    pub thread_id: Option<Atom>,
}

impl Metadata {
    /// Metadata with only a UID and size known.
    pub fn new(uid: NonZeroU32, size: u64) -> Self {
        Metadata {
            uid,
            flags: Vec::new(),
            internal_date: None,
            size,
            modseq: None,
            save_date: None,
            email_id: None,
            thread_id: None,
        }
    }
}

/// True when fetching these attributes marks the message `\Seen`
/// (BODY[...] and BINARY[...] without PEEK, RFC822, RFC822.TEXT).
pub fn sets_seen(attrs: &[FetchAttr]) -> bool {
    attrs.iter().any(|a| {
        matches!(
            a,
            FetchAttr::Rfc822
                | FetchAttr::Rfc822Text
                | FetchAttr::BodySection { peek: false, .. }
                | FetchAttr::Binary { peek: false, .. }
        )
    })
}

/// The FETCH values of `attrs` for one message. A section the message
/// lacks gives `NIL`; BINARY of an unknown encoding is an error (answer
/// `NO [UNKNOWN-CTE]`).
pub fn fetch(
    message: &Message<'_>,
    meta: &Metadata,
    attrs: &[FetchAttr],
) -> Result<Vec<FetchValue>, BinaryError> {
    fetch_with(message, meta, attrs, &|b: &[u8]| Bytes::copy_from_slice(b))
}

/// [`fetch`] for a message parsed from `raw`: sections that lie in it as
/// they are (most of them) share its buffer instead of being copied.
pub fn fetch_shared(
    raw: &Bytes,
    message: &Message<'_>,
    meta: &Metadata,
    attrs: &[FetchAttr],
) -> Result<Vec<FetchValue>, BinaryError> {
    let inside = |b: &[u8]| {
        let (start, end) = (raw.as_ptr() as usize, raw.as_ptr() as usize + raw.len());
        let p = b.as_ptr() as usize;
        p >= start && p + b.len() <= end
    };
    fetch_with(message, meta, attrs, &|b: &[u8]| {
        if inside(b) {
            raw.slice_ref(b)
        } else {
            Bytes::copy_from_slice(b)
        }
    })
}

fn fetch_with(
    message: &Message<'_>,
    meta: &Metadata,
    attrs: &[FetchAttr],
    owned: &dyn Fn(&[u8]) -> Bytes,
) -> Result<Vec<FetchValue>, BinaryError> {
    let mut out = Vec::with_capacity(attrs.len());
    for attr in attrs {
        out.push(match attr {
            FetchAttr::Envelope => FetchValue::Envelope(Box::new(envelope(message))),
            FetchAttr::Flags => FetchValue::Flags(meta.flags.clone()),
            FetchAttr::InternalDate => match meta.internal_date {
                Some(d) => FetchValue::InternalDate(d),
                None => continue,
            },
            FetchAttr::Rfc822 => FetchValue::Rfc822(Some(owned(message.raw))),
            FetchAttr::Rfc822Header => FetchValue::Rfc822Header(Some(owned(
                &message.raw[message.root.header_range.clone()],
            ))),
            FetchAttr::Rfc822Text => {
                FetchValue::Rfc822Text(Some(owned(&message.raw[message.root.body_range.clone()])))
            }
            FetchAttr::Rfc822Size => FetchValue::Rfc822Size(meta.size),
            FetchAttr::Body => FetchValue::Body(Box::new(body_structure(message, false))),
            FetchAttr::BodyStructure => {
                FetchValue::BodyStructure(Box::new(body_structure(message, true)))
            }
            FetchAttr::Uid => FetchValue::Uid(meta.uid),
            FetchAttr::BodySection {
                section: s,
                partial: p,
                ..
            } => {
                let data = section(message, s);
                let (origin, data) = match (p, data) {
                    (Some((start, count)), Some(d)) => {
                        (Some(*start), Some(owned(partial(&d, *start, *count))))
                    }
                    (Some((start, _)), None) => (Some(*start), None),
                    (None, d) => (None, d.map(|d| owned(&d))),
                };
                FetchValue::BodySection {
                    section: s.clone(),
                    origin,
                    data,
                }
            }
            FetchAttr::Binary {
                part, partial: p, ..
            } => {
                let data = match binary(message, part) {
                    Ok(d) => Some(d),
                    Err(BinaryError::NoSuchPart) => None,
                    Err(e) => return Err(e),
                };
                let origin = p.map(|(start, _)| start);
                let data = match (p, data) {
                    (Some((start, count)), Some(d)) => Some(owned(partial(&d, *start, *count))),
                    (_, d) => d.map(|d| owned(&d)),
                };
                FetchValue::Binary {
                    part: part.clone(),
                    origin,
                    data,
                }
            }
            FetchAttr::BinarySize { part } => match binary(message, part) {
                Ok(d) => FetchValue::BinarySize {
                    part: part.clone(),
                    size: d.len() as u64,
                },
                Err(BinaryError::NoSuchPart) => FetchValue::BinarySize {
                    part: part.clone(),
                    size: 0,
                },
                Err(e) => return Err(e),
            },
            FetchAttr::ModSeq => FetchValue::ModSeq(meta.modseq.unwrap_or(0)),
            FetchAttr::EmailId => match &meta.email_id {
                Some(id) => FetchValue::EmailId(id.clone()),
                None => continue,
            },
            FetchAttr::ThreadId => FetchValue::ThreadId(meta.thread_id.clone()),
            FetchAttr::SaveDate => FetchValue::SaveDate(meta.save_date),
        });
    }
    Ok(out)
}

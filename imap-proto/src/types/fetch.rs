//! FETCH attributes (what a client asks for) and values (what a server returns).

use std::num::NonZeroU32;

use bytes::Bytes;

use super::Str;

use super::{Atom, BodyStructure, DateTime, Flag};

/// The body section of `BODY[...]`: a part path and an optional text part.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Section {
    /// Part numbers, outermost first; empty for the whole message.
    pub part: Vec<NonZeroU32>,
    /// Which piece of that part; `None` for all of it.
    pub text: Option<SectionText>,
}

/// The piece of a part a section names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SectionText {
    /// `HEADER`: the header of the message or embedded message.
    Header,
    /// `HEADER.FIELDS (...)`: only these header fields.
    HeaderFields(Vec<Str>),
    /// `HEADER.FIELDS.NOT (...)`: all but these header fields.
    HeaderFieldsNot(Vec<Str>),
    /// `TEXT`: the body of the message or embedded message.
    Text,
    /// `MIME`: the MIME header of a part (only with a part path).
    Mime,
}

/// One FETCH attribute.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FetchAttr {
    /// `ENVELOPE`.
    Envelope,
    /// `FLAGS`.
    Flags,
    /// `INTERNALDATE`.
    InternalDate,
    /// `RFC822` (IMAP4rev1): the whole message, setting `\Seen`.
    Rfc822,
    /// `RFC822.HEADER` (IMAP4rev1).
    Rfc822Header,
    /// `RFC822.SIZE`.
    Rfc822Size,
    /// `RFC822.TEXT` (IMAP4rev1).
    Rfc822Text,
    /// `BODY`: the structure without extension data.
    Body,
    /// `BODYSTRUCTURE`.
    BodyStructure,
    /// `UID`.
    Uid,
    /// `BODY[section]<start.count>` or `BODY.PEEK[...]`.
    BodySection {
        /// `.PEEK`: do not set `\Seen`.
        peek: bool,
        /// The section.
        section: Section,
        /// `<start.count>`: a byte range of the section.
        partial: Option<(u32, NonZeroU32)>,
    },
    /// `BINARY[part]<start.count>` or `BINARY.PEEK[...]` (RFC 3516).
    Binary {
        /// `.PEEK`.
        peek: bool,
        /// The part path.
        part: Vec<NonZeroU32>,
        /// A byte range of the decoded part.
        partial: Option<(u32, NonZeroU32)>,
    },
    /// `BINARY.SIZE[part]`.
    BinarySize {
        /// The part path.
        part: Vec<NonZeroU32>,
    },
    /// `MODSEQ` (RFC 7162).
    ModSeq,
    /// `EMAILID` (RFC 8474).
    EmailId,
    /// `THREADID` (RFC 8474).
    ThreadId,
    /// `SAVEDATE` (RFC 8514).
    SaveDate,
}

/// What FETCH asks for: a macro or a list of attributes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FetchItems {
    /// `ALL`: FLAGS INTERNALDATE RFC822.SIZE ENVELOPE.
    All,
    /// `FAST`: FLAGS INTERNALDATE RFC822.SIZE.
    Fast,
    /// `FULL`: ALL and BODY.
    Full,
    /// The attributes (written bare when there is one), never empty.
    Attrs(Vec<FetchAttr>),
}

impl FetchItems {
    /// The attributes a macro stands for.
    pub fn expand(&self) -> Vec<FetchAttr> {
        let fast = [
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
        ];
        match self {
            FetchItems::Fast => fast.to_vec(),
            FetchItems::All => [&fast[..], &[FetchAttr::Envelope]].concat(),
            FetchItems::Full => [&fast[..], &[FetchAttr::Envelope, FetchAttr::Body]].concat(),
            FetchItems::Attrs(attrs) => attrs.clone(),
        }
    }
}

/// An address in an envelope: `(name adl mailbox host)`. A group starts with
/// `mailbox` = group name and `host` = `None`, and ends with both `None`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct EnvelopeAddress {
    /// The display name.
    pub name: Option<Str>,
    /// The source route (obsolete).
    pub adl: Option<Str>,
    /// The local part, or the group name.
    pub mailbox: Option<Str>,
    /// The domain.
    pub host: Option<Str>,
}

/// The ENVELOPE of a message; address lists are empty for `NIL`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Envelope {
    /// `Date:`.
    pub date: Option<Str>,
    /// `Subject:`.
    pub subject: Option<Str>,
    /// `From:`.
    pub from: Vec<EnvelopeAddress>,
    /// `Sender:` (servers give From when absent).
    pub sender: Vec<EnvelopeAddress>,
    /// `Reply-To:` (servers give From when absent).
    pub reply_to: Vec<EnvelopeAddress>,
    /// `To:`.
    pub to: Vec<EnvelopeAddress>,
    /// `Cc:`.
    pub cc: Vec<EnvelopeAddress>,
    /// `Bcc:`.
    pub bcc: Vec<EnvelopeAddress>,
    /// `In-Reply-To:`.
    pub in_reply_to: Option<Str>,
    /// `Message-ID:`.
    pub message_id: Option<Str>,
}

/// One item of a FETCH response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchValue {
    /// `FLAGS (...)`.
    Flags(Vec<Flag>),
    /// `ENVELOPE (...)`.
    Envelope(Box<Envelope>),
    /// `INTERNALDATE "..."`.
    InternalDate(DateTime),
    /// `RFC822 <nstring>`.
    Rfc822(Option<Bytes>),
    /// `RFC822.HEADER <nstring>`.
    Rfc822Header(Option<Bytes>),
    /// `RFC822.TEXT <nstring>`.
    Rfc822Text(Option<Bytes>),
    /// `RFC822.SIZE <n>`.
    Rfc822Size(u64),
    /// `BODY (...)`: structure without extension data.
    Body(Box<BodyStructure>),
    /// `BODYSTRUCTURE (...)`.
    BodyStructure(Box<BodyStructure>),
    /// `BODY[section]<origin> <nstring>`.
    BodySection {
        /// The section.
        section: Section,
        /// The first octet's offset, for a partial fetch.
        origin: Option<u32>,
        /// The octets; `None` for `NIL`.
        data: Option<Bytes>,
    },
    /// `BINARY[part]<origin> <nstring or literal8>`.
    Binary {
        /// The part path.
        part: Vec<NonZeroU32>,
        /// The first octet's offset, for a partial fetch.
        origin: Option<u32>,
        /// The decoded octets; `None` for `NIL`.
        data: Option<Bytes>,
    },
    /// `BINARY.SIZE[part] <n>`.
    BinarySize {
        /// The part path.
        part: Vec<NonZeroU32>,
        /// Size of the decoded part.
        size: u64,
    },
    /// `UID <n>`.
    Uid(NonZeroU32),
    /// `MODSEQ (<n>)`.
    ModSeq(u64),
    /// `EMAILID (<id>)`.
    EmailId(Atom),
    /// `THREADID (<id>)` or `NIL`.
    ThreadId(Option<Atom>),
    /// `SAVEDATE "..."` or `NIL`.
    SaveDate(Option<DateTime>),
}

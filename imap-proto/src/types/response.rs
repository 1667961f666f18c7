//! Responses (RFC 9051 §7, RFC 3501 §7, and the extensions in the crate docs).

use std::num::NonZeroU32;

use super::Str;

use super::{
    Atom, Capability, FetchValue, Flag, IdParams, Mailbox, MailboxAttr, PermanentFlag, SequenceSet,
    Tag, Text,
};

/// Any server response line (with its literals).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// `+ ...`: go on (literal, AUTHENTICATE challenge, IDLE).
    Continue(Continue),
    /// `<tag> OK|NO|BAD ...`: the command is done.
    Tagged(Tagged),
    /// `* ...`: data or status.
    Untagged(Untagged),
}

/// A continuation request. An AUTHENTICATE challenge is its base64 `text`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Continue {
    /// A response code, rarely given.
    pub code: Option<Code>,
    /// Human-readable text, or a base64 challenge.
    pub text: Text,
}

/// A tagged completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tagged {
    /// The command's tag.
    pub tag: Tag,
    /// OK, NO or BAD, with code and text.
    pub status: Status,
}

/// OK, NO, BAD, PREAUTH or BYE with optional response code and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Which.
    pub kind: StatusKind,
    /// `[CODE ...]`.
    pub code: Option<Code>,
    /// Human-readable text.
    pub text: Text,
}

impl Status {
    /// A status with a code.
    pub fn new(kind: StatusKind, code: Option<Code>, text: impl Into<Text>) -> Self {
        Status {
            kind,
            code,
            text: text.into(),
        }
    }
}

/// The kind of a status response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusKind {
    /// `OK`.
    Ok,
    /// `NO`: refused.
    No,
    /// `BAD`: not understood.
    Bad,
    /// `PREAUTH` (greeting only).
    PreAuth,
    /// `BYE`: closing.
    Bye,
}

/// A response code (`[...]` after the status).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Code {
    /// `ALERT`: show the text to the user.
    Alert,
    /// `BADCHARSET [(...)]`: the charsets the server supports.
    BadCharset(Vec<Atom>),
    /// `CAPABILITY ...`.
    Capability(Vec<Capability>),
    /// `PARSE`: a message could not be parsed.
    Parse,
    /// `PERMANENTFLAGS (...)`.
    PermanentFlags(Vec<PermanentFlag>),
    /// `READ-ONLY`.
    ReadOnly,
    /// `READ-WRITE`.
    ReadWrite,
    /// `TRYCREATE`: the target mailbox does not exist.
    TryCreate,
    /// `UIDNEXT <n>`.
    UidNext(NonZeroU32),
    /// `UIDVALIDITY <n>`.
    UidValidity(NonZeroU32),
    /// `UNSEEN <n>` (IMAP4rev1).
    Unseen(NonZeroU32),
    /// `HIGHESTMODSEQ <n>` (CONDSTORE).
    HighestModSeq(u64),
    /// `NOMODSEQ` (CONDSTORE).
    NoModSeq,
    /// `MODIFIED <set>` (CONDSTORE).
    Modified(SequenceSet),
    /// `CLOSED` (QRESYNC).
    Closed,
    /// `APPENDUID <uidvalidity> <uids>` (UIDPLUS).
    AppendUid {
        /// The target mailbox's UIDVALIDITY.
        uid_validity: NonZeroU32,
        /// The new messages' UIDs.
        uids: SequenceSet,
    },
    /// `COPYUID <uidvalidity> <source> <destination>` (UIDPLUS).
    CopyUid {
        /// The target mailbox's UIDVALIDITY.
        uid_validity: NonZeroU32,
        /// Source UIDs.
        source: SequenceSet,
        /// The matching UIDs in the target.
        destination: SequenceSet,
    },
    /// `UIDNOTSTICKY` (UIDPLUS).
    UidNotSticky,
    /// `ALREADYEXISTS`.
    AlreadyExists,
    /// `AUTHENTICATIONFAILED`.
    AuthenticationFailed,
    /// `AUTHORIZATIONFAILED`.
    AuthorizationFailed,
    /// `CANNOT`.
    Cannot,
    /// `CLIENTBUG`.
    ClientBug,
    /// `CONTACTADMIN`.
    ContactAdmin,
    /// `CORRUPTION`.
    Corruption,
    /// `EXPIRED`.
    Expired,
    /// `EXPUNGEISSUED`.
    ExpungeIssued,
    /// `HASCHILDREN`.
    HasChildren,
    /// `INUSE`.
    InUse,
    /// `LIMIT`.
    Limit,
    /// `NONEXISTENT`.
    NonExistent,
    /// `NOPERM`.
    NoPerm,
    /// `OVERQUOTA`.
    OverQuota,
    /// `PRIVACYREQUIRED`.
    PrivacyRequired,
    /// `SERVERBUG`.
    ServerBug,
    /// `UNAVAILABLE`.
    Unavailable,
    /// `TOOBIG` (RFC 4469, RFC 7889).
    TooBig,
    /// `COMPRESSIONACTIVE` (RFC 4978).
    CompressionActive,
    /// `MAILBOXID (<id>)` (OBJECTID).
    MailboxId(Atom),
    /// `NOTSAVED` (SEARCHRES).
    NotSaved,
    /// `UNKNOWN-CTE` (BINARY).
    UnknownCte,
    /// `USEATTR` (CREATE-SPECIAL-USE).
    UseAttr,
    /// Any other code, with its text up to `]`.
    Other(Atom, Option<Str>),
}

/// A LIST or LSUB entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListItem {
    /// Attributes.
    pub attrs: Vec<MailboxAttr>,
    /// The hierarchy delimiter; `None` for a flat name space.
    pub delimiter: Option<char>,
    /// The name.
    pub mailbox: Mailbox,
    /// `CHILDINFO (...)` (LIST-EXTENDED): why a non-matching parent is listed.
    pub child_info: Vec<Str>,
    /// `OLDNAME (...)` (IMAP4rev2): the name before a RENAME.
    pub old_name: Option<Mailbox>,
}

/// One namespace: a prefix and its delimiter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceDescr {
    /// The prefix, e.g. `""` or `"Other Users/"`.
    pub prefix: Str,
    /// The hierarchy delimiter.
    pub delimiter: Option<char>,
    /// Extension names and their values (RFC 2342 §5).
    pub extensions: Vec<(Str, Vec<Str>)>,
}

/// A NAMESPACE response: personal, other users' and shared namespaces.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Namespace {
    /// Personal namespaces; empty for `NIL`.
    pub personal: Vec<NamespaceDescr>,
    /// Other users' namespaces.
    pub other: Vec<NamespaceDescr>,
    /// Shared namespaces.
    pub shared: Vec<NamespaceDescr>,
}

/// One value of a STATUS response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusValue {
    /// `MESSAGES <n>`.
    Messages(u32),
    /// `UIDNEXT <n>`.
    UidNext(NonZeroU32),
    /// `UIDVALIDITY <n>`.
    UidValidity(NonZeroU32),
    /// `UNSEEN <n>`.
    Unseen(u32),
    /// `DELETED <n>`.
    Deleted(u32),
    /// `SIZE <n>`.
    Size(u64),
    /// `RECENT <n>`.
    Recent(u32),
    /// `HIGHESTMODSEQ <n>`.
    HighestModSeq(u64),
    /// `MAILBOXID (<id>)`.
    MailboxId(Atom),
    /// `APPENDLIMIT <n>` or `APPENDLIMIT NIL`.
    AppendLimit(Option<u64>),
}

/// One item of an ESEARCH response (RFC 4731, RFC 7162).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EsearchItem {
    /// `MIN <n>`.
    Min(NonZeroU32),
    /// `MAX <n>`.
    Max(NonZeroU32),
    /// `ALL <set>`.
    All(SequenceSet),
    /// `COUNT <n>`.
    Count(u32),
    /// `MODSEQ <n>`.
    ModSeq(u64),
}

/// A thread of THREAD: messages in a chain, then the branches below the
/// last one. A single branch is written as part of the chain, so `children`
/// is either empty or has two or more threads.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Thread {
    /// Message numbers or UIDs, each the parent of the next.
    pub members: Vec<NonZeroU32>,
    /// Branches under the last member (or siblings when `members` is empty).
    pub children: Vec<Thread>,
}

/// A quota resource's usage and limit (RFC 9208).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaResource {
    /// `STORAGE`, `MESSAGE`, `MAILBOX`...
    pub name: Atom,
    /// Current usage.
    pub usage: u64,
    /// The limit.
    pub limit: u64,
}

/// Untagged responses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Untagged {
    /// `* OK|NO|BAD|PREAUTH|BYE ...`.
    Status(Status),
    /// `* CAPABILITY ...`.
    Capability(Vec<Capability>),
    /// `* ENABLED ...`.
    Enabled(Vec<Capability>),
    /// `* FLAGS (...)`.
    Flags(Vec<Flag>),
    /// `* LIST ...`.
    List(ListItem),
    /// `* LSUB ...` (IMAP4rev1).
    Lsub(ListItem),
    /// `* NAMESPACE ...`.
    Namespace(Namespace),
    /// `* STATUS <mailbox> (...)`.
    MailboxStatus {
        /// The mailbox.
        mailbox: Mailbox,
        /// Its values.
        items: Vec<StatusValue>,
    },
    /// `* ESEARCH [(TAG "t")] [UID] ...`.
    Esearch {
        /// The command the result answers.
        tag: Option<Tag>,
        /// The numbers are UIDs.
        uid: bool,
        /// The results.
        items: Vec<EsearchItem>,
    },
    /// `* SEARCH n... [(MODSEQ n)]` (IMAP4rev1).
    Search {
        /// Matching numbers.
        ids: Vec<NonZeroU32>,
        /// The highest mod-sequence of them (CONDSTORE).
        modseq: Option<u64>,
    },
    /// `* SORT n...` (RFC 5256).
    Sort {
        /// Numbers in order.
        ids: Vec<NonZeroU32>,
        /// The highest mod-sequence of them (CONDSTORE).
        modseq: Option<u64>,
    },
    /// `* THREAD ...` (RFC 5256).
    Thread(Vec<Thread>),
    /// `* <n> EXISTS`.
    Exists(u32),
    /// `* <n> RECENT` (IMAP4rev1).
    Recent(u32),
    /// `* <n> EXPUNGE`.
    Expunge(NonZeroU32),
    /// `* <n> FETCH (...)`.
    Fetch {
        /// The message number.
        seq: NonZeroU32,
        /// The items, never empty.
        items: Vec<FetchValue>,
    },
    /// `* VANISHED [(EARLIER)] <uids>` (QRESYNC).
    Vanished {
        /// Expunged before this command (answer to SELECT or UID FETCH).
        earlier: bool,
        /// The expunged UIDs.
        uids: SequenceSet,
    },
    /// `* QUOTA <root> (...)`.
    Quota {
        /// The quota root.
        root: Str,
        /// Its resources.
        resources: Vec<QuotaResource>,
    },
    /// `* QUOTAROOT <mailbox> <roots>...`.
    QuotaRoot {
        /// The mailbox.
        mailbox: Mailbox,
        /// Its quota roots.
        roots: Vec<Str>,
    },
    /// `* ID (...)` or `* ID NIL`.
    Id(Option<IdParams>),
}

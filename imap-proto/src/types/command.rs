//! Commands (RFC 9051 §6, RFC 3501 §6, and the extensions in the crate docs).

use std::num::NonZeroU32;

use bytes::Bytes;

use super::Str;

use super::{
    Atom, Capability, DateTime, FetchItems, Flag, IdParams, Mailbox, MailboxAttr, SearchKey,
    SearchReturn, Secret, SequenceSet, SortCriterion, Tag,
};

/// A tagged command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The tag the reply will carry.
    pub tag: Tag,
    /// What is asked.
    pub body: CommandBody,
}

/// Parameters of SELECT and EXAMINE.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SelectParams {
    /// `CONDSTORE` (RFC 7162 §3.1.8).
    pub condstore: bool,
    /// `QRESYNC (...)` (RFC 7162 §3.2.5).
    pub qresync: Option<Box<QResyncParams>>,
}

/// What a client already knows of a mailbox it re-selects (QRESYNC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QResyncParams {
    /// The UIDVALIDITY it knew.
    pub uid_validity: NonZeroU32,
    /// The highest mod-sequence it saw.
    pub modseq: u64,
    /// The UIDs it knows, when given.
    pub known_uids: Option<SequenceSet>,
    /// Message numbers and their UIDs, to narrow down expunges.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// A LIST selection option (RFC 5258 §3.1, RFC 6154).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListSelect {
    /// `SUBSCRIBED`.
    Subscribed,
    /// `REMOTE`.
    Remote,
    /// `RECURSIVEMATCH`.
    RecursiveMatch,
    /// `SPECIAL-USE`.
    SpecialUse,
}

/// A LIST return option (RFC 5258 §3.2, RFC 5819, RFC 6154).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ListReturn {
    /// `SUBSCRIBED`.
    Subscribed,
    /// `CHILDREN`.
    Children,
    /// `SPECIAL-USE`.
    SpecialUse,
    /// `STATUS (...)`.
    Status(Vec<StatusItem>),
}

/// A STATUS data item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusItem {
    /// `MESSAGES`.
    Messages,
    /// `UIDNEXT`.
    UidNext,
    /// `UIDVALIDITY`.
    UidValidity,
    /// `UNSEEN`.
    Unseen,
    /// `DELETED` (IMAP4rev2).
    Deleted,
    /// `SIZE` (STATUS=SIZE).
    Size,
    /// `RECENT` (IMAP4rev1).
    Recent,
    /// `HIGHESTMODSEQ` (CONDSTORE).
    HighestModSeq,
    /// `MAILBOXID` (OBJECTID).
    MailboxId,
    /// `APPENDLIMIT` (RFC 7889).
    AppendLimit,
}

/// How STORE changes flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreAction {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}

/// A THREAD algorithm (RFC 5256).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ThreadAlgorithm {
    /// `ORDEREDSUBJECT`.
    OrderedSubject,
    /// `REFERENCES`.
    References,
    /// Another algorithm.
    Other(Atom),
}

/// One message of APPEND (several with MULTIAPPEND).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendMessage {
    /// Flags to set.
    pub flags: Vec<Flag>,
    /// The internal date to give it.
    pub date: Option<DateTime>,
    /// The message.
    pub data: Bytes,
    /// Sent as `~{n}` (BINARY): may hold NUL octets.
    pub binary: bool,
    /// Wrapped as `UTF8 (~{n})` (RFC 6855 §4).
    pub utf8: bool,
}

/// What a command asks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandBody {
    /// `CAPABILITY`.
    Capability,
    /// `NOOP`.
    Noop,
    /// `LOGOUT`.
    Logout,
    /// `ID (...)` or `ID NIL` (RFC 2971): the client's fields.
    Id(Option<IdParams>),
    /// `STARTTLS`.
    StartTls,
    /// `AUTHENTICATE <mechanism> [<initial response>]` (SASL-IR); the
    /// response is base64 as sent, `=` for an empty one.
    Authenticate {
        /// The SASL mechanism.
        mechanism: Atom,
        /// The initial response.
        initial: Option<Secret<Str>>,
    },
    /// `LOGIN <user> <password>`.
    Login {
        /// The user name.
        username: Str,
        /// The password.
        password: Secret<Str>,
    },
    /// `ENABLE <capabilities>`.
    Enable(Vec<Capability>),
    /// `SELECT <mailbox> [(...)]`.
    Select {
        /// The mailbox.
        mailbox: Mailbox,
        /// CONDSTORE and QRESYNC.
        params: SelectParams,
    },
    /// `EXAMINE <mailbox> [(...)]`: read-only SELECT.
    Examine {
        /// The mailbox.
        mailbox: Mailbox,
        /// CONDSTORE and QRESYNC.
        params: SelectParams,
    },
    /// `CREATE <mailbox> [(USE (...))]`.
    Create {
        /// The mailbox.
        mailbox: Mailbox,
        /// Special uses to give it (CREATE-SPECIAL-USE).
        special_use: Vec<MailboxAttr>,
    },
    /// `DELETE <mailbox>`.
    Delete(Mailbox),
    /// `RENAME <from> <to>`.
    Rename {
        /// The existing name.
        from: Mailbox,
        /// The new name.
        to: Mailbox,
    },
    /// `SUBSCRIBE <mailbox>`.
    Subscribe(Mailbox),
    /// `UNSUBSCRIBE <mailbox>`.
    Unsubscribe(Mailbox),
    /// `LIST [(<selection>)] <reference> <patterns> [RETURN (<options>)]`.
    List {
        /// Selection options (LIST-EXTENDED).
        selection: Vec<ListSelect>,
        /// The reference name.
        reference: Mailbox,
        /// One or more patterns with `*` and `%` wildcards.
        patterns: Vec<Str>,
        /// Return options.
        returns: Vec<ListReturn>,
    },
    /// `LSUB <reference> <pattern>` (IMAP4rev1).
    Lsub {
        /// The reference name.
        reference: Mailbox,
        /// The pattern.
        pattern: Str,
    },
    /// `NAMESPACE`.
    Namespace,
    /// `STATUS <mailbox> (<items>)`.
    Status {
        /// The mailbox.
        mailbox: Mailbox,
        /// The items asked for.
        items: Vec<StatusItem>,
    },
    /// `APPEND <mailbox> ...`: one message, or several with MULTIAPPEND.
    Append {
        /// The target mailbox.
        mailbox: Mailbox,
        /// The messages, never empty.
        messages: Vec<AppendMessage>,
    },
    /// `IDLE` (RFC 2177); `DONE` ends it.
    Idle,
    /// `CHECK` (IMAP4rev1).
    Check,
    /// `CLOSE`.
    Close,
    /// `UNSELECT`.
    Unselect,
    /// `EXPUNGE`, or `UID EXPUNGE <set>` (UIDPLUS).
    Expunge {
        /// The UIDs to expunge, for UID EXPUNGE.
        uids: Option<SequenceSet>,
    },
    /// `[UID] SEARCH [RETURN (...)] [CHARSET <c>] <keys>`.
    Search {
        /// UID SEARCH.
        uid: bool,
        /// ESEARCH return options; `None` when RETURN was not given.
        returns: Option<Vec<SearchReturn>>,
        /// The charset of the strings.
        charset: Option<Str>,
        /// The keys, all of which must match; never empty.
        keys: Vec<SearchKey>,
    },
    /// `[UID] FETCH <set> <items> [(CHANGEDSINCE <n> [VANISHED])]`.
    Fetch {
        /// UID FETCH.
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// What to fetch.
        items: FetchItems,
        /// Only messages changed since this mod-sequence (CONDSTORE).
        changed_since: Option<u64>,
        /// Also report expunged UIDs (QRESYNC, UID FETCH only).
        vanished: bool,
    },
    /// `[UID] STORE <set> [(UNCHANGEDSINCE <n>)] [+|-]FLAGS[.SILENT] <flags>`.
    Store {
        /// UID STORE.
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// Only if unchanged since this mod-sequence (CONDSTORE).
        unchanged_since: Option<u64>,
        /// Replace, add or remove.
        action: StoreAction,
        /// `.SILENT`: no FETCH responses for the change.
        silent: bool,
        /// The flags.
        flags: Vec<Flag>,
    },
    /// `[UID] COPY <set> <mailbox>`.
    Copy {
        /// UID COPY.
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// The target.
        mailbox: Mailbox,
    },
    /// `[UID] MOVE <set> <mailbox>` (RFC 6851).
    Move {
        /// UID MOVE.
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// The target.
        mailbox: Mailbox,
    },
    /// `[UID] SORT (<criteria>) <charset> <keys>` (RFC 5256).
    Sort {
        /// UID SORT.
        uid: bool,
        /// Sort criteria, never empty.
        criteria: Vec<SortCriterion>,
        /// The charset of the strings.
        charset: Str,
        /// The search keys; never empty.
        keys: Vec<SearchKey>,
    },
    /// `[UID] THREAD <algorithm> <charset> <keys>` (RFC 5256).
    Thread {
        /// UID THREAD.
        uid: bool,
        /// The algorithm.
        algorithm: ThreadAlgorithm,
        /// The charset of the strings.
        charset: Str,
        /// The search keys; never empty.
        keys: Vec<SearchKey>,
    },
    /// `GETQUOTA <root>` (RFC 9208).
    GetQuota(Str),
    /// `GETQUOTAROOT <mailbox>`.
    GetQuotaRoot(Mailbox),
    /// `SETQUOTA <root> (<resource> <limit> ...)`.
    SetQuota {
        /// The quota root.
        root: Str,
        /// Resource names and limits.
        limits: Vec<(Atom, u64)>,
    },
    /// `COMPRESS <algorithm>` (RFC 4978).
    Compress(Atom),
}

impl CommandBody {
    /// The command's name as written, for logs and `BAD` texts.
    pub fn name(&self) -> &'static str {
        match self {
            CommandBody::Capability => "CAPABILITY",
            CommandBody::Noop => "NOOP",
            CommandBody::Logout => "LOGOUT",
            CommandBody::Id(_) => "ID",
            CommandBody::StartTls => "STARTTLS",
            CommandBody::Authenticate { .. } => "AUTHENTICATE",
            CommandBody::Login { .. } => "LOGIN",
            CommandBody::Enable(_) => "ENABLE",
            CommandBody::Select { .. } => "SELECT",
            CommandBody::Examine { .. } => "EXAMINE",
            CommandBody::Create { .. } => "CREATE",
            CommandBody::Delete(_) => "DELETE",
            CommandBody::Rename { .. } => "RENAME",
            CommandBody::Subscribe(_) => "SUBSCRIBE",
            CommandBody::Unsubscribe(_) => "UNSUBSCRIBE",
            CommandBody::List { .. } => "LIST",
            CommandBody::Lsub { .. } => "LSUB",
            CommandBody::Namespace => "NAMESPACE",
            CommandBody::Status { .. } => "STATUS",
            CommandBody::Append { .. } => "APPEND",
            CommandBody::Idle => "IDLE",
            CommandBody::Check => "CHECK",
            CommandBody::Close => "CLOSE",
            CommandBody::Unselect => "UNSELECT",
            CommandBody::Expunge { .. } => "EXPUNGE",
            CommandBody::Search { .. } => "SEARCH",
            CommandBody::Fetch { .. } => "FETCH",
            CommandBody::Store { .. } => "STORE",
            CommandBody::Copy { .. } => "COPY",
            CommandBody::Move { .. } => "MOVE",
            CommandBody::Sort { .. } => "SORT",
            CommandBody::Thread { .. } => "THREAD",
            CommandBody::GetQuota(_) => "GETQUOTA",
            CommandBody::GetQuotaRoot(_) => "GETQUOTAROOT",
            CommandBody::SetQuota { .. } => "SETQUOTA",
            CommandBody::Compress(_) => "COMPRESS",
        }
    }

    /// True for commands that only run with a mailbox selected.
    pub fn needs_selected(&self) -> bool {
        matches!(
            self,
            CommandBody::Check
                | CommandBody::Close
                | CommandBody::Unselect
                | CommandBody::Expunge { .. }
                | CommandBody::Search { .. }
                | CommandBody::Fetch { .. }
                | CommandBody::Store { .. }
                | CommandBody::Copy { .. }
                | CommandBody::Move { .. }
                | CommandBody::Sort { .. }
                | CommandBody::Thread { .. }
        )
    }

    /// True for commands that name messages by sequence number, during which
    /// a server must not send EXPUNGE (RFC 9051 §7.5.1).
    pub fn uses_sequence_numbers(&self) -> bool {
        match self {
            CommandBody::Fetch { uid, .. }
            | CommandBody::Store { uid, .. }
            | CommandBody::Copy { uid, .. }
            | CommandBody::Move { uid, .. }
            | CommandBody::Sort { uid, .. }
            | CommandBody::Thread { uid, .. } => !uid,
            CommandBody::Search { uid, keys, .. } => {
                !uid || keys
                    .iter()
                    .any(|k| k.any(&|k| matches!(k, SearchKey::SequenceSet(_))))
            }
            _ => false,
        }
    }
}

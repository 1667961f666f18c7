//! Command writing.

use bytes::BufMut;

use super::writer::W;
use crate::types::{
    Command, CommandBody, FetchAttr, FetchItems, ListReturn, ListSelect, SearchKey, SearchReturn,
    Section, SectionText, SortKey, StatusItem, StoreAction, Str, ThreadAlgorithm,
};

pub(crate) fn command<B: BufMut>(w: &mut W<'_, B>, cmd: &Command) {
    w.raw(cmd.tag.as_bytes());
    w.sp();
    body(w, &cmd.body);
    w.crlf();
}

fn uid<B: BufMut>(w: &mut W<'_, B>, uid: bool) {
    if uid {
        w.raw(b"UID ");
    }
}

fn body<B: BufMut>(w: &mut W<'_, B>, body: &CommandBody) {
    match body {
        CommandBody::Id(params) => {
            w.raw(b"ID ");
            id_params(w, params.as_deref());
        }
        CommandBody::Authenticate { mechanism, initial } => {
            w.raw(b"AUTHENTICATE ");
            w.raw(mechanism.as_bytes());
            if let Some(initial) = initial {
                w.sp();
                w.raw(initial.expose());
            }
        }
        CommandBody::Login { username, password } => {
            w.raw(b"LOGIN ");
            w.astring(username);
            w.sp();
            w.astring(password.expose());
        }
        CommandBody::Enable(caps) => {
            w.raw(b"ENABLE");
            for cap in caps {
                w.sp();
                w.raw(cap.to_atom().as_bytes());
            }
        }
        CommandBody::Select { mailbox, params } | CommandBody::Examine { mailbox, params } => {
            w.raw(body.name().as_bytes());
            w.sp();
            w.astring(mailbox.as_bytes());
            let mut items: Vec<u8> = Vec::new();
            if params.condstore {
                items.push(0);
            }
            if params.qresync.is_some() {
                items.push(1);
            }
            if !items.is_empty() {
                w.sp();
                w.list(&items, |w, &i| {
                    if i == 0 {
                        w.raw(b"CONDSTORE");
                        return;
                    }
                    let Some(q) = &params.qresync else { return };
                    w.raw(b"QRESYNC (");
                    w.num(u64::from(q.uid_validity.get()));
                    w.sp();
                    w.num(q.modseq);
                    if let Some(known) = &q.known_uids {
                        w.sp();
                        w.sequence_set(known);
                    }
                    if let Some((seqs, uids)) = &q.seq_match {
                        w.raw(b" (");
                        w.sequence_set(seqs);
                        w.sp();
                        w.sequence_set(uids);
                        w.raw(b")");
                    }
                    w.raw(b")");
                });
            }
        }
        CommandBody::Create {
            mailbox,
            special_use,
        } => {
            w.raw(b"CREATE ");
            w.astring(mailbox.as_bytes());
            if !special_use.is_empty() {
                w.raw(b" (USE ");
                w.list(special_use, |w, a| {
                    w.raw(b"\\");
                    w.raw(a.name().as_bytes());
                });
                w.raw(b")");
            }
        }
        CommandBody::Delete(m)
        | CommandBody::Subscribe(m)
        | CommandBody::Unsubscribe(m)
        | CommandBody::GetQuotaRoot(m) => {
            w.raw(body.name().as_bytes());
            w.sp();
            w.astring(m.as_bytes());
        }
        CommandBody::Rename { from, to } => {
            w.raw(b"RENAME ");
            w.astring(from.as_bytes());
            w.sp();
            w.astring(to.as_bytes());
        }
        CommandBody::List {
            selection,
            reference,
            patterns,
            returns,
        } => {
            w.raw(b"LIST ");
            if !selection.is_empty() {
                w.list(selection, |w, s| {
                    w.raw(match s {
                        ListSelect::Subscribed => b"SUBSCRIBED".as_slice(),
                        ListSelect::Remote => b"REMOTE",
                        ListSelect::RecursiveMatch => b"RECURSIVEMATCH",
                        ListSelect::SpecialUse => b"SPECIAL-USE",
                    })
                });
                w.sp();
            }
            w.astring(reference.as_bytes());
            w.sp();
            if let [one] = patterns.as_slice() {
                list_mailbox(w, one);
            } else {
                w.list(patterns, |w, p| list_mailbox(w, p));
            }
            if !returns.is_empty() {
                w.raw(b" RETURN ");
                w.list(returns, |w, r| match r {
                    ListReturn::Subscribed => w.raw(b"SUBSCRIBED"),
                    ListReturn::Children => w.raw(b"CHILDREN"),
                    ListReturn::SpecialUse => w.raw(b"SPECIAL-USE"),
                    ListReturn::Status(items) => {
                        w.raw(b"STATUS ");
                        w.list(items, |w, i| status_item(w, *i));
                    }
                });
            }
        }
        CommandBody::Lsub { reference, pattern } => {
            w.raw(b"LSUB ");
            w.astring(reference.as_bytes());
            w.sp();
            list_mailbox(w, pattern);
        }
        CommandBody::Status { mailbox, items } => {
            w.raw(b"STATUS ");
            w.astring(mailbox.as_bytes());
            w.sp();
            w.list(items, |w, i| status_item(w, *i));
        }
        CommandBody::Append { mailbox, messages } => {
            w.raw(b"APPEND ");
            w.astring(mailbox.as_bytes());
            for m in messages {
                w.sp();
                if !m.flags.is_empty() {
                    w.flag_list(&m.flags);
                    w.sp();
                }
                if let Some(date) = &m.date {
                    w.date_time(date);
                    w.sp();
                }
                if m.utf8 {
                    w.raw(b"UTF8 (");
                }
                w.literal(&m.data, m.binary || m.utf8);
                if m.utf8 {
                    w.raw(b")");
                }
            }
        }
        CommandBody::Expunge { uids: Some(set) } => {
            w.raw(b"UID EXPUNGE ");
            w.sequence_set(set);
        }
        CommandBody::Search {
            uid: u,
            returns,
            charset,
            keys,
        } => {
            uid(w, *u);
            w.raw(b"SEARCH");
            if let Some(returns) = returns {
                w.raw(b" RETURN ");
                w.list(returns, |w, r| {
                    w.raw(match r {
                        SearchReturn::Min => b"MIN".as_slice(),
                        SearchReturn::Max => b"MAX",
                        SearchReturn::All => b"ALL",
                        SearchReturn::Count => b"COUNT",
                        SearchReturn::Save => b"SAVE",
                    })
                });
            }
            if let Some(charset) = charset {
                w.raw(b" CHARSET ");
                w.astring(charset);
            }
            for key in keys {
                w.sp();
                search_key(w, key);
            }
        }
        CommandBody::Fetch {
            uid: u,
            set,
            items,
            changed_since,
            vanished,
        } => {
            uid(w, *u);
            w.raw(b"FETCH ");
            w.sequence_set(set);
            w.sp();
            match items {
                FetchItems::All => w.raw(b"ALL"),
                FetchItems::Fast => w.raw(b"FAST"),
                FetchItems::Full => w.raw(b"FULL"),
                FetchItems::Attrs(attrs) => match attrs.as_slice() {
                    [one] => fetch_attr(w, one),
                    many => w.list(many, |w, a| fetch_attr(w, a)),
                },
            }
            if changed_since.is_some() || *vanished {
                w.raw(b" (");
                if let Some(n) = changed_since {
                    w.raw(b"CHANGEDSINCE ");
                    w.num(*n);
                    if *vanished {
                        w.sp();
                    }
                }
                if *vanished {
                    w.raw(b"VANISHED");
                }
                w.raw(b")");
            }
        }
        CommandBody::Store {
            uid: u,
            set,
            unchanged_since,
            action,
            silent,
            flags,
        } => {
            uid(w, *u);
            w.raw(b"STORE ");
            w.sequence_set(set);
            if let Some(n) = unchanged_since {
                w.raw(b" (UNCHANGEDSINCE ");
                w.num(*n);
                w.raw(b")");
            }
            w.raw(match action {
                StoreAction::Replace => b" FLAGS".as_slice(),
                StoreAction::Add => b" +FLAGS",
                StoreAction::Remove => b" -FLAGS",
            });
            if *silent {
                w.raw(b".SILENT");
            }
            w.sp();
            w.flag_list(flags);
        }
        CommandBody::Copy {
            uid: u,
            set,
            mailbox,
        }
        | CommandBody::Move {
            uid: u,
            set,
            mailbox,
        } => {
            uid(w, *u);
            w.raw(body.name().as_bytes());
            w.sp();
            w.sequence_set(set);
            w.sp();
            w.astring(mailbox.as_bytes());
        }
        CommandBody::Sort {
            uid: u,
            criteria,
            charset,
            keys,
        } => {
            uid(w, *u);
            w.raw(b"SORT ");
            w.list(criteria, |w, c| {
                if c.reverse {
                    w.raw(b"REVERSE ");
                }
                w.raw(match c.key {
                    SortKey::Arrival => b"ARRIVAL".as_slice(),
                    SortKey::Cc => b"CC",
                    SortKey::Date => b"DATE",
                    SortKey::From => b"FROM",
                    SortKey::Size => b"SIZE",
                    SortKey::Subject => b"SUBJECT",
                    SortKey::To => b"TO",
                });
            });
            w.sp();
            w.astring(charset);
            for key in keys {
                w.sp();
                search_key(w, key);
            }
        }
        CommandBody::Thread {
            uid: u,
            algorithm,
            charset,
            keys,
        } => {
            uid(w, *u);
            w.raw(b"THREAD ");
            w.raw(match algorithm {
                ThreadAlgorithm::OrderedSubject => b"ORDEREDSUBJECT".as_slice(),
                ThreadAlgorithm::References => b"REFERENCES",
                ThreadAlgorithm::Other(a) => a.as_bytes(),
            });
            w.sp();
            w.astring(charset);
            for key in keys {
                w.sp();
                search_key(w, key);
            }
        }
        CommandBody::GetQuota(root) => {
            w.raw(b"GETQUOTA ");
            w.astring(root);
        }
        CommandBody::SetQuota { root, limits } => {
            w.raw(b"SETQUOTA ");
            w.astring(root);
            w.sp();
            w.list(limits, |w, (name, limit)| {
                w.raw(name.as_bytes());
                w.sp();
                w.num(*limit);
            });
        }
        CommandBody::Compress(algorithm) => {
            w.raw(b"COMPRESS ");
            w.raw(algorithm.as_bytes());
        }
        CommandBody::Capability
        | CommandBody::Noop
        | CommandBody::Logout
        | CommandBody::StartTls
        | CommandBody::Namespace
        | CommandBody::Idle
        | CommandBody::Check
        | CommandBody::Close
        | CommandBody::Unselect
        | CommandBody::Expunge { uids: None } => w.raw(body.name().as_bytes()),
    }
}

/// `(key value ...)` or `NIL`.
pub(crate) fn id_params<B: BufMut>(w: &mut W<'_, B>, params: Option<&[(Str, Option<Str>)]>) {
    match params {
        None => w.raw(b"NIL"),
        Some(params) => w.list(params, |w, (k, v)| {
            w.string(k);
            w.sp();
            w.nstring(v.as_deref());
        }),
    }
}

fn list_mailbox<B: BufMut>(w: &mut W<'_, B>, pattern: &[u8]) {
    if !pattern.is_empty()
        && pattern
            .iter()
            .all(|&b| crate::types::chars::is_list_char(b))
    {
        w.raw(pattern);
    } else {
        w.string(pattern);
    }
}

pub(crate) fn status_item<B: BufMut>(w: &mut W<'_, B>, item: StatusItem) {
    w.raw(match item {
        StatusItem::Messages => b"MESSAGES".as_slice(),
        StatusItem::UidNext => b"UIDNEXT",
        StatusItem::UidValidity => b"UIDVALIDITY",
        StatusItem::Unseen => b"UNSEEN",
        StatusItem::Deleted => b"DELETED",
        StatusItem::Size => b"SIZE",
        StatusItem::Recent => b"RECENT",
        StatusItem::HighestModSeq => b"HIGHESTMODSEQ",
        StatusItem::MailboxId => b"MAILBOXID",
        StatusItem::AppendLimit => b"APPENDLIMIT",
    });
}

fn search_key<B: BufMut>(w: &mut W<'_, B>, key: &SearchKey) {
    let word = |w: &mut W<'_, B>, name: &[u8]| w.raw(name);
    let with_string = |w: &mut W<'_, B>, name: &[u8], s: &[u8]| {
        w.raw(name);
        w.sp();
        w.astring(s);
    };
    let with_date = |w: &mut W<'_, B>, name: &[u8], d: &crate::types::Date| {
        w.raw(name);
        w.sp();
        w.date(d);
    };
    let with_num = |w: &mut W<'_, B>, name: &[u8], n: u64| {
        w.raw(name);
        w.sp();
        w.num(n);
    };
    match key {
        SearchKey::All => word(w, b"ALL"),
        SearchKey::Answered => word(w, b"ANSWERED"),
        SearchKey::Deleted => word(w, b"DELETED"),
        SearchKey::Draft => word(w, b"DRAFT"),
        SearchKey::Flagged => word(w, b"FLAGGED"),
        SearchKey::New => word(w, b"NEW"),
        SearchKey::Old => word(w, b"OLD"),
        SearchKey::Recent => word(w, b"RECENT"),
        SearchKey::Seen => word(w, b"SEEN"),
        SearchKey::Unanswered => word(w, b"UNANSWERED"),
        SearchKey::Undeleted => word(w, b"UNDELETED"),
        SearchKey::Undraft => word(w, b"UNDRAFT"),
        SearchKey::Unflagged => word(w, b"UNFLAGGED"),
        SearchKey::Unseen => word(w, b"UNSEEN"),
        SearchKey::SaveDateSupported => word(w, b"SAVEDATESUPPORTED"),
        SearchKey::Bcc(s) => with_string(w, b"BCC", s),
        SearchKey::Body(s) => with_string(w, b"BODY", s),
        SearchKey::Cc(s) => with_string(w, b"CC", s),
        SearchKey::From(s) => with_string(w, b"FROM", s),
        SearchKey::Subject(s) => with_string(w, b"SUBJECT", s),
        SearchKey::Text(s) => with_string(w, b"TEXT", s),
        SearchKey::To(s) => with_string(w, b"TO", s),
        SearchKey::Header(field, value) => {
            with_string(w, b"HEADER", field);
            w.sp();
            w.astring(value);
        }
        SearchKey::Keyword(k) => with_string(w, b"KEYWORD", k.as_bytes()),
        SearchKey::Unkeyword(k) => with_string(w, b"UNKEYWORD", k.as_bytes()),
        SearchKey::EmailId(id) => with_string(w, b"EMAILID", id.as_bytes()),
        SearchKey::ThreadId(id) => with_string(w, b"THREADID", id.as_bytes()),
        SearchKey::Before(d) => with_date(w, b"BEFORE", d),
        SearchKey::On(d) => with_date(w, b"ON", d),
        SearchKey::Since(d) => with_date(w, b"SINCE", d),
        SearchKey::SentBefore(d) => with_date(w, b"SENTBEFORE", d),
        SearchKey::SentOn(d) => with_date(w, b"SENTON", d),
        SearchKey::SentSince(d) => with_date(w, b"SENTSINCE", d),
        SearchKey::SavedBefore(d) => with_date(w, b"SAVEDBEFORE", d),
        SearchKey::SavedOn(d) => with_date(w, b"SAVEDON", d),
        SearchKey::SavedSince(d) => with_date(w, b"SAVEDSINCE", d),
        SearchKey::Larger(n) => with_num(w, b"LARGER", *n),
        SearchKey::Smaller(n) => with_num(w, b"SMALLER", *n),
        SearchKey::Older(n) => with_num(w, b"OLDER", u64::from(*n)),
        SearchKey::Younger(n) => with_num(w, b"YOUNGER", u64::from(*n)),
        SearchKey::Uid(set) => {
            w.raw(b"UID ");
            w.sequence_set(set);
        }
        SearchKey::SequenceSet(set) => w.sequence_set(set),
        SearchKey::Not(k) => {
            w.raw(b"NOT ");
            search_key(w, k);
        }
        SearchKey::Or(a, b) => {
            w.raw(b"OR ");
            search_key(w, a);
            w.sp();
            search_key(w, b);
        }
        SearchKey::And(keys) => w.list(keys, |w, k| search_key(w, k)),
        SearchKey::ModSeq { entry, modseq } => {
            w.raw(b"MODSEQ ");
            if let Some((name, kind)) = entry {
                w.quoted(name);
                w.sp();
                w.raw(kind.as_bytes());
                w.sp();
            }
            w.num(*modseq);
        }
    }
}

fn part<B: BufMut>(w: &mut W<'_, B>, part: &[std::num::NonZeroU32]) {
    for (i, n) in part.iter().enumerate() {
        if i > 0 {
            w.raw(b".");
        }
        w.num(u64::from(n.get()));
    }
}

/// `[section]`.
pub(crate) fn section<B: BufMut>(w: &mut W<'_, B>, s: &Section) {
    w.raw(b"[");
    part(w, &s.part);
    if let Some(text) = &s.text {
        if !s.part.is_empty() {
            w.raw(b".");
        }
        match text {
            SectionText::Header => w.raw(b"HEADER"),
            SectionText::Text => w.raw(b"TEXT"),
            SectionText::Mime => w.raw(b"MIME"),
            SectionText::HeaderFields(fields) | SectionText::HeaderFieldsNot(fields) => {
                w.raw(if matches!(text, SectionText::HeaderFields(_)) {
                    b"HEADER.FIELDS ".as_slice()
                } else {
                    b"HEADER.FIELDS.NOT "
                });
                w.list(fields, |w, f| w.astring(f));
            }
        }
    }
    w.raw(b"]");
}

/// `[1.2]` of BINARY.
pub(crate) fn section_binary<B: BufMut>(w: &mut W<'_, B>, p: &[std::num::NonZeroU32]) {
    w.raw(b"[");
    part(w, p);
    w.raw(b"]");
}

fn partial<B: BufMut>(w: &mut W<'_, B>, partial: &Option<(u32, std::num::NonZeroU32)>) {
    if let Some((start, count)) = partial {
        w.raw(b"<");
        w.num(u64::from(*start));
        w.raw(b".");
        w.num(u64::from(count.get()));
        w.raw(b">");
    }
}

fn fetch_attr<B: BufMut>(w: &mut W<'_, B>, attr: &FetchAttr) {
    match attr {
        FetchAttr::Envelope => w.raw(b"ENVELOPE"),
        FetchAttr::Flags => w.raw(b"FLAGS"),
        FetchAttr::InternalDate => w.raw(b"INTERNALDATE"),
        FetchAttr::Rfc822 => w.raw(b"RFC822"),
        FetchAttr::Rfc822Header => w.raw(b"RFC822.HEADER"),
        FetchAttr::Rfc822Size => w.raw(b"RFC822.SIZE"),
        FetchAttr::Rfc822Text => w.raw(b"RFC822.TEXT"),
        FetchAttr::Body => w.raw(b"BODY"),
        FetchAttr::BodyStructure => w.raw(b"BODYSTRUCTURE"),
        FetchAttr::Uid => w.raw(b"UID"),
        FetchAttr::ModSeq => w.raw(b"MODSEQ"),
        FetchAttr::EmailId => w.raw(b"EMAILID"),
        FetchAttr::ThreadId => w.raw(b"THREADID"),
        FetchAttr::SaveDate => w.raw(b"SAVEDATE"),
        FetchAttr::BodySection {
            peek,
            section: s,
            partial: p,
        } => {
            w.raw(if *peek {
                b"BODY.PEEK".as_slice()
            } else {
                b"BODY"
            });
            section(w, s);
            partial(w, p);
        }
        FetchAttr::Binary {
            peek,
            part: pt,
            partial: p,
        } => {
            w.raw(if *peek {
                b"BINARY.PEEK".as_slice()
            } else {
                b"BINARY"
            });
            section_binary(w, pt);
            partial(w, p);
        }
        FetchAttr::BinarySize { part: pt } => {
            w.raw(b"BINARY.SIZE");
            section_binary(w, pt);
        }
    }
}

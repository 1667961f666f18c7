//! Command parsing.

use std::num::NonZeroU32;

use super::parser::{PResult, Parser};
use crate::types::{
    AppendMessage, Capability, Command, CommandBody, FetchAttr, FetchItems, IdParams, ListReturn,
    ListSelect, MailboxAttr, QResyncParams, SearchKey, SearchReturn, Secret, Section, SectionText,
    SelectParams, SortCriterion, SortKey, StatusItem, StoreAction, Str, ThreadAlgorithm,
};

/// Uppercases a name into `buf` for matching; names longer than `buf` match nothing.
fn upper<'b>(name: &[u8], buf: &'b mut [u8; 24]) -> &'b [u8] {
    if name.len() > buf.len() {
        return &[];
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_uppercase();
    }
    &buf[..name.len()]
}

pub(crate) fn command(p: &mut Parser<'_>) -> PResult<Command> {
    let tag = p.tag()?;
    p.sp()?;
    let body = command_body(p)?;
    p.crlf()?;
    Ok(Command { tag, body })
}

fn command_body(p: &mut Parser<'_>) -> PResult<CommandBody> {
    let start = p.pos;
    let mut buf = [0; 24];
    let name = upper(p.atom_bytes()?, &mut buf);
    Ok(match name {
        b"CAPABILITY" => CommandBody::Capability,
        b"NOOP" => CommandBody::Noop,
        b"LOGOUT" => CommandBody::Logout,
        b"STARTTLS" => CommandBody::StartTls,
        b"NAMESPACE" => CommandBody::Namespace,
        b"IDLE" => CommandBody::Idle,
        b"CHECK" => CommandBody::Check,
        b"CLOSE" => CommandBody::Close,
        b"UNSELECT" => CommandBody::Unselect,
        b"EXPUNGE" => CommandBody::Expunge { uids: None },
        b"ID" => {
            p.sp()?;
            CommandBody::Id(id_params(p)?)
        }
        b"AUTHENTICATE" => {
            p.sp()?;
            let mechanism = p.atom()?;
            let initial = if p.take(b' ')? {
                Some(Secret::new(base64_or_equals(p)?))
            } else {
                None
            };
            CommandBody::Authenticate { mechanism, initial }
        }
        b"LOGIN" => {
            p.sp()?;
            let username = p.astring()?;
            p.sp()?;
            let password = Secret::new(p.astring()?);
            CommandBody::Login { username, password }
        }
        b"ENABLE" => {
            p.sp()?;
            CommandBody::Enable(p.sp_separated(|p| Ok(Capability::from_atom(p.atom()?)))?)
        }
        b"SELECT" | b"EXAMINE" => {
            let examine = name == b"EXAMINE";
            p.sp()?;
            let mailbox = p.mailbox()?;
            let params = if p.take(b' ')? {
                select_params(p)?
            } else {
                SelectParams::default()
            };
            if examine {
                CommandBody::Examine { mailbox, params }
            } else {
                CommandBody::Select { mailbox, params }
            }
        }
        b"CREATE" => {
            p.sp()?;
            let mailbox = p.mailbox()?;
            let mut special_use = Vec::new();
            if p.take(b' ')? {
                p.byte(b'(', "(")?;
                if !p.keyword("USE")? {
                    return p.fail("USE");
                }
                p.sp()?;
                special_use = p.list(false, |p| {
                    p.byte(b'\\', "\\attribute")?;
                    Ok(MailboxAttr::from_atom(p.atom()?))
                })?;
                p.byte(b')', ")")?;
            }
            CommandBody::Create {
                mailbox,
                special_use,
            }
        }
        b"DELETE" => CommandBody::Delete(sp_mailbox(p)?),
        b"SUBSCRIBE" => CommandBody::Subscribe(sp_mailbox(p)?),
        b"UNSUBSCRIBE" => CommandBody::Unsubscribe(sp_mailbox(p)?),
        b"GETQUOTAROOT" => CommandBody::GetQuotaRoot(sp_mailbox(p)?),
        b"RENAME" => {
            let from = sp_mailbox(p)?;
            let to = sp_mailbox(p)?;
            CommandBody::Rename { from, to }
        }
        b"LIST" => list(p)?,
        b"LSUB" => {
            let reference = sp_mailbox(p)?;
            p.sp()?;
            let pattern = p.list_mailbox()?;
            CommandBody::Lsub { reference, pattern }
        }
        b"STATUS" => {
            let mailbox = sp_mailbox(p)?;
            p.sp()?;
            let items = p.list(false, status_item)?;
            CommandBody::Status { mailbox, items }
        }
        b"APPEND" => append(p)?,
        b"SEARCH" => search(p, false)?,
        b"FETCH" => fetch(p, false)?,
        b"STORE" => store(p, false)?,
        b"COPY" => copy_or_move(p, false, false)?,
        b"MOVE" => copy_or_move(p, false, true)?,
        b"SORT" => sort(p, false)?,
        b"THREAD" => thread(p, false)?,
        b"UID" => {
            p.sp()?;
            let mut buf = [0; 24];
            match upper(p.atom_bytes()?, &mut buf) {
                b"SEARCH" => search(p, true)?,
                b"FETCH" => fetch(p, true)?,
                b"STORE" => store(p, true)?,
                b"COPY" => copy_or_move(p, true, false)?,
                b"MOVE" => copy_or_move(p, true, true)?,
                b"SORT" => sort(p, true)?,
                b"THREAD" => thread(p, true)?,
                b"EXPUNGE" => {
                    p.sp()?;
                    CommandBody::Expunge {
                        uids: Some(p.sequence_set()?),
                    }
                }
                _ => {
                    p.pos = start;
                    return p.fail("UID command");
                }
            }
        }
        b"GETQUOTA" => {
            p.sp()?;
            CommandBody::GetQuota(p.astring()?)
        }
        b"SETQUOTA" => {
            p.sp()?;
            let root = p.astring()?;
            p.sp()?;
            let limits = p.list(true, |p| {
                let name = p.atom()?;
                p.sp()?;
                Ok((name, p.number64()?))
            })?;
            CommandBody::SetQuota { root, limits }
        }
        b"COMPRESS" => {
            p.sp()?;
            CommandBody::Compress(p.atom()?)
        }
        _ => {
            p.pos = start;
            return p.fail("command name");
        }
    })
}

fn sp_mailbox(p: &mut Parser<'_>) -> PResult<crate::types::Mailbox> {
    p.sp()?;
    p.mailbox()
}

/// SASL data: base64 octets, or `=` for an empty response.
fn base64_or_equals(p: &mut Parser<'_>) -> PResult<Str> {
    let start = p.pos;
    loop {
        match p.peek()? {
            b if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=') => p.pos += 1,
            _ if p.pos > start => return Ok(p.str(start, p.pos)),
            _ => return p.fail("base64"),
        }
    }
}

/// `ID` parameters: `(key value ...)` or `NIL`.
pub(crate) fn id_params(p: &mut Parser<'_>) -> PResult<Option<IdParams>> {
    if p.keyword("NIL")? {
        return Ok(None);
    }
    p.list(true, |p| {
        let key = p.string()?;
        p.sp()?;
        Ok((key, p.nstring()?))
    })
    .map(Some)
}

fn select_params(p: &mut Parser<'_>) -> PResult<SelectParams> {
    let mut params = SelectParams::default();
    p.list(false, |p| {
        if p.keyword("CONDSTORE")? {
            params.condstore = true;
        } else if p.keyword("QRESYNC")? {
            p.sp()?;
            p.byte(b'(', "(")?;
            let uid_validity = p.nz_number()?;
            p.sp()?;
            let modseq = p.number64()?;
            if modseq == 0 {
                return p.fail("non-zero mod-sequence");
            }
            let mut known_uids = None;
            let mut seq_match = None;
            if p.take(b' ')? {
                if p.peek()? != b'(' {
                    known_uids = Some(p.sequence_set()?);
                    if p.take(b' ')? {
                        seq_match = Some(seq_match_data(p)?);
                    }
                } else {
                    seq_match = Some(seq_match_data(p)?);
                }
            }
            p.byte(b')', ")")?;
            params.qresync = Some(Box::new(QResyncParams {
                uid_validity,
                modseq,
                known_uids,
                seq_match,
            }));
        } else {
            return p.fail("CONDSTORE or QRESYNC");
        }
        Ok(())
    })?;
    Ok(params)
}

fn seq_match_data(
    p: &mut Parser<'_>,
) -> PResult<(crate::types::SequenceSet, crate::types::SequenceSet)> {
    p.byte(b'(', "(")?;
    let seqs = p.sequence_set()?;
    p.sp()?;
    let uids = p.sequence_set()?;
    p.byte(b')', ")")?;
    Ok((seqs, uids))
}

fn list(p: &mut Parser<'_>) -> PResult<CommandBody> {
    p.sp()?;
    let mut selection = Vec::new();
    if p.peek()? == b'(' {
        selection = p.list(true, |p| {
            let mut buf = [0; 24];
            Ok(match upper(p.atom_bytes()?, &mut buf) {
                b"SUBSCRIBED" => ListSelect::Subscribed,
                b"REMOTE" => ListSelect::Remote,
                b"RECURSIVEMATCH" => ListSelect::RecursiveMatch,
                b"SPECIAL-USE" => ListSelect::SpecialUse,
                _ => return p.fail("LIST selection option"),
            })
        })?;
        p.sp()?;
    }
    let reference = p.mailbox()?;
    p.sp()?;
    let patterns = if p.peek()? == b'(' {
        p.list(false, Parser::list_mailbox)?
    } else {
        vec![p.list_mailbox()?]
    };
    let mut returns = Vec::new();
    if p.take(b' ')? {
        if !p.keyword("RETURN")? {
            return p.fail("RETURN");
        }
        p.sp()?;
        returns = p.list(true, |p| {
            let mut buf = [0; 24];
            Ok(match upper(p.atom_bytes()?, &mut buf) {
                b"SUBSCRIBED" => ListReturn::Subscribed,
                b"CHILDREN" => ListReturn::Children,
                b"SPECIAL-USE" => ListReturn::SpecialUse,
                b"STATUS" => {
                    p.sp()?;
                    ListReturn::Status(p.list(false, status_item)?)
                }
                _ => return p.fail("LIST return option"),
            })
        })?;
    }
    Ok(CommandBody::List {
        selection,
        reference,
        patterns,
        returns,
    })
}

pub(crate) fn status_item(p: &mut Parser<'_>) -> PResult<StatusItem> {
    let mut buf = [0; 24];
    Ok(match upper(p.atom_bytes()?, &mut buf) {
        b"MESSAGES" => StatusItem::Messages,
        b"UIDNEXT" => StatusItem::UidNext,
        b"UIDVALIDITY" => StatusItem::UidValidity,
        b"UNSEEN" => StatusItem::Unseen,
        b"DELETED" => StatusItem::Deleted,
        b"SIZE" => StatusItem::Size,
        b"RECENT" => StatusItem::Recent,
        b"HIGHESTMODSEQ" => StatusItem::HighestModSeq,
        b"MAILBOXID" => StatusItem::MailboxId,
        b"APPENDLIMIT" => StatusItem::AppendLimit,
        _ => return p.fail("STATUS item"),
    })
}

/// The part of one APPEND message before its data: flags and date.
pub(crate) fn append_options(
    p: &mut Parser<'_>,
) -> PResult<(Vec<crate::types::Flag>, Option<crate::types::DateTime>)> {
    let mut flags = Vec::new();
    let mut date = None;
    if p.peek()? == b'(' {
        flags = p.flag_list()?;
        p.sp()?;
    }
    if p.peek()? == b'"' {
        date = Some(p.date_time()?);
        p.sp()?;
    }
    Ok((flags, date))
}

/// `UTF8 (` before an APPEND literal (RFC 6855); true when it was there.
pub(crate) fn append_utf8_open(p: &mut Parser<'_>) -> PResult<bool> {
    if p.keyword("UTF8")? {
        p.sp()?;
        p.byte(b'(', "(")?;
        Ok(true)
    } else {
        Ok(false)
    }
}

fn append(p: &mut Parser<'_>) -> PResult<CommandBody> {
    let mailbox = sp_mailbox(p)?;
    let mut messages = Vec::new();
    while p.take(b' ')? {
        let (flags, date) = append_options(p)?;
        let utf8 = append_utf8_open(p)?;
        if utf8 && p.peek()? != b'~' {
            return p.fail("~{n} inside UTF8 (...)");
        }
        let (data, binary) = p.literal(true)?;
        if utf8 {
            p.byte(b')', ")")?;
        }
        messages.push(AppendMessage {
            flags,
            date,
            data,
            binary,
            utf8,
        });
    }
    if messages.is_empty() {
        return p.fail("message");
    }
    Ok(CommandBody::Append { mailbox, messages })
}

fn search(p: &mut Parser<'_>, uid: bool) -> PResult<CommandBody> {
    p.sp()?;
    let mut returns = None;
    if p.keyword("RETURN")? {
        p.sp()?;
        returns = Some(p.list(true, |p| {
            let mut buf = [0; 24];
            Ok(match upper(p.atom_bytes()?, &mut buf) {
                b"MIN" => SearchReturn::Min,
                b"MAX" => SearchReturn::Max,
                b"ALL" => SearchReturn::All,
                b"COUNT" => SearchReturn::Count,
                b"SAVE" => SearchReturn::Save,
                _ => return p.fail("SEARCH return option"),
            })
        })?);
        p.sp()?;
    }
    let mut charset = None;
    if p.keyword("CHARSET")? {
        p.sp()?;
        charset = Some(p.astring()?);
        p.sp()?;
    }
    let keys = p.sp_separated(search_key)?;
    Ok(CommandBody::Search {
        uid,
        returns,
        charset,
        keys,
    })
}

fn search_key(p: &mut Parser<'_>) -> PResult<SearchKey> {
    match p.peek()? {
        b'(' => {
            return p.list(false, search_key).map(SearchKey::And);
        }
        b'0'..=b'9' | b'*' | b'$' => return p.sequence_set().map(SearchKey::SequenceSet),
        _ => {}
    }
    let start = p.pos;
    let mut buf = [0; 24];
    let name = upper(p.atom_bytes()?, &mut buf);
    let key = match name {
        b"ALL" => SearchKey::All,
        b"ANSWERED" => SearchKey::Answered,
        b"DELETED" => SearchKey::Deleted,
        b"DRAFT" => SearchKey::Draft,
        b"FLAGGED" => SearchKey::Flagged,
        b"NEW" => SearchKey::New,
        b"OLD" => SearchKey::Old,
        b"RECENT" => SearchKey::Recent,
        b"SEEN" => SearchKey::Seen,
        b"UNANSWERED" => SearchKey::Unanswered,
        b"UNDELETED" => SearchKey::Undeleted,
        b"UNDRAFT" => SearchKey::Undraft,
        b"UNFLAGGED" => SearchKey::Unflagged,
        b"UNSEEN" => SearchKey::Unseen,
        b"SAVEDATESUPPORTED" => SearchKey::SaveDateSupported,
        _ => {
            p.sp()?;
            match name {
                b"BCC" => SearchKey::Bcc(p.astring()?),
                b"BODY" => SearchKey::Body(p.astring()?),
                b"CC" => SearchKey::Cc(p.astring()?),
                b"FROM" => SearchKey::From(p.astring()?),
                b"SUBJECT" => SearchKey::Subject(p.astring()?),
                b"TEXT" => SearchKey::Text(p.astring()?),
                b"TO" => SearchKey::To(p.astring()?),
                b"HEADER" => {
                    let field = p.astring()?;
                    p.sp()?;
                    SearchKey::Header(field, p.astring()?)
                }
                b"KEYWORD" => SearchKey::Keyword(p.atom()?),
                b"UNKEYWORD" => SearchKey::Unkeyword(p.atom()?),
                b"BEFORE" => SearchKey::Before(p.date()?),
                b"ON" => SearchKey::On(p.date()?),
                b"SINCE" => SearchKey::Since(p.date()?),
                b"SENTBEFORE" => SearchKey::SentBefore(p.date()?),
                b"SENTON" => SearchKey::SentOn(p.date()?),
                b"SENTSINCE" => SearchKey::SentSince(p.date()?),
                b"SAVEDBEFORE" => SearchKey::SavedBefore(p.date()?),
                b"SAVEDON" => SearchKey::SavedOn(p.date()?),
                b"SAVEDSINCE" => SearchKey::SavedSince(p.date()?),
                b"LARGER" => SearchKey::Larger(p.number64()?),
                b"SMALLER" => SearchKey::Smaller(p.number64()?),
                b"UID" => SearchKey::Uid(p.sequence_set()?),
                b"OLDER" => SearchKey::Older(p.nz_number()?.get()),
                b"YOUNGER" => SearchKey::Younger(p.nz_number()?.get()),
                b"EMAILID" => SearchKey::EmailId(p.atom()?),
                b"THREADID" => SearchKey::ThreadId(p.atom()?),
                b"NOT" => {
                    p.enter()?;
                    let key = search_key(p)?;
                    p.leave();
                    SearchKey::Not(Box::new(key))
                }
                b"OR" => {
                    p.enter()?;
                    let a = search_key(p)?;
                    p.sp()?;
                    let b = search_key(p)?;
                    p.leave();
                    SearchKey::Or(Box::new(a), Box::new(b))
                }
                b"MODSEQ" => {
                    let mut entry = None;
                    if p.peek()? == b'"' {
                        let name = p.quoted()?;
                        p.sp()?;
                        let kind = p.atom()?;
                        if !["priv", "shared", "all"]
                            .iter()
                            .any(|k| kind.eq_ignore_case(k))
                        {
                            return p.fail("priv, shared or all");
                        }
                        p.sp()?;
                        entry = Some((name, kind));
                    }
                    SearchKey::ModSeq {
                        entry,
                        modseq: p.number64()?,
                    }
                }
                _ => {
                    p.pos = start;
                    return p.fail("search key");
                }
            }
        }
    };
    Ok(key)
}

fn fetch(p: &mut Parser<'_>, uid: bool) -> PResult<CommandBody> {
    p.sp()?;
    let set = p.sequence_set()?;
    p.sp()?;
    let items = if p.peek()? == b'(' {
        FetchItems::Attrs(p.list(false, fetch_attr)?)
    } else if p.keyword("ALL")? {
        FetchItems::All
    } else if p.keyword("FAST")? {
        FetchItems::Fast
    } else if p.keyword("FULL")? {
        FetchItems::Full
    } else {
        FetchItems::Attrs(vec![fetch_attr(p)?])
    };
    let mut changed_since = None;
    let mut vanished = false;
    if p.take(b' ')? {
        p.list(false, |p| {
            if p.keyword("CHANGEDSINCE")? {
                p.sp()?;
                changed_since = Some(p.number64()?);
            } else if p.keyword("VANISHED")? {
                vanished = true;
            } else {
                return p.fail("CHANGEDSINCE or VANISHED");
            }
            Ok(())
        })?;
    }
    Ok(CommandBody::Fetch {
        uid,
        set,
        items,
        changed_since,
        vanished,
    })
}

/// A name made of letters, digits and dots (FETCH attributes, section texts).
fn dotted_name<'a>(p: &mut Parser<'a>) -> PResult<&'a [u8]> {
    let start = p.pos;
    while p.peek()?.is_ascii_alphanumeric() || p.peek()? == b'.' {
        p.pos += 1;
    }
    if p.pos == start {
        return p.fail("name");
    }
    Ok(p.bytes(start, p.pos))
}

fn fetch_attr(p: &mut Parser<'_>) -> PResult<FetchAttr> {
    let start = p.pos;
    let mut buf = [0; 24];
    let name = upper(dotted_name(p)?, &mut buf);
    let with_section = p.peek()? == b'[';
    Ok(match (name, with_section) {
        (b"ENVELOPE", false) => FetchAttr::Envelope,
        (b"FLAGS", false) => FetchAttr::Flags,
        (b"INTERNALDATE", false) => FetchAttr::InternalDate,
        (b"RFC822", false) => FetchAttr::Rfc822,
        (b"RFC822.HEADER", false) => FetchAttr::Rfc822Header,
        (b"RFC822.SIZE", false) => FetchAttr::Rfc822Size,
        (b"RFC822.TEXT", false) => FetchAttr::Rfc822Text,
        (b"BODY", false) => FetchAttr::Body,
        (b"BODYSTRUCTURE", false) => FetchAttr::BodyStructure,
        (b"UID", false) => FetchAttr::Uid,
        (b"MODSEQ", false) => FetchAttr::ModSeq,
        (b"EMAILID", false) => FetchAttr::EmailId,
        (b"THREADID", false) => FetchAttr::ThreadId,
        (b"SAVEDATE", false) => FetchAttr::SaveDate,
        (b"BODY" | b"BODY.PEEK", true) => {
            let section = section(p)?;
            FetchAttr::BodySection {
                peek: name == b"BODY.PEEK",
                section,
                partial: partial(p)?,
            }
        }
        (b"BINARY" | b"BINARY.PEEK", true) => {
            let part = section_binary(p)?;
            FetchAttr::Binary {
                peek: name == b"BINARY.PEEK",
                part,
                partial: partial(p)?,
            }
        }
        (b"BINARY.SIZE", true) => FetchAttr::BinarySize {
            part: section_binary(p)?,
        },
        _ => {
            p.pos = start;
            return p.fail("FETCH attribute");
        }
    })
}

/// `section-part`: `1.2.3`, stopping before a `.` that starts a text spec.
fn section_part(p: &mut Parser<'_>) -> PResult<Vec<NonZeroU32>> {
    let mut part = Vec::new();
    if !p.peek()?.is_ascii_digit() {
        return Ok(part);
    }
    part.push(p.nz_number()?);
    while p.peek()? == b'.' && p.peek_at(1)?.is_ascii_digit() {
        p.pos += 1;
        part.push(p.nz_number()?);
    }
    Ok(part)
}

/// `[section-spec]`.
pub(crate) fn section(p: &mut Parser<'_>) -> PResult<Section> {
    p.byte(b'[', "[")?;
    let part = section_part(p)?;
    let mut text = None;
    if p.peek()? != b']' {
        if !part.is_empty() {
            p.byte(b'.', ".")?;
        }
        let start = p.pos;
        let mut buf = [0; 24];
        text = Some(match upper(dotted_name(p)?, &mut buf) {
            b"HEADER" => SectionText::Header,
            b"TEXT" => SectionText::Text,
            b"MIME" if !part.is_empty() => SectionText::Mime,
            b"HEADER.FIELDS" => {
                p.sp()?;
                SectionText::HeaderFields(p.list(false, Parser::astring)?)
            }
            b"HEADER.FIELDS.NOT" => {
                p.sp()?;
                SectionText::HeaderFieldsNot(p.list(false, Parser::astring)?)
            }
            _ => {
                p.pos = start;
                return p.fail("section text");
            }
        });
    }
    p.byte(b']', "]")?;
    Ok(Section { part, text })
}

/// `[section-part]` of BINARY.
pub(crate) fn section_binary(p: &mut Parser<'_>) -> PResult<Vec<NonZeroU32>> {
    p.byte(b'[', "[")?;
    let part = section_part(p)?;
    p.byte(b']', "]")?;
    Ok(part)
}

fn partial(p: &mut Parser<'_>) -> PResult<Option<(u32, NonZeroU32)>> {
    if !p.take(b'<')? {
        return Ok(None);
    }
    let start = p.number()?;
    p.byte(b'.', ".")?;
    let count = p.nz_number()?;
    p.byte(b'>', ">")?;
    Ok(Some((start, count)))
}

fn store(p: &mut Parser<'_>, uid: bool) -> PResult<CommandBody> {
    p.sp()?;
    let set = p.sequence_set()?;
    p.sp()?;
    let mut unchanged_since = None;
    if p.peek()? == b'(' {
        p.list(false, |p| {
            if !p.keyword("UNCHANGEDSINCE")? {
                return p.fail("UNCHANGEDSINCE");
            }
            p.sp()?;
            unchanged_since = Some(p.number64()?);
            Ok(())
        })?;
        p.sp()?;
    }
    let action = if p.take(b'+')? {
        StoreAction::Add
    } else if p.take(b'-')? {
        StoreAction::Remove
    } else {
        StoreAction::Replace
    };
    let start = p.pos;
    let mut buf = [0; 24];
    let silent = match upper(dotted_name(p)?, &mut buf) {
        b"FLAGS" => false,
        b"FLAGS.SILENT" => true,
        _ => {
            p.pos = start;
            return p.fail("FLAGS or FLAGS.SILENT");
        }
    };
    p.sp()?;
    let flags = if p.peek()? == b'(' {
        p.flag_list()?
    } else {
        p.sp_separated(Parser::flag)?
    };
    Ok(CommandBody::Store {
        uid,
        set,
        unchanged_since,
        action,
        silent,
        flags,
    })
}

fn copy_or_move(p: &mut Parser<'_>, uid: bool, is_move: bool) -> PResult<CommandBody> {
    p.sp()?;
    let set = p.sequence_set()?;
    let mailbox = sp_mailbox(p)?;
    Ok(if is_move {
        CommandBody::Move { uid, set, mailbox }
    } else {
        CommandBody::Copy { uid, set, mailbox }
    })
}

fn sort(p: &mut Parser<'_>, uid: bool) -> PResult<CommandBody> {
    p.sp()?;
    let criteria = p.list(false, |p| {
        let reverse = p.keyword("REVERSE")?;
        if reverse {
            p.sp()?;
        }
        let mut buf = [0; 24];
        let key = match upper(p.atom_bytes()?, &mut buf) {
            b"ARRIVAL" => SortKey::Arrival,
            b"CC" => SortKey::Cc,
            b"DATE" => SortKey::Date,
            b"FROM" => SortKey::From,
            b"SIZE" => SortKey::Size,
            b"SUBJECT" => SortKey::Subject,
            b"TO" => SortKey::To,
            _ => return p.fail("sort key"),
        };
        Ok(SortCriterion { reverse, key })
    })?;
    p.sp()?;
    let charset = p.astring()?;
    p.sp()?;
    let keys = p.sp_separated(search_key)?;
    Ok(CommandBody::Sort {
        uid,
        criteria,
        charset,
        keys,
    })
}

fn thread(p: &mut Parser<'_>, uid: bool) -> PResult<CommandBody> {
    p.sp()?;
    let atom = p.atom()?;
    let algorithm = if atom.eq_ignore_case("ORDEREDSUBJECT") {
        ThreadAlgorithm::OrderedSubject
    } else if atom.eq_ignore_case("REFERENCES") {
        ThreadAlgorithm::References
    } else {
        ThreadAlgorithm::Other(atom)
    };
    p.sp()?;
    let charset = p.astring()?;
    p.sp()?;
    let keys = p.sp_separated(search_key)?;
    Ok(CommandBody::Thread {
        uid,
        algorithm,
        charset,
        keys,
    })
}

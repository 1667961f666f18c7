//! Response parsing.

use std::num::NonZeroU32;

use super::DecodeError;
use super::decode_command::{id_params, section, section_binary};
use super::parser::{PResult, Parser};
use crate::types::{
    Atom, BasicFields, BodyExtension, BodyStructure, Capability, Code, Continue, Disposition,
    Envelope, EnvelopeAddress, EsearchItem, ExtensionValue, FetchValue, ListItem, MailboxAttr,
    Namespace, NamespaceDescr, QuotaResource, Response, SinglePart, Status, StatusKind,
    StatusValue, Str, Tagged, Text, Thread, Untagged,
};

fn upper<'b>(name: &[u8], buf: &'b mut [u8; 24]) -> &'b [u8] {
    if name.len() > buf.len() {
        return &[];
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_uppercase();
    }
    &buf[..name.len()]
}

pub(crate) fn response(p: &mut Parser<'_>) -> PResult<Response> {
    let response = match p.peek()? {
        b'+' => {
            p.pos += 1;
            let (code, text) = if p.take(b' ')? {
                resp_text(p)?
            } else {
                (None, Text::default())
            };
            Response::Continue(Continue { code, text })
        }
        b'*' => {
            p.pos += 1;
            p.sp()?;
            Response::Untagged(untagged(p)?)
        }
        _ => {
            let tag = p.tag()?;
            p.sp()?;
            let start = p.pos;
            let kind = status_kind(p)?;
            if matches!(kind, StatusKind::PreAuth | StatusKind::Bye) {
                p.pos = start;
                return p.fail("OK, NO or BAD");
            }
            Response::Tagged(Tagged {
                tag,
                status: status_rest(p, kind)?,
            })
        }
    };
    p.crlf()?;
    Ok(response)
}

fn status_kind(p: &mut Parser<'_>) -> PResult<StatusKind> {
    let start = p.pos;
    let mut buf = [0; 24];
    Ok(match upper(p.atom_bytes()?, &mut buf) {
        b"OK" => StatusKind::Ok,
        b"NO" => StatusKind::No,
        b"BAD" => StatusKind::Bad,
        b"PREAUTH" => StatusKind::PreAuth,
        b"BYE" => StatusKind::Bye,
        _ => {
            p.pos = start;
            return p.fail("status");
        }
    })
}

/// After the status word: `[SP resp-text]`.
fn status_rest(p: &mut Parser<'_>, kind: StatusKind) -> PResult<Status> {
    let (code, text) = if p.take(b' ')? {
        resp_text(p)?
    } else {
        (None, Text::default())
    };
    Ok(Status { kind, code, text })
}

/// `["[" resp-text-code "]" SP] text`. A `[` that does not start a valid
/// code is read as text.
fn resp_text(p: &mut Parser<'_>) -> PResult<(Option<Code>, Text)> {
    if p.peek()? == b'[' {
        // The code is read within its line, so that a malformed one falls
        // back to text the same way however the input was split.
        let mut line = bytes::Bytes::new();
        let Some(mut sub) = p.line_only(&mut line) else {
            return Err(DecodeError::Incomplete);
        };
        if let Ok(code) = code_in_brackets(&mut sub) {
            p.pos = sub.pos;
            // RFC 9051 wants SP then text; servers also end right after `]`.
            if p.peek()? == b'\r' {
                return Ok((Some(code), Text::default()));
            }
            if p.take(b' ')? {
                return Ok((Some(code), p.text()?));
            }
            return p.fail("SP after the response code");
        }
    }
    Ok((None, p.text()?))
}

fn code_in_brackets(p: &mut Parser<'_>) -> PResult<Code> {
    p.byte(b'[', "[")?;
    let start = p.pos;
    let atom = p.atom()?;
    let mut buf = [0; 24];
    let code = match upper(atom.as_bytes(), &mut buf) {
        b"ALERT" => Code::Alert,
        b"PARSE" => Code::Parse,
        b"READ-ONLY" => Code::ReadOnly,
        b"READ-WRITE" => Code::ReadWrite,
        b"TRYCREATE" => Code::TryCreate,
        b"NOMODSEQ" => Code::NoModSeq,
        b"CLOSED" => Code::Closed,
        b"UIDNOTSTICKY" => Code::UidNotSticky,
        b"ALREADYEXISTS" => Code::AlreadyExists,
        b"AUTHENTICATIONFAILED" => Code::AuthenticationFailed,
        b"AUTHORIZATIONFAILED" => Code::AuthorizationFailed,
        b"CANNOT" => Code::Cannot,
        b"CLIENTBUG" => Code::ClientBug,
        b"CONTACTADMIN" => Code::ContactAdmin,
        b"CORRUPTION" => Code::Corruption,
        b"EXPIRED" => Code::Expired,
        b"EXPUNGEISSUED" => Code::ExpungeIssued,
        b"HASCHILDREN" => Code::HasChildren,
        b"INUSE" => Code::InUse,
        b"LIMIT" => Code::Limit,
        b"NONEXISTENT" => Code::NonExistent,
        b"NOPERM" => Code::NoPerm,
        b"OVERQUOTA" => Code::OverQuota,
        b"PRIVACYREQUIRED" => Code::PrivacyRequired,
        b"SERVERBUG" => Code::ServerBug,
        b"UNAVAILABLE" => Code::Unavailable,
        b"TOOBIG" => Code::TooBig,
        b"COMPRESSIONACTIVE" => Code::CompressionActive,
        b"NOTSAVED" => Code::NotSaved,
        b"UNKNOWN-CTE" => Code::UnknownCte,
        b"USEATTR" => Code::UseAttr,
        b"BADCHARSET" => {
            let mut charsets = Vec::new();
            if p.take(b' ')? {
                charsets = p.list(false, |p| {
                    if p.peek()? != b'"' {
                        return p.atom();
                    }
                    let start = p.pos;
                    let quoted = p.quoted()?;
                    Atom::new(quoted).or_else(|_| {
                        p.pos = start;
                        p.fail("charset name")
                    })
                })?;
            }
            Code::BadCharset(charsets)
        }
        b"CAPABILITY" => {
            p.sp()?;
            Code::Capability(capabilities(p)?)
        }
        b"PERMANENTFLAGS" => {
            p.sp()?;
            Code::PermanentFlags(p.list(true, Parser::permanent_flag)?)
        }
        b"UIDNEXT" => {
            p.sp()?;
            Code::UidNext(p.nz_number()?)
        }
        b"UIDVALIDITY" => {
            p.sp()?;
            Code::UidValidity(p.nz_number()?)
        }
        b"UNSEEN" => {
            p.sp()?;
            Code::Unseen(p.nz_number()?)
        }
        b"HIGHESTMODSEQ" => {
            p.sp()?;
            Code::HighestModSeq(p.number64()?)
        }
        b"MODIFIED" => {
            p.sp()?;
            Code::Modified(p.sequence_set()?)
        }
        b"APPENDUID" => {
            p.sp()?;
            let uid_validity = p.nz_number()?;
            p.sp()?;
            Code::AppendUid {
                uid_validity,
                uids: p.uid_set()?,
            }
        }
        b"COPYUID" => {
            p.sp()?;
            let uid_validity = p.nz_number()?;
            p.sp()?;
            let source = p.uid_set()?;
            p.sp()?;
            Code::CopyUid {
                uid_validity,
                source,
                destination: p.uid_set()?,
            }
        }
        b"MAILBOXID" => {
            p.sp()?;
            p.byte(b'(', "(")?;
            let id = p.atom()?;
            p.byte(b')', ")")?;
            Code::MailboxId(id)
        }
        _ => {
            let mut text = None;
            if p.take(b' ')? {
                let from = p.pos;
                while !matches!(p.peek()?, b']' | b'\r' | b'\n' | 0) {
                    p.pos += 1;
                }
                if p.pos == from {
                    return p.fail("code text");
                }
                text = Some(p.str(from, p.pos));
            }
            Code::Other(atom, text)
        }
    };
    if p.peek()? != b']' {
        let _ = start;
        return p.fail("]");
    }
    p.pos += 1;
    Ok(code)
}

fn capabilities(p: &mut Parser<'_>) -> PResult<Vec<Capability>> {
    p.sp_separated(|p| Ok(Capability::from_atom(p.atom()?)))
}

fn untagged(p: &mut Parser<'_>) -> PResult<Untagged> {
    if p.peek()?.is_ascii_digit() {
        let start = p.pos;
        let n = p.number()?;
        p.sp()?;
        let mut buf = [0; 24];
        let word = upper(p.atom_bytes()?, &mut buf);
        let nz = |p: &mut Parser<'_>| {
            NonZeroU32::new(n).map_or_else(
                || {
                    p.pos = start;
                    p.fail("non-zero number")
                },
                Ok,
            )
        };
        return Ok(match word {
            b"EXISTS" => Untagged::Exists(n),
            b"RECENT" => Untagged::Recent(n),
            b"EXPUNGE" => Untagged::Expunge(nz(p)?),
            b"FETCH" => {
                let seq = nz(p)?;
                p.sp()?;
                Untagged::Fetch {
                    seq,
                    items: p.list(false, fetch_value)?,
                }
            }
            _ => return p.fail("EXISTS, RECENT, EXPUNGE or FETCH"),
        });
    }
    let start = p.pos;
    let mut buf = [0; 24];
    let word = upper(p.atom_bytes()?, &mut buf);
    Ok(match word {
        b"OK" => Untagged::Status(status_rest(p, StatusKind::Ok)?),
        b"NO" => Untagged::Status(status_rest(p, StatusKind::No)?),
        b"BAD" => Untagged::Status(status_rest(p, StatusKind::Bad)?),
        b"PREAUTH" => Untagged::Status(status_rest(p, StatusKind::PreAuth)?),
        b"BYE" => Untagged::Status(status_rest(p, StatusKind::Bye)?),
        b"CAPABILITY" => {
            p.sp()?;
            Untagged::Capability(capabilities(p)?)
        }
        b"ENABLED" => {
            let mut caps = Vec::new();
            while p.take(b' ')? {
                caps.push(Capability::from_atom(p.atom()?));
            }
            Untagged::Enabled(caps)
        }
        b"FLAGS" => {
            p.sp()?;
            Untagged::Flags(p.flag_list()?)
        }
        b"LIST" => Untagged::List(list_item(p)?),
        b"LSUB" => Untagged::Lsub(list_item(p)?),
        b"NAMESPACE" => {
            p.sp()?;
            let personal = namespace(p)?;
            p.sp()?;
            let other = namespace(p)?;
            p.sp()?;
            let shared = namespace(p)?;
            Untagged::Namespace(Namespace {
                personal,
                other,
                shared,
            })
        }
        b"STATUS" => {
            p.sp()?;
            let mailbox = p.mailbox()?;
            p.sp()?;
            let items = p.list(true, status_value)?;
            Untagged::MailboxStatus { mailbox, items }
        }
        b"ESEARCH" => esearch(p)?,
        b"SEARCH" | b"SORT" => {
            let sort = word == b"SORT";
            let mut ids = Vec::new();
            let mut modseq = None;
            while p.take(b' ')? {
                if p.peek()? == b'(' {
                    p.pos += 1;
                    if !p.keyword("MODSEQ")? {
                        return p.fail("MODSEQ");
                    }
                    p.sp()?;
                    modseq = Some(p.number64()?);
                    p.byte(b')', ")")?;
                    break;
                }
                ids.push(p.nz_number()?);
            }
            if sort {
                Untagged::Sort { ids, modseq }
            } else {
                Untagged::Search { ids, modseq }
            }
        }
        b"THREAD" => {
            let mut threads = Vec::new();
            if p.take(b' ')? || p.peek()? == b'(' {
                while p.peek()? == b'(' {
                    threads.push(thread(p)?);
                }
            }
            Untagged::Thread(threads)
        }
        b"VANISHED" => {
            p.sp()?;
            let mut earlier = false;
            if p.peek()? == b'(' {
                p.pos += 1;
                if !p.keyword("EARLIER")? {
                    return p.fail("EARLIER");
                }
                p.byte(b')', ")")?;
                p.sp()?;
                earlier = true;
            }
            Untagged::Vanished {
                earlier,
                uids: p.uid_set()?,
            }
        }
        b"QUOTA" => {
            p.sp()?;
            let root = p.astring()?;
            p.sp()?;
            let resources = p.list(false, |p| {
                let name = p.atom()?;
                p.sp()?;
                let usage = p.number64()?;
                p.sp()?;
                let limit = p.number64()?;
                Ok(QuotaResource { name, usage, limit })
            })?;
            Untagged::Quota { root, resources }
        }
        b"QUOTAROOT" => {
            p.sp()?;
            let mailbox = p.mailbox()?;
            let mut roots = Vec::new();
            while p.take(b' ')? {
                roots.push(p.astring()?);
            }
            Untagged::QuotaRoot { mailbox, roots }
        }
        b"ID" => {
            p.sp()?;
            Untagged::Id(id_params(p)?)
        }
        _ => {
            p.pos = start;
            return p.fail("response data");
        }
    })
}

/// A hierarchy delimiter: a quoted single character, or `NIL`.
fn delimiter(p: &mut Parser<'_>) -> PResult<Option<char>> {
    if p.keyword("NIL")? {
        return Ok(None);
    }
    let start = p.pos;
    let quoted = p.quoted()?;
    let text = std::str::from_utf8(&quoted).ok();
    let mut chars = text.map(str::chars);
    match chars.as_mut().map(|c| (c.next(), c.next())) {
        Some((Some(c), None)) => Ok(Some(c)),
        _ => {
            p.pos = start;
            p.fail("one delimiter character")
        }
    }
}

fn list_item(p: &mut Parser<'_>) -> PResult<ListItem> {
    p.sp()?;
    let attrs = p.list(true, |p| {
        p.byte(b'\\', "\\attribute")?;
        Ok(MailboxAttr::from_atom(p.atom()?))
    })?;
    p.sp()?;
    let delimiter = delimiter(p)?;
    p.sp()?;
    let mailbox = p.mailbox()?;
    let mut item = ListItem {
        attrs,
        delimiter,
        mailbox,
        child_info: Vec::new(),
        old_name: None,
    };
    if p.take(b' ')? {
        p.list(true, |p| {
            let name = p.astring()?;
            p.sp()?;
            if name.eq_ignore_ascii_case(b"CHILDINFO") {
                item.child_info = p.list(false, Parser::string)?;
            } else if name.eq_ignore_ascii_case(b"OLDNAME") {
                p.byte(b'(', "(")?;
                item.old_name = Some(p.mailbox()?);
                p.byte(b')', ")")?;
            } else {
                skip_tagged_ext_val(p)?;
            }
            Ok(())
        })?;
    }
    Ok(item)
}

/// Skips an extension value this crate does not know (`tagged-ext-val`).
fn skip_tagged_ext_val(p: &mut Parser<'_>) -> PResult<()> {
    match p.peek()? {
        b'(' => {
            p.list(true, skip_tagged_ext_val)?;
        }
        b'"' | b'{' => {
            p.string()?;
        }
        _ => {
            p.astring()?;
        }
    }
    Ok(())
}

fn namespace(p: &mut Parser<'_>) -> PResult<Vec<NamespaceDescr>> {
    if p.keyword("NIL")? {
        return Ok(Vec::new());
    }
    p.byte(b'(', "(")?;
    p.enter()?;
    let mut out = Vec::new();
    while p.peek()? == b'(' {
        p.pos += 1;
        let prefix = p.string()?;
        p.sp()?;
        let delimiter = delimiter(p)?;
        let mut extensions = Vec::new();
        while p.take(b' ')? {
            let name = p.string()?;
            p.sp()?;
            extensions.push((name, p.list(false, Parser::string)?));
        }
        p.byte(b')', ")")?;
        out.push(NamespaceDescr {
            prefix,
            delimiter,
            extensions,
        });
    }
    p.byte(b')', ")")?;
    p.leave();
    if out.is_empty() {
        return p.fail("namespace");
    }
    Ok(out)
}

fn status_value(p: &mut Parser<'_>) -> PResult<StatusValue> {
    let start = p.pos;
    let mut buf = [0; 24];
    let name = upper(p.atom_bytes()?, &mut buf);
    p.sp()?;
    Ok(match name {
        b"MESSAGES" => StatusValue::Messages(p.number()?),
        b"UIDNEXT" => StatusValue::UidNext(p.nz_number()?),
        b"UIDVALIDITY" => StatusValue::UidValidity(p.nz_number()?),
        b"UNSEEN" => StatusValue::Unseen(p.number()?),
        b"DELETED" => StatusValue::Deleted(p.number()?),
        b"SIZE" => StatusValue::Size(p.number64()?),
        b"RECENT" => StatusValue::Recent(p.number()?),
        b"HIGHESTMODSEQ" => StatusValue::HighestModSeq(p.number64()?),
        b"MAILBOXID" => {
            p.byte(b'(', "(")?;
            let id = p.atom()?;
            p.byte(b')', ")")?;
            StatusValue::MailboxId(id)
        }
        b"APPENDLIMIT" => {
            if p.keyword("NIL")? {
                StatusValue::AppendLimit(None)
            } else {
                StatusValue::AppendLimit(Some(p.number64()?))
            }
        }
        _ => {
            p.pos = start;
            return p.fail("STATUS item");
        }
    })
}

fn esearch(p: &mut Parser<'_>) -> PResult<Untagged> {
    let mut tag = None;
    let mut uid = false;
    let mut items = Vec::new();
    if p.peek()? == b' ' && p.peek_at(1)? == b'(' {
        p.pos += 2;
        if !p.keyword("TAG")? {
            return p.fail("TAG");
        }
        p.sp()?;
        let start = p.pos;
        let t = p.string()?;
        tag = Some(crate::types::Tag::new(t).or_else(|_| {
            p.pos = start;
            p.fail("tag")
        })?);
        p.byte(b')', ")")?;
    }
    while p.take(b' ')? {
        let start = p.pos;
        let mut buf = [0; 24];
        let name = upper(p.atom_bytes()?, &mut buf);
        if name == b"UID" && items.is_empty() && !uid {
            uid = true;
            continue;
        }
        p.sp()?;
        items.push(match name {
            b"MIN" => EsearchItem::Min(p.nz_number()?),
            b"MAX" => EsearchItem::Max(p.nz_number()?),
            b"ALL" => EsearchItem::All(p.sequence_set()?),
            b"COUNT" => EsearchItem::Count(p.number()?),
            b"MODSEQ" => EsearchItem::ModSeq(p.number64()?),
            _ => {
                p.pos = start;
                return p.fail("ESEARCH item");
            }
        });
    }
    Ok(Untagged::Esearch { tag, uid, items })
}

fn thread(p: &mut Parser<'_>) -> PResult<Thread> {
    p.byte(b'(', "(")?;
    p.enter()?;
    let mut members = Vec::new();
    let mut children = Vec::new();
    if p.peek()? != b'(' {
        members.push(p.nz_number()?);
        while p.take(b' ')? {
            if p.peek()? == b'(' {
                break;
            }
            members.push(p.nz_number()?);
        }
    }
    while p.peek()? == b'(' {
        children.push(thread(p)?);
    }
    p.byte(b')', ")")?;
    p.leave();
    if members.is_empty() && children.len() < 2 {
        return p.fail("thread members");
    }
    Ok(normalize_thread(Thread { members, children }))
}

/// A single branch continues the chain.
pub(crate) fn normalize_thread(mut t: Thread) -> Thread {
    while t.children.len() == 1 {
        let child = t.children.pop().unwrap_or_default();
        t.members.extend(child.members);
        t.children = child.children;
    }
    t
}

fn fetch_value(p: &mut Parser<'_>) -> PResult<FetchValue> {
    let start = p.pos;
    let name_start = p.pos;
    while p.peek()?.is_ascii_alphanumeric() || p.peek()? == b'.' {
        p.pos += 1;
    }
    let mut buf = [0; 24];
    let name = upper(p.bytes(name_start, p.pos), &mut buf);
    let with_section = p.peek()? == b'[';
    let value = match (name, with_section) {
        (b"BODY", true) => {
            let section = section(p)?;
            let origin = origin(p)?;
            p.sp()?;
            FetchValue::BodySection {
                section,
                origin,
                data: p.nstring_data()?,
            }
        }
        (b"BINARY", true) => {
            let part = section_binary(p)?;
            let origin = origin(p)?;
            p.sp()?;
            let data = if matches!(p.peek()?, b'~') {
                Some(p.literal(true)?.0)
            } else {
                p.nstring_data()?
            };
            FetchValue::Binary { part, origin, data }
        }
        (b"BINARY.SIZE", true) => {
            let part = section_binary(p)?;
            p.sp()?;
            FetchValue::BinarySize {
                part,
                size: p.number64()?,
            }
        }
        (_, true) => return p.fail("FETCH item"),
        _ => {
            p.sp()?;
            match name {
                b"FLAGS" => FetchValue::Flags(p.flag_list()?),
                b"ENVELOPE" => FetchValue::Envelope(Box::new(envelope(p)?)),
                b"INTERNALDATE" => FetchValue::InternalDate(p.date_time()?),
                b"RFC822" => FetchValue::Rfc822(p.nstring_data()?),
                b"RFC822.HEADER" => FetchValue::Rfc822Header(p.nstring_data()?),
                b"RFC822.TEXT" => FetchValue::Rfc822Text(p.nstring_data()?),
                b"RFC822.SIZE" => FetchValue::Rfc822Size(p.number64()?),
                b"BODY" => FetchValue::Body(Box::new(body(p)?)),
                b"BODYSTRUCTURE" => FetchValue::BodyStructure(Box::new(body(p)?)),
                b"UID" => FetchValue::Uid(p.nz_number()?),
                b"MODSEQ" => {
                    p.byte(b'(', "(")?;
                    let n = p.number64()?;
                    p.byte(b')', ")")?;
                    FetchValue::ModSeq(n)
                }
                b"EMAILID" => {
                    p.byte(b'(', "(")?;
                    let id = p.atom()?;
                    p.byte(b')', ")")?;
                    FetchValue::EmailId(id)
                }
                b"THREADID" => {
                    if p.keyword("NIL")? {
                        FetchValue::ThreadId(None)
                    } else {
                        p.byte(b'(', "(")?;
                        let id = p.atom()?;
                        p.byte(b')', ")")?;
                        FetchValue::ThreadId(Some(id))
                    }
                }
                b"SAVEDATE" => {
                    if p.keyword("NIL")? {
                        FetchValue::SaveDate(None)
                    } else {
                        FetchValue::SaveDate(Some(p.date_time()?))
                    }
                }
                _ => {
                    p.pos = start;
                    return p.fail("FETCH item");
                }
            }
        }
    };
    Ok(value)
}

fn origin(p: &mut Parser<'_>) -> PResult<Option<u32>> {
    if !p.take(b'<')? {
        return Ok(None);
    }
    let n = p.number()?;
    p.byte(b'>', ">")?;
    Ok(Some(n))
}

fn address_list(p: &mut Parser<'_>) -> PResult<Vec<EnvelopeAddress>> {
    if p.keyword("NIL")? {
        return Ok(Vec::new());
    }
    p.byte(b'(', "(")?;
    let mut out = Vec::new();
    loop {
        p.byte(b'(', "address")?;
        let name = p.nstring()?;
        p.sp()?;
        let adl = p.nstring()?;
        p.sp()?;
        let mailbox = p.nstring()?;
        p.sp()?;
        let host = p.nstring()?;
        p.byte(b')', ")")?;
        out.push(EnvelopeAddress {
            name,
            adl,
            mailbox,
            host,
        });
        // Some servers put spaces between addresses.
        while p.take(b' ')? {}
        if p.take(b')')? {
            return Ok(out);
        }
    }
}

pub(crate) fn envelope(p: &mut Parser<'_>) -> PResult<Envelope> {
    p.byte(b'(', "(")?;
    let date = p.nstring()?;
    p.sp()?;
    let subject = p.nstring()?;
    p.sp()?;
    let from = address_list(p)?;
    p.sp()?;
    let sender = address_list(p)?;
    p.sp()?;
    let reply_to = address_list(p)?;
    p.sp()?;
    let to = address_list(p)?;
    p.sp()?;
    let cc = address_list(p)?;
    p.sp()?;
    let bcc = address_list(p)?;
    p.sp()?;
    let in_reply_to = p.nstring()?;
    p.sp()?;
    let message_id = p.nstring()?;
    p.byte(b')', ")")?;
    Ok(Envelope {
        date,
        subject,
        from,
        sender,
        reply_to,
        to,
        cc,
        bcc,
        in_reply_to,
        message_id,
    })
}

/// `body-fld-param`: `(k v ...)` or `NIL`.
fn params(p: &mut Parser<'_>) -> PResult<Vec<(Str, Str)>> {
    if p.keyword("NIL")? {
        return Ok(Vec::new());
    }
    p.list(false, |p| {
        let k = p.string()?;
        p.sp()?;
        Ok((k, p.string()?))
    })
}

fn body(p: &mut Parser<'_>) -> PResult<BodyStructure> {
    p.byte(b'(', "(")?;
    p.enter()?;
    let body = if p.peek()? == b'(' {
        let mut parts = Vec::new();
        while p.peek()? == b'(' {
            parts.push(body(p)?);
            // Tolerate a space between parts, as some servers write.
            if p.peek()? == b' ' && p.peek_at(1)? == b'(' {
                p.pos += 1;
            }
        }
        p.sp()?;
        let subtype = p.string()?;
        let extension = if p.take(b' ')? {
            let params = params(p)?;
            Some((params, extension_tail(p)?))
        } else {
            None
        };
        BodyStructure::Multipart {
            parts,
            subtype,
            extension,
        }
    } else {
        let media_type = p.string()?;
        p.sp()?;
        let subtype = p.string()?;
        p.sp()?;
        let params = params(p)?;
        p.sp()?;
        let id = p.nstring()?;
        p.sp()?;
        let description = p.nstring()?;
        p.sp()?;
        let encoding = p.string()?;
        p.sp()?;
        let size = p.number()?;
        let kind = if media_type.eq_ignore_ascii_case(b"TEXT") {
            p.sp()?;
            SinglePart::Text { lines: p.number()? }
        } else if media_type.eq_ignore_ascii_case(b"MESSAGE")
            && (subtype.eq_ignore_ascii_case(b"RFC822") || subtype.eq_ignore_ascii_case(b"GLOBAL"))
        {
            p.sp()?;
            let envelope = Box::new(envelope(p)?);
            p.sp()?;
            let inner = Box::new(body(p)?);
            p.sp()?;
            SinglePart::Message {
                envelope,
                body: inner,
                lines: p.number()?,
            }
        } else {
            SinglePart::Basic
        };
        let extension = if p.take(b' ')? {
            let md5 = p.nstring()?;
            Some((md5, extension_tail(p)?))
        } else {
            None
        };
        BodyStructure::Single {
            fields: BasicFields {
                media_type,
                subtype,
                params,
                id,
                description,
                encoding,
                size,
            },
            kind,
            extension,
        }
    };
    p.byte(b')', ")")?;
    p.leave();
    Ok(body)
}

/// `[SP dsp [SP lang [SP loc *(SP ext)]]]`.
fn extension_tail(p: &mut Parser<'_>) -> PResult<BodyExtension> {
    let mut ext = BodyExtension::default();
    if !p.take(b' ')? {
        return Ok(ext);
    }
    if !p.keyword("NIL")? {
        p.byte(b'(', "(")?;
        let kind = p.string()?;
        p.sp()?;
        let params = params(p)?;
        p.byte(b')', ")")?;
        ext.disposition = Some(Disposition { kind, params });
    }
    if !p.take(b' ')? {
        return Ok(ext);
    }
    ext.language = if p.peek()? == b'(' {
        p.list(false, Parser::string)?
    } else {
        p.nstring()?.into_iter().collect()
    };
    if !p.take(b' ')? {
        return Ok(ext);
    }
    ext.location = p.nstring()?;
    while p.take(b' ')? {
        ext.extra.push(extension_value(p)?);
    }
    Ok(ext)
}

fn extension_value(p: &mut Parser<'_>) -> PResult<ExtensionValue> {
    match p.peek()? {
        b'(' => p.list(false, extension_value).map(ExtensionValue::List),
        b'0'..=b'9' => p.number64().map(ExtensionValue::Number),
        _ => p.nstring().map(ExtensionValue::String),
    }
}

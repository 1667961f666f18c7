//! Response writing.

use bytes::BufMut;

use super::encode_command::{id_params, section, section_binary, status_item};
use super::writer::W;
use crate::types::{
    BodyExtension, BodyStructure, Code, Envelope, EnvelopeAddress, EsearchItem, ExtensionValue,
    FetchValue, ListItem, NamespaceDescr, PermanentFlag, Response, SinglePart, Status, StatusKind,
    StatusValue, Str, Thread, Untagged,
};

pub(crate) fn response<B: BufMut>(w: &mut W<'_, B>, r: &Response) {
    match r {
        Response::Continue(c) => {
            w.raw(b"+ ");
            if let Some(code) = &c.code {
                bracketed(w, code);
                w.sp();
            }
            w.raw(c.text.as_bytes());
        }
        Response::Tagged(t) => {
            w.raw(t.tag.as_bytes());
            w.sp();
            status(w, &t.status);
        }
        Response::Untagged(u) => {
            w.raw(b"* ");
            untagged(w, u);
        }
    }
    w.crlf();
}

pub(crate) fn status<B: BufMut>(w: &mut W<'_, B>, s: &Status) {
    w.raw(match s.kind {
        StatusKind::Ok => b"OK".as_slice(),
        StatusKind::No => b"NO",
        StatusKind::Bad => b"BAD",
        StatusKind::PreAuth => b"PREAUTH",
        StatusKind::Bye => b"BYE",
    });
    if let Some(code) = &s.code {
        w.sp();
        bracketed(w, code);
    }
    // RFC 9051 wants text after the code; older clients need at least a space.
    w.sp();
    w.raw(s.text.as_bytes());
}

fn capabilities<B: BufMut>(w: &mut W<'_, B>, caps: &[crate::types::Capability]) {
    for (i, cap) in caps.iter().enumerate() {
        if i > 0 {
            w.sp();
        }
        w.raw(cap.to_atom().as_bytes());
    }
}

fn bracketed<B: BufMut>(w: &mut W<'_, B>, code: &Code) {
    w.raw(b"[");
    let simple: &[u8] = match code {
        Code::Alert => b"ALERT",
        Code::Parse => b"PARSE",
        Code::ReadOnly => b"READ-ONLY",
        Code::ReadWrite => b"READ-WRITE",
        Code::TryCreate => b"TRYCREATE",
        Code::NoModSeq => b"NOMODSEQ",
        Code::Closed => b"CLOSED",
        Code::UidNotSticky => b"UIDNOTSTICKY",
        Code::AlreadyExists => b"ALREADYEXISTS",
        Code::AuthenticationFailed => b"AUTHENTICATIONFAILED",
        Code::AuthorizationFailed => b"AUTHORIZATIONFAILED",
        Code::Cannot => b"CANNOT",
        Code::ClientBug => b"CLIENTBUG",
        Code::ContactAdmin => b"CONTACTADMIN",
        Code::Corruption => b"CORRUPTION",
        Code::Expired => b"EXPIRED",
        Code::ExpungeIssued => b"EXPUNGEISSUED",
        Code::HasChildren => b"HASCHILDREN",
        Code::InUse => b"INUSE",
        Code::Limit => b"LIMIT",
        Code::NonExistent => b"NONEXISTENT",
        Code::NoPerm => b"NOPERM",
        Code::OverQuota => b"OVERQUOTA",
        Code::PrivacyRequired => b"PRIVACYREQUIRED",
        Code::ServerBug => b"SERVERBUG",
        Code::Unavailable => b"UNAVAILABLE",
        Code::TooBig => b"TOOBIG",
        Code::CompressionActive => b"COMPRESSIONACTIVE",
        Code::NotSaved => b"NOTSAVED",
        Code::UnknownCte => b"UNKNOWN-CTE",
        Code::UseAttr => b"USEATTR",
        _ => b"",
    };
    w.raw(simple);
    match code {
        Code::BadCharset(charsets) => {
            w.raw(b"BADCHARSET");
            if !charsets.is_empty() {
                w.sp();
                w.list(charsets, |w, c| w.raw(c.as_bytes()));
            }
        }
        Code::Capability(caps) => {
            w.raw(b"CAPABILITY ");
            capabilities(w, caps);
        }
        Code::PermanentFlags(flags) => {
            w.raw(b"PERMANENTFLAGS ");
            w.list(flags, |w, f| match f {
                PermanentFlag::Flag(f) => w.flag(f),
                PermanentFlag::CreateKeywords => w.raw(b"\\*"),
            });
        }
        Code::UidNext(n) => {
            w.raw(b"UIDNEXT ");
            w.num(u64::from(n.get()));
        }
        Code::UidValidity(n) => {
            w.raw(b"UIDVALIDITY ");
            w.num(u64::from(n.get()));
        }
        Code::Unseen(n) => {
            w.raw(b"UNSEEN ");
            w.num(u64::from(n.get()));
        }
        Code::HighestModSeq(n) => {
            w.raw(b"HIGHESTMODSEQ ");
            w.num(*n);
        }
        Code::Modified(set) => {
            w.raw(b"MODIFIED ");
            w.sequence_set(set);
        }
        Code::AppendUid { uid_validity, uids } => {
            w.raw(b"APPENDUID ");
            w.num(u64::from(uid_validity.get()));
            w.sp();
            w.sequence_set(uids);
        }
        Code::CopyUid {
            uid_validity,
            source,
            destination,
        } => {
            w.raw(b"COPYUID ");
            w.num(u64::from(uid_validity.get()));
            w.sp();
            w.sequence_set(source);
            w.sp();
            w.sequence_set(destination);
        }
        Code::MailboxId(id) => {
            w.raw(b"MAILBOXID (");
            w.raw(id.as_bytes());
            w.raw(b")");
        }
        Code::Other(atom, text) => {
            w.raw(atom.as_bytes());
            if let Some(text) = text {
                w.sp();
                w.raw(text);
            }
        }
        _ => {}
    }
    w.raw(b"]");
}

fn delimiter<B: BufMut>(w: &mut W<'_, B>, d: Option<char>) {
    match d {
        None => w.raw(b"NIL"),
        Some(c) => {
            let mut buf = [0; 4];
            w.quoted(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}

fn list_item<B: BufMut>(w: &mut W<'_, B>, item: &ListItem) {
    w.list(&item.attrs, |w, a| {
        w.raw(b"\\");
        w.raw(a.name().as_bytes());
    });
    w.sp();
    delimiter(w, item.delimiter);
    w.sp();
    w.astring(item.mailbox.as_bytes());
    if !item.child_info.is_empty() || item.old_name.is_some() {
        w.raw(b" (");
        if !item.child_info.is_empty() {
            w.raw(b"\"CHILDINFO\" ");
            w.list(&item.child_info, |w, s| w.string(s));
            if item.old_name.is_some() {
                w.sp();
            }
        }
        if let Some(old) = &item.old_name {
            w.raw(b"\"OLDNAME\" (");
            w.astring(old.as_bytes());
            w.raw(b")");
        }
        w.raw(b")");
    }
}

fn namespace<B: BufMut>(w: &mut W<'_, B>, ns: &[NamespaceDescr]) {
    if ns.is_empty() {
        w.raw(b"NIL");
        return;
    }
    w.raw(b"(");
    for d in ns {
        w.raw(b"(");
        w.string(&d.prefix);
        w.sp();
        delimiter(w, d.delimiter);
        for (name, values) in &d.extensions {
            w.sp();
            w.string(name);
            w.sp();
            w.list(values, |w, v| w.string(v));
        }
        w.raw(b")");
    }
    w.raw(b")");
}

fn thread<B: BufMut>(w: &mut W<'_, B>, t: &Thread) {
    w.raw(b"(");
    chain(w, t, true);
    w.raw(b")");
}

/// A thread's members, then its branches; a single branch continues the chain.
fn chain<B: BufMut>(w: &mut W<'_, B>, t: &Thread, mut first: bool) {
    for m in &t.members {
        if !first {
            w.sp();
        }
        w.num(u64::from(m.get()));
        first = false;
    }
    match t.children.as_slice() {
        [] => {}
        [only] => chain(w, only, first),
        many => {
            if !first {
                w.sp();
            }
            for c in many {
                thread(w, c);
            }
        }
    }
}

pub(crate) fn untagged<B: BufMut>(w: &mut W<'_, B>, u: &Untagged) {
    match u {
        Untagged::Status(s) => status(w, s),
        Untagged::Capability(caps) => {
            w.raw(b"CAPABILITY ");
            capabilities(w, caps);
        }
        Untagged::Enabled(caps) => {
            w.raw(b"ENABLED");
            for cap in caps {
                w.sp();
                w.raw(cap.to_atom().as_bytes());
            }
        }
        Untagged::Flags(flags) => {
            w.raw(b"FLAGS ");
            w.flag_list(flags);
        }
        Untagged::List(item) => {
            w.raw(b"LIST ");
            list_item(w, item);
        }
        Untagged::Lsub(item) => {
            w.raw(b"LSUB ");
            list_item(w, item);
        }
        Untagged::Namespace(ns) => {
            w.raw(b"NAMESPACE ");
            namespace(w, &ns.personal);
            w.sp();
            namespace(w, &ns.other);
            w.sp();
            namespace(w, &ns.shared);
        }
        Untagged::MailboxStatus { mailbox, items } => {
            w.raw(b"STATUS ");
            w.astring(mailbox.as_bytes());
            w.sp();
            w.list(items, |w, v| status_value(w, v));
        }
        Untagged::Esearch { tag, uid, items } => {
            w.raw(b"ESEARCH");
            if let Some(tag) = tag {
                w.raw(b" (TAG ");
                w.quoted(tag.as_bytes());
                w.raw(b")");
            }
            if *uid {
                w.raw(b" UID");
            }
            for item in items {
                w.sp();
                match item {
                    EsearchItem::Min(n) => {
                        w.raw(b"MIN ");
                        w.num(u64::from(n.get()));
                    }
                    EsearchItem::Max(n) => {
                        w.raw(b"MAX ");
                        w.num(u64::from(n.get()));
                    }
                    EsearchItem::All(set) => {
                        w.raw(b"ALL ");
                        w.sequence_set(set);
                    }
                    EsearchItem::Count(n) => {
                        w.raw(b"COUNT ");
                        w.num(u64::from(*n));
                    }
                    EsearchItem::ModSeq(n) => {
                        w.raw(b"MODSEQ ");
                        w.num(*n);
                    }
                }
            }
        }
        Untagged::Search { ids, modseq } | Untagged::Sort { ids, modseq } => {
            w.raw(if matches!(u, Untagged::Search { .. }) {
                b"SEARCH".as_slice()
            } else {
                b"SORT"
            });
            for id in ids {
                w.sp();
                w.num(u64::from(id.get()));
            }
            if let Some(m) = modseq {
                w.raw(b" (MODSEQ ");
                w.num(*m);
                w.raw(b")");
            }
        }
        Untagged::Thread(threads) => {
            w.raw(b"THREAD");
            if !threads.is_empty() {
                w.sp();
            }
            for t in threads {
                thread(w, t);
            }
        }
        Untagged::Exists(n) => {
            w.num(u64::from(*n));
            w.raw(b" EXISTS");
        }
        Untagged::Recent(n) => {
            w.num(u64::from(*n));
            w.raw(b" RECENT");
        }
        Untagged::Expunge(n) => {
            w.num(u64::from(n.get()));
            w.raw(b" EXPUNGE");
        }
        Untagged::Fetch { seq, items } => {
            w.num(u64::from(seq.get()));
            w.raw(b" FETCH ");
            w.list(items, |w, v| fetch_value(w, v));
        }
        Untagged::Vanished { earlier, uids } => {
            w.raw(if *earlier {
                b"VANISHED (EARLIER) ".as_slice()
            } else {
                b"VANISHED "
            });
            w.sequence_set(uids);
        }
        Untagged::Quota { root, resources } => {
            w.raw(b"QUOTA ");
            w.astring(root);
            w.sp();
            w.list(resources, |w, r| {
                w.raw(r.name.as_bytes());
                w.sp();
                w.num(r.usage);
                w.sp();
                w.num(r.limit);
            });
        }
        Untagged::QuotaRoot { mailbox, roots } => {
            w.raw(b"QUOTAROOT ");
            w.astring(mailbox.as_bytes());
            for r in roots {
                w.sp();
                w.astring(r);
            }
        }
        Untagged::Id(params) => {
            w.raw(b"ID ");
            id_params(w, params.as_deref());
        }
    }
}

fn status_value<B: BufMut>(w: &mut W<'_, B>, v: &StatusValue) {
    use crate::types::StatusItem as I;
    let (item, n) = match v {
        StatusValue::Messages(n) => (I::Messages, u64::from(*n)),
        StatusValue::UidNext(n) => (I::UidNext, u64::from(n.get())),
        StatusValue::UidValidity(n) => (I::UidValidity, u64::from(n.get())),
        StatusValue::Unseen(n) => (I::Unseen, u64::from(*n)),
        StatusValue::Deleted(n) => (I::Deleted, u64::from(*n)),
        StatusValue::Size(n) => (I::Size, *n),
        StatusValue::Recent(n) => (I::Recent, u64::from(*n)),
        StatusValue::HighestModSeq(n) => (I::HighestModSeq, *n),
        StatusValue::MailboxId(id) => {
            w.raw(b"MAILBOXID (");
            w.raw(id.as_bytes());
            w.raw(b")");
            return;
        }
        StatusValue::AppendLimit(limit) => {
            w.raw(b"APPENDLIMIT ");
            match limit {
                Some(n) => w.num(*n),
                None => w.raw(b"NIL"),
            }
            return;
        }
    };
    status_item(w, item);
    w.sp();
    w.num(n);
}

fn origin<B: BufMut>(w: &mut W<'_, B>, origin: Option<u32>) {
    if let Some(n) = origin {
        w.raw(b"<");
        w.num(u64::from(n));
        w.raw(b">");
    }
}

/// The name and section of a FETCH body item, up to the space before its data.
pub(crate) fn fetch_value<B: BufMut>(w: &mut W<'_, B>, v: &FetchValue) {
    match v {
        FetchValue::Flags(flags) => {
            w.raw(b"FLAGS ");
            w.flag_list(flags);
        }
        FetchValue::Envelope(env) => {
            w.raw(b"ENVELOPE ");
            envelope(w, env);
        }
        FetchValue::InternalDate(dt) => {
            w.raw(b"INTERNALDATE ");
            w.date_time(dt);
        }
        FetchValue::Rfc822(data) => {
            w.raw(b"RFC822 ");
            message_data(w, data.as_ref(), false);
        }
        FetchValue::Rfc822Header(data) => {
            w.raw(b"RFC822.HEADER ");
            message_data(w, data.as_ref(), false);
        }
        FetchValue::Rfc822Text(data) => {
            w.raw(b"RFC822.TEXT ");
            message_data(w, data.as_ref(), false);
        }
        FetchValue::Rfc822Size(n) => {
            w.raw(b"RFC822.SIZE ");
            w.num(*n);
        }
        FetchValue::Body(b) => {
            w.raw(b"BODY ");
            body(w, b);
        }
        FetchValue::BodyStructure(b) => {
            w.raw(b"BODYSTRUCTURE ");
            body(w, b);
        }
        FetchValue::BodySection {
            section: s,
            origin: o,
            data,
        } => {
            w.raw(b"BODY");
            section(w, s);
            origin(w, *o);
            w.sp();
            message_data(w, data.as_ref(), false);
        }
        FetchValue::Binary {
            part,
            origin: o,
            data,
        } => {
            w.raw(b"BINARY");
            section_binary(w, part);
            origin(w, *o);
            w.sp();
            message_data(w, data.as_ref(), true);
        }
        FetchValue::BinarySize { part, size } => {
            w.raw(b"BINARY.SIZE");
            section_binary(w, part);
            w.sp();
            w.num(*size);
        }
        FetchValue::Uid(n) => {
            w.raw(b"UID ");
            w.num(u64::from(n.get()));
        }
        FetchValue::ModSeq(n) => {
            w.raw(b"MODSEQ (");
            w.num(*n);
            w.raw(b")");
        }
        FetchValue::EmailId(id) => {
            w.raw(b"EMAILID (");
            w.raw(id.as_bytes());
            w.raw(b")");
        }
        FetchValue::ThreadId(id) => {
            w.raw(b"THREADID ");
            match id {
                Some(id) => {
                    w.raw(b"(");
                    w.raw(id.as_bytes());
                    w.raw(b")");
                }
                None => w.raw(b"NIL"),
            }
        }
        FetchValue::SaveDate(dt) => {
            w.raw(b"SAVEDATE ");
            match dt {
                Some(dt) => w.date_time(dt),
                None => w.raw(b"NIL"),
            }
        }
    }
}

/// Message octets: always a literal, as clients expect. BINARY may carry
/// NUL in `~{n}`; elsewhere a NUL cannot be sent (RFC 3516 §4.3), so it
/// goes as 0x80, as Dovecot does.
fn message_data<B: BufMut>(w: &mut W<'_, B>, data: Option<&bytes::Bytes>, binary_allowed: bool) {
    match data {
        None => w.raw(b"NIL"),
        Some(d) if !binary_allowed && memchr::memchr(0, d).is_some() => {
            let cleaned: Vec<u8> = d.iter().map(|&b| if b == 0 { 0x80 } else { b }).collect();
            w.message_literal(&bytes::Bytes::from(cleaned));
        }
        Some(d) => w.message_literal(d),
    }
}

fn address_list<B: BufMut>(w: &mut W<'_, B>, list: &[EnvelopeAddress]) {
    if list.is_empty() {
        w.raw(b"NIL");
        return;
    }
    w.raw(b"(");
    for a in list {
        w.raw(b"(");
        w.nstring(a.name.as_deref());
        w.sp();
        w.nstring(a.adl.as_deref());
        w.sp();
        w.nstring(a.mailbox.as_deref());
        w.sp();
        w.nstring(a.host.as_deref());
        w.raw(b")");
    }
    w.raw(b")");
}

pub(crate) fn envelope<B: BufMut>(w: &mut W<'_, B>, e: &Envelope) {
    w.raw(b"(");
    w.nstring(e.date.as_deref());
    w.sp();
    w.nstring(e.subject.as_deref());
    for list in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
        w.sp();
        address_list(w, list);
    }
    w.sp();
    w.nstring(e.in_reply_to.as_deref());
    w.sp();
    w.nstring(e.message_id.as_deref());
    w.raw(b")");
}

fn params<B: BufMut>(w: &mut W<'_, B>, params: &[(Str, Str)]) {
    if params.is_empty() {
        w.raw(b"NIL");
    } else {
        w.list(params, |w, (k, v)| {
            w.string(k);
            w.sp();
            w.string(v);
        });
    }
}

pub(crate) fn body<B: BufMut>(w: &mut W<'_, B>, b: &BodyStructure) {
    w.raw(b"(");
    match b {
        BodyStructure::Multipart {
            parts,
            subtype,
            extension,
        } => {
            for p in parts {
                body(w, p);
            }
            w.sp();
            w.string(subtype);
            if let Some((p, ext)) = extension {
                w.sp();
                params(w, p);
                extension_tail(w, ext);
            }
        }
        BodyStructure::Single {
            fields,
            kind,
            extension,
        } => {
            w.string(&fields.media_type);
            w.sp();
            w.string(&fields.subtype);
            w.sp();
            params(w, &fields.params);
            w.sp();
            w.nstring(fields.id.as_deref());
            w.sp();
            w.nstring(fields.description.as_deref());
            w.sp();
            w.string(&fields.encoding);
            w.sp();
            w.num(u64::from(fields.size));
            match kind {
                SinglePart::Basic => {}
                SinglePart::Text { lines } => {
                    w.sp();
                    w.num(u64::from(*lines));
                }
                SinglePart::Message {
                    envelope: env,
                    body: inner,
                    lines,
                } => {
                    w.sp();
                    envelope(w, env);
                    w.sp();
                    body(w, inner);
                    w.sp();
                    w.num(u64::from(*lines));
                }
            }
            if let Some((md5, ext)) = extension {
                w.sp();
                w.nstring(md5.as_deref());
                extension_tail(w, ext);
            }
        }
    }
    w.raw(b")");
}

/// Writes the shared extension fields, all of them, as most servers do.
fn extension_tail<B: BufMut>(w: &mut W<'_, B>, ext: &BodyExtension) {
    w.sp();
    match &ext.disposition {
        None => w.raw(b"NIL"),
        Some(d) => {
            w.raw(b"(");
            w.string(&d.kind);
            w.sp();
            params(w, &d.params);
            w.raw(b")");
        }
    }
    w.sp();
    match ext.language.as_slice() {
        [] => w.raw(b"NIL"),
        [one] => w.string(one),
        many => w.list(many, |w, l| w.string(l)),
    }
    w.sp();
    w.nstring(ext.location.as_deref());
    for e in &ext.extra {
        w.sp();
        extension_value(w, e);
    }
}

fn extension_value<B: BufMut>(w: &mut W<'_, B>, v: &ExtensionValue) {
    match v {
        ExtensionValue::String(s) => w.nstring(s.as_deref()),
        ExtensionValue::Number(n) => w.num(*n),
        ExtensionValue::List(items) => w.list(items, |w, i| extension_value(w, i)),
    }
}

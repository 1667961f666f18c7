//! FETCH: metadata from the shared index, content read from the store.

use bytes::Bytes;
use sansmail_imap::message::{self, Metadata};
use sansmail_imap::server::{Session, Ticket};
use sansmail_imap::types::*;
use sansmail_mime::Message;
use sansmail_store::{Change, Entry, FlagAction, FlagSet, Index, SystemFlag};

use super::{Handler, answer, flags, nz};

/// What a FETCH asked for.
pub(super) struct FetchRequest {
    pub(super) uid: bool,
    pub(super) set: SequenceSet,
    pub(super) items: FetchItems,
    pub(super) changed_since: Option<u64>,
    pub(super) vanished: bool,
}

/// The octets with every line ending in CRLF (files other programs wrote
/// may end lines with LF alone; IMAP sends CRLF).
pub(super) fn to_crlf(data: Bytes) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut prev = 0u8;
    for &b in data.iter() {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    Bytes::from(out)
}

/// A message's metadata for FETCH and SEARCH.
pub(super) fn metadata(m: &Entry, index: &Index, recent: bool) -> Metadata {
    let mut meta = Metadata::new(nz(m.uid), m.vsize);
    meta.flags = flags::to_imap(&m.flags, &index.keywords);
    if recent {
        meta.flags.push(Flag::Recent);
    }
    meta.internal_date = DateTime::from_unix(m.received, 0);
    meta.modseq = Some(m.modseq);
    meta.email_id = Atom::new(Str::from(m.email_id.to_string())).ok();
    meta.thread_id = Atom::new(Str::from(m.thread_id.to_string())).ok();
    meta
}

/// Attributes answered from the index alone, without reading the message.
fn from_index(attr: &FetchAttr) -> bool {
    matches!(
        attr,
        FetchAttr::Flags
            | FetchAttr::Uid
            | FetchAttr::Rfc822Size
            | FetchAttr::InternalDate
            | FetchAttr::ModSeq
            | FetchAttr::EmailId
            | FetchAttr::ThreadId
    )
}

impl Handler<'_> {
    pub(super) async fn fetch(&mut self, ticket: Ticket, req: FetchRequest, session: &mut Session) {
        let Some(view) = session.selected_mailbox() else {
            return Self::fail(session, ticket, None, "No mailbox selected");
        };
        let targets = view.resolve(&req.set, req.uid);
        let condstore = session.is_enabled(&Capability::CondStore) || view.condstore();
        let rev1 = !session.is_enabled(&Capability::Imap4rev2);
        let Some(sel) = self.selected.as_mut() else {
            return Self::fail(session, ticket, None, "No mailbox selected");
        };
        let mailbox = sel.mailbox.clone();
        if req.vanished
            && req.uid
            && let Some(since) = req.changed_since
        {
            // UIDs in the set expunged since CHANGEDSINCE (RFC 7162 §3.2.6).
            let gone = {
                let index = mailbox.index();
                let largest = index.uid_next.saturating_sub(1);
                match index.vanished_since(since) {
                    Some(uids) => uids
                        .into_iter()
                        .filter(|u| req.set.contains(*u, largest))
                        .collect::<Vec<u32>>(),
                    None => req
                        .set
                        .normalized(largest)
                        .into_iter()
                        .flat_map(|(a, b)| a..=b.min(largest))
                        .filter(|u| index.get(*u).is_none())
                        .take(100_000)
                        .collect(),
                }
            };
            if let Some(uids) = SequenceSet::from_numbers(gone) {
                answer(session.data(
                    ticket,
                    Untagged::Vanished {
                        earlier: true,
                        uids,
                    },
                ));
            }
        }
        let mut attrs = req.items.expand();
        if (req.changed_since.is_some() || condstore) && !attrs.contains(&FetchAttr::ModSeq) {
            attrs.push(FetchAttr::ModSeq);
        }
        let sets_seen = message::sets_seen(&attrs) && !sel.read_only;
        if sets_seen && !attrs.contains(&FetchAttr::Flags) {
            attrs.push(FetchAttr::Flags);
        }
        let needs_content = attrs.iter().any(|a| !from_index(a));
        // \Seen first, in one change for all the messages read.
        if sets_seen {
            let unseen: Vec<u32> = {
                let index = mailbox.index();
                targets
                    .iter()
                    .filter_map(|(_, u)| index.get(u.get()))
                    .filter(|m| !m.flags.has(SystemFlag::Seen))
                    .filter(|m| req.changed_since.is_none_or(|c| m.modseq > c))
                    .map(|m| m.uid)
                    .collect()
            };
            if !unseen.is_empty() {
                let mut seen = FlagSet::new();
                seen.set(SystemFlag::Seen);
                match mailbox
                    .store_flags(&unseen, FlagAction::Add, &seen, None)
                    .await
                {
                    Ok(outcome) => {
                        for s in outcome.stored.iter().filter(|s| s.changed) {
                            sel.own.push(s.modseq);
                        }
                        sel.own.sort_unstable();
                    }
                    Err(e) => return Self::failed(session, ticket, &e),
                }
            }
        }
        let mut expunge_issued = false;
        for (_, uid) in targets {
            // A new MODSEQ must not go out ahead of older flag news of the
            // same message: send its flags too, which replaces that news.
            let mut attrs_here = std::borrow::Cow::Borrowed(&attrs);
            if attrs.contains(&FetchAttr::ModSeq)
                && !attrs.contains(&FetchAttr::Flags)
                && session
                    .selected_mailbox()
                    .is_some_and(|v| v.has_pending_flags(uid))
            {
                attrs_here.to_mut().push(FetchAttr::Flags);
            }
            let found = {
                let index = mailbox.index();
                match index.get(uid.get()) {
                    Some(m) => {
                        if req.changed_since.is_some_and(|c| m.modseq <= c) {
                            continue;
                        }
                        let recent = rev1 && sel.recent.binary_search(&m.uid).is_ok();
                        Some((metadata(m, &index, recent), m.size != m.vsize))
                    }
                    None => None,
                }
            };
            let Some((meta, bare_lf)) = found else {
                // Expunged by another session; its number stays until the
                // client is told. FLAGS and UID can still be answered.
                let last = if attrs_here
                    .iter()
                    .all(|a| matches!(a, FetchAttr::Uid | FetchAttr::Flags | FetchAttr::ModSeq))
                {
                    expunged_flags(&mailbox, uid.get())
                } else {
                    None
                };
                match last {
                    Some((flags, modseq)) => {
                        let values = attrs_here
                            .iter()
                            .map(|a| match a {
                                FetchAttr::Uid => FetchValue::Uid(uid),
                                FetchAttr::ModSeq => FetchValue::ModSeq(modseq),
                                _ => FetchValue::Flags(flags.clone()),
                            })
                            .collect();
                        super::messages::announce_keywords(sel, ticket, session);
                        answer(session.fetch(ticket, uid, values));
                    }
                    None => expunge_issued = true,
                }
                continue;
            };
            let raw = if needs_content {
                match mailbox.content(uid.get()).await {
                    Ok(bytes) if bare_lf => to_crlf(bytes),
                    Ok(bytes) => bytes,
                    Err(_) => {
                        expunge_issued = true;
                        continue;
                    }
                }
            } else {
                Bytes::new()
            };
            let parsed = Message::parse(&raw);
            match message::fetch_shared(&raw, &parsed, &meta, &attrs_here) {
                Ok(values) => {
                    super::messages::announce_keywords(sel, ticket, session);
                    answer(session.fetch(ticket, uid, values))
                }
                Err(_) => {
                    return Self::fail(
                        session,
                        ticket,
                        Some(Code::UnknownCte),
                        "Unknown content transfer encoding",
                    );
                }
            }
        }
        if expunge_issued {
            // RFC 9051 §7.1: the client learns of the expunge at its next NOOP.
            let text = "Some of the requested messages no longer exist";
            return Self::fail(session, ticket, Some(Code::ExpungeIssued), text);
        }
        Self::ok(session, ticket, "FETCH");
    }
}

/// The last flags of a message expunged since the session looked, from
/// the mailbox's change log.
fn expunged_flags(mailbox: &sansmail_store::Mailbox, uid: u32) -> Option<(Vec<Flag>, u64)> {
    let index = mailbox.index();
    index.log().rev().find_map(|e| match &e.change {
        Change::Expunged {
            uid: u,
            flags: f,
            last_modseq,
        } if *u == uid => Some((flags::to_imap(f, &index.keywords), *last_modseq)),
        _ => None,
    })
}

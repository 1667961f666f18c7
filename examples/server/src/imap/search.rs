//! SEARCH, SORT and THREAD over the messages the client knows.

use std::num::NonZeroU32;

use bytes::Bytes;
use sansmail_imap::message::{self, Metadata, PreparedSearch, SearchContext, ThreadItem};
use sansmail_imap::server::{Session, Ticket};
use sansmail_imap::types::*;
use sansmail_mime::Message;

use super::fetch::{metadata, to_crlf};
use super::{Handler, answer, now_unix, nz};

impl Handler<'_> {
    fn bad_charset(session: &mut Session, ticket: Ticket) {
        let charsets = vec![
            Atom::new("UTF-8").expect("UTF-8 is an atom"),
            Atom::new("US-ASCII").expect("US-ASCII is an atom"),
        ];
        Self::fail(
            session,
            ticket,
            Some(Code::BadCharset(charsets)),
            "Unknown charset",
        );
    }

    /// `(message number, UID)` of the messages the client knows that still
    /// exist, with their metadata.
    fn known_messages(&self, session: &Session) -> Vec<(NonZeroU32, Metadata, bool)> {
        let (Some(view), Some(sel)) = (session.selected_mailbox(), &self.selected) else {
            return Vec::new();
        };
        let rev1 = !session.is_enabled(&Capability::Imap4rev2);
        let index = sel.mailbox.index();
        view.uids()
            .iter()
            .enumerate()
            .filter_map(|(i, uid)| {
                let m = index.get(uid.get())?;
                let recent = rev1 && sel.recent.binary_search(&m.uid).is_ok();
                Some((
                    nz(i as u32 + 1),
                    metadata(m, &index, recent),
                    m.size != m.vsize,
                ))
            })
            .collect()
    }

    async fn content(&self, uid: u32, bare_lf: bool) -> Bytes {
        let Some(sel) = &self.selected else {
            return Bytes::new();
        };
        match sel.mailbox.content(uid).await {
            Ok(b) if bare_lf => to_crlf(b),
            Ok(b) => b,
            Err(_) => Bytes::new(),
        }
    }

    /// The messages matching the keys, and whether MODSEQ was searched;
    /// `Err` for an unknown charset.
    async fn matching(
        &self,
        keys: &[SearchKey],
        charset: Option<&[u8]>,
        session: &Session,
    ) -> Result<(Vec<(NonZeroU32, Metadata, bool)>, bool), ()> {
        let charset = charset
            .filter(|c| !c.eq_ignore_ascii_case(b"US-ASCII") && !c.eq_ignore_ascii_case(b"UTF-8"));
        let prepared = PreparedSearch::new(keys, charset.or(Some(b"UTF-8"))).map_err(|_| ())?;
        let uses_modseq = keys
            .iter()
            .any(|k| k.any(&|k| matches!(k, SearchKey::ModSeq { .. })));
        let known = self.known_messages(session);
        let exists = session.selected_mailbox().map_or(0, |v| v.exists());
        let largest = session
            .selected_mailbox()
            .and_then(|v| v.uids().last())
            .map_or(0, |u| u.get());
        let with_content = prepared.needs_content();
        let mut hits = Vec::new();
        for (seq, meta, bare_lf) in known {
            let raw = if with_content {
                self.content(meta.uid.get(), bare_lf).await
            } else {
                Bytes::new()
            };
            let parsed = Message::parse(&raw);
            let ctx = SearchContext {
                message: &parsed,
                meta: &meta,
                seq,
                exists,
                largest_uid: largest,
                now: now_unix(),
                save_date_supported: false,
            };
            if prepared.matches(&ctx) {
                hits.push((seq, meta, bare_lf));
            }
        }
        Ok((hits, uses_modseq))
    }

    pub(super) async fn search(
        &mut self,
        ticket: Ticket,
        keys: &[SearchKey],
        charset: Option<&[u8]>,
        session: &mut Session,
    ) {
        match self.matching(keys, charset, session).await {
            Ok((hits, uses_modseq)) => {
                let uids: Vec<NonZeroU32> = hits.iter().map(|(_, m, _)| m.uid).collect();
                let modseqs: Vec<u64> =
                    hits.iter().map(|(_, m, _)| m.modseq.unwrap_or(0)).collect();
                answer(session.search_result(ticket, &uids, uses_modseq.then_some(&modseqs[..])));
                Self::ok(session, ticket, "SEARCH");
            }
            Err(()) => Self::bad_charset(session, ticket),
        }
    }

    /// Reads and parses the hits, then runs `f` over them.
    async fn over_messages<T>(
        &self,
        hits: Vec<(NonZeroU32, Metadata, bool)>,
        f: impl FnOnce(&[ThreadItem<'_, '_>]) -> T,
    ) -> T {
        let mut raws = Vec::with_capacity(hits.len());
        for (_, meta, bare_lf) in &hits {
            raws.push(self.content(meta.uid.get(), *bare_lf).await);
        }
        let parsed: Vec<Message<'_>> = raws.iter().map(|r| Message::parse(r)).collect();
        let items: Vec<ThreadItem<'_, '_>> = hits
            .iter()
            .zip(&parsed)
            .map(|((seq, meta, _), p)| (*seq, p, meta))
            .collect();
        f(&items)
    }

    pub(super) async fn sort(
        &mut self,
        ticket: Ticket,
        criteria: &[SortCriterion],
        keys: &[SearchKey],
        charset: &[u8],
        session: &mut Session,
    ) {
        match self.matching(keys, Some(charset), session).await {
            Ok((hits, _)) => {
                let sorted = self
                    .over_messages(hits, |items| message::sort(criteria, items))
                    .await;
                answer(session.sort_result(ticket, &sorted, None));
                Self::ok(session, ticket, "SORT");
            }
            Err(()) => Self::bad_charset(session, ticket),
        }
    }

    pub(super) async fn thread(
        &mut self,
        ticket: Ticket,
        algorithm: ThreadAlgorithm,
        keys: &[SearchKey],
        charset: &[u8],
        session: &mut Session,
    ) {
        match self.matching(keys, Some(charset), session).await {
            Ok((hits, _)) => {
                let threads = self
                    .over_messages(hits, |items| match algorithm {
                        ThreadAlgorithm::OrderedSubject => message::thread_ordered_subject(items),
                        _ => message::thread_references(items),
                    })
                    .await;
                answer(session.thread_result(ticket, &threads));
                Self::ok(session, ticket, "THREAD");
            }
            Err(()) => Self::bad_charset(session, ticket),
        }
    }
}

//! STORE, COPY and MOVE, APPEND.

use sansmail_common::driver::now;
use sansmail_imap::message::binary_to_base64;
use sansmail_imap::server::{Session, Ticket};
use sansmail_imap::types::*;
use sansmail_store::{Account, FlagAction, NewMessage, Source, StoreError};

use super::{Handler, Incoming, Selected, answer, flags, nz};

/// Tells the client of keywords it has not seen defined yet (FLAGS and
/// PERMANENTFLAGS). Called just before a response that may show flags:
/// the table it announces is at least the one those flags were read with.
pub(super) fn announce_keywords(sel: &mut Selected, ticket: Ticket, session: &mut Session) {
    let index = sel.mailbox.index();
    // Definitions queued for the client but not yet sent count as untold.
    let queued = session
        .selected_mailbox()
        .is_some_and(|v| v.has_pending_defined());
    if index.keywords.len() <= sel.keywords_told && !queued {
        return;
    }
    sel.keywords_told = index.keywords.len();
    answer(session.data(ticket, Untagged::Flags(flags::defined(&index.keywords))));
    let permanent = flags::permanent(&index.keywords, index.keyword_limit);
    answer(session.data(
        ticket,
        Untagged::Status(Status::new(
            StatusKind::Ok,
            Some(Code::PermanentFlags(permanent)),
            "Flags permitted",
        )),
    ));
}

/// What a STORE asked for.
pub(super) struct StoreRequest {
    pub(super) uid: bool,
    pub(super) set: SequenceSet,
    pub(super) unchanged_since: Option<u64>,
    pub(super) action: StoreAction,
    pub(super) silent: bool,
    pub(super) flags: Vec<Flag>,
}

impl Handler<'_> {
    /// Tells the client of keywords it has not seen defined yet (FLAGS and
    /// PERMANENTFLAGS), before a response shows them.
    pub(super) fn announce_keywords(&mut self, ticket: Ticket, session: &mut Session) {
        if let Some(sel) = self.selected.as_mut() {
            announce_keywords(sel, ticket, session);
        }
    }

    pub(super) async fn store_flags(
        &mut self,
        ticket: Ticket,
        req: StoreRequest,
        session: &mut Session,
    ) {
        let Some(view) = session.selected_mailbox() else {
            return Self::fail(session, ticket, None, "No mailbox selected");
        };
        let targets = view.resolve(&req.set, req.uid);
        let condstore = session.is_enabled(&Capability::CondStore)
            || view.condstore()
            || req.unchanged_since.is_some();
        let rev1 = !session.is_enabled(&Capability::Imap4rev2);
        let Some(sel) = self.selected.as_ref() else {
            return Self::fail(session, ticket, None, "No mailbox selected");
        };
        if sel.read_only {
            return Self::fail(session, ticket, Some(Code::Cannot), "Mailbox is read-only");
        }
        let mailbox = sel.mailbox.clone();
        let action = match req.action {
            StoreAction::Replace => FlagAction::Replace,
            StoreAction::Add => FlagAction::Add,
            StoreAction::Remove => FlagAction::Remove,
        };
        let uids: Vec<u32> = targets.iter().map(|(_, u)| u.get()).collect();
        let outcome = match mailbox
            .store_flags(
                &uids,
                action,
                &flags::to_set(&req.flags),
                req.unchanged_since,
            )
            .await
        {
            Ok(o) => o,
            Err(e) => return Self::failed(session, ticket, &e),
        };
        self.announce_keywords(ticket, session);
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        for s in outcome.stored.iter().filter(|s| s.changed) {
            sel.own.push(s.modseq);
        }
        sel.own.sort_unstable();
        {
            let mut responses = Vec::new();
            let index = mailbox.index();
            for s in &outcome.stored {
                // Under .SILENT the flags are still sent when older news of
                // them waits: sending only the new MODSEQ would put it before them.
                let stale = session
                    .selected_mailbox()
                    .is_some_and(|v| v.has_pending_flags(nz(s.uid)));
                let silent = req.silent && !stale;
                if silent && !(condstore && s.changed) {
                    continue;
                }
                let mut values = Vec::new();
                if !silent {
                    let mut named = flags::to_imap(&s.flags, &index.keywords);
                    if rev1 && sel.recent.binary_search(&s.uid).is_ok() {
                        named.push(Flag::Recent);
                    }
                    values.push(FetchValue::Flags(named));
                }
                if condstore {
                    values.push(FetchValue::ModSeq(s.modseq));
                }
                responses.push((s.uid, values));
            }
            drop(index);
            announce_keywords(sel, ticket, session);
            for (uid, values) in responses {
                answer(session.fetch(ticket, nz(uid), values));
            }
        }
        let modified: Vec<u32> = if req.uid {
            outcome.modified.clone()
        } else {
            targets
                .iter()
                .filter(|(_, u)| outcome.modified.contains(&u.get()))
                .map(|(n, _)| n.get())
                .collect()
        };
        match SequenceSet::from_numbers(modified) {
            Some(set) => answer(session.complete(
                now(),
                ticket,
                StatusKind::Ok,
                Some(Code::Modified(set)),
                "Conditional STORE failed",
            )),
            None => Self::ok(session, ticket, "STORE"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn copy(
        &mut self,
        ticket: Ticket,
        uid: bool,
        set: &SequenceSet,
        target: &str,
        moving: bool,
        account: &Account,
        session: &mut Session,
    ) {
        let name = if moving { "MOVE" } else { "COPY" };
        let Some(view) = session.selected_mailbox() else {
            return Self::fail(session, ticket, None, "No mailbox selected");
        };
        let uids: Vec<u32> = view
            .resolve(set, uid)
            .iter()
            .map(|(_, u)| u.get())
            .collect();
        let Some(sel) = self.selected.as_ref() else {
            return Self::fail(session, ticket, None, "No mailbox selected");
        };
        if moving && sel.read_only {
            return Self::fail(session, ticket, Some(Code::Cannot), "Mailbox is read-only");
        }
        let source = sel.mailbox.clone();
        let dest = match account.open(target).await {
            Ok(d) => d,
            Err(StoreError::NotFound) | Err(StoreError::BadName(_)) => {
                return Self::fail(session, ticket, Some(Code::TryCreate), "No such mailbox");
            }
            Err(e) => return Self::failed(session, ticket, &e),
        };
        let result = if moving {
            source.move_to(&uids, &dest).await
        } else {
            source.copy_to(&uids, &dest).await
        };
        let (pairs, validity) = match result {
            Ok(r) => r,
            Err(e) => return Self::failed(session, ticket, &e),
        };
        let code = match (
            SequenceSet::from_numbers(pairs.iter().map(|p| p.0)),
            SequenceSet::from_numbers(pairs.iter().map(|p| p.1)),
        ) {
            (Some(source), Some(destination)) => Some(Code::CopyUid {
                uid_validity: nz(validity),
                source,
                destination,
            }),
            _ => None,
        };
        if !moving {
            // A copy into the selected mailbox shows up (EXISTS) before the OK.
            self.refresh(session);
            return answer(session.complete(now(), ticket, StatusKind::Ok, code, "COPY completed"));
        }
        if let Some(code) = code {
            answer(session.data(
                ticket,
                Untagged::Status(Status::new(StatusKind::Ok, Some(code), "Moved")),
            ));
        }
        for (from, _) in &pairs {
            answer(session.expunged(ticket, nz(*from)));
        }
        self.refresh(session);
        Self::ok(session, ticket, name);
    }

    pub(super) async fn append_start(
        &mut self,
        ticket: Ticket,
        mailbox: Mailbox,
        flags: Vec<Flag>,
        date: Option<DateTime>,
        binary: bool,
        session: &mut Session,
    ) {
        let Some(account) = self.account.clone() else {
            return answer(session.reject(now(), ticket, None, "Not logged in"));
        };
        let name = Self::name_of(&mailbox, session);
        match account.open(&name).await {
            Ok(_) => {
                self.appending.push(Incoming {
                    mailbox: name,
                    flags,
                    date,
                    binary,
                    data: Vec::new(),
                });
                answer(session.accept(now(), ticket));
            }
            Err(StoreError::NotFound) | Err(StoreError::BadName(_)) => {
                answer(session.reject(now(), ticket, Some(Code::TryCreate), "No such mailbox"))
            }
            Err(e) => {
                answer(session.reject(now(), ticket, Some(super::store_code(&e)), &e.to_string()))
            }
        }
    }

    pub(super) async fn append(&mut self, ticket: Ticket, session: &mut Session) {
        let Some(account) = self.account.clone() else {
            return Self::fail(session, ticket, None, "Not logged in");
        };
        let incoming = std::mem::take(&mut self.appending);
        let Some(name) = incoming.first().map(|i| i.mailbox.clone()) else {
            return Self::ok(session, ticket, "APPEND");
        };
        let target = match account.open(&name).await {
            Ok(t) => t,
            Err(e) => return Self::failed(session, ticket, &e),
        };
        let messages = incoming
            .into_iter()
            .map(|i| NewMessage {
                // Binary content is kept base64-encoded: every client can read it.
                source: Source::Bytes(match i.binary {
                    true => binary_to_base64(&i.data).unwrap_or(i.data).into(),
                    false => i.data.into(),
                }),
                flags: flags::to_set(&i.flags),
                received: i.date.map(|d| d.unix()),
            })
            .collect();
        if account.quota().is_some() {
            let _ = account.usage().await;
        }
        match target.append(messages).await {
            Ok(appended) => {
                // A message appended to the selected mailbox shows up (EXISTS) before the OK.
                self.refresh(session);
                let code = SequenceSet::from_numbers(appended.uids).map(|uids| Code::AppendUid {
                    uid_validity: nz(appended.uid_validity),
                    uids,
                });
                answer(session.complete(now(), ticket, StatusKind::Ok, code, "APPEND completed"));
            }
            Err(e) => Self::failed(session, ticket, &e),
        }
    }
}

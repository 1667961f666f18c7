//! SELECT and EXAMINE, EXPUNGE, CLOSE.

use std::sync::Arc;

use sansmail_common::driver::now;
use sansmail_imap::server::{SelectInfo, Session, Ticket};
use sansmail_imap::types::*;
use sansmail_store::{Account, Mailbox as StoreMailbox, SystemFlag};

use super::{Handler, Selected, answer, flags, nz};

/// The answer to SELECT or EXAMINE for a mailbox as its index stands,
/// with the messages that are `\Recent` for this session; and, read at the
/// same moment, the mod-sequence it reflects and the keywords it defines.
fn select_info(
    mailbox: &StoreMailbox,
    read_only: bool,
    recent: usize,
    params: &SelectParams,
) -> (SelectInfo, u64, usize) {
    let index = mailbox.index();
    let mut changed = Vec::new();
    let mut vanished = None;
    if let Some(q) = &params.qresync
        && q.uid_validity.get() == index.uid_validity
    {
        let known = |uid: u32| {
            q.known_uids
                .as_ref()
                .is_none_or(|set| set.contains(uid, index.uid_next.saturating_sub(1)))
        };
        changed = index
            .messages
            .iter()
            .filter(|m| m.modseq > q.modseq && known(m.uid))
            .map(|m| {
                (
                    nz(m.uid),
                    flags::to_imap(&m.flags, &index.keywords),
                    m.modseq,
                )
            })
            .collect();
        vanished = index
            .vanished_since(q.modseq)
            .map(|uids| uids.into_iter().filter(|u| known(*u)).collect());
    }
    let info = SelectInfo {
        uid_validity: nz(index.uid_validity),
        uid_next: nz(index.uid_next),
        uids: index.messages.iter().map(|m| nz(m.uid)).collect(),
        flags: flags::defined(&index.keywords),
        permanent_flags: flags::permanent(&index.keywords, index.keyword_limit),
        highest_modseq: Some(index.highest_modseq),
        recent: recent as u32,
        first_unseen: index
            .messages
            .iter()
            .position(|m| !m.flags.has(SystemFlag::Seen))
            .map(|i| nz(i as u32 + 1)),
        read_only,
        changed,
        vanished,
        mailbox_id: Atom::new(Str::from(index.id.to_string())).ok(),
    };
    (info, index.highest_modseq, index.keywords.len())
}

impl Handler<'_> {
    pub(super) async fn select(
        &mut self,
        ticket: Ticket,
        account: &Account,
        mailbox: Mailbox,
        read_only: bool,
        params: SelectParams,
        session: &mut Session,
    ) {
        self.selected = None;
        let name = Self::name_of(&mailbox, session);
        let opened = match account.open(&name).await {
            Ok(m) => m,
            Err(e) => return Self::failed(session, ticket, &e),
        };
        // Subscribe before reading the index, so no change falls between.
        let mut feed = opened.subscribe();
        feed.borrow_and_update();
        let recent = if read_only {
            opened.recent_uids()
        } else {
            opened.claim_recent()
        };
        let (info, cursor, keywords_told) = select_info(&opened, read_only, recent.len(), &params);
        self.selected = Some(Selected {
            mailbox: opened,
            feed,
            cursor,
            keywords_told,
            own: Vec::new(),
            recent,
            read_only,
        });
        answer(session.selected(now(), ticket, info));
    }

    fn selected_writable(
        &self,
        session: &mut Session,
        ticket: Ticket,
    ) -> Option<Arc<StoreMailbox>> {
        match &self.selected {
            None => {
                Self::fail(session, ticket, None, "No mailbox selected");
                None
            }
            Some(sel) if sel.read_only => {
                Self::fail(session, ticket, Some(Code::Cannot), "Mailbox is read-only");
                None
            }
            Some(sel) => Some(sel.mailbox.clone()),
        }
    }

    pub(super) async fn expunge(
        &mut self,
        ticket: Ticket,
        uids: Option<SequenceSet>,
        session: &mut Session,
    ) {
        let Some(mailbox) = self.selected_writable(session, ticket) else {
            return;
        };
        // UID EXPUNGE: only the named messages the client knows.
        let within: Option<Vec<u32>> = uids.map(|set| {
            session
                .selected_mailbox()
                .map(|view| {
                    view.resolve(&set, true)
                        .iter()
                        .map(|(_, u)| u.get())
                        .collect()
                })
                .unwrap_or_default()
        });
        match mailbox.expunge_deleted(within.as_deref()).await {
            Ok(gone) => {
                for uid in gone {
                    answer(session.expunged(ticket, nz(uid)));
                }
                Self::ok(session, ticket, "EXPUNGE");
            }
            Err(e) => Self::failed(session, ticket, &e),
        }
    }

    pub(super) async fn close(&mut self, ticket: Ticket, session: &mut Session) {
        if let Some(sel) = self.selected.take()
            && !sel.read_only
            && let Err(e) = sel.mailbox.expunge_deleted(None).await
        {
            tracing::warn!(error = %e, "expunge at CLOSE failed");
        }
        Self::ok(session, ticket, "CLOSE");
    }
}

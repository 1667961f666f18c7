//! The application's answers to the session's events: accept, reject, data,
//! fetch and search results, SELECT outcomes and command completion.

use std::num::NonZeroU32;
use std::time::Instant;

use bytes::BytesMut;

use super::{
    AnswerError, Event, Pending, Phase, Running, SelectInfo, Session, State, Ticket, text_of,
};
use crate::codec;
use crate::mailbox::SelectedMailbox;
use crate::types::{
    Capability, Code, Continue, EsearchItem, FetchValue, QResyncParams, Response, SearchReturn,
    SequenceSet, Status, StatusKind, Text, Thread, Untagged,
};

impl Session {
    /// Accepts the pending decision: greets a client, logs a user in, or
    /// takes an APPEND message. Each answer that ends a decision starts
    /// the client's idle timer again at `now`.
    pub fn accept(&mut self, now: Instant, ticket: Ticket) -> Result<(), AnswerError> {
        match self.take_pending(now, ticket)? {
            Pending::Connect => {
                self.phase = Phase::Command;
                let caps = self.config.capabilities(self.tls, false);
                let text = format!("{} IMAP4rev2 server ready", self.config.hostname);
                self.write_untagged(&Untagged::Status(Status::new(
                    StatusKind::Ok,
                    Some(Code::Capability(caps)),
                    text_of(&text),
                )));
            }
            Pending::Login { tag } => {
                // The AUTHENTICATE exchange is over.
                if matches!(self.phase, Phase::Auth { .. }) {
                    self.phase = Phase::Command;
                }
                self.logged_in(&tag)
            }
            Pending::AppendStart { sync } => {
                if sync {
                    self.write(&Response::Continue(Continue {
                        code: None,
                        text: Text::from("Ready for literal data"),
                    }));
                }
                if let Some(a) = self.append.as_mut() {
                    a.accepted += 1;
                }
            }
            other => {
                self.pending = Some((ticket, other));
                return Err(AnswerError::WrongAnswer);
            }
        }
        Ok(())
    }

    /// Greets the client as already logged in (`* PREAUTH`), e.g. after a
    /// client certificate identified it.
    pub fn preauth(&mut self, now: Instant, ticket: Ticket) -> Result<(), AnswerError> {
        match self.take_pending(now, ticket)? {
            Pending::Connect => {
                self.phase = Phase::Command;
                self.state = State::Authenticated;
                let caps = self.config.capabilities(self.tls, true);
                let text = format!("{} IMAP4rev2 server logged in", self.config.hostname);
                self.write_untagged(&Untagged::Status(Status::new(
                    StatusKind::PreAuth,
                    Some(Code::Capability(caps)),
                    text_of(&text),
                )));
                Ok(())
            }
            other => {
                self.pending = Some((ticket, other));
                Err(AnswerError::WrongAnswer)
            }
        }
    }

    /// Refuses the pending decision: `* BYE` for a connection, `NO` for a
    /// login (`AUTHENTICATIONFAILED` unless another code is given), or a
    /// refused APPEND message (e.g. `TRYCREATE`, `TOOBIG`, `OVERQUOTA`).
    pub fn reject(
        &mut self,
        now: Instant,
        ticket: Ticket,
        code: Option<Code>,
        text: &str,
    ) -> Result<(), AnswerError> {
        match self.take_pending(now, ticket)? {
            Pending::Connect => {
                self.untagged_status(StatusKind::Bye, code, text);
                self.close();
            }
            Pending::Login { tag } => {
                let status = Status::new(
                    StatusKind::No,
                    Some(code.unwrap_or(Code::AuthenticationFailed)),
                    text_of(text),
                );
                let status = match std::mem::replace(&mut self.phase, Phase::Command) {
                    // RFC 7628 §3.2.2: an error challenge, the client's answer, then the NO.
                    Phase::Auth { tag, mut exchange } => match exchange.refuse(status) {
                        Ok(challenge) => {
                            self.send_continue(challenge);
                            self.phase = Phase::Auth { tag, exchange };
                            return Ok(());
                        }
                        Err(status) => status,
                    },
                    other => {
                        self.phase = other;
                        status
                    }
                };
                self.tagged(&tag, status);
                self.count_error();
            }
            Pending::AppendStart { sync } => {
                let status = Status::new(StatusKind::No, code, text_of(text));
                if let Some(a) = self.append.as_mut() {
                    a.refused = Some(status);
                }
                if sync {
                    // The client does not send the literal: the command ends here.
                    self.phase = Phase::Command;
                    self.finish_refused_append();
                } else if let Phase::AppendData { remaining } = self.phase {
                    self.phase = Phase::Skip { remaining };
                }
            }
            other => {
                self.pending = Some((ticket, other));
                return Err(AnswerError::WrongAnswer);
            }
        }
        Ok(())
    }

    /// Sends a data response for the running command. EXPUNGE and VANISHED
    /// go through [`expunged`](Self::expunged) (VANISHED (EARLIER) for UID
    /// FETCH comes here), FETCH through [`fetch`](Self::fetch).
    pub fn data(&mut self, ticket: Ticket, response: Untagged) -> Result<(), AnswerError> {
        self.running(ticket)?;
        match &response {
            // VANISHED (EARLIER) answers UID FETCH (VANISHED): it renumbers nothing.
            Untagged::Expunge(_)
            | Untagged::Vanished { earlier: false, .. }
            | Untagged::Fetch { .. } => Err(AnswerError::NotAllowed),
            _ => {
                if let (Untagged::Flags(_), Some(view)) = (&response, self.selected.as_mut()) {
                    // The flags defined now replace older news of them.
                    view.defined_reported();
                }
                self.write_untagged(&response);
                Ok(())
            }
        }
    }

    /// Sends a FETCH response for the message with this UID, numbered as
    /// the client knows it; UID commands get the UID item added.
    pub fn fetch(
        &mut self,
        ticket: Ticket,
        uid: NonZeroU32,
        mut items: Vec<FetchValue>,
    ) -> Result<(), AnswerError> {
        let running = self.running(ticket)?;
        let with_uid = running.uid || self.enabled.qresync;
        let seq = self
            .selected
            .as_ref()
            .and_then(|v| v.seq_of(uid))
            .ok_or(AnswerError::NotAllowed)?;
        if with_uid && !items.iter().any(|i| matches!(i, FetchValue::Uid(_))) {
            items.insert(0, FetchValue::Uid(uid));
        }
        if items.is_empty() {
            return Err(AnswerError::WrongAnswer);
        }
        // The client now knows these flags: older queued news of them would
        // take it back in time (and its MODSEQ backwards).
        // A MODSEQ alone still moves what the client knows: older news is
        // then not sent (the application should send FLAGS with a MODSEQ
        // while `has_pending_flags` is true, so the client learns them).
        let modseq = items.iter().find_map(|i| match i {
            FetchValue::ModSeq(m) => Some(*m),
            _ => None,
        });
        let has_flags = items.iter().any(|i| matches!(i, FetchValue::Flags(_)));
        if let Some(view) = self.selected.as_mut() {
            match (has_flags, modseq) {
                (true, _) => view.flags_reported(uid, modseq),
                (false, Some(m)) => view.modseq_reported(uid, m),
                (false, None) => {}
            }
        }
        // Long message data goes out as the application gave it, uncopied.
        let mut head = BytesMut::new();
        let splices = codec::write_untagged_spliced(&mut head, &Untagged::Fetch { seq, items });
        if splices.is_empty() {
            self.out.extend_from_slice(&head);
            return Ok(());
        }
        let mut head = head.freeze();
        let mut taken = 0;
        let earlier = std::mem::take(&mut self.out);
        if !earlier.is_empty() {
            self.chunks.push_back(earlier.freeze());
        }
        for (at, data) in splices {
            self.chunks.push_back(head.split_to(at - taken));
            taken = at;
            self.chunks.push_back(data);
        }
        self.chunks.push_back(head);
        Ok(())
    }

    /// Reports a message the running EXPUNGE, UID EXPUNGE or MOVE removed.
    pub fn expunged(&mut self, ticket: Ticket, uid: NonZeroU32) -> Result<(), AnswerError> {
        if !self.running(ticket)?.expunges {
            return Err(AnswerError::NotAllowed);
        }
        // Changes queued before this one keep their numbers: report them first.
        self.flush_updates(true);
        let view = self.selected.as_mut().ok_or(AnswerError::NotAllowed)?;
        if let Some(response) = view.expunge_now(uid) {
            self.write_untagged(&response);
        }
        Ok(())
    }

    /// The result of SEARCH: the matching messages' UIDs (ascending), and
    /// when the search used MODSEQ each one's mod-sequence (in the same
    /// order). The session numbers them, writes SEARCH or ESEARCH as the
    /// client asked (with the highest mod-sequence of the messages it
    /// returns, RFC 7162 §3.1.5), and keeps the result for `$` after SAVE.
    pub fn search_result(
        &mut self,
        ticket: Ticket,
        uids: &[NonZeroU32],
        modseqs: Option<&[u64]>,
    ) -> Result<(), AnswerError> {
        let highest = |among: &[usize]| -> Option<u64> {
            let m = modseqs?;
            among.iter().filter_map(|&i| m.get(i)).copied().max()
        };
        let all: Vec<usize> = (0..uids.len()).collect();
        let running = self.running(ticket)?.clone();
        let Some(search) = &running.search else {
            return Err(AnswerError::WrongAnswer);
        };
        let ids = self.numbers(uids, running.uid);
        let esearch = search.returns.is_some() || self.enabled.rev2;
        let returns = search.returns.clone().unwrap_or_default();
        if returns.contains(&SearchReturn::Save) {
            let only_min_max = returns.iter().all(|r| {
                matches!(
                    r,
                    SearchReturn::Save | SearchReturn::Min | SearchReturn::Max
                )
            }) && returns.len() > 1;
            let mut keep: Vec<NonZeroU32> = uids.to_vec();
            if only_min_max {
                // RFC 5182 §2.1: SAVE with MIN and/or MAX keeps just those.
                let first = uids.first().copied();
                let last = uids.last().copied();
                keep = [
                    returns
                        .contains(&SearchReturn::Min)
                        .then_some(first)
                        .flatten(),
                    returns
                        .contains(&SearchReturn::Max)
                        .then_some(last)
                        .flatten(),
                ]
                .into_iter()
                .flatten()
                .collect();
                keep.dedup();
            }
            self.saved = Some(keep);
        }
        if !esearch {
            self.write_untagged(&Untagged::Search {
                ids: ids.clone(),
                modseq: highest(&all).filter(|_| !ids.is_empty()),
            });
            return Ok(());
        }
        let wanted: Vec<SearchReturn> = match returns.as_slice() {
            [] => vec![SearchReturn::All],
            [SearchReturn::Save] => Vec::new(),
            r => r.to_vec(),
        };
        let mut items = Vec::new();
        for r in &wanted {
            match r {
                SearchReturn::Min => items.extend(ids.iter().min().map(|&n| EsearchItem::Min(n))),
                SearchReturn::Max => items.extend(ids.iter().max().map(|&n| EsearchItem::Max(n))),
                SearchReturn::All => items.extend(
                    SequenceSet::from_numbers(ids.iter().map(|n| n.get())).map(EsearchItem::All),
                ),
                SearchReturn::Count => items.push(EsearchItem::Count(ids.len() as u32)),
                SearchReturn::Save => {}
            }
        }
        // The messages returned: all of them, or only the first and last.
        let returned: Vec<usize> = if wanted
            .iter()
            .any(|r| matches!(r, SearchReturn::All | SearchReturn::Count))
        {
            all
        } else {
            let mut ends = Vec::new();
            if wanted.contains(&SearchReturn::Min) && !uids.is_empty() {
                ends.push(0);
            }
            if wanted.contains(&SearchReturn::Max) && !uids.is_empty() {
                ends.push(uids.len() - 1);
            }
            ends
        };
        if let (Some(m), false) = (highest(&returned), ids.is_empty()) {
            items.push(EsearchItem::ModSeq(m));
        }
        // SAVE alone answers with no ESEARCH at all (RFC 5182 §2.1).
        if !wanted.is_empty() {
            self.write_untagged(&Untagged::Esearch {
                tag: Some(running.tag.clone()),
                uid: running.uid,
                items,
            });
        }
        Ok(())
    }

    /// The result of SORT: UIDs in sorted order; the session numbers them.
    pub fn sort_result(
        &mut self,
        ticket: Ticket,
        uids: &[NonZeroU32],
        modseq: Option<u64>,
    ) -> Result<(), AnswerError> {
        let running = self.running(ticket)?;
        if running.name != "SORT" {
            return Err(AnswerError::WrongAnswer);
        }
        let uid = running.uid;
        let ids = self.numbers(uids, uid);
        self.write_untagged(&Untagged::Sort { ids, modseq });
        Ok(())
    }

    /// The result of THREAD, in UIDs; the session numbers them.
    pub fn thread_result(&mut self, ticket: Ticket, threads: &[Thread]) -> Result<(), AnswerError> {
        let running = self.running(ticket)?;
        if running.name != "THREAD" {
            return Err(AnswerError::WrongAnswer);
        }
        let uid = running.uid;
        let threads = threads.iter().map(|t| self.number_thread(t, uid)).collect();
        self.write_untagged(&Untagged::Thread(threads));
        Ok(())
    }

    /// Completes SELECT or EXAMINE: writes what the client needs to know
    /// of the mailbox and `OK [READ-WRITE]` (or `[READ-ONLY]`).
    pub fn selected(
        &mut self,
        now: Instant,
        ticket: Ticket,
        info: SelectInfo,
    ) -> Result<(), AnswerError> {
        let running = self.running(ticket)?.clone();
        let Some(request) = &running.select else {
            return Err(AnswerError::WrongAnswer);
        };
        self.pending = None;
        self.last_input = now;
        let read_only = request.read_only || info.read_only;
        let condstore = request.condstore || self.enabled.condstore || self.enabled.qresync;
        if request.condstore && !self.enabled.condstore {
            self.enabled.condstore = true;
            self.events.push_back(Event::Enabled {
                capabilities: vec![Capability::CondStore],
            });
        }
        let mut view = SelectedMailbox::new(info.uid_validity, info.uids.clone());
        view.set_modes(condstore, self.enabled.qresync);
        view.set_read_only(read_only);
        view.set_highest_modseq(info.highest_modseq.unwrap_or(0));
        let rev1 = !self.enabled.rev2;
        self.write_untagged(&Untagged::Exists(view.exists()));
        if rev1 {
            self.write_untagged(&Untagged::Recent(info.recent));
            view.recent_reported(info.recent);
        }
        self.untagged_status(
            StatusKind::Ok,
            Some(Code::UidValidity(info.uid_validity)),
            "UIDs valid",
        );
        self.untagged_status(
            StatusKind::Ok,
            Some(Code::UidNext(info.uid_next)),
            "Predicted next UID",
        );
        self.write_untagged(&Untagged::Flags(info.flags.clone()));
        let permanent = if read_only {
            Vec::new()
        } else {
            info.permanent_flags.clone()
        };
        self.untagged_status(
            StatusKind::Ok,
            Some(Code::PermanentFlags(permanent)),
            "Limited",
        );
        if let (true, Some(n)) = (rev1, info.first_unseen) {
            self.untagged_status(StatusKind::Ok, Some(Code::Unseen(n)), "First unseen");
        }
        if let Some(id) = &info.mailbox_id {
            self.untagged_status(StatusKind::Ok, Some(Code::MailboxId(id.clone())), "Ok");
        }
        if condstore {
            match info.highest_modseq {
                Some(m) => {
                    self.untagged_status(StatusKind::Ok, Some(Code::HighestModSeq(m)), "Highest")
                }
                None => {
                    self.untagged_status(StatusKind::Ok, Some(Code::NoModSeq), "No mod-sequences")
                }
            }
        }
        if let Some(q) = &request.qresync {
            self.write_qresync(&view, q, &info);
        }
        self.selected = Some(view);
        self.state = State::Selected;
        let code = if read_only {
            Code::ReadOnly
        } else {
            Code::ReadWrite
        };
        let text = format!("{} completed", running.name);
        self.tagged(
            &running.tag,
            Status::new(StatusKind::Ok, Some(code), text_of(&text)),
        );
        Ok(())
    }

    /// QRESYNC (RFC 7162 §3.2.5.2): VANISHED (EARLIER), then changed flags.
    fn write_qresync(&mut self, view: &SelectedMailbox, q: &QResyncParams, info: &SelectInfo) {
        if q.uid_validity != info.uid_validity {
            return;
        }
        let gone: Vec<u32> = match &info.vanished {
            Some(v) => v.clone(),
            None => {
                let known = q.known_uids.clone().unwrap_or_else(SequenceSet::all);
                let largest = info.uid_next.get().saturating_sub(1);
                known
                    .normalized(largest)
                    .into_iter()
                    .flat_map(|(lo, hi)| lo..=hi)
                    .filter(|&u| NonZeroU32::new(u).is_some_and(|u| view.seq_of(u).is_none()))
                    .take(1_000_000)
                    .collect()
            }
        };
        if let Some(uids) = SequenceSet::from_numbers(gone) {
            self.write_untagged(&Untagged::Vanished {
                earlier: true,
                uids,
            });
        }
        for (uid, flags, modseq) in &info.changed {
            if let Some(seq) = view.seq_of(*uid) {
                self.write_untagged(&Untagged::Fetch {
                    seq,
                    items: vec![
                        FetchValue::Uid(*uid),
                        FetchValue::Flags(flags.clone()),
                        FetchValue::ModSeq(*modseq),
                    ],
                });
            }
        }
    }

    /// Finishes the running command (or an APPEND) with a tagged status.
    /// Queued mailbox changes are reported first, where allowed.
    pub fn complete(
        &mut self,
        now: Instant,
        ticket: Ticket,
        kind: StatusKind,
        code: Option<Code>,
        text: &str,
    ) -> Result<(), AnswerError> {
        if matches!(kind, StatusKind::PreAuth | StatusKind::Bye) {
            return Err(AnswerError::WrongAnswer);
        }
        let status = Status::new(kind, code, text_of(text));
        match self.take_pending(now, ticket)? {
            Pending::Command(running) => {
                if running.select.is_some() {
                    // A failed SELECT leaves no mailbox selected (RFC 9051 §6.3.2).
                    if kind == StatusKind::Ok {
                        self.pending = Some((ticket, Pending::Command(running)));
                        return Err(AnswerError::WrongAnswer);
                    }
                    self.state = State::Authenticated;
                } else if running.close {
                    self.unselect(false);
                } else {
                    self.flush_updates(!running.by_number);
                }
                self.tagged(&running.tag, status);
            }
            Pending::AppendEnd { tag } => {
                self.flush_updates(true);
                self.tagged(&tag, status);
            }
            other => {
                self.pending = Some((ticket, other));
                return Err(AnswerError::WrongAnswer);
            }
        }
        Ok(())
    }

    fn running(&self, ticket: Ticket) -> Result<&Running, AnswerError> {
        match &self.pending {
            Some((t, Pending::Command(r))) if *t == ticket => Ok(r),
            Some((t, _)) if *t == ticket => Err(AnswerError::WrongAnswer),
            _ => Err(AnswerError::UnknownTicket),
        }
    }

    /// Ends the pending decision; the client's idle timer starts at `now`.
    fn take_pending(&mut self, now: Instant, ticket: Ticket) -> Result<Pending, AnswerError> {
        match self.pending.take() {
            Some((t, p)) if t == ticket => {
                self.last_input = now;
                Ok(p)
            }
            other => {
                self.pending = other;
                Err(AnswerError::UnknownTicket)
            }
        }
    }

    pub(super) fn wait_for(&mut self, pending: Pending) -> Ticket {
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        self.pending = Some((ticket, pending));
        ticket
    }

    /// UIDs as the client numbers them: UIDs for UID commands, else message numbers.
    fn numbers(&self, uids: &[NonZeroU32], uid: bool) -> Vec<NonZeroU32> {
        if uid {
            return uids.to_vec();
        }
        let Some(view) = &self.selected else {
            return Vec::new();
        };
        uids.iter().filter_map(|u| view.seq_of(*u)).collect()
    }

    fn number_thread(&self, t: &Thread, uid: bool) -> Thread {
        Thread {
            members: self.numbers(&t.members, uid),
            children: t
                .children
                .iter()
                .map(|c| self.number_thread(c, uid))
                .collect(),
        }
    }
}

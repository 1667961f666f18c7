//! Running parsed commands: what the session answers itself and what it
//! asks the application, in each state.

use bytes::BytesMut;

use super::deflate;
use super::framing::leading_tag;
use super::{Event, Pending, Phase, Running, SearchRequest, SelectRequest, Session, State};
use crate::codec::{self, DecodeError};
use crate::sasl::{Credentials, Secret};
use crate::types::{
    Capability, Code, Command, CommandBody, FetchAttr, ListSelect, Mailbox, SearchKey, SequenceSet,
    StatusItem, StatusKind, Str, Tag, Untagged,
};

impl Session {
    /// SELECT or EXAMINE: closes any selected mailbox, then asks the store.
    fn select(
        &mut self,
        tag: Tag,
        mailbox: Mailbox,
        params: crate::types::SelectParams,
        read_only: bool,
    ) {
        if params.qresync.is_some() && !self.enabled.qresync {
            return self.bad(Some(&tag), None, "QRESYNC must be enabled first");
        }
        if self.selected.is_some() {
            self.unselect(true);
            // RFC 7162 §3.2.11, RFC 9051 §7.1: the old mailbox is closed.
            self.untagged_status(
                StatusKind::Ok,
                Some(Code::Closed),
                "Previous mailbox closed",
            );
        }
        self.state = State::Authenticated;
        let running = Running {
            tag,
            name: if read_only { "EXAMINE" } else { "SELECT" },
            uid: false,
            by_number: false,
            expunges: false,
            select: Some(SelectRequest {
                read_only,
                condstore: params.condstore,
                qresync: params.qresync.clone(),
            }),
            search: None,
            close: false,
        };
        let command = if read_only {
            CommandBody::Examine { mailbox, params }
        } else {
            CommandBody::Select { mailbox, params }
        };
        let ticket = self.wait_for(Pending::Command(Box::new(running)));
        self.events.push_back(Event::Command { ticket, command });
    }

    /// Hands a store command to the application, `$` resolved.
    fn ask_application(&mut self, tag: Tag, mut body: CommandBody) {
        if !self.enabled.condstore && enables_condstore(&body) {
            // RFC 7162 §3.1: a CONDSTORE-enabling command turns it on; in the
            // selected state the client is told the HIGHESTMODSEQ at once.
            self.enabled.condstore = true;
            self.events.push_back(Event::Enabled {
                capabilities: vec![Capability::CondStore],
            });
            if let Some(view) = self.selected.as_mut() {
                let qresync = view.qresync();
                view.set_modes(true, qresync);
                let highest = view.highest_modseq();
                self.untagged_status(
                    StatusKind::Ok,
                    Some(Code::HighestModSeq(highest)),
                    "Highest",
                );
            }
        }
        if !self.resolve_saved(&mut body) {
            // `$` names no messages: nothing to do (RFC 5182 §2.1).
            self.flush_updates(!body.uses_sequence_numbers());
            let text = format!("{} completed", body.name());
            return self.ok(&tag, &text);
        }
        let out_of_range = match (&self.selected, number_set(&body)) {
            (Some(view), Some(set)) => view.out_of_range(set),
            _ => false,
        };
        if out_of_range {
            return self.bad(Some(&tag), None, "Message number out of range");
        }
        let running = Running {
            tag,
            name: body.name(),
            uid: is_uid(&body),
            by_number: body.uses_sequence_numbers(),
            expunges: matches!(body, CommandBody::Expunge { .. } | CommandBody::Move { .. }),
            select: None,
            search: match &body {
                CommandBody::Search { returns, .. } => Some(SearchRequest {
                    returns: returns.clone(),
                }),
                _ => None,
            },
            close: matches!(body, CommandBody::Close),
        };
        let ticket = self.wait_for(Pending::Command(Box::new(running)));
        self.events.push_back(Event::Command {
            ticket,
            command: body,
        });
    }

    /// Replaces `$` by the saved result; false when it names nothing.
    fn resolve_saved(&self, body: &mut CommandBody) -> bool {
        // UID EXPUNGE and UID commands name UIDs.
        let uid = is_uid(body);
        let saved = self.saved.as_deref().unwrap_or_default();
        let as_set = |by_uid: bool| -> Option<SequenceSet> {
            if by_uid {
                SequenceSet::from_numbers(saved.iter().map(|u| u.get()))
            } else {
                let view = self.selected.as_ref()?;
                SequenceSet::from_numbers(
                    saved
                        .iter()
                        .filter_map(|u| view.seq_of(*u))
                        .map(|n| n.get()),
                )
            }
        };
        match body {
            CommandBody::Fetch { set, .. }
            | CommandBody::Store { set, .. }
            | CommandBody::Copy { set, .. }
            | CommandBody::Move { set, .. }
            | CommandBody::Expunge { uids: Some(set) } => {
                if *set == SequenceSet::Saved {
                    match as_set(uid) {
                        Some(s) => *set = s,
                        None => return false,
                    }
                }
                true
            }
            CommandBody::Search { keys, .. }
            | CommandBody::Sort { keys, .. }
            | CommandBody::Thread { keys, .. } => {
                for key in keys.iter_mut() {
                    replace_saved_in_key(key, &as_set);
                }
                true
            }
            _ => true,
        }
    }

    /// A command's lines and literals are all in: parse and run it.
    pub(super) fn command_complete(&mut self) {
        if self.discard.is_some() {
            return self.finish_discard();
        }
        let cmd = std::mem::take(&mut self.cmd);
        match codec::parse_command_with(&cmd, self.config.max_depth) {
            Ok((_, command)) => self.execute(command),
            Err(DecodeError::Failed { expected, .. }) => {
                let tag = leading_tag(&cmd);
                let text = format!("Syntax error: expected {expected}");
                self.bad(tag.as_ref(), None, &text);
            }
            Err(_) => {
                let tag = leading_tag(&cmd);
                self.bad(tag.as_ref(), None, "Incomplete command");
            }
        }
        // Keep the allocation for the next command unless it grew large.
        if cmd.capacity() <= 64 * 1024 {
            self.cmd = cmd;
            self.cmd.clear();
        }
    }

    /// Runs a parsed command in the current state.
    fn execute(&mut self, command: Command) {
        let Command { tag, body } = command;
        let state = self.state;
        let authenticated = matches!(state, State::Authenticated | State::Selected);
        let selected = state == State::Selected;
        match body {
            CommandBody::Capability => {
                let caps = self.config.capabilities(self.tls, authenticated);
                self.write_untagged(&Untagged::Capability(caps));
                self.ok(&tag, "CAPABILITY completed");
            }
            CommandBody::Noop | CommandBody::Check => {
                self.flush_updates(true);
                let text = format!("{} completed", body.name());
                self.ok(&tag, &text);
            }
            CommandBody::Logout => {
                self.untagged_status(StatusKind::Bye, None, "Logging out");
                self.ok(&tag, "LOGOUT completed");
                self.close();
            }
            CommandBody::Id(params) => {
                let ours = self
                    .config
                    .id
                    .iter()
                    .map(|(k, v)| (Str::from(k.as_str()), Some(Str::from(v.as_str()))))
                    .collect();
                self.write_untagged(&Untagged::Id(Some(ours)));
                self.events.push_back(Event::Id { params });
                self.ok(&tag, "ID completed");
            }
            CommandBody::StartTls => {
                if authenticated || self.tls || !self.config.starttls {
                    self.bad(Some(&tag), None, "STARTTLS not available now");
                } else {
                    self.ok(&tag, "Begin TLS negotiation now");
                    // Anything pipelined after STARTTLS is plaintext an
                    // attacker may have injected: drop it (CVE-2011-0411 class).
                    let bytes = self.input.len();
                    self.input = BytesMut::new();
                    if bytes > 0 {
                        self.events
                            .push_back(Event::PipelinedInputDiscarded { bytes });
                    }
                    self.starttls_pending = true;
                }
            }
            CommandBody::Login { username, password } => {
                if authenticated {
                    self.bad(Some(&tag), None, "Already logged in");
                } else if !self.tls && !self.config.allow_plaintext_auth {
                    self.no(&tag, Some(Code::PrivacyRequired), "LOGIN needs TLS first");
                } else {
                    let credentials = Credentials::Login {
                        username: String::from_utf8_lossy(&username).into_owned(),
                        password: Secret::new(
                            String::from_utf8_lossy(password.expose()).into_owned(),
                        ),
                    };
                    let ticket = self.wait_for(Pending::Login { tag });
                    self.events.push_back(Event::Login {
                        ticket,
                        credentials,
                    });
                }
            }
            CommandBody::Authenticate { mechanism, initial } => self.authenticate(
                tag,
                mechanism.as_str(),
                initial.map(|i| i.expose().clone()),
                authenticated,
            ),
            CommandBody::Enable(caps) if state == State::Authenticated => {
                let mut now_on = Vec::new();
                for cap in caps {
                    let flag = match cap {
                        Capability::CondStore => &mut self.enabled.condstore,
                        Capability::QResync => &mut self.enabled.qresync,
                        Capability::Utf8Accept => &mut self.enabled.utf8,
                        Capability::Imap4rev2 => &mut self.enabled.rev2,
                        _ => continue,
                    };
                    if !*flag {
                        *flag = true;
                        now_on.push(cap);
                    }
                }
                if now_on.contains(&Capability::QResync) && !self.enabled.condstore {
                    self.enabled.condstore = true;
                }
                self.write_untagged(&Untagged::Enabled(now_on.clone()));
                if !now_on.is_empty() {
                    self.events.push_back(Event::Enabled {
                        capabilities: now_on,
                    });
                }
                self.ok(&tag, "ENABLE completed");
            }
            CommandBody::Enable(_) => self.bad(
                Some(&tag),
                None,
                "ENABLE is only valid after login, before SELECT",
            ),
            _ if !authenticated => self.bad(Some(&tag), None, "Log in first"),
            CommandBody::Compress(algorithm) => {
                if self.deflate.is_some() {
                    self.no(
                        &tag,
                        Some(Code::CompressionActive),
                        "DEFLATE active via COMPRESS",
                    );
                } else if !self.config.compress || !algorithm.eq_ignore_case("DEFLATE") {
                    self.no(&tag, Some(Code::Cannot), "Unsupported compression");
                } else {
                    self.ok(&tag, "DEFLATE active");
                    // Everything up to this OK goes out uncompressed.
                    let earlier = std::mem::take(&mut self.out);
                    self.chunks.push_back(earlier.freeze());
                    self.plain_chunks = self.chunks.len();
                    let mut deflate = deflate::Deflate::new();
                    // A client must wait for this OK; anything it sent after
                    // COMPRESS is already compressed.
                    let pending = std::mem::take(&mut self.input);
                    let mut plain = Vec::new();
                    if deflate.decompress(&pending, &mut plain).is_none() {
                        self.close();
                    }
                    self.input.extend_from_slice(&plain);
                    self.deflate = Some(deflate);
                }
            }
            CommandBody::Idle => {
                self.send_continue("idling");
                self.flush_updates(true);
                self.events.push_back(Event::IdleStarted);
                self.phase = Phase::Idle { tag };
            }
            CommandBody::Unselect if selected => {
                self.unselect(true);
                self.ok(&tag, "UNSELECT completed");
            }
            CommandBody::Select { mailbox, params } => self.select(tag, mailbox, params, false),
            CommandBody::Examine { mailbox, params } => self.select(tag, mailbox, params, true),
            body if body.needs_selected() && !selected => {
                self.bad(Some(&tag), None, "No mailbox selected")
            }
            // RFC 5258 §3: RECURSIVEMATCH qualifies another selection option.
            CommandBody::List { selection, .. }
                if selection.contains(&ListSelect::RecursiveMatch)
                    && selection
                        .iter()
                        .all(|s| matches!(s, ListSelect::RecursiveMatch | ListSelect::Remote)) =>
            {
                self.bad(
                    Some(&tag),
                    None,
                    "RECURSIVEMATCH needs another selection option",
                )
            }
            body => self.ask_application(tag, body),
        }
    }
}

fn is_uid(body: &CommandBody) -> bool {
    match body {
        CommandBody::Fetch { uid, .. }
        | CommandBody::Store { uid, .. }
        | CommandBody::Copy { uid, .. }
        | CommandBody::Move { uid, .. }
        | CommandBody::Search { uid, .. }
        | CommandBody::Sort { uid, .. }
        | CommandBody::Thread { uid, .. } => *uid,
        CommandBody::Expunge { uids } => uids.is_some(),
        _ => false,
    }
}

/// True for the commands that turn CONDSTORE on (RFC 7162 §3.1): FETCH
/// with MODSEQ or CHANGEDSINCE, STORE with UNCHANGEDSINCE, a search with a
/// MODSEQ key, STATUS with HIGHESTMODSEQ.
fn enables_condstore(body: &CommandBody) -> bool {
    let modseq_key = |keys: &[SearchKey]| {
        keys.iter()
            .any(|k| k.any(&|k| matches!(k, SearchKey::ModSeq { .. })))
    };
    match body {
        CommandBody::Fetch {
            items,
            changed_since,
            ..
        } => changed_since.is_some() || items.expand().contains(&FetchAttr::ModSeq),
        CommandBody::Store {
            unchanged_since, ..
        } => unchanged_since.is_some(),
        CommandBody::Search { keys, .. }
        | CommandBody::Sort { keys, .. }
        | CommandBody::Thread { keys, .. } => modseq_key(keys),
        CommandBody::Status { items, .. } => items.contains(&StatusItem::HighestModSeq),
        _ => false,
    }
}

/// The message-number set a command names, for range checks.
fn number_set(body: &CommandBody) -> Option<&SequenceSet> {
    match body {
        CommandBody::Fetch {
            uid: false, set, ..
        }
        | CommandBody::Store {
            uid: false, set, ..
        }
        | CommandBody::Copy {
            uid: false, set, ..
        }
        | CommandBody::Move {
            uid: false, set, ..
        } => Some(set),
        _ => None,
    }
}

/// Replaces `$` in a search key: as message numbers, or as UIDs after `UID`.
fn replace_saved_in_key(key: &mut SearchKey, as_set: &dyn Fn(bool) -> Option<SequenceSet>) {
    let nothing = || SearchKey::Not(Box::new(SearchKey::All));
    key.for_each_leaf_mut(&mut |leaf| match leaf {
        SearchKey::SequenceSet(SequenceSet::Saved) => {
            *leaf = as_set(false).map_or_else(nothing, SearchKey::SequenceSet)
        }
        SearchKey::Uid(SequenceSet::Saved) => {
            *leaf = as_set(true).map_or_else(nothing, SearchKey::Uid)
        }
        _ => {}
    });
}

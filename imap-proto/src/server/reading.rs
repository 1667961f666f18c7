//! Reading input: command lines, announced literals, and the bytes a
//! refused or abandoned command leaves to discard.

use bytes::{Buf, BytesMut};
use sansmail_common::line::{Line, frame_line};

use super::framing::{announcement, leading_tag};
use super::{AppendAbort, Event, Pending, Phase, Session, State, framing};
use crate::types::{Code, Status, StatusKind, Untagged};

impl Session {
    /// Makes progress on buffered input; false when nothing more can be done now.
    pub(super) fn step(&mut self) -> bool {
        if self.closing || self.starttls_pending || self.input.is_empty() {
            return false;
        }
        // An accepted APPEND message streams while its end is awaited.
        if self.pending.is_some()
            && !matches!(self.phase, Phase::AppendData { .. } | Phase::Skip { .. })
        {
            return false;
        }
        if matches!(self.pending, Some((_, Pending::AppendStart { .. }))) {
            return false;
        }
        match self.phase {
            Phase::Command => self.step_line(),
            Phase::Literal { remaining } => {
                let n = (remaining as usize).min(self.input.len());
                self.cmd.extend_from_slice(&self.input[..n]);
                self.input.advance(n);
                let left = remaining - n as u32;
                self.phase = if left == 0 {
                    Phase::Command
                } else {
                    Phase::Literal { remaining: left }
                };
                true
            }
            Phase::Skip { remaining } => {
                let n = (remaining as usize).min(self.input.len());
                self.input.advance(n);
                let left = remaining - n as u32;
                if left > 0 {
                    self.phase = Phase::Skip { remaining: left };
                } else {
                    self.phase = Phase::Command;
                }
                true
            }
            Phase::AppendData { remaining } => {
                let n = (remaining as usize).min(self.input.len());
                let chunk = self.input.split_to(n).freeze();
                self.events.push_back(Event::AppendChunk(chunk));
                let left = remaining - n as u32;
                if left > 0 {
                    self.phase = Phase::AppendData { remaining: left };
                } else {
                    self.events.push_back(Event::AppendMessageEnd);
                    self.phase = Phase::Command;
                }
                true
            }
            Phase::Auth { .. } | Phase::Idle { .. } => self.step_line(),
            Phase::Greeting | Phase::AwaitingTls | Phase::Closed => false,
        }
    }

    fn step_line(&mut self) -> bool {
        let max = self.config.max_line + 2;
        let (len, total) = match frame_line(&self.input, max) {
            Line::Complete { len, total } => (len, total),
            Line::Incomplete => return false,
            Line::Bare { total } => {
                let line = self.input.split_to(total);
                let tag = if self.cmd.is_empty() {
                    leading_tag(&line)
                } else {
                    leading_tag(&self.cmd)
                };
                self.abandon_command(AppendAbort::Syntax);
                self.bad(tag.as_ref(), None, "Line must end with CRLF");
                return true;
            }
            Line::TooLong => {
                self.input = BytesMut::new();
                self.abandon_command(AppendAbort::Syntax);
                self.untagged_status(StatusKind::Bye, Some(Code::TooBig), "Command line too long");
                self.close();
                return true;
            }
        };
        let line = self.input.split_to(total);
        let line = &line[..len];
        if memchr::memchr(0, line).is_some() {
            let tag = if self.cmd.is_empty() {
                leading_tag(line)
            } else {
                leading_tag(&self.cmd)
            };
            self.abandon_command(AppendAbort::Syntax);
            self.bad(tag.as_ref(), None, "NUL in command line");
            return true;
        }
        match std::mem::replace(&mut self.phase, Phase::Command) {
            Phase::Auth { tag, mut exchange } => {
                let step = exchange.respond(line);
                self.auth_step(tag, exchange, step);
            }
            Phase::Idle { tag } => {
                self.events.push_back(Event::IdleEnded);
                if line.eq_ignore_ascii_case(b"DONE") {
                    self.flush_updates(true);
                    self.tagged(&tag, Status::new(StatusKind::Ok, None, "IDLE terminated"));
                } else {
                    self.bad(Some(&tag), None, "Expected DONE");
                }
            }
            _ => self.command_line(line),
        }
        true
    }

    /// Drops a half-assembled command.
    fn abandon_command(&mut self, reason: AppendAbort) {
        self.cmd.clear();
        self.discard = None;
        if self.append.take().is_some() {
            self.events.push_back(Event::AppendAborted { reason });
        }
    }

    /// One line of a command: the whole command, or a segment before a literal.
    fn command_line(&mut self, line: &[u8]) {
        if self.append.is_some() && self.discard.is_none() {
            return self.append_segment(line);
        }
        let segment_start = self.cmd.len();
        if self.discard.is_none() && segment_start + line.len() + 2 > self.config.max_command {
            let tag = leading_tag(if self.cmd.is_empty() { line } else { &self.cmd });
            self.cmd.clear();
            self.discard = Some((
                tag,
                Status::new(StatusKind::Bad, Some(Code::TooBig), "Command too long"),
            ));
        }
        if self.discard.is_none() {
            self.cmd.extend_from_slice(line);
            self.cmd.extend_from_slice(b"\r\n");
        }
        match announcement(line) {
            None => self.command_complete(),
            Some(Err(())) => {
                let tag = leading_tag(if self.cmd.is_empty() { line } else { &self.cmd });
                self.cmd.clear();
                self.discard = None;
                self.bad(tag.as_ref(), None, "Invalid literal announcement");
            }
            Some(Ok(a)) if self.discard.is_some() => self.skip_or_finish(a),
            Some(Ok(a)) => {
                let at = segment_start + a.start;
                // Before login an APPEND is only a command with a literal.
                let appending = self.state != State::NotAuthenticated;
                if let Some((flags, date)) = appending.then(|| self.append_prefix(at)).flatten() {
                    self.cmd.clear();
                    return self.append_message(flags, date, a);
                }
                self.literal_announced(a);
            }
        }
    }

    /// A literal of a command being dropped: skip it, or (sync) answer now,
    /// since the client waits for a `+` that will not come.
    pub(super) fn skip_or_finish(&mut self, a: framing::Announcement) {
        if a.sync {
            self.finish_discard();
        } else {
            self.phase = Phase::Skip {
                remaining: a.length,
            };
        }
    }

    fn literal_announced(&mut self, a: framing::Announcement) {
        let too_big = a.length > self.config.max_literal
            || self.cmd.len() + a.length as usize > self.config.max_command;
        if too_big && !a.sync && self.state == State::NotAuthenticated {
            // RFC 7888 §4: a literal too large that is coming anyway, from
            // someone not logged in, is refused and the connection closed,
            // rather than read to the end only to be thrown away.
            let tag = leading_tag(&self.cmd);
            self.cmd.clear();
            let bad = Status::new(StatusKind::Bad, Some(Code::TooBig), "Literal too large");
            match tag {
                Some(tag) => self.tagged(&tag, bad),
                None => self.write_untagged(&Untagged::Status(bad)),
            }
            self.untagged_status(StatusKind::Bye, None, "Literal too large before login");
            self.close();
            return;
        }
        if too_big {
            let tag = leading_tag(&self.cmd);
            self.cmd.clear();
            self.discard = Some((
                tag,
                Status::new(StatusKind::Bad, Some(Code::TooBig), "Literal too large"),
            ));
            return self.skip_or_finish(a);
        }
        if a.sync {
            self.send_continue("Ready for literal data");
        }
        if a.length > 0 {
            self.phase = Phase::Literal {
                remaining: a.length,
            };
        }
    }

    /// Answers a command that was being dropped.
    pub(super) fn finish_discard(&mut self) {
        self.cmd.clear();
        if let Some((tag, status)) = self.discard.take() {
            match tag {
                Some(tag) => self.tagged(&tag, status),
                None => {
                    self.errors += 1;
                    self.write_untagged(&Untagged::Status(status));
                }
            }
        }
    }
}

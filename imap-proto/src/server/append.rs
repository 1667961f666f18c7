//! APPEND: recognising a message literal, streaming it to the application,
//! and MULTIAPPEND's further messages.

use super::framing::announcement;
use super::{Append, AppendAbort, Event, Pending, Phase, Session, State, framing, text_of};
use crate::codec::{self, DecodeError, Parser};
use crate::types::{Code, Status, StatusKind};

impl Session {
    /// If `cmd[..end]` is `tag APPEND mailbox [flags] [date] [UTF8 (]`, the
    /// literal announced at `end` is a message: starts the APPEND.
    pub(super) fn append_prefix(
        &mut self,
        end: usize,
    ) -> Option<(Vec<crate::types::Flag>, Option<crate::types::DateTime>)> {
        // Parsed up to the announcement, which is still there to end the tokens.
        let mut p = Parser::over_slice(&self.cmd, self.config.max_depth, true);
        let tag = p.tag().ok()?;
        p.sp().ok()?;
        if !p.keyword("APPEND").ok()? {
            return None;
        }
        p.sp().ok()?;
        let mailbox = p.mailbox().ok()?;
        p.sp().ok()?;
        let (flags, date) = codec::append_options(&mut p).ok()?;
        let utf8_open = codec::append_utf8_open(&mut p).ok()?;
        if p.pos != end {
            return None;
        }
        if !matches!(self.state, State::Authenticated | State::Selected) {
            // Not allowed now: answered like any command in the wrong state.
            return None;
        }
        self.append = Some(Append {
            tag,
            mailbox,
            utf8_open,
            refused: None,
            accepted: 0,
        });
        Some((flags, date))
    }

    /// A message of the APPEND was announced.
    pub(super) fn append_message(
        &mut self,
        flags: Vec<crate::types::Flag>,
        date: Option<crate::types::DateTime>,
        a: framing::Announcement,
    ) {
        let Some(append) = self.append.as_mut() else {
            return;
        };
        if append.utf8_open && !a.binary {
            // RFC 6855 §4: the UTF8 form carries a literal8.
            return self.append_syntax_error(a, "UTF8 needs ~{n}");
        }
        if append.refused.is_none() && a.length > self.config.max_append {
            append.refused = Some(Status::new(
                StatusKind::No,
                Some(Code::TooBig),
                "Message too large",
            ));
        }
        if append.refused.is_some() {
            if a.sync {
                return self.finish_refused_append();
            }
            self.phase = Phase::Skip {
                remaining: a.length,
            };
            return;
        }
        let mailbox = append.mailbox.clone();
        let ticket = self.wait_for(Pending::AppendStart { sync: a.sync });
        self.events.push_back(Event::AppendStart {
            ticket,
            mailbox,
            flags,
            date,
            size: a.length,
            binary: a.binary,
        });
        self.phase = Phase::AppendData {
            remaining: a.length,
        };
        if a.length == 0 {
            self.events.push_back(Event::AppendMessageEnd);
            self.phase = Phase::Command;
        }
    }

    /// The line after an APPEND message: the end, or the next message (MULTIAPPEND).
    pub(super) fn append_segment(&mut self, line: &[u8]) {
        let Some(append) = self.append.as_mut() else {
            return;
        };
        let mut rest = line;
        if append.utf8_open {
            match rest.strip_prefix(b")") {
                Some(r) => rest = r,
                None => {
                    let a = announcement(line).and_then(Result::ok);
                    return self.append_syntax_error_opt(a, "Expected )");
                }
            }
        }
        if rest.is_empty() {
            if append.refused.is_some() {
                return self.finish_refused_append();
            }
            let tag = append.tag.clone();
            self.append = None;
            let ticket = self.wait_for(Pending::AppendEnd { tag });
            self.events.push_back(Event::AppendEnd { ticket });
            return;
        }
        let a = match announcement(rest) {
            Some(Ok(a)) => a,
            _ => {
                return self
                    .append_syntax_error_opt(None, "Expected another message or end of line");
            }
        };
        let mut p = Parser::over_slice(rest, self.config.max_depth, true);
        let parsed = (|| {
            p.sp()?;
            let (flags, date) = codec::append_options(&mut p)?;
            let utf8_open = codec::append_utf8_open(&mut p)?;
            Ok::<_, DecodeError>((flags, date, utf8_open))
        })();
        match parsed {
            Ok((flags, date, utf8_open)) if p.pos == a.start => {
                append.utf8_open = utf8_open;
                self.append_message(flags, date, a);
            }
            _ => self.append_syntax_error(a, "Invalid APPEND message options"),
        }
    }

    fn append_syntax_error(&mut self, a: framing::Announcement, text: &str) {
        self.append_syntax_error_opt(Some(a), text);
    }

    /// Drops the APPEND with BAD, skipping a non-synchronising literal first.
    fn append_syntax_error_opt(&mut self, a: Option<framing::Announcement>, text: &str) {
        let Some(append) = self.append.take() else {
            return;
        };
        self.events.push_back(Event::AppendAborted {
            reason: AppendAbort::Syntax,
        });
        let status = Status::new(StatusKind::Bad, None, text_of(text));
        self.discard = Some((Some(append.tag), status));
        match a {
            Some(a) => self.skip_or_finish(a),
            None => self.finish_discard(),
        }
    }

    /// Answers a refused APPEND; earlier messages of it are dropped.
    pub(super) fn finish_refused_append(&mut self) {
        let Some(append) = self.append.take() else {
            return;
        };
        if append.accepted > 0 {
            self.events.push_back(Event::AppendAborted {
                reason: AppendAbort::Refused,
            });
        }
        let status = append
            .refused
            .unwrap_or_else(|| Status::new(StatusKind::No, None, "APPEND refused"));
        self.tagged(&append.tag, status);
    }
}

//! Writing responses: tagged and untagged status, continuation requests,
//! pending mailbox updates, and the small helpers every command uses.

use super::{Event, Session, State, text_of};
use crate::codec::{self, W};
use crate::types::{Code, Continue, Response, Status, StatusKind, Tag, Tagged, Untagged};

impl Session {
    pub(super) fn write(&mut self, response: &Response) {
        codec::write_response(&mut self.out, response);
    }

    pub(super) fn write_untagged(&mut self, u: &Untagged) {
        let mut w = W::new(&mut self.out);
        w.raw(b"* ");
        codec::write_untagged_body(&mut w, u);
        w.crlf();
    }

    pub(super) fn untagged_status(&mut self, kind: StatusKind, code: Option<Code>, text: &str) {
        self.write_untagged(&Untagged::Status(Status::new(kind, code, text_of(text))));
    }

    pub(super) fn tagged(&mut self, tag: &Tag, status: Status) {
        if status.kind == StatusKind::Bad {
            self.errors += 1;
        }
        self.write(&Response::Tagged(Tagged {
            tag: tag.clone(),
            status,
        }));
        if self.errors >= self.config.max_errors && !self.closing {
            self.untagged_status(StatusKind::Bye, None, "Too many errors");
            self.close();
        }
    }

    pub(super) fn bad(&mut self, tag: Option<&Tag>, code: Option<Code>, text: &str) {
        let status = Status::new(StatusKind::Bad, code, text_of(text));
        match tag {
            Some(tag) => self.tagged(tag, status),
            None => {
                self.errors += 1;
                self.write_untagged(&Untagged::Status(status));
                if self.errors >= self.config.max_errors && !self.closing {
                    self.untagged_status(StatusKind::Bye, None, "Too many errors");
                    self.close();
                }
            }
        }
    }

    pub(super) fn count_error(&mut self) {
        self.errors += 1;
        if self.errors >= self.config.max_errors && !self.closing {
            self.untagged_status(StatusKind::Bye, None, "Too many errors");
            self.close();
        }
    }

    pub(super) fn send_continue(&mut self, text: &str) {
        self.write(&Response::Continue(Continue {
            code: None,
            text: text_of(text),
        }));
    }

    /// Reports queued mailbox changes that may go out now.
    pub(super) fn flush_updates(&mut self, expunges_allowed: bool) {
        let Some(view) = self.selected.as_mut() else {
            return;
        };
        if !view.has_pending() {
            return;
        }
        let mut out = Vec::new();
        view.flush(expunges_allowed, &mut out);
        for u in &out {
            self.write_untagged(u);
        }
    }

    pub(super) fn unselect(&mut self, announce: bool) {
        if self.selected.take().is_some() {
            self.state = State::Authenticated;
            self.saved = None;
            if announce {
                self.events.push_back(Event::Unselected);
            }
        }
    }

    pub(super) fn logged_in(&mut self, tag: &Tag) {
        self.state = State::Authenticated;
        self.errors = 0;
        let caps = self.config.capabilities(self.tls, true);
        self.tagged(
            tag,
            Status::new(StatusKind::Ok, Some(Code::Capability(caps)), "Logged in"),
        );
    }

    pub(super) fn ok(&mut self, tag: &Tag, text: &str) {
        self.tagged(tag, Status::new(StatusKind::Ok, None, text_of(text)));
    }

    pub(super) fn no(&mut self, tag: &Tag, code: Option<Code>, text: &str) {
        self.tagged(tag, Status::new(StatusKind::No, code, text_of(text)));
    }
}

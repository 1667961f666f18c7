//! Parsing a message as it arrives, chunk by chunk, without holding it.
//!
//! [`StreamParser`] reports each part's header when its header block is
//! complete, the part's own body octets as they are confirmed, and the part's
//! end with its byte ranges: the same tree, ranges and defects that
//! [`Message::parse`](crate::Message::parse) finds in the whole message.
//! It holds at most one header block (bounded by
//! [`Limits::max_header_len`]), one line that may be a delimiter (at most
//! 1002 octets) and a few line breaks whose owner is not yet known.

use std::mem;
use std::ops::Range;

use crate::content_type::ContentType;
use crate::defect::{Defect, DefectKind};
use crate::header::{self, Header, LineKind};
use crate::message::{Body, Limits, MAX_DELIMITER_LINE, Part, delimiter_line};

/// A part whose header block is complete.
#[derive(Debug)]
pub struct PartStart<'b> {
    /// Its fields; field ranges are offsets in the message.
    pub header: Header<'b>,
    /// Where the header block lies, blank line included.
    pub header_range: Range<usize>,
    /// The content type given, or the default of its context.
    pub content_type: ContentType<'b>,
    /// True when `content_type` came from a `Content-Type` field that parsed.
    pub content_type_given: bool,
    /// 0 for the message, 1 for its parts or enclosed message, and so on.
    pub depth: usize,
}

/// What a finished part turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartKind {
    /// Content: its body octets came as [`Event::Body`].
    Leaf,
    /// A multipart; its own body octets were the preamble and the epilogue.
    Multipart {
        /// The text before the first delimiter line.
        preamble: Range<usize>,
        /// The text after the closing delimiter line.
        epilogue: Range<usize>,
    },
    /// An enclosed message: its one part started and ended inside it.
    Message,
}

/// What the parser learned from the octets fed so far.
#[derive(Debug)]
pub enum Event<'b> {
    /// A part begins; the events up to its [`Event::PartEnd`] belong to it.
    PartStart(PartStart<'b>),
    /// Octets of the innermost open part's own body, at `offset` in the
    /// message: a leaf's content, or a multipart's preamble or epilogue.
    Body {
        /// Where `data` lies in the message.
        offset: usize,
        /// The octets.
        data: &'b [u8],
    },
    /// The innermost open part is complete.
    PartEnd {
        /// Where its body lies (as [`Part::body_range`](crate::Part::body_range)).
        body_range: Range<usize>,
        /// What it holds.
        kind: PartKind,
    },
    /// A repair, as in [`Message::defects`](crate::Message::defects).
    Defect(Defect),
}

/// Receives the events.
type Sink<'s> = dyn FnMut(Event<'_>) + 's;

/// An incremental MIME parser: [`feed`](StreamParser::feed) it chunks of
/// any size, then [`finish`](StreamParser::finish) it.
///
/// ```
/// use sansmail_mime::stream::{Event, StreamParser};
///
/// let mut bodies = Vec::new();
/// let mut parser = StreamParser::default();
/// let mut sink = |event: Event<'_>| {
///     if let Event::Body { data, .. } = event {
///         bodies.extend_from_slice(data);
///     }
/// };
/// for chunk in [&b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nfi"[..], b"rst\r\n--b--\r\n"] {
///     parser.feed(chunk, &mut sink);
/// }
/// parser.finish(&mut sink);
/// assert_eq!(bodies, b"first");
/// ```
#[derive(Debug)]
pub struct StreamParser {
    limits: Limits,
    /// Offset of the next octet.
    at: usize,
    /// The open parts, outermost first.
    frames: Vec<Frame>,
    /// Parts counted against `limits.max_parts`.
    parts: usize,
    /// The header block of the innermost part, while it is being read.
    header: Vec<u8>,
    /// Lines in `header`.
    header_lines: usize,
    /// Line breaks from the blank line that ended `header` on (0: no blank line yet).
    breaks_after_blank: usize,
    /// The incomplete line held: any line in a header, one that may be a delimiter in a body.
    line: Vec<u8>,
    /// The next octet starts a line.
    line_start: bool,
    /// Trailing line breaks (and a final CR) of a body, not yet given out:
    /// they belong to a delimiter line if one follows.
    pending: Vec<u8>,
    /// Where the last delimiter line ended, and the length of its line break.
    delimiter_end: usize,
    delimiter_eol: usize,
}

#[derive(Debug)]
struct Frame {
    start: usize,
    depth: usize,
    in_digest: bool,
    end: Option<usize>,
    /// False for a part without a header block until it is reported.
    announced: bool,
    state: State,
}

#[derive(Debug)]
enum State {
    Header,
    Leaf {
        body_start: usize,
    },
    Message {
        body_start: usize,
    },
    Multipart {
        body_start: usize,
        boundary: Vec<u8>,
        digest: bool,
        phase: Phase,
    },
}

#[derive(Debug)]
enum Phase {
    Preamble,
    Children {
        preamble: Range<usize>,
    },
    Closed {
        preamble: Range<usize>,
        epilogue_start: usize,
    },
    /// Too many parts: the rest is one part, and the boundary no longer counts.
    Rest {
        preamble: Range<usize>,
    },
}

impl Default for StreamParser {
    fn default() -> Self {
        StreamParser::new(Limits::default())
    }
}

impl StreamParser {
    /// A parser for one message, with `limits` as [`Message::parse_with`](crate::Message::parse_with) takes them.
    pub fn new(limits: Limits) -> Self {
        StreamParser {
            limits,
            at: 0,
            frames: vec![Frame::new(0, 0, false)],
            parts: 0,
            header: Vec::new(),
            header_lines: 0,
            breaks_after_blank: 0,
            line: Vec::new(),
            line_start: true,
            pending: Vec::new(),
            delimiter_end: 0,
            delimiter_eol: 0,
        }
    }

    /// Octets fed so far.
    pub fn offset(&self) -> usize {
        self.at
    }

    /// Octets of the message held now: at most the header size limit, one
    /// possible delimiter line and a few line breaks.
    pub fn held(&self) -> usize {
        self.header.len() + self.line.len() + self.pending.len()
    }

    /// Parses the next chunk of the message.
    pub fn feed(&mut self, chunk: &[u8], mut sink: impl FnMut(Event<'_>)) {
        self.scan(chunk, &mut sink);
    }

    /// Ends the message: the last line, the open parts and the missing closing delimiters.
    pub fn finish(mut self, mut sink: impl FnMut(Event<'_>)) {
        let sink: &mut Sink<'_> = &mut sink;
        // Ending a header block may hand its last line to the body, held again.
        while !self.line.is_empty() && !self.frames.is_empty() {
            let line = mem::take(&mut self.line);
            if self.in_header() {
                self.header_line(line, sink);
            } else {
                self.candidate_line(line, sink);
            }
        }
        let end = self.at;
        self.end_frames(0, end, false, sink);
    }

    fn in_header(&self) -> bool {
        matches!(self.frames.last().map(|f| &f.state), Some(State::Header))
    }

    fn scan(&mut self, mut data: &[u8], sink: &mut Sink<'_>) {
        while !data.is_empty() && !self.frames.is_empty() {
            let used = if self.in_header() {
                self.header_scan(data, sink)
            } else {
                self.body_scan(data, sink)
            };
            data = &data[used..];
        }
    }

    /// Collects a header line; returns the octets used.
    fn header_scan(&mut self, data: &[u8], sink: &mut Sink<'_>) -> usize {
        let Some(newline) = memchr::memchr(b'\n', data) else {
            self.line.extend_from_slice(data);
            self.at += data.len();
            self.header_partial_line(sink);
            return data.len();
        };
        self.line.extend_from_slice(&data[..=newline]);
        self.at += newline + 1;
        let line = mem::take(&mut self.line);
        self.header_line(line, sink);
        newline + 1
    }

    /// An incomplete header line that already decides where the header ends.
    fn header_partial_line(&mut self, sink: &mut Sink<'_>) {
        let line = &self.line;
        let may_be_delimiter = line.starts_with(b"-") && line.len() <= MAX_DELIMITER_LINE + 2;
        if may_be_delimiter {
            return;
        }
        let ends_header = if self.breaks_after_blank > 0 {
            // After the blank line, anything but a line break is body.
            line.as_slice() != b"\r"
        } else {
            let content_end = self.at - usize::from(line.ends_with(b"\r"));
            header::too_long(self.frame().start, content_end, self.limits.max_header_len)
        };
        if ends_header {
            let line = mem::take(&mut self.line);
            if self.breaks_after_blank == 0 {
                // The header parser notes the limit on this line.
                self.header.extend_from_slice(&line);
                self.commit_header_and_rescan(sink);
            } else {
                self.at -= line.len();
                self.commit_header_and_rescan(sink);
                self.scan(&line, sink);
            }
        }
    }

    /// A complete header line (or the last line of the message), already counted in `at`.
    fn header_line(&mut self, line: Vec<u8>, sink: &mut Sink<'_>) {
        if let Some((k, close)) = self.active_delimiter(&line) {
            if self.header_opens_with(&line) {
                // The part being read is a multipart that reuses an outer
                // boundary: the line is its own first delimiter.
                self.at -= line.len();
                self.commit_header_and_rescan(sink);
                self.scan(&line, sink);
            } else {
                self.delimiter(k, close, &line, sink);
            }
            return;
        }
        if self.breaks_after_blank > 0 {
            if line == b"\n" || line == b"\r\n" {
                self.header.extend_from_slice(&line);
                self.breaks_after_blank += 1;
                // Only so many line breaks can go to delimiters: the blank line stays.
                if self.breaks_after_blank > self.frames.len() + 1 {
                    self.commit_header_and_rescan(sink);
                }
            } else {
                self.at -= line.len();
                self.commit_header_and_rescan(sink);
                self.scan(&line, sink);
            }
            return;
        }
        let content = header::strip_eol(&line);
        let too_long = header::too_long(
            self.frame().start,
            self.at - line.len() + content.len(),
            self.limits.max_header_len,
        );
        let kind = header::classify_line(content, self.header_lines == 0);
        self.header.extend_from_slice(&line);
        self.header_lines += 1;
        if too_long || kind == LineKind::NotAField {
            self.commit_header_and_rescan(sink);
        } else if kind == LineKind::Blank {
            self.breaks_after_blank = 1;
        }
    }

    /// True when the held header block makes a multipart that `line` is a
    /// delimiter line of.
    fn header_opens_with(&self, line: &[u8]) -> bool {
        if self.frame().depth >= self.limits.max_depth {
            return false;
        }
        let header = &self.header;
        let parsed = header::parse(
            header,
            0,
            header.len(),
            self.limits.max_header_len,
            &mut Vec::new(),
        );
        let field = parsed.header.get("content-type").map(|f| f.raw_value);
        let (content_type, _) = ContentType::resolve(field, ContentType::text_plain());
        content_type.is_multipart()
            && content_type
                .param("boundary")
                .is_some_and(|b| delimiter_line(line, b).is_some())
    }

    /// Ends the header block of the innermost part where the header parser
    /// ends it and reads what follows in its body.
    fn commit_header_and_rescan(&mut self, sink: &mut Sink<'_>) {
        let tail = self.commit_header(sink);
        self.scan(&tail, sink);
    }

    /// Parses the held header block, reports the part and sets up its body.
    /// Returns the held octets past the header, which belong to the body;
    /// `at` is moved back to where they start.
    fn commit_header(&mut self, sink: &mut Sink<'_>) -> Vec<u8> {
        let limits = self.limits;
        let top = self.frames.len() - 1;
        let (start, depth, in_digest) = {
            let f = &self.frames[top];
            (f.start, f.depth, f.in_digest)
        };
        let mut defects = Vec::new();
        let parsed = header::parse(
            &self.header,
            0,
            self.header.len(),
            limits.max_header_len,
            &mut defects,
        );
        let body_start = start + parsed.body_start;
        let mut header = parsed.header;
        header.shift(start);
        for mut defect in defects {
            defect.offset += start;
            sink(Event::Defect(defect));
        }
        let default = if in_digest {
            ContentType::message_rfc822()
        } else {
            ContentType::text_plain()
        };
        let (content_type, content_type_given) =
            ContentType::resolve(header.get("content-type").map(|f| f.raw_value), default);
        let nests = content_type.is_multipart() || content_type.is_message();
        let mut defect = None;
        let state = if nests && depth >= limits.max_depth {
            defect = Some(DefectKind::NestingTooDeep);
            State::Leaf { body_start }
        } else if content_type.is_multipart() {
            match content_type.param("boundary") {
                Some(boundary) => State::Multipart {
                    body_start,
                    boundary: boundary.to_vec(),
                    digest: content_type.subtype == "digest",
                    phase: Phase::Preamble,
                },
                None => {
                    defect = Some(DefectKind::NoBoundaryInMultipart);
                    State::Leaf { body_start }
                }
            }
        } else if content_type.is_message() {
            State::Message { body_start }
        } else {
            State::Leaf { body_start }
        };
        sink(Event::PartStart(PartStart {
            header,
            header_range: start..body_start,
            content_type,
            content_type_given,
            depth,
        }));
        if let Some(kind) = defect {
            sink(Event::Defect(Defect {
                kind,
                offset: body_start,
            }));
        }
        let enclosed = matches!(state, State::Message { .. });
        self.frames[top].state = state;
        let tail = self.header.split_off(parsed.body_start);
        self.header.clear();
        self.header_lines = 0;
        self.breaks_after_blank = 0;
        self.line_start = true;
        self.at = body_start;
        if enclosed {
            self.parts += 1;
            self.frames.push(Frame::new(body_start, depth + 1, false));
        }
        tail
    }

    /// Reads body octets of the innermost part; returns the octets used.
    fn body_scan(&mut self, data: &[u8], sink: &mut Sink<'_>) -> usize {
        let watching = self.frames.iter().any(Frame::boundary_active);
        let mut i = 0;
        while i < data.len() {
            if !self.line.is_empty() {
                // A line that may be a delimiter: hold it to its end.
                let rest = &data[i..];
                let Some(newline) = memchr::memchr(b'\n', rest) else {
                    self.at += rest.len();
                    self.line.extend_from_slice(rest);
                    if self.line.len() > MAX_DELIMITER_LINE + 2 {
                        let line = mem::take(&mut self.line);
                        self.content(&line, sink);
                        self.line_start = false;
                    }
                    return data.len();
                };
                self.line.extend_from_slice(&rest[..=newline]);
                self.at += newline + 1;
                i += newline + 1;
                self.line_start = true;
                let line = mem::take(&mut self.line);
                if self.candidate_line(line, sink) {
                    return i;
                }
                continue;
            }
            if watching && self.line_start && data[i] == b'-' {
                self.line.push(b'-');
                self.at += 1;
                i += 1;
                continue;
            }
            let end = if watching {
                memchr::memmem::find(&data[i..], b"\n-").map_or(data.len(), |n| i + n + 1)
            } else {
                data.len()
            };
            let content = &data[i..end];
            self.at += content.len();
            self.content(content, sink);
            self.line_start = content.ends_with(b"\n");
            i = end;
        }
        data.len()
    }

    /// A complete held body line (or the last line of the message): a
    /// delimiter or content. Returns true when it was a delimiter.
    fn candidate_line(&mut self, line: Vec<u8>, sink: &mut Sink<'_>) -> bool {
        match self.active_delimiter(&line) {
            Some((k, close)) => {
                self.delimiter(k, close, &line, sink);
                true
            }
            None => {
                self.content(&line, sink);
                false
            }
        }
    }

    /// The innermost open multipart that `line` is a delimiter line of: a
    /// nested multipart that reuses an outer boundary keeps its own parts,
    /// as mail clients read it.
    fn active_delimiter(&self, line: &[u8]) -> Option<(usize, bool)> {
        if !line.starts_with(b"--") {
            return None;
        }
        self.frames
            .iter()
            .enumerate()
            .rev()
            .find_map(|(k, f)| match &f.state {
                State::Multipart {
                    boundary,
                    phase: Phase::Preamble | Phase::Children { .. },
                    ..
                } => delimiter_line(line, boundary).map(|close| (k, close)),
                _ => None,
            })
    }

    /// A delimiter line of the multipart `frames[k]`, already counted in `at`.
    fn delimiter(&mut self, k: usize, close: bool, line: &[u8], sink: &mut Sink<'_>) {
        let line_start = self.at - line.len();
        let line_end = self.at;
        let State::Multipart {
            body_start,
            digest,
            phase,
            ..
        } = &self.frames[k].state
        else {
            unreachable!("only multiparts have active boundaries")
        };
        let (body_start, digest) = (*body_start, *digest);
        let preamble = match phase {
            Phase::Children { preamble } => {
                let preamble = preamble.clone();
                self.end_frames(k + 1, line_start, true, sink);
                preamble
            }
            _ => {
                if close {
                    // The first delimiter closes: a multipart without parts.
                    sink(Event::Defect(Defect {
                        kind: DefectKind::StartBoundaryNotFound,
                        offset: body_start,
                    }));
                }
                let end = self.drop_line_break(line_start, body_start);
                self.give_pending(self.pending.len(), end, sink);
                body_start..end
            }
        };
        self.line_start = true;
        self.delimiter_end = line_end;
        self.delimiter_eol = match line {
            [.., b'\r', b'\n'] => 2,
            [.., b'\n'] => 1,
            _ => 0,
        };
        let frame = &mut self.frames[k];
        let depth = frame.depth + 1;
        let State::Multipart { phase, .. } = &mut frame.state else {
            unreachable!("checked above")
        };
        if close {
            *phase = Phase::Closed {
                preamble,
                epilogue_start: line_end,
            };
        } else if self.parts >= self.limits.max_parts {
            *phase = Phase::Rest { preamble };
            sink(Event::Defect(Defect {
                kind: DefectKind::TooManyParts,
                offset: line_start,
            }));
            let mut rest = Frame::new(line_end, depth, false);
            rest.state = State::Leaf {
                body_start: line_end,
            };
            rest.announced = false;
            self.frames.push(rest);
        } else {
            *phase = Phase::Children { preamble };
            self.parts += 1;
            self.frames.push(Frame::new(line_end, depth, digest));
        }
    }

    /// Confirmed body octets of the innermost part, just counted in `at`:
    /// given out, except trailing line breaks, which are held.
    fn content(&mut self, data: &[u8], sink: &mut Sink<'_>) {
        if data.is_empty() {
            return;
        }
        self.announce(sink);
        let data_start = self.at - data.len();
        let held = held_tail_len(&self.pending, data);
        if held >= data.len() {
            let give = self.pending.len() - (held - data.len());
            self.give_pending(give, data_start, sink);
            self.pending.extend_from_slice(data);
        } else {
            self.give_pending(self.pending.len(), data_start, sink);
            let (give, keep) = data.split_at(data.len() - held);
            sink(Event::Body {
                offset: data_start,
                data: give,
            });
            self.pending.extend_from_slice(keep);
        }
        // No more line breaks than there are delimiters to claim them.
        let most = 2 * (self.frames.len() + 2) + 1;
        if self.pending.len() > most {
            self.give_pending(self.pending.len() - most, self.at, sink);
        }
    }

    /// Gives out the first `n` held octets; the held octets end at `end`.
    fn give_pending(&mut self, n: usize, end: usize, sink: &mut Sink<'_>) {
        if n == 0 {
            return;
        }
        self.announce(sink);
        sink(Event::Body {
            offset: end - self.pending.len(),
            data: &self.pending[..n],
        });
        self.pending.drain(..n);
    }

    /// Reports a part that has no header block of its own, before its first octet.
    fn announce(&mut self, sink: &mut Sink<'_>) {
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        if frame.announced {
            return;
        }
        frame.announced = true;
        sink(Event::PartStart(PartStart {
            header: Header::default(),
            header_range: frame.start..frame.start,
            content_type: ContentType::text_plain(),
            content_type_given: false,
            depth: frame.depth,
        }));
    }

    /// Removes the line break that ends the held octets, which end at
    /// `end`, when it lies at or after `floor`: it belongs to a delimiter
    /// line (RFC 2046 §5.1.1). Returns where the content now ends.
    fn drop_line_break(&mut self, end: usize, floor: usize) -> usize {
        let held = if self.in_header() {
            &mut self.header
        } else {
            &mut self.pending
        };
        if !held.is_empty() {
            let mut cut = 0;
            if held.ends_with(b"\n") {
                cut = 1 + usize::from(held[..held.len() - 1].ends_with(b"\r"));
            }
            if end - cut < floor {
                return end;
            }
            held.truncate(held.len() - cut);
            return end - cut;
        }
        // Nothing held: the line break may end the last delimiter line.
        let eol = self.delimiter_eol;
        if eol > 0 && end == self.delimiter_end && end - eol >= floor {
            self.delimiter_eol = 0;
            return end - eol;
        }
        end
    }

    /// Ends `frames[keep..]` at `end`: the first of them loses the line break
    /// before `end` when `drop_first`, and each multipart among them that was
    /// not closed loses one more for its last part.
    fn end_frames(&mut self, keep: usize, end: usize, drop_first: bool, sink: &mut Sink<'_>) {
        let mut end = end;
        let mut drop = drop_first;
        for j in keep..self.frames.len() {
            if drop {
                end = self.drop_line_break(end, self.frames[j].start);
            }
            self.frames[j].end = Some(end);
            drop = matches!(
                self.frames[j].state,
                State::Multipart {
                    phase: Phase::Children { .. },
                    ..
                }
            );
            if drop {
                sink(Event::Defect(Defect {
                    kind: DefectKind::CloseBoundaryNotFound,
                    offset: end,
                }));
            }
        }
        let at = self.at;
        while self.frames.len() > keep {
            self.close_top(sink);
        }
        self.at = at;
    }

    /// Ends the innermost part at its `end`.
    fn close_top(&mut self, sink: &mut Sink<'_>) {
        let top = self.frames.len() - 1;
        let end = self.frames[top].end.unwrap_or(self.at);
        if self.frames[top].start > end {
            // Its delimiter line lost its line break to an outer delimiter.
            self.frames[top].start = end;
        }
        if self.in_header() {
            self.at = end;
            let tail = self.commit_header(sink);
            self.scan(&tail, sink);
            // Parts opened since (an enclosed message) end here too.
            while self.frames.len() > top + 1 {
                let inner = self.frames.len() - 1;
                self.frames[inner].end.get_or_insert(end);
                self.close_top(sink);
            }
        }
        self.give_pending(self.pending.len(), end, sink);
        self.announce(sink);
        let frame = self.frames.pop().expect("an open part");
        let (body_start, kind) = match frame.state {
            State::Header => unreachable!("committed above"),
            State::Leaf { body_start } => (body_start, PartKind::Leaf),
            State::Message { body_start } => (body_start, PartKind::Message),
            State::Multipart {
                body_start, phase, ..
            } => {
                let kind = match phase {
                    Phase::Preamble => {
                        sink(Event::Defect(Defect {
                            kind: DefectKind::StartBoundaryNotFound,
                            offset: body_start,
                        }));
                        PartKind::Leaf
                    }
                    Phase::Children { preamble } | Phase::Rest { preamble } => {
                        PartKind::Multipart {
                            preamble,
                            epilogue: end..end,
                        }
                    }
                    Phase::Closed {
                        preamble,
                        epilogue_start,
                    } => PartKind::Multipart {
                        preamble,
                        epilogue: epilogue_start.min(end)..end,
                    },
                };
                (body_start, kind)
            }
        };
        sink(Event::PartEnd {
            body_range: body_start.min(end)..end,
            kind,
        });
        self.pending.clear();
        self.line_start = true;
    }

    fn frame(&self) -> &Frame {
        self.frames.last().expect("an open part")
    }
}

/// How many octets at the end of `held` followed by `data` are line breaks
/// (LF or CRLF) and a final CR that may start one.
fn held_tail_len(held: &[u8], data: &[u8]) -> usize {
    let at = |i: usize| {
        if i < held.len() {
            held[i]
        } else {
            data[i - held.len()]
        }
    };
    let total = held.len() + data.len();
    let mut end = total;
    if end > 0 && at(end - 1) == b'\r' {
        end -= 1;
    }
    while end > 0 && at(end - 1) == b'\n' {
        end -= 1;
        if end > 0 && at(end - 1) == b'\r' {
            end -= 1;
        }
    }
    total - end
}

impl Frame {
    fn new(start: usize, depth: usize, in_digest: bool) -> Self {
        Frame {
            start,
            depth,
            in_digest,
            end: None,
            announced: true,
            state: State::Header,
        }
    }

    fn boundary_active(&self) -> bool {
        matches!(
            self.state,
            State::Multipart {
                phase: Phase::Preamble | Phase::Children { .. },
                ..
            }
        )
    }
}

/// The part tree with its byte ranges, owned: what [`StreamParser`]
/// reports, kept (for example to serve IMAP section fetches later from
/// stored octets), or taken from a parsed [`Part`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outline {
    /// Where the header block lies.
    pub header_range: Range<usize>,
    /// Where the body lies.
    pub body_range: Range<usize>,
    /// `type/subtype`, lowercased (the default of its context when not given).
    pub content_type: String,
    /// What it holds.
    pub kind: PartKind,
    /// Its parts (a multipart) or its one enclosed part (a message).
    pub parts: Vec<Outline>,
}

impl Outline {
    /// The outline of a part parsed whole.
    pub fn of(part: &Part<'_>) -> Outline {
        let (kind, parts) = match &part.body {
            Body::Leaf => (PartKind::Leaf, Vec::new()),
            Body::Multipart {
                parts,
                preamble,
                epilogue,
                ..
            } => (
                PartKind::Multipart {
                    preamble: preamble.clone(),
                    epilogue: epilogue.clone(),
                },
                parts.iter().map(Outline::of).collect(),
            ),
            Body::Message(inner) => (PartKind::Message, vec![Outline::of(inner)]),
        };
        Outline {
            header_range: part.header_range.clone(),
            body_range: part.body_range.clone(),
            content_type: format!("{}/{}", part.content_type.kind, part.content_type.subtype),
            kind,
            parts,
        }
    }
}

/// Builds the [`Outline`] and the defects list from [`Event`]s.
#[derive(Debug, Default)]
pub struct OutlineBuilder {
    open: Vec<Outline>,
    root: Option<Outline>,
    defects: Vec<Defect>,
}

impl OutlineBuilder {
    /// Takes in one event.
    pub fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::PartStart(start) => self.open.push(Outline {
                header_range: start.header_range.clone(),
                body_range: start.header_range.end..start.header_range.end,
                content_type: format!("{}/{}", start.content_type.kind, start.content_type.subtype),
                kind: PartKind::Leaf,
                parts: Vec::new(),
            }),
            Event::Body { .. } => {}
            Event::PartEnd { body_range, kind } => {
                let Some(mut part) = self.open.pop() else {
                    return;
                };
                part.body_range = body_range.clone();
                part.kind = kind.clone();
                match self.open.last_mut() {
                    Some(parent) => parent.parts.push(part),
                    None => self.root = Some(part),
                }
            }
            Event::Defect(defect) => self.defects.push(*defect),
        }
    }

    /// The tree (`None` before the message ended) and the defects, as reported.
    pub fn finish(self) -> (Option<Outline>, Vec<Defect>) {
        (self.root, self.defects)
    }
}

/// Parses `raw` whole with the incremental parser, which settles line by
/// line which open multipart a delimiter line belongs to (the innermost):
/// [`Message::parse`](crate::Message::parse) hands it messages where a
/// line could be a delimiter of two nested multiparts.
pub(crate) fn parse_whole(raw: &[u8], limits: Limits) -> crate::Message<'_> {
    let mut open: Vec<(Part<'_>, Vec<Part<'_>>)> = Vec::new();
    let mut root = None;
    let mut defects = Vec::new();
    let mut sink = |event: Event<'_>| match event {
        Event::PartStart(start) => {
            let range = start.header_range;
            // The fields again, borrowed from the input; the stream already
            // reported their defects.
            let header = header::parse(
                raw,
                range.start,
                range.end,
                limits.max_header_len,
                &mut Vec::new(),
            )
            .header;
            let default = if start.content_type.is_message() {
                ContentType::message_rfc822()
            } else {
                ContentType::text_plain()
            };
            let (content_type, content_type_given) =
                ContentType::resolve(header.get("content-type").map(|f| f.raw_value), default);
            let part = Part {
                header,
                body_range: range.end..range.end,
                header_range: range,
                content_type,
                content_type_given,
                body: Body::Leaf,
            };
            open.push((part, Vec::new()));
        }
        Event::Body { .. } => {}
        Event::PartEnd { body_range, kind } => {
            let Some((mut part, mut children)) = open.pop() else {
                return;
            };
            part.body_range = body_range;
            part.body = match kind {
                PartKind::Leaf => Body::Leaf,
                PartKind::Message => match children.pop() {
                    Some(inner) => Body::Message(Box::new(inner)),
                    None => Body::Leaf,
                },
                PartKind::Multipart { preamble, epilogue } => Body::Multipart {
                    parts: {
                        // The list grew by doubling; it keeps only what it holds.
                        children.shrink_to_fit();
                        children
                    },
                    boundary: part
                        .content_type
                        .params
                        .iter()
                        .find(|p| p.name == "boundary")
                        .map(|p| p.value.clone())
                        .unwrap_or_default(),
                    preamble,
                    epilogue,
                },
            };
            match open.last_mut() {
                Some((_, siblings)) => siblings.push(part),
                None => root = Some(part),
            }
        }
        Event::Defect(defect) => defects.push(defect),
    };
    let mut parser = StreamParser::new(limits);
    parser.feed(raw, &mut sink);
    parser.finish(&mut sink);
    let root = root.unwrap_or_else(|| Part {
        header: Header::default(),
        header_range: 0..0,
        body_range: 0..raw.len(),
        content_type: ContentType::text_plain(),
        content_type_given: false,
        body: Body::Leaf,
    });
    crate::Message { raw, root, defects }
}

/// Checks that streaming `raw` cut at `cuts` gives what parsing it whole
/// gives: the same outline, defects and body octets. For tests and fuzzing.
#[doc(hidden)]
pub fn compare_with_whole(raw: &[u8], cuts: &[usize], limits: Limits) -> Result<(), String> {
    let whole = crate::Message::parse_with(raw, limits);
    let mut expected_data: Vec<Vec<u8>> = Vec::new();
    whole.for_each_part(|part, _| {
        expected_data.push(match &part.body {
            Body::Leaf => whole.slice(&part.body_range).to_vec(),
            Body::Multipart {
                preamble, epilogue, ..
            } => [whole.slice(preamble), whole.slice(epilogue)].concat(),
            Body::Message(_) => Vec::new(),
        })
    });
    let mut builder = OutlineBuilder::default();
    let mut data: Vec<Vec<u8>> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut fault = None;
    let mut sink = |event: Event<'_>| {
        builder.event(&event);
        match event {
            Event::PartStart(_) => {
                open.push(data.len());
                data.push(Vec::new());
            }
            Event::Body {
                offset,
                data: bytes,
            } => {
                let Some(&part) = open.last() else {
                    fault = Some("body octets outside any part".to_string());
                    return;
                };
                if raw.get(offset..offset + bytes.len()) != Some(bytes) {
                    fault = Some(format!("body octets at {offset} differ from the input"));
                }
                data[part].extend_from_slice(bytes);
            }
            Event::PartEnd { .. } => {
                open.pop();
            }
            Event::Defect(_) => {}
        }
    };
    let mut parser = StreamParser::new(limits);
    let mut from = 0;
    for &cut in cuts.iter().chain(std::iter::once(&raw.len())) {
        let cut = cut.clamp(from, raw.len());
        parser.feed(&raw[from..cut], &mut sink);
        from = cut;
    }
    parser.finish(&mut sink);
    if let Some(fault) = fault {
        return Err(fault);
    }
    let (outline, mut defects) = builder.finish();
    let expected = Outline::of(&whole.root);
    if outline.as_ref() != Some(&expected) {
        return Err(format!(
            "outline differs:\nstreamed {outline:#?}\nwhole {expected:#?}"
        ));
    }
    let mut expected_defects = whole.defects.clone();
    defects.sort();
    expected_defects.sort();
    if defects != expected_defects {
        return Err(format!(
            "defects differ: streamed {defects:?}, whole {expected_defects:?}"
        ));
    }
    for (i, (got, want)) in data.iter().zip(&expected_data).enumerate() {
        if got != want {
            return Err(format!(
                "body octets of part {i} differ: streamed {:?}, whole {:?}",
                String::from_utf8_lossy(got),
                String::from_utf8_lossy(want)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way of cutting `raw` in two, and byte by byte.
    fn check_all_cuts(raw: &[u8]) {
        let limits = Limits::default();
        let bytewise: Vec<usize> = (1..raw.len()).collect();
        compare_with_whole(raw, &bytewise, limits).unwrap();
        for cut in 0..=raw.len() {
            if let Err(e) = compare_with_whole(raw, &[cut], limits) {
                panic!("cut at {cut}: {e}");
            }
        }
    }

    #[test]
    fn nested_multiparts_and_messages() {
        check_all_cuts(
            b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
preamble\r\n--outer\r\nContent-Type: text/plain\r\n\r\none\r\n--outer\r\n\
Content-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\n\r\ntwo-a\r\n--inner\r\n\
Content-Type: text/html\r\n\r\n<p>two-b</p>\r\n--inner--\r\n--outer\r\nContent-Type: message/rfc822\r\n\r\n\
Subject: inner\r\n\r\nthree\r\n--outer--\r\nepilogue\r\n",
        );
    }

    #[test]
    fn line_breaks_that_belong_to_delimiters() {
        for raw in [
            &b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nunfinished\n"[..],
            b"Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/mixed; boundary=i\n\n--i\n\nx\n\n\n--o--\n",
            b"Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/mixed; boundary=i\n\n--i\n--o\n\n--o--",
            b"Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/mixed; boundary=i\n\n--i--\n--o--",
            b"Content-Type: multipart/digest; boundary=o\n\n--o\n--o\n\n\n--o\nSubject: s\n\n--o--\n",
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX: y\r\n\r\n\r\n\r\n--b\r\nX: y\r\n--b--\r\n\r\n",
            b"Content-Type: multipart/mixed; boundary=b\n\n--b--\n--b\n",
            b"Content-Type: multipart/mixed; boundary=b\n\n--b \t\n\n--bx\n--b-\n--b--  x\n-- b\n-\n--\n--b--\r",
            b"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n\n",
            b"Content-Type: multipart/mixed\n\nno boundary\n",
            b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n--b\n\ny\n--b--\n",
            b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=bb\n\n--bb\n\nx\n--b\n\ny\n--b--\n",
            b"Content-Type: multipart/mixed; boundary=\"\"\n\n--\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n----\n",
            b"Content-Type: multipart/mixed; boundary=b\n\npre\n--b--\npost\n",
            b"Subject: x\nnot a header line\nbody\n",
            b" continuation first\nFrom nobody\nX : y\n\nbody\r",
            b"\r\n\r",
            b"",
            b"\r",
        ] {
            check_all_cuts(raw);
        }
    }

    #[test]
    fn limits_give_the_same_defects() {
        let mut deep = Vec::new();
        for _ in 0..100 {
            deep.extend_from_slice(b"Content-Type: message/rfc822\n\n");
        }
        deep.extend_from_slice(b"body\n");
        compare_with_whole(&deep, &[7, 100, 1000], Limits::default()).unwrap();
        let mut many = b"Content-Type: multipart/mixed; boundary=b\n\n".to_vec();
        for _ in 0..50 {
            many.extend_from_slice(b"--b\n\nx\n");
        }
        many.extend_from_slice(b"--b--\n");
        let limits = Limits {
            max_parts: 10,
            ..Limits::default()
        };
        compare_with_whole(&many, &[3, 64, 65, 200], limits).unwrap();
        let mut long = b"Subject: kept\r\n".to_vec();
        for i in 0..200 {
            long.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "y".repeat(60)).as_bytes());
        }
        long.extend_from_slice(b"\r\nbody\r\n");
        let limits = Limits {
            max_header_len: 4096,
            ..Limits::default()
        };
        let cuts: Vec<usize> = (0..long.len()).step_by(97).collect();
        compare_with_whole(&long, &cuts, limits).unwrap();
    }

    /// Feeds `raw` in 64 KiB chunks; returns the most octets held and the defects.
    fn stream_held(raw: &[u8]) -> (usize, Vec<DefectKind>) {
        let mut parser = StreamParser::default();
        let mut most = 0;
        let mut defects = Vec::new();
        let mut sink = |event: Event<'_>| {
            if let Event::Defect(d) = event {
                defects.push(d.kind);
            }
        };
        for chunk in raw.chunks(64 * 1024) {
            parser.feed(chunk, &mut sink);
            most = most.max(parser.held());
        }
        parser.finish(&mut sink);
        (most, defects)
    }

    #[test]
    fn hostile_input_is_read_in_bounded_memory() {
        let bound = Limits::default().max_header_len + 64 * 1024;
        let mut huge_field = b"Subject: x\r\nX-Huge: ".to_vec();
        huge_field.resize(10 << 20, b'a');
        huge_field.extend_from_slice(b"\r\n\r\nbody\r\n");
        let (held, defects) = stream_held(&huge_field);
        assert!(held <= bound, "{held}");
        assert_eq!(defects, [DefectKind::HeaderTooLong]);

        let mut huge_line = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--".to_vec();
        huge_line.resize(10 << 20, b'-');
        huge_line.extend_from_slice(b"\n--b--\n");
        let (held, defects) = stream_held(&huge_line);
        assert!(held <= 64 * 1024, "{held}");
        assert!(defects.is_empty(), "{defects:?}");

        let mut blank_lines = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nX: y\n".to_vec();
        blank_lines.resize(1 << 20, b'\n');
        let (held, _) = stream_held(&blank_lines);
        assert!(held <= 64 * 1024, "{held}");

        let mut many = b"Content-Type: multipart/mixed; boundary=b\n\n".to_vec();
        for _ in 0..100_000 {
            many.extend_from_slice(b"--b\n\nx\n");
        }
        let (held, defects) = stream_held(&many);
        assert!(held <= 64 * 1024, "{held}");
        assert!(defects.contains(&DefectKind::TooManyParts));
        compare_with_whole(&many, &[1 << 16, 1 << 17], Limits::default()).unwrap();

        let mut deep = Vec::new();
        for i in 0..10_000 {
            deep.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n").as_bytes(),
            );
        }
        let (held, defects) = stream_held(&deep);
        assert!(held <= 64 * 1024, "{held}");
        assert!(defects.contains(&DefectKind::NestingTooDeep));
        compare_with_whole(&deep, &[1 << 16], Limits::default()).unwrap();
    }
}

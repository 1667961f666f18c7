//! Canonicalization (RFC 6376 §3.4): the bytes a signature covers.

use std::borrow::Cow;

/// `simple` or `relaxed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canon {
    /// As written (headers) / trailing empty lines removed (body).
    Simple,
    /// Whitespace folded and names lowercased.
    Relaxed,
}

/// One header field (`raw`: name through its final CRLF) canonicalized.
pub(crate) fn header(raw: &[u8], canon: Canon, out: &mut Vec<u8>) {
    match canon {
        Canon::Simple => out.extend_from_slice(raw),
        Canon::Relaxed => {
            let colon = raw.iter().position(|&b| b == b':').unwrap_or(raw.len());
            let name = &raw[..colon];
            let name_end = name
                .iter()
                .rposition(|b| !matches!(b, b' ' | b'\t'))
                .map_or(0, |e| e + 1);
            out.extend(name[..name_end].iter().map(u8::to_ascii_lowercase));
            out.push(b':');
            relaxed_value(raw.get(colon + 1..).unwrap_or_default(), out);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// A header value, relaxed: line breaks removed, each run of spaces and
/// tabs one space, none at either end. Runs of other octets are copied
/// whole.
fn relaxed_value(value: &[u8], out: &mut Vec<u8>) {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let mut rest = value;
    let mut pending_space = false;
    let mut started = false;
    while !rest.is_empty() {
        let text = rest.iter().position(is_space).unwrap_or(rest.len());
        if text > 0 {
            if pending_space {
                out.push(b' ');
            }
            out.extend_from_slice(&rest[..text]);
            pending_space = false;
            started = true;
            rest = &rest[text..];
        }
        let space = rest.iter().position(|b| !is_space(b)).unwrap_or(rest.len());
        // Line breaks alone join what they separate; a space or tab among
        // them makes one space.
        if rest[..space].iter().any(|&b| b == b' ' || b == b'\t') {
            pending_space = started;
        }
        rest = &rest[space..];
    }
}

/// The body canonicalized: lines end in CRLF (a bare LF ends one too),
/// empty lines at the end are dropped, and relaxed also drops trailing
/// whitespace and folds each run of it to one space. Borrowed when that
/// leaves the body as it is but for its end, as it mostly does.
pub(crate) fn body(raw: &[u8], canon: Canon) -> Cow<'_, [u8]> {
    match unchanged_len(raw, canon) {
        Some(len) => Cow::Borrowed(&raw[..len]),
        None => Cow::Owned(rewritten(raw, canon)),
    }
}

/// How much of `raw` is its canonical body, when that is all it takes:
/// every line ends in CRLF and, for relaxed, no line holds a tab, a run of
/// spaces or a space at its end. `None` when lines must be rewritten.
fn unchanged_len(raw: &[u8], canon: Canon) -> Option<usize> {
    if !raw.ends_with(b"\r\n")
        || memchr::memchr_iter(b'\n', raw).any(|i| i == 0 || raw[i - 1] != b'\r')
    {
        return None;
    }
    if canon == Canon::Relaxed
        && (memchr::memchr(b'\t', raw).is_some()
            || memchr::memmem::find(raw, b"  ").is_some()
            || memchr::memmem::find(raw, b" \r\n").is_some())
    {
        return None;
    }
    // The empty lines at the end go: all of them but the line break
    // before them.
    let mut len = raw.len();
    while raw[..len].ends_with(b"\r\n\r\n") {
        len -= 2;
    }
    // Nothing but empty lines: simple keeps one line break, relaxed none.
    if len == 2 && canon == Canon::Relaxed {
        len = 0;
    }
    Some(len)
}

/// [`body`] written line by line.
fn rewritten(raw: &[u8], canon: Canon) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 2);
    let mut empty_run = 0usize;
    let mut rest = raw;
    // Where the next tab and the next two spaces are, searched for again
    // only once passed (not once per line).
    let (mut tab, mut spaces) = match canon {
        Canon::Relaxed => (memchr::memchr(b'\t', raw), memchr::memmem::find(raw, b"  ")),
        Canon::Simple => (None, None),
    };
    while !rest.is_empty() {
        let start = raw.len() - rest.len();
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = match canon {
            Canon::Simple => line,
            Canon::Relaxed => {
                let end = line
                    .iter()
                    .rposition(|&b| b != b' ' && b != b'\t')
                    .map_or(0, |e| e + 1);
                &line[..end]
            }
        };
        if line.is_empty() {
            empty_run += 1;
            continue;
        }
        for _ in 0..empty_run {
            out.extend_from_slice(b"\r\n");
        }
        empty_run = 0;
        let folded = canon == Canon::Relaxed && {
            if tab.is_some_and(|t| t < start) {
                tab = memchr::memchr(b'\t', &raw[start..]).map(|t| start + t);
            }
            if spaces.is_some_and(|t| t < start) {
                spaces = memchr::memmem::find(&raw[start..], b"  ").map(|t| start + t);
            }
            let end = start + line.len();
            tab.is_some_and(|t| t < end) || spaces.is_some_and(|t| t + 1 < end)
        };
        if folded {
            let mut in_space = false;
            for &b in line {
                if b == b' ' || b == b'\t' {
                    if !in_space {
                        out.push(b' ');
                    }
                    in_space = true;
                } else {
                    out.push(b);
                    in_space = false;
                }
            }
        } else {
            out.extend_from_slice(line);
        }
        out.extend_from_slice(b"\r\n");
    }
    if out.is_empty() && canon == Canon::Simple {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6376 §3.4.3 and §3.4.4 step by step, line by line: what `body` must equal.
    fn reference(raw: &[u8], canon: Canon) -> Vec<u8> {
        let mut lines: Vec<Vec<u8>> = raw
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
            .collect();
        if raw.ends_with(b"\n") || raw.is_empty() {
            lines.pop();
        }
        if canon == Canon::Relaxed {
            for line in &mut lines {
                let mut folded = Vec::new();
                for &b in line.iter() {
                    let wsp = b == b' ' || b == b'\t';
                    if !(wsp && folded.last() == Some(&b' ')) {
                        folded.push(if wsp { b' ' } else { b });
                    }
                }
                while folded.last() == Some(&b' ') {
                    folded.pop();
                }
                *line = folded;
            }
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let mut out: Vec<u8> = lines
            .iter()
            .flat_map(|l| [&l[..], b"\r\n"].concat())
            .collect();
        if out.is_empty() && canon == Canon::Simple {
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// RFC 6376 §3.4.2 octet by octet: what a relaxed header value must be.
    fn relaxed_reference(value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut pending_space, mut started) = (false, false);
        for &b in value {
            match b {
                b'\r' | b'\n' => {}
                b' ' | b'\t' => pending_space = started,
                _ => {
                    if pending_space {
                        out.push(b' ');
                    }
                    pending_space = false;
                    started = true;
                    out.push(b);
                }
            }
        }
        out
    }

    proptest! {
        #[test]
        fn a_relaxed_header_value_matches_the_rules(value in proptest::collection::vec(
            prop::sample::select(vec![b'a', b'b', b' ', b'\t', b'\r', b'\n', b':']), 0..48)) {
            let mut out = Vec::new();
            relaxed_value(&value, &mut out);
            prop_assert_eq!(out, relaxed_reference(&value));
        }

        /// Bodies of whole CRLF lines, most of them already canonical.
        #[test]
        fn a_body_of_crlf_lines_matches_the_rules(lines in proptest::collection::vec(
            proptest::collection::vec(prop::sample::select(vec![b'a', b'a', b'a', b' ', b'\t', b'\r']), 0..6), 0..8)) {
            let raw: Vec<u8> = lines.iter().flat_map(|l| [&l[..], b"\r\n"].concat()).collect();
            for canon in [Canon::Simple, Canon::Relaxed] {
                prop_assert_eq!(&body(&raw, canon)[..], &reference(&raw, canon)[..]);
            }
        }

        #[test]
        fn body_matches_the_rules(raw in proptest::collection::vec(
            prop::sample::select(vec![b'a', b' ', b'\t', b'\r', b'\n', b'.']), 0..64)) {
            for canon in [Canon::Simple, Canon::Relaxed] {
                prop_assert_eq!(&body(&raw, canon)[..], &reference(&raw, canon)[..]);
            }
        }
    }

    #[test]
    fn the_examples_of_rfc_6376_section_3_4_5() {
        let headers: &[&[u8]] = &[b"A: X\r\n", b"B : Y\t\r\n\tZ  \r\n"];
        let mut relaxed = Vec::new();
        let mut simple = Vec::new();
        for h in headers {
            header(h, Canon::Relaxed, &mut relaxed);
            header(h, Canon::Simple, &mut simple);
        }
        assert_eq!(relaxed, b"a:X\r\nb:Y Z\r\n");
        assert_eq!(simple, b"A: X\r\nB : Y\t\r\n\tZ  \r\n");
        let raw = b" C \r\nD \t E\r\n\r\n\r\n";
        assert_eq!(&body(raw, Canon::Relaxed)[..], b" C\r\nD E\r\n");
        assert_eq!(&body(raw, Canon::Simple)[..], b" C \r\nD \t E\r\n");
        assert_eq!(&body(b"", Canon::Simple)[..], b"\r\n");
        assert_eq!(&body(b"\r\n\r\n", Canon::Relaxed)[..], b"");
        assert_eq!(&body(b"\r\n\r\n", Canon::Simple)[..], b"\r\n");
        assert!(matches!(
            body(b"a b\r\n\r\n", Canon::Relaxed),
            Cow::Borrowed(b"a b\r\n")
        ));
    }
}

//! Canonicalization (RFC 6376 §3.4): the bytes a signature covers.

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
            let value = raw.get(colon + 1..).unwrap_or_default();
            let mut pending_space = false;
            let mut started = false;
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
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// The body canonicalized (at most `limit` octets of it, for `l=`).
pub(crate) fn body(raw: &[u8], canon: Canon) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 2);
    let mut lines = raw.split(|&b| b == b'\n').peekable();
    let mut empty_run = 0usize;
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if last && line.is_empty() {
            break;
        }
        let mut text = Vec::with_capacity(line.len());
        match canon {
            Canon::Simple => text.extend_from_slice(line),
            Canon::Relaxed => {
                let mut space = false;
                for &b in line {
                    if b == b' ' || b == b'\t' {
                        space = true;
                    } else {
                        if space {
                            text.push(b' ');
                        }
                        space = false;
                        text.push(b);
                    }
                }
            }
        }
        if text.is_empty() {
            empty_run += 1;
            continue;
        }
        for _ in 0..empty_run {
            out.extend_from_slice(b"\r\n");
        }
        empty_run = 0;
        out.extend_from_slice(&text);
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
        assert_eq!(body(raw, Canon::Relaxed), b" C\r\nD E\r\n");
        assert_eq!(body(raw, Canon::Simple), b" C \r\nD \t E\r\n");
        assert_eq!(body(b"", Canon::Simple), b"\r\n");
        assert_eq!(body(b"\r\n\r\n", Canon::Relaxed), b"");
    }
}

//! Where a command line ends and what literal it announces.

/// A literal announced at the end of a line: `{n}`, `{n+}`, `~{n}` or `~{n+}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Announcement {
    /// Where the announcement starts in the line (at `{` or `~`).
    pub(crate) start: usize,
    /// Announced octets.
    pub(crate) length: u32,
    /// `{n}`: the client waits for `+`.
    pub(crate) sync: bool,
    /// `~{n}`.
    pub(crate) binary: bool,
}

/// The literal announced at the end of `line` (without CRLF), if any.
/// `None` for a line that does not end in `}`; `Some(Err(()))` for one
/// that ends in a malformed or oversized announcement.
pub(crate) fn announcement(line: &[u8]) -> Option<Result<Announcement, ()>> {
    let body = line.strip_suffix(b"}")?;
    let (body, sync) = match body.strip_suffix(b"+") {
        Some(b) => (b, false),
        None => (body, true),
    };
    let digits = body.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let open = body.len() - digits;
    if digits == 0 || open == 0 || body[open - 1] != b'{' {
        // A `}` that closes something else, e.g. `x}` in an atom.
        return (digits > 0 && open > 0 && body[open - 1] == b'{').then_some(Err(()));
    }
    let brace = open - 1;
    let text = std::str::from_utf8(&body[open..]).map_err(|_| ());
    let length = match text.and_then(|t| t.parse::<u32>().map_err(|_| ())) {
        Ok(n) => n,
        Err(()) => return Some(Err(())),
    };
    let binary = brace > 0 && body[brace - 1] == b'~';
    Some(Ok(Announcement {
        start: if binary { brace - 1 } else { brace },
        length,
        sync,
        binary,
    }))
}

/// The tag at the start of a command, for error responses.
pub(crate) fn leading_tag(line: &[u8]) -> Option<crate::types::Tag> {
    let end = line.iter().position(|&b| b == b' ')?;
    crate::types::Tag::new(crate::types::Str::copy_from_slice(&line[..end])).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_announcements() {
        let a = announcement(b"a1 LOGIN {5}").unwrap().unwrap();
        assert_eq!((a.start, a.length, a.sync, a.binary), (9, 5, true, false));
        let a = announcement(b"a1 APPEND x ~{12+}").unwrap().unwrap();
        assert_eq!((a.start, a.length, a.sync, a.binary), (12, 12, false, true));
        assert_eq!(announcement(b"a1 NOOP"), None);
        assert_eq!(announcement(b"a1 SEARCH x}"), None);
        assert_eq!(announcement(b"a1 LOGIN {99999999999}"), Some(Err(())));
        assert_eq!(leading_tag(b"a1 NOOP").unwrap().as_bytes(), b"a1");
        assert_eq!(leading_tag(b"+x NOOP"), None);
    }
}

//! Message identifiers (RFC 5322 §3.6.4): Message-ID, In-Reply-To, References.

/// The identifiers in a field value, without their angle brackets, in
/// order. Comments, folding and whitespace inside brackets are dropped; a
/// value with no brackets at all (a common mistake) gives its words that
/// hold an `@`.
pub fn parse_ids(value: &[u8]) -> Vec<String> {
    let text = crate::charset::lossy(value);
    let mut ids = Vec::new();
    let mut rest = text.as_ref();
    let mut bracketed = false;
    while let Some(open) = rest.find('<') {
        bracketed = true;
        let after = &rest[open + 1..];
        let close = after.find('>').unwrap_or(after.len());
        let id: String = without_comments(&after[..close])
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !id.is_empty() {
            ids.push(id);
        }
        rest = after.get(close + 1..).unwrap_or("");
    }
    if !bracketed {
        ids.extend(
            without_comments(&text)
                .split_whitespace()
                .filter(|w| w.contains('@'))
                .map(str::to_owned),
        );
    }
    ids
}

fn without_comments(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut depth = 0;
    for c in v.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ids() {
        assert_eq!(
            parse_ids(b"<1234@local.machine.example>"),
            ["1234@local.machine.example"]
        );
        assert_eq!(
            parse_ids(b"<a@x>\r\n <b@y> (comment) <c\r\n @z>"),
            ["a@x", "b@y", "c@z"]
        );
        assert_eq!(parse_ids(b"bare@id.example"), ["bare@id.example"]);
        assert!(parse_ids(b"").is_empty());
    }
}

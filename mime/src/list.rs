//! Mailing list fields: List-Id (RFC 2919) and the URL lists of List-Help,
//! List-Unsubscribe, List-Post, List-Archive, ... (RFC 2369).

/// The `<url>` entries of an RFC 2369 field, in order (folding and spaces
/// removed; `List-Post: NO` gives none).
pub fn parse_list_urls(value: &[u8]) -> Vec<String> {
    let text = crate::charset::lossy(value);
    let mut urls = Vec::new();
    let mut rest = text.as_ref();
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        let url: String = after[..close]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !url.is_empty() {
            urls.push(url);
        }
        rest = &after[close + 1..];
    }
    urls
}

/// A List-Id: the optional description and the identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListId {
    /// The phrase before the identifier, decoded, if any.
    pub description: Option<String>,
    /// The identifier, `list-label.domain`.
    pub id: String,
}

/// Reads a List-Id value: `Description <list.example.com>` or a bare identifier.
pub fn parse_list_id(value: &[u8]) -> Option<ListId> {
    let value = crate::header::trim(value);
    match (memchr::memchr(b'<', value), memchr::memrchr(b'>', value)) {
        (Some(open), Some(close)) if open < close => {
            let id =
                crate::charset::lossy(crate::header::trim(&value[open + 1..close])).into_owned();
            let phrase = crate::header::trim(&value[..open]);
            let phrase = phrase
                .strip_prefix(b"\"")
                .and_then(|p| p.strip_suffix(b"\""))
                .unwrap_or(phrase);
            let description = (!phrase.is_empty())
                .then(|| crate::words::decode_header_text(phrase).text.into_owned());
            (!id.is_empty()).then_some(ListId { description, id })
        }
        _ if !value.is_empty() => Some(ListId {
            description: None,
            id: crate::charset::lossy(value).into_owned(),
        }),
        _ => None,
    }
}

/// The comma-separated phrases of a field such as Keywords, each trimmed,
/// unfolded and decoded; empty ones dropped.
pub fn parse_phrase_list(value: &[u8]) -> Vec<String> {
    value
        .split(|&b| b == b',')
        .map(|item| {
            let unfolded: Vec<u8> = item
                .iter()
                .copied()
                .filter(|&b| b != b'\r' && b != b'\n')
                .collect();
            let text = crate::words::decode_header_text(&unfolded)
                .text
                .into_owned();
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_list_fields() {
        assert_eq!(
            parse_list_urls(b"<mailto:list@host.com?subject=help> (List Instructions),\r\n <http://www.host.com/list/>"),
            ["mailto:list@host.com?subject=help", "http://www.host.com/list/"]
        );
        assert!(parse_list_urls(b"NO (posting not allowed on this list)").is_empty());
        assert_eq!(
            parse_list_id(b"\"List Header Mailing List\" <list-header.nisto.com>"),
            Some(ListId {
                description: Some("List Header Mailing List".into()),
                id: "list-header.nisto.com".into()
            })
        );
        assert_eq!(
            parse_list_id(b"<commonspace-users.list-id.within.com>")
                .unwrap()
                .description,
            None
        );
        assert_eq!(
            parse_phrase_list(b"multi \r\n list, \r\n with, cr lf  "),
            ["multi list", "with", "cr lf"]
        );
    }
}

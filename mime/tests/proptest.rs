//! Structure round-trips: a part tree written with boundaries parses back
//! to the same tree, the same bodies and the same sections, whatever the line ends.

use proptest::prelude::*;
use sansmail_mime::{Body, Message, Part};

#[derive(Clone, Debug)]
enum Tree {
    Leaf(String),
    Multipart(Vec<Tree>),
    Enclosed(Box<Tree>),
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = "[a-z .]{0,12}( [a-z]{1,5}){0,3}".prop_map(Tree::Leaf);
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Tree::Multipart),
            inner.prop_map(|t| Tree::Enclosed(Box::new(t))),
        ]
    })
}

/// Writes `t` as an entity (header block, blank line, body) with line end `nl`.
fn write(t: &Tree, nl: &str, depth: usize, out: &mut String) {
    match t {
        Tree::Leaf(text) => {
            out.push_str(&format!("Content-Type: text/plain{nl}{nl}{text}"));
        }
        Tree::Multipart(parts) => {
            let b = format!("b{depth}x");
            out.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"{b}\"{nl}{nl}"
            ));
            for p in parts {
                out.push_str(&format!("--{b}{nl}"));
                write(p, nl, depth + 1, out);
                out.push_str(nl);
            }
            out.push_str(&format!("--{b}--{nl}"));
        }
        Tree::Enclosed(inner) => {
            out.push_str(&format!("Content-Type: message/rfc822{nl}{nl}"));
            write(inner, nl, depth + 1, out);
        }
    }
}

/// The leaves' texts and the shape, read back from a parsed part.
fn shape(m: &Message<'_>, p: &Part<'_>) -> String {
    match &p.body {
        Body::Leaf => format!("L({})", String::from_utf8_lossy(m.slice(&p.body_range))),
        Body::Multipart { parts, .. } => {
            let inner: Vec<String> = parts.iter().map(|c| shape(m, c)).collect();
            format!("M[{}]", inner.join(","))
        }
        Body::Message(inner) => format!("E({})", shape(m, inner)),
    }
}

/// The shape `t` must parse back to: the line break before a delimiter
/// belongs to the delimiter, so every leaf reads back exactly.
fn expected(t: &Tree) -> String {
    match t {
        Tree::Leaf(text) => format!("L({text})"),
        Tree::Multipart(parts) => {
            let inner: Vec<String> = parts.iter().map(expected).collect();
            format!("M[{}]", inner.join(","))
        }
        Tree::Enclosed(inner) => format!("E({})", expected(inner)),
    }
}

proptest! {
    #[test]
    fn part_trees_round_trip(t in tree(), crlf in any::<bool>()) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        write(&t, nl, 0, &mut text);
        let m = Message::parse(text.as_bytes());
        prop_assert_eq!(shape(&m, &m.root), expected(&t));
        prop_assert!(m.defects.is_empty(), "{:?}", m.defects);
    }
}

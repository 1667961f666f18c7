//! The JMAP body view (RFC 8621 §4.1.4): which parts are the text body, the
//! HTML body and the attachments, chosen as that algorithm does.

use crate::message::{Body, Message, Part};

/// A part chosen by the view, with its IMAP section number.
pub type SectionPart<'p, 'a> = (String, &'p Part<'a>);

/// The text body, HTML body and attachments of a message.
#[derive(Clone, Debug, Default)]
pub struct BodyView<'p, 'a> {
    /// Parts to show as plain text, in order (HTML stands in where no plain alternative exists).
    pub text_body: Vec<SectionPart<'p, 'a>>,
    /// Parts to show as HTML, in order (plain text stands in likewise).
    pub html_body: Vec<SectionPart<'p, 'a>>,
    /// Everything else a reader offers as a file (and inline media).
    pub attachments: Vec<SectionPart<'p, 'a>>,
}

fn media(part: &Part<'_>) -> (String, bool) {
    let ct = &part.content_type;
    let kind = format!("{}/{}", ct.kind, ct.subtype);
    let inline_media = matches!(ct.kind.as_ref(), "image" | "audio" | "video");
    (kind, inline_media)
}

fn parse_structure<'p, 'a>(
    parts: &[SectionPart<'p, 'a>],
    multipart_type: &str,
    in_alternative: bool,
    mut html: Option<&mut Vec<SectionPart<'p, 'a>>>,
    mut text: Option<&mut Vec<SectionPart<'p, 'a>>>,
    attachments: &mut Vec<SectionPart<'p, 'a>>,
) {
    let text_length = text.as_ref().map(|t| t.len());
    let html_length = html.as_ref().map(|h| h.len());
    for (i, (section, part)) in parts.iter().enumerate() {
        let (kind, inline_media) = media(part);
        let is_multipart = matches!(part.body, Body::Multipart { .. });
        let attachment = part.disposition().is_some_and(|d| d.kind == "attachment");
        let is_inline = !attachment
            && (kind == "text/plain" || kind == "text/html" || inline_media)
            && (i == 0
                || (multipart_type != "related" && (inline_media || part.filename().is_none())));
        if is_multipart {
            let sub_type = part.content_type.subtype.clone();
            let children = children(part, section);
            parse_structure(
                &children,
                &sub_type,
                in_alternative || sub_type == "alternative",
                html.as_deref_mut(),
                text.as_deref_mut(),
                attachments,
            );
        } else if is_inline {
            let entry = (section.clone(), *part);
            if multipart_type == "alternative" {
                match kind.as_str() {
                    "text/plain" => {
                        if let Some(t) = text.as_deref_mut() {
                            t.push(entry);
                        }
                    }
                    "text/html" => {
                        if let Some(h) = html.as_deref_mut() {
                            h.push(entry);
                        }
                    }
                    _ => attachments.push(entry),
                }
                continue;
            } else if in_alternative {
                if kind == "text/plain" {
                    html = None;
                }
                if kind == "text/html" {
                    text = None;
                }
            }
            if let Some(t) = text.as_deref_mut() {
                t.push(entry.clone());
            }
            if let Some(h) = html.as_deref_mut() {
                h.push(entry.clone());
            }
            if (text.is_none() || html.is_none()) && inline_media {
                attachments.push(entry);
            }
        } else {
            attachments.push((section.clone(), *part));
        }
    }
    if multipart_type == "alternative"
        && let (Some(text), Some(html)) = (text, html)
    {
        let (text_length, html_length) = (text_length.unwrap_or(0), html_length.unwrap_or(0));
        if text_length == text.len() && html_length != html.len() {
            text.extend(html[html_length..].iter().cloned());
        }
        if html_length == html.len() && text_length != text.len() {
            html.extend(text[text_length..].iter().cloned());
        }
    }
}

/// The children of a multipart with their sections (`1`, `2` at the top, `2.1` below).
fn children<'p, 'a>(part: &'p Part<'a>, section: &str) -> Vec<SectionPart<'p, 'a>> {
    let Body::Multipart { parts, .. } = &part.body else {
        return Vec::new();
    };
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let s = if section.is_empty() {
                (i + 1).to_string()
            } else {
                format!("{section}.{}", i + 1)
            };
            (s, p)
        })
        .collect()
}

impl<'a> Message<'a> {
    /// The JMAP body view (RFC 8621 §4.1.4) of this message.
    pub fn body_view(&self) -> BodyView<'_, 'a> {
        let mut view = BodyView::default();
        let root_section = if matches!(self.root.body, Body::Multipart { .. }) {
            String::new()
        } else {
            "1".to_owned()
        };
        parse_structure(
            &[(root_section, &self.root)],
            "mixed",
            false,
            Some(&mut view.html_body),
            Some(&mut view.text_body),
            &mut view.attachments,
        );
        view
    }
}

#[cfg(test)]
mod tests {
    use crate::Message;

    fn sections(v: &[(String, &crate::Part<'_>)]) -> Vec<String> {
        v.iter().map(|(s, _)| s.clone()).collect()
    }

    #[test]
    fn chooses_text_html_and_attachments() {
        let raw = b"Content-Type: multipart/mixed; boundary=m\n\n--m\n\
Content-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/plain\n\nplain\n--a\n\
Content-Type: multipart/related; boundary=r\n\n--r\nContent-Type: text/html\n\n<img src=cid:x>\n--r\n\
Content-Type: image/png\nContent-ID: <x>\n\nPNG\n--r--\n--a--\n--m\n\
Content-Type: application/pdf\nContent-Disposition: attachment; filename=a.pdf\n\nPDF\n--m\n\
Content-Type: image/jpeg\n\nJPEG\n--m--\n";
        let m = Message::parse(raw);
        let v = m.body_view();
        assert_eq!(sections(&v.text_body), ["1.1", "3"]);
        assert_eq!(sections(&v.html_body), ["1.2.1", "3"]);
        assert_eq!(sections(&v.attachments), ["1.2.2", "2"]);
    }

    #[test]
    fn html_only_stands_in_for_text() {
        let m = Message::parse(b"Content-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/html\n\n<p>x</p>\n--a--\n");
        let v = m.body_view();
        assert_eq!(sections(&v.text_body), ["1"]);
        assert_eq!(sections(&v.html_body), ["1"]);
        let m = Message::parse(b"Subject: plain\n\nbody\n");
        let v = m.body_view();
        assert_eq!(
            (sections(&v.text_body), sections(&v.html_body)),
            (vec!["1".to_string()], vec!["1".to_string()])
        );
        assert!(v.attachments.is_empty());
    }
}

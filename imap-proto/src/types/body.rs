//! BODY and BODYSTRUCTURE (RFC 9051 §7.5.2).

use super::Str;

/// The fields every non-multipart part has.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct BasicFields {
    /// Media type, e.g. `TEXT`.
    pub media_type: Str,
    /// Media subtype, e.g. `PLAIN`.
    pub subtype: Str,
    /// Content-Type parameters; empty for `NIL`.
    pub params: Vec<(Str, Str)>,
    /// `Content-ID`.
    pub id: Option<Str>,
    /// `Content-Description`.
    pub description: Option<Str>,
    /// `Content-Transfer-Encoding`.
    pub encoding: Str,
    /// Size of the encoded body in octets.
    pub size: u32,
}

/// What follows the basic fields, by media type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SinglePart {
    /// Any type but text and message/rfc822 (or message/global).
    Basic,
    /// `TEXT/*`: the body's line count follows.
    Text {
        /// Lines of the encoded body.
        lines: u32,
    },
    /// `MESSAGE/RFC822` or `MESSAGE/GLOBAL`: the embedded message.
    Message {
        /// Its envelope.
        envelope: Box<super::Envelope>,
        /// Its structure.
        body: Box<BodyStructure>,
        /// Lines of the encoded body.
        lines: u32,
    },
}

/// `Content-Disposition`: its value and parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Disposition {
    /// `inline`, `attachment`...
    pub kind: Str,
    /// Its parameters; empty for `NIL`.
    pub params: Vec<(Str, Str)>,
}

/// An extension value a future revision may add (`body-extension`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExtensionValue {
    /// A string or `NIL`.
    String(Option<Str>),
    /// A number.
    Number(u64),
    /// A parenthesised list, never empty.
    List(Vec<ExtensionValue>),
}

/// Extension data shared by single and multipart bodies. All three fields
/// are written (`NIL` when empty); a peer that leaves trailing ones out
/// reads back the same as one that writes `NIL`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct BodyExtension {
    /// `Content-Disposition`.
    pub disposition: Option<Disposition>,
    /// `Content-Language` tags; empty for `NIL`.
    pub language: Vec<Str>,
    /// `Content-Location`.
    pub location: Option<Str>,
    /// Anything after the location.
    pub extra: Vec<ExtensionValue>,
}

/// A message's MIME structure.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BodyStructure {
    /// A non-multipart part.
    Single {
        /// Type, parameters, encoding and size.
        fields: BasicFields,
        /// Text and message parts carry more.
        kind: SinglePart,
        /// BODYSTRUCTURE's extension data: `Content-MD5` then the shared fields.
        /// `None` in BODY.
        extension: Option<(Option<Str>, BodyExtension)>,
    },
    /// A multipart.
    Multipart {
        /// The parts, never empty.
        parts: Vec<BodyStructure>,
        /// Multipart subtype, e.g. `MIXED`.
        subtype: Str,
        /// BODYSTRUCTURE's extension data: the Content-Type parameters, then
        /// the shared fields. `None` in BODY.
        extension: Option<(Vec<(Str, Str)>, BodyExtension)>,
    },
}

impl BodyStructure {
    /// The same structure without extension data, as `FETCH BODY` gives it.
    pub fn without_extensions(&self) -> BodyStructure {
        match self {
            BodyStructure::Single { fields, kind, .. } => BodyStructure::Single {
                fields: fields.clone(),
                kind: match kind {
                    SinglePart::Message {
                        envelope,
                        body,
                        lines,
                    } => SinglePart::Message {
                        envelope: envelope.clone(),
                        body: Box::new(body.without_extensions()),
                        lines: *lines,
                    },
                    other => other.clone(),
                },
                extension: None,
            },
            BodyStructure::Multipart { parts, subtype, .. } => BodyStructure::Multipart {
                parts: parts.iter().map(Self::without_extensions).collect(),
                subtype: subtype.clone(),
                extension: None,
            },
        }
    }
}

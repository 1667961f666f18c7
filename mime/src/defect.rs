//! What the parser repaired or could not make sense of, with where.

/// One problem found in a message, at a byte offset of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Defect {
    /// What.
    pub kind: DefectKind,
    /// Where, as an offset into the parsed bytes.
    pub offset: usize,
}

/// The kinds of [`Defect`], named after what Python's `email` package records where it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DefectKind {
    /// A header block that starts with a continuation line.
    FirstHeaderLineIsContinuation,
    /// A line in the header block that is not a field and not blank: the body starts there.
    MissingHeaderBodySeparator,
    /// A field name with characters RFC 5322 does not allow (or whitespace before the colon).
    InvalidHeaderName,
    /// A multipart part with no `boundary` parameter: read as a single part.
    NoBoundaryInMultipart,
    /// A multipart body without an opening delimiter line: read as a single
    /// part when the boundary never appears, as a multipart without parts
    /// when its first delimiter line is the closing one.
    StartBoundaryNotFound,
    /// A multipart body that ends without its closing boundary.
    CloseBoundaryNotFound,
    /// Nesting deeper than the limit: the rest is read as a single part.
    NestingTooDeep,
    /// More parts than the limit: the rest of the multipart is read as one part.
    TooManyParts,
    /// A header block longer than the limit: the rest is read as body.
    HeaderTooLong,
    /// Base64 with characters outside the alphabet (skipped).
    InvalidBase64Characters,
    /// Base64 that does not end on a 4-character boundary.
    InvalidBase64Padding,
    /// Quoted-printable with an `=` that is neither an escape nor a soft break (kept).
    InvalidQuotedPrintable,
    /// A uuencoded body without its `begin` or `end` line, or with damaged lines.
    InvalidUuencode,
    /// An RFC 2047 encoded word that is damaged or in an unknown charset.
    BadEncodedWord,
    /// A header field with 8-bit bytes that are not UTF-8 (read as windows-1252).
    NonUtf8HeaderBytes,
    /// A field RFC 5322 §3.6 allows once appearing again (the first one counts).
    DuplicateSingletonHeader,
    /// A text part in a charset nobody knows (read as UTF-8 or windows-1252).
    UnknownCharset,
}

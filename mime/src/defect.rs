//! What the parser repaired or could not make sense of, with where.

/// One problem found in a message, at a byte offset of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Defect {
    /// What.
    pub kind: DefectKind,
    /// Where, as an offset into the parsed bytes.
    pub offset: usize,
}

/// The kinds of [`Defect`], named after what Python's `email` package records where it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    /// A multipart body in which the boundary never appears: read as a single part.
    StartBoundaryNotFound,
    /// A multipart body that ends without its closing boundary.
    CloseBoundaryNotFound,
    /// Nesting deeper than the limit: the rest is read as a single part.
    NestingTooDeep,
    /// More parts than the limit: the rest of the multipart is read as one part.
    TooManyParts,
    /// A header block longer than the limit: the rest is read as body.
    HeaderTooLong,
}

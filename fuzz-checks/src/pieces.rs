//! Cutting fuzz input into the pieces a session is fed.

/// Takes the next piece of fuzz input off `rest`: a length byte, then that
/// many bytes (1 to 64). The second value is true when the length byte is
/// 0xff, which also asks for the clock to jump past a timeout.
pub(crate) fn next_piece<'a>(rest: &mut &'a [u8]) -> (&'a [u8], bool) {
    let Some((&len_byte, body)) = rest.split_first() else {
        return (&[], false);
    };
    let len = (usize::from(len_byte) % 64 + 1).min(body.len());
    let (piece, tail) = body.split_at(len);
    *rest = tail;
    (piece, len_byte == 0xff)
}

//! COMPRESS=DEFLATE (RFC 4978): raw DEFLATE both ways, flushed after each burst.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Both directions of a compressed connection.
pub(crate) struct Deflate {
    compress: Compress,
    decompress: Decompress,
}

impl std::fmt::Debug for Deflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deflate")
    }
}

impl Deflate {
    pub(crate) fn new() -> Self {
        Deflate {
            compress: Compress::new(Compression::default(), false),
            decompress: Decompress::new(false),
        }
    }

    /// Compresses `data` and sync-flushes, so the peer can read all of it now.
    pub(crate) fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let mut input = data;
        loop {
            let before_in = self.compress.total_in();
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            // Errors cannot happen with an in-memory buffer that has room.
            let _ = self
                .compress
                .compress_vec(input, &mut out, FlushCompress::Sync);
            let used = (self.compress.total_in() - before_in) as usize;
            input = &input[used..];
            if input.is_empty() && out.len() < out.capacity() {
                return out;
            }
        }
    }

    /// Decompresses what arrived; `None` when the stream is corrupt.
    pub(crate) fn decompress(&mut self, data: &[u8], out: &mut Vec<u8>) -> Option<()> {
        let mut input = data;
        loop {
            if out.capacity() - out.len() < 4096 {
                out.reserve(out.capacity().max(16 * 1024));
            }
            let before_in = self.decompress.total_in();
            let before_out = self.decompress.total_out();
            let status = self
                .decompress
                .decompress_vec(input, out, FlushDecompress::None)
                .ok()?;
            let used = (self.decompress.total_in() - before_in) as usize;
            let produced = self.decompress.total_out() - before_out;
            input = &input[used..];
            if status == Status::StreamEnd {
                return Some(());
            }
            if input.is_empty() && out.len() < out.capacity() {
                return Some(());
            }
            if used == 0 && produced == 0 && out.len() < out.capacity() {
                return Some(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_bursts() {
        let mut a = Deflate::new();
        let mut b = Deflate::new();
        let mut got = Vec::new();
        for burst in [
            &b"a1 NOOP\r\n"[..],
            &b"a2 FETCH 1:* (FLAGS)\r\n".repeat(1000),
        ] {
            let wire = a.compress(burst);
            // Split the compressed bytes anywhere: each piece decodes what it can.
            let (x, y) = wire.split_at(wire.len() / 2);
            b.decompress(x, &mut got).unwrap();
            b.decompress(y, &mut got).unwrap();
        }
        assert_eq!(got.len(), 9 + 22 * 1000);
        assert!(
            Deflate::new()
                .decompress(b"\xff\xff\xff\xff", &mut Vec::new())
                .is_none()
        );
    }
}

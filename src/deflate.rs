//! Deflated Explicit VR Little Endian (1.2.840.10008.1.2.1.99, PS3.5 §A.5): everything after
//! the file meta group is one raw DEFLATE stream (RFC 1951, without zlib header) of an
//! explicit VR little endian dataset.
//!
//! [`Inflater`] reads that stream back a piece at a time, so that a reader stops inflating at
//! Pixel Data like it stops reading, and never inflates more than
//! [`Limits::max_inflated_bytes`](crate::Limits::max_inflated_bytes): a small file cannot grow
//! into unbounded memory (a "zip bomb" gets [`ParseError::LimitExceeded`]).

use std::io::{self, Read};

use crate::error::{Error, ParseError};

/// The Transfer Syntax UID of Deflated Explicit VR Little Endian.
pub(crate) const DEFLATED_EXPLICIT_LITTLE: &str = "1.2.840.10008.1.2.1.99";

/// Counts the compressed bytes taken from the input, and remembers whether the input itself
/// failed (an I/O error) and whether it ended, to tell those from corrupt data.
struct Counted<R> {
    inner: R,
    read: u64,
    failed: bool,
    ended: bool,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.read += n as u64;
                self.ended |= n == 0 && !buf.is_empty();
                Ok(n)
            }
            Err(e) => {
                self.failed = e.kind() != io::ErrorKind::Interrupted;
                Err(e)
            }
        }
    }
}

/// The inflated dataset of a deflated file, read on demand.
pub(crate) struct Inflater<R> {
    decoder: flate2::read::DeflateDecoder<Counted<R>>,
    /// Where the compressed stream starts in the file (for error offsets).
    base: u64,
    inflated: u64,
    limit: u64,
}

impl<R: Read> Inflater<R> {
    /// Inflates `compressed`, which starts at byte `base` of the file, up to `limit` bytes.
    pub fn new(compressed: R, base: u64, limit: u64) -> Self {
        Inflater {
            decoder: flate2::read::DeflateDecoder::new(Counted {
                inner: compressed,
                read: 0,
                failed: false,
                ended: false,
            }),
            base,
            inflated: 0,
            limit,
        }
    }

    /// Bytes taken from the compressed input so far (the decoder reads ahead of what it has
    /// inflated, by at most its buffer).
    pub fn compressed_read(&self) -> u64 {
        self.decoder.get_ref().read
    }

    /// Appends up to `n` more inflated bytes to `buf`, and returns how many: fewer than `n` at
    /// the end of the stream.
    ///
    /// # Errors
    /// [`ParseError::LimitExceeded`] when the stream inflates beyond the limit,
    /// [`ParseError::Truncated`] when the input ends inside the stream,
    /// [`ParseError::Malformed`] when it is not valid DEFLATE data, [`Error::Stream`] when the
    /// input cannot be read.
    pub fn read_more(&mut self, buf: &mut Vec<u8>, n: u64) -> Result<u64, Error> {
        let room = self.limit - self.inflated.min(self.limit);
        // One byte beyond the limit tells a stream that exceeds it from one that ends there.
        let ask = n.min(room.saturating_add(1));
        let got = match (&mut self.decoder).take(ask).read_to_end(buf) {
            Ok(got) => got as u64,
            Err(e) => return Err(self.failure(e)),
        };
        self.inflated += got;
        if self.inflated > self.limit {
            return Err(ParseError::LimitExceeded {
                what: "inflated bytes",
                limit: self.limit,
            }
            .into());
        }
        Ok(got)
    }

    fn failure(&self, e: io::Error) -> Error {
        let input = self.decoder.get_ref();
        let offset = usize::try_from(self.base + self.decoder.total_in()).unwrap_or(usize::MAX);
        if input.failed {
            Error::Stream(e)
        } else if input.ended {
            ParseError::Truncated {
                offset,
                needed: None,
            }
            .into()
        } else {
            ParseError::Malformed {
                offset,
                reason: "invalid deflate stream",
            }
            .into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::DeflateEncoder;
    use std::io::Write;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::best());
        e.write_all(data).expect("deflate");
        e.finish().expect("deflate")
    }

    fn inflate_all(compressed: &[u8], limit: u64, step: u64) -> Result<Vec<u8>, Error> {
        let mut inf = Inflater::new(compressed, 0, limit);
        let mut out = Vec::new();
        while inf.read_more(&mut out, step)? == step {}
        Ok(out)
    }

    #[test]
    fn a_stream_read_in_pieces_inflates_whole() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let z = deflate(&data);
        for step in [1, 7, 4096, 1 << 20] {
            assert_eq!(inflate_all(&z, 1 << 30, step).expect("inflate"), data);
        }
        // Exactly at the limit is allowed.
        let limit = data.len() as u64;
        assert_eq!(inflate_all(&z, limit, 4096).expect("inflate"), data);
    }

    #[test]
    fn a_stream_beyond_the_limit_is_a_typed_error_without_inflating_it() {
        // 64 MiB of zeros deflate to about 64 KiB: read with a limit of 1 MiB, no more than the
        // limit is inflated.
        let bomb = deflate(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < 128 << 10, "{}", bomb.len());
        let limit = 1 << 20;
        let mut inf = Inflater::new(&bomb[..], 0, limit);
        let mut out = Vec::new();
        let e = inf
            .read_more(&mut out, u64::MAX)
            .expect_err("over the limit");
        assert!(matches!(
            e,
            Error::Parse(ParseError::LimitExceeded {
                what: "inflated bytes",
                limit: 1_048_576
            })
        ));
        assert!(out.len() as u64 <= limit + 1, "{}", out.len());
    }

    #[test]
    fn corrupt_and_cut_streams() {
        // BTYPE 11 is reserved: not DEFLATE.
        let e = inflate_all(&[0x07, 1, 2, 3], 1 << 20, 4096).expect_err("corrupt");
        assert!(matches!(
            e,
            Error::Parse(ParseError::Malformed {
                reason: "invalid deflate stream",
                ..
            })
        ));
        // A stream cut short is truncated, wherever the cut.
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * i % 253) as u8).collect();
        let z = deflate(&data);
        for cut in [0, 1, z.len() / 2, z.len() - 1] {
            let e = inflate_all(&z[..cut], 1 << 20, 4096).expect_err("cut");
            assert!(
                matches!(e, Error::Parse(ParseError::Truncated { .. })),
                "cut at {cut}: {e:?}"
            );
        }
    }

    #[test]
    fn an_input_error_is_a_stream_error() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk"))
            }
        }
        let mut inf = Inflater::new(Failing, 0, 1 << 20);
        assert!(matches!(
            inf.read_more(&mut Vec::new(), 10),
            Err(Error::Stream(_))
        ));
    }
}

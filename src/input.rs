//! What an input is read through: the buffer each thread keeps, the sources bytes come from
//! (the input as it is, or a deflated dataset inflated), and the read sizes.

use std::io::Read;

use crate::deflate;
use crate::error::{Error, Result};

/// First read from a stream: enough for a typical XA/RF header, so that an image costs the
/// same whatever its pixel data; dose reports grow the buffer from there.
pub(crate) const FIRST_CHUNK: usize = 16 * 1024;

/// Files up to this size are read whole.
pub(crate) const SMALL_FILE: usize = 64 * 1024;

/// Structured reports up to this size are read at once (every real report seen so far is
/// smaller); a larger one, or one followed by padding, grows from there like any input.
pub(crate) const REPORT_AT_ONCE: usize = 8 << 20;

/// Where `Extractor::read_growing` takes its bytes: the input as it is, or the inflated
/// dataset of a deflated file.
pub(crate) trait Source {
    /// Whether the bytes are a deflated file's dataset, inflated (after its meta group).
    const INFLATED: bool;
    /// Appends at most `n` more bytes to `buf` and returns how many: fewer only at the end.
    fn read_more(&mut self, buf: &mut Vec<u8>, n: u64) -> Result<u64>;
}

/// An input read as it is.
pub(crate) struct Plain<R>(pub R);

impl<R: Read> Source for Plain<R> {
    const INFLATED: bool = false;
    fn read_more(&mut self, buf: &mut Vec<u8>, n: u64) -> Result<u64> {
        match (&mut self.0).take(n).read_to_end(buf) {
            Ok(got) => Ok(got as u64),
            Err(e) => Err(Error::Stream(e)),
        }
    }
}

impl<R: Read> Source for deflate::Inflater<R> {
    const INFLATED: bool = true;
    fn read_more(&mut self, buf: &mut Vec<u8>, n: u64) -> Result<u64> {
        deflate::Inflater::read_more(self, buf, n)
    }
}

/// Calls the caller's `heavy` once, before the first read beyond the first chunk.
pub(crate) struct Gate<'h> {
    pub light: bool,
    pub heavy: &'h mut dyn FnMut(),
}

impl Gate<'_> {
    pub fn before(&mut self, want: usize) {
        if self.light && want > FIRST_CHUNK {
            (self.heavy)();
            self.light = false;
        }
    }
}

/// The largest read buffer a thread keeps for its next input: one first chunk, what an image
/// header needs. A report's larger buffer is freed, so that between files a thread keeps little
/// more than its scanner tables (a folder run's memory stays under twice the largest file per
/// thread, results waiting for their turn included).
const READ_BUFFER_KEEP_MAX: usize = FIRST_CHUNK + 1;

thread_local! {
    static READ_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The buffer an input is read into: this thread's, kept from its last input (emptied), so
/// that a folder scan of image headers allocates one per worker thread rather than one per
/// file. It goes back on drop, when no larger than [`READ_BUFFER_KEEP_MAX`]; nothing read
/// outlives it (results own their values).
pub(crate) struct ReadBuffer(pub Vec<u8>);

impl ReadBuffer {
    pub fn take() -> ReadBuffer {
        let mut v = READ_BUFFER
            .try_with(std::cell::Cell::take)
            .unwrap_or_default();
        v.clear();
        ReadBuffer(v)
    }
}

impl Drop for ReadBuffer {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        if v.capacity() <= READ_BUFFER_KEEP_MAX {
            // Nothing is kept while the thread exits.
            let _ = READ_BUFFER.try_with(|kept| kept.set(v));
        }
    }
}

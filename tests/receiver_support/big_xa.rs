//! A multi-frame XA of any size, generated as it is read: the header of an XA file followed
//! by a Pixel Data element of 1024x1024 16-bit frames. Shared by tests/receiver_load.rs and
//! benches/receiver.rs.

use std::io::Read;

use kerma::net::client::Part10;
use kerma::net::header::{Encoding, HeaderCut};

/// XA Image Storage.
pub const XA_CLASS: &str = "1.2.840.10008.5.1.4.1.1.12.1";
/// Explicit VR little endian.
pub const EXPLICIT: &str = "1.2.840.10008.1.2.1";

/// The data set of a generated XA image, read from its start.
pub struct BigXa {
    header: Vec<u8>,
    pixel_bytes: u64,
    pos: u64,
}

impl BigXa {
    /// `frames` frames after the header of `xa_file` (a Part 10 XA in explicit VR LE, cut
    /// before its own Pixel Data); also returns its SOP Instance UID.
    pub fn new(xa_file: &[u8], frames: u64) -> (BigXa, String) {
        let meta = Part10::split(xa_file).expect("a Part 10 file");
        assert_eq!(meta.sop_class, XA_CLASS);
        assert_eq!(meta.transfer_syntax, EXPLICIT);
        let mut cut = HeaderCut::new(Encoding::Explicit, 1 << 20);
        cut.push(meta.data_set).expect("a small header");
        let mut header = cut.into_bytes();
        let pixel_bytes = frames * 1024 * 1024 * 2;
        header.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0]);
        let length = u32::try_from(pixel_bytes).expect("under 4 GiB of pixels");
        header.extend_from_slice(&length.to_le_bytes());
        (
            BigXa {
                header,
                pixel_bytes,
                pos: 0,
            },
            meta.sop_instance,
        )
    }

    /// Bytes of the whole data set.
    pub fn len(&self) -> u64 {
        self.header.len() as u64 + self.pixel_bytes
    }
}

impl Read for BigXa {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let total = self.len();
        if self.pos >= total {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(total - self.pos) as usize;
        let h = self.header.len() as u64;
        let from_header = if self.pos < h {
            let k = ((h - self.pos) as usize).min(n);
            buf[..k].copy_from_slice(&self.header[self.pos as usize..self.pos as usize + k]);
            k
        } else {
            0
        };
        // Pixels: a pattern that changes with the position.
        buf[from_header..n].fill((self.pos / 65_536) as u8);
        self.pos += n as u64;
        Ok(n)
    }
}

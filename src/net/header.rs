//! A data set arriving in fragments, kept up to Pixel Data: the rest is drained unread, so an
//! image of any size holds at most its header in memory.

/// Explicit VRs whose length field is 4 bytes after 2 reserved ones (PS3.5 §7.1.2).
const LONG_VRS: [&[u8; 2]; 13] = [
    b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV",
];

/// How the data set is encoded, as far as finding its top-level elements is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Implicit VR little endian (1.2.840.10008.1.2).
    Implicit,
    /// Explicit VR little endian, native or with encapsulated pixel data.
    Explicit,
    /// Deflated: elements cannot be seen without inflating; the whole data set is kept.
    Deflated,
}

impl Encoding {
    /// The encoding of transfer syntax `uid`; `None` for one the receiver does not accept
    /// (big endian).
    pub fn of(uid: &str) -> Option<Encoding> {
        match uid {
            "1.2.840.10008.1.2" => Some(Encoding::Implicit),
            "1.2.840.10008.1.2.1.99" => Some(Encoding::Deflated),
            "1.2.840.10008.1.2.2" => None,
            _ => Some(Encoding::Explicit),
        }
    }
}

/// The data set exceeded the bytes kept before Pixel Data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    /// The limit, in bytes.
    pub limit: usize,
}

/// Collects a data set's bytes until its top-level Pixel Data (7FE0,0010), Float Pixel Data
/// (7FE0,0008) or Double Float Pixel Data (7FE0,0009), and ignores the bytes after it.
///
/// Elements are followed at nesting depth 0 by their headers (PS3.5 §7.1): a defined length
/// is skipped, an undefined length (a sequence, or encapsulated data) opens a level that its
/// Sequence Delimitation Item closes; items of undefined length open a level that their Item
/// Delimitation Item closes. An undefined-length UN in an explicit data set holds implicit VR
/// elements (PS3.5 §6.2.2): they are read as such until its delimiter.
#[derive(Debug)]
pub struct HeaderCut {
    encoding: Encoding,
    limit: usize,
    buf: Vec<u8>,
    /// Offset of the next element (or item) header to read.
    next: usize,
    depth: u32,
    /// The depth from which elements are implicit VR (inside an undefined-length UN).
    implicit_from: Option<u32>,
    pixel_data_at: Option<usize>,
}

impl HeaderCut {
    /// A cut for a data set in `encoding`, keeping at most `limit` bytes before Pixel Data.
    pub fn new(encoding: Encoding, limit: usize) -> HeaderCut {
        HeaderCut {
            encoding,
            limit,
            buf: Vec::new(),
            next: 0,
            depth: 0,
            implicit_from: None,
            pixel_data_at: None,
        }
    }

    /// Takes the next fragment of the data set. Errs once the bytes before Pixel Data
    /// exceed the limit (nothing more is kept then).
    pub fn push(&mut self, fragment: &[u8]) -> Result<(), TooLarge> {
        if self.pixel_data_at.is_some() {
            return Ok(());
        }
        if self.buf.len() + fragment.len() > self.limit {
            // Keep what fits: the pixel data may begin inside this fragment.
            let room = self.limit.saturating_sub(self.buf.len());
            self.buf
                .extend_from_slice(&fragment[..room.min(fragment.len())]);
            self.scan();
            if self.pixel_data_at.is_some() {
                return Ok(());
            }
            return Err(TooLarge { limit: self.limit });
        }
        self.buf.extend_from_slice(fragment);
        self.scan();
        Ok(())
    }

    /// Whether Pixel Data was reached (the rest of the data set is not kept).
    pub fn cut(&self) -> bool {
        self.pixel_data_at.is_some()
    }

    /// The data set's bytes before Pixel Data (all of them if it has none).
    pub fn into_bytes(mut self) -> Vec<u8> {
        if let Some(at) = self.pixel_data_at {
            self.buf.truncate(at);
        }
        self.buf
    }

    /// Reads element headers from `next` while they are whole in the buffer.
    fn scan(&mut self) {
        if self.encoding == Encoding::Deflated {
            return;
        }
        while self.pixel_data_at.is_none() {
            if self.implicit_from.is_some_and(|d| self.depth < d) {
                self.implicit_from = None;
            }
            let at = self.next;
            let Some(head) = self.buf.get(at..at.saturating_add(8)) else {
                return;
            };
            let group = u16::from_le_bytes([head[0], head[1]]);
            let element = u16::from_le_bytes([head[2], head[3]]);
            let len4 = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            if group == 0xFFFE {
                // Item (E000), Item Delimitation (E00D), Sequence Delimitation (E0DD): always
                // tag + 4-byte length (PS3.5 §7.5).
                match element {
                    0xE000 if len4 == u32::MAX => {
                        self.depth += 1;
                        self.next = at + 8;
                    }
                    0xE000 => self.next = at + 8 + len4 as usize,
                    _ => {
                        self.depth = self.depth.saturating_sub(1);
                        self.next = at + 8;
                    }
                }
                continue;
            }
            if self.depth == 0 && group == 0x7FE0 && matches!(element, 0x0008..=0x0010) {
                self.pixel_data_at = Some(at);
                return;
            }
            let implicit = self.implicit_from.is_some() || self.encoding == Encoding::Implicit;
            let mut opens_un = false;
            let (header, len) = match implicit {
                true => (8, len4),
                false => {
                    let vr = [head[4], head[5]];
                    if LONG_VRS.iter().any(|v| **v == vr) {
                        let Some(l) = self.buf.get(at + 8..at + 12) else {
                            return;
                        };
                        opens_un = vr == *b"UN";
                        (12, u32::from_le_bytes([l[0], l[1], l[2], l[3]]))
                    } else {
                        (8, u32::from(u16::from_le_bytes([head[6], head[7]])))
                    }
                }
            };
            if len == u32::MAX {
                self.depth += 1;
                if opens_un && self.implicit_from.is_none() {
                    self.implicit_from = Some(self.depth);
                }
                self.next = at + header;
            } else {
                self.next = at + header + len as usize;
            }
        }
    }
}

/// A Part 10 file for a received data set: 128-byte preamble, "DICM", and the file meta
/// information group (PS3.10 §7.1) naming its SOP class, instance, transfer syntax and the
/// calling AE as Source Application Entity Title (0002,0016).
pub fn part10(
    sop_class: &str,
    sop_instance: &str,
    transfer_syntax: &str,
    calling_ae: &str,
    data_set: &[u8],
) -> Vec<u8> {
    let mut meta = Vec::with_capacity(256);
    put(&mut meta, 0x0001, b"OB", &[0, 1]);
    put(&mut meta, 0x0002, b"UI", &padded(sop_class, 0));
    put(&mut meta, 0x0003, b"UI", &padded(sop_instance, 0));
    put(&mut meta, 0x0010, b"UI", &padded(transfer_syntax, 0));
    put(
        &mut meta,
        0x0012,
        b"UI",
        &padded(super::IMPLEMENTATION_CLASS_UID, 0),
    );
    put(
        &mut meta,
        0x0013,
        b"SH",
        &padded(super::IMPLEMENTATION_VERSION, b' '),
    );
    if !calling_ae.is_empty() {
        put(&mut meta, 0x0016, b"AE", &padded(calling_ae, b' '));
    }
    let mut out = Vec::with_capacity(132 + 12 + meta.len() + data_set.len());
    out.resize(128, 0);
    out.extend_from_slice(b"DICM");
    put(&mut out, 0x0000, b"UL", &(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta);
    out.extend_from_slice(data_set);
    out
}

fn padded(s: &str, pad: u8) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    if v.len() % 2 == 1 {
        v.push(pad);
    }
    v
}

/// An explicit VR little endian element of group 0002.
fn put(out: &mut Vec<u8>, element: u16, vr: &[u8; 2], value: &[u8]) {
    out.extend_from_slice(&[2, 0]);
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(vr);
    if LONG_VRS.contains(&vr) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit(group: u16, element: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&group.to_le_bytes());
        v.extend_from_slice(&element.to_le_bytes());
        v.extend_from_slice(vr);
        if LONG_VRS.contains(&vr) {
            v.extend_from_slice(&[0, 0]);
            v.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            v.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        v.extend_from_slice(value);
        v
    }

    /// An explicit data set: a patient name, an undefined-length sequence whose item holds
    /// a nested (icon) Pixel Data, then the top-level Pixel Data.
    fn image() -> (Vec<u8>, usize) {
        let mut ds = explicit(0x0010, 0x0010, b"PN", b"DOE^J ");
        ds.extend_from_slice(&[
            0x88, 0, 0x00, 0x02, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        ds.extend(explicit(0x7FE0, 0x0010, b"OB", &[1, 2, 3, 4]));
        ds.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        ds.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let at = ds.len();
        ds.extend(explicit(0x7FE0, 0x0010, b"OW", &vec![7; 1000]));
        (ds, at)
    }

    #[test]
    fn cuts_at_top_level_pixel_data_in_any_fragmentation() {
        let (ds, at) = image();
        for size in [1, 2, 3, 7, 8, 12, 64, ds.len()] {
            let mut cut = HeaderCut::new(Encoding::Explicit, 4096);
            for f in ds.chunks(size) {
                cut.push(f).unwrap();
            }
            assert!(cut.cut(), "fragments of {size}");
            assert_eq!(cut.into_bytes(), &ds[..at], "fragments of {size}");
        }
    }

    #[test]
    fn the_limit_counts_only_bytes_before_pixel_data() {
        let (ds, at) = image();
        let mut cut = HeaderCut::new(Encoding::Explicit, at + 8);
        cut.push(&ds).unwrap();
        assert_eq!(cut.into_bytes().len(), at);
        let mut small = HeaderCut::new(Encoding::Explicit, at - 1);
        assert_eq!(small.push(&ds), Err(TooLarge { limit: at - 1 }));
    }

    #[test]
    fn undefined_length_un_holds_implicit_elements() {
        // (0009,1010) UN, undefined length: an item whose implicit element has a length
        // whose bytes would read as VR "OB" in explicit VR, then the delimiters.
        let mut ds = vec![
            0x09, 0, 0x10, 0x10, b'U', b'N', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        ds.extend_from_slice(&[0x09, 0, 0x20, 0x10, b'O', b'B', 0, 0]);
        ds.extend(std::iter::repeat_n(0x41, 0x424F));
        ds.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        ds.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let at = ds.len();
        ds.extend(explicit(0x7FE0, 0x0010, b"OB", &[0; 16]));
        let mut cut = HeaderCut::new(Encoding::Explicit, 1 << 20);
        cut.push(&ds).unwrap();
        assert!(cut.cut());
        assert_eq!(cut.into_bytes().len(), at);
    }

    #[test]
    fn implicit_and_deflated() {
        let mut ds = vec![0x10, 0, 0x10, 0, 4, 0, 0, 0, b'A', b'^', b'B', b' '];
        let at = ds.len();
        ds.extend_from_slice(&[0xE0, 0x7F, 0x10, 0, 4, 0, 0, 0, 1, 2, 3, 4]);
        let mut cut = HeaderCut::new(Encoding::Implicit, 100);
        cut.push(&ds).unwrap();
        assert_eq!(cut.into_bytes(), &ds[..at]);
        let mut whole = HeaderCut::new(Encoding::Deflated, 100);
        whole.push(&ds).unwrap();
        assert!(!whole.cut());
        assert_eq!(whole.into_bytes(), ds);
    }

    #[test]
    fn part10_is_read_by_kerma() {
        let file = part10(
            "1.2.840.10008.5.1.4.1.1.12.1",
            "1.2.3",
            "1.2.840.10008.1.2.1",
            "SCU",
            &image().0,
        );
        assert_eq!(&file[128..132], b"DICM");
        let x = crate::extract_bytes(&file).unwrap();
        assert_eq!(
            x.identity.sop_class_uid.as_deref(),
            Some("1.2.840.10008.5.1.4.1.1.12.1")
        );
    }
}

//! Tags and value representations: the tags the scanner acts on, the VR table and the
//! implicit VR dictionary.

use std::fmt;

/// A tag as `(group << 16) | element`.
pub(crate) type Tag = u32;

pub(super) const PIXEL_DATA_GROUP_START: Tag = 0x7FE0_0008;
/// Data Set Trailing Padding (PS3.10 7.2): allowed only at the end of the top-level dataset.
pub(super) const DATA_SET_TRAILING_PADDING: Tag = 0xFFFC_FFFC;
pub(super) const ITEM: Tag = 0xFFFE_E000;
pub(super) const ITEM_DELIMITATION: Tag = 0xFFFE_E00D;
pub(super) const SEQUENCE_DELIMITATION: Tag = 0xFFFE_E0DD;
pub(crate) const CONTENT_SEQUENCE: Tag = 0x0040_A730;
pub(super) const RELATIONSHIP_TYPE: Tag = 0x0040_A010;
/// The SR code sequences whose single code item the scanner keeps as a `Code`: Concept
/// Name, Concept and Measurement Units Code Sequences.
pub(crate) const CONCEPT_NAME: Tag = 0x0040_A043;
pub(crate) const CONCEPT_CODE: Tag = 0x0040_A168;
pub(crate) const UNITS: Tag = 0x0040_08EA;
/// The attributes of a code item (PS3.3 Table 8.8-1) that make a code.
pub(super) const CODE_VALUE: Tag = 0x0008_0100;
pub(super) const CODING_SCHEME: Tag = 0x0008_0102;
pub(super) const CODE_MEANING: Tag = 0x0008_0104;
pub(super) const LONG_CODE_VALUE: Tag = 0x0008_0119;
pub(super) const URN_CODE_VALUE: Tag = 0x0008_0120;
pub(super) const UNDEFINED: u32 = 0xFFFF_FFFF;

/// A value representation, as its two ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Vr(pub [u8; 2]);

impl Vr {
    pub const SQ: Vr = Vr(*b"SQ");
    pub const UN: Vr = Vr(*b"UN");
}

/// Whether each two-letter VR (`(first - b'A') * 26 + (second - b'A')`) has a 4-byte length
/// in explicit VR data (PS3.5 7.1.2): the one list of them.
const LONG_LENGTH: [bool; 26 * 26] = {
    let mut t = [false; 26 * 26];
    let long: [&[u8; 2]; 13] = [
        b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV", b"SV", b"UV",
    ];
    let mut i = 0;
    while i < long.len() {
        t[(long[i][0] - b'A') as usize * 26 + (long[i][1] - b'A') as usize] = true;
        i += 1;
    }
    t
};

/// `Some(long_length)` for a well-formed VR (two uppercase letters), `None` otherwise: one
/// table load instead of a chain of comparisons on the scanner's hot path.
#[inline(always)]
pub(super) fn vr_class(vr: Vr) -> Option<bool> {
    let a = vr.0[0].wrapping_sub(b'A') as usize;
    let b = vr.0[1].wrapping_sub(b'A') as usize;
    if a < 26 && b < 26 {
        Some(LONG_LENGTH[a * 26 + b])
    } else {
        None
    }
}

/// Whether `vr` is one of the value representations of the standard (PS3.5 6.2).
pub(super) fn is_standard_vr(vr: Vr) -> bool {
    const ALL: [&[u8; 2]; 34] = [
        b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"OB",
        b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
        b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
    ];
    ALL.iter().any(|v| **v == vr.0)
}

/// The VR the standard data dictionary gives a tag, `UN` for private and unknown tags: how a
/// value written as UN is read (PS3.5 6.2.2).
pub(super) fn standard_vr(tag: Tag) -> Vr {
    if (tag >> 16) % 2 == 1 {
        Vr::UN
    } else {
        dictionary_vr(tag)
    }
}

impl fmt::Debug for Vr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.0[0] as char, self.0[1] as char)
    }
}

/// The tag of an element whose first four bytes are `b`: group, then element, each a
/// little-endian `u16` (PS3.5 7.1.1).
#[inline]
pub(super) fn tag_of(b: &[u8]) -> Tag {
    (u32::from(u16::from_le_bytes([b[0], b[1]])) << 16)
        | u32::from(u16::from_le_bytes([b[2], b[3]]))
}

/// The VR of a tag in implicit VR data: the sequences kerma walks are known here, the rest
/// come from the standard data dictionary; private and unknown tags are `UN` (opaque bytes).
pub(super) fn implicit_vr(tag: Tag) -> Vr {
    match tag {
        // SR content tree and code sequences, the hot path of every implicit VR RDSR; a test
        // checks each line against the standard dictionary.
        0x0040_A730 | 0x0040_A043 | 0x0040_A300 | 0x0040_08EA | 0x0040_A168 | 0x0040_A504
        | 0x0008_1199 | 0x0008_1115 | 0x0008_1111 | 0x0008_1032 | 0x0040_A375 | 0x0040_A385
        | 0x0040_A301 | 0x0040_A073 | 0x0040_A078 | 0x5200_9229 | 0x5200_9230 | 0x0040_A370
        | 0x0040_A372 | 0x0040_0275 | 0x0008_114A | 0x0040_A360 | 0x0040_A525 | 0x0040_A088 => {
            Vr::SQ
        }
        0x0040_A010 | 0x0040_A040 | 0x0040_A050 | 0x0040_A491 | 0x0040_A493 | 0x0008_0105
        | 0x0008_010F => Vr(*b"CS"),
        0x0008_0100 | 0x0008_0102 | 0x0008_0103 => Vr(*b"SH"),
        0x0008_0104 | 0x0040_A027 => Vr(*b"LO"),
        0x0040_A30A => Vr(*b"DS"),
        0x0040_A160 => Vr(*b"UT"),
        0x0040_A124 | 0x0008_1150 | 0x0008_1155 | 0x0040_A171 | 0x0008_0117 => Vr(*b"UI"),
        0x0040_A120 | 0x0040_A032 | 0x0008_0106 | 0x0040_A030 => Vr(*b"DT"),
        0x0040_A121 => Vr(*b"DA"),
        0x0040_A122 => Vr(*b"TM"),
        0x0040_A123 | 0x0040_A075 => Vr(*b"PN"),
        0x0040_A161 => Vr(*b"FD"),
        0x0040_DB73 => Vr(*b"UL"),
        _ if (tag >> 16) % 2 == 1 => Vr::UN,
        _ => dictionary_vr(tag),
    }
}

#[inline(never)]
pub(super) fn dictionary_vr(tag: Tag) -> Vr {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
    use dicom_dictionary_std::StandardDataDictionary;
    let t = dicom_core::Tag((tag >> 16) as u16, (tag & 0xFFFF) as u16);
    match StandardDataDictionary.by_tag(t).map(|e| e.vr()) {
        Some(VirtualVr::Exact(vr)) => {
            let s = vr.to_string();
            let b = s.as_bytes();
            if b.len() == 2 {
                Vr([b[0], b[1]])
            } else {
                Vr::UN
            }
        }
        Some(_) => Vr(*b"OW"),
        None => Vr::UN,
    }
}

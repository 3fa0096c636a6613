//! A tiny DICOM encoder driven by fuzzer bytes, shared by the structure-aware targets.
//!
//! The targets decide the *shape* of a file (content items, header attributes, VRs, lengths)
//! from the fuzz input, so that the fuzzer spends its time in the SR walk and the header
//! readers rather than in rediscovering element syntax.
#![allow(dead_code)]

use libfuzzer_sys::arbitrary::{Result, Unstructured};

pub type Tag = (u16, u16);

/// Encoding of the data set.
#[derive(Clone, Copy)]
pub struct Enc {
    pub explicit: bool,
    /// Sequences and items with undefined length (delimited).
    pub undefined: bool,
}

const LONG_VRS: &[&[u8; 2]] = &[
    b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV", b"SV", b"UV",
];

fn is_long(vr: &[u8; 2]) -> bool {
    LONG_VRS.contains(&vr)
}

fn tag(out: &mut Vec<u8>, t: Tag) {
    out.extend_from_slice(&t.0.to_le_bytes());
    out.extend_from_slice(&t.1.to_le_bytes());
}

/// One element with a value (padded to even length).
pub fn element(out: &mut Vec<u8>, enc: Enc, t: Tag, vr: &[u8; 2], value: &[u8]) {
    let mut v = value.to_vec();
    if v.len() % 2 == 1 {
        v.push(if vr == b"UI" || vr == b"OB" { 0 } else { b' ' });
    }
    tag(out, t);
    if enc.explicit {
        out.extend_from_slice(vr);
        if is_long(vr) {
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        } else {
            // A short VR cannot hold more than 0xFFFF bytes: cut the value.
            v.truncate(0xFFFE);
            out.extend_from_slice(&(v.len() as u16).to_le_bytes());
        }
    } else {
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(&v);
}

/// A sequence of pre-encoded item bodies.
pub fn sequence(out: &mut Vec<u8>, enc: Enc, t: Tag, items: &[Vec<u8>]) {
    let mut body = Vec::new();
    for it in items {
        tag(&mut body, (0xFFFE, 0xE000));
        if enc.undefined {
            body.extend_from_slice(&u32::MAX.to_le_bytes());
            body.extend_from_slice(it);
            tag(&mut body, (0xFFFE, 0xE00D));
            body.extend_from_slice(&0u32.to_le_bytes());
        } else {
            body.extend_from_slice(&(it.len() as u32).to_le_bytes());
            body.extend_from_slice(it);
        }
    }
    tag(out, t);
    if enc.explicit {
        out.extend_from_slice(b"SQ\0\0");
    }
    if enc.undefined {
        out.extend_from_slice(&u32::MAX.to_le_bytes());
        out.extend_from_slice(&body);
        tag(out, (0xFFFE, 0xE0DD));
        out.extend_from_slice(&0u32.to_le_bytes());
    } else {
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
    }
}

/// Preamble, `DICM`, file meta group (explicit VR LE) and the encoded data set.
pub fn file(sop_class: &str, transfer_syntax: &str, body: &[u8]) -> Vec<u8> {
    let meta_enc = Enc {
        explicit: true,
        undefined: false,
    };
    let mut meta = Vec::new();
    element(&mut meta, meta_enc, (0x0002, 0x0001), b"OB", &[0, 1]);
    element(
        &mut meta,
        meta_enc,
        (0x0002, 0x0002),
        b"UI",
        sop_class.as_bytes(),
    );
    element(&mut meta, meta_enc, (0x0002, 0x0003), b"UI", b"1.2.3.4.5");
    element(
        &mut meta,
        meta_enc,
        (0x0002, 0x0010),
        b"UI",
        transfer_syntax.as_bytes(),
    );
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    element(
        &mut out,
        meta_enc,
        (0x0002, 0x0000),
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    );
    out.extend_from_slice(&meta);
    out.extend_from_slice(body);
    out
}

pub fn transfer_syntax(enc: Enc) -> &'static str {
    if enc.explicit {
        "1.2.840.10008.1.2.1"
    } else {
        "1.2.840.10008.1.2"
    }
}

/// Values that have broken readers before: not numbers, out of range, multi-valued, padded.
pub const NUMBERS: &[&str] = &[
    "12.5",
    "0",
    "0.00012",
    "-5",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "1e309",
    "-1e309",
    "1e-320",
    "",
    " ",
    "1\\2\\3",
    "0\\70\\71",
    "1,5",
    "1 5",
    " 7 ",
    "12..5",
    "+.e",
    "-0",
    "1E15",
    "99999999999999999",
    "4294967296",
    "65536",
    "86401",
    "1.7976931348623157e308",
    "\\",
    "\0",
];

/// A string: one of the known values, or arbitrary bytes.
pub fn text<'a>(u: &mut Unstructured<'a>, known: &[&'static str]) -> Result<Vec<u8>> {
    if u.ratio(3, 4)? {
        Ok(u.choose(known)?.as_bytes().to_vec())
    } else {
        let n = u.int_in_range(0..=24usize)?;
        Ok(u.bytes(n)?.to_vec())
    }
}

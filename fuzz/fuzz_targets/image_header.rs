//! XA/RF image headers: fuzzer bytes choose the dose and technique attributes of a classic or
//! Enhanced XA/XRF header (right or wrong VRs, garbage values, functional groups), encoded as a
//! file that ends with Pixel Data, and read by `extract_bytes`.
#![no_main]

mod common;

use common::{Enc, NUMBERS, element, file, sequence, text, transfer_syntax};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

/// Header attributes kerma reads, with their standard VR.
const ATTRS: &[((u16, u16), &[u8; 2])] = &[
    ((0x0018, 0x115E), b"DS"),
    ((0x0040, 0x8302), b"DS"),
    ((0x0040, 0x0302), b"US"),
    ((0x0040, 0x0300), b"US"),
    ((0x0040, 0x0301), b"US"),
    ((0x0018, 0x1150), b"IS"),
    ((0x0018, 0x9328), b"FD"),
    ((0x0018, 0x1151), b"IS"),
    ((0x0018, 0x9330), b"FD"),
    ((0x0018, 0x0060), b"DS"),
    ((0x0018, 0x1152), b"IS"),
    ((0x0018, 0x9332), b"FD"),
    ((0x0028, 0x0008), b"IS"),
    ((0x0018, 0x1063), b"DS"),
    ((0x0018, 0x1510), b"DS"),
    ((0x0018, 0x1511), b"DS"),
    ((0x0018, 0x1110), b"DS"),
    ((0x0018, 0x1111), b"DS"),
    ((0x0018, 0x1155), b"CS"),
    ((0x0008, 0x3010), b"UI"),
    ((0x0018, 0x9073), b"FD"),
    ((0x0008, 0x002A), b"DT"),
    ((0x0008, 0x0022), b"DA"),
    ((0x0008, 0x0032), b"TM"),
    ((0x0018, 0x9074), b"DT"),
    ((0x0008, 0x0005), b"CS"),
    ((0x0010, 0x0020), b"LO"),
    ((0x0010, 0x1030), b"DS"),
    ((0x0010, 0x1020), b"DS"),
    ((0x0008, 0x0020), b"DA"),
    ((0x0008, 0x0080), b"LO"),
];

/// Functional group sequences and the macros inside them.
const GROUPS: &[(u16, u16)] = &[(0x5200, 0x9229), (0x5200, 0x9230)];
const MACROS: &[(u16, u16)] = &[
    (0x0018, 0x9477),
    (0x0018, 0x9417),
    (0x0020, 0x9111),
    (0x0018, 0x9405),
];

const VRS: &[&[u8; 2]] = &[
    b"DS", b"IS", b"US", b"FD", b"FL", b"UL", b"CS", b"LO", b"UI", b"UN", b"OB", b"UT", b"SQ",
    b"AA",
];

const SOP_CLASSES: &[&str] = &[
    "1.2.840.10008.5.1.4.1.1.12.1",
    "1.2.840.10008.5.1.4.1.1.12.2",
    "1.2.840.10008.5.1.4.1.1.12.1.1",
    "1.2.840.10008.5.1.4.1.1.12.2.1",
    "1.2.840.10008.5.1.4.1.1.12.3",
    "1.2.840.10008.5.1.4.1.1.7",
];

fn value(u: &mut Unstructured<'_>, vr: &[u8; 2]) -> Result<Vec<u8>> {
    Ok(match vr {
        b"US" | b"FD" | b"FL" | b"UL" | b"OB" | b"UN" => {
            let n = *u.choose(&[0usize, 1, 2, 4, 8, 16, 3])?;
            u.bytes(n)?.to_vec()
        }
        b"UI" => text(u, &["1.2.3.4", "1.2.3\\1.2.4", "\\", "é", ""])?,
        b"CS" => text(
            u,
            &[
                "SC",
                "GR",
                "ISO_IR 100",
                "ISO_IR 192",
                "\\ISO 2022 IR 87",
                "",
            ],
        )?,
        b"LO" => text(u, &["PATIENT", "ÄÖÜ", ""])?,
        b"DT" | b"DA" | b"TM" => text(u, &["20260315", "104500", "20260315104500.123", ""])?,
        _ => text(u, NUMBERS)?,
    })
}

fn attrs(u: &mut Unstructured<'_>, enc: Enc, depth: usize, out: &mut Vec<u8>) -> Result<()> {
    let n = u.int_in_range(0..=12usize)?;
    for _ in 0..n {
        if u.is_empty() {
            break;
        }
        match u.int_in_range(0..=9u8)? {
            0 if depth < 4 => {
                let t = if depth == 0 {
                    *u.choose(GROUPS)?
                } else {
                    *u.choose(MACROS)?
                };
                let items = u.int_in_range(0..=4usize)?;
                let mut bodies = Vec::new();
                for _ in 0..items {
                    let mut b = Vec::new();
                    attrs(u, enc, depth + 1, &mut b)?;
                    bodies.push(b);
                }
                sequence(out, enc, t, &bodies);
            }
            _ => {
                let (t, std_vr) = *u.choose(ATTRS)?;
                let vr = if u.ratio(1, 5)? {
                    *u.choose(VRS)?
                } else {
                    std_vr
                };
                if vr == b"SQ" {
                    sequence(out, enc, t, &[Vec::new()]);
                } else {
                    let v = value(u, vr)?;
                    element(out, enc, t, vr, &v);
                }
            }
        }
    }
    Ok(())
}

fn build(data: &[u8]) -> Result<Vec<u8>> {
    let mut u = Unstructured::new(data);
    let enc = Enc {
        explicit: u.arbitrary()?,
        undefined: u.arbitrary()?,
    };
    let sop = *u.choose(SOP_CLASSES)?;
    let mut body = Vec::new();
    element(&mut body, enc, (0x0008, 0x0016), b"UI", sop.as_bytes());
    element(&mut body, enc, (0x0008, 0x0018), b"UI", b"1.2.3.4.5");
    let modality = *u.choose(&["XA", "RF", "CT", ""])?;
    element(&mut body, enc, (0x0008, 0x0060), b"CS", modality.as_bytes());
    attrs(&mut u, enc, 0, &mut body)?;
    if u.arbitrary()? {
        element(&mut body, enc, (0x7FE0, 0x0010), b"OW", &[0; 16]);
    }
    Ok(file(sop, transfer_syntax(enc), &body))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(bytes) = build(data) {
        let _ = kerma::extract_bytes(&bytes);
    }
});

//! The SR content-tree walk: fuzzer bytes choose an X-Ray Radiation Dose SR's content tree
//! (concepts, value types, numbers, units, nesting, relationship types), encoded as a
//! well-formed file and read by `extract_bytes`.
#![no_main]

mod common;

use common::{Enc, NUMBERS, element, file, sequence, text, transfer_syntax};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

const CODES: &[(&str, &str)] = &[
    ("113701", "DCM"),
    ("121058", "DCM"),
    ("113704", "DCM"),
    ("363703001", "SCT"),
    ("122142", "DCM"),
    ("113957", "DCM"),
    ("113958", "DCM"),
    ("113705", "DCM"),
    ("113014", "DCM"),
    ("113016", "DCM"),
    ("110180", "DCM"),
    ("112002", "DCM"),
    ("121126", "DCM"),
    ("121012", "DCM"),
    ("121013", "DCM"),
    ("121014", "DCM"),
    ("121015", "DCM"),
    ("121016", "DCM"),
    ("113854", "DCM"),
    ("113809", "DCM"),
    ("113810", "DCM"),
    ("113702", "DCM"),
    ("113706", "DCM"),
    ("113764", "DCM"),
    ("113622", "DCM"),
    ("113620", "DCM"),
    ("113621", "DCM"),
    ("113890", "DCM"),
    ("122505", "DCM"),
    ("113722", "DCM"),
    ("113725", "DCM"),
    ("113726", "DCM"),
    ("113727", "DCM"),
    ("113728", "DCM"),
    ("113729", "DCM"),
    ("113730", "DCM"),
    ("113855", "DCM"),
    ("113731", "DCM"),
    ("113780", "DCM"),
    ("113860", "DCM"),
    ("113737", "DCM"),
    ("113769", "DCM"),
    ("113853", "DCM"),
    ("111526", "DCM"),
    ("113721", "DCM"),
    ("125203", "DCM"),
    ("123014", "DCM"),
    ("122130", "DCM"),
    ("113738", "DCM"),
    ("113742", "DCM"),
    ("113768", "DCM"),
    ("113791", "DCM"),
    ("113793", "DCM"),
    ("113733", "DCM"),
    ("113734", "DCM"),
    ("113824", "DCM"),
    ("113735", "DCM"),
    ("113736", "DCM"),
    ("112011", "DCM"),
    ("112012", "DCM"),
    ("113750", "DCM"),
    ("113790", "DCM"),
    ("113771", "DCM"),
    ("113772", "DCM"),
    ("113757", "DCM"),
    ("113758", "DCM"),
    ("113773", "DCM"),
    ("113611", "DCM"),
    ("113612", "DCM"),
    ("113613", "DCM"),
    ("44491008", "SCT"),
    ("P5-06000", "SRT"),
    ("P5-06000", "SNM3"),
    ("71651007", "SCT"),
    ("P5-40010", "SRT"),
    ("P5-08000", "SRT"),
    ("113811", "DCM"),
    ("113819", "DCM"),
    ("113743", "DCM"),
    ("113744", "DCM"),
    ("C-10", "99SMS_RADSUM"),
    ("C-200", "99SMS_RADSUM"),
    ("C-202", "99SMS_RADSUM"),
    ("C-204", "99SMS_RADSUM"),
    ("C-210", "99SMS_RADSUM"),
];

const MEANINGS: &[&str] = &[
    "Fluoroscopy",
    "Stationary Acquisition",
    "acquisition",
    "",
    "é",
];

const UNITS: &[&str] = &[
    "Gy.m2",
    "Gy",
    "mGy",
    "dGy.cm2",
    "Gy.cm2",
    "mGy.cm2",
    "uGy.m2",
    "s",
    "ms",
    "1",
    "kV",
    "mA",
    "uAs",
    "pulse/s",
    "{pulse}/s",
    "Gym2",
    "Gy.cm^2",
    "Gy.in2",
    "rad",
    "m",
    "mm",
    "cm",
    "m2",
    "deg",
    "",
];

const VALUE_TYPES: &[&str] = &[
    "CONTAINER",
    "NUM",
    "CODE",
    "TEXT",
    "UIDREF",
    "DATETIME",
    "PNAME",
    "",
    "num",
];

const SOP_CLASSES: &[&str] = &[
    "1.2.840.10008.5.1.4.1.1.88.67",
    "1.2.840.10008.5.1.4.1.1.88.22",
    "1.2.840.10008.5.1.4.1.1.88.33",
    "1.2.840.10008.5.1.4.1.1.88.76",
    "1.2.840.10008.5.1.4.1.1.12.1",
    "",
];

fn code_item(u: &mut Unstructured<'_>, enc: Enc) -> Result<Vec<u8>> {
    let (value, scheme) = *u.choose(CODES)?;
    let mut out = Vec::new();
    if u.ratio(1, 16)? {
        // Long Code Value instead of Code Value.
        element(&mut out, enc, (0x0008, 0x0119), b"UC", value.as_bytes());
    } else {
        element(&mut out, enc, (0x0008, 0x0100), b"SH", value.as_bytes());
    }
    if !u.ratio(1, 16)? {
        element(&mut out, enc, (0x0008, 0x0102), b"SH", scheme.as_bytes());
    }
    let meaning = text(u, MEANINGS)?;
    element(&mut out, enc, (0x0008, 0x0104), b"LO", &meaning);
    Ok(out)
}

fn content_item(u: &mut Unstructured<'_>, enc: Enc, depth: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    // Concept name first (0040,A043) is after (0040,A040) in tag order; order is free here.
    if !u.ratio(1, 20)? {
        element(&mut out, enc, (0x0040, 0xA010), b"CS", b"CONTAINS");
    }
    let vt = *u.choose(VALUE_TYPES)?;
    element(&mut out, enc, (0x0040, 0xA040), b"CS", vt.as_bytes());
    if !u.ratio(1, 20)? {
        let n = if u.ratio(1, 10)? { 2 } else { 1 };
        let mut items = Vec::new();
        for _ in 0..n {
            items.push(code_item(u, enc)?);
        }
        sequence(&mut out, enc, (0x0040, 0xA043), &items);
    }
    match vt {
        "NUM" | "num" => {
            let mut mv = Vec::new();
            if u.ratio(1, 8)? {
                let n = u.int_in_range(0..=3usize)? * 8 + usize::from(u.ratio(1, 4)?);
                let fp = u.bytes(n)?.to_vec();
                element(&mut mv, enc, (0x0040, 0xA161), b"FD", &fp);
            }
            if !u.ratio(1, 10)? {
                let v = text(u, NUMBERS)?;
                element(&mut mv, enc, (0x0040, 0xA30A), b"DS", &v);
            }
            if !u.ratio(1, 10)? {
                let unit = text(u, UNITS)?;
                let mut code = Vec::new();
                element(&mut code, enc, (0x0008, 0x0100), b"SH", &unit);
                element(&mut code, enc, (0x0008, 0x0102), b"SH", b"UCUM");
                sequence(&mut mv, enc, (0x0040, 0x08EA), &[code]);
            }
            let n = if u.ratio(1, 10)? { 0 } else { 1 };
            let items: Vec<Vec<u8>> = (0..n).map(|_| mv.clone()).collect();
            sequence(&mut out, enc, (0x0040, 0xA300), &items);
        }
        "CODE" => {
            let c = code_item(u, enc)?;
            sequence(&mut out, enc, (0x0040, 0xA168), &[c]);
        }
        "TEXT" | "PNAME" => {
            let t = text(u, &["15cm below BeamIsocenter", "1.2.3.4", "ÄÖÜ", ""])?;
            element(&mut out, enc, (0x0040, 0xA160), b"UT", &t);
        }
        "UIDREF" => {
            let t = text(u, &["1.2.3.4", "1.2.826.0.1.3680043.10.1234.1", ".", ""])?;
            element(&mut out, enc, (0x0040, 0xA124), b"UI", &t);
        }
        "DATETIME" => {
            let t = text(
                u,
                &[
                    "20260315102000",
                    "2026",
                    "20261315",
                    "2026031",
                    "2026031é",
                    "",
                ],
            )?;
            element(&mut out, enc, (0x0040, 0xA120), b"DT", &t);
        }
        _ => {}
    }
    if depth < 6 && (vt == "CONTAINER" || u.ratio(1, 10)?) {
        let n = u.int_in_range(0..=8usize)?;
        let mut children = Vec::new();
        for _ in 0..n {
            if u.is_empty() {
                break;
            }
            children.push(content_item(u, enc, depth + 1)?);
        }
        sequence(&mut out, enc, (0x0040, 0xA730), &children);
    }
    Ok(out)
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
    if u.arbitrary()? {
        element(&mut body, enc, (0x0008, 0x0020), b"DA", b"20260315");
    }
    element(&mut body, enc, (0x0008, 0x0060), b"CS", b"SR");
    if u.arbitrary()? {
        let t = text(&mut u, &["10001", "10011", "", "1000"])?;
        let mut tpl = Vec::new();
        element(&mut tpl, enc, (0x0040, 0xDB00), b"CS", &t);
        sequence(&mut body, enc, (0x0040, 0xA504), &[tpl]);
    }
    element(&mut body, enc, (0x0040, 0xA040), b"CS", b"CONTAINER");
    let root = if u.ratio(7, 8)? {
        let mut c = Vec::new();
        element(&mut c, enc, (0x0008, 0x0100), b"SH", b"113701");
        element(&mut c, enc, (0x0008, 0x0102), b"SH", b"DCM");
        c
    } else {
        code_item(&mut u, enc)?
    };
    sequence(&mut body, enc, (0x0040, 0xA043), &[root]);
    let mut children = Vec::new();
    while !u.is_empty() && children.len() < 256 {
        children.push(content_item(&mut u, enc, 1)?);
    }
    sequence(&mut body, enc, (0x0040, 0xA730), &children);
    Ok(file(sop, transfer_syntax(enc), &body))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(bytes) = build(data) {
        let _ = kerma::extract_bytes(&bytes);
        // The library reads the root's content items as the scanner hands them over: the
        // same report, warnings and errors as from the whole tree, with a limit on events
        // that these trees reach too.
        let default = kerma::Limits::default();
        kerma::fuzz_root_visitor(&bytes, &default);
        kerma::fuzz_root_visitor(&bytes, &kerma::Limits { max_events: 2, ..default });
    }
});

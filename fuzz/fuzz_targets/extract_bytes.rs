//! Classification and extraction from untrusted bytes: `extract_bytes`, the same bytes through
//! `extract_reader` (the growing-buffer path used for files), and tight limits. The bytes are
//! read once as a file, and once as the DEFLATE stream of a Deflated Explicit VR Little Endian
//! file (after a fixed meta group), so that the inflater sees untrusted streams too.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// A preamble and a meta group naming Deflated Explicit VR Little Endian.
fn deflated_meta() -> Vec<u8> {
    let mut v = vec![0u8; 128];
    v.extend_from_slice(b"DICM");
    let uid = b"1.2.840.10008.1.2.1.99";
    v.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
    v.extend_from_slice(&(uid.len() as u16).to_le_bytes());
    v.extend_from_slice(uid);
    v
}

fn check(data: &[u8]) {
    let from_bytes = kerma::extract_bytes(data);
    let from_reader = kerma::extract_reader(std::io::Cursor::new(data));
    // Both paths read the same scanner: they must agree on what the file is.
    match (&from_bytes, &from_reader) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.kind, b.kind);
            assert_eq!(a.outcome, b.outcome);
            assert_eq!(a.report, b.report);
            assert_eq!(a.image, b.image);
            assert_eq!(a.warnings, b.warnings);
        }
        (Err(_), Err(_)) => {}
        (a, b) => panic!("bytes and reader paths disagree: {a:?} vs {b:?}"),
    }
    // Tight limits must give an error or a result, never a panic.
    let tight = kerma::Extractor::new().with_limits(kerma::Limits {
        max_depth: 3,
        max_elements: 64,
        max_header_bytes: 4096,
        max_events: 2,
        max_inflated_bytes: 1 << 16,
    });
    let _ = tight.extract_bytes(data);
    let _ = tight.extract_reader(std::io::Cursor::new(data));
    // Root content items read during the scan and from the whole tree give the same result.
    kerma::fuzz_root_visitor(data, &kerma::Limits::default());
    kerma::fuzz_root_visitor(data, tight.limits());
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut deflated = deflated_meta();
    deflated.extend_from_slice(data);
    check(&deflated);
});

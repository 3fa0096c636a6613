//! Inputs found by the cargo-fuzz targets in `fuzz/`, kept as regression tests, and the checks
//! the `extract_bytes` target makes, so that a finding can be replayed without a nightly
//! toolchain.
//!
//! * Each finding is a test of its own: its input (minimised bytes, or generated when the
//!   finding depends on an offset, as the chunk-boundary one below) and the result or typed
//!   error each read path must give.
//! * `cargo test --test fuzz_regressions -- --ignored write_fuzz_seeds` writes the generated
//!   fixtures into `fuzz/corpus/extract_bytes/` (git-ignored) to seed a fuzz run.
//! * `cargo test --test fuzz_regressions -- --ignored replay_local_fuzz_files` replays every
//!   file under `fuzz/corpus/` and `fuzz/artifacts/` through the same checks.

#[path = "fixtures/mod.rs"]
mod fixtures;

use std::path::PathBuf;

use kerma::{Error, Extractor, Limits, ObjectKind, Outcome};

/// What the `extract_bytes` fuzz target checks: no panic; the bytes and reader paths agree;
/// tight limits give a result or an error.
fn check(data: &[u8]) {
    let from_bytes = kerma::extract_bytes(data);
    let from_reader = kerma::extract_reader(data);
    match (&from_bytes, &from_reader) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.kind, b.kind);
            assert_eq!(a.outcome, b.outcome);
            assert_eq!(a.report, b.report);
            assert_eq!(a.image, b.image);
            assert_eq!(a.warnings, b.warnings);
        }
        (Err(Error::Parse(a)), Err(Error::Parse(b))) => assert_eq!(a, b),
        (a, b) => panic!("bytes and reader paths disagree: {a:?} vs {b:?}"),
    }
    let tight = Extractor::new().with_limits(Limits {
        max_depth: 3,
        max_elements: 64,
        max_header_bytes: 4096,
        max_events: 2,
        max_inflated_bytes: 1 << 16,
    });
    let _ = tight.extract_bytes(data);
    let _ = tight.extract_reader(data);
}

/// Fuzz finding (`extract_bytes`): a file whose meta group has no transfer syntax and ends a
/// few bytes before the reader's first chunk boundary. The reader path must read the dataset
/// as the byte path does, at every such boundary, not call the file "not DICOM".
#[test]
fn meta_group_ending_at_a_reader_chunk_boundary() {
    for end in 16_370..16_400usize {
        let mut b = vec![0u8; 128];
        b.extend_from_slice(b"DICM");
        let mut el = |tag: u16, vr: &[u8; 2], value: &[u8], long: bool| {
            b.extend_from_slice(&2u16.to_le_bytes());
            b.extend_from_slice(&tag.to_le_bytes());
            b.extend_from_slice(vr);
            if long {
                b.extend_from_slice(&[0, 0]);
                b.extend_from_slice(&(value.len() as u32).to_le_bytes());
            } else {
                b.extend_from_slice(&(value.len() as u16).to_le_bytes());
            }
            b.extend_from_slice(value);
        };
        let sop = b"1.2.840.10008.5.1.4.1.1.88.22\0";
        // 132 + 12 + pad + 8 + sop = end
        let pad = end - 132 - 12 - 8 - sop.len();
        el(0x0001, b"OB", &vec![0u8; pad], true);
        el(0x0002, b"UI", sop, false);
        assert_eq!(b.len(), end);
        // a raw explicit VR dataset follows
        b.extend_from_slice(&[0x08, 0x00, 0x16, 0x00, b'U', b'I', 6, 0]);
        b.extend_from_slice(b"1.2.3\0");
        check(&b);
        // Both paths read the dataset: an object that is neither a dose report nor an image.
        for (path, r) in [
            ("bytes", kerma::extract_bytes(&b)),
            ("reader", kerma::extract_reader(&b[..])),
        ] {
            match r {
                Ok(x) => assert_eq!(
                    (x.kind, x.outcome, x.identity.sop_class_uid.as_deref()),
                    (ObjectKind::Other, Outcome::NoDose, Some("1.2.3")),
                    "{path} path, meta group ending at {end}"
                ),
                Err(e) => panic!("{path} path, meta group ending at {end}: {e:?}"),
            }
        }
    }
}

/// Short inputs around the start of a file (preamble, `DICM`, meta group) where a scanner is
/// most likely to index out of bounds: every prefix of a real header, and single-byte edits
/// of its first 300 bytes.
#[test]
fn prefixes_and_byte_edits_of_a_header() {
    let file = fixtures::by_name("rdsr_single_plane.dcm").unwrap().bytes;
    for cut in 0..400.min(file.len()) {
        check(&file[..cut]);
    }
    let head = &file[..file.len().min(2048)];
    for at in 0..300.min(head.len()) {
        for v in [0x00, 0xFF, 0x7F, b'S'] {
            let mut b = head.to_vec();
            b[at] = v;
            check(&b);
        }
    }
}

/// Every generated fixture passes the fuzz target's checks (they seed the fuzz corpus).
#[test]
fn generated_fixtures_pass_the_fuzz_checks() {
    for f in fixtures::catalog() {
        check(&f.bytes);
    }
}

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

#[test]
#[ignore = "writes seeds for a fuzz run into fuzz/corpus/extract_bytes"]
fn write_fuzz_seeds() {
    let dir = fuzz_dir().join("corpus").join("extract_bytes");
    std::fs::create_dir_all(&dir).unwrap();
    for f in fixtures::catalog() {
        std::fs::write(dir.join(format!("fixture_{}", f.name)), &f.bytes).unwrap();
    }
    std::fs::write(dir.join("fixture_small_rdsr"), fixtures::small_rdsr(1)).unwrap();
    std::fs::write(
        dir.join("fixture_enhanced_xa_header"),
        fixtures::enhanced_xa_header(1, 8, true),
    )
    .unwrap();
}

#[test]
#[ignore = "replays the local (git-ignored) fuzz corpus and artifacts"]
fn replay_local_fuzz_files() {
    let dirs = [fuzz_dir().join("corpus"), fuzz_dir().join("artifacts")];
    let existing: Vec<&PathBuf> = dirs.iter().filter(|d| d.is_dir()).collect();
    let mut n = 0;
    for input in kerma::walk_inputs(&existing) {
        let data = std::fs::read(&input.path).unwrap();
        let r = std::panic::catch_unwind(|| check(&data));
        assert!(r.is_ok(), "{} panics", input.path.display());
        n += 1;
    }
    eprintln!("replayed {n} files");
}

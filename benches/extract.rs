//! Single-file extraction.
//!
//! For each of the largest real RDSRs of the corpus, measured side by side in one run:
//!
//! * `fs_read`: reading the file's bytes (page cache warm): the floor;
//! * `kerma_extract_path`: kerma's full path (read, scan, classify, every plane and event);
//! * `kerma_extract_bytes`: the same from bytes already in memory;
//! * `dicom_parser_tokens`: dicom-rs's lower layer, a `DataSetReader` token stream with raw
//!   values, consumed to the end (no object built);
//! * `dicom_parser_lazy_skip`: dicom-rs's lazy token reader skipping every value: the ceiling
//!   of any extraction built on the lower layers;
//! * `dicom_object_parse`: dicom-object's in-memory parse (`read_until(PIXEL_DATA)`), the
//!   baseline of the issue.
//!
//! Then synthetic large RDSRs (explicit and implicit VR) from `tests/fixtures`, and a 1-frame
//! vs a 2,000-frame 1024×1024 XA with the same header, written to temporary
//! files at bench start. At the end a ratio table is printed from criterion's estimates.
//!
//! ```text
//! KERMA_CORPUS=../shared/corpus cargo bench --bench extract
//! ```

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

mod common;

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput};

/// How many of the corpus's largest RDSRs are benched.
const LARGEST: usize = 3;

/// The six measurements of one RDSR, in one criterion group named `group`.
fn bench_rdsr(c: &mut Criterion, group: &str, path: &Path, bytes: &[u8]) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("fs_read", |b| {
        b.iter(|| std::fs::read(black_box(path)).expect("read"))
    });
    g.bench_function("kerma_extract_path", |b| {
        b.iter(|| kerma::extract_path(black_box(path)).expect("extract"))
    });
    g.bench_function("kerma_extract_bytes", |b| {
        b.iter(|| kerma::extract_bytes(black_box(bytes)).expect("extract"))
    });
    if bytes.len() > 132 && &bytes[128..132] == b"DICM" {
        g.bench_function("dicom_parser_tokens", |b| {
            b.iter(|| common::dicom_parser_tokens(black_box(bytes)))
        });
        g.bench_function("dicom_parser_lazy_skip", |b| {
            b.iter(|| common::dicom_parser_lazy_skip(black_box(bytes)))
        });
        g.bench_function("dicom_object_parse", |b| {
            b.iter(|| common::dicom_object_parse(black_box(bytes)))
        });
    }
    g.finish();
}

fn corpus(c: &mut Criterion, groups: &mut Vec<String>) {
    let Some(dir) = common::corpus_dir("extract/corpus") else {
        return;
    };
    let files = common::largest_rdsrs(&dir, LARGEST);
    // A small one too, for the issue's 61 kB figure.
    let small = dir.join("openrem-0.10.0-pypi/RF-RDSR-GE.dcm");
    let mut all: Vec<(PathBuf, Vec<u8>)> = files;
    if let Ok(b) = std::fs::read(&small) {
        all.push((small, b));
    }
    for (path, bytes) in &all {
        let x = kerma::extract_bytes(bytes).expect("corpus RDSR");
        let report = x.report.as_ref().expect("a report");
        eprintln!(
            "corpus {}: {} bytes, {} plane(s), {} events",
            common::short(path),
            bytes.len(),
            report.planes.len(),
            report.events.len()
        );
        let group = format!("rdsr_{}", common::short(path));
        bench_rdsr(c, &group, path, bytes);
        groups.push(group);
    }
}

/// Writes `bytes` to a new file in `dir`.
fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write temp file");
    p
}

fn synthetic(c: &mut Criterion, groups: &mut Vec<String>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in [
        ("synthetic_explicit_1000ev", fixtures::big_rdsr(1000)),
        (
            "synthetic_implicit_1000ev",
            fixtures::big_rdsr_implicit(1000),
        ),
    ] {
        let path = write_temp(tmp.path(), &format!("{name}.dcm"), &bytes);
        bench_rdsr(c, name, &path, &bytes);
        groups.push(name.to_owned());
    }
}

/// Replaces the 2-byte US value of an explicit VR LE element (tag `group,element`).
fn patch_us(header: &mut [u8], group: u16, element: u16, value: u16) {
    let mut pat = Vec::new();
    pat.extend_from_slice(&group.to_le_bytes());
    pat.extend_from_slice(&element.to_le_bytes());
    pat.extend_from_slice(b"US\x02\x00");
    let at = header
        .windows(pat.len())
        .position(|w| w == pat.as_slice())
        .expect("US element in header");
    header[at + 8..at + 10].copy_from_slice(&value.to_le_bytes());
}

/// A native 1024×1024, 16-bit XA of `frames` frames: the fixture's header (rows and columns
/// set to 1024), then Pixel Data whose value is a hole (`File::set_len`), costing no disk.
fn sparse_native_xa(dir: &Path, frames: usize) -> PathBuf {
    let full = fixtures::xa_header(0, frames, false);
    let header_len = kerma::extract_bytes(&full).expect("xa").bytes_read as usize;
    let mut header = full[..header_len].to_vec();
    drop(full);
    patch_us(&mut header, 0x0028, 0x0010, 1024);
    patch_us(&mut header, 0x0028, 0x0011, 1024);
    let pixel_len = (1024 * 1024 * 2 * frames) as u32;
    let p = dir.join(format!("native_{frames}.dcm"));
    let mut f = std::fs::File::create(&p).expect("create");
    f.write_all(&header).expect("write");
    f.write_all(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0])
        .expect("write");
    f.write_all(&pixel_len.to_le_bytes()).expect("write");
    let end = f.metadata().expect("metadata").len() + u64::from(pixel_len);
    f.set_len(end).expect("set_len");
    p
}

fn xa_frames(c: &mut Criterion, groups: &mut Vec<String>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cases: Vec<(String, PathBuf)> = vec![
        (
            "encapsulated_1_frame".into(),
            write_temp(tmp.path(), "enc_1.dcm", &fixtures::xa_header(0, 1, true)),
        ),
        (
            "encapsulated_2000_frames".into(),
            write_temp(
                tmp.path(),
                "enc_2000.dcm",
                &fixtures::xa_header(0, 2000, true),
            ),
        ),
        ("native_1_frame".into(), sparse_native_xa(tmp.path(), 1)),
        (
            "native_2000_frames".into(),
            sparse_native_xa(tmp.path(), 2000),
        ),
    ];
    let mut g = c.benchmark_group("xa_frames");
    for (name, path) in &cases {
        let x = kerma::extract_path(path).expect("xa");
        let size = std::fs::metadata(path).expect("metadata").len();
        eprintln!(
            "xa_frames/{name}: file {size} bytes, bytes_read {}, outcome {:?}",
            x.bytes_read, x.outcome
        );
        g.bench_function(name.as_str(), |b| {
            b.iter(|| kerma::extract_path(black_box(path)).expect("extract"))
        });
    }
    g.finish();
    groups.push("xa_frames".to_owned());
}

/// Time per event stays flat from 1,000 to 50,000 events: no quadratic behaviour.
fn events_scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("events_scaling");
    g.sample_size(10);
    let mut per_event = Vec::new();
    for events in [1_000usize, 10_000, 50_000] {
        let bytes = fixtures::big_rdsr(events);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        let start = std::time::Instant::now();
        let x = kerma::extract_bytes(&bytes).expect("extract");
        assert_eq!(x.report.expect("rdsr").events.len(), events);
        per_event.push((events, bytes.len(), start.elapsed()));
        g.bench_function(format!("extract_bytes_{events}_events"), |b| {
            b.iter(|| kerma::extract_bytes(black_box(&bytes)).expect("extract"))
        });
    }
    g.finish();
    for (events, len, t) in per_event {
        eprintln!(
            "events_scaling: {events} events, {len} bytes: one cold run {:?} ({:.2} µs per event)",
            t,
            t.as_secs_f64() * 1e6 / events as f64
        );
    }
}

fn main() {
    let mut c = common::config(Duration::from_secs(2));
    let mut groups = Vec::new();
    corpus(&mut c, &mut groups);
    synthetic(&mut c, &mut groups);
    xa_frames(&mut c, &mut groups);
    events_scaling(&mut c);
    c.final_summary();
    common::print_ratios(&groups);
}

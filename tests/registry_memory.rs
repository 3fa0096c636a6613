//! The peak heap of an ingest does not grow with the number of files: it is bounded by the
//! batch (the batch being written and the next one being read), whatever the folder holds.
//! One test in its own binary, so that the process's peak is the ingest's.

#[path = "fixtures/mod.rs"]
mod fixtures;

#[path = "common/counting.rs"]
mod counting;

use counting::{MIB, process};
use kerma::registry::Registry;

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

/// The process's peak heap while ingesting `n` generated small RDSRs, 50 to a batch.
fn peak_of_ingest(n: usize) -> usize {
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..n {
        std::fs::write(
            dir.path().join(format!("{i:05}.dcm")),
            fixtures::small_rdsr(i),
        )
        .expect("write");
    }
    let db = dir.path().join("kerma.db");
    let inputs = kerma::walk_inputs(&[dir.path()]);
    let mut registry = Registry::open(db.to_str().expect("utf-8 path"))
        .expect("open")
        .with_batch_files(50);
    let before = process::restart_peak();
    let s = registry.ingest(&inputs, |_| {}).expect("ingest");
    assert_eq!(s.new, n);
    process::peak().saturating_sub(before)
}

#[test]
fn ingest_peak_heap_is_flat_in_the_number_of_files() {
    // Whether the next batch is read while one is written depends on timing: the larger of
    // two small runs is the one with both batches in memory, as the large run has.
    let small = peak_of_ingest(200).max(peak_of_ingest(200));
    let large = peak_of_ingest(800);
    eprintln!(
        "peak heap: 200 files {:.1} MiB, 800 files {:.1} MiB",
        small as f64 / MIB as f64,
        large as f64 / MIB as f64
    );
    // Four times the files: the peak may grow by the list of paths and SQLite's page
    // cache, not by the files' contents (50 small reports are about 2.4 MB).
    assert!(
        large < small + small / 4,
        "800 files: {large} bytes at peak, 200 files: {small}"
    );
}

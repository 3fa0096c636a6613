//! Memory of a folder run, with a counting global allocator: the peak of
//! live heap bytes while `kerma::scan` runs over 10,000 small RDSRs (results streamed to a sink
//! that keeps counts only), over the real corpus when present, and over folders of equal
//! reports of 426 kB and 1.27 MB. Each run has a new thread pool, so that the scanner tables
//! its threads keep between files count.
//!
//! It shows that the peak does not grow with the number of files (the peak so far, printed
//! after 1,000, 2,000, 5,000 and 10,000 files, levels off), and compares it with twice the
//! largest file per worker thread. The file list itself (`walk_inputs`, one path per file) is
//! made before the scan and reported apart: it is the one thing that grows with the folder.
//!
//! ```text
//! KERMA_CORPUS=../shared/corpus cargo bench --bench memory
//! ```

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

mod common;

#[path = "../tests/common/counting.rs"]
mod counting;

use std::path::Path;

use counting::process;

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

struct Run {
    files: usize,
    errors: usize,
    largest: u64,
    inputs_bytes: usize,
    peak_during_scan: usize,
    /// The peak so far after 1,000, 2,000, 5,000 and 10,000 files (as many as there are).
    peak_after: Vec<(usize, usize)>,
}

const CHECKPOINTS: [usize; 4] = [1_000, 2_000, 5_000, 10_000];

/// Waits until the live heap stops changing: threads of an earlier pool free the scanner
/// tables they kept only as they exit, after the pool is dropped.
fn settle() {
    let mut last = process::live();
    for _ in 0..200 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let now = process::live();
        if now == last {
            return;
        }
        last = now;
    }
}

/// Scans `dir` on a new pool of `threads` threads, measuring the peak heap above what was
/// live before the pool existed: the tables each thread keeps between files count (the input
/// list is made before and measured apart).
fn run(dir: &Path, threads: usize) -> Run {
    let before_inputs = process::live();
    let inputs = kerma::walk_inputs(&[dir]);
    let inputs_bytes = process::live().saturating_sub(before_inputs);
    let largest = inputs
        .iter()
        .filter_map(|i| std::fs::metadata(&i.path).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0);
    let extractor = kerma::Extractor::new();
    let (mut files, mut errors) = (0, 0);
    let mut peak_after = Vec::new();
    settle();
    let base = process::restart_peak();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    pool.install(|| {
        kerma::scan(&inputs, &extractor, |_input, result| {
            files += 1;
            if result.is_err() {
                errors += 1;
            }
            if CHECKPOINTS.contains(&files) {
                let peak = process::peak().saturating_sub(base);
                peak_after.push((files, peak));
            }
        })
    });
    let peak_during_scan = process::peak().saturating_sub(base);
    Run {
        files,
        errors,
        largest,
        inputs_bytes,
        peak_during_scan,
        peak_after,
    }
}

fn report(label: &str, r: &Run, threads: usize) -> bool {
    let bound = 2 * r.largest as usize * threads;
    let ok = r.peak_during_scan <= bound;
    println!(
        "{label:<34} files {:>6}  errors {:>3}  largest {:>9} B  peak during scan {:>9} B  \
         ({:.2}x the largest file per thread)  bound 2×largest×{threads} = {:>9} B  {}  \
         (file list: {} B)",
        r.files,
        r.errors,
        r.largest,
        r.peak_during_scan,
        r.peak_during_scan as f64 / (r.largest as f64 * threads as f64).max(1.0),
        bound,
        if ok { "within" } else { "ABOVE" },
        r.inputs_bytes,
    );
    ok
}

/// One file alone, on a fresh thread: the peak while extracting it, what its result holds,
/// and the scanner tables the thread keeps for its next file (freed when the thread ends).
fn one_file(path: &Path) {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let (peak, result, tables) = std::thread::scope(|s| {
        s.spawn(|| {
            let base = process::restart_peak();
            let x = kerma::extract_path(path);
            let peak = process::peak() - base;
            let with_result = process::live() - base;
            drop(x);
            let tables = process::live() - base;
            (peak, with_result - tables, tables)
        })
        .join()
        .expect("thread")
    });
    println!(
        "one file of {size} B: peak while extracting {peak} B ({:.2}x the file); \
         the result holds {result} B; the thread keeps {tables} B of scanner tables",
        peak as f64 / size.max(1) as f64
    );
}

fn main() {
    // `cargo bench --no-run` builds this; `cargo test --benches` runs it with `--bench`
    // absent: do the work only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let threads = 2;
    let tmp = tempfile::tempdir().expect("tempdir");
    let folder = tmp.path().join("small_reports");
    std::fs::create_dir_all(&folder).expect("mkdir");
    for i in 0..10_000 {
        std::fs::write(folder.join(format!("{i:05}.dcm")), fixtures::small_rdsr(i)).expect("write");
    }
    println!("\n=== peak heap of a folder run ({threads} worker threads) ===");
    one_file(&folder.join("00000.dcm"));
    let many = run(&folder, threads);
    let mut ok = report("10,000 small RDSRs", &many, threads);
    // The peak reached after each number of files: it levels off once the reorder window has
    // been full, however many files follow.
    let after: Vec<String> = many
        .peak_after
        .iter()
        .map(|(files, peak)| format!("{files} files {peak} B"))
        .collect();
    println!("peak so far after {}", after.join(", "));
    if let Some(dir) = common::corpus_dir("memory/corpus") {
        let corpus = run(&dir, threads);
        ok &= report("real corpus (all files)", &corpus, threads);
    }
    let single = run(&folder, 1);
    ok &= report("10,000 small RDSRs, 1 thread", &single, 1);
    // Folders of larger reports, all alike: how the peak per thread compares with the file as
    // files grow (a few dozen files each, so the reorder window may not fill).
    println!("\n=== folders of equal, larger reports ===");
    for (events, count) in [(100, 60), (300, 30)] {
        let dir = tmp.path().join(format!("equal_{events}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        for i in 0..count {
            let bytes = fixtures::rdsr_with_events(i, events);
            std::fs::write(dir.join(format!("{i:05}.dcm")), &bytes).expect("write");
        }
        one_file(&dir.join("00000.dcm"));
        for t in [1, threads] {
            let r = run(&dir, t);
            ok &= report(&format!("{count} reports of {events} events"), &r, t);
        }
    }
    println!(
        "bound (peak during scan <= 2 x largest file x threads): {}",
        if ok { "holds" } else { "NOT met" }
    );
}

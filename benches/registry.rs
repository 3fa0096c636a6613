//! The registry's targets, each beside its baseline in the same run, alternating A and B:
//!
//! - ingest of 10,000 generated small RDSRs into a fresh SQLite file, beside the folder scan
//!   of the same files without a database (walk, scan, group): at least 5,000 files/s, and
//!   at least 0.3× the scan's speed;
//! - re-ingest of the same folder into the filled registry (nothing new): at least 20,000
//!   files/s;
//! - the same ingest into a fresh PostgreSQL database on the server of
//!   `KERMA_POSTGRES_URL` (skipped, loudly, when unset): at least 2,000 files/s;
//! - a report over 100,000 stored procedures (generated into a registry at bench start):
//!   under 1 s.
//!
//! ```text
//! KERMA_POSTGRES_URL=$(.ci/postgres start) cargo bench --bench registry
//! ```
//!
//! Files are generated into a temporary folder (nothing committed). To profile one part with
//! the program instead, `KERMA_BENCH_GENERATE=DIR cargo bench --bench registry` writes the
//! 10,000 files into DIR and stops; then e.g. `perf record kerma-report ingest --db x.db DIR`.
//! `KERMA_BENCH_ONLY=ingest` or `=report` runs one of the two groups;
//! `KERMA_BENCH_REPORT_DB=PATH` keeps the 100,000-procedure registry at PATH (made when
//! absent) for the next run. Each group's summary
//! line gives the medians of the alternated runs and their ratio.

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

mod common;

use std::cell::RefCell;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kerma::registry::{Registry, ReportFilter};

// The allocator kerma-report uses.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FILES: usize = 10_000;
const REPORT_PROCEDURES: usize = 100_000;

fn generate(dir: &Path, n: usize) {
    for i in 0..n {
        let sub = dir.join(format!("{:02}", i % 100));
        if i < 100 {
            std::fs::create_dir_all(&sub).expect("mkdir");
        }
        std::fs::write(sub.join(format!("{i:05}.dcm")), fixtures::small_rdsr(i)).expect("write");
    }
}

/// The folder scan without a database: walk, extract, group.
fn scan(dir: &Path) -> usize {
    let inputs = kerma::walk_inputs(&[dir]);
    let mut p = kerma::Procedures::new();
    kerma::scan(&inputs, &kerma::Extractor::new(), |i, r| {
        p.add_scanned(i, r)
    });
    p.finish().procedures.len()
}

fn ingest(target: &str, dir: &Path) -> usize {
    let mut r = Registry::open(target).expect("open registry");
    let inputs = kerma::walk_inputs(&[dir]);
    let s = r.ingest(&inputs, |_| {}).expect("ingest");
    black_box(s.new + s.unchanged)
}

/// One criterion measurement of ingesting the folder into the registry that `target` makes
/// (with what to do after), each run preceded by a run of `a` (the baseline): both are timed
/// and kept, A and B alternating in the same run.
fn alternating<C: FnOnce()>(
    b: &mut criterion::Bencher<'_>,
    a: &dyn Fn() -> usize,
    a_times: &RefCell<Vec<Duration>>,
    b_times: &RefCell<Vec<Duration>>,
    target: impl Fn() -> (String, C),
) {
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let t = Instant::now();
            black_box(a());
            a_times.borrow_mut().push(t.elapsed());
            let (db, after) = target();
            let t = Instant::now();
            ingest(&db, dir());
            let d = t.elapsed();
            b_times.borrow_mut().push(d);
            total += d;
            after();
        }
        total
    })
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn rate(d: Duration) -> f64 {
    FILES as f64 / d.as_secs_f64()
}

/// A fresh PostgreSQL database on the bench server; its URL.
fn fresh_postgres(admin: &str, n: usize) -> String {
    let name = format!("kerma_bench_{}_{n}", std::process::id());
    let mut c = postgres::Client::connect(admin, postgres::NoTls).expect("connect");
    // One statement each: DROP DATABASE cannot run inside a transaction block.
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .expect("drop database");
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let cut = admin.rfind('/').expect("database in URL");
    format!("{}/{name}", &admin[..cut])
}

/// The generated folder.
static DIR: OnceLock<PathBuf> = OnceLock::new();

fn dir() -> &'static Path {
    DIR.get().expect("generated at start")
}

/// Medians of the ingest group: scan, fresh SQLite, SQLite re-ingest, PostgreSQL.
type IngestFigures = (Duration, Duration, Duration, Option<Duration>);

fn ingest_group(c: &mut criterion::Criterion, fresh_sqlite: &dyn Fn() -> String) -> IngestFigures {
    let gen_dir = tempfile::tempdir().expect("temp dir");
    let dir = DIR.get_or_init(|| gen_dir.path().join("rdsr"));
    generate(dir, FILES);

    // Ingest into a fresh SQLite file, re-ingest, PostgreSQL: each alternating with the scan.
    let scans = RefCell::new(Vec::new());
    let ingests = RefCell::new(Vec::new());
    let reingests = RefCell::new(Vec::new());
    let pg_ingests = RefCell::new(Vec::new());
    let scan_once = || black_box(scan(dir));
    let mut g = c.benchmark_group("registry_ingest_10k_small_rdsr");
    g.sample_size(10);
    g.bench_function("sqlite_fresh_alternating_with_scan", |b| {
        alternating(b, &scan_once, &scans, &ingests, || {
            let db = fresh_sqlite();
            (db.clone(), move || {
                let _ = std::fs::remove_file(&db);
            })
        })
    });
    let filled = fresh_sqlite();
    ingest(&filled, dir);
    g.bench_function("sqlite_reingest_alternating_with_scan", |b| {
        alternating(b, &scan_once, &scans, &reingests, || {
            (filled.clone(), || {})
        })
    });
    let pg = std::env::var("KERMA_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    match &pg {
        Some(admin) => {
            let n = RefCell::new(0usize);
            g.bench_function("postgres_fresh_alternating_with_scan", |b| {
                alternating(b, &scan_once, &scans, &pg_ingests, || {
                    *n.borrow_mut() += 1;
                    (fresh_postgres(admin, *n.borrow()), || {})
                })
            });
        }
        None => {
            eprintln!("\n*** KERMA_POSTGRES_URL is not set: SKIPPING the PostgreSQL ingest ***\n")
        }
    }
    g.finish();

    let pg = pg.map(|_| median(&mut pg_ingests.borrow_mut()));
    (
        median(&mut scans.borrow_mut()),
        median(&mut ingests.borrow_mut()),
        median(&mut reingests.borrow_mut()),
        pg,
    )
}

fn print_ingest(figures: Option<IngestFigures>) {
    let Some((scan_m, ing, re, pg)) = figures else {
        return;
    };
    println!("\nregistry summary (medians of the alternated runs, {FILES} small RDSRs):");
    println!("  folder scan, no database : {:>8.0} files/s", rate(scan_m));
    println!(
        "  SQLite ingest, fresh     : {:>8.0} files/s ({:.2}x the scan; target >= 5,000 and >= 0.3x)",
        rate(ing),
        scan_m.as_secs_f64() / ing.as_secs_f64()
    );
    println!(
        "  SQLite re-ingest         : {:>8.0} files/s (target >= 20,000)",
        rate(re)
    );
    if let Some(p) = pg {
        println!(
            "  PostgreSQL ingest, fresh : {:>8.0} files/s (target >= 2,000)",
            rate(p)
        );
    }
}

fn main() {
    if let Some(out) = std::env::var_os("KERMA_BENCH_GENERATE") {
        generate(Path::new(&out), FILES);
        println!(
            "{FILES} small RDSRs written under {}",
            Path::new(&out).display()
        );
        return;
    }
    let only = std::env::var("KERMA_BENCH_ONLY").unwrap_or_default();
    let mut c = common::config(Duration::from_secs(20));
    let work = tempfile::tempdir().expect("temp dir");
    let counter = RefCell::new(0usize);
    let fresh_sqlite = || {
        let mut n = counter.borrow_mut();
        *n += 1;
        work.path()
            .join(format!("kerma-{n}.db"))
            .display()
            .to_string()
    };
    let ingest_figures = match only.as_str() {
        "report" => None,
        _ => Some(ingest_group(&mut c, &fresh_sqlite)),
    };
    if only == "ingest" {
        print_ingest(ingest_figures);
        c.final_summary();
        return;
    }

    // A report over 100,000 stored procedures.
    let kept = std::env::var("KERMA_BENCH_REPORT_DB").ok();
    let big = kept.clone().unwrap_or_else(&fresh_sqlite);
    if kept.is_none() || !Path::new(&big).exists() {
        let mut r = Registry::open(&big).expect("open");
        let mut i = 0;
        while i < REPORT_PROCEDURES {
            let end = (i + 5_000).min(REPORT_PROCEDURES);
            let objects = (i..end)
                .map(|k| (format!("generated/{k:06}.dcm"), fixtures::small_rdsr(k)))
                .collect();
            r.ingest_objects(objects).expect("ingest generated");
            i = end;
        }
    }
    let mut reg = Registry::open(&big).expect("open");
    let reports = RefCell::new(Vec::new());
    let mut g = c.benchmark_group("registry_report_100k_procedures");
    g.sample_size(10);
    g.bench_function("report_everything", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let rep = reg.report(&ReportFilter::default()).expect("report");
                let d = t.elapsed();
                assert_eq!(rep.set.procedures.len(), REPORT_PROCEDURES);
                reports.borrow_mut().push(d);
                total += d;
            }
            total
        })
    });
    g.finish();

    print_ingest(ingest_figures);
    let r = median(&mut reports.borrow_mut());
    println!(
        "  report over {REPORT_PROCEDURES} procedures: {:.3} s (target < 1 s)",
        r.as_secs_f64()
    );
    c.final_summary();
}

//! Grouping at archive scale: `Procedures::add` and `finish` over 1,000 and 10,000 results
//! (half small RDSRs, half XA headers, every study distinct, so that each makes a procedure),
//! extracted once before timing. The time per file should not grow with the number of files:
//! a check across all groups once made 10,000 files take seconds.
//!
//! ```text
//! cargo bench --bench grouping
//! ```

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::BatchSize;

const SIZES: [usize; 2] = [1_000, 10_000];

/// `n` extraction results with their labels: even ones small RDSRs, odd ones XA headers.
fn results(n: usize) -> Vec<(String, kerma::Extraction)> {
    (0..n)
        .map(|i| {
            let bytes = if i % 2 == 0 {
                fixtures::small_rdsr(i)
            } else {
                fixtures::xa_header(i, 1, true)
            };
            let x = kerma::extract_bytes(&bytes).expect("generated files extract");
            (format!("{i:05}.dcm"), x)
        })
        .collect()
}

fn group(inputs: Vec<(String, kerma::Extraction)>) -> kerma::ProcedureSet {
    let mut p = kerma::Procedures::new();
    for (label, x) in inputs {
        p.add(label, Ok(x));
    }
    p.finish()
}

fn main() {
    let mut c = common::config(Duration::from_secs(3));
    let mut g = c.benchmark_group("grouping");
    let mut procedures = Vec::new();
    for n in SIZES {
        let inputs = results(n);
        procedures.push((n, group(inputs.clone()).procedures.len()));
        g.bench_function(format!("add_and_finish_{n}"), |b| {
            b.iter_batched(
                || inputs.clone(),
                |inputs| black_box(group(inputs)),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
    c.final_summary();

    println!("\n=== summary (medians of this run) ===");
    let mut per_file = Vec::new();
    for (n, count) in procedures {
        if let Some((ns, _)) = common::estimate("grouping", &format!("add_and_finish_{n}")) {
            let us = ns / 1e3 / n as f64;
            per_file.push(us);
            println!(
                "{n:>6} files ({count} procedures): {:.1} ms, {us:.2} µs per file",
                ns / 1e6
            );
        }
    }
    if let [small, large] = per_file[..] {
        println!(
            "time per file, 10,000 files / 1,000 files = {:.2}x (1.0 is linear)",
            large / small
        );
    }
}

//! Shared helpers for the benches: the real corpus (found at run time, never copied) and
//! the dicom-rs baselines the issue compares kerma with.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_parser::dataset::lazy_read::LazyDataSetReader;
use dicom_parser::dataset::read::{DataSetReaderOptions, ValueReadStrategy};
use dicom_parser::dataset::{DataSetReader, DataToken, LazyDataToken};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

/// Criterion as the benches run it: 10 samples after a short warm-up, over `measurement`,
/// and the command line's options on top.
pub fn config(measurement: Duration) -> criterion::Criterion {
    criterion::Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(measurement)
        .configure_from_args()
}

/// The corpus directory: `$KERMA_CORPUS`, else `../shared/corpus`; `None` (with a clear
/// message) when it is absent, so that a bench group is skipped rather than failing.
pub fn corpus_dir(group: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("KERMA_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/corpus"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "\n*** {group}: corpus not found at {} (set KERMA_CORPUS): SKIPPING this group ***\n",
            dir.display()
        );
        None
    }
}

/// Every regular file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The `n` largest projection X-ray RDSRs of the corpus (kind [`kerma::ObjectKind::Rdsr`]),
/// largest first, with their bytes.
pub fn largest_rdsrs(dir: &Path, n: usize) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = files_under(dir)
        .into_iter()
        .filter_map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            let x = kerma::extract_bytes(&bytes).ok()?;
            (x.kind == kerma::ObjectKind::Rdsr).then_some((p, bytes))
        })
        .collect();
    v.sort_by_key(|(_, b)| std::cmp::Reverse(b.len()));
    v.truncate(n);
    v
}

/// A short display name: the file name.
pub fn short(p: &Path) -> String {
    p.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// Where the dataset starts (after preamble and file meta group) and its transfer syntax,
/// read with dicom-object's `FileMetaTable` (the dicom-rs meta reader).
pub fn meta(bytes: &[u8]) -> (usize, String) {
    let body = &bytes[128..];
    let meta = dicom_object::meta::FileMetaTable::from_reader(body).expect("file meta group");
    // "DICM" + (0002,0000) element (12 bytes) + the group it measures
    let start = 128 + 4 + 12 + meta.information_group_length as usize;
    (start, meta.transfer_syntax().to_owned())
}

/// dicom-rs's lower layer, fully: a `DataSetReader` token stream over the bytes with raw
/// values (no text decoding), every token consumed up to Pixel Data. Returns the tokens.
pub fn dicom_parser_tokens(bytes: &[u8]) -> usize {
    let (start, ts) = meta(bytes);
    let ts = TransferSyntaxRegistry
        .get(&ts)
        .expect("known transfer syntax");
    let opts = DataSetReaderOptions::default().value_read(ValueReadStrategy::Raw);
    let reader = DataSetReader::new_with_ts_options(&bytes[start..], ts, opts).expect("reader");
    let mut n = 0usize;
    let mut depth = 0usize;
    for token in reader {
        match token.expect("token") {
            DataToken::SequenceStart { .. } => depth += 1,
            DataToken::SequenceEnd => depth -= 1,
            DataToken::ElementHeader(h) if depth == 0 && h.tag.0 >= 0x7FE0 => break,
            DataToken::PixelSequenceStart => break,
            _ => {}
        }
        n += 1;
    }
    n
}

/// dicom-rs's lower layer at its cheapest: the lazy token reader, every value skipped
/// (nothing decoded, nothing kept): the ceiling of any extraction built on it.
pub fn dicom_parser_lazy_skip(bytes: &[u8]) -> usize {
    let (start, ts) = meta(bytes);
    let ts = TransferSyntaxRegistry
        .get(&ts)
        .expect("known transfer syntax");
    let mut reader =
        LazyDataSetReader::new_with_ts(Cursor::new(&bytes[start..]), ts).expect("reader");
    let mut n = 0usize;
    let mut depth = 0usize;
    while let Some(token) = reader.advance() {
        match token.expect("token") {
            LazyDataToken::SequenceStart { .. } => depth += 1,
            LazyDataToken::SequenceEnd => depth -= 1,
            LazyDataToken::ElementHeader(h) if depth == 0 && h.tag.0 >= 0x7FE0 => break,
            LazyDataToken::PixelSequenceStart => break,
            t @ (LazyDataToken::LazyValue { .. } | LazyDataToken::LazyItemValue { .. }) => {
                t.skip().expect("skip")
            }
            _ => {}
        }
        n += 1;
    }
    n
}

/// dicom-object's in-memory parse of the same bytes (the baseline of the issue).
pub fn dicom_object_parse(bytes: &[u8]) -> dicom_object::DefaultDicomObject {
    dicom_object::OpenFileOptions::new()
        .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
        .read_preamble(dicom_object::file::ReadPreamble::Always)
        .from_reader(bytes)
        .expect("dicom-object parse")
}

/// Criterion's output directory (as criterion finds it, without asking cargo).
pub fn criterion_home() -> PathBuf {
    if let Some(v) = std::env::var_os("CRITERION_HOME") {
        PathBuf::from(v)
    } else if let Some(v) = std::env::var_os("CARGO_TARGET_DIR") {
        PathBuf::from(v).join("criterion")
    } else {
        PathBuf::from("target/criterion")
    }
}

/// The median time (ns) and throughput bytes of `group/function` from this run's estimates.
pub fn estimate(group: &str, function: &str) -> Option<(f64, Option<u64>)> {
    let dir = criterion_home().join(group).join(function).join("new");
    let est: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("estimates.json")).ok()?).ok()?;
    let median = est["median"]["point_estimate"].as_f64()?;
    let bench: Option<serde_json::Value> = std::fs::read_to_string(dir.join("benchmark.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let bytes = bench.and_then(|b| b["throughput"]["Bytes"].as_u64());
    Some((median, bytes))
}

/// The fastest sample's time per iteration (ns) of `group/function` in this run.
///
/// On a shared virtual machine other tenants only ever add time, and they do so in bursts
/// that hit whole samples: the median then measures the neighbours as much as the code. The
/// fastest of the samples (each the mean of many iterations) is the figure that reflects what
/// one core does; both are printed.
pub fn fastest(group: &str, function: &str) -> Option<f64> {
    let dir = criterion_home().join(group).join(function).join("new");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sample.json")).ok()?).ok()?;
    let iters = s["iters"].as_array()?;
    let times = s["times"].as_array()?;
    iters
        .iter()
        .zip(times)
        .filter_map(|(i, t)| Some(t.as_f64()? / i.as_f64()?))
        .min_by(f64::total_cmp)
}

fn fmt_time(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

/// Prints, for the groups benched in this run, each function's median time and throughput,
/// and the ratios the issue asks for (all from the same run).
pub fn print_ratios(groups: &[String]) {
    const FUNCS: [&str; 6] = [
        "fs_read",
        "kerma_extract_path",
        "kerma_extract_bytes",
        "dicom_parser_tokens",
        "dicom_parser_lazy_skip",
        "dicom_object_parse",
    ];
    println!("\n=== summary (this run: median, then fastest sample; ratios on each) ===");
    for group in groups {
        if group == "xa_frames" {
            let one = estimate(group, "encapsulated_1_frame");
            let many = estimate(group, "encapsulated_2000_frames");
            let n1 = estimate(group, "native_1_frame");
            let n2 = estimate(group, "native_2000_frames");
            println!("{group}:");
            for (name, a, b) in [("encapsulated", one, many), ("native", n1, n2)] {
                if let (Some((a, _)), Some((b, _))) = (a, b) {
                    println!(
                        "  {name}: 1 frame {}, 2000 frames {}: difference {:+.1} %",
                        fmt_time(a),
                        fmt_time(b),
                        (b - a) / a * 100.0
                    );
                }
            }
            continue;
        }
        println!("{group}:");
        let mut t = std::collections::HashMap::new();
        let mut best = std::collections::HashMap::new();
        for f in FUNCS {
            if let Some((ns, bytes)) = estimate(group, f) {
                let fast = fastest(group, f).unwrap_or(ns);
                let rate = |ns: f64| {
                    bytes.map_or(String::new(), |b| {
                        format!("{:>8.1} MB/s", b as f64 / ns * 1e3)
                    })
                };
                println!(
                    "  {f:<24} {:>10} {}   fastest {:>10} {}",
                    fmt_time(ns),
                    rate(ns),
                    fmt_time(fast),
                    rate(fast)
                );
                t.insert(f, ns);
                best.insert(f, fast);
            }
        }
        let r = |a: &str, b: &str| Some((t.get(a)? / t.get(b)?, best.get(a)? / best.get(b)?));
        for (a, b, label, target) in [
            (
                "kerma_extract_path",
                "fs_read",
                "extract_path / fs_read",
                "target <= 5x",
            ),
            (
                "dicom_object_parse",
                "kerma_extract_path",
                "dicom_object_parse / extract_path",
                "target >= 20x",
            ),
            (
                "dicom_object_parse",
                "kerma_extract_bytes",
                "dicom_object_parse / extract_bytes",
                "",
            ),
            (
                "dicom_parser_lazy_skip",
                "kerma_extract_bytes",
                "dicom_parser_lazy_skip / extract_bytes",
                "",
            ),
            (
                "dicom_parser_tokens",
                "kerma_extract_bytes",
                "dicom_parser_tokens / extract_bytes",
                "",
            ),
        ] {
            if let Some((m, f)) = r(a, b) {
                println!("  {label:<40} = {m:>6.2}x (fastest samples: {f:.2}x)  {target}");
            }
        }
    }
}

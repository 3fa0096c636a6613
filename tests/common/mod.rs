//! Shared helpers for integration tests: the real corpus and golden.json.
#![allow(dead_code)]

use std::path::PathBuf;

/// The corpus directory from `KERMA_CORPUS`. Unset: skipped loudly, except under CI, where a
/// missing corpus fails the test.
pub fn corpus_dir() -> Option<PathBuf> {
    match std::env::var_os("KERMA_CORPUS") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(
                dir.join("golden.json").is_file(),
                "KERMA_CORPUS={} has no golden.json",
                dir.display()
            );
            Some(dir)
        }
        None => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "KERMA_CORPUS is not set under CI: the real-corpus tests must run"
            );
            eprintln!("\n*** KERMA_CORPUS is not set: SKIPPING the real-corpus test ***\n");
            None
        }
    }
}

/// golden.json's `files` list.
pub fn golden(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("golden.json")).expect("read golden.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("golden.json is JSON");
    v["files"].as_array().expect("files").clone()
}

pub fn close(a: Option<f64>, b: Option<f64>, rel: f64) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= rel * a.abs().max(b.abs()) || (a - b).abs() < 1e-15,
        _ => false,
    }
}

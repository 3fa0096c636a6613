//! Running the kerma-report example program from tests: the built binary, its output, CSV
//! files, headless Chromium.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

pub const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

/// target/<profile>/examples/kerma-report, built if missing.
pub fn program() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/cli-<hash>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        let name = format!("kerma-report{}", std::env::consts::EXE_SUFFIX);
        let bin = profile_dir.join("examples").join(name);
        if !bin.exists() {
            let mut cmd = Command::new(env!("CARGO"));
            cmd.args(["build", "--example", "kerma-report"])
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("run cargo build");
            assert!(
                status.success(),
                "cargo build --example kerma-report failed"
            );
        }
        assert!(bin.exists(), "{} not found", bin.display());
        bin
    })
}

pub fn run(args: &[&str]) -> Output {
    Command::new(program())
        .args(args)
        .output()
        .expect("run kerma-report")
}

pub fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Every regular file under `dir`.
pub fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            n += count_files(&e.path());
        } else {
            n += 1;
        }
    }
    n
}

pub fn copy_good_fixtures(dir: &Path) {
    for name in [
        "rdsr_single_plane.dcm",
        "rdsr_canon_dgycm2_mgy.dcm",
        "rdsr_biplane.dcm",
    ] {
        std::fs::copy(Path::new(TESTDATA).join(name), dir.join(name)).unwrap();
    }
}

/// A CSV file's header and records.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let records = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, records)
}

/// Chromium from Debian's `chromium` package; `.ci/run` installs it. Without it the browser test
/// is skipped loudly, except under CI, where it fails.
pub fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"]
        .iter()
        .map(|n| Path::new("/usr/bin").join(n))
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "chromium is not installed under CI: .ci/run must install it"
        );
        eprintln!("\n*** chromium not found: SKIPPING the browser test ***\n");
    }
    found
}

/// Renders a page headless; returns the screenshot's size in bytes and Chromium's log.
pub fn screenshot(chromium: &Path, url: &str, png: &Path, profile: &Path) -> (u64, String) {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            "--window-size=1280,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(url)
        .output()
        .expect("run chromium");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let size = std::fs::metadata(png).map(|m| m.len()).unwrap_or(0);
    (size, log)
}

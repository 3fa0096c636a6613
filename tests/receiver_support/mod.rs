//! Shared by the receiver tests: a receiver on 127.0.0.1 with its events recorded, the real
//! clients (DCMTK, pynetdicom) found or, under CI, required.
#![allow(dead_code)]

pub mod big_xa;
pub mod program;
pub mod stream;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kerma::net::{
    Event, ObjectStore, Observer, Receiver, ReceiverConfig, ReceiverHandle, log_line,
};

/// Every event's log line, in order.
#[derive(Default)]
pub struct Events(Mutex<Vec<String>>);

impl Observer for Events {
    fn event(&self, e: &Event<'_>) {
        self.0.lock().unwrap().push(log_line(e));
    }
}

impl Events {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (at most `limit`) for a line containing every one of `parts`; returns it.
    pub fn wait_for(&self, parts: &[&str], limit: Duration) -> Option<String> {
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            if let Some(l) = self
                .lines()
                .into_iter()
                .find(|l| parts.iter().all(|p| l.contains(p)))
            {
                return Some(l);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

/// A receiver on 127.0.0.1 (a free port), short timeouts for tests.
pub fn start(config: ReceiverConfig, store: Arc<dyn ObjectStore>) -> (ReceiverHandle, Arc<Events>) {
    let events = Arc::new(Events::default());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let handle = Receiver::new(config, store, events.clone())
        .start(listener)
        .expect("start the receiver");
    (handle, events)
}

/// A test configuration: AE KERMA, short timeouts.
pub fn config() -> ReceiverConfig {
    let mut c = ReceiverConfig::new("KERMA");
    c.request_timeout = Duration::from_millis(500);
    c.idle_timeout = Duration::from_secs(5);
    c
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A program on PATH; missing: skipped loudly, or a failure under CI.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    });
    if found.is_none() {
        assert!(
            !under_ci(),
            "{name} is not installed (apt package dcmtk): required under CI"
        );
        eprintln!("\n*** {name} not found: SKIPPING (install the Debian package dcmtk) ***\n");
    }
    found
}

/// The venv python with pynetdicom (target/ci-venv); missing: skipped loudly, or a failure
/// under CI.
pub fn pynetdicom() -> Option<PathBuf> {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-venv/bin/python");
    let ok = py.is_file()
        && std::process::Command::new(&py)
            .args(["-c", "import pynetdicom"])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !under_ci(),
            "pynetdicom is not in target/ci-venv: required under CI"
        );
        eprintln!("\n*** pynetdicom not in target/ci-venv: SKIPPING (see .ci/run) ***\n");
        return None;
    }
    Some(py)
}

/// A file of the project's testdata.
pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// Every Part 10 file under `dir`, sorted.
pub fn part10_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            std::fs::read(p)
                .ok()
                .is_some_and(|b| kerma::net::client::Part10::split(&b).is_some())
        })
        .collect();
    out.sort();
    out
}

/// Runs `cmd` with a time limit; returns its exit success and its combined output.
pub fn run(cmd: &mut std::process::Command, limit: Duration) -> (bool, String) {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the client");
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("output");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return (status.success(), text);
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

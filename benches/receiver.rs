//! Receiver throughput and latency, beside DCMTK's storescp, in one run.
//!
//! A bench client (kerma::net::client::Scu: data sets' bytes sent as they are, one PDU per
//! 64 KiB, TCP_NODELAY) sends 10,000 small RDSRs over 4 concurrent associations to
//! 1. kerma's receiver storing into a spool folder (each batch fsynced before the responses),
//! 2. DCMTK's storescp (`TCP_NODELAY=1`, `--fork`, writing files, no fsync),
//!
//! alternating the two over ROUNDS rounds; then 1,000 objects over one association to each,
//! for the latency without concurrent senders. Latency is measured by the client: from the
//! last byte of a C-STORE request written to its response read.
//!
//! `cargo bench --bench receiver` (storescp must be on PATH; without it only kerma runs).
//! Environment: `KERMA_BENCH_FILES` (default 10000), `KERMA_BENCH_ROUNDS` (default 2).

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kerma::net::client::{Part10, Scu};
use kerma::net::{Event, Observer, Receiver, ReceiverConfig, Spool};

const RDSR_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.67";
const EXPLICIT: &str = "1.2.840.10008.1.2.1";

/// Keeps nothing: the bench measures the receiver, not its log.
struct Quiet;

impl Observer for Quiet {
    fn event(&self, _: &Event<'_>) {}
}

struct Outcome {
    files_per_s: f64,
    latencies: Vec<Duration>,
}

/// Sends `n` objects over `assocs` associations; every status must be success.
fn send(addr: SocketAddr, file: &[u8], n: usize, assocs: usize, tag: u8) -> Outcome {
    let t0 = Instant::now();
    let threads: Vec<_> = (0..assocs)
        .map(|t| {
            let file = file.to_vec();
            std::thread::spawn(move || {
                let meta = Part10::split(&file).expect("Part 10");
                let old = meta.sop_instance.as_bytes();
                let at = meta
                    .data_set
                    .windows(old.len())
                    .position(|w| w == old)
                    .expect("the data set holds its SOP Instance UID");
                let mut data_set = meta.data_set.to_vec();
                let mut scu = Scu::connect(addr, "BENCH", "KERMA", &[(RDSR_CLASS, EXPLICIT)])
                    .expect("associate");
                let mut lat = Vec::new();
                for i in (t..n).step_by(assocs) {
                    // A distinct instance UID of the same length, in the command and in the
                    // data set (storescp checks that they agree).
                    let uid = format!("2.25.{tag}{i:0w$}", w = old.len() - 6);
                    data_set[at..at + old.len()].copy_from_slice(uid.as_bytes());
                    let got = scu
                        .store(RDSR_CLASS, &uid, EXPLICIT, &data_set)
                        .expect("store");
                    assert_eq!(got.status, 0);
                    lat.push(got.latency);
                }
                scu.release();
                lat
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    for t in threads {
        latencies.extend(t.join().expect("sender"));
    }
    let secs = t0.elapsed().as_secs_f64();
    latencies.sort();
    Outcome {
        files_per_s: n as f64 / secs,
        latencies,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn report(name: &str, o: &Outcome) {
    println!(
        "{name:<40} {:>8.0} files/s   latency ms: median {:.3}  p90 {:.3}  p99 {:.3}",
        o.files_per_s,
        percentile(&o.latencies, 0.5),
        percentile(&o.latencies, 0.9),
        percentile(&o.latencies, 0.99)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn storescp(dir: &Path) -> Option<(Child, SocketAddr)> {
    let port = free_port();
    let child = Command::new("storescp")
        .env("TCP_NODELAY", "1")
        .args(["-aet", "KERMA", "--fork", "-od"])
        .arg(dir)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().ok()?;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        if let Ok(mut scu) = Scu::connect(addr, "BENCH", "KERMA", &[(RDSR_CLASS, EXPLICIT)]) {
            let _ = scu.echo();
            scu.release();
            return Some((child, addr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn main() {
    // `cargo bench --no-run` builds this; `cargo test --benches` would run it: only a real
    // bench run (criterion's `--bench` flag) measures.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: usize = std::env::var("KERMA_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rounds: usize = std::env::var("KERMA_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let file = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rdsr_canon_dgycm2_mgy.dcm"),
    )
    .expect("testdata RDSR");
    println!(
        "{n} RDSRs of {} bytes over 4 associations, {rounds} rounds alternating",
        file.len()
    );
    let has_dcmtk = Command::new("storescp")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    for round in 0..rounds {
        for (assocs, count) in [(4, n), (1, n.min(1000))] {
            let spool_dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
            let spool = Arc::new(Spool::open(spool_dir.path()).expect("spool"));
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let handle =
                Receiver::new(ReceiverConfig::new("KERMA"), spool.clone(), Arc::new(Quiet))
                    .start(listener)
                    .expect("start");
            let o = send(
                handle.local_addr(),
                &file,
                count,
                assocs,
                1 + 2 * (round % 4) as u8,
            );
            handle.stop();
            let batches = spool.batches().map(|b| b.len()).unwrap_or(0);
            report(
                &format!("round {round}: kerma spool, {assocs} assoc ({batches} batches)"),
                &o,
            );
            if has_dcmtk {
                let out = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
                if let Some((mut child, addr)) = storescp(out.path()) {
                    let o = send(addr, &file, count, assocs, 2 + 2 * (round % 4) as u8);
                    let _ = child.kill();
                    let _ = child.wait();
                    report(
                        &format!("round {round}: DCMTK storescp, {assocs} assoc"),
                        &o,
                    );
                }
            }
        }
    }
}

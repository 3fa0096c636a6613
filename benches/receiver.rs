//! Receiver targets (issue 21), each beside DCMTK's storescp in the same run:
//!
//! 1. throughput and latency: a bench client (kerma::net::client::Scu: data sets' bytes sent
//!    as they are, one PDU per 64 KiB, TCP_NODELAY) sends N small RDSRs over 4 concurrent
//!    associations, then min(N, 1000) over one, to
//!    - kerma's receiver storing into a fresh SQLite registry (group commit: one transaction
//!      for what all associations have received, synchronous=FULL, before any response;
//!      alerts evaluated on a second connection after the responses),
//!    - kerma's receiver storing into a spool folder (one fdatasync per batch),
//!    - DCMTK's storescp (`TCP_NODELAY=1`, `--fork`, writing files, no fsync),
//!
//!    in an order that alternates from round to round. Latency is measured by the client:
//!    from the last byte of a C-STORE request written to its response read (median, p90, p99,
//!    max). Targets: registry ≥ 1,000 files/s over 4 associations, median latency < 5 ms.
//! 2. time to alert: one file in ALERT_EVERY (a PCI of 520 Gy·cm², over the 500 Gy·cm²
//!    trigger level, for a patient of its own) in the same streams; for each, from the last
//!    byte of its C-STORE request to its alert reaching the receiver's observer (the hook of
//!    `--on-alert`). Target: < 50 ms.
//! 3. peak memory: a multi-frame XA of XA_MIB MiB (generated as it is sent) to a receiver in
//!    a process of its own (this bench binary, run with `--xa-child`, storing into a spool);
//!    its peak resident set (VmHWM) before and after. Target: < 64 MiB.
//!
//! Each run then checks that the receiver holds every file once (registry procedures, spool
//! objects, storescp's files), outside the timing.
//!
//! The other files are a testdata RDSR (3 events, 17.8 kB) whose UIDs and Patient ID are
//! rewritten for each file (same lengths): every file a procedure of its own, 2 per patient.
//!
//! ```text
//! cargo bench --bench receiver
//! ```
//!
//! storescp must be on PATH (Debian package dcmtk); without it, kerma runs alone. Each line
//! ends with the load average (1, 5, 15 min) when it was printed. Environment:
//! `KERMA_BENCH_FILES` (default 10000), `KERMA_BENCH_ROUNDS` (default 2),
//! `KERMA_BENCH_ALERT_EVERY` (default 100; 0: no alert files), `KERMA_BENCH_XA_MIB` (default
//! 1024; 0: no XA), `KERMA_BENCH_CASES` (default `registry,spool,storescp,xa`).

#[path = "../tests/receiver_support/big_xa.rs"]
mod big_xa;
#[path = "../tests/receiver_support/stream.rs"]
mod stream;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kerma::net::client::Scu;
use kerma::net::{Event, ObjectStore, Observer, Receiver, ReceiverConfig, RegistryStore, Spool};
use stream::{Sent, Template, send};

const RDSR_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.67";
const EXPLICIT: &str = "1.2.840.10008.1.2.1";

/// Records when each alert reached the observer; nothing else (the bench measures the
/// receiver, not its log).
#[derive(Default)]
struct AlertClock(Mutex<Vec<(String, Instant)>>);

impl Observer for AlertClock {
    fn event(&self, event: &Event<'_>) {
        if let Event::Alert(a) = event {
            let now = Instant::now();
            if let Ok(mut v) = self.0.lock() {
                v.push((a.summary.clone(), now));
            }
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    ms(sorted[((sorted.len() - 1) as f64 * p).round() as usize])
}

/// The load average, "1 5 15".
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn report(name: &str, o: &Sent) {
    println!(
        "{name:<44} {:>7.0} files/s  latency ms: median {:.2} p90 {:.2} p99 {:.2} max {:.2}  \
         [load {}]",
        o.files_per_s,
        percentile(&o.latencies, 0.5),
        percentile(&o.latencies, 0.9),
        percentile(&o.latencies, 0.99),
        percentile(&o.latencies, 1.0),
        load()
    );
}

/// Times from each alert file's last byte to its alert; the alert files without one.
fn time_to_alert(o: &Sent, clock: &AlertClock) -> (Vec<Duration>, usize) {
    let mut first: HashMap<String, Instant> = HashMap::new();
    for (summary, at) in clock.0.lock().expect("clock").iter() {
        // "procedure KEY of patient PID: …"
        if let Some(rest) = summary.split(" of patient ").nth(1)
            && let Some((pid, _)) = rest.split_once(':')
        {
            first.entry(pid.to_owned()).or_insert(*at);
        }
    }
    let mut times = Vec::new();
    let mut missing = 0;
    for (pid, sent) in &o.alert_files {
        match first.get(pid) {
            Some(at) => times.push(at.saturating_duration_since(*sent)),
            None => missing += 1,
        }
    }
    times.sort();
    (times, missing)
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

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A kerma receiver on 127.0.0.1 storing into `store`.
fn kerma(store: Arc<dyn ObjectStore>, clock: Arc<AlertClock>) -> kerma::net::ReceiverHandle {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    Receiver::new(ReceiverConfig::new("KERMA"), store, clock)
        .start(listener)
        .expect("start")
}

/// One case of one round.
fn run_case(
    case: &str,
    templates: &(Template, Template),
    n: usize,
    assocs: usize,
    tag: u8,
    alert_every: usize,
) -> Option<(Sent, Option<Arc<AlertClock>>)> {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    match case {
        "registry" => {
            let db = tmp.path().join("registry.db");
            let store = RegistryStore::open(
                db.to_str().expect("a UTF-8 path"),
                kerma::reference::SurveyConfig::default(),
            )
            .expect("registry");
            let clock = Arc::new(AlertClock::default());
            let handle = kerma(Arc::new(store), clock.clone());
            let o = send(handle.local_addr(), templates, n, assocs, tag, alert_every);
            // Stopping waits for the last batch's alerts.
            handle.stop();
            // Nothing lost, nothing twice (outside the timing).
            let mut registry =
                kerma::registry::Registry::open(db.to_str().expect("UTF-8")).expect("registry");
            let stored = registry
                .report(&kerma::registry::ReportFilter::default())
                .expect("report")
                .set
                .procedures
                .len();
            assert_eq!(stored, n, "procedures in the registry");
            Some((o, Some(clock)))
        }
        "spool" => {
            let spool = Arc::new(Spool::open(tmp.path()).expect("spool"));
            let handle = kerma(spool.clone(), Arc::new(AlertClock::default()));
            let o = send(handle.local_addr(), templates, n, assocs, tag, alert_every);
            handle.stop();
            assert_eq!(spool.objects().expect("spool").len(), n, "objects spooled");
            Some((o, None))
        }
        "storescp" => {
            let (mut child, addr) = storescp(tmp.path())?;
            let o = send(addr, templates, n, assocs, tag, alert_every);
            let _ = child.kill();
            let _ = child.wait();
            let files = std::fs::read_dir(tmp.path()).map_or(0, |d| d.count());
            assert_eq!(files, n, "files written by storescp");
            Some((o, None))
        }
        _ => None,
    }
}

/// `--xa-child`: a receiver storing into a spool in a temporary folder; prints its address,
/// serves until its standard input ends.
fn xa_child() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let spool = Arc::new(Spool::open(dir.path()).expect("spool"));
    let handle = kerma(spool, Arc::new(AlertClock::default()));
    println!("{}", handle.local_addr());
    let _ = std::io::stdout().flush();
    let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
    handle.stop();
}

/// Peak resident set (VmHWM) of process `pid`, in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("a number")
}

/// Sends a generated XA of `mib` MiB of pixels to a receiver process; prints its peak
/// memory.
fn xa_case(mib: u64) {
    let mut child = Command::new(std::env::current_exe().expect("this bench"))
        .arg("--xa-child")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the receiver process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("its address");
    let addr: SocketAddr = line.trim().parse().expect("an address");
    let before = peak_kib(child.id());
    let xa_file =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/xa_event1_img1.dcm"))
            .expect("testdata XA");
    // Frames of 1024x1024x2 bytes = 2 MiB each.
    let (mut xa, instance) = big_xa::BigXa::new(&xa_file, mib.div_ceil(2));
    let total = xa.len();
    let mut scu =
        Scu::connect(addr, "BIGXA", "KERMA", &[(big_xa::XA_CLASS, EXPLICIT)]).expect("associate");
    let t0 = Instant::now();
    let got = scu
        .store_from(big_xa::XA_CLASS, &instance, EXPLICIT, &mut xa)
        .expect("store");
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(got.status, 0);
    scu.release();
    let peak = peak_kib(child.id());
    drop(child.stdin.take());
    let _ = child.wait();
    println!(
        "multi-frame XA of {total} bytes in {secs:.1} s ({:.0} MB/s): receiver process peak \
         RSS (VmHWM) {:.1} MiB (at start {:.1} MiB)  [load {}]",
        total as f64 / secs / 1e6,
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
        load()
    );
}

fn main() {
    if std::env::args().any(|a| a == "--xa-child") {
        xa_child();
        return;
    }
    // `cargo bench --no-run` builds this; `cargo test --benches` would run it: only a real
    // bench run (the `--bench` flag cargo bench passes) measures.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = env_usize("KERMA_BENCH_FILES", 10_000);
    let rounds = env_usize("KERMA_BENCH_ROUNDS", 2);
    let alert_every = env_usize("KERMA_BENCH_ALERT_EVERY", 100);
    let xa_mib = env_usize("KERMA_BENCH_XA_MIB", 1024) as u64;
    let cases_env =
        std::env::var("KERMA_BENCH_CASES").unwrap_or_else(|_| "registry,spool,storescp,xa".into());
    let cases: Vec<&str> = cases_env.split(',').map(str::trim).collect();
    let templates = stream::testdata_templates();
    println!(
        "{n} RDSRs of {} bytes (1 in {alert_every} an alert file of {} bytes), over 4 \
         associations then {} over 1; {rounds} rounds alternating; {} cores  [load {}]",
        templates.0.data.len(),
        templates.1.data.len(),
        n.min(1000),
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        load()
    );
    let has_dcmtk = Command::new("storescp")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !has_dcmtk && cases.contains(&"storescp") {
        println!("*** storescp not found: DCMTK's side is SKIPPED (install dcmtk) ***");
    }
    let mut ordered: Vec<&str> = ["registry", "spool", "storescp"]
        .into_iter()
        .filter(|c| cases.contains(c) && (*c != "storescp" || has_dcmtk))
        .collect();
    let mut alert_times: BTreeMap<usize, (Vec<Duration>, usize)> = BTreeMap::new();
    for round in 0..rounds {
        for (assocs, count) in [(4, n), (1, n.min(1000))] {
            for (k, case) in ordered.iter().enumerate() {
                let tag = 1 + ((round * 3 + k) % 9) as u8;
                let Some((o, clock)) = run_case(case, &templates, count, assocs, tag, alert_every)
                else {
                    println!("round {round}: {case} could not start");
                    continue;
                };
                report(&format!("round {round}: {case}, {assocs} assoc"), &o);
                if let Some(clock) = clock {
                    let (times, missing) = time_to_alert(&o, &clock);
                    println!(
                        "{:<44} {} alerts: median {:.2} ms, max {:.2} ms; {missing} missing",
                        format!("round {round}: {case}, {assocs} assoc, time to alert"),
                        times.len(),
                        percentile(&times, 0.5),
                        percentile(&times, 1.0),
                    );
                    let all = alert_times.entry(assocs).or_default();
                    all.0.extend(times);
                    all.1 += missing;
                }
            }
            // A/B alternation: the next run starts with the case that came last.
            ordered.rotate_right(1);
        }
    }
    for (assocs, (mut times, missing)) in alert_times {
        times.sort();
        println!(
            "time to alert, registry, {assocs} assoc, all rounds: {} alerts, median {:.2} ms, \
             max {:.2} ms, {missing} missing",
            times.len(),
            percentile(&times, 0.5),
            percentile(&times, 1.0)
        );
    }
    if cases.contains(&"xa") && xa_mib > 0 {
        xa_case(xa_mib);
    }
}

//! The receiver storing into the registry: with DCMTK's storescu as the sender, what arrives
//! over the network makes the procedures that a folder ingest of the same files makes, and
//! the trigger levels reached on arrival are logged as alerts; concurrent associations share
//! commits; alerts are evaluated after the responses; peak skin doses are estimated, stored
//! and compared with their trigger levels on arrival; `kerma-report listen --db --on-alert`.

mod cli_support;
mod common;
mod receiver_support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kerma::net::{ObjectStore, ReceivedObject, RegistryStore, StoreError, StoreOutcome};
use kerma::reference::SurveyConfig;
use kerma::registry::{Registry, ReportFilter};
use receiver_support::program::Program;
use receiver_support::stream;
use receiver_support::{config, run, start, tool};

/// The testdata dose files in explicit or implicit VR little endian (what storescu sends as
/// they are).
fn dose_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"))
        .expect("testdata")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            kerma::extract_path(p).is_ok_and(|x| {
                x.outcome == kerma::Outcome::Dose
                    && matches!(
                        x.transfer_syntax.as_deref(),
                        Some("1.2.840.10008.1.2" | "1.2.840.10008.1.2.1")
                    )
            })
        })
        .collect();
    v.sort();
    v
}

/// DCMTK's storescu sends `files` as they are to the receiver on 127.0.0.1:`port`, within
/// `seconds`.
fn send(storescu: &std::path::Path, port: u16, files: &[PathBuf], seconds: u64) {
    let port = port.to_string();
    let mut cmd = std::process::Command::new(storescu);
    cmd.args([
        "-aet",
        "DCMTKSCU",
        "-aec",
        "KERMA",
        "-nh",
        "-R",
        "127.0.0.1",
        &port,
    ]);
    cmd.args(files);
    let (ok, out) = run(&mut cmd, Duration::from_secs(seconds));
    assert!(ok, "storescu failed: {out}");
}

/// What a procedure is, whatever its files were called.
fn figures(r: &mut Registry) -> BTreeSet<String> {
    r.report(&ReportFilter::default())
        .expect("report")
        .set
        .procedures
        .iter()
        .map(|p| {
            format!(
                "{:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                p.patient_id,
                p.study_instance_uid,
                p.dap_total,
                p.ka_r_sum_of_planes,
                p.fluoro_time,
                p.events,
                p.completeness
            )
        })
        .collect()
}

#[test]
fn network_ingest_equals_folder_ingest_and_alerts_on_arrival() {
    let Some(storescu) = tool("storescu") else {
        return;
    };
    let files = dose_files();
    assert!(files.len() > 20, "{}", files.len());
    let dir = tempfile::tempdir().expect("temp dir");
    let net_db = dir.path().join("net.db");
    let registry = Registry::open(net_db.to_str().expect("path")).expect("open");
    let store = RegistryStore::new(registry, SurveyConfig::default());
    let (handle, events) = start(config(), Arc::new(store));
    send(&storescu, handle.local_addr().port(), &files, 120);
    // The cumulative alert of PAT-CUMUL is raised when its second procedure arrives.
    let alert = events.wait_for(&["PAT-CUMUL", "cumulative"], Duration::from_secs(10));
    handle.stop();
    assert!(alert.is_some(), "no cumulative alert: {:?}", events.lines());
    let folder_db = dir.path().join("folder.db");
    let mut folder = Registry::open(folder_db.to_str().expect("path")).expect("open");
    let inputs: Vec<kerma::Input> = files.iter().map(kerma::Input::given).collect();
    folder.ingest(&inputs, |_| {}).expect("folder ingest");
    let mut net = Registry::open(net_db.to_str().expect("path")).expect("open");
    assert_eq!(figures(&mut net), figures(&mut folder));
    // The alerts told on arrival are kept in the registry.
    let stored = net.alerts_since(None).expect("alerts");
    assert!(
        stored
            .iter()
            .any(|a| a.kind == "patient_cumulative" && a.patient_id.as_deref() == Some("PAT-CUMUL")),
        "{stored:?}"
    );
}

/// Counts the batches and objects handed to the registry.
struct Counting {
    registry: RegistryStore,
    batches: AtomicUsize,
    objects: AtomicUsize,
}

impl ObjectStore for Counting {
    fn store_batch(&self, objects: &[ReceivedObject]) -> Result<StoreOutcome, StoreError> {
        self.batches.fetch_add(1, Ordering::SeqCst);
        self.objects.fetch_add(objects.len(), Ordering::SeqCst);
        self.registry.store_batch(objects)
    }

    fn alerts(&self, changed: &[String]) -> Vec<kerma::net::Alert> {
        self.registry.alerts(changed)
    }
}

/// The patients named in alert lines as "of patient PID:".
fn alerted_patients(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .filter(|l| l.starts_with("alert "))
        .filter_map(|l| {
            let rest = l.split(" of patient ").nth(1)?;
            Some(rest.split_once(':')?.0.to_owned())
        })
        .collect()
}

#[test]
fn four_associations_share_registry_commits_and_alert_files_raise_their_alerts() {
    const FILES: usize = 60;
    const ALERT_EVERY: usize = 10;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("net.db");
    let db = db.to_str().expect("path");
    let store = Arc::new(Counting {
        registry: RegistryStore::open(db, SurveyConfig::default()).expect("open"),
        batches: AtomicUsize::new(0),
        objects: AtomicUsize::new(0),
    });
    let (handle, events) = start(config(), store.clone());
    let templates = stream::testdata_templates();
    let sent = stream::send(handle.local_addr(), &templates, FILES, 4, 1, ALERT_EVERY);
    // Stopping waits for the alerts of the last batch.
    handle.stop();
    assert_eq!(sent.latencies.len(), FILES);
    assert_eq!(
        store.objects.load(Ordering::SeqCst),
        FILES,
        "each object once"
    );
    let batches = store.batches.load(Ordering::SeqCst);
    assert!(batches < FILES, "{batches} commits for {FILES} objects");
    let want: BTreeSet<String> = sent.alert_files.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(want.len(), FILES / ALERT_EVERY);
    assert_eq!(
        alerted_patients(&events.lines()),
        want,
        "{:?}",
        events.lines()
    );
    let mut registry = Registry::open(db).expect("open");
    let report = registry.report(&ReportFilter::default()).expect("report");
    assert_eq!(report.set.procedures.len(), FILES);
}

/// Stores nothing of its own; evaluates alerts slowly, recording what it was asked.
struct SlowAlerts {
    asked: Mutex<Vec<Vec<String>>>,
}

impl ObjectStore for SlowAlerts {
    fn store_batch(&self, objects: &[ReceivedObject]) -> Result<StoreOutcome, StoreError> {
        Ok(StoreOutcome {
            changed: objects.iter().map(|o| o.sop_instance.clone()).collect(),
            ..StoreOutcome::default()
        })
    }

    fn alerts(&self, changed: &[String]) -> Vec<kerma::net::Alert> {
        std::thread::sleep(Duration::from_millis(1500));
        self.asked.lock().unwrap().push(changed.to_vec());
        changed
            .iter()
            .map(|c| kerma::net::Alert {
                summary: format!("{c} evaluated"),
                json: "{}".into(),
            })
            .collect()
    }
}

#[test]
fn alerts_are_evaluated_after_the_responses_and_each_change_once() {
    let store = Arc::new(SlowAlerts {
        asked: Mutex::new(Vec::new()),
    });
    let (handle, events) = start(config(), store.clone());
    let templates = stream::testdata_templates();
    let sent = stream::send(handle.local_addr(), &templates, 6, 1, 2, 0);
    // Six objects answered in much less than one alert evaluation: none waited for it.
    let slowest = *sent.latencies.last().expect("latencies");
    assert!(slowest < Duration::from_millis(1000), "{slowest:?}");
    handle.stop();
    let asked = store.asked.lock().unwrap().clone();
    let mut all: Vec<String> = asked.iter().flatten().cloned().collect();
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!(
        (n, all.len()),
        (6, 6),
        "each change evaluated once: {asked:?}"
    );
    // Changes that arrived during an evaluation were evaluated together.
    assert!(asked.len() < 6, "{asked:?}");
    for c in &all {
        assert!(
            events
                .lines()
                .iter()
                .any(|l| l == &format!("alert {c} evaluated")),
            "{c}"
        );
    }
}

#[test]
fn listen_with_db_runs_on_alert_for_each_alert() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("listen.db");
    let out = dir.path().join("alerts.jsonl");
    let command = format!("cat >> '{}'; echo >> '{}'", out.display(), out.display());
    let mut program = Program::start(
        cli_support::program(),
        &[
            "--db".as_ref(),
            db.as_os_str(),
            "--on-alert".as_ref(),
            command.as_ref(),
        ],
    );
    let templates = stream::testdata_templates();
    let sent = stream::send(program.addr, &templates, 20, 2, 3, 10);
    let want: BTreeSet<String> = sent.alert_files.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(want.len(), 2);
    // The command runs on a thread of its own: wait (bounded) for an alert of each patient
    // (each reaches two trigger levels of the bundled tables: one line per level).
    let patients = |out: &std::path::Path| -> (usize, BTreeSet<String>) {
        let text = std::fs::read_to_string(out).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let got = lines
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
                v["patient_id"].as_str().expect("patient_id").to_owned()
            })
            .collect();
        (lines.len(), got)
    };
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_secs(30) && patients(&out).1 != want {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(program.terminate().success());
    let (lines, got) = patients(&out);
    assert_eq!(got, want);
    assert!(lines >= want.len(), "{lines}");
    let mut registry = Registry::open(db.to_str().expect("path")).expect("open");
    let report = registry.report(&ReportFilter::default()).expect("report");
    assert_eq!(report.set.procedures.len(), 20);
}

#[test]
fn a_peak_skin_dose_is_stored_and_alerted_on_arrival() {
    let Some(storescu) = tool("storescu") else {
        return;
    };
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    // A fluoroscopy RDSR whose conservative PSD bound is above 3 Gy, and a Siemens one that
    // gets a map far below any level.
    let high = corpus.join("openrem-0.10.0-pypi/RF-Pat-Orientation-Modifier-Missing.dcm");
    let mapped = corpus.join("pyskindose-25.1.1-pypi/siemens_axiom_example_procedure.dcm");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("net.db");
    let registry = Registry::open(db.to_str().expect("path")).expect("open");
    let store = RegistryStore::new(registry, SurveyConfig::default());
    let (handle, events) = start(config(), Arc::new(store));
    send(&storescu, handle.local_addr().port(), &[high, mapped], 60);
    let alert = events.wait_for(&["PeakSkinDose"], Duration::from_secs(20));
    // Both procedures' estimates are stored once their alerts are evaluated.
    let mut net = Registry::open(db.to_str().expect("path")).expect("open");
    let t0 = std::time::Instant::now();
    while net.skin_doses(&[]).expect("skin").len() < 2 && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    handle.stop();
    assert!(alert.is_some(), "no PSD alert: {:?}", events.lines());
    let stored = net.skin_doses(&[]).expect("skin");
    let methods: BTreeSet<&str> = stored.iter().map(|s| s.method.as_str()).collect();
    assert_eq!(
        methods,
        BTreeSet::from(["map", "upper_bound"]),
        "{stored:?}"
    );
    let psd_alerts: Vec<_> = (net.alerts_since(None).expect("alerts").into_iter())
        .filter(|a| a.quantity == "peak_skin_dose")
        .collect();
    assert!(psd_alerts.len() >= 2, "{psd_alerts:?}");
    let bound = stored
        .iter()
        .find(|s| s.method == "upper_bound")
        .expect("bound");
    for a in &psd_alerts {
        assert_eq!(Some(a.value), bound.psd_mgy);
        assert_eq!(
            a.procedure_key.as_deref(),
            Some(bound.procedure_key.as_str())
        );
    }
}

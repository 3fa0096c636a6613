//! The receiver storing into the registry, with DCMTK's storescu as the sender: what arrives
//! over the network makes the procedures that a folder ingest of the same files makes, and
//! the trigger levels reached on arrival are logged as alerts.

mod receiver_support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kerma::net::RegistryStore;
use kerma::reference::SurveyConfig;
use kerma::registry::{Registry, ReportFilter};
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
    let port = handle.local_addr().port().to_string();
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
    cmd.args(&files);
    let (ok, out) = run(&mut cmd, Duration::from_secs(120));
    assert!(ok, "storescu failed: {out}");
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
}

//! The receiver with real clients on 127.0.0.1: DCMTK's echoscu and storescu, pynetdicom's
//! storescu, sending the real corpus and the project's generated files; what is stored
//! extracts exactly as the files themselves do.

mod common;
mod receiver_support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kerma::net::client::Part10;
use kerma::net::{DOSE_SOP_CLASSES, Spool};
use receiver_support::{config, part10_files, pynetdicom, run, start, testdata, tool};

/// The inputs: the corpus and the project's testdata (generated images and reports).
fn inputs() -> Option<Vec<PathBuf>> {
    let corpus = common::corpus_dir()?;
    let mut files = part10_files(&corpus);
    // Generated files that kerma reads cleanly; the hostile ones and big endian (which the
    // clients convert) are for other tests.
    files.extend(part10_files(&testdata("")).into_iter().filter(|f| {
        kerma::extract_path(f).is_ok_and(|x| {
            x.warnings.is_empty() && x.transfer_syntax.as_deref() != Some("1.2.840.10008.1.2.2")
        })
    }));
    Some(files)
}

/// Originals by SOP Instance UID (a corpus may hold copies of one instance).
fn by_instance(files: &[PathBuf]) -> HashMap<String, Vec<PathBuf>> {
    let mut map: HashMap<String, Vec<PathBuf>> = HashMap::new();
    for f in files {
        let bytes = std::fs::read(f).unwrap();
        // Keyed by the meta's instance UID and the data set's (senders use the latter).
        if let Some(meta) = Part10::split(&bytes) {
            map.entry(meta.sop_instance).or_default().push(f.clone());
        }
        if let Some(uid) = kerma::extract_path(f)
            .ok()
            .and_then(|x| x.identity.sop_instance_uid)
        {
            map.entry(uid).or_default().push(f.clone());
        }
    }
    map
}

/// Every spooled object extracts as one of the originals with its SOP Instance UID does
/// (kind, outcome, identity, dose report, image dose); returns the instances stored.
fn check_spool(spool: &Path, originals: &HashMap<String, Vec<PathBuf>>) -> Vec<String> {
    let spool = Spool::open(spool).unwrap();
    let mut stored = Vec::new();
    for o in spool.objects().unwrap() {
        let got = kerma::extract_bytes(&o.bytes);
        let candidates = originals
            .get(&o.sop_instance)
            .unwrap_or_else(|| panic!("{} was not sent", o.sop_instance));
        let same = candidates
            .iter()
            .any(|f| match (kerma::extract_path(f), &got) {
                (Ok(want), Ok(got)) => {
                    want.kind == got.kind
                        && want.outcome == got.outcome
                        && want.identity == got.identity
                        && want.report == got.report
                        && want.image == got.image
                }
                (Err(_), Err(_)) => true,
                _ => false,
            });
        assert!(
            same,
            "{} ({}) extracts differently from {:?}: {:?}",
            o.label,
            o.transfer_syntax,
            candidates,
            got.map(|x| (x.kind, x.outcome))
        );
        stored.push(o.sop_instance);
    }
    stored
}

/// The test configuration, with time for clients that decode and re-encode large files.
fn patient() -> kerma::net::ReceiverConfig {
    let mut c = config();
    c.idle_timeout = Duration::from_secs(120);
    c
}

/// The dose-class files among `files` that a client sending them must have delivered.
fn dose_files(files: &[PathBuf]) -> Vec<(PathBuf, String)> {
    files
        .iter()
        .filter_map(|f| {
            let bytes = std::fs::read(f).ok()?;
            let meta = Part10::split(&bytes)?;
            // Senders take the instance UID from the data set.
            let uid = kerma::extract_path(f)
                .ok()
                .and_then(|x| x.identity.sop_instance_uid)
                .unwrap_or(meta.sop_instance);
            DOSE_SOP_CLASSES
                .contains(&meta.sop_class.as_str())
                .then(|| (f.clone(), uid))
        })
        .collect()
}

#[test]
fn dcmtk_echo_and_store_of_the_corpus() {
    let (Some(echoscu), Some(storescu)) = (tool("echoscu"), tool("storescu")) else {
        return;
    };
    let Some(files) = inputs() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (handle, events) = start(patient(), Arc::new(Spool::open(dir.path()).unwrap()));
    let port = handle.local_addr().port().to_string();
    let (ok, out) = run(
        std::process::Command::new(echoscu).args([
            "-aet",
            "DCMTKSCU",
            "-aec",
            "KERMA",
            "127.0.0.1",
            &port,
        ]),
        Duration::from_secs(30),
    );
    assert!(ok, "echoscu failed: {out}");
    assert!(
        events
            .wait_for(&["echo", "calling_ae=DCMTKSCU"], Duration::from_secs(5))
            .is_some()
    );
    // One storescu per transfer syntax family, proposing that family (so that encapsulated
    // images go as they are); uncompressed files go with storescu's default proposal
    // (explicit, then implicit LE), which converts deflated and big endian files: that must
    // not change what kerma reads. -R: contexts from the files (Enhanced X-Ray Radiation
    // Dose SR is not in storescu's default list).
    let dose = dose_files(&files);
    let mut groups: HashMap<&str, Vec<&PathBuf>> = HashMap::new();
    for (f, _) in &dose {
        let ts = kerma::extract_path(f)
            .ok()
            .and_then(|x| x.transfer_syntax)
            .unwrap_or_default();
        let option = match ts.as_str() {
            "1.2.840.10008.1.2.4.50" => "-xy",
            "1.2.840.10008.1.2.4.51" => "-xx",
            "1.2.840.10008.1.2.4.57" | "1.2.840.10008.1.2.4.70" => "-xs",
            "1.2.840.10008.1.2.4.80" => "-xt",
            "1.2.840.10008.1.2.4.81" => "-xu",
            "1.2.840.10008.1.2.4.90" => "-xv",
            "1.2.840.10008.1.2.4.91" => "-xw",
            "1.2.840.10008.1.2.5" => "-xr",
            "1.2.840.10008.1.2.1.99" => "-xd",
            _ => "-xe",
        };
        groups.entry(option).or_default().push(f);
    }
    let mut out = String::new();
    for (option, group) in &groups {
        let mut cmd = std::process::Command::new(&storescu);
        cmd.args([
            "-aet",
            "DCMTKSCU",
            "-aec",
            "KERMA",
            "-nh",
            "-R",
            option,
            "127.0.0.1",
            &port,
        ]);
        cmd.args(group);
        out.push_str(&run(&mut cmd, Duration::from_secs(300)).1);
    }
    handle.stop();
    let stored = check_spool(dir.path(), &by_instance(&files));
    for (f, instance) in &dose {
        assert!(
            stored.contains(instance),
            "{} was not stored; storescu said:\n{out}\nreceiver said:\n{}",
            f.display(),
            events.lines().join("\n")
        );
    }
    assert!(
        events
            .lines()
            .iter()
            .any(|l| l.contains("how=\"released\"")),
        "{:?}",
        events.lines()
    );
}

#[test]
fn pynetdicom_store_of_the_corpus() {
    let Some(py) = pynetdicom() else { return };
    let Some(files) = inputs() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (handle, events) = start(patient(), Arc::new(Spool::open(dir.path()).unwrap()));
    let port = handle.local_addr().port().to_string();
    let dose = dose_files(&files);
    // pynetdicom's storescu app decodes each file and sends it re-encoded; -cx proposes the
    // contexts the files need.
    let mut cmd = std::process::Command::new(py);
    cmd.args(["-m", "pynetdicom", "storescu", "127.0.0.1", &port]);
    cmd.args(dose.iter().map(|(f, _)| f));
    cmd.args(["-aet", "PYSCU", "-aec", "KERMA", "-cx"]);
    let (_, out) = run(&mut cmd, Duration::from_secs(300));
    handle.stop();
    let stored = check_spool(dir.path(), &by_instance(&files));
    let mut missing = Vec::new();
    for (f, instance) in &dose {
        if !stored.contains(instance) {
            missing.push(f.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "not stored: {missing:?}\npynetdicom said:\n{out}\nreceiver said:\n{}",
        events.lines().join("\n")
    );
}

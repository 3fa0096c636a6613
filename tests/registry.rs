//! The registry against SQLite always and against a real PostgreSQL server when
//! `KERMA_POSTGRES_URL` is set (required under `CI=true`; `.ci/run` starts one with
//! `.ci/postgres`): idempotence, orders and halves, reports equal to the folder scan,
//! supersession and versions, hostile text, crashes, concurrent writers, bad databases.

#[path = "fixtures/mod.rs"]
mod fixtures;

mod cli_support;
mod common;
mod registry_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kerma::registry::{Registry, RegistryError, ReportFilter};
use kerma::{Input, ProcedureSet};
use registry_support::{Target, assert_same};

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn inputs(paths: &[PathBuf]) -> Vec<Input> {
    kerma::walk_inputs(paths)
}

fn ingest(target: &Target, inputs: &[Input], batch: usize) -> kerma::registry::IngestSummary {
    let mut r = Registry::open(&target.url())
        .unwrap_or_else(|e| panic!("{}: {e}", target.name()))
        .with_batch_files(batch);
    r.ingest(inputs, |_| {})
        .unwrap_or_else(|e| panic!("{}: {e}", target.name()))
}

/// What a folder scan of `paths` gives.
fn folder_set(paths: &[PathBuf]) -> ProcedureSet {
    let inputs = kerma::walk_inputs(paths);
    let mut p = kerma::Procedures::new();
    kerma::scan(&inputs, &kerma::Extractor::new(), |i, r| {
        p.add_scanned(i, r)
    });
    p.finish()
}

#[test]
fn ingesting_again_changes_nothing() {
    let files = inputs(&[PathBuf::from(TESTDATA)]);
    for t in Target::all("idem") {
        let first = ingest(&t, &files, 1000);
        assert_eq!(first.new, files.len(), "{}", t.name());
        assert!(first.procedures_changed > 0);
        let a = t.dump();
        let again = ingest(&t, &files, 7);
        assert_eq!(
            (
                again.new,
                again.new_versions,
                again.unchanged,
                again.procedures_changed
            ),
            (0, 0, files.len(), 0),
            "{}",
            t.name()
        );
        assert_same(&a, &t.dump(), t.name());
        assert_eq!(
            t.count("fate_history"),
            files.len(),
            "one fate each, unchanged"
        );
    }
}

/// The corpus (and testdata) in one ingest, in reverse order in small batches, and in two
/// halves the second first: the same registry.
#[test]
fn orders_and_halves_give_the_same_registry() {
    let mut dirs = vec![PathBuf::from(TESTDATA)];
    dirs.extend(common::corpus_dir());
    let files = inputs(&dirs);
    let mut reversed = files.clone();
    reversed.reverse();
    let (first, second) = files.split_at(files.len() / 2);
    let server = registry_support::postgres_url();
    let fresh = |tag: &str| -> Vec<Target> {
        let mut v = vec![Target::sqlite()];
        if let Some(u) = &server {
            v.push(Target::postgres(u, tag));
        }
        v
    };
    for ((one, rev), halves) in fresh("one")
        .into_iter()
        .zip(fresh("rev"))
        .zip(fresh("half"))
    {
        ingest(&one, &files, 1000);
        ingest(&rev, &reversed, 3);
        ingest(&halves, second, 5);
        ingest(&halves, first, 1000);
        let a = one.dump();
        assert!(!a["procedures"].is_empty());
        assert_same(&a, &rev.dump(), &format!("{}: reversed", one.name()));
        assert_same(&a, &halves.dump(), &format!("{}: halves", one.name()));
        // And twice: nothing moves.
        ingest(&halves, &files, 1000);
        assert_same(&a, &halves.dump(), &format!("{}: twice", one.name()));
    }
}

/// The registry's report of everything is the folder scan's procedure set, file by file.
#[test]
fn report_equals_the_folder_scan() -> TestResult {
    let mut dirs = vec![PathBuf::from(TESTDATA)];
    dirs.extend(common::corpus_dir());
    let expected = folder_set(&dirs);
    for t in Target::all("report") {
        ingest(&t, &inputs(&dirs), 10);
        let mut r = Registry::open(&t.url())?;
        let got = r.report(&ReportFilter::default())?;
        assert_eq!(got.set.accounting, expected.accounting, "{}", t.name());
        assert_eq!(got.set.files, expected.files, "{}", t.name());
        assert_eq!(got.set.procedures.len(), expected.procedures.len());
        for (a, b) in got.set.procedures.iter().zip(&expected.procedures) {
            assert_eq!(a, b, "{}: procedure {}", t.name(), b.id);
        }
        // The JSON entries of the files, read again from the stored bytes, match the scan's
        // but for bytes_read (what extraction needed, not what was read from disk).
        let entries = r.file_entries(&got.set)?;
        assert_eq!(entries.len(), expected.files.len());
        let mut e0 = serde_json::to_value(&entries[0])?;
        e0["bytes_read"] = serde_json::Value::Null;
        assert_eq!(e0["path"], serde_json::json!(expected.files[0].label));
    }
    Ok(())
}

fn copy(from: &str, to: &Path) {
    std::fs::copy(Path::new(TESTDATA).join(from), to).expect("copy fixture");
}

#[test]
fn a_later_cumulative_report_supersedes_stored_parts() -> TestResult {
    for t in Target::all("cumul") {
        let dir = tempfile::tempdir()?;
        copy("rdsr_pps_part1.dcm", &dir.path().join("a1.dcm"));
        copy("rdsr_pps_part2.dcm", &dir.path().join("a2.dcm"));
        let s = ingest(&t, &inputs(&[dir.path().to_path_buf()]), 1000);
        assert_eq!(s.procedures_changed, 1);
        let mut r = Registry::open(&t.url())?;
        let before = r.report(&ReportFilter::default())?;
        assert_eq!(before.set.procedures.len(), 1);
        assert_eq!(before.set.accounting.in_procedure, 2);
        copy("rdsr_cumulative.dcm", &dir.path().join("b.dcm"));
        let s = ingest(&t, &inputs(&[dir.path().to_path_buf()]), 1000);
        assert_eq!(
            (s.new, s.unchanged, s.procedures_changed),
            (1, 2, 1),
            "{}",
            t.name()
        );
        let after = r.report(&ReportFilter::default())?;
        assert_eq!(after.set.procedures.len(), 1);
        assert_eq!(after.set.accounting.superseded, 2, "{}", t.name());
        let dap = after.set.procedures[0].dap_total.map(kerma::Dap::as_gy_cm2);
        assert!(dap.is_some_and(|d| (d - 14.0).abs() < 1e-9), "{dap:?}");
        // Each part's fate changed once, and the registry says when.
        let history = t.rows(
            "SELECT f.path, h.fate FROM fate_history h JOIN files f ON f.id = h.file_id ORDER BY f.path, h.since",
        );
        let fates: Vec<String> = history
            .iter()
            .map(|r| {
                format!(
                    "{}:{}",
                    r[0].1.as_deref().unwrap_or(""),
                    r[1].1.as_deref().unwrap_or("")
                )
            })
            .map(|s| s.rsplit('/').next().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            fates,
            [
                "a1.dcm:in_procedure",
                "a1.dcm:superseded",
                "a2.dcm:in_procedure",
                "a2.dcm:superseded",
                "b.dcm:in_procedure"
            ],
            "{}",
            t.name()
        );
    }
    Ok(())
}

#[test]
fn new_content_at_a_path_is_a_new_version() -> TestResult {
    for t in Target::all("version") {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("exam.dcm");
        copy("rdsr_single_plane.dcm", &p);
        ingest(&t, &inputs(std::slice::from_ref(&p)), 1000);
        copy("rdsr_canon_dgycm2_mgy.dcm", &p);
        let s = ingest(&t, &inputs(std::slice::from_ref(&p)), 1000);
        assert_eq!((s.new, s.new_versions), (0, 1), "{}", t.name());
        let rows = t.rows("SELECT version, is_current, replaced_at FROM files ORDER BY version");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][1].1.as_deref(), Some("0"));
        assert!(
            rows[0][2].1.is_some(),
            "the old version says when it was replaced"
        );
        assert_eq!(rows[1][1].1.as_deref(), Some("1"));
        let report = Registry::open(&t.url())?.report(&ReportFilter::default())?;
        assert_eq!(
            report.set.procedures.len(),
            1,
            "the old version's procedure is gone"
        );
        let dap = report.set.procedures[0]
            .dap_total
            .map(kerma::Dap::as_gy_cm2);
        assert!(dap.is_some_and(|d| (d - 50.0).abs() < 1e-9), "{dap:?}");
    }
    Ok(())
}

/// Text fields full of quotes and SQL are stored and read back as they are.
#[test]
fn hostile_text_is_only_data() -> TestResult {
    let hostile = "O'Brien'); DROP TABLE files; --\"\\";
    let mut r = fixtures::single_plane_report(77);
    r.header.patient_id = hostile.to_owned();
    r.header.study_description = format!("{hostile} ' OR '1'='1");
    let bytes = r.to_bytes();
    for t in Target::all("hostile") {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("x'; DELETE FROM procedures; --.dcm");
        std::fs::write(&p, &bytes)?;
        ingest(&t, &inputs(&[p]), 1000);
        let report = Registry::open(&t.url())?.report(&ReportFilter::default())?;
        assert_eq!(report.set.procedures.len(), 1, "{}", t.name());
        let p0 = &report.set.procedures[0];
        assert_eq!(p0.patient_id.as_deref(), Some(hostile));
        assert!(p0.files[0].ends_with("x'; DELETE FROM procedures; --.dcm"));
        assert_eq!(t.count("files"), 1);
    }
    Ok(())
}

fn generate(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for i in 0..n {
        std::fs::write(dir.join(format!("{i:05}.dcm")), fixtures::small_rdsr(i)).expect("write");
    }
}

fn ingest_child(target: &Target, dir: &Path, batch: usize) -> std::process::Child {
    Command::new(cli_support::program())
        .args([
            "ingest",
            "--db",
            &target.url(),
            "--batch",
            &batch.to_string(),
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kerma-report ingest")
}

/// An ingest killed with SIGKILL in the middle, then run again, gives what one clean run
/// gives: nothing lost, nothing twice.
#[test]
fn killed_ingest_resumes_to_the_same_registry() -> TestResult {
    let dir = tempfile::tempdir()?;
    generate(dir.path(), 800);
    for (killed, clean) in Target::all("kill").into_iter().zip(Target::all("clean")) {
        ingest(&clean, &inputs(&[dir.path().to_path_buf()]), 100);
        let mut child = ingest_child(&killed, dir.path(), 50);
        let deadline = Instant::now() + Duration::from_secs(120);
        // Wait for some batches to be committed (the tables exist once the first is).
        loop {
            let stored = std::panic::catch_unwind(|| killed.count("files")).unwrap_or(0);
            if stored >= 120 || Instant::now() > deadline {
                break;
            }
            if child.try_wait()?.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill()?;
        child.wait()?;
        let partial = killed.count("files");
        assert!(
            partial < 800,
            "{}: the ingest finished before it was killed",
            killed.name()
        );
        assert_eq!(
            partial % 50,
            0,
            "{}: a batch is all or nothing",
            killed.name()
        );
        let s = ingest(&killed, &inputs(&[dir.path().to_path_buf()]), 100);
        assert_eq!((s.unchanged, s.new), (partial, 800 - partial));
        assert_same(&clean.dump(), &killed.dump(), killed.name());
    }
    Ok(())
}

/// Two processes ingesting the same folder at once give what one gives.
#[test]
fn two_writers_at_once_give_one_registry() -> TestResult {
    let dir = tempfile::tempdir()?;
    generate(dir.path(), 600);
    for (shared, clean) in Target::all("two").into_iter().zip(Target::all("one")) {
        ingest(&clean, &inputs(&[dir.path().to_path_buf()]), 1000);
        // Create the schema first, so that both writers find it.
        Registry::open(&shared.url())?;
        let mut a = ingest_child(&shared, dir.path(), 40);
        let mut b = ingest_child(&shared, dir.path(), 70);
        let (sa, sb) = (a.wait(), b.wait());
        let (sa, sb) = (sa?, sb?);
        let mut err = String::new();
        if let Some(mut e) = a.stderr.take() {
            std::io::Read::read_to_string(&mut e, &mut err)?;
        }
        assert!(sa.success() && sb.success(), "{}: {err}", shared.name());
        assert_same(&clean.dump(), &shared.dump(), shared.name());
    }
    Ok(())
}

#[test]
fn foreign_and_damaged_databases_are_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    // Another application's SQLite file: kerma does not write into it.
    let foreign = dir.path().join("other.db");
    rusqlite::Connection::open(&foreign)?.execute_batch("CREATE TABLE patients (id TEXT)")?;
    match Registry::open(foreign.to_str().ok_or("path")?) {
        Err(e @ RegistryError::NotARegistry { .. }) => {
            assert!(e.to_string().contains("patients"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Not a database at all.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x5a; 8192])?;
    match Registry::open(junk.to_str().ok_or("path")?) {
        Err(e @ RegistryError::Database { .. }) => {
            assert!(e.to_string().contains("not a database"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // A registry from a newer kerma.
    let newer = dir.path().join("newer.db");
    Registry::open(newer.to_str().ok_or("path")?)?;
    rusqlite::Connection::open(&newer)?.execute_batch("UPDATE kerma_schema SET version = 99")?;
    match Registry::open(newer.to_str().ok_or("path")?) {
        Err(e @ RegistryError::NewerSchema { found: 99, .. }) => {
            assert!(e.to_string().contains("use a newer kerma"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    Ok(())
}

#[test]
fn postgres_passwords_never_show() -> TestResult {
    let Some(url) = registry_support::postgres_url() else {
        return Ok(());
    };
    let secret = "not-the-password-4711";
    // A wrong password, and a server that is not there.
    let wrong = url.replacen(
        &url[url.find("://").ok_or("url")? + 3..url.find('@').ok_or("url")?],
        &format!("kerma:{secret}"),
        1,
    );
    let gone = format!("postgres://kerma:{secret}@127.0.0.1:9/kerma");
    for u in [wrong, gone] {
        let e = Registry::open(&u).expect_err("must fail");
        let text = format!("{e} {e:?}");
        assert!(!text.contains(secret), "{text}");
        assert!(text.contains("***"), "{text}");
        let out = Command::new(cli_support::program())
            .args(["ingest", "--db", &u, TESTDATA])
            .output()?;
        assert_eq!(out.status.code(), Some(2));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(secret), "{all}");
    }
    // The report of a working registry never shows it either.
    let t = Target::postgres(&url, "pw");
    let out = Command::new(cli_support::program())
        .args(["ingest", "--db", &t.url(), TESTDATA])
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let password = url
        .split(':')
        .nth(2)
        .and_then(|s| s.split('@').next())
        .ok_or("url")?;
    assert!(!stdout.contains(password), "{stdout}");
    assert!(stdout.contains("***"), "{stdout}");
    Ok(())
}

/// The server drops the connection between two batches: the ingest fails with a clear
/// error, what was committed stays, and ingesting again completes it.
#[test]
fn postgres_connection_lost_mid_ingest() -> TestResult {
    let Some(url) = registry_support::postgres_url() else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    generate(dir.path(), 120);
    let files = inputs(&[dir.path().to_path_buf()]);
    let (t, clean) = (
        Target::postgres(&url, "lost"),
        Target::postgres(&url, "lostclean"),
    );
    ingest(&clean, &files, 1000);
    let mut r = Registry::open(&t.url())?.with_batch_files(40);
    let name = match &t {
        Target::Postgres { name, .. } => name.clone(),
        Target::Sqlite { .. } => unreachable!(),
    };
    let admin = url.clone();
    let mut batches = 0;
    let result = r.ingest(&files, |_| {
        batches += 1;
        if batches == 1 {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("admin");
            c.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&name],
            )
            .expect("terminate");
        }
    });
    let e = result.expect_err("the connection was terminated");
    assert!(matches!(e, RegistryError::Database { .. }), "{e:?}");
    assert_eq!(
        t.count("files"),
        40,
        "the first batch stays, the second left nothing"
    );
    ingest(&t, &files, 1000);
    assert_same(&clean.dump(), &t.dump(), "resumed");
    Ok(())
}

/// The alerts of the procedures an ingest changed, with their patients' stored history, are
/// those of a survey of everything: for each new file, ingested one at a time.
#[test]
fn alerts_on_arrival_see_the_stored_history() -> TestResult {
    use kerma::reference::{Survey, SurveyConfig, SurveyRecord};
    let dirs = [PathBuf::from(TESTDATA)];
    let expected = folder_set(&dirs);
    let mut whole = Survey::new(SurveyConfig::default())?;
    for p in &expected.procedures {
        whole.add(SurveyRecord::from_procedure(p));
    }
    let whole = whole.finish();
    assert!(
        !whole.alerts.procedures.is_empty(),
        "testdata raises alerts"
    );
    for t in Target::all("alerts") {
        let mut r = Registry::open(&t.url())?;
        let mut raised = Vec::new();
        let mut cumulative = Vec::new();
        let mut recorded = 0;
        for input in inputs(&dirs) {
            let s = r.ingest(std::slice::from_ref(&input), |_| {})?;
            let report = r.survey(&s.changed_procedures, Survey::new(SurveyConfig::default())?)?;
            recorded += r.record_alerts(&report)?;
            for a in report.alerts.procedures {
                raised.push((a.patient_id, a.quantity, a.value.to_bits()));
            }
            for c in report.alerts.patient_cumulative {
                if !c.levels_reached.is_empty() {
                    cumulative.push(c.patient_id);
                }
            }
        }
        // Every alert of the whole survey was raised on arrival of one of its files.
        for a in &whole.alerts.procedures {
            let key = (a.patient_id.clone(), a.quantity, a.value.to_bits());
            assert!(
                raised.contains(&key),
                "{}: {key:?} not raised on arrival",
                t.name()
            );
        }
        for c in whole
            .alerts
            .patient_cumulative
            .iter()
            .filter(|c| !c.levels_reached.is_empty())
        {
            assert!(
                cumulative.contains(&c.patient_id),
                "{}: cumulative alert of {} not raised",
                t.name(),
                c.patient_id
            );
        }
        // Each raised alert is kept in the registry, with its time and values.
        let stored = r.alerts_since(None)?;
        assert_eq!(stored.len(), recorded, "{}", t.name());
        assert_eq!(recorded, raised.len() + cumulative.len(), "{}", t.name());
        for a in stored.iter().filter(|a| a.kind == "procedure") {
            let key = (a.patient_id.clone(), a.quantity.clone(), a.value.to_bits());
            let name = |q: &kerma::reference::DrlQuantity| {
                serde_json::to_value(q).map(|v| v.as_str().unwrap_or_default().to_owned())
            };
            assert!(
                raised
                    .iter()
                    .any(|(p, q, v)| name(q).is_ok_and(|q| (p.clone(), q, *v) == key)),
                "{}: stored {key:?} was not raised",
                t.name()
            );
            assert!(a.level.is_some_and(|l| a.value >= l), "{}: {a:?}", t.name());
            assert!(a.procedure_key.is_some() && a.detail.starts_with('{'));
        }
        let cumulative_stored: Vec<_> = (stored.iter())
            .filter(|a| a.kind == "patient_cumulative")
            .filter_map(|a| a.patient_id.clone())
            .collect();
        assert_eq!(cumulative_stored.len(), cumulative.len(), "{}", t.name());
        let first = stored
            .first()
            .map(|a| a.raised_at.clone())
            .unwrap_or_default();
        assert_eq!(
            r.alerts_since(Some(&first))?.len(),
            recorded,
            "{}",
            t.name()
        );
        assert!(r.alerts_since(Some("9999-01-01T00:00:00Z"))?.is_empty());
    }
    Ok(())
}

/// The registry's report exports as Parquet as the folder mode's does: one row per
/// procedure, file and event.
#[test]
fn registry_report_as_parquet() -> TestResult {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let t = Target::sqlite();
    ingest(&t, &inputs(&[PathBuf::from(TESTDATA)]), 1000);
    let out = tempfile::tempdir()?;
    let run = Command::new(cli_support::program())
        .args(["report", "--db", &t.url(), "--format", "parquet", "--out"])
        .arg(out.path())
        .output()?;
    // Exit 2: testdata holds unreadable files, as the folder report says too.
    assert_eq!(
        run.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let rows = |name: &str| -> Result<i64, Box<dyn std::error::Error>> {
        let f = std::fs::File::open(out.path().join(name))?;
        Ok(SerializedFileReader::new(f)?
            .metadata()
            .file_metadata()
            .num_rows())
    };
    let report = Registry::open(&t.url())?.report(&ReportFilter::default())?;
    assert_eq!(
        rows("procedures.parquet")? as usize,
        report.set.procedures.len()
    );
    assert_eq!(rows("files.parquet")? as usize, report.set.files.len());
    assert!(rows("events.parquet")? > 0);
    Ok(())
}

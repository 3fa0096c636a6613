//! Peak skin doses in the registry (SQLite always, PostgreSQL when `KERMA_POSTGRES_URL` is
//! set; required under `CI=true`): the stored estimates equal the folder report's, a
//! procedure that changes loses its estimate until it is estimated again, the survey compares
//! the stored PSD with the PSD trigger levels, and a version-1 registry gains the table.

mod common;
mod registry_support;

use std::collections::HashMap;
use std::path::PathBuf;

use kerma::reference::{DrlQuantity, Survey, SurveyConfig};
use kerma::registry::{Registry, ReportFilter};
use kerma::skin::{Settings, SkinDose, SkinInputs};
use registry_support::Target;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The folder report's skin estimate of each procedure of `paths`, by Study Instance UID.
fn folder_estimates(paths: &[PathBuf], settings: &Settings) -> HashMap<String, SkinDose> {
    let inputs = kerma::walk_inputs(paths);
    let mut procedures = kerma::Procedures::new();
    let mut skin = SkinInputs::default();
    kerma::scan(&inputs, &kerma::Extractor::new(), |i, r| {
        if let Ok(x) = &r {
            skin.add(&i.path.display().to_string(), x);
        }
        procedures.add_scanned(i, r)
    });
    let set = procedures.finish();
    set.procedures
        .iter()
        .filter_map(|p| {
            let input = skin.procedure(p)?;
            let mut s = kerma::skin::estimate(&input, settings);
            s.map = None;
            Some((p.study_instance_uid.clone()?, s))
        })
        .collect()
}

/// The registry's key → Study Instance UID.
fn studies(r: &mut Registry) -> Result<HashMap<String, String>, Box<dyn std::error::Error>> {
    let report = r.report(&ReportFilter::default())?;
    Ok(report
        .set
        .procedures
        .iter()
        .filter_map(|p| {
            Some((
                report.keys.get(&p.id)?.clone(),
                p.study_instance_uid.clone()?,
            ))
        })
        .collect())
}

/// Asserts that the registry's stored estimates are `expected` (by study), bit for bit and
/// with the same JSON; returns the registry's key → study.
fn assert_stored_equal(
    t: &Target,
    r: &mut Registry,
    expected: &HashMap<String, SkinDose>,
) -> Result<HashMap<String, String>, Box<dyn std::error::Error>> {
    let study = studies(r)?;
    let stored = r.skin_doses(&[])?;
    assert_eq!(stored.len(), expected.len(), "{}", t.name());
    for s in &stored {
        let want = &expected[&study[&s.procedure_key]];
        let what = format!("{}: {}", t.name(), s.procedure_key);
        let bits = |v: Option<f64>| v.map(f64::to_bits);
        assert_eq!(bits(s.psd_mgy), bits(want.psd_mgy), "{what}");
        assert_eq!(s.method, want.method.as_str(), "{what}");
        assert_eq!(
            bits(s.upper_bound_mgy),
            bits(want.upper_bound_mgy),
            "{what}"
        );
        assert_eq!(s.reason, want.reason, "{what}");
        assert_eq!(s.settings, want.settings, "{what}");
        let detail: serde_json::Value = serde_json::from_str(&s.detail)?;
        assert_eq!(detail, serde_json::to_value(want)?, "{what}");
    }
    Ok(study)
}

fn dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(TESTDATA)];
    dirs.extend(common::corpus_dir());
    dirs
}

#[test]
fn stored_estimates_equal_the_folder_report() -> TestResult {
    let dirs = dirs();
    let settings = Settings::default();
    let expected = folder_estimates(&dirs, &settings);
    assert!(
        expected
            .values()
            .any(|s| s.method == kerma::skin::Method::Map)
    );
    assert!(expected.values().any(|s| s.reason.is_some()));
    for t in Target::all("skin_equal") {
        let mut r = Registry::open(&t.url())?;
        r.ingest(&kerma::walk_inputs(&dirs), |_| {})?;
        let missing = r.missing_skin_doses()?;
        assert_eq!(missing.len(), expected.len(), "{}", t.name());
        let estimated = r.estimate_skin(&missing, &settings)?;
        assert_eq!(estimated.len(), expected.len(), "{}", t.name());
        assert!(r.missing_skin_doses()?.is_empty(), "{}", t.name());
        let study = assert_stored_equal(&t, &mut r, &expected)?;
        // Again: the same rows, replaced.
        r.estimate_skin(&study.keys().cloned().collect::<Vec<_>>(), &settings)?;
        assert_eq!(r.skin_doses(&[])?.len(), expected.len(), "{}", t.name());
    }
    Ok(())
}

#[test]
fn a_changed_procedure_loses_its_estimate_until_estimated_again() -> TestResult {
    let settings = Settings::default();
    let part = |n: &str| PathBuf::from(format!("{TESTDATA}/{n}"));
    for t in Target::all("skin_changed") {
        let mut r = Registry::open(&t.url())?;
        let first = r.ingest(&kerma::walk_inputs(&[part("rdsr_pps_part1.dcm")]), |_| {})?;
        let keys = first.changed_procedures.clone();
        assert_eq!(keys.len(), 1);
        let before = r.estimate_skin(&keys, &settings)?;
        assert_eq!(before.len(), 1, "{}", t.name());
        assert_eq!(r.skin_doses(&keys)?.len(), 1);
        // The second part joins the procedure: its estimate of one part is gone.
        let second = r.ingest(&kerma::walk_inputs(&[part("rdsr_pps_part2.dcm")]), |_| {})?;
        assert_eq!(second.changed_procedures, keys, "{}", t.name());
        assert!(r.skin_doses(&keys)?.is_empty(), "{}", t.name());
        assert_eq!(r.missing_skin_doses()?, keys, "{}", t.name());
        let after = r.estimate_skin(&keys, &settings)?;
        let (b, a) = (&before[0].1, &after[0].1);
        assert!(a.events_used > b.events_used, "{}", t.name());
        assert!(
            a.upper_bound_mgy.unwrap_or(0.0) > b.upper_bound_mgy.unwrap_or(0.0),
            "{}",
            t.name()
        );
        let want = folder_estimates(
            &[part("rdsr_pps_part1.dcm"), part("rdsr_pps_part2.dcm")],
            &settings,
        );
        let want = want.values().next().ok_or("no folder estimate")?;
        assert_eq!(a.psd_mgy, want.psd_mgy, "{}", t.name());
        // A key that is not stored gets nothing, and no error.
        assert!(
            r.estimate_skin(&["Knothing".to_owned()], &settings)?
                .is_empty()
        );
    }
    Ok(())
}

#[test]
fn the_survey_compares_the_stored_psd_with_its_trigger_levels() -> TestResult {
    // The corpus procedure whose bound (every field on one spot) is above 10 Gy.
    let Some(corpus) = common::corpus_dir() else {
        return Ok(());
    };
    let file = corpus.join("openrem-0.10.0-pypi/RF-Pat-Orientation-Modifier-Missing.dcm");
    let settings = Settings::default();
    let want = folder_estimates(std::slice::from_ref(&file), &settings);
    let want = want.values().next().ok_or("no estimate")?;
    let psd = want.psd_mgy.ok_or("no PSD")?;
    assert!(psd > 3000.0, "{psd}");
    for t in Target::all("skin_alert") {
        let mut r = Registry::open(&t.url())?;
        let keys = r
            .ingest(&kerma::walk_inputs(std::slice::from_ref(&file)), |_| {})?
            .changed_procedures;
        let psd_alerts = |r: &mut Registry| -> Result<Vec<_>, Box<dyn std::error::Error>> {
            let report = r.survey(&keys, Survey::new(SurveyConfig::default())?)?;
            Ok(report
                .alerts
                .procedures
                .into_iter()
                .filter(|a| a.quantity == DrlQuantity::PeakSkinDose)
                .collect())
        };
        // No estimate stored: no PSD alert.
        assert!(psd_alerts(&mut r)?.is_empty(), "{}", t.name());
        r.estimate_skin(&keys, &settings)?;
        let alerts = psd_alerts(&mut r)?;
        // The 2 Gy and 3 Gy levels of the bundled PSD table, each reached by the bound.
        assert!(alerts.len() >= 2, "{}: {alerts:?}", t.name());
        for a in &alerts {
            assert_eq!(a.value, psd, "{}", t.name());
            assert!(a.value_is_upper_bound, "{}", t.name());
            assert!(a.value >= a.level);
        }
    }
    Ok(())
}

#[test]
fn a_version_1_registry_gains_the_skin_table() -> TestResult {
    for t in Target::all("skin_migrate") {
        let file = PathBuf::from(format!("{TESTDATA}/rdsr_biplane.dcm"));
        let keys = {
            let mut r = Registry::open(&t.url())?;
            r.ingest(&kerma::walk_inputs(std::slice::from_ref(&file)), |_| {})?
                .changed_procedures
        };
        // What kerma's registry schema 1 was: no skin_doses.
        t.exec("DROP TABLE skin_doses; UPDATE kerma_schema SET version = 1");
        let mut r = Registry::open(&t.url())?;
        let version = t.rows("SELECT version FROM kerma_schema");
        assert_eq!(version[0][0].1.as_deref(), Some("2"), "{}", t.name());
        assert_eq!(r.missing_skin_doses()?, keys, "{}", t.name());
        assert_eq!(r.estimate_skin(&keys, &Settings::default())?.len(), 1);
        // Opening again changes nothing.
        drop(r);
        let mut r = Registry::open(&t.url())?;
        assert_eq!(r.skin_doses(&keys)?.len(), 1, "{}", t.name());
    }
    Ok(())
}

#[test]
fn objects_ingested_with_skin_settings_have_their_psd_in_the_same_commit() -> TestResult {
    let dirs = dirs();
    let settings = Settings::default();
    let expected = folder_estimates(&dirs, &settings);
    for t in Target::all("skin_objects") {
        let mut r = Registry::open(&t.url())?.with_skin(settings.clone());
        // One object at a time, as a receiver commits them: the later files of a procedure
        // change it, and each change gets its new estimate in its own transaction.
        for input in kerma::walk_inputs(&dirs) {
            let bytes = std::fs::read(&input.path)?;
            r.ingest_objects(vec![(input.path.display().to_string(), bytes)])?;
        }
        assert!(r.missing_skin_doses()?.is_empty(), "{}", t.name());
        assert_stored_equal(&t, &mut r, &expected)?;
        // Without skin settings, objects get no estimate.
        let t2 = Target::sqlite();
        let mut plain = Registry::open(&t2.url())?;
        let file = PathBuf::from(format!("{TESTDATA}/rdsr_biplane.dcm"));
        plain.ingest_objects(vec![("a.dcm".into(), std::fs::read(&file)?)])?;
        assert!(plain.skin_doses(&[])?.is_empty());
        assert_eq!(plain.missing_skin_doses()?.len(), 1);
    }
    Ok(())
}

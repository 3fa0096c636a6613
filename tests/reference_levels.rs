//! Reference levels: bundled tables and their sources, and an end-to-end survey.

mod common;
#[path = "fixtures/mod.rs"]
mod fixtures;

use std::path::Path;
use std::time::Duration;

use kerma::reference::{
    DrlQuantity, DrlRow, Exclusion, GroupScope, MatchStatus, ProcedureText, ReferenceError,
    ReferenceTables, Survey, SurveyConfig, SurveyRecord, SurveyReport, TextField, Verdict,
};
use kerma::{AirKerma, Dap, ProcedureSet, Procedures};
use proptest::prelude::*;

const BUNDLED_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/reference-levels");
const SKIN_SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/skin/data/SOURCES.md");

// ---------------------------------------------------------------------------------------
// Bundled tables: traceability and identity with the shared copy

/// The text of the `### SOURCE_ID` section of SOURCES.md (heading line included).
fn section<'a>(sources: &'a str, id: &str) -> Option<&'a str> {
    let heading = format!("### {id}");
    let start = sources.match_indices(&heading).map(|(i, _)| i).find(|&i| {
        // the id must end the word: "### FR_X (" or "### FR_X:" or end of line
        sources[i + heading.len()..]
            .chars()
            .next()
            .is_some_and(|c| !(c.is_alphanumeric() || c == '_'))
    })?;
    let rest = &sources[start..];
    let end = rest[heading.len()..]
        .find("\n## ")
        .into_iter()
        .chain(rest[heading.len()..].find("\n### "))
        .min()
        .map_or(rest.len(), |e| e + heading.len());
    Some(&rest[..end])
}

/// Whether `number` occurs in `text` as a whole number (not part of a longer number).
fn has_number(text: &str, number: &str) -> bool {
    text.match_indices(number).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after: Vec<char> = text[i + number.len()..].chars().take(2).collect();
        let digit_before = before.is_some_and(|c| c.is_ascii_digit() || c == '.');
        let digit_after = match after.as_slice() {
            [c, ..] if c.is_ascii_digit() => true,
            ['.' | ',', d, ..] if d.is_ascii_digit() => true,
            _ => false,
        };
        !digit_before && !digit_after
    })
}

/// Ways a table value may be written in SOURCES.md: as in the CSV, with thousands
/// separators, and converted back from the CSV convention (mGy ← Gy, min ← s).
fn spellings(value: &str, unit: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    let Ok(v) = value.parse::<f64>() else {
        return out;
    };
    let mut numbers = vec![v];
    match unit {
        "mGy" => numbers.push(v / 1000.0),
        "min" => numbers.push((v * 60.0).round()),
        _ => {}
    }
    for n in numbers {
        out.push(format!("{n}"));
        if n.fract() == 0.0 && n >= 1000.0 {
            let s = format!("{}", n as u64);
            let mut grouped = String::new();
            for (i, c) in s.chars().enumerate() {
                if i > 0 && (s.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            out.push(grouped);
        }
    }
    out
}

#[test]
fn every_bundled_value_is_traceable_to_sources_md() {
    let sources = std::fs::read_to_string(format!("{BUNDLED_DIR}/SOURCES.md")).unwrap();
    for (file, marker) in [
        ("drl.csv", "(in drl.csv"),
        ("trigger-levels.csv", "(in trigger-levels.csv"),
    ] {
        let mut rdr = csv::Reader::from_path(format!("{BUNDLED_DIR}/{file}")).unwrap();
        let headers = rdr.headers().unwrap().clone();
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let (id_col, value_col, unit_col) = (col("source_id"), col("value"), col("unit"));
        let mut rows = 0;
        for rec in rdr.records() {
            let rec = rec.unwrap();
            let id = &rec[id_col];
            let text = section(&sources, id)
                .unwrap_or_else(|| panic!("{file}: source {id} has no section in SOURCES.md"));
            let heading = text.lines().next().unwrap();
            assert!(
                heading.contains(marker),
                "{file}: the SOURCES.md heading of {id} does not say {marker:?}: {heading}"
            );
            let forms = spellings(&rec[value_col], &rec[unit_col]);
            assert!(
                forms.iter().any(|f| has_number(text, f)),
                "{file}: value {} {} of {id} is not written in its SOURCES.md section (tried {forms:?})",
                &rec[value_col],
                &rec[unit_col]
            );
            rows += 1;
        }
        assert!(rows > 0, "{file} is empty");
    }
    // and the library loads exactly these rows, each with its source id
    let tables = ReferenceTables::bundled();
    assert!(
        tables
            .drl_levels()
            .iter()
            .all(|l| section(&sources, &l.source_id).is_some())
    );
    // Peak-skin-dose levels have their sections with the skin data's sources.
    let skin = std::fs::read_to_string(SKIN_SOURCES).unwrap();
    assert!(tables.trigger_levels().iter().all(|l| {
        section(&sources, &l.source_id)
            .or_else(|| section(&skin, &l.source_id))
            .is_some()
    }));
}

#[test]
fn bundled_copies_match_shared_reference_levels() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference-levels");
    if !shared.exists() {
        eprintln!("{} not present: comparison skipped", shared.display());
        return;
    }
    for name in ["drl.csv", "trigger-levels.csv", "SOURCES.md"] {
        let ours = std::fs::read(Path::new(BUNDLED_DIR).join(name)).unwrap();
        let theirs = std::fs::read(shared.join(name)).unwrap();
        assert!(
            ours == theirs,
            "data/reference-levels/{name} differs from {}",
            shared.join(name).display()
        );
    }
}

#[test]
fn table_errors_name_file_and_line() {
    let mut t = ReferenceTables::bundled();
    let text = "source_id,jurisdiction,year,procedure_code,quantity,unit,value\n\
                LOCAL,FR,2025,pci,pka,Gy.cm2,80\n\
                LOCAL,FR,2025,pci,ka_r,Gy.cm2,1\n";
    let e = t.load_drl_csv("local.csv", text.as_bytes()).unwrap_err();
    assert!(matches!(e, ReferenceError::UnknownUnit { line: 3, .. }));
    assert!(e.to_string().starts_with("local.csv:3:"), "{e}");
    // nothing of a failing file is added
    assert!(!t.drl_levels().iter().any(|l| l.source_id == "LOCAL"));
    let e = t
        .load_trigger_csv(
            "alerts.csv",
            "source_id,jurisdiction,procedure_code,quantity,unit,value,when\n".as_bytes(),
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "alerts.csv:1: unknown column \"when\" (expected columns: source_id, jurisdiction, year, procedure_code, quantity, unit, value, action, notes)"
    );
}

// ---------------------------------------------------------------------------------------
// End to end

fn record(id: &str, room: &str, text: &str, dap_gy_cm2: f64) -> SurveyRecord {
    SurveyRecord {
        procedure_id: id.to_string(),
        patient_id: Some(format!("pat-{id}")),
        room: room.to_string(),
        date: Some("20240315".to_string()),
        patient_age_years: Some(60.0),
        texts: vec![ProcedureText::new(TextField::StudyDescription, text)],
        dap: Some(Dap::try_from_gy_cm2(dap_gy_cm2).unwrap()),
        ka_r: Some(AirKerma::try_from_mgy(dap_gy_cm2 * 10.0).unwrap()),
        fluoro_time: Some(Duration::from_secs(300)),
        acquisition_frames: Some(500),
        complete: true,
        ka_r_comparable: true,
        ..SurveyRecord::default()
    }
}

/// Coronary angiographies: 36 complete ones with P_KA 20..=55 Gy·cm² (31 in room A, 5 in
/// room B), fluoroscopy 5 + 0.1·i min, 500 + i images, K_a,r of every tenth at a
/// non-standard reference point, plus 2 incomplete ones in room A.
/// PCIs: 40 with P_KA 40 + 2i Gy·cm², alternating rooms A and B; the first also mentions the
/// preceding coronary angiography.
/// Plus: one unmatched study, one PCI+TAVI tie, one child, one study of 2023, one UFE above
/// the HAS skin-check level, one K_a,r above the Rush review level, and patient P-CUM with
/// two TACE of 300 Gy·cm² 51 days apart.
fn generated() -> Vec<SurveyRecord> {
    let mut v = Vec::new();
    for i in 0..36 {
        let room = if i < 31 { "room-A" } else { "room-B" };
        let mut r = record(
            &format!("ca{i:02}"),
            room,
            "Coronarographie",
            20.0 + i as f64,
        );
        r.fluoro_time = Some(Duration::from_secs(300 + 6 * i));
        r.acquisition_frames = Some(500 + i);
        r.ka_r_comparable = i % 10 != 0;
        v.push(r);
    }
    for i in 36..38 {
        let mut r = record(&format!("ca{i:02}"), "room-A", "CORONAROGRAPHIE", 1000.0);
        r.complete = false;
        v.push(r);
    }
    for i in 0..40 {
        let room = if i % 2 == 0 { "room-A" } else { "room-B" };
        let text = if i == 0 {
            "Coronarographie puis angioplastie coronaire"
        } else {
            "Angioplastie coronaire"
        };
        v.push(record(
            &format!("pci{i:02}"),
            room,
            text,
            40.0 + 2.0 * i as f64,
        ));
    }
    v.push(record("x-unmatched", "room-A", "Thorax face", 3.0));
    v.push(record("x-tie", "room-A", "PCI + TAVI", 90.0));
    let mut child = record("x-child", "room-A", "Coronarographie", 900.0);
    child.patient_age_years = Some(12.0);
    v.push(child);
    let mut old = record("x-2023", "room-A", "Coronarographie", 900.0);
    old.date = Some("20231231".to_string());
    v.push(old);
    v.push(record("x-ufe", "room-B", "Embolisation utérine", 520.0));
    let mut high_kar = record("x-kar", "room-B", "Embolisation utérine", 100.0);
    high_kar.ka_r = Some(AirKerma::try_from_gy(6.5).unwrap());
    v.push(high_kar);
    for (id, date) in [("cum-1", "20240110"), ("cum-2", "20240301")] {
        let mut r = record(id, "room-B", "Chimio-embolisation hépatique", 300.0);
        r.patient_id = Some("P-CUM".to_string());
        r.date = Some(date.to_string());
        r.ka_r = Some(AirKerma::try_from_mgy(1500.0).unwrap());
        v.push(r);
    }
    // same patient far apart: no cumulative window with two procedures
    for (id, date) in [("far-1", "20240101"), ("far-2", "20240601")] {
        let mut r = record(id, "room-B", "Chimio-embolisation hépatique", 300.0);
        r.patient_id = Some("P-FAR".to_string());
        r.date = Some(date.to_string());
        v.push(r);
    }
    v
}

fn config() -> SurveyConfig {
    let mut c = SurveyConfig::default();
    c.drl_sources = vec!["EU_EURADOS_SIISKONEN_2018".to_string()];
    c.year = Some(2024);
    c.adult_min_age_years = Some(18.0);
    c
}

fn run(config: SurveyConfig, records: Vec<SurveyRecord>) -> SurveyReport {
    let mut s = Survey::new(config).unwrap();
    s.extend(records);
    s.finish()
}

fn row<'a>(report: &'a SurveyReport, code: &str, room: Option<&str>, q: DrlQuantity) -> &'a DrlRow {
    report
        .drl
        .iter()
        .find(|r| r.procedure_code == code && r.room.as_deref() == room && r.quantity == q)
        .unwrap_or_else(|| panic!("no row {code} {room:?} {q}"))
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= 1e-9 * (1.0 + b.abs()))
}

#[test]
fn end_to_end_survey() {
    let mut records = generated();
    records.push(records[0].clone()); // a duplicate procedure
    let report = run(config(), records);

    // coronary angiography over both rooms: P_KA 20..=55, median 37.5 > DRL 35
    let ca = row(&report, "coronary_angiography", None, DrlQuantity::Pka);
    assert_eq!(ca.scope, GroupScope::AllRooms);
    assert_eq!(ca.n, 36);
    assert_eq!(ca.unit, "Gy.cm2");
    assert_eq!(ca.excluded_incomplete, 2);
    assert!(close(ca.median, 37.5) && close(ca.mean, 37.5));
    assert!(close(ca.q1, 28.75) && close(ca.q3, 46.25), "{ca:?}");
    assert!(close(ca.min, 20.0) && close(ca.max, 55.0));
    assert_eq!(
        ca.drl_source_id.as_deref(),
        Some("EU_EURADOS_SIISKONEN_2018")
    );
    assert_eq!(ca.drl_value, Some(35.0));
    assert!(close(ca.median_to_drl, 37.5 / 35.0));
    assert_eq!(ca.verdict, Verdict::Above);
    assert_eq!(ca.min_sample_size, 30);
    assert!(!ca.min_sample_size_verified);
    assert!(ca.quantile_method.contains("PERCENTILE.INC"));

    // room A: 20..=50, median 35 = DRL: not an exceedance (median > DRL is)
    let a = row(
        &report,
        "coronary_angiography",
        Some("room-A"),
        DrlQuantity::Pka,
    );
    assert_eq!((a.n, a.scope), (31, GroupScope::Room));
    assert!(close(a.median, 35.0));
    assert_eq!(a.verdict, Verdict::Below);
    // room B: 5 procedures, under the minimum sample size
    let b = row(
        &report,
        "coronary_angiography",
        Some("room-B"),
        DrlQuantity::Pka,
    );
    assert_eq!(b.n, 5);
    assert!(close(b.median, 53.0));
    assert_eq!(b.verdict, Verdict::InsufficientSample);

    // K_a,r: every tenth excluded (i = 0, 10, 20, 30), counted
    let kar = row(&report, "coronary_angiography", None, DrlQuantity::KaR);
    assert_eq!((kar.n, kar.excluded_ka_r_not_comparable), (32, 4));
    assert_eq!(kar.unit, "mGy");
    assert_eq!(kar.verdict, Verdict::NoReference);
    // fluoroscopy time in minutes, images as counts
    let ft = row(
        &report,
        "coronary_angiography",
        None,
        DrlQuantity::FluoroTime,
    );
    assert!(close(ft.median, 6.75) && ft.unit == "min", "{ft:?}");
    let im = row(&report, "coronary_angiography", None, DrlQuantity::Images);
    assert!(close(im.median, 517.5) && im.unit == "count");

    // PCI: 40..=118 step 2, median 79 < 85
    let pci = row(&report, "pci", None, DrlQuantity::Pka);
    assert_eq!(pci.n, 40);
    assert!(close(pci.median, 79.0));
    assert_eq!(pci.drl_value, Some(85.0));
    assert_eq!(pci.verdict, Verdict::Below);
    let pci_a = row(&report, "pci", Some("room-A"), DrlQuantity::Pka);
    assert!(close(pci_a.median, 78.0));
    assert_eq!(pci_a.verdict, Verdict::InsufficientSample);
    assert!(report.any_drl_exceeded());

    // exclusions counted, nothing dropped silently
    let x = &report.exclusions;
    assert_eq!(x.procedures_received, generated().len() + 1);
    assert_eq!(x.duplicates, 1);
    assert_eq!(x.procedures, generated().len());
    assert_eq!(
        (x.unmatched, x.ambiguous, x.not_adult, x.outside_period),
        (1, 1, 1, 1)
    );
    assert_eq!(x.incomplete, 2);
    assert_eq!(report.procedure_types.len(), generated().len());
    let unmatched: Vec<&str> = report
        .unmatched()
        .map(|p| p.procedure_id.as_str())
        .collect();
    assert_eq!(unmatched, ["x-unmatched"]);
    let p = report
        .procedure_types
        .iter()
        .find(|p| p.procedure_id == "x-unmatched")
        .unwrap();
    assert_eq!(p.study_description, "Thorax face");
    assert_eq!(p.exclusion, Some(Exclusion::Unmatched));
    let multi: Vec<(&str, MatchStatus)> = report
        .multiple_types()
        .map(|p| (p.procedure_id.as_str(), p.match_status))
        .collect();
    assert_eq!(
        multi,
        [
            ("pci00", MatchStatus::MultipleResolved),
            ("x-tie", MatchStatus::Ambiguous)
        ]
    );
    let pci00 = report
        .procedure_types
        .iter()
        .find(|p| p.procedure_id == "pci00")
        .unwrap();
    assert_eq!(pci00.procedure_code.as_deref(), Some("pci"));
    assert_eq!(pci00.matched_codes, "pci;coronary_angiography");
    assert_eq!(
        pci00.study_description,
        "Coronarographie puis angioplastie coronaire"
    );

    // per-procedure alerts: each level reached, with value, level and source
    let alerts = &report.alerts.procedures;
    let ufe = alerts.iter().find(|a| a.procedure_id == "x-ufe").unwrap();
    assert_eq!(ufe.source_id, "FR_HAS_2014_VIA_THEMA");
    assert_eq!((ufe.value, ufe.level, ufe.unit), (520.0, 500.0, "Gy.cm2"));
    let kar = alerts.iter().find(|a| a.procedure_id == "x-kar").unwrap();
    assert_eq!(kar.source_id, "US_RUSH_INSTITUTIONAL_2014");
    assert!((kar.value - 6500.0).abs() < 1e-9 && kar.level == 6000.0 && kar.unit == "mGy");
    // alerts cover every procedure, including those outside the DRL filters
    assert!(alerts.iter().any(|a| a.procedure_id == "x-child"));
    assert!(alerts.iter().any(|a| a.procedure_id == "ca36")); // incomplete, 1000 Gy·cm²
    assert!(!alerts.iter().any(|a| a.procedure_id.starts_with("cum")));
    assert!(
        report
            .alerts
            .not_evaluated
            .iter()
            .any(|s| s.starts_with("US_TJC_SENTINEL_2005"))
    );

    // proportions per group and level
    let prop = report
        .alerts
        .proportions
        .iter()
        .find(|p| {
            p.procedure_code == "pci"
                && p.room.is_none()
                && p.source_id == "EU_EURADOS_JARVINEN_2018"
        })
        .unwrap();
    assert_eq!(
        (prop.n, prop.n_at_or_above, prop.proportion),
        (40, 0, Some(0.0))
    );

    // cumulative: P-CUM crosses the HAS level over two TACE that are each below it
    assert_eq!(report.alerts.cumulative_window_days, 84);
    let cum = report
        .alerts
        .patient_cumulative
        .iter()
        .find(|c| c.patient_id == "P-CUM" && c.quantity == DrlQuantity::Pka)
        .unwrap();
    assert_eq!(cum.n_procedures, 2);
    assert_eq!(cum.procedure_ids, "cum-1;cum-2");
    assert!((cum.total - 600.0).abs() < 1e-9 && (cum.max_single - 300.0).abs() < 1e-9);
    assert!(
        cum.levels_reached_only_cumulatively
            .contains("FR_HAS_2014_VIA_THEMA")
    );
    assert_eq!(
        (
            cum.window_first_date.as_str(),
            cum.window_last_date.as_str()
        ),
        ("20240110", "20240301")
    );
    let cum_kar = report
        .alerts
        .patient_cumulative
        .iter()
        .find(|c| c.patient_id == "P-CUM" && c.quantity == DrlQuantity::KaR)
        .unwrap();
    assert!(cum_kar.caveat.contains("overestimates"));
    assert!(cum_kar.levels_reached.is_empty()); // 3000 mGy < 6000 mGy
    assert!(
        !report
            .alerts
            .patient_cumulative
            .iter()
            .any(|c| c.patient_id == "P-FAR")
    );

    // JSON: `drl` and `alerts` members; CSV: flat rows with a stable header
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["drl"].is_array() && json["alerts"]["procedures"].is_array());
    assert_eq!(json["drl"][0]["quantity"], "pka");
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in &report.drl {
        w.serialize(r).unwrap();
    }
    let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
    assert!(
        text.starts_with("procedure_code,scope,room,room_name,year,quantity,unit,n,"),
        "{text}"
    );
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in &report.alerts.procedures {
        w.serialize(r).unwrap();
    }
    for r in &report.alerts.patient_cumulative {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(r).unwrap();
    }
}

#[test]
fn jurisdiction_selects_most_recent_table_and_its_sample_size() {
    let mut c = config();
    c.drl_sources.clear();
    c.jurisdiction = Some("FR".to_string());
    let report = run(c, generated());
    // FR coronary angiography: RAY'ACT 2014 (the only FR table with this procedure)
    let ft = row(
        &report,
        "coronary_angiography",
        None,
        DrlQuantity::FluoroTime,
    );
    assert_eq!(ft.drl_source_id.as_deref(), Some("FR_RAYACT_GEORGES_2014"));
    assert!(close(ft.drl_value, 6.3)); // min, through a typed Duration
    assert_eq!(ft.verdict, Verdict::Above); // 6.75 min > 6.3 min
    assert_eq!(ft.min_sample_size, 10);
    assert!(!ft.min_sample_size_verified);
    let b = row(
        &report,
        "coronary_angiography",
        Some("room-B"),
        DrlQuantity::Pka,
    );
    assert_eq!(b.verdict, Verdict::InsufficientSample); // 5 < 10
    let pci_b = row(&report, "pci", Some("room-B"), DrlQuantity::Pka);
    assert_eq!(pci_b.verdict, Verdict::Below); // 20 >= 10; median 80 < 94.6
}

#[test]
fn no_selection_means_no_comparison_and_says_so() {
    let mut c = config();
    c.drl_sources.clear();
    let report = run(c, generated());
    assert!(report.drl.iter().all(|r| r.verdict == Verdict::NoReference));
    assert!(!report.notes.is_empty());
}

#[test]
fn a_local_table_replaces_the_comparison() {
    let mut c = config();
    c.tables
        .load_drl_csv(
            "chu-local.csv",
            "source_id,jurisdiction,year,procedure_code,population,quantity,unit,value,statistic\n\
             CHU_LOCAL_2025,FR,2025,pci,adult,pka,Gy.m2,0.007,p75_patients\n\
             CHU_LOCAL_2025,FR,2025,pci,adult,pka,Gy.cm2,60,guide_value\n"
                .as_bytes(),
        )
        .unwrap();
    c.drl_sources = vec![
        "CHU_LOCAL_2025".to_string(),
        "EU_EURADOS_SIISKONEN_2018".to_string(),
    ];
    let report = run(c, generated());
    let pci = row(&report, "pci", None, DrlQuantity::Pka);
    assert_eq!(pci.drl_source_id.as_deref(), Some("CHU_LOCAL_2025"));
    assert!(close(pci.drl_value, 70.0)); // 0.007 Gy·m² in Gy·cm²
    assert_eq!(pci.verdict, Verdict::Above); // 79 > 70
    assert_eq!(pci.guide_value, Some(60.0));
    assert_eq!(pci.guide_verdict, Verdict::Above);
    // falls back to the next source where the local table has no row
    let ca = row(&report, "coronary_angiography", None, DrlQuantity::Pka);
    assert_eq!(
        ca.drl_source_id.as_deref(),
        Some("EU_EURADOS_SIISKONEN_2018")
    );
    assert!(
        Survey::new({
            let mut c = config();
            c.drl_sources = vec!["NO_SUCH_SOURCE".into()];
            c
        })
        .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The report does not depend on the order of procedures, and a repeated procedure
    /// changes no statistic.
    #[test]
    fn order_and_duplicates_do_not_change_statistics(
        daps in prop::collection::vec((1.0f64..500.0, 0usize..3, any::<bool>()), 1..40),
        dup in any::<prop::sample::Index>(),
        rotate in any::<prop::sample::Index>(),
    ) {
        let texts = ["Coronarographie", "Angioplastie coronaire", "Vertébroplastie"];
        let records: Vec<SurveyRecord> = daps
            .iter()
            .enumerate()
            .map(|(i, (d, t, room))| {
                let room = if *room { "A" } else { "B" };
                let mut r = record(&format!("p{i}"), room, texts[*t], *d);
                r.patient_id = Some(format!("pat{}", i % 3));
                r.date = Some(format!("202403{:02}", 1 + i % 28));
                r
            })
            .collect();
        let base = run(config(), records.clone());
        let mut shuffled = records.clone();
        let k = rotate.index(shuffled.len());
        shuffled.rotate_left(k);
        shuffled.reverse();
        shuffled.push(records[dup.index(records.len())].clone());
        let other = run(config(), shuffled);
        prop_assert_eq!(&base.drl, &other.drl);
        prop_assert_eq!(&base.alerts, &other.alerts);
        prop_assert_eq!(&base.procedure_types, &other.procedure_types);
        prop_assert_eq!(other.exclusions.duplicates, 1);
        for r in &base.drl {
            if let (Some(lo), Some(m), Some(hi)) = (r.min, r.median, r.max) {
                prop_assert!(lo <= m && m <= hi);
            }
        }
    }
}

#[test]
fn one_patient_is_never_compared_with_a_drl() {
    let mut c = config();
    c.drl_sources.clear();
    c.jurisdiction = Some("FR".to_string());
    c.min_sample_sizes = vec![kerma::reference::MinSampleSize::new(
        None,
        None,
        1,
        "test: minimum of one",
        false,
    )];
    let report = run(c, vec![record("v1", "room-A", "Vertébroplastie", 500.0)]);
    let v = row(&report, "vertebroplasty", None, DrlQuantity::Pka);
    assert_eq!((v.n, v.drl_value), (1, Some(70.0)));
    assert_eq!(v.verdict, Verdict::InsufficientSample);
    assert!(!report.any_drl_exceeded());
}

// ---------------------------------------------------------------------------------------
// From DICOM files: grouping, survey records, survey

/// Groups the extractions of `files` (label, bytes) and surveys every procedure with the
/// bundled tables (all trigger levels, no DRL selected).
fn survey_files(files: Vec<(String, Vec<u8>)>) -> (ProcedureSet, SurveyReport) {
    let mut grouping = Procedures::new();
    for (label, bytes) in files {
        grouping.add(label, kerma::extract_bytes(&bytes));
    }
    let set = grouping.finish();
    let report = run(
        SurveyConfig::default(),
        set.procedures
            .iter()
            .map(SurveyRecord::from_procedure)
            .collect(),
    );
    (set, report)
}

/// The procedure id of the procedure holding the file `label`.
fn id_of(set: &ProcedureSet, label: &str) -> String {
    set.procedures
        .iter()
        .find(|p| p.files.iter().any(|f| f == label))
        .map(|p| p.id.clone())
        .unwrap_or_else(|| panic!("no procedure holds {label}"))
}

/// One exam stored twice under two anonymisations (every UID differs; same patient ID,
/// room, event times and doses), and a second exam of the patient five days later: the
/// cumulative sum counts the exam once.
#[test]
fn a_re_anonymised_copy_is_counted_once_in_cumulative_sums() {
    use fixtures::rdsr::RefPoint;
    let exam = |n: u32| {
        let mut r = fixtures::single_plane_report(n);
        r.header.patient_id = "PAT-COPY".into();
        r
    };
    let mut later = exam(903);
    later.header.study_date = "20260320".into();
    for e in &mut later.events {
        e.datetime = e
            .datetime
            .as_ref()
            .map(|d| d.replacen("20260315", "20260320", 1));
    }
    // the copy's reference point written as Philips does: the same point
    let mut copy = exam(902);
    for p in &mut copy.planes {
        p.ref_point = Some(RefPoint::Text("15cm below BeamIsocenter".into()));
    }
    let files = vec![
        ("a.dcm".to_string(), exam(901).to_bytes()),
        ("a-copy.dcm".to_string(), copy.to_bytes()),
        ("b.dcm".to_string(), later.to_bytes()),
    ];
    let (set, report) = survey_files(files);
    assert_eq!(set.procedures.len(), 3, "three studies, none merged");
    let (a, copy, b) = (
        id_of(&set, "a.dcm"),
        id_of(&set, "a-copy.dcm"),
        id_of(&set, "b.dcm"),
    );
    let by_id = |id: &str| set.procedures.iter().find(|p| p.id == id).unwrap();
    for id in [&a, &copy] {
        assert!(
            by_id(id)
                .warnings
                .iter()
                .any(|w| w.to_string().contains("re-anonymised copy")),
            "grouping flags {id}"
        );
        assert!(by_id(id).reference_point_standard, "{id}");
    }
    let records: Vec<SurveyRecord> = set
        .procedures
        .iter()
        .map(SurveyRecord::from_procedure)
        .collect();
    assert_eq!(
        records.iter().filter(|r| r.possible_copy).count(),
        2,
        "the flag reaches the survey records"
    );
    // single_plane_report: 63.2 Gy·cm², 34.9 mGy per exam
    let pka = report
        .alerts
        .patient_cumulative
        .iter()
        .find(|c| c.quantity == DrlQuantity::Pka)
        .expect("a P_KA sum for PAT-COPY");
    let (first, second) = if a < copy { (&a, &copy) } else { (&copy, &a) };
    assert_eq!(pka.procedure_ids, format!("{first};{b}"));
    assert!(close(Some(pka.total), 2.0 * 63.2), "{}", pka.total);
    let note = format!(
        "{second} left out: possibly a re-anonymised copy of {first} (same room, first event time and P_KA)"
    );
    assert_eq!(pka.notes, note);
    let kar = report
        .alerts
        .patient_cumulative
        .iter()
        .find(|c| c.quantity == DrlQuantity::KaR)
        .expect("a K_a,r sum for PAT-COPY");
    assert!(close(Some(kar.total), 2.0 * 34.9), "{}", kar.total);
    assert_eq!(kar.notes, note);
    assert!(
        report.alerts.notes.iter().any(|n| n
            == &format!(
                "patient PAT-COPY: {second} left out of the cumulative sums: possibly a re-anonymised copy of {first} (same room, first event time and P_KA)"
            )),
        "{:?}",
        report.alerts.notes
    );
}

/// The real corpus (`$KERMA_CORPUS`): the Philips textual reference point is the IEC one,
/// every procedure is listed as untyped with its texts, and the re-anonymised pair of
/// PAT-0555 (`pyskindose-github/S1.dcm` and `siemens_axiom_example_procedure.dcm`) is
/// counted once.
#[test]
fn real_corpus_survey() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let inputs = kerma::walk_inputs(&[&dir]);
    let mut files = Vec::new();
    for input in &inputs {
        if let Ok(bytes) = std::fs::read(&input.path) {
            files.push((input.path.display().to_string(), bytes));
        }
    }
    let (set, report) = survey_files(files);
    let proc_of = |suffix: &str| {
        set.procedures
            .iter()
            .find(|p| p.files.iter().any(|f| f.ends_with(suffix)))
            .unwrap_or_else(|| panic!("no procedure holds {suffix}"))
    };
    // reference points: Philips "15cm below BeamIsocenter" is the IRP; GE's "15cm in Front
    // of Image Input Surface" and code 113861 (30 cm in front of the image input surface)
    // are not
    for philips in [
        "RF-RDSR-Philips_Allura.dcm",
        "RF-Pat-Orientation-Modifier-Missing.dcm",
        "RF-RDSR-Philips_Azurion.dcm",
        "philips_allura_clarity_u104.dcm",
    ] {
        assert!(proc_of(philips).reference_point_standard, "{philips}");
    }
    for other in ["RF-RDSR-GE-OECEliteMiniView.dcm", "RF-RDSR-GE.dcm"] {
        assert!(!proc_of(other).reference_point_standard, "{other}");
    }
    // the Allura Xper procedure's K_a,r (7.69 Gy) reaches the 6 Gy review level: an alert
    // on a comparable K_a,r
    let xper = &proc_of("RF-Pat-Orientation-Modifier-Missing.dcm").id;
    let kar_alert = report
        .alerts
        .procedures
        .iter()
        .find(|a| &a.procedure_id == xper && a.quantity == DrlQuantity::KaR)
        .expect("a K_a,r alert");
    assert!(kar_alert.ka_r_comparable);

    // nothing in the corpus is a DRL procedure type that its wording tells: all untyped,
    // all listed
    assert_eq!(report.exclusions.unmatched, report.exclusions.procedures);
    let listed = |text: &str| {
        report
            .unmatched_descriptions
            .iter()
            .find(|u| u.text == text)
            .unwrap_or_else(|| panic!("{text} is not listed"))
    };
    assert_eq!(listed("Cardiac pacemaker temporary").n_procedures, 1);
    assert_eq!(listed("CR THORAX").match_status, MatchStatus::Unmatched);
    assert_eq!(
        listed("Gastrostomy Insertion").field,
        TextField::RequestedProcedureDescription
    );
    let counts: Vec<usize> = report
        .unmatched_descriptions
        .iter()
        .map(|u| u.n_procedures)
        .collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "most frequent first: {counts:?}"
    );

    // the re-anonymised pair
    let (p1, p2) = (
        proc_of("pyskindose-github/S1.dcm"),
        proc_of("siemens_axiom_example_procedure.dcm"),
    );
    assert_eq!(p1.patient_id.as_deref(), Some("PAT-0555"));
    assert_eq!(p1.patient_id, p2.patient_id);
    assert_ne!(p1.id, p2.id);
    assert!(
        report
            .alerts
            .patient_cumulative
            .iter()
            .all(|c| c.patient_id != "PAT-0555"),
        "one exam left: no cumulative sum"
    );
    let (first, second) = if p1.id < p2.id {
        (&p1.id, &p2.id)
    } else {
        (&p2.id, &p1.id)
    };
    assert!(
        report.alerts.notes.contains(&format!(
            "patient PAT-0555: {second} left out of the cumulative sums: possibly a re-anonymised copy of {first} (same room, first event time and P_KA)"
        )),
        "{:?}",
        report.alerts.notes
    );
}

#[test]
fn a_requested_procedure_code_types_an_image_only_procedure() {
    use fixtures::image::{HeaderDap, Image, ImageKind};
    use fixtures::writer::{self, Dataset, Opts};
    let code = |value: &str, scheme: &str, meaning: &str| {
        let mut d = Dataset::new();
        d.str((0x0008, 0x0100), "SH", value)
            .str((0x0008, 0x0102), "SH", scheme)
            .str((0x0008, 0x0104), "LO", meaning);
        d
    };
    // An XA image whose only hint of the procedure is its Requested Procedure Code Sequence
    // (0032,1064): SNOMED CT 415070008, percutaneous coronary intervention.
    let file = |n: u32, requested: Option<Dataset>| {
        let mut image = Image::new(ImageKind::Xa, n);
        image.dap = Some(HeaderDap::Ds("250".into()));
        let mut ds = image.to_dataset();
        if let Some(c) = requested {
            ds.seq((0x0032, 0x1064), vec![c]);
        }
        (
            format!("xa{n}.dcm"),
            writer::write_file(&ds, &Opts::explicit()),
        )
    };
    let (set, report) = survey_files(vec![
        file(
            71,
            Some(code(
                "415070008",
                "SCT",
                "Percutaneous coronary intervention",
            )),
        ),
        file(72, None),
    ]);
    let typed = |label: &str| {
        let id = id_of(&set, label);
        let row = report
            .procedure_types
            .iter()
            .find(|r| r.procedure_id == id)
            .expect("a typing row per procedure");
        (row.procedure_code.clone(), row.match_status)
    };
    assert_eq!(
        typed("xa71.dcm"),
        (Some("pci".to_owned()), MatchStatus::Matched)
    );
    assert_eq!(typed("xa72.dcm").0, None);
}

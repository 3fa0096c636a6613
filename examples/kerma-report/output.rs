//! The JSON document, the table and the CSV files.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use kerma::{Fate, FileAccount, FileEntry, ProcedureRow, SurveyReport, Verdict};
use serde::Serialize;

/// Everything the program reports; the JSON document of `--format json` and `report.json`.
#[derive(Serialize)]
pub struct Doc<'a> {
    pub files: &'a [FileEntry],
    pub procedures: &'a [ProcedureRow],
    pub accounting: &'a kerma::Accounting,
    pub drl: &'a [kerma::DrlRow],
    pub alerts: &'a kerma::AlertReport,
    pub procedure_types: &'a [kerma::ProcedureTypeRow],
    pub exclusions: &'a kerma::ExclusionCounts,
    pub survey_notes: &'a [String],
}

/// The outputs and what the program needs besides them.
pub struct Report<'a> {
    pub doc: Doc<'a>,
    pub survey: &'a SurveyReport,
    /// Fate of every input, by label (path).
    pub fates: HashMap<&'a str, &'a FileAccount>,
    pub alert_count: usize,
}

/// The code of a fate in tables and CSV.
pub fn fate_code(f: &Fate) -> &'static str {
    f.code()
}

/// The serde name of a unit enum variant (`above`, `all_rooms`, …).
pub fn code<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

pub fn write_json(mut out: impl Write, doc: &Doc) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, doc)?;
    writeln!(out)
}

fn num(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.prec$}"))
}

pub fn write_table(mut out: impl Write, r: &Report) -> io::Result<()> {
    let entries = r.doc.files;
    let row = |out: &mut dyn Write, cells: [&str; 8]| -> io::Result<()> {
        writeln!(
            out,
            "{:<48} {:<11} {:<14} {:>5} {:>12} {:>10} {:>9} {:>6}",
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7]
        )
    };
    row(
        &mut out,
        [
            "file",
            "outcome",
            "kind",
            "plane",
            "DAP Gy·cm²",
            "Ka,r mGy",
            "fluoro s",
            "events",
        ],
    )?;
    for e in entries {
        let name = shorten(&e.path, 48);
        let kind = e.kind.map_or("-", kerma::ObjectKind::as_str);
        let events = e.events.as_ref().map_or(0, Vec::len).to_string();
        match (&e.planes, &e.image) {
            (Some(planes), _) if !planes.is_empty() => {
                for p in planes {
                    row(
                        &mut out,
                        [
                            &name,
                            e.outcome.as_str(),
                            kind,
                            p.plane,
                            &num(p.dap_total_gy_cm2, 3),
                            &num(p.ka_r_total_mgy, 2),
                            &num(p.fluoro_time_s, 1),
                            &events,
                        ],
                    )?;
                }
            }
            (_, Some(img)) => row(
                &mut out,
                [
                    &name,
                    e.outcome.as_str(),
                    kind,
                    "-",
                    &num(img.dap_gy_cm2, 3),
                    &num(img.entrance_dose_mgy, 2),
                    &num(img.fluoro_time_s, 1),
                    "-",
                ],
            )?,
            _ => writeln!(
                out,
                "{:<48} {:<11} {:<14} {}",
                name,
                e.outcome.as_str(),
                kind,
                e.error.as_deref().unwrap_or("")
            )?,
        }
    }
    write_summary(out, r)
}

fn write_summary(mut out: impl Write, r: &Report) -> io::Result<()> {
    let a = r.doc.accounting;
    let s = r.survey;
    writeln!(out)?;
    writeln!(out, "Summary")?;
    writeln!(
        out,
        "  files: {} (in a procedure {}, duplicate {}, superseded {}, no dose {}, unsupported {}, error {})",
        a.files, a.in_procedure, a.duplicate, a.superseded, a.no_dose, a.unsupported, a.error
    )?;
    let x = &s.exclusions;
    writeln!(
        out,
        "  procedures: {} reported, {} in the survey, {} in DRL statistics (unmatched {}, ambiguous {}, incomplete {})",
        r.doc.procedures.len(),
        x.procedures,
        x.included,
        x.unmatched,
        x.ambiguous,
        x.incomplete
    )?;
    let count = |v: Verdict| s.drl.iter().filter(|d| d.verdict == v).count();
    writeln!(
        out,
        "  DRL comparisons: {} above, {} below, {} insufficient sample, {} without reference",
        count(Verdict::Above),
        count(Verdict::Below),
        count(Verdict::InsufficientSample),
        count(Verdict::NoReference)
    )?;
    for d in s.drl.iter().filter(|d| d.verdict == Verdict::Above) {
        writeln!(
            out,
            "    ABOVE {} {} {}: median {} > DRL {} {} ({}, n={})",
            d.procedure_code,
            d.room.as_deref().unwrap_or("all rooms"),
            d.quantity,
            num(d.median, 2),
            num(d.drl_value, 2),
            d.unit,
            d.drl_source_id.as_deref().unwrap_or("-"),
            d.n
        )?;
    }
    writeln!(
        out,
        "  alerts: {} (procedures at or above a trigger level {}, patients' cumulative sums {})",
        r.alert_count,
        s.alerts.procedures.len(),
        r.alert_count - s.alerts.procedures.len()
    )?;
    for n in &s.notes {
        writeln!(out, "  note: {n}")?;
    }
    Ok(())
}

fn shorten(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        s.to_owned()
    } else {
        let tail: String = s.chars().skip(count - (n - 1)).collect();
        format!("…{tail}")
    }
}

// ---------------------------------------------------------------------------------------
// CSV

type CsvResult = Result<(), Box<dyn std::error::Error>>;

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(String::new, ToString::to_string)
}

fn join<T, F: Fn(&T) -> String>(v: &[T], f: F) -> String {
    v.iter().map(f).collect::<Vec<_>>().join(";")
}

fn writer(dir: &Path, name: &str) -> Result<csv::Writer<std::fs::File>, csv::Error> {
    csv::Writer::from_path(dir.join(name))
}

/// Writes the CSV files into `dir`.
pub fn write_csvs(dir: &Path, r: &Report) -> CsvResult {
    write_files_csv(dir, r)?;
    write_procedures_csv(dir, r)?;
    write_events_csv(dir, r)?;
    let mut w = writer(dir, "drl.csv")?;
    rows_or_header(&mut w, &r.survey.drl, DRL_HEADER)?;
    let mut w = writer(dir, "alerts.csv")?;
    rows_or_header(&mut w, &r.survey.alerts.procedures, ALERT_HEADER)?;
    let mut w = writer(dir, "cumulative.csv")?;
    rows_or_header(
        &mut w,
        &r.survey.alerts.patient_cumulative,
        CUMULATIVE_HEADER,
    )?;
    Ok(())
}

// Headers written when there is no row (serde writes the header with the first row).
const DRL_HEADER: &[&str] = &[
    "procedure_code",
    "scope",
    "room",
    "year",
    "quantity",
    "unit",
    "n",
    "excluded_incomplete",
    "excluded_ka_r_not_comparable",
    "missing_value",
    "median",
    "mean",
    "q1",
    "q3",
    "min",
    "max",
    "quantile_method",
    "min_sample_size",
    "min_sample_size_basis",
    "min_sample_size_verified",
    "drl_source_id",
    "drl_jurisdiction",
    "drl_year",
    "drl_population",
    "drl_statistic",
    "drl_value",
    "median_to_drl",
    "verdict",
    "guide_source_id",
    "guide_value",
    "median_to_guide",
    "guide_verdict",
];
const ALERT_HEADER: &[&str] = &[
    "procedure_id",
    "patient_id",
    "room",
    "date",
    "procedure_code",
    "quantity",
    "unit",
    "value",
    "level",
    "level_procedure_code",
    "source_id",
    "jurisdiction",
    "action",
    "complete",
    "ka_r_comparable",
];
const CUMULATIVE_HEADER: &[&str] = &[
    "patient_id",
    "quantity",
    "unit",
    "window_days",
    "window_first_date",
    "window_last_date",
    "n_procedures",
    "total",
    "max_single",
    "procedure_ids",
    "levels_reached",
    "levels_reached_only_cumulatively",
    "includes_incomplete",
    "includes_ka_r_not_comparable",
    "caveat",
];

fn rows_or_header<T: Serialize>(
    w: &mut csv::Writer<std::fs::File>,
    rows: &[T],
    header: &[&str],
) -> CsvResult {
    if rows.is_empty() {
        w.write_record(header)?;
    }
    for row in rows {
        w.serialize(row)?;
    }
    w.flush()?;
    Ok(())
}

fn write_files_csv(dir: &Path, r: &Report) -> CsvResult {
    let mut w = writer(dir, "files.csv")?;
    w.write_record([
        "path",
        "outcome",
        "fate",
        "kind",
        "error",
        "sop_class_uid",
        "sop_instance_uid",
        "patient_id",
        "study_instance_uid",
        "accession_number",
        "study_date",
        "manufacturer",
        "model",
        "station_name",
        "source",
        "fluoroscopy_system",
        "planes",
        "dap_total_gy_cm2",
        "ka_r_total_mgy",
        "fluoro_time_s",
        "acquisition_frames",
        "event_count",
        "image_frames",
        "image_dap_gy_cm2",
        "image_entrance_dose_mgy",
        "image_fluoro_time_s",
        "bytes_read",
        "procedure",
        "duplicate_of",
        "superseded_by",
        "warnings",
    ])?;
    for e in r.doc.files {
        let fate = r
            .fates
            .get(e.path.as_str())
            .map_or("", |a| fate_code(&a.fate));
        let planes = e.planes.as_deref().unwrap_or(&[]);
        let img = e.image.as_ref();
        w.write_record([
            e.path.clone(),
            e.outcome.as_str().to_owned(),
            fate.to_owned(),
            e.kind.map_or("", kerma::ObjectKind::as_str).to_owned(),
            opt(&e.error),
            opt(&e.sop_class_uid),
            opt(&e.sop_instance_uid),
            opt(&e.patient_id),
            opt(&e.study_instance_uid),
            opt(&e.accession_number),
            opt(&e.study_date),
            opt(&e.manufacturer),
            opt(&e.model),
            opt(&e.station_name),
            e.source.as_ref().map(code).unwrap_or_default(),
            opt(&e.fluoroscopy_system),
            join(planes, |p| p.plane.to_owned()),
            join(planes, |p| opt(&p.dap_total_gy_cm2)),
            join(planes, |p| opt(&p.ka_r_total_mgy)),
            join(planes, |p| opt(&p.fluoro_time_s)),
            join(planes, |p| opt(&p.acquisition_frames)),
            e.events
                .as_ref()
                .map(|v| v.len().to_string())
                .unwrap_or_default(),
            img.map(|i| opt(&i.frames)).unwrap_or_default(),
            img.map(|i| opt(&i.dap_gy_cm2)).unwrap_or_default(),
            img.map(|i| opt(&i.entrance_dose_mgy)).unwrap_or_default(),
            img.map(|i| opt(&i.fluoro_time_s)).unwrap_or_default(),
            opt(&e.bytes_read),
            opt(&e.procedure),
            opt(&e.duplicate_of),
            opt(&e.superseded_by),
            e.warnings.join(";"),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn write_procedures_csv(dir: &Path, r: &Report) -> CsvResult {
    let types: HashMap<&str, &kerma::ProcedureTypeRow> = r
        .survey
        .procedure_types
        .iter()
        .map(|t| (t.procedure_id.as_str(), t))
        .collect();
    let mut w = writer(dir, "procedures.csv")?;
    w.write_record([
        "id",
        "patient_id",
        "study_instance_uid",
        "accession_number",
        "study_date",
        "device",
        "study_description",
        "procedure_code",
        "match_status",
        "planes",
        "plane_dap_gy_cm2",
        "plane_ka_r_mgy",
        "dap_total_gy_cm2",
        "ka_r_total_mgy",
        "fluoro_time_s",
        "acquisition_frames",
        "event_count",
        "fluoro_events",
        "acquisition_events",
        "image_only_events",
        "source",
        "complete",
        "completeness",
        "reference_point_standard",
        "max_total_vs_event_sum",
        "files",
        "warnings",
    ])?;
    for p in r.doc.procedures {
        let t = types.get(p.id.as_str());
        w.write_record([
            p.id.clone(),
            opt(&p.patient_id),
            opt(&p.study_instance_uid),
            opt(&p.accession_number),
            opt(&p.study_date),
            p.device.clone(),
            opt(&p.study_description),
            t.and_then(|t| t.procedure_code.clone()).unwrap_or_default(),
            t.map(|t| code(&t.match_status)).unwrap_or_default(),
            join(&p.planes, |x| x.plane.to_owned()),
            join(&p.planes, |x| opt(&x.dap_gy_cm2)),
            join(&p.planes, |x| opt(&x.ka_r_mgy)),
            opt(&p.dap_total_gy_cm2),
            opt(&p.ka_r_total_mgy),
            opt(&p.fluoro_time_s),
            opt(&p.acquisition_frames),
            p.event_count.to_string(),
            p.fluoro_events.to_string(),
            p.acquisition_events.to_string(),
            p.image_only_events.to_string(),
            code(&p.source),
            p.complete.to_string(),
            code(&p.completeness),
            p.reference_point_standard.to_string(),
            opt(&p.max_total_vs_event_sum),
            p.files.join(";"),
            p.warnings.join(";"),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn write_events_csv(dir: &Path, r: &Report) -> CsvResult {
    let mut w = writer(dir, "events.csv")?;
    w.write_record([
        "path",
        "procedure",
        "uid",
        "category",
        "plane",
        "dap_gy_cm2",
        "ka_r_mgy",
        "duration_s",
        "started",
        "protocol",
        "kvp_kv",
        "tube_current_ma",
        "pulses",
    ])?;
    for e in r.doc.files {
        for ev in e.events.as_deref().unwrap_or(&[]) {
            w.write_record([
                e.path.clone(),
                opt(&e.procedure),
                opt(&ev.uid),
                code(&ev.category),
                opt(&ev.plane),
                opt(&ev.dap_gy_cm2),
                opt(&ev.ka_r_mgy),
                opt(&ev.duration_s),
                opt(&ev.started),
                opt(&ev.protocol),
                opt(&ev.kvp),
                opt(&ev.tube_current_ma),
                opt(&ev.pulses),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

//! The CSV files of `--out`: one row struct per file, whose field names are the columns.
//!
//! `csv::Writer::serialize` writes the header from the first row's field names; a file
//! without rows gets the header of the struct's `Default` value, so a column and its header
//! cannot part.

use std::collections::HashMap;
use std::path::Path;

use kerma::reference::{AlertRow, DrlRow, PatientCumulativeRow};
use kerma::report::{EventRow, FileEntry, ProcedureRow};
use serde::{Serialize, Serializer};

use crate::output::{Report, code, error, kind, outcome};

type CsvResult = Result<(), Box<dyn std::error::Error>>;

/// Writes the CSV files into `dir`.
pub fn write_csvs(dir: &Path, r: &Report) -> CsvResult {
    write_rows(
        dir,
        "files.csv",
        r.doc.files.iter().map(|e| FileCsv::new(e, r)),
    )?;
    let types: HashMap<&str, &kerma::reference::ProcedureTypeRow> = r
        .survey
        .procedure_types
        .iter()
        .map(|t| (t.procedure_id.as_str(), t))
        .collect();
    let procedures = r.doc.procedures.iter().map(|p| {
        let t = types.get(p.id.as_str()).copied();
        ProcedureCsv::new(p, t)
    });
    write_rows(dir, "procedures.csv", procedures)?;
    let events = r.doc.files.iter().flat_map(|e| {
        let events = e.events.as_deref().unwrap_or(&[]);
        events.iter().map(move |ev| EventCsv::new(e, ev))
    });
    write_rows(dir, "events.csv", events)?;
    write_rows(dir, "drl.csv", r.survey.drl.iter().map(DrlCsv::new))?;
    let alerts = &r.survey.alerts;
    write_rows(
        dir,
        "alerts.csv",
        alerts.procedures.iter().map(AlertCsv::new),
    )?;
    let cumulative = alerts.patient_cumulative.iter().map(CumulativeCsv::new);
    write_rows(dir, "cumulative.csv", cumulative)?;
    Ok(())
}

/// Writes `rows` into `dir/name` under the header of `T`, also when there is no row.
fn write_rows<T: Serialize + Default>(
    dir: &Path,
    name: &str,
    rows: impl IntoIterator<Item = T>,
) -> CsvResult {
    let mut w = csv::Writer::from_path(dir.join(name))?;
    let mut empty = true;
    for row in rows {
        w.serialize(row)?;
        empty = false;
    }
    if empty {
        w.write_record(&header(&T::default())?)?;
    }
    w.flush()?;
    Ok(())
}

/// The header `csv::Writer::serialize` writes before `row`.
fn header<T: Serialize>(row: &T) -> Result<csv::StringRecord, Box<dyn std::error::Error>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(row)?;
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(csv::Reader::from_reader(bytes.as_slice())
        .headers()?
        .clone())
}

/// Writes a number as Rust's `Display` prints it (`1`, `0.1`, `0.0000001`), the format of the
/// numbers of files.csv, procedures.csv and events.csv; csv's own float format would write
/// `1.0` and `1e-7`.
fn shown<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(String::new, ToString::to_string)
}

/// The values of a list, separated by `;`.
fn join<T, F: Fn(&T) -> String>(v: &[T], f: F) -> String {
    v.iter().map(f).collect::<Vec<_>>().join(";")
}

/// One row of files.csv: one input file. Per-plane columns hold one value per plane,
/// separated by `;`.
#[derive(Serialize, Default)]
struct FileCsv<'a> {
    path: &'a str,
    outcome: &'static str,
    fate: &'a str,
    kind: Option<&'static str>,
    error: Option<&'a str>,
    sop_class_uid: Option<&'a str>,
    sop_instance_uid: Option<&'a str>,
    patient_id: Option<&'a str>,
    study_instance_uid: Option<&'a str>,
    accession_number: Option<&'a str>,
    study_date: Option<&'a str>,
    manufacturer: Option<&'a str>,
    model: Option<&'a str>,
    station_name: Option<&'a str>,
    source: Option<String>,
    fluoroscopy_system: Option<bool>,
    planes: String,
    dap_total_gy_cm2: String,
    ka_r_total_mgy: String,
    fluoro_time_s: String,
    acquisition_frames: String,
    event_count: Option<usize>,
    image_frames: Option<u32>,
    #[serde(serialize_with = "shown")]
    image_dap_gy_cm2: Option<f64>,
    #[serde(serialize_with = "shown")]
    image_entrance_dose_mgy: Option<f64>,
    #[serde(serialize_with = "shown")]
    image_fluoro_time_s: Option<f64>,
    bytes_read: Option<u64>,
    procedure: Option<&'a str>,
    duplicate_of: Option<&'a str>,
    superseded_by: Option<&'a str>,
    warnings: String,
}

impl<'a> FileCsv<'a> {
    fn new(e: &'a FileEntry, r: &'a Report) -> FileCsv<'a> {
        let planes = e.planes.as_deref().unwrap_or(&[]);
        let img = e.image.as_ref();
        FileCsv {
            path: &e.path,
            outcome: outcome(e),
            fate: r.fates.get(e.path.as_str()).map_or("", |a| a.fate.code()),
            kind: kind(e),
            error: error(e),
            sop_class_uid: e.sop_class_uid.as_deref(),
            sop_instance_uid: e.sop_instance_uid.as_deref(),
            patient_id: e.patient_id.as_deref(),
            study_instance_uid: e.study_instance_uid.as_deref(),
            accession_number: e.accession_number.as_deref(),
            study_date: e.study_date.as_deref(),
            manufacturer: e.manufacturer.as_deref(),
            model: e.model.as_deref(),
            station_name: e.station_name.as_deref(),
            source: e.source.as_ref().map(code),
            fluoroscopy_system: e.fluoroscopy_system,
            planes: join(planes, |p| p.plane.to_owned()),
            dap_total_gy_cm2: join(planes, |p| opt(&p.dap_total_gy_cm2)),
            ka_r_total_mgy: join(planes, |p| opt(&p.ka_r_total_mgy)),
            fluoro_time_s: join(planes, |p| opt(&p.fluoro_time_s)),
            acquisition_frames: join(planes, |p| opt(&p.acquisition_frames)),
            event_count: e.events.as_ref().map(Vec::len),
            image_frames: img.and_then(|i| i.frames),
            image_dap_gy_cm2: img.and_then(|i| i.dap_gy_cm2),
            image_entrance_dose_mgy: img.and_then(|i| i.entrance_dose_mgy),
            image_fluoro_time_s: img.and_then(|i| i.fluoro_time_s),
            bytes_read: e.bytes_read,
            procedure: e.procedure.as_deref(),
            duplicate_of: e.duplicate_of.as_deref(),
            superseded_by: e.superseded_by.as_deref(),
            warnings: e.warnings.join(";"),
        }
    }
}

/// One row of procedures.csv: one procedure with its assigned type. Per-plane columns hold
/// one value per plane, separated by `;`.
#[derive(Serialize, Default)]
struct ProcedureCsv<'a> {
    id: &'a str,
    patient_id: Option<&'a str>,
    study_instance_uid: Option<&'a str>,
    accession_number: Option<&'a str>,
    study_date: Option<&'a str>,
    device: &'a str,
    room: &'a str,
    room_key: &'a str,
    study_description: Option<&'a str>,
    procedure_code: Option<&'a str>,
    match_status: Option<String>,
    planes: String,
    plane_dap_gy_cm2: String,
    plane_ka_r_mgy: String,
    #[serde(serialize_with = "shown")]
    dap_total_gy_cm2: Option<f64>,
    #[serde(serialize_with = "shown")]
    ka_r_total_mgy: Option<f64>,
    #[serde(serialize_with = "shown")]
    fluoro_time_s: Option<f64>,
    acquisition_frames: Option<u64>,
    event_count: usize,
    fluoro_events: usize,
    acquisition_events: usize,
    image_only_events: usize,
    source: String,
    complete: bool,
    completeness: String,
    reference_point_standard: bool,
    #[serde(serialize_with = "shown")]
    max_total_vs_event_sum: Option<f64>,
    files: String,
    warnings: String,
}

impl<'a> ProcedureCsv<'a> {
    fn new(
        p: &'a ProcedureRow,
        t: Option<&'a kerma::reference::ProcedureTypeRow>,
    ) -> ProcedureCsv<'a> {
        ProcedureCsv {
            id: &p.id,
            patient_id: p.patient_id.as_deref(),
            study_instance_uid: p.study_instance_uid.as_deref(),
            accession_number: p.accession_number.as_deref(),
            study_date: p.study_date.as_deref(),
            device: &p.device,
            room: &p.room,
            room_key: &p.room_key,
            study_description: p.study_description.as_deref(),
            procedure_code: t.and_then(|t| t.procedure_code.as_deref()),
            match_status: t.map(|t| code(&t.match_status)),
            planes: join(&p.planes, |x| x.plane.to_owned()),
            plane_dap_gy_cm2: join(&p.planes, |x| opt(&x.dap_gy_cm2)),
            plane_ka_r_mgy: join(&p.planes, |x| opt(&x.ka_r_mgy)),
            dap_total_gy_cm2: p.dap_total_gy_cm2,
            ka_r_total_mgy: p.ka_r_total_mgy,
            fluoro_time_s: p.fluoro_time_s,
            acquisition_frames: p.acquisition_frames,
            event_count: p.event_count,
            fluoro_events: p.fluoro_events,
            acquisition_events: p.acquisition_events,
            image_only_events: p.image_only_events,
            source: code(&p.source),
            complete: p.complete,
            completeness: code(&p.completeness),
            reference_point_standard: p.reference_point_standard,
            max_total_vs_event_sum: p.max_total_vs_event_sum,
            files: p.files.join(";"),
            warnings: p.warnings.join(";"),
        }
    }
}

/// One row of events.csv: one irradiation event of one file.
#[derive(Serialize, Default)]
struct EventCsv<'a> {
    path: &'a str,
    procedure: Option<&'a str>,
    uid: Option<&'a str>,
    category: String,
    plane: Option<&'a str>,
    #[serde(serialize_with = "shown")]
    dap_gy_cm2: Option<f64>,
    #[serde(serialize_with = "shown")]
    ka_r_mgy: Option<f64>,
    #[serde(serialize_with = "shown")]
    duration_s: Option<f64>,
    started: Option<&'a str>,
    protocol: Option<&'a str>,
    #[serde(serialize_with = "shown")]
    kvp_kv: Option<f64>,
    #[serde(serialize_with = "shown")]
    tube_current_ma: Option<f64>,
    #[serde(serialize_with = "shown")]
    pulses: Option<f64>,
}

impl<'a> EventCsv<'a> {
    fn new(e: &'a FileEntry, ev: &'a EventRow) -> EventCsv<'a> {
        EventCsv {
            path: &e.path,
            procedure: e.procedure.as_deref(),
            uid: ev.uid.as_deref(),
            category: code(&ev.category),
            plane: ev.plane,
            dap_gy_cm2: ev.dap_gy_cm2,
            ka_r_mgy: ev.ka_r_mgy,
            duration_s: ev.duration_s,
            started: ev.started.as_deref(),
            protocol: ev.protocol.as_deref(),
            kvp_kv: ev.kvp,
            tube_current_ma: ev.tube_current_ma,
            pulses: ev.pulses,
        }
    }
}

/// One row of drl.csv: the fields of [`DrlRow`] (the `drl` section of the JSON document).
#[derive(Serialize, Default)]
struct DrlCsv<'a> {
    procedure_code: &'a str,
    scope: String,
    room: Option<&'a str>,
    room_name: Option<&'a str>,
    year: Option<i32>,
    quantity: String,
    unit: &'a str,
    n: usize,
    excluded_incomplete: usize,
    excluded_ka_r_not_comparable: usize,
    missing_value: usize,
    median: Option<f64>,
    mean: Option<f64>,
    q1: Option<f64>,
    q3: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    quantile_method: &'a str,
    min_sample_size: usize,
    min_sample_size_basis: &'a str,
    min_sample_size_verified: bool,
    drl_source_id: Option<&'a str>,
    drl_jurisdiction: Option<&'a str>,
    drl_year: Option<i32>,
    drl_population: Option<&'a str>,
    drl_statistic: Option<&'a str>,
    drl_value: Option<f64>,
    median_to_drl: Option<f64>,
    verdict: String,
    guide_source_id: Option<&'a str>,
    guide_value: Option<f64>,
    median_to_guide: Option<f64>,
    guide_verdict: String,
}

impl<'a> DrlCsv<'a> {
    fn new(d: &'a DrlRow) -> DrlCsv<'a> {
        DrlCsv {
            procedure_code: &d.procedure_code,
            scope: code(&d.scope),
            room: d.room.as_deref(),
            room_name: d.room_name.as_deref(),
            year: d.year,
            quantity: code(&d.quantity),
            unit: d.unit,
            n: d.n,
            excluded_incomplete: d.excluded_incomplete,
            excluded_ka_r_not_comparable: d.excluded_ka_r_not_comparable,
            missing_value: d.missing_value,
            median: d.median,
            mean: d.mean,
            q1: d.q1,
            q3: d.q3,
            min: d.min,
            max: d.max,
            quantile_method: d.quantile_method,
            min_sample_size: d.min_sample_size,
            min_sample_size_basis: &d.min_sample_size_basis,
            min_sample_size_verified: d.min_sample_size_verified,
            drl_source_id: d.drl_source_id.as_deref(),
            drl_jurisdiction: d.drl_jurisdiction.as_deref(),
            drl_year: d.drl_year,
            drl_population: d.drl_population.as_deref(),
            drl_statistic: d.drl_statistic.as_deref(),
            drl_value: d.drl_value,
            median_to_drl: d.median_to_drl,
            verdict: code(&d.verdict),
            guide_source_id: d.guide_source_id.as_deref(),
            guide_value: d.guide_value,
            median_to_guide: d.median_to_guide,
            guide_verdict: code(&d.guide_verdict),
        }
    }
}

/// One row of alerts.csv: the fields of [`AlertRow`] (`alerts.procedures` in the JSON
/// document).
#[derive(Serialize, Default)]
struct AlertCsv<'a> {
    procedure_id: &'a str,
    patient_id: Option<&'a str>,
    room: &'a str,
    room_name: &'a str,
    date: Option<&'a str>,
    procedure_code: Option<&'a str>,
    quantity: String,
    unit: &'a str,
    value: f64,
    level: f64,
    level_procedure_code: Option<&'a str>,
    source_id: &'a str,
    jurisdiction: &'a str,
    action: &'a str,
    complete: bool,
    ka_r_comparable: bool,
}

impl<'a> AlertCsv<'a> {
    fn new(a: &'a AlertRow) -> AlertCsv<'a> {
        AlertCsv {
            procedure_id: &a.procedure_id,
            patient_id: a.patient_id.as_deref(),
            room: &a.room,
            room_name: &a.room_name,
            date: a.date.as_deref(),
            procedure_code: a.procedure_code.as_deref(),
            quantity: code(&a.quantity),
            unit: a.unit,
            value: a.value,
            level: a.level,
            level_procedure_code: a.level_procedure_code.as_deref(),
            source_id: &a.source_id,
            jurisdiction: &a.jurisdiction,
            action: &a.action,
            complete: a.complete,
            ka_r_comparable: a.ka_r_comparable,
        }
    }
}

/// One row of cumulative.csv: the fields of [`PatientCumulativeRow`]
/// (`alerts.patient_cumulative` in the JSON document).
#[derive(Serialize, Default)]
struct CumulativeCsv<'a> {
    patient_id: &'a str,
    quantity: String,
    unit: &'a str,
    window_days: u64,
    window_first_date: &'a str,
    window_last_date: &'a str,
    n_procedures: usize,
    total: f64,
    max_single: f64,
    procedure_ids: &'a str,
    levels_reached: &'a str,
    levels_reached_only_cumulatively: &'a str,
    includes_incomplete: bool,
    includes_ka_r_not_comparable: bool,
    caveat: &'a str,
}

impl<'a> CumulativeCsv<'a> {
    fn new(c: &'a PatientCumulativeRow) -> CumulativeCsv<'a> {
        CumulativeCsv {
            patient_id: &c.patient_id,
            quantity: code(&c.quantity),
            unit: c.unit,
            window_days: c.window_days,
            window_first_date: &c.window_first_date,
            window_last_date: &c.window_last_date,
            n_procedures: c.n_procedures,
            total: c.total,
            max_single: c.max_single,
            procedure_ids: &c.procedure_ids,
            levels_reached: &c.levels_reached,
            levels_reached_only_cumulatively: &c.levels_reached_only_cumulatively,
            includes_incomplete: c.includes_incomplete,
            includes_ka_r_not_comparable: c.includes_ka_r_not_comparable,
            caveat: c.caveat,
        }
    }
}

//! The CSV files of `--out`: one row struct per file, whose field names are the columns.
//!
//! `csv::Writer::serialize` writes the header from the first row's field names; a file
//! without rows gets the header of the struct's `Default` value, so a column and its header
//! cannot part.
//!
//! The files are for spreadsheets: dates and date-times in ISO 8601, numbers rounded to 6
//! significant digits and written with the digits they carry ([`Num`]), times in seconds
//! (a `min` row of the survey is converted), warnings counted once, and every text cell that
//! a spreadsheet would run as a formula neutralised ([`Text`]). With `--excel`: a byte-order
//! mark, `;` between cells and `,` before decimals.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use kerma::reference::{AlertRow, DrlRow, PatientCumulativeRow};
use kerma::report::{EventRow, FileEntry, ProcedureRow};
use serde::{Serialize, Serializer};

use crate::labels::{counted, iso_date, iso_datetime, significant};
use crate::output::{Report, code, error, kind, outcome};

type CsvResult = Result<(), Box<dyn std::error::Error>>;

/// How the CSV files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `,` between cells, `.` before decimals, no byte-order mark.
    Plain,
    /// For a spreadsheet in a comma-decimal locale: byte-order mark, `;` and `,`.
    Excel,
}

thread_local! {
    /// The decimal separator of the CSV file being written.
    static DECIMAL_COMMA: Cell<bool> = const { Cell::new(false) };
}

/// Digits of every number written to a CSV file.
const CSV_DIGITS: usize = 6;

/// Writes the CSV files into `dir`.
pub fn write_csvs(dir: &Path, r: &Report, dialect: Dialect) -> CsvResult {
    DECIMAL_COMMA.with(|c| c.set(dialect == Dialect::Excel));
    let written = write_all(dir, r, dialect);
    DECIMAL_COMMA.with(|c| c.set(false));
    written
}

fn write_all(dir: &Path, r: &Report, dialect: Dialect) -> CsvResult {
    let w = |name: &'static str| Out { dir, name, dialect };
    w("files.csv").rows(r.doc.files.iter().map(|e| FileCsv::new(e, r)))?;
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
    w("procedures.csv").rows(procedures)?;
    let events = r.doc.files.iter().flat_map(|e| {
        let events = e.events.as_deref().unwrap_or(&[]);
        events.iter().map(move |ev| EventCsv::new(e, ev))
    });
    w("events.csv").rows(events)?;
    w("drl.csv").rows(r.survey.drl.iter().map(DrlCsv::new))?;
    let alerts = &r.survey.alerts;
    w("alerts.csv").rows(alerts.procedures.iter().map(AlertCsv::new))?;
    w("cumulative.csv").rows(alerts.patient_cumulative.iter().map(CumulativeCsv::new))?;
    Ok(())
}

/// One CSV file to write.
struct Out<'a> {
    dir: &'a Path,
    name: &'a str,
    dialect: Dialect,
}

impl Out<'_> {
    /// Writes `rows` under the header of `T`, also when there is no row.
    fn rows<T: Serialize + Default>(&self, rows: impl IntoIterator<Item = T>) -> CsvResult {
        let mut file = std::io::BufWriter::new(std::fs::File::create(self.dir.join(self.name))?);
        if self.dialect == Dialect::Excel {
            file.write_all("\u{feff}".as_bytes())?;
        }
        let mut w = self.builder().from_writer(file);
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

    fn builder(&self) -> csv::WriterBuilder {
        let mut b = csv::WriterBuilder::new();
        if self.dialect == Dialect::Excel {
            b.delimiter(b';');
        }
        b
    }
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

/// A number: rounded to 6 significant digits and written as the shortest decimal that reads
/// back as that value, without an exponent (`48`, not `47.99999999999999`); empty when absent.
#[derive(Debug, Clone, Copy, Default)]
struct Num(Option<f64>);

/// A number as a CSV cell.
fn num_text(v: f64) -> String {
    let s = significant(v, CSV_DIGITS);
    if DECIMAL_COMMA.with(Cell::get) {
        s.replace('.', ",")
    } else {
        s
    }
}

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(v) => s.serialize_str(&num_text(v)),
            None => s.serialize_none(),
        }
    }
}

impl From<f64> for Num {
    fn from(v: f64) -> Num {
        Num(Some(v))
    }
}

impl From<Option<f64>> for Num {
    fn from(v: Option<f64>) -> Num {
        Num(v)
    }
}

/// Text that comes from a file (or a file name): a cell starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return gets a leading `'`, so that a spreadsheet shows it instead of
/// running it as a formula (OWASP, CSV injection).
#[derive(Debug, Clone, Default)]
struct Text<'a>(Option<Cow<'a, str>>);

/// Whether a spreadsheet may read a cell starting with `c` as a formula.
fn formula_start(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(t) if t.starts_with(formula_start) => s.serialize_str(&format!("'{t}")),
            Some(t) => s.serialize_str(t),
            None => s.serialize_none(),
        }
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(t: &'a str) -> Text<'a> {
        Text(Some(Cow::Borrowed(t)))
    }
}

impl From<String> for Text<'_> {
    fn from(t: String) -> Self {
        Text(Some(Cow::Owned(t)))
    }
}

impl<'a> From<Option<&'a str>> for Text<'a> {
    fn from(t: Option<&'a str>) -> Text<'a> {
        Text(t.map(Cow::Borrowed))
    }
}

impl<'a> From<Cow<'a, str>> for Text<'a> {
    fn from(t: Cow<'a, str>) -> Text<'a> {
        Text(Some(t))
    }
}

/// A date (DA) in ISO 8601.
fn date(d: Option<&str>) -> Text<'_> {
    Text(d.map(iso_date))
}

/// The values of a list, separated by `;`.
fn join<T, F: Fn(&T) -> String>(v: &[T], f: F) -> String {
    v.iter().map(f).collect::<Vec<_>>().join(";")
}

fn opt_num(v: &Option<f64>) -> String {
    v.map_or_else(String::new, num_text)
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(String::new, ToString::to_string)
}

/// Warnings, each once with its count, separated by `;`.
fn warnings(w: &[String]) -> Text<'static> {
    counted(w).join(";").into()
}

/// A value in `unit` as the CSV files write it: a time in minutes becomes seconds.
fn in_file_unit(unit: &'static str, v: Option<f64>) -> Num {
    Num(if unit == "min" {
        v.map(|m| m * 60.0)
    } else {
        v
    })
}

/// The unit of a value written by [`in_file_unit`].
fn file_unit(unit: &'static str) -> &'static str {
    if unit == "min" { "s" } else { unit }
}

/// One row of files.csv: one input file. Per-plane columns hold one value per plane,
/// separated by `;`.
#[derive(Serialize, Default)]
struct FileCsv<'a> {
    path: Text<'a>,
    outcome: &'static str,
    fate: &'a str,
    kind: Option<&'static str>,
    error: Text<'a>,
    sop_class_uid: Text<'a>,
    sop_instance_uid: Text<'a>,
    patient_id: Text<'a>,
    study_instance_uid: Text<'a>,
    accession_number: Text<'a>,
    study_date: Text<'a>,
    manufacturer: Text<'a>,
    model: Text<'a>,
    station_name: Text<'a>,
    source: Option<String>,
    fluoroscopy_system: Option<bool>,
    planes: String,
    dap_total_gy_cm2: String,
    ka_r_total_mgy: String,
    fluoro_time_s: String,
    acquisition_frames: String,
    event_count: Option<usize>,
    image_frames: Option<u32>,
    image_dap_gy_cm2: Num,
    image_entrance_dose_mgy: Num,
    image_fluoro_time_s: Num,
    bytes_read: Option<u64>,
    procedure: Text<'a>,
    duplicate_of: Text<'a>,
    superseded_by: Text<'a>,
    warnings: Text<'a>,
}

impl<'a> FileCsv<'a> {
    fn new(e: &'a FileEntry, r: &'a Report) -> FileCsv<'a> {
        let planes = e.planes.as_deref().unwrap_or(&[]);
        let img = e.image.as_ref();
        FileCsv {
            path: e.path.as_str().into(),
            outcome: outcome(e),
            fate: r.fates.get(e.path.as_str()).map_or("", |a| a.fate.code()),
            kind: kind(e),
            error: error(e).into(),
            sop_class_uid: e.sop_class_uid.as_deref().into(),
            sop_instance_uid: e.sop_instance_uid.as_deref().into(),
            patient_id: e.patient_id.as_deref().into(),
            study_instance_uid: e.study_instance_uid.as_deref().into(),
            accession_number: e.accession_number.as_deref().into(),
            study_date: date(e.study_date.as_deref()),
            manufacturer: e.manufacturer.as_deref().into(),
            model: e.model.as_deref().into(),
            station_name: e.station_name.as_deref().into(),
            source: e.source.as_ref().map(code),
            fluoroscopy_system: e.fluoroscopy_system,
            planes: join(planes, |p| p.plane.to_owned()),
            dap_total_gy_cm2: join(planes, |p| opt_num(&p.dap_total_gy_cm2)),
            ka_r_total_mgy: join(planes, |p| opt_num(&p.ka_r_total_mgy)),
            fluoro_time_s: join(planes, |p| opt_num(&p.fluoro_time_s)),
            acquisition_frames: join(planes, |p| opt(&p.acquisition_frames)),
            event_count: e.events.as_ref().map(Vec::len),
            image_frames: img.and_then(|i| i.frames),
            image_dap_gy_cm2: img.and_then(|i| i.dap_gy_cm2).into(),
            image_entrance_dose_mgy: img.and_then(|i| i.entrance_dose_mgy).into(),
            image_fluoro_time_s: img.and_then(|i| i.fluoro_time_s).into(),
            bytes_read: e.bytes_read,
            procedure: e.procedure.as_deref().into(),
            duplicate_of: e.duplicate_of.as_deref().into(),
            superseded_by: e.superseded_by.as_deref().into(),
            warnings: warnings(&e.warnings),
        }
    }
}

/// One row of procedures.csv: one procedure with its assigned type. Per-plane columns hold
/// one value per plane, separated by `;`.
#[derive(Serialize, Default)]
struct ProcedureCsv<'a> {
    id: Text<'a>,
    patient_id: Text<'a>,
    study_instance_uid: Text<'a>,
    accession_number: Text<'a>,
    study_date: Text<'a>,
    device: Text<'a>,
    room: Text<'a>,
    room_key: Text<'a>,
    study_description: Text<'a>,
    procedure_code: Option<&'a str>,
    match_status: Option<String>,
    planes: String,
    plane_dap_gy_cm2: String,
    plane_ka_r_mgy: String,
    dap_total_gy_cm2: Num,
    ka_r_total_mgy: Num,
    fluoro_time_s: Num,
    acquisition_frames: Option<u64>,
    event_count: usize,
    fluoro_events: usize,
    acquisition_events: usize,
    image_only_events: usize,
    source: String,
    complete: bool,
    completeness: String,
    reference_point_standard: bool,
    max_total_vs_event_sum: Num,
    files: Text<'a>,
    warnings: Text<'a>,
    skin_psd_mgy: Num,
    skin_method: Option<&'static str>,
    skin_phantom_model: Option<&'static str>,
    skin_location_region: Text<'a>,
    skin_location_across_cm: Num,
    skin_location_from_head_cm: Num,
    skin_area_above_2gy_cm2: Num,
    skin_area_above_5gy_cm2: Num,
    skin_events_at_peak: Option<usize>,
    skin_upper_bound_mgy: Num,
    skin_reason: Text<'a>,
}

impl<'a> ProcedureCsv<'a> {
    fn new(
        p: &'a ProcedureRow,
        t: Option<&'a kerma::reference::ProcedureTypeRow>,
    ) -> ProcedureCsv<'a> {
        let skin = p.skin.as_ref();
        let location = skin.and_then(|s| s.location.as_ref());
        ProcedureCsv {
            id: p.id.as_str().into(),
            patient_id: p.patient_id.as_deref().into(),
            study_instance_uid: p.study_instance_uid.as_deref().into(),
            accession_number: p.accession_number.as_deref().into(),
            study_date: date(p.study_date.as_deref()),
            device: p.device.as_str().into(),
            room: p.room.as_str().into(),
            room_key: p.room_key.as_str().into(),
            study_description: p.study_description.as_deref().into(),
            procedure_code: t.and_then(|t| t.procedure_code.as_deref()),
            match_status: t.map(|t| code(&t.match_status)),
            planes: join(&p.planes, |x| x.plane.to_owned()),
            plane_dap_gy_cm2: join(&p.planes, |x| opt_num(&x.dap_gy_cm2)),
            plane_ka_r_mgy: join(&p.planes, |x| opt_num(&x.ka_r_mgy)),
            dap_total_gy_cm2: p.dap_total_gy_cm2.into(),
            ka_r_total_mgy: p.ka_r_total_mgy.into(),
            fluoro_time_s: p.fluoro_time_s.into(),
            acquisition_frames: p.acquisition_frames,
            event_count: p.event_count,
            fluoro_events: p.fluoro_events,
            acquisition_events: p.acquisition_events,
            image_only_events: p.image_only_events,
            source: code(&p.source),
            complete: p.complete,
            completeness: code(&p.completeness),
            reference_point_standard: p.reference_point_standard,
            max_total_vs_event_sum: p.max_total_vs_event_sum.into(),
            files: p.files.join(";").into(),
            warnings: warnings(&p.warnings),
            skin_psd_mgy: skin.and_then(|s| s.psd_mgy).into(),
            skin_method: skin.map(|s| s.method.as_str()),
            skin_phantom_model: skin.and_then(|s| s.phantom).map(|p| p.model.as_str()),
            skin_location_region: location.map(|l| l.region.as_str()).into(),
            skin_location_across_cm: location.map(|l| l.across_cm).into(),
            skin_location_from_head_cm: location.map(|l| l.from_head_cm).into(),
            skin_area_above_2gy_cm2: skin.and_then(|s| s.area_above_2gy_cm2).into(),
            skin_area_above_5gy_cm2: skin.and_then(|s| s.area_above_5gy_cm2).into(),
            skin_events_at_peak: skin.and_then(|s| s.events_at_peak),
            skin_upper_bound_mgy: skin.and_then(|s| s.upper_bound_mgy).into(),
            skin_reason: skin.and_then(|s| s.reason.as_deref()).into(),
        }
    }
}

/// One row of events.csv: one irradiation event of one file.
#[derive(Serialize, Default)]
struct EventCsv<'a> {
    path: Text<'a>,
    procedure: Text<'a>,
    uid: Text<'a>,
    category: String,
    plane: Option<&'a str>,
    dap_gy_cm2: Num,
    ka_r_mgy: Num,
    duration_s: Num,
    started: Text<'a>,
    protocol: Text<'a>,
    kvp_kv: Num,
    tube_current_ma: Num,
    pulses: Num,
    primary_angle_deg: Num,
    secondary_angle_deg: Num,
    primary_angle_end_deg: Num,
    secondary_angle_end_deg: Num,
    column_angulation_deg: Num,
    table_longitudinal_mm: Num,
    table_lateral_mm: Num,
    table_height_mm: Num,
    table_longitudinal_end_mm: Num,
    table_lateral_end_mm: Num,
    table_height_end_mm: Num,
    table_head_tilt_deg: Num,
    table_horizontal_rotation_deg: Num,
    table_cradle_tilt_deg: Num,
    source_to_isocenter_mm: Num,
    source_to_reference_point_mm: Num,
    source_to_detector_mm: Num,
    source_to_table_plane_mm: Num,
    field_area_cm2: Num,
    field_height_mm: Num,
    field_width_mm: Num,
    patient_table_relationship: Text<'a>,
    patient_orientation: Text<'a>,
    patient_orientation_modifier: Text<'a>,
    reference_point: Text<'a>,
    patient_position: Option<&'a str>,
}

impl<'a> EventCsv<'a> {
    fn new(e: &'a FileEntry, ev: &'a EventRow) -> EventCsv<'a> {
        EventCsv {
            path: e.path.as_str().into(),
            procedure: e.procedure.as_deref().into(),
            uid: ev.uid.as_deref().into(),
            category: code(&ev.category),
            plane: ev.plane,
            dap_gy_cm2: ev.dap_gy_cm2.into(),
            ka_r_mgy: ev.ka_r_mgy.into(),
            duration_s: ev.duration_s.into(),
            started: Text(ev.started.as_deref().map(iso_datetime)),
            protocol: ev.protocol.as_deref().into(),
            kvp_kv: ev.kvp.into(),
            tube_current_ma: ev.tube_current_ma.into(),
            pulses: ev.pulses.into(),
            primary_angle_deg: ev.primary_angle_deg.into(),
            secondary_angle_deg: ev.secondary_angle_deg.into(),
            primary_angle_end_deg: ev.primary_angle_end_deg.into(),
            secondary_angle_end_deg: ev.secondary_angle_end_deg.into(),
            column_angulation_deg: ev.column_angulation_deg.into(),
            table_longitudinal_mm: ev.table_longitudinal_mm.into(),
            table_lateral_mm: ev.table_lateral_mm.into(),
            table_height_mm: ev.table_height_mm.into(),
            table_longitudinal_end_mm: ev.table_longitudinal_end_mm.into(),
            table_lateral_end_mm: ev.table_lateral_end_mm.into(),
            table_height_end_mm: ev.table_height_end_mm.into(),
            table_head_tilt_deg: ev.table_head_tilt_deg.into(),
            table_horizontal_rotation_deg: ev.table_horizontal_rotation_deg.into(),
            table_cradle_tilt_deg: ev.table_cradle_tilt_deg.into(),
            source_to_isocenter_mm: ev.source_to_isocenter_mm.into(),
            source_to_reference_point_mm: ev.source_to_reference_point_mm.into(),
            source_to_detector_mm: ev.source_to_detector_mm.into(),
            source_to_table_plane_mm: ev.source_to_table_plane_mm.into(),
            field_area_cm2: ev.field_area_cm2.into(),
            field_height_mm: ev.field_height_mm.into(),
            field_width_mm: ev.field_width_mm.into(),
            patient_table_relationship: ev.patient_table_relationship.as_deref().into(),
            patient_orientation: ev.patient_orientation.as_deref().into(),
            patient_orientation_modifier: ev.patient_orientation_modifier.as_deref().into(),
            reference_point: ev.reference_point.as_deref().into(),
            patient_position: ev.patient_position,
        }
    }
}

/// One row of drl.csv: the fields of [`DrlRow`] (the `drl` section of the JSON document),
/// with fluoroscopy times in seconds (`unit` `s`) where the JSON document has minutes.
#[derive(Serialize, Default)]
struct DrlCsv<'a> {
    procedure_code: &'a str,
    scope: String,
    room: Text<'a>,
    room_name: Text<'a>,
    year: Option<i32>,
    quantity: String,
    unit: &'a str,
    n: usize,
    excluded_incomplete: usize,
    excluded_ka_r_not_comparable: usize,
    missing_value: usize,
    median: Num,
    mean: Num,
    q1: Num,
    q3: Num,
    min: Num,
    max: Num,
    quantile_method: &'a str,
    min_sample_size: usize,
    min_sample_size_basis: Text<'a>,
    min_sample_size_verified: bool,
    drl_source_id: Text<'a>,
    drl_jurisdiction: Text<'a>,
    drl_year: Option<i32>,
    drl_population: Text<'a>,
    drl_statistic: Text<'a>,
    drl_value: Num,
    median_to_drl: Num,
    verdict: String,
    guide_source_id: Text<'a>,
    guide_value: Num,
    median_to_guide: Num,
    guide_verdict: String,
}

impl<'a> DrlCsv<'a> {
    fn new(d: &'a DrlRow) -> DrlCsv<'a> {
        let v = |x: Option<f64>| in_file_unit(d.unit, x);
        DrlCsv {
            procedure_code: &d.procedure_code,
            scope: code(&d.scope),
            room: d.room.as_deref().into(),
            room_name: d.room_name.as_deref().into(),
            year: d.year,
            quantity: code(&d.quantity),
            unit: file_unit(d.unit),
            n: d.n,
            excluded_incomplete: d.excluded_incomplete,
            excluded_ka_r_not_comparable: d.excluded_ka_r_not_comparable,
            missing_value: d.missing_value,
            median: v(d.median),
            mean: v(d.mean),
            q1: v(d.q1),
            q3: v(d.q3),
            min: v(d.min),
            max: v(d.max),
            quantile_method: d.quantile_method,
            min_sample_size: d.min_sample_size,
            min_sample_size_basis: d.min_sample_size_basis.as_str().into(),
            min_sample_size_verified: d.min_sample_size_verified,
            drl_source_id: d.drl_source_id.as_deref().into(),
            drl_jurisdiction: d.drl_jurisdiction.as_deref().into(),
            drl_year: d.drl_year,
            drl_population: d.drl_population.as_deref().into(),
            drl_statistic: d.drl_statistic.as_deref().into(),
            drl_value: v(d.drl_value),
            median_to_drl: d.median_to_drl.into(),
            verdict: code(&d.verdict),
            guide_source_id: d.guide_source_id.as_deref().into(),
            guide_value: v(d.guide_value),
            median_to_guide: d.median_to_guide.into(),
            guide_verdict: code(&d.guide_verdict),
        }
    }
}

/// One row of alerts.csv: the fields of [`AlertRow`] (`alerts.procedures` in the JSON
/// document), with fluoroscopy times in seconds.
#[derive(Serialize, Default)]
struct AlertCsv<'a> {
    procedure_id: Text<'a>,
    patient_id: Text<'a>,
    room: Text<'a>,
    room_name: Text<'a>,
    date: Text<'a>,
    procedure_code: Option<&'a str>,
    quantity: String,
    unit: &'a str,
    value: Num,
    level: Num,
    level_procedure_code: Option<&'a str>,
    source_id: Text<'a>,
    jurisdiction: Text<'a>,
    action: Text<'a>,
    complete: bool,
    ka_r_comparable: bool,
    value_is_upper_bound: bool,
}

impl<'a> AlertCsv<'a> {
    fn new(a: &'a AlertRow) -> AlertCsv<'a> {
        AlertCsv {
            procedure_id: a.procedure_id.as_str().into(),
            patient_id: a.patient_id.as_deref().into(),
            room: a.room.as_str().into(),
            room_name: a.room_name.as_str().into(),
            date: date(a.date.as_deref()),
            procedure_code: a.procedure_code.as_deref(),
            quantity: code(&a.quantity),
            unit: file_unit(a.unit),
            value: in_file_unit(a.unit, Some(a.value)),
            level: in_file_unit(a.unit, Some(a.level)),
            level_procedure_code: a.level_procedure_code.as_deref(),
            source_id: a.source_id.as_str().into(),
            jurisdiction: a.jurisdiction.as_str().into(),
            action: a.action.as_str().into(),
            complete: a.complete,
            ka_r_comparable: a.ka_r_comparable,
            value_is_upper_bound: a.value_is_upper_bound,
        }
    }
}

/// One row of cumulative.csv: the fields of [`PatientCumulativeRow`]
/// (`alerts.patient_cumulative` in the JSON document), with times in seconds.
#[derive(Serialize, Default)]
struct CumulativeCsv<'a> {
    patient_id: Text<'a>,
    quantity: String,
    unit: &'a str,
    window_days: u64,
    window_first_date: Text<'a>,
    window_last_date: Text<'a>,
    n_procedures: usize,
    total: Num,
    max_single: Num,
    procedure_ids: Text<'a>,
    levels_reached: Text<'a>,
    levels_reached_only_cumulatively: Text<'a>,
    includes_incomplete: bool,
    includes_ka_r_not_comparable: bool,
    caveat: &'a str,
    notes: &'a str,
}

impl<'a> CumulativeCsv<'a> {
    fn new(c: &'a PatientCumulativeRow) -> CumulativeCsv<'a> {
        CumulativeCsv {
            patient_id: c.patient_id.as_str().into(),
            quantity: code(&c.quantity),
            unit: file_unit(c.unit),
            window_days: c.window_days,
            window_first_date: date(Some(&c.window_first_date)),
            window_last_date: date(Some(&c.window_last_date)),
            n_procedures: c.n_procedures,
            total: in_file_unit(c.unit, Some(c.total)),
            max_single: in_file_unit(c.unit, Some(c.max_single)),
            procedure_ids: c.procedure_ids.as_str().into(),
            levels_reached: c.levels_reached.as_str().into(),
            levels_reached_only_cumulatively: c.levels_reached_only_cumulatively.as_str().into(),
            includes_incomplete: c.includes_incomplete,
            includes_ka_r_not_comparable: c.includes_ka_r_not_comparable,
            caveat: c.caveat,
            notes: &c.notes,
        }
    }
}

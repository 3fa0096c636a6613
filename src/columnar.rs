//! The report rows as Arrow record batches, and Parquet files of them (feature `parquet`).
//!
//! Five tables, one per table of `kerma-report --out`: [`Table::Files`], [`Table::Procedures`],
//! [`Table::Events`], [`Table::Drl`] and [`Table::Alerts`]. Their columns are the fields of the
//! JSON document (see the README's JSON contract), with the same names (each quantity's unit
//! in its name: `_gy_cm2`, `_mgy`, `_s`, `_ms`), and the same types: a JSON number that is
//! always an integer is an unsigned or signed integer column, any other number a `Float64`, a
//! code (`outcome`, `kind`, `verdict`…) its `Utf8` text, a list of texts a `List<Utf8>`, the
//! planes a `List<Struct>`; `null` where the JSON has `null`. The schemas are written out
//! here, not inferred from the rows, so that an empty table has the same columns as a full one.
//! The rows are filled by `serde_arrow` from the same `Serialize` implementations that write
//! the JSON, and the module's tests read every table of the generated test data back as JSON
//! objects equal to the JSON document's: a column cannot drift from its JSON field.
//!
//! The files table has every field of `files[]` but `events`, which are the events table (one
//! row per irradiation event, keyed by the file's `path` and `sop_instance_uid`).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use kerma::columnar::{self, Table};
//! use kerma::report::FileEntry;
//!
//! let path = "testdata/rdsr_canon_dgycm2_mgy.dcm";
//! let entry = FileEntry::new(path, &kerma::extract_path(path));
//! let files = columnar::files_batch(std::slice::from_ref(&entry))?;
//! assert_eq!(files.schema(), Table::Files.schema());
//! let events = columnar::events_batch(std::slice::from_ref(&entry))?;
//! assert_eq!(events.num_rows(), entry.events.as_ref().map_or(0, Vec::len));
//!
//! let mut parquet = Vec::new();
//! columnar::write_parquet(&mut parquet, &files)?;
//! assert_eq!(&parquet[..4], b"PAR1");
//! # Ok(())
//! # }
//! ```

use std::io::Write;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::Serialize;

use crate::reference::{AlertRow, DrlRow};
use crate::report::{EventRow, FileEntry, ImageRow, PlaneRow, ProcedureRow};

/// Why a table could not be built or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ColumnarError {
    /// The rows do not fit the table's schema (a bug: the schema and the rows disagree).
    #[error("rows do not fit the {table} schema: {message}")]
    Schema {
        /// The table.
        table: &'static str,
        /// What did not fit.
        message: String,
    },
    /// The Parquet writer failed (including a failed write to its output).
    #[error("writing Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

/// One of the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// One row per input file (`files[]` of the JSON without `events`).
    Files,
    /// One row per procedure (`procedures[]`).
    Procedures,
    /// One row per irradiation event of a dose report (`files[].events[]`, with the file's
    /// `path`, `sop_instance_uid` and `procedure`).
    Events,
    /// One row per DRL comparison (`drl[]`).
    Drl,
    /// One row per trigger level reached by a procedure (`alerts.procedures[]`).
    Alerts,
}

impl Table {
    /// Every table, in the order `kerma-report --format parquet` writes them.
    pub const ALL: [Table; 5] = [
        Table::Files,
        Table::Procedures,
        Table::Events,
        Table::Drl,
        Table::Alerts,
    ];

    /// The table's name, also its file's stem (`files` → `files.parquet`).
    pub fn name(self) -> &'static str {
        match self {
            Table::Files => "files",
            Table::Procedures => "procedures",
            Table::Events => "events",
            Table::Drl => "drl",
            Table::Alerts => "alerts",
        }
    }

    /// The table's Arrow schema.
    ///
    /// ```
    /// use arrow_schema::DataType;
    /// let schema = kerma::columnar::Table::Procedures.schema();
    /// let dap = schema.field_with_name("dap_total_gy_cm2").unwrap();
    /// assert_eq!(dap.data_type(), &DataType::Float64);
    /// assert!(dap.is_nullable());
    /// ```
    pub fn schema(self) -> SchemaRef {
        let fields = match self {
            Table::Files => file_fields(),
            Table::Procedures => procedure_fields(),
            Table::Events => event_fields(),
            Table::Drl => drl_fields(),
            Table::Alerts => alert_fields(),
        };
        Arc::new(Schema::new(fields))
    }
}

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}
fn text_required(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}
fn float(name: &str) -> Field {
    Field::new(name, DataType::Float64, true)
}
fn float_required(name: &str) -> Field {
    Field::new(name, DataType::Float64, false)
}
fn count(name: &str) -> Field {
    Field::new(name, DataType::UInt64, false)
}
fn texts(name: &str) -> Field {
    Field::new(name, list_of(text_required("element")), false)
}
fn list_of(item: Field) -> DataType {
    DataType::List(Arc::new(item))
}

fn file_plane_fields() -> Fields {
    Fields::from(vec![
        text_required("plane"),
        float("dap_total_gy_cm2"),
        float("dap_fluoro_gy_cm2"),
        float("dap_acquisition_gy_cm2"),
        float("ka_r_total_mgy"),
        float("ka_r_fluoro_mgy"),
        float("ka_r_acquisition_mgy"),
        float("fluoro_time_s"),
        float("acquisition_time_s"),
        Field::new("acquisition_frames", DataType::UInt64, true),
        text("reference_point"),
    ])
}

fn image_fields() -> Fields {
    Fields::from(vec![
        Field::new("frames", DataType::UInt32, true),
        float("dap_gy_cm2"),
        float("entrance_dose_mgy"),
        float("fluoro_time_s"),
        Field::new("exposures", DataType::UInt32, true),
        text("irradiation_event_uid"),
        float("kvp"),
        float("tube_current_ma"),
        float("exposure_time_ms"),
    ])
}

fn file_fields() -> Vec<Field> {
    vec![
        text_required("path"),
        text_required("outcome"),
        text("kind"),
        text("sop_class_uid"),
        text("sop_instance_uid"),
        text("patient_id"),
        text("study_instance_uid"),
        text("accession_number"),
        text("study_date"),
        text("manufacturer"),
        text("model"),
        text("station_name"),
        text("error"),
        texts("warnings"),
        text("source"),
        Field::new("fluoroscopy_system", DataType::Boolean, true),
        Field::new(
            "planes",
            list_of(Field::new(
                "element",
                DataType::Struct(file_plane_fields()),
                false,
            )),
            true,
        ),
        Field::new("image", DataType::Struct(image_fields()), true),
        Field::new("bytes_read", DataType::UInt64, true),
        text("procedure"),
        text("duplicate_of"),
        text("superseded_by"),
        text("skip_reason"),
    ]
}

fn procedure_fields() -> Vec<Field> {
    let plane = Fields::from(vec![
        text_required("plane"),
        float("dap_gy_cm2"),
        float("ka_r_mgy"),
        float("fluoro_time_s"),
        Field::new("acquisition_frames", DataType::UInt64, true),
    ]);
    vec![
        text_required("id"),
        text("patient_id"),
        text("study_instance_uid"),
        text("accession_number"),
        text("study_date"),
        text_required("device"),
        text_required("room"),
        text_required("room_key"),
        text("study_description"),
        Field::new(
            "planes",
            list_of(Field::new("element", DataType::Struct(plane), false)),
            false,
        ),
        float("dap_total_gy_cm2"),
        float("ka_r_total_mgy"),
        float("fluoro_time_s"),
        Field::new("acquisition_frames", DataType::UInt64, true),
        count("event_count"),
        count("fluoro_events"),
        count("acquisition_events"),
        count("image_only_events"),
        text_required("source"),
        Field::new("complete", DataType::Boolean, false),
        text_required("completeness"),
        Field::new("reference_point_standard", DataType::Boolean, false),
        float("max_total_vs_event_sum"),
        texts("files"),
        texts("warnings"),
        Field::new("skin", DataType::Struct(skin_fields()), true),
    ]
}

/// The procedure's `skin` object ([`crate::skin::SkinDose`] without its map).
fn skin_fields() -> Fields {
    let phantom = Fields::from(vec![
        text_required("model"),
        float_required("length_cm"),
        float_required("width_cm"),
        float_required("thickness_cm"),
        float_required("cell_cm"),
    ]);
    let location = Fields::from(vec![
        text_required("region"),
        float_required("across_cm"),
        float_required("from_head_cm"),
    ]);
    Fields::from(vec![
        float("psd_mgy"),
        text_required("method"),
        Field::new("phantom", DataType::Struct(phantom), true),
        Field::new("location", DataType::Struct(location), true),
        float("area_above_2gy_cm2"),
        float("area_above_5gy_cm2"),
        Field::new("events_at_peak", DataType::UInt64, true),
        text("reason"),
        float("upper_bound_mgy"),
        count("events_used"),
        text("room_geometry"),
        text_required("settings"),
    ])
}

fn event_fields() -> Vec<Field> {
    vec![
        text_required("path"),
        text("sop_instance_uid"),
        text("procedure"),
        text("uid"),
        text_required("category"),
        text("plane"),
        float("dap_gy_cm2"),
        float("ka_r_mgy"),
        float("duration_s"),
        text("started"),
        text("protocol"),
        float("kvp"),
        float("tube_current_ma"),
        float("pulses"),
        float("primary_angle_deg"),
        float("secondary_angle_deg"),
        float("primary_angle_end_deg"),
        float("secondary_angle_end_deg"),
        float("column_angulation_deg"),
        float("table_longitudinal_mm"),
        float("table_lateral_mm"),
        float("table_height_mm"),
        float("table_longitudinal_end_mm"),
        float("table_lateral_end_mm"),
        float("table_height_end_mm"),
        float("table_head_tilt_deg"),
        float("table_horizontal_rotation_deg"),
        float("table_cradle_tilt_deg"),
        float("source_to_isocenter_mm"),
        float("source_to_reference_point_mm"),
        float("source_to_detector_mm"),
        float("source_to_table_plane_mm"),
        float("field_area_cm2"),
        float("field_height_mm"),
        float("field_width_mm"),
        text("patient_table_relationship"),
        text("patient_orientation"),
        text("patient_orientation_modifier"),
        text("reference_point"),
        text("patient_position"),
    ]
}

fn drl_fields() -> Vec<Field> {
    vec![
        text_required("procedure_code"),
        text_required("scope"),
        text("room"),
        text("room_name"),
        Field::new("year", DataType::Int32, true),
        text_required("quantity"),
        text_required("unit"),
        count("n"),
        count("excluded_incomplete"),
        count("excluded_ka_r_not_comparable"),
        count("missing_value"),
        float("median"),
        float("mean"),
        float("q1"),
        float("q3"),
        float("min"),
        float("max"),
        text_required("quantile_method"),
        count("min_sample_size"),
        text_required("min_sample_size_basis"),
        Field::new("min_sample_size_verified", DataType::Boolean, false),
        text("drl_source_id"),
        text("drl_jurisdiction"),
        Field::new("drl_year", DataType::Int32, true),
        text("drl_population"),
        text("drl_statistic"),
        float("drl_value"),
        float("median_to_drl"),
        text_required("verdict"),
        text("guide_source_id"),
        float("guide_value"),
        float("median_to_guide"),
        text_required("guide_verdict"),
    ]
}

fn alert_fields() -> Vec<Field> {
    vec![
        text_required("procedure_id"),
        text("patient_id"),
        text_required("room"),
        text_required("room_name"),
        text("date"),
        text("procedure_code"),
        text_required("quantity"),
        text_required("unit"),
        float_required("value"),
        float_required("level"),
        text("level_procedure_code"),
        text_required("source_id"),
        text_required("jurisdiction"),
        text_required("action"),
        Field::new("complete", DataType::Boolean, false),
        Field::new("ka_r_comparable", DataType::Boolean, false),
        Field::new("value_is_upper_bound", DataType::Boolean, false),
    ]
}

/// A file's row: its entry without the events.
#[derive(Serialize)]
struct FileRecord<'a> {
    path: &'a str,
    outcome: crate::report::FileOutcome,
    kind: Option<crate::ObjectKind>,
    sop_class_uid: &'a Option<String>,
    sop_instance_uid: &'a Option<String>,
    patient_id: &'a Option<String>,
    study_instance_uid: &'a Option<String>,
    accession_number: &'a Option<String>,
    study_date: &'a Option<String>,
    manufacturer: &'a Option<String>,
    model: &'a Option<String>,
    station_name: &'a Option<String>,
    error: &'a Option<String>,
    warnings: &'a [String],
    source: Option<crate::Provenance>,
    fluoroscopy_system: Option<bool>,
    planes: &'a Option<Vec<PlaneRow>>,
    image: &'a Option<ImageRow>,
    bytes_read: Option<u64>,
    procedure: &'a Option<String>,
    duplicate_of: &'a Option<String>,
    superseded_by: &'a Option<String>,
    skip_reason: &'a Option<String>,
}

impl<'a> FileRecord<'a> {
    fn new(e: &'a FileEntry) -> FileRecord<'a> {
        FileRecord {
            path: &e.path,
            outcome: e.outcome,
            kind: e.kind,
            sop_class_uid: &e.sop_class_uid,
            sop_instance_uid: &e.sop_instance_uid,
            patient_id: &e.patient_id,
            study_instance_uid: &e.study_instance_uid,
            accession_number: &e.accession_number,
            study_date: &e.study_date,
            manufacturer: &e.manufacturer,
            model: &e.model,
            station_name: &e.station_name,
            error: &e.error,
            warnings: &e.warnings,
            source: e.source,
            fluoroscopy_system: e.fluoroscopy_system,
            planes: &e.planes,
            image: &e.image,
            bytes_read: e.bytes_read,
            procedure: &e.procedure,
            duplicate_of: &e.duplicate_of,
            superseded_by: &e.superseded_by,
            skip_reason: &e.skip_reason,
        }
    }
}

/// An event's row: the event and the file it is in.
#[derive(Serialize)]
struct EventRecord<'a> {
    path: &'a str,
    sop_instance_uid: &'a Option<String>,
    procedure: &'a Option<String>,
    uid: &'a Option<String>,
    category: crate::EventCategory,
    plane: Option<&'static str>,
    dap_gy_cm2: Option<f64>,
    ka_r_mgy: Option<f64>,
    duration_s: Option<f64>,
    started: &'a Option<String>,
    protocol: &'a Option<String>,
    kvp: Option<f64>,
    tube_current_ma: Option<f64>,
    pulses: Option<f64>,
    primary_angle_deg: Option<f64>,
    secondary_angle_deg: Option<f64>,
    primary_angle_end_deg: Option<f64>,
    secondary_angle_end_deg: Option<f64>,
    column_angulation_deg: Option<f64>,
    table_longitudinal_mm: Option<f64>,
    table_lateral_mm: Option<f64>,
    table_height_mm: Option<f64>,
    table_longitudinal_end_mm: Option<f64>,
    table_lateral_end_mm: Option<f64>,
    table_height_end_mm: Option<f64>,
    table_head_tilt_deg: Option<f64>,
    table_horizontal_rotation_deg: Option<f64>,
    table_cradle_tilt_deg: Option<f64>,
    source_to_isocenter_mm: Option<f64>,
    source_to_reference_point_mm: Option<f64>,
    source_to_detector_mm: Option<f64>,
    source_to_table_plane_mm: Option<f64>,
    field_area_cm2: Option<f64>,
    field_height_mm: Option<f64>,
    field_width_mm: Option<f64>,
    patient_table_relationship: &'a Option<String>,
    patient_orientation: &'a Option<String>,
    patient_orientation_modifier: &'a Option<String>,
    reference_point: &'a Option<String>,
    patient_position: Option<&'static str>,
}

impl<'a> EventRecord<'a> {
    fn new(file: &'a FileEntry, e: &'a EventRow) -> EventRecord<'a> {
        EventRecord {
            path: &file.path,
            sop_instance_uid: &file.sop_instance_uid,
            procedure: &file.procedure,
            uid: &e.uid,
            category: e.category,
            plane: e.plane,
            dap_gy_cm2: e.dap_gy_cm2,
            ka_r_mgy: e.ka_r_mgy,
            duration_s: e.duration_s,
            started: &e.started,
            protocol: &e.protocol,
            kvp: e.kvp,
            tube_current_ma: e.tube_current_ma,
            pulses: e.pulses,
            primary_angle_deg: e.primary_angle_deg,
            secondary_angle_deg: e.secondary_angle_deg,
            primary_angle_end_deg: e.primary_angle_end_deg,
            secondary_angle_end_deg: e.secondary_angle_end_deg,
            column_angulation_deg: e.column_angulation_deg,
            table_longitudinal_mm: e.table_longitudinal_mm,
            table_lateral_mm: e.table_lateral_mm,
            table_height_mm: e.table_height_mm,
            table_longitudinal_end_mm: e.table_longitudinal_end_mm,
            table_lateral_end_mm: e.table_lateral_end_mm,
            table_height_end_mm: e.table_height_end_mm,
            table_head_tilt_deg: e.table_head_tilt_deg,
            table_horizontal_rotation_deg: e.table_horizontal_rotation_deg,
            table_cradle_tilt_deg: e.table_cradle_tilt_deg,
            source_to_isocenter_mm: e.source_to_isocenter_mm,
            source_to_reference_point_mm: e.source_to_reference_point_mm,
            source_to_detector_mm: e.source_to_detector_mm,
            source_to_table_plane_mm: e.source_to_table_plane_mm,
            field_area_cm2: e.field_area_cm2,
            field_height_mm: e.field_height_mm,
            field_width_mm: e.field_width_mm,
            patient_table_relationship: &e.patient_table_relationship,
            patient_orientation: &e.patient_orientation,
            patient_orientation_modifier: &e.patient_orientation_modifier,
            reference_point: &e.reference_point,
            patient_position: e.patient_position,
        }
    }
}

/// The rows of `table` as one record batch of its schema.
fn batch<T: Serialize>(table: Table, rows: &[T]) -> Result<RecordBatch, ColumnarError> {
    let schema = table.schema();
    let fields: Vec<FieldRef> = schema.fields().iter().cloned().collect();
    serde_arrow::to_record_batch(&fields, &rows).map_err(|e| ColumnarError::Schema {
        table: table.name(),
        message: e.to_string(),
    })
}

/// The files table: one row per entry.
pub fn files_batch(entries: &[FileEntry]) -> Result<RecordBatch, ColumnarError> {
    let rows: Vec<FileRecord> = entries.iter().map(FileRecord::new).collect();
    batch(Table::Files, &rows)
}

/// The events table: one row per event of every entry, in order.
pub fn events_batch(entries: &[FileEntry]) -> Result<RecordBatch, ColumnarError> {
    let rows: Vec<EventRecord> = entries
        .iter()
        .flat_map(|f| {
            let events = f.events.as_deref().unwrap_or(&[]);
            events.iter().map(move |e| EventRecord::new(f, e))
        })
        .collect();
    batch(Table::Events, &rows)
}

/// The procedures table.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut procedures = kerma::Procedures::new();
/// for name in ["rdsr_pps_part1.dcm", "rdsr_pps_part2.dcm", "rdsr_cumulative.dcm"] {
///     procedures.add(name, kerma::extract_path(format!("testdata/{name}")));
/// }
/// let set = procedures.finish();
/// let rows: Vec<_> = set.procedures.iter().map(kerma::report::ProcedureRow::new).collect();
/// let batch = kerma::columnar::procedures_batch(&rows)?;
/// assert_eq!(batch.num_rows(), 1);
/// # Ok(())
/// # }
/// ```
pub fn procedures_batch(rows: &[ProcedureRow]) -> Result<RecordBatch, ColumnarError> {
    batch(Table::Procedures, rows)
}

/// The DRL table (the survey's `drl` rows).
pub fn drl_batch(rows: &[DrlRow]) -> Result<RecordBatch, ColumnarError> {
    batch(Table::Drl, rows)
}

/// The alerts table (the survey's `alerts.procedures` rows).
pub fn alerts_batch(rows: &[AlertRow]) -> Result<RecordBatch, ColumnarError> {
    batch(Table::Alerts, rows)
}

/// Writes `batch` as one Parquet file (Snappy-compressed columns, the Arrow schema stored in
/// the file's metadata so that readers get the same types back).
pub fn write_parquet<W: Write + Send>(out: W, batch: &RecordBatch) -> Result<(), ColumnarError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(out, batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.close()?;
    Ok(())
}

#[cfg(test)]
mod tests;

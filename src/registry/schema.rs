//! The registry's tables, their versions and the migrations between them.
//!
//! Column names carry their units as the JSON contract does (`dap_total_gy_cm2`,
//! `ka_r_mgy`, `fluoro_time_s`). The README documents every table for people who query it
//! with sqlite3, psql, DuckDB or Grafana.

use super::RegistryError;
use super::db::{Dialect, Tx, Val, rows};

/// The schema version this kerma writes and reads.
pub(crate) const VERSION: i64 = 2;

/// Columns of `files` that come from the file's extraction (the rest are the registry's own).
pub(crate) const FILE_COLUMNS: &[&str] = &[
    "outcome",
    "kind",
    "error",
    "warnings",
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
    "bytes_read",
];

/// Columns of `planes` besides `file_id`: the JSON `files[].planes[]` fields.
pub(crate) const PLANE_COLUMNS: &[&str] = &[
    "plane",
    "dap_total_gy_cm2",
    "dap_fluoro_gy_cm2",
    "dap_acquisition_gy_cm2",
    "ka_r_total_mgy",
    "ka_r_fluoro_mgy",
    "ka_r_acquisition_mgy",
    "fluoro_time_s",
    "acquisition_time_s",
    "acquisition_frames",
    "reference_point",
];

/// Columns of `events` besides `file_id` and `event_index`: the JSON `files[].events[]` fields.
pub(crate) const EVENT_COLUMNS: &[&str] = &[
    "uid",
    "category",
    "plane",
    "dap_gy_cm2",
    "ka_r_mgy",
    "duration_s",
    "started",
    "protocol",
    "kvp",
    "tube_current_ma",
    "pulses",
    "primary_angle_deg",
    "secondary_angle_deg",
    "primary_angle_end_deg",
    "secondary_angle_end_deg",
    "column_angulation_deg",
    "table_longitudinal_mm",
    "table_lateral_mm",
    "table_height_mm",
    "table_longitudinal_end_mm",
    "table_lateral_end_mm",
    "table_height_end_mm",
    "table_head_tilt_deg",
    "table_horizontal_rotation_deg",
    "table_cradle_tilt_deg",
    "source_to_isocenter_mm",
    "source_to_reference_point_mm",
    "source_to_detector_mm",
    "source_to_table_plane_mm",
    "field_area_cm2",
    "field_height_mm",
    "field_width_mm",
    "patient_table_relationship",
    "patient_orientation",
    "patient_orientation_modifier",
    "reference_point",
    "patient_position",
];

/// Columns of `images` besides `file_id`: the JSON `files[].image` fields.
pub(crate) const IMAGE_COLUMNS: &[&str] = &[
    "frames",
    "dap_gy_cm2",
    "entrance_dose_mgy",
    "fluoro_time_s",
    "exposures",
    "irradiation_event_uid",
    "kvp",
    "tube_current_ma",
    "exposure_time_ms",
];

/// The SQL type of a column of the JSON rows, by its name.
fn column_type(name: &str) -> &'static str {
    let real_suffixes = [
        "_gy_cm2", "_mgy", "_s", "_ms", "_mm", "_deg", "_cm", "_cm2", "_m", "_m2",
    ];
    if ["kvp", "tube_current_ma", "pulses"].contains(&name)
        || real_suffixes.iter().any(|s| name.ends_with(s))
    {
        "DOUBLE PRECISION"
    } else if ["frames", "exposures", "acquisition_frames", "bytes_read"].contains(&name)
        || name == "fluoroscopy_system"
    {
        "BIGINT"
    } else {
        "TEXT"
    }
}

fn columns(list: &[&str]) -> String {
    list.iter()
        .map(|c| format!(",\n    {c} {}", column_type(c)))
        .collect()
}

/// The statements that create version 1 in `dialect`.
///
/// The tables of a file's rows (`file_links`, `fate_history`, `planes`, `events`, `images`)
/// have no foreign key to `files`: a file and its rows are written in one transaction and
/// files are never deleted, and on PostgreSQL the check, a lookup per row, took most of the
/// time of inserting them.
fn version_1(dialect: Dialect) -> Vec<String> {
    let (id, blob, clustered) = match dialect {
        Dialect::Sqlite => ("INTEGER PRIMARY KEY", "BLOB", " WITHOUT ROWID"),
        Dialect::Postgres => ("BIGINT PRIMARY KEY", "BYTEA", ""),
    };
    vec![
        format!(
            "CREATE TABLE files (
    id {id},
    path TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    version BIGINT NOT NULL,
    is_current BIGINT NOT NULL,
    ingested_at TEXT NOT NULL,
    replaced_at TEXT{},
    fate TEXT NOT NULL,
    fate_of TEXT,
    procedure_key TEXT,
    fate_since TEXT NOT NULL,
    content {blob}
)",
            columns(FILE_COLUMNS)
        ),
        "CREATE INDEX files_path ON files (path, is_current)".into(),
        "CREATE INDEX files_procedure ON files (procedure_key)".into(),
        "CREATE TABLE file_links (
    file_id BIGINT NOT NULL,
    link TEXT NOT NULL
)"
        .into(),
        "CREATE INDEX file_links_link ON file_links (link)".into(),
        "CREATE INDEX file_links_file ON file_links (file_id)".into(),
        "CREATE TABLE fate_history (
    file_id BIGINT NOT NULL,
    fate TEXT NOT NULL,
    fate_of TEXT,
    procedure_key TEXT,
    since TEXT NOT NULL
)"
        .into(),
        "CREATE INDEX fate_history_file ON fate_history (file_id)".into(),
        format!(
            "CREATE TABLE planes (
    file_id BIGINT NOT NULL{}
)",
            columns(PLANE_COLUMNS)
        ),
        "CREATE INDEX planes_file ON planes (file_id)".into(),
        // Clustered by file on SQLite (one B-tree, appended to as files arrive); the UID
        // index links a report to the other files that hold its events.
        format!(
            "CREATE TABLE events (
    file_id BIGINT NOT NULL,
    event_index BIGINT NOT NULL{},
    PRIMARY KEY (file_id, event_index)
){clustered}",
            columns(EVENT_COLUMNS)
        ),
        "CREATE INDEX events_uid ON events (uid)".into(),
        format!(
            "CREATE TABLE images (
    file_id BIGINT NOT NULL{}
)",
            columns(IMAGE_COLUMNS)
        ),
        "CREATE INDEX images_file ON images (file_id)".into(),
        "CREATE TABLE procedures (
    procedure_key TEXT PRIMARY KEY,
    patient_id TEXT,
    study_instance_uid TEXT,
    accession_number TEXT,
    study_date TEXT,
    study_time TEXT,
    first_event TEXT,
    room_key TEXT NOT NULL,
    device_key TEXT NOT NULL,
    manufacturer TEXT,
    model TEXT,
    dap_total_gy_cm2 DOUBLE PRECISION,
    ka_r_sum_of_planes_mgy DOUBLE PRECISION,
    fluoro_time_s DOUBLE PRECISION,
    acquisition_frames BIGINT,
    events BIGINT NOT NULL,
    source TEXT NOT NULL,
    completeness TEXT NOT NULL,
    reference_point_standard BIGINT NOT NULL,
    files BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    detail TEXT NOT NULL
)"
        .into(),
        "CREATE INDEX procedures_date ON procedures (study_date, study_time)".into(),
        "CREATE INDEX procedures_patient ON procedures (patient_id)".into(),
        "CREATE INDEX procedures_room ON procedures (room_key)".into(),
        "CREATE TABLE procedure_planes (
    procedure_key TEXT NOT NULL REFERENCES procedures (procedure_key) ON DELETE CASCADE,
    plane TEXT NOT NULL,
    dap_gy_cm2 DOUBLE PRECISION,
    ka_r_mgy DOUBLE PRECISION,
    fluoro_time_s DOUBLE PRECISION,
    acquisition_frames BIGINT
)"
        .into(),
        "CREATE INDEX procedure_planes_key ON procedure_planes (procedure_key)".into(),
        "CREATE TABLE alerts (
    raised_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    procedure_key TEXT,
    patient_id TEXT,
    quantity TEXT NOT NULL,
    unit TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    level DOUBLE PRECISION,
    detail TEXT NOT NULL
)"
        .into(),
        "CREATE INDEX alerts_raised ON alerts (raised_at)".into(),
        "CREATE TABLE rooms (
    room_key TEXT PRIMARY KEY,
    weak BIGINT NOT NULL,
    station_name TEXT,
    device_observer_name TEXT,
    manufacturer TEXT,
    model TEXT,
    serial_number TEXT,
    last_seen TEXT NOT NULL
)"
        .into(),
    ]
}

/// Brings the database to [`VERSION`]: creates the tables in an empty database, checks the
/// version of a registry, refuses a database that is neither, or one that a newer kerma wrote.
pub(crate) fn migrate(tx: &mut dyn Tx, target: &str) -> Result<(), RegistryError> {
    let dialect = tx.dialect();
    let tables_sql = match dialect {
        Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        Dialect::Postgres => {
            "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = current_schema()"
        }
    };
    let tables: Vec<String> = rows(tx, tables_sql, &[])?
        .into_iter()
        .filter_map(|mut r| r.pop().and_then(Val::into_text))
        .collect();
    if tables.iter().any(|t| t == "kerma_schema") {
        let found = rows(tx, "SELECT version FROM kerma_schema", &[])?
            .first()
            .and_then(|r| r.first())
            .and_then(Val::int);
        return match found {
            Some(v) if v == VERSION => Ok(()),
            Some(v) if v > VERSION => Err(RegistryError::NewerSchema {
                target: target.to_owned(),
                found: v,
                supported: VERSION,
            }),
            // Version 1 lacks the skin doses.
            Some(1) => {
                for sql in version_2() {
                    tx.exec(&sql, &[])?;
                }
                tx.exec(
                    "UPDATE kerma_schema SET version = ?1, written_by = ?2",
                    &[Val::Int(VERSION), Val::from(written_by())],
                )?;
                Ok(())
            }
            _ => Err(RegistryError::NotARegistry {
                target: target.to_owned(),
                why: format!("kerma_schema holds no known version ({found:?})"),
            }),
        };
    }
    if !tables.is_empty() {
        return Err(RegistryError::NotARegistry {
            target: target.to_owned(),
            why: format!(
                "it holds other tables ({}) and no kerma_schema table",
                tables.join(", ")
            ),
        });
    }
    tx.exec(
        "CREATE TABLE kerma_schema (version BIGINT NOT NULL, written_by TEXT NOT NULL)",
        &[],
    )?;
    for sql in version_1(dialect).into_iter().chain(version_2()) {
        tx.exec(&sql, &[])?;
    }
    tx.exec(
        "INSERT INTO kerma_schema (version, written_by) VALUES (?1, ?2)",
        &[Val::Int(VERSION), Val::from(written_by())],
    )?;
    Ok(())
}

/// What version 2 adds to version 1: the skin doses of the procedures.
fn version_2() -> Vec<String> {
    vec![super::skin::create_table()]
}

fn written_by() -> &'static str {
    concat!("kerma ", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::FileEntry;

    /// Every field of the JSON rows has its column, so nothing the reader extracts is dropped.
    #[test]
    fn every_json_field_has_a_column() -> Result<(), Box<dyn std::error::Error>> {
        let bytes = include_bytes!("../../testdata/rdsr_biplane.dcm");
        let x = crate::extract_bytes(bytes)?;
        let entry = FileEntry::new("a.dcm", &Ok(x));
        let v = serde_json::to_value(&entry)?;
        let fields = |v: &serde_json::Value| -> Vec<String> {
            v.as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        for f in fields(&v["planes"][0]) {
            assert!(PLANE_COLUMNS.contains(&f.as_str()), "planes lacks {f}");
        }
        for f in fields(&v["events"][0]) {
            assert!(EVENT_COLUMNS.contains(&f.as_str()), "events lacks {f}");
        }
        let img = crate::extract_bytes(include_bytes!("../../testdata/xa_event1_img1.dcm"))?;
        let v = serde_json::to_value(FileEntry::new("b.dcm", &Ok(img)))?;
        for f in fields(&v["image"]) {
            assert!(IMAGE_COLUMNS.contains(&f.as_str()), "images lacks {f}");
        }
        Ok(())
    }

    #[test]
    fn column_types_follow_units() {
        assert_eq!(column_type("dap_total_gy_cm2"), "DOUBLE PRECISION");
        assert_eq!(column_type("ka_r_mgy"), "DOUBLE PRECISION");
        assert_eq!(column_type("acquisition_frames"), "BIGINT");
        assert_eq!(column_type("protocol"), "TEXT");
        assert_eq!(column_type("started"), "TEXT");
        assert_eq!(column_type("field_area_cm2"), "DOUBLE PRECISION");
        assert_eq!(column_type("table_height_mm"), "DOUBLE PRECISION");
    }
}

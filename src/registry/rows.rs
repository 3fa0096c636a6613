//! Rows of the registry's tables from kerma's records: the files' columns and their planes,
//! events and images come from the JSON contract's rows ([`FileEntry`]), so that a column
//! and its JSON field are one thing under one name.

use serde_json::Value;

use super::RegistryError;
use super::db::Val;
use super::record::record;
use super::schema::{EVENT_COLUMNS, FILE_COLUMNS, IMAGE_COLUMNS, PLANE_COLUMNS};
use crate::procedure::{Procedure, ProcedureWarning};
use crate::report::FileEntry;

/// The extracted columns of a file and the rows of its planes, events and image.
#[derive(Debug, PartialEq)]
pub(crate) struct FileRows {
    pub(crate) file: Vec<Val>,
    pub(crate) planes: Vec<Vec<Val>>,
    pub(crate) events: Vec<Vec<Val>>,
    pub(crate) image: Option<Vec<Val>>,
}

impl FileRows {
    pub(crate) fn new(entry: &FileEntry) -> FileRows {
        FileRows {
            file: record(entry, FILE_COLUMNS),
            planes: (entry.planes.iter().flatten())
                .map(|p| record(p, PLANE_COLUMNS))
                .collect(),
            events: (entry.events.iter().flatten())
                .map(|e| record(e, EVENT_COLUMNS))
                .collect(),
            image: entry.image.as_ref().map(|i| record(i, IMAGE_COLUMNS)),
        }
    }
}

/// Columns of `procedures`, in the order of [`procedure_row`].
pub(crate) const PROCEDURE_COLUMNS: &[&str] = &[
    "procedure_key",
    "patient_id",
    "study_instance_uid",
    "accession_number",
    "study_date",
    "study_time",
    "first_event",
    "room_key",
    "device_key",
    "manufacturer",
    "model",
    "dap_total_gy_cm2",
    "ka_r_sum_of_planes_mgy",
    "fluoro_time_s",
    "acquisition_frames",
    "events",
    "source",
    "completeness",
    "reference_point_standard",
    "files",
    "updated_at",
    "detail",
];

/// Columns of `procedure_planes`, in the order of [`procedure_plane_rows`].
pub(crate) const PROCEDURE_PLANE_COLUMNS: &[&str] = &[
    "procedure_key",
    "plane",
    "dap_gy_cm2",
    "ka_r_mgy",
    "fluoro_time_s",
    "acquisition_frames",
];

/// The stored form of a procedure: its id is its key; its room's name is the room's key, and
/// possible copies are not stored (names and copies depend on the other procedures of a
/// report, and are given among them).
pub(crate) fn stored(p: &Procedure, key: &str) -> Procedure {
    let mut p = p.clone();
    p.id = key.to_owned();
    p.room.name = p.room.key.clone();
    p.warnings.retain(|w| *w != ProcedureWarning::PossibleCopy);
    p
}

/// The JSON text of a stored procedure (the `detail` column).
pub(crate) fn detail(p: &Procedure) -> Result<String, RegistryError> {
    serde_json::to_string(p).map_err(|e| RegistryError::Corrupt {
        target: p.id.clone(),
        what: "procedure".into(),
        message: e.to_string(),
    })
}

fn enum_name<T: serde::Serialize>(v: &T) -> Val {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => Val::Text(s),
        _ => Val::Null,
    }
}

/// The row of a stored procedure (see [`stored`]) with its `detail` and `updated_at`.
pub(crate) fn procedure_row(p: &Procedure, detail: String, updated_at: &str) -> Vec<Val> {
    vec![
        Val::from(p.id.as_str()),
        Val::from(p.patient_id.clone()),
        Val::from(p.study_instance_uid.clone()),
        Val::from(p.accession_number.clone()),
        Val::from(p.study_date.clone()),
        Val::from(p.study_time.clone()),
        Val::from(p.first_event.clone()),
        Val::from(p.room.key.as_str()),
        Val::from(p.room.device_key.as_str()),
        Val::from(p.room.manufacturer.clone()),
        Val::from(p.room.model.clone()),
        Val::from(p.dap_total.map(crate::Dap::as_gy_cm2)),
        Val::from(p.ka_r_sum_of_planes.map(crate::AirKerma::as_mgy)),
        Val::from(p.fluoro_time.map(|d| d.as_secs_f64())),
        Val::from(p.acquisition_frames),
        Val::from(p.events.total()),
        enum_name(&p.source),
        enum_name(&p.completeness),
        Val::from(p.reference_point_standard),
        Val::from(p.files.len()),
        Val::from(updated_at),
        Val::Text(detail),
    ]
}

/// The `procedure_planes` rows of a stored procedure.
pub(crate) fn procedure_plane_rows(p: &Procedure) -> Vec<Vec<Val>> {
    p.planes
        .iter()
        .map(|pl| {
            vec![
                Val::from(p.id.as_str()),
                Val::from(pl.plane.as_str()),
                Val::from(pl.dap.map(crate::Dap::as_gy_cm2)),
                Val::from(pl.ka_r.map(crate::AirKerma::as_mgy)),
                Val::from(pl.fluoro_time.map(|d| d.as_secs_f64())),
                Val::from(pl.acquisition_frames),
            ]
        })
        .collect()
}

/// Columns of `rooms`, in the order of [`room_row`].
pub(crate) const ROOM_COLUMNS: &[&str] = &[
    "room_key",
    "weak",
    "station_name",
    "device_observer_name",
    "manufacturer",
    "model",
    "serial_number",
    "last_seen",
];

/// The `rooms` row of a procedure's room.
pub(crate) fn room_row(p: &Procedure, now: &str) -> Vec<Val> {
    let r = &p.room;
    vec![
        Val::from(r.key.as_str()),
        Val::from(r.weak),
        Val::from(r.station_name.clone()),
        Val::from(r.device_observer_name.clone()),
        Val::from(r.manufacturer.clone()),
        Val::from(r.model.clone()),
        Val::from(r.serial_number.clone()),
        Val::from(now),
    ]
}

/// The stored form of a file's bytes (the `content` column): LZ4 block format with the
/// uncompressed size first, as a little-endian `u32` (the format of `lz4_flex`'s
/// `compress_prepend_size`). Dose reports shrink about tenfold.
pub(crate) fn pack(bytes: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(bytes)
}

/// A file's bytes from their stored form, refusing a stated size above `max` (the file's
/// size) before allocating it.
pub(crate) fn unpack(stored: &[u8], max: u64, target: &str) -> Result<Vec<u8>, RegistryError> {
    let bad = |m: String| RegistryError::Corrupt {
        target: target.to_owned(),
        what: "file content".into(),
        message: m,
    };
    let (size, rest) =
        lz4_flex::block::uncompressed_size(stored).map_err(|e| bad(e.to_string()))?;
    if size as u64 > max {
        return Err(bad(format!(
            "states {size} bytes, more than the file's {max}"
        )));
    }
    let mut out = vec![0; size];
    let n = lz4_flex::block::decompress_into(rest, &mut out).map_err(|e| bad(e.to_string()))?;
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSON value as a column value: arrays and objects as their JSON text.
    fn val(v: Option<&Value>) -> Val {
        match v {
            None | Some(Value::Null) => Val::Null,
            Some(Value::Bool(b)) => Val::from(*b),
            Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Val::Int(i),
                (None, Some(f)) => Val::Real(f),
                (None, None) => Val::Null,
            },
            Some(Value::String(s)) => Val::Text(s.clone()),
            Some(v @ (Value::Array(_) | Value::Object(_))) => Val::Text(v.to_string()),
        }
    }

    fn pick(o: &Value, columns: &[&str]) -> Vec<Val> {
        columns.iter().map(|c| val(o.get(*c))).collect()
    }

    /// The rows through a JSON tree, picked by name: what [`FileRows::new`] must equal.
    fn through_json(entry: &FileEntry) -> FileRows {
        let v = serde_json::to_value(entry).expect("a file entry is JSON");
        let list = |name: &str| -> Vec<Vec<Val>> {
            let columns = match name {
                "planes" => PLANE_COLUMNS,
                _ => EVENT_COLUMNS,
            };
            (v.get(name).and_then(Value::as_array).into_iter().flatten())
                .map(|r| pick(r, columns))
                .collect()
        };
        FileRows {
            file: pick(&v, FILE_COLUMNS),
            planes: list("planes"),
            events: list("events"),
            image: (v.get("image").filter(|i| !i.is_null())).map(|i| pick(i, IMAGE_COLUMNS)),
        }
    }

    fn normalise(r: FileRows) -> FileRows {
        // JSON text of nested values compared as JSON, whatever the key order.
        let norm = |v: Val| match v {
            Val::Text(t) if t.starts_with(['[', '{']) => {
                Val::Text(serde_json::from_str::<Value>(&t).map_or(t, |j| j.to_string()))
            }
            other => other,
        };
        let row = |r: Vec<Val>| r.into_iter().map(norm).collect::<Vec<_>>();
        FileRows {
            file: row(r.file),
            planes: r.planes.into_iter().map(row).collect(),
            events: r.events.into_iter().map(row).collect(),
            image: r.image.map(row),
        }
    }

    #[test]
    fn rows_equal_the_json_rows_for_every_testdata_file() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let inputs = crate::walk_inputs(&[dir.as_path()]);
        let extractor = crate::Extractor::new();
        let mut events = 0;
        let mut images = 0;
        for input in &inputs {
            let result = extractor.extract_path(&input.path);
            let entry = FileEntry::new(&input.path.display().to_string(), &result);
            let direct = FileRows::new(&entry);
            events += direct.events.len();
            images += usize::from(direct.image.is_some());
            assert_eq!(
                normalise(direct),
                normalise(through_json(&entry)),
                "{}",
                input.path.display()
            );
        }
        assert!(
            inputs.len() > 5 && events > 0 && images > 0,
            "{events} events, {images} images"
        );
    }
}

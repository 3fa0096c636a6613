use std::path::Path;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use super::*;
use crate::reference::{Survey, SurveyConfig, SurveyRecord};

/// Every file of testdata/, with its fate, and the procedures and survey made of them.
struct Testdata {
    files: Vec<FileEntry>,
    procedures: Vec<ProcedureRow>,
    survey: crate::reference::SurveyReport,
}

fn testdata() -> Testdata {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let inputs = crate::walk_inputs(&[dir]);
    let extractor = crate::Extractor::new();
    let mut files = Vec::new();
    let mut grouping = crate::Procedures::new();
    let mut skin = crate::skin::SkinInputs::default();
    crate::scan(&inputs, &extractor, |input, result| {
        files.push(FileEntry::scanned(input, &result));
        if let Ok(x) = &result {
            skin.add(&input.path.display().to_string(), x);
        }
        grouping.add_scanned(input, result);
    });
    let set = grouping.finish();
    for f in &mut files {
        if let Some(account) = set.files.iter().find(|a| a.label == f.path) {
            f.set_fate(account);
        }
    }
    let config = SurveyConfig {
        jurisdiction: Some("FR".to_owned()),
        ..SurveyConfig::default()
    };
    let mut survey = Survey::new(config).expect("bundled tables");
    for p in &set.procedures {
        survey.add(SurveyRecord::from_procedure(p));
    }
    Testdata {
        files,
        procedures: (set.procedures.iter())
            .map(|p| {
                let mut row = ProcedureRow::new(p);
                let settings = crate::skin::Settings::default();
                row.skin = skin
                    .procedure(p)
                    .map(|i| crate::skin::estimate(&i, &settings));
                row
            })
            .collect(),
        survey: survey.finish(),
    }
}

/// A skin estimate with a map: one perpendicular field on a plane phantom in a room whose
/// geometry the settings give.
fn mapped_example() -> crate::skin::SkinDose {
    let settings = crate::skin::Settings::from_json(
        r#"{"kerma_skin_settings": 1, "phantom": {"model": "plane"},
            "rooms": [{"manufacturer": "Acme", "models": ["X1"], "table_transmission": 1.0,
                       "table_zero_cm": {"x": 0, "y": 10, "z": 60}}]}"#,
    )
    .expect("settings");
    let e = crate::skin::SkinEvent {
        ka_r: crate::AirKerma::try_from_mgy(1000.0).ok(),
        kvp_kv: Some(80.0),
        primary_deg: Some(0.0),
        secondary_deg: Some(0.0),
        source_to_isocenter_cm: Some(80.0),
        source_to_detector_cm: Some(120.0),
        field_area_cm2: Some(400.0),
        table_longitudinal_mm: Some(0.0),
        table_lateral_mm: Some(0.0),
        table_height_mm: Some(0.0),
        ..crate::skin::SkinEvent::default()
    };
    let input = crate::skin::SkinInput {
        manufacturer: Some("Acme".into()),
        model: Some("X1".into()),
        events: vec![e],
        ..crate::skin::SkinInput::default()
    };
    let skin = crate::skin::estimate(&input, &settings);
    assert_eq!(skin.method, crate::skin::Method::Map);
    skin
}

/// The rows of a batch as JSON objects, read back through serde_arrow.
fn rows_of(batch: &RecordBatch) -> Vec<Value> {
    serde_arrow::from_record_batch(batch).expect("batch reads back")
}

/// The JSON of each row, as the JSON document writes it.
fn json_of<T: Serialize>(rows: &[T]) -> Vec<Value> {
    rows.iter()
        .map(|r| serde_json::to_value(r).expect("row serialises"))
        .collect()
}

fn parquet_round_trip(batch: &RecordBatch) -> RecordBatch {
    let mut bytes = Vec::new();
    write_parquet(&mut bytes, batch).expect("parquet written");
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .expect("parquet footer")
        .build()
        .expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
    arrow_select::concat::concat_batches(&batch.schema(), &batches).expect("same schema")
}

#[test]
fn tables_have_their_schema_also_when_empty() {
    let empty: [FileEntry; 0] = [];
    for (table, batch) in [
        (Table::Files, files_batch(&empty)),
        (Table::Events, events_batch(&empty)),
        (Table::Procedures, procedures_batch(&[])),
        (Table::Drl, drl_batch(&[])),
        (Table::Alerts, alerts_batch(&[])),
    ] {
        let batch = batch.expect("empty batch");
        assert_eq!(batch.num_rows(), 0, "{}", table.name());
        assert_eq!(batch.schema(), table.schema(), "{}", table.name());
    }
}

#[test]
fn every_table_holds_the_json_values() {
    let t = testdata();
    assert!(t.files.len() > 60 && !t.procedures.is_empty());
    assert!(!t.survey.drl.is_empty() && !t.survey.alerts.procedures.is_empty());

    let files = files_batch(&t.files).expect("files");
    assert_eq!(files.schema(), Table::Files.schema());
    let expected: Vec<Value> = json_of(&t.files)
        .into_iter()
        .map(|mut v| {
            v.as_object_mut().expect("object").remove("events");
            v
        })
        .collect();
    assert_eq!(rows_of(&files), expected);

    let events = events_batch(&t.files).expect("events");
    let mut expected = Vec::new();
    for f in &t.files {
        for e in f.events.as_deref().unwrap_or(&[]) {
            let mut v = serde_json::to_value(e).expect("event");
            let o = v.as_object_mut().expect("object");
            o.insert("path".into(), Value::from(f.path.clone()));
            o.insert(
                "sop_instance_uid".into(),
                serde_json::json!(f.sop_instance_uid),
            );
            o.insert("procedure".into(), serde_json::json!(f.procedure));
            expected.push(v);
        }
    }
    assert!(expected.len() > 100);
    assert_eq!(rows_of(&events), expected);

    // Testdata's rooms have no known geometry: one procedure gets a map on a room that has.
    let mut procedures = t.procedures.clone();
    let mut mapped = procedures[0].clone();
    mapped.skin = Some(mapped_example());
    procedures.push(mapped);
    let batch = procedures_batch(&procedures).expect("procedures");
    // Procedures with and without a skin estimate, maps and bounds with their reasons.
    let skins: Vec<_> = procedures.iter().map(|p| p.skin.as_ref()).collect();
    assert!(skins.iter().any(Option::is_none));
    assert!(skins.iter().flatten().any(|s| s.location.is_some()));
    assert!(skins.iter().flatten().any(|s| s.reason.is_some()));
    assert_eq!(rows_of(&batch), json_of(&procedures));
    let drl = drl_batch(&t.survey.drl).expect("drl");
    assert_eq!(rows_of(&drl), json_of(&t.survey.drl));
    let alerts = alerts_batch(&t.survey.alerts.procedures).expect("alerts");
    assert_eq!(rows_of(&alerts), json_of(&t.survey.alerts.procedures));
}

#[test]
fn parquet_reads_back_the_same_batch() {
    let t = testdata();
    for batch in [
        files_batch(&t.files),
        events_batch(&t.files),
        procedures_batch(&t.procedures),
        drl_batch(&t.survey.drl),
        alerts_batch(&t.survey.alerts.procedures),
    ] {
        let batch = batch.expect("batch");
        assert!(batch.num_rows() > 0);
        assert_eq!(parquet_round_trip(&batch), batch);
    }
}

#[test]
fn a_failed_write_is_an_error() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let t = testdata();
    let batch = procedures_batch(&t.procedures).expect("procedures");
    let e = write_parquet(Full, &batch).expect_err("nothing can be written");
    assert!(e.to_string().contains("disk full"), "{e}");
}

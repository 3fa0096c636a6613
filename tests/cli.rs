//! The kerma-report example program, run as a user would: JSON keys, accounting of every
//! input, the table, exit codes and messages, `--list`.

mod cli_support;

use std::path::Path;

use cli_support::{TESTDATA, copy_good_fixtures, count_files, json_of, run};
use serde_json::Value;

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

#[path = "fixtures/mod.rs"]
mod fixtures;

#[test]
fn nothing_to_read_exits_2_saying_what_was_looked_at() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = run(&["--format", "json", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no report of nothing");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no file found") && stderr.contains(empty.to_str().unwrap()),
        "{stderr}"
    );

    let notes = tmp.path().join("notes");
    std::fs::create_dir(&notes).unwrap();
    std::fs::write(notes.join("README.md"), "# not DICOM\n").unwrap();
    std::fs::write(notes.join("list.txt"), "nothing here\n").unwrap();
    let out = run(&[notes.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for word in [
        "no DICOM file found",
        notes.to_str().unwrap(),
        "2 files looked at",
        "not a DICOM file: 2",
    ] {
        assert!(stderr.contains(word), "{word:?} not in {stderr}");
    }
}

#[test]
fn since_after_until_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    copy_good_fixtures(dir.path());
    let path = dir.path().to_str().unwrap();
    let out = run(&["--since", "2026-06-01", "--until", "20260101", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--since 2026-06-01 is after --until 2026-01-01"),
        "{stderr}"
    );
    // the same day is a period
    let out = run(&["--since", "2026-03-15", "--until", "2026-03-15", path]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
}

#[test]
fn table_rows_with_unknown_code_or_jurisdiction_are_warned_by_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    copy_good_fixtures(&data);
    let drl = dir.path().join("local-drl.csv");
    std::fs::write(
        &drl,
        "source_id,jurisdiction,year,procedure_code,population,quantity,unit,value\n\
         # local levels\n\
         LOCAL_2026,FR,2026,pci,adult,pka,Gy.cm2,60\n\
         LOCAL_2026,FR,2026,coronarographie,adult,pka,Gy.cm2,30\n\
         LOCAL_2026,XY,2026,pci,adult,ka_r,mGy,900\n",
    )
    .unwrap();
    let triggers = dir.path().join("local-triggers.csv");
    std::fs::write(
        &triggers,
        "source_id,jurisdiction,procedure_code,quantity,unit,value\n\
         LOCAL_T,QQ,,pka,Gy.cm2,400\n",
    )
    .unwrap();
    let mapping = dir.path().join("local-map.csv");
    std::fs::write(
        &mapping,
        "priority,procedure_code,match,pattern\n\
         10,pci,word,ptca\n\
         10,ptca_local,word,ptca local\n",
    )
    .unwrap();
    let out = run(&[
        "--format",
        "json",
        "--drl",
        drl.to_str().unwrap(),
        "--triggers",
        triggers.to_str().unwrap(),
        "--mapping",
        mapping.to_str().unwrap(),
        data.to_str().unwrap(),
    ]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    json_of(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "one warning per unknown value:\n{stderr}");
    let expect = [
        (&drl, 4, "procedure code \"coronarographie\""),
        (&drl, 5, "jurisdiction \"XY\""),
        (&triggers, 2, "jurisdiction \"QQ\""),
        (&mapping, 3, "procedure code \"ptca_local\""),
    ];
    for (file, line, what) in expect {
        let place = format!("{}:{line}: {what}", file.display());
        assert!(
            lines
                .iter()
                .any(|l| l.contains("warning") && l.contains(&place)),
            "no warning {place:?} in:\n{stderr}"
        );
    }
}

#[test]
fn list_prints_procedure_types_jurisdictions_and_reference_levels() {
    let bundled = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/reference-levels/drl.csv"
    ))
    .unwrap();
    let mut rows = csv::Reader::from_reader(bundled.as_bytes());
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert!(rows.len() > 20);

    let out = run(&["--list", "procedure-types"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for r in &rows {
        // code and English name on one line
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{} ", &r[3])) && l.contains(&r[5])),
            "{} {} not listed:\n{text}",
            &r[3],
            &r[5]
        );
    }

    let out = run(&["--list", "jurisdictions"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("FR  France"), "{text}");
    for r in &rows {
        assert!(text.contains(&format!("{}  ", &r[1])), "{} missing", &r[1]);
        assert!(text.contains(&r[0]), "source {} missing", &r[0]);
    }

    let local = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        local.path(),
        "source_id,jurisdiction,year,procedure_code,quantity,unit,value\n\
         LOCAL_CHU_2026,FR,2026,pci,pka,Gy.cm2,61.5\n",
    )
    .unwrap();
    let out = run(&["--list", "drl", "--drl", local.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let listed = text
        .lines()
        .filter(|l| l.contains("bundled:drl.csv:"))
        .count();
    assert_eq!(listed, rows.len(), "every bundled level, once:\n{text}");
    for (i, r) in rows.iter().enumerate() {
        let line = text
            .lines()
            .find(|l| l.ends_with(&format!("bundled:drl.csv:{}", i + 2)))
            .unwrap_or_else(|| panic!("row {} missing", i + 2));
        assert!(line.contains(&r[0]) && line.contains(&r[3]), "{line}");
    }
    assert!(
        text.lines()
            .any(|l| l.contains("LOCAL_CHU_2026") && l.contains("61.5")),
        "{text}"
    );
}

/// The lines of the table before the first empty line, without the header.
fn table_lines(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn table_has_one_line_per_procedure_or_per_file_with_by_file() {
    let doc = json_of(&run(&["--format", "json", TESTDATA]));
    let procedures = doc["procedures"].as_array().unwrap();
    let out = run(&[TESTDATA]);
    let lines = table_lines(&out.stdout);
    assert_eq!(lines.len(), procedures.len());
    for (line, p) in lines.iter().zip(procedures) {
        assert!(line.starts_with(p["id"].as_str().unwrap()), "{line}");
        if let Some(d) = p["study_date"].as_str() {
            let iso = format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]);
            assert!(line.contains(&iso), "{line} lacks {iso}");
        }
    }
    let by_file = table_lines(&run(&["--by", "file", TESTDATA]).stdout);
    // one line per file, one more per extra plane
    let planes: usize = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["planes"].as_array().map_or(1, |p| p.len().max(1)))
        .sum();
    assert_eq!(by_file.len(), planes);
    assert!(by_file.iter().any(|l| l.contains("rdsr_truncated.dcm")));
}

#[test]
fn summary_names_the_patient_and_procedure_of_each_alert() {
    let out = run(&[TESTDATA]);
    let text = String::from_utf8(out.stdout).unwrap();
    let summary = text.split("\nSummary\n").nth(1).expect("a summary");
    let doc = json_of(&run(&["--format", "json", TESTDATA]));
    let alerts = doc["alerts"]["procedures"].as_array().unwrap();
    assert!(!alerts.is_empty(), "testdata reaches a trigger level");
    for a in alerts {
        let who = format!(
            "{} patient {}",
            a["procedure_id"].as_str().unwrap(),
            a["patient_id"].as_str().unwrap()
        );
        assert!(
            summary
                .lines()
                .any(|l| l.contains(&who) && l.contains(a["source_id"].as_str().unwrap())),
            "{who} not in:\n{summary}"
        );
    }
    assert!(
        summary.contains("patient PAT-CUMUL"),
        "the cumulative alert:\n{summary}"
    );
    assert!(!summary.contains("insufficient"), "plain words:\n{summary}");
}

/// An RDSR whose 300 events each write DAP in the non-UCUM unit `Gym2`.
fn repeated_warning_report(dir: &Path) {
    let mut r = fixtures::single_plane_report(950);
    let template = r.events[0].clone();
    r.events = (1..=300)
        .map(|i| fixtures::rdsr::Event {
            uid: Some(fixtures::event_uid(950, i)),
            dap: Some(fixtures::sr::num("0.0001", "Gym2")),
            ..template.clone()
        })
        .collect();
    std::fs::write(dir.join("many_events.dcm"), r.to_bytes()).unwrap();
}

#[test]
fn a_warning_repeated_for_many_events_is_shown_once_with_its_count() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    repeated_warning_report(&data);
    let warning = "Dose Area Product (122130, DCM): non-UCUM unit \"Gym2\" accepted as an alias";
    let counted = format!("{warning} (×300)");

    // JSON keeps every warning
    let doc = json_of(&run(&["--format", "json", data.to_str().unwrap()]));
    let warnings = doc["files"][0]["warnings"].as_array().unwrap();
    assert_eq!(warnings.iter().filter(|w| *w == warning).count(), 300);

    let out_dir = tmp.path().join("out");
    let out = run(&["--out", out_dir.to_str().unwrap(), data.to_str().unwrap()]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(table.matches(warning).count(), 1, "{table}");
    assert!(table.contains(&counted), "{table}");

    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    let escaped = counted.replace('"', "&quot;");
    assert_eq!(html.matches(&escaped).count(), 1, "once in report.html");

    let mut r = csv::Reader::from_path(out_dir.join("files.csv")).unwrap();
    let column = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "warnings")
        .unwrap();
    let cell = r.records().next().unwrap().unwrap()[column].to_owned();
    assert_eq!(cell.matches(warning).count(), 1, "{cell}");
    assert!(cell.contains(&counted), "{cell}");
}

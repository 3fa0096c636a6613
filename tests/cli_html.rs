//! report.html of kerma-report `--out`: what it shows, that it escapes every text, and that it
//! renders in a browser.

mod cli_support;
mod common;

#[path = "fixtures/mod.rs"]
mod fixtures;

use std::path::Path;

use cli_support::{TESTDATA, chromium, run, screenshot};
use common::corpus_dir;
use serde_json::Value;

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

/// HTML-escapes text as the page does.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// report.html and the JSON document of one run over `paths` with `extra` options.
fn report(paths: &[&str], extra: &[&str]) -> (String, Value) {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let mut args = vec!["--out", out_dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(paths);
    let out = run(&args);
    assert!(out.status.code().is_some(), "kerma-report ran");
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    let doc = serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap())
        .unwrap();
    (html, doc)
}

/// The procedure ids of the rows of the procedure tables, in page order.
fn procedure_table_ids(html: &str) -> Vec<String> {
    let start = html.find("id=\"procedures\"").expect("a procedure section");
    let end = start + html[start..].find("<h2").expect("a section after it");
    let mut ids = Vec::new();
    for table in html[start..end]
        .split("<table class=\"procedures\">")
        .skip(1)
    {
        let table = &table[..table.find("</table>").unwrap()];
        for row in table.split("<tr").skip(2) {
            // the second cell is the procedure id
            let cells: Vec<&str> = row.split("<td").collect();
            let cell = cells[2];
            let text = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
            ids.push(text.to_owned());
        }
    }
    ids
}

#[test]
fn html_report_reads_from_its_header_to_its_file_accounting() {
    let (html, doc) = report(&[TESTDATA], &[]);
    let list = |v: &Value| v.as_array().unwrap().clone();

    // what the report covers
    let files = doc["accounting"]["files"].as_u64().unwrap();
    for word in [
        "Report date",
        &format!("kerma-report {}", env!("CARGO_PKG_VERSION")),
        &format!("{TESTDATA} ({files} files)"),
        "Period",
        "2026-03-01 to 2026-06-21",
        "Jurisdiction",
        "FR: ",
        "Reference levels compared with",
        "FR_RAYACT_GEORGES_2014 (2014)",
        "Trigger levels evaluated",
    ] {
        assert!(html.contains(&esc(word)), "no {word:?} in the header");
    }

    // the procedures, highest P_KA first, every one listed
    let mut procedures = list(&doc["procedures"]);
    procedures.sort_by(|a, b| {
        let v = |p: &Value| p["dap_total_gy_cm2"].as_f64().unwrap_or(f64::NEG_INFINITY);
        v(b).total_cmp(&v(a))
            .then_with(|| a["id"].as_str().cmp(&b["id"].as_str()))
    });
    let expected: Vec<String> = procedures
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(procedure_table_ids(&html), expected);

    // every alert with its patient and procedure
    let alerts_at = html.find("<h2>Alerts").unwrap();
    let alerts = &html[alerts_at..html.find("id=\"procedures\"").unwrap()];
    for a in list(&doc["alerts"]["procedures"]) {
        for key in ["procedure_id", "patient_id", "source_id"] {
            let v = a[key].as_str().unwrap();
            assert!(
                alerts.contains(&format!("<td>{}", esc(v))),
                "alert lacks {key} {v}"
            );
        }
    }

    // plain words
    assert!(html.contains("fewer than 10 procedures"));
    assert!(!html.contains("insufficient_sample"));
    assert!(html.contains("Diagnostic coronary angiography"));
    assert!(html.contains("Percutaneous coronary intervention"));
    // the rest of the DRL rows one click away, without a script
    assert!(html.contains("<details>"));
    assert!(!html.contains("<script"));

    // strip plots: each typed procedure's point names it; the outlier is labelled; the DRL
    let typed: Vec<String> = list(&doc["procedure_types"])
        .into_iter()
        .filter(|t| !t["procedure_code"].is_null())
        .map(|t| t["procedure_id"].as_str().unwrap().to_owned())
        .collect();
    let points: usize = procedures
        .iter()
        .filter(|p| typed.iter().any(|t| p["id"] == t.as_str()))
        .map(|p| {
            usize::from(!p["dap_total_gy_cm2"].is_null())
                + usize::from(!p["ka_r_total_mgy"].is_null())
        })
        .sum();
    assert!(points > 40, "testdata has typed procedures: {points}");
    let plots_at = html.find("per procedure type and room</h2>").unwrap();
    let plots = &html[plots_at..html.find("over time, by room</h2>").unwrap()];
    assert_eq!(
        plots.matches("<circle ").count(),
        points,
        "P_KA and K_a,r points"
    );
    assert_eq!(
        plots.matches("<title>").count(),
        plots.matches("<circle ").count()
    );
    assert!(
        plots.contains("<title>P0044 · 2026-04-11"),
        "a tooltip names the procedure"
    );
    assert!(
        plots.contains(">\nP0044\n</text>"),
        "the outlier is labelled"
    );
    assert!(plots.contains("DRL 45.2 Gy·cm² (FR_RAYACT_GEORGES_2014)"));
    assert!(plots.contains("P_KA (Gy·cm²)") && plots.contains("K_a,r (mGy)"));

    // P_KA over time per room
    let time = &html[html.find("over time, by room</h2>").unwrap()..];
    assert!(time.contains("study date") && time.contains("<circle "));

    // untyped descriptions, then the file accounting at the end
    let untyped = html
        .find("Descriptions without a procedure type</h2>")
        .unwrap();
    assert!(html[untyped..].contains("Chest PA"));
    let accounting = html.find("<h2>Input files</h2>").unwrap();
    assert!(untyped < accounting);
    for f in list(&doc["files"]) {
        assert!(html[accounting..].contains(&esc(f["path"].as_str().unwrap())));
    }
}

/// A text that must reach the page as text.
const MARK: &str = "<img src=x onerror=alert(1)>";

#[test]
fn html_escapes_every_text_field_that_reaches_the_page() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // typed by a local rule into a local type whose name is markup
    let mut typed = fixtures::single_plane_report(960);
    typed.header.patient_id = format!("{MARK}1");
    typed.header.study_description = "<b>zzmark</b>".into();
    std::fs::write(data.join("typed.dcm"), typed.to_bytes()).unwrap();
    // untyped, in a room without a Device Observer UID: keyed by its manufacturer, model and
    // serial number, named by its station
    let mut untyped = fixtures::single_plane_report(961);
    untyped.header.patient_id = format!("{MARK}2");
    untyped.header.study_description = "<script>alert(2)</script>".into();
    untyped.header.station = "<tt>ST</tt>".into();
    untyped.header.manufacturer = "<i>ACME</i>".into();
    untyped.header.model = "<s>M1</s>".into();
    untyped.device.uid = None;
    untyped.device.manufacturer = Some("<u>SALLE</u>".into());
    untyped.device.name = Some("<q>CATH</q>".into());
    std::fs::write(data.join("<em>&untyped.dcm"), untyped.to_bytes()).unwrap();

    let mapping = tmp.path().join("map.csv");
    std::fs::write(
        &mapping,
        "priority,procedure_code,match,pattern\n10,local_type,word,zzmark\n",
    )
    .unwrap();
    let drl = tmp.path().join("drl.csv");
    std::fs::write(
        &drl,
        "source_id,jurisdiction,year,procedure_code,procedure_name_en,quantity,unit,value\n\
         LOCAL,FR,2026,local_type,<marquee>Local</marquee>,pka,Gy.cm2,1\n",
    )
    .unwrap();
    let triggers = tmp.path().join("triggers.csv");
    std::fs::write(
        &triggers,
        "source_id,jurisdiction,procedure_code,quantity,unit,value,action\n\
         LOCAL_T,FR,,pka,Gy.cm2,0.001,<blink>call</blink>\n",
    )
    .unwrap();
    let (html, _) = report(
        &[data.to_str().unwrap()],
        &[
            "--mapping",
            mapping.to_str().unwrap(),
            "--drl",
            drl.to_str().unwrap(),
            "--triggers",
            triggers.to_str().unwrap(),
        ],
    );
    for text in [
        &format!("{MARK}1"),
        &format!("{MARK}2"),
        "<script>alert(2)</script>",
        "<tt>ST</tt>",
        "<marquee>Local</marquee>",
        "<blink>call</blink>",
        "<em>&untyped.dcm",
    ] {
        assert!(
            html.contains(&esc(text)),
            "{text:?} is not on the page, escaped"
        );
    }
    for tag in [
        "<img", "<script", "<u>", "<marquee", "<blink", "<em>", "<q>", "<i>", "<s>", "<b>z",
    ] {
        assert!(!html.contains(tag), "{tag} reached the page as markup");
    }
}

/// Renders report.html in Chromium: no console error, not blank, and the rendered page has
/// the procedure table and a plot with points. With `KERMA_SCREENSHOT_DIR` set, the
/// screenshot is kept there as `name.png`.
fn renders(chromium: &Path, html: &Path, name: &str, tmp: &Path) {
    let (report_png, log) = screenshot(
        chromium,
        &format!("file://{}", html.display()),
        &tmp.join(format!("{name}.png")),
        &tmp.join(format!("profile-{name}")),
    );
    // Console messages reach the log as `CONSOLE(...)`; page errors as `Uncaught`.
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("ERR_FILE"))
        .collect();
    assert!(
        bad.is_empty(),
        "{name}: console errors:\n{}",
        bad.join("\n")
    );
    assert!(
        report_png > 0,
        "{name}: no screenshot; chromium said:\n{log}"
    );
    if let Some(dir) = std::env::var_os("KERMA_SCREENSHOT_DIR") {
        std::fs::copy(
            tmp.join(format!("{name}.png")),
            Path::new(&dir).join(format!("{name}.png")),
        )
        .unwrap();
    }

    // Not blank: the same window on an empty page compresses to far fewer bytes.
    let blank = tmp.join("blank.html");
    std::fs::write(&blank, "<!doctype html><html><body></body></html>").unwrap();
    let (blank_png, _) = screenshot(
        chromium,
        &format!("file://{}", blank.display()),
        &tmp.join("blank.png"),
        &tmp.join(format!("profile-blank-{name}")),
    );
    assert!(
        report_png > 4 * blank_png.max(1),
        "{name}: screenshot ({report_png} B) looks blank next to an empty page ({blank_png} B)"
    );

    // The page as the browser built it.
    let dom = std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!(
            "--user-data-dir={}",
            tmp.join(format!("profile-dom-{name}")).display()
        ))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium --dump-dom");
    let dom = String::from_utf8_lossy(&dom.stdout);
    let table = dom
        .split("<table class=\"procedures\">")
        .nth(1)
        .unwrap_or_else(|| panic!("{name}: no procedure table in the rendered page"));
    let rows = table[..table.find("</table>").unwrap()]
        .matches("<tr")
        .count();
    assert!(rows > 1, "{name}: the procedure table has no procedure");
    assert!(
        dom.split("<svg").skip(1).any(|svg| svg.contains("<circle")),
        "{name}: no plot with points in the rendered page"
    );
}

#[test]
fn report_html_renders_in_a_browser_with_its_procedure_table_and_plots() {
    let Some(chromium) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("testdata");
    let out = run(&["--out", out_dir.to_str().unwrap(), TESTDATA]);
    assert!(out.status.code().is_some(), "kerma-report ran");
    renders(
        &chromium,
        &out_dir.join("report.html"),
        "testdata",
        tmp.path(),
    );

    let Some(corpus) = corpus_dir() else { return };
    let out_dir = tmp.path().join("corpus");
    let out = run(&["--out", out_dir.to_str().unwrap(), corpus.to_str().unwrap()]);
    assert!(out.status.code().is_some(), "kerma-report ran");
    renders(
        &chromium,
        &out_dir.join("report.html"),
        "corpus",
        tmp.path(),
    );
}

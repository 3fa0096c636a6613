//! Rooms: keys (PS3.16 TID 1004 device observer, then the header), names a person
//! recognises, `--room` and `--rooms`; on generated fixtures, testdata and the real corpus.

mod cli_support;
mod common;
#[path = "fixtures/mod.rs"]
mod fixtures;

use std::collections::BTreeMap;
use std::path::PathBuf;

use cli_support::{TESTDATA, json_of, run};
use fixtures::catalog::single_plane_report;
use fixtures::image::{HeaderDap, Image, ImageKind};
use kerma::reference::{GroupScope, Survey, SurveyConfig, SurveyRecord};
use kerma::{Procedure, ProcedureSet, Procedures, RoomList, RoomTable};
use serde_json::Value;

fn group(files: Vec<(String, Vec<u8>)>) -> ProcedureSet {
    let mut p = Procedures::new();
    for (label, bytes) in files {
        p.add(label, kerma::extract_bytes(&bytes));
    }
    p.finish()
}

/// The procedure of patient `PAT-<n>`.
fn patient(set: &ProcedureSet, n: u32) -> &Procedure {
    let id = format!("PAT-{n:04}");
    set.procedures
        .iter()
        .find(|p| p.patient_id.as_deref() == Some(id.as_str()))
        .unwrap_or_else(|| panic!("no procedure of {id}"))
}

/// An RDSR of fixture `n`: device observer UID, name and serial number, header station name
/// (empty: absent) and serial number.
fn report(n: u32, uid: Option<&str>, name: Option<&str>, station: &str) -> (String, Vec<u8>) {
    let mut r = single_plane_report(n);
    r.device.uid = uid.map(str::to_owned);
    r.device.name = name.map(str::to_owned);
    r.device.manufacturer = Some("ACME".into());
    r.device.model = Some("X1".into());
    r.device.serial = Some(format!("77{n}"));
    r.header.station = station.into();
    r.header.charset = Some(vec!["ISO_IR 192".into()]);
    (format!("r{n}.dcm"), r.to_bytes())
}

/// An XA image of fixture `n` with a DAP, and the header's station, make, model and serial.
fn image(
    n: u32,
    station: Option<&str>,
    make_model: Option<(&str, &str)>,
    serial: Option<&str>,
) -> (String, Vec<u8>) {
    let mut i = Image::new(ImageKind::Xa, n);
    i.dap = Some(HeaderDap::Ds("123.4".into()));
    i.station = station.map(str::to_owned);
    i.manufacturer = make_model.map(|m| m.0.to_owned());
    i.model = make_model.map(|m| m.1.to_owned());
    i.serial = serial.map(str::to_owned);
    (format!("i{n}.dcm"), i.to_bytes())
}

#[test]
fn keys_follow_the_device_observer_then_the_header_and_names_the_station() {
    let set = group(vec![
        report(1, Some("1.2.3.1"), Some("OBS1"), "Salle Écho"),
        report(2, Some("1.2.3.1"), Some("OBS1"), "Salle Écho"),
        // no Device Observer UID: the device observer's make, model and serial number
        report(3, None, Some("OBS3"), ""),
        // neither station nor observer name: make, model and serial number
        report(4, Some("1.2.3.4"), None, ""),
        image(5, Some("SALLE9"), Some(("M", "X")), Some("SN-9")),
        image(6, Some("SALLE10"), Some(("M", "X")), None),
        image(7, None, Some(("M", "Y")), None),
        image(8, None, None, None),
    ]);
    let room = |n: u32| {
        let r = &patient(&set, n).room;
        assert_eq!(r.key, r.device_key, "no table: the room is the device");
        (r.key.as_str(), r.weak, r.name.as_str())
    };
    assert_eq!(room(1), ("1.2.3.1", false, "Salle Écho"));
    assert_eq!(room(2), room(1));
    assert_eq!(room(3), ("ACME X1 #773", false, "OBS3"));
    assert_eq!(room(4), ("1.2.3.4", false, "ACME X1 (774)"));
    assert_eq!(room(5), ("M X #SN-9", false, "SALLE9"));
    assert_eq!(room(6), ("SALLE10", true, "SALLE10"));
    assert_eq!(room(7), ("M Y", true, "M Y"));
    assert_eq!(room(8), ("unknown", true, "unknown"));
    let p3 = &patient(&set, 3).room;
    assert_eq!(
        (p3.manufacturer.as_deref(), p3.serial_number.as_deref()),
        (Some("ACME"), Some("773"))
    );
}

#[test]
fn a_station_name_shared_by_two_devices_names_two_rooms() {
    let set = group(vec![
        report(1, Some("1.2.3.1"), None, "ANGIO"),
        report(2, Some("1.2.3.2"), None, "ANGIO"),
        report(3, Some("1.2.3.2"), None, "angio"),
    ]);
    // the serial numbers differ (771, 772, 773): the room of 1.2.3.2 has two
    let names: Vec<&str> = (1..=3)
        .map(|n| patient(&set, n).room.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["ANGIO (SN 771)", "angio (1.2.3.2)", "angio (1.2.3.2)"]
    );
    let rooms = RoomList::of(&set.procedures);
    assert_eq!(rooms.len(), 2);
    assert_eq!(rooms.select("Angio").len(), 2);
    assert_eq!(rooms.select("772").len(), 1);
}

#[test]
fn room_selection_prefers_an_exact_name_to_a_part_of_one() {
    let set = group(vec![
        report(1, Some("1.2.3.1"), None, "SALLE1"),
        report(2, Some("1.2.3.2"), None, "SALLE10"),
        report(3, Some("1.2.3.3"), None, "Échographie"),
    ]);
    let rooms = RoomList::of(&set.procedures);
    let names =
        |q: &str| -> Vec<String> { rooms.select(q).iter().map(|r| r.name.clone()).collect() };
    assert_eq!(names("salle1"), ["SALLE1"]);
    assert_eq!(names("SALLE"), ["SALLE1", "SALLE10"]);
    assert_eq!(names("echographie"), ["Échographie"]);
    assert_eq!(names("1.2.3.2"), ["SALLE10"]);
    assert_eq!(names("773"), ["Échographie"]);
    assert!(names("SALLE2").is_empty());
    assert!(names(" ").is_empty());
    // numbered by name, from 1
    let numbered: Vec<(String, &str)> =
        rooms.iter().map(|r| (r.label(), r.name.as_str())).collect();
    assert_eq!(
        numbered,
        [
            ("R1".to_owned(), "Échographie"),
            ("R2".to_owned(), "SALLE1"),
            ("R3".to_owned(), "SALLE10")
        ]
    );
}

#[test]
fn a_station_row_makes_one_room_of_every_device_at_that_station() {
    let mut set = group(vec![
        report(1, Some("1.2.3.1"), None, "SALLE2"),
        report(2, Some("1.2.3.2"), None, "SALLE2"),
        image(3, Some("salle2"), Some(("M", "X")), Some("SN-3")),
        report(4, Some("1.2.3.4"), None, "SALLE4"),
    ]);
    assert_eq!(RoomList::of(&set.procedures).len(), 4);
    let mut table = RoomTable::new();
    table
        .load_csv(
            "rooms.csv",
            "key,name\nSalle2,Salle de coronarographie\n".as_bytes(),
        )
        .unwrap();
    set.apply_room_table(&table);
    let rooms = RoomList::of(&set.procedures);
    let listed: Vec<(&str, &str, usize)> = rooms
        .iter()
        .map(|r| (r.key.as_str(), r.name.as_str(), r.device_keys.len()))
        .collect();
    assert_eq!(
        listed,
        [
            ("Salle2", "Salle de coronarographie", 3),
            ("1.2.3.4", "SALLE4", 1)
        ]
    );
}

fn testdata_set(prefix: &str) -> ProcedureSet {
    let mut files: Vec<PathBuf> = std::fs::read_dir(TESTDATA)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    files.sort();
    let mut p = Procedures::new();
    for f in files {
        p.add(f.display().to_string(), kerma::extract_path(&f));
    }
    p.finish()
}

/// The survey of `set` with the bundled tables, each procedure's room as the program passes
/// it.
fn survey(set: &ProcedureSet) -> kerma::reference::SurveyReport {
    let mut s = Survey::new(SurveyConfig::default()).unwrap();
    for p in &set.procedures {
        s.add(SurveyRecord {
            procedure_id: p.id.clone(),
            patient_id: p.patient_id.clone(),
            room: p.room.key.clone(),
            room_name: p.room.name.clone(),
            date: p.study_date.clone(),
            texts: vec![kerma::reference::ProcedureText::new(
                kerma::reference::TextField::StudyDescription,
                p.identity.study_description.clone().unwrap_or_default(),
            )],
            dap: p.dap_total,
            ka_r: p.ka_r_sum_of_planes,
            complete: true,
            ka_r_comparable: true,
            ..SurveyRecord::default()
        });
    }
    s.finish()
}

#[test]
fn survey_rows_name_their_room_and_a_table_regroups_them() {
    let mut set = testdata_set("survey_");
    let name_of: BTreeMap<String, String> = set
        .procedures
        .iter()
        .map(|p| (p.room.key.clone(), p.room.name.clone()))
        .collect();
    assert_eq!(
        name_of.values().collect::<Vec<_>>(),
        ["SALLE1", "SALLE2"],
        "{name_of:?}"
    );
    let report = survey(&set);
    let rooms: Vec<_> = report
        .drl
        .iter()
        .filter(|d| d.scope == GroupScope::Room)
        .collect();
    assert!(!rooms.is_empty());
    for d in &rooms {
        let key = d.room.as_deref().unwrap();
        assert_eq!(d.room_name.as_deref(), Some(name_of[key].as_str()), "{d:?}");
    }
    for d in report
        .drl
        .iter()
        .filter(|d| d.scope == GroupScope::AllRooms)
    {
        assert_eq!((d.room.as_deref(), d.room_name.as_deref()), (None, None));
    }
    assert!(!report.alerts.procedures.is_empty());
    for a in &report.alerts.procedures {
        assert_eq!(a.room_name, name_of[&a.room]);
    }
    for t in &report.procedure_types {
        assert_eq!(t.room_name, name_of[&t.room]);
    }
    for p in &report.alerts.proportions {
        let name = p.room.as_ref().map(|k| name_of[k].as_str());
        assert_eq!(p.room_name.as_deref(), name);
    }

    // SALLE2 found by its station name; SALLE1's device joins it (a new detector)
    let mut table = RoomTable::new();
    table
        .load_csv(
            "rooms.csv",
            "key,name,same_room_as\n\
             salle2,Salle de coronarographie,\n\
             1.2.826.0.1.3680043.10.1234.9.100,,SALLE2\n"
                .as_bytes(),
        )
        .unwrap();
    set.apply_room_table(&table);
    for p in &set.procedures {
        assert_eq!(
            p.room.key, "salle2",
            "the key of the row joined, as written"
        );
        assert_eq!(p.room.name, "Salle de coronarographie");
    }
    let devices: Vec<&str> = set
        .procedures
        .iter()
        .map(|p| p.room.device_key.as_str())
        .collect();
    assert!(devices.contains(&"1.2.826.0.1.3680043.10.1234.9.100"));
    let report = survey(&set);
    let code = "coronary_angiography";
    let rows: Vec<_> = report
        .drl
        .iter()
        .filter(|d| d.procedure_code == code && d.quantity == kerma::reference::DrlQuantity::Pka)
        .collect();
    // one room now: its row and the all-rooms row count the same procedures
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[0].room_name.as_deref(),
        Some("Salle de coronarographie")
    );
    assert_eq!(rows[0].n, rows[1].n);
    assert_eq!(rows[0].n, 12);

    // an empty table gives back the rooms of the files
    set.apply_room_table(&RoomTable::new());
    let names: BTreeMap<String, String> = set
        .procedures
        .iter()
        .map(|p| (p.room.key.clone(), p.room.name.clone()))
        .collect();
    assert_eq!(names, name_of);
}

// ---------------------------------------------------------------------------------------
// The program

/// A folder with the survey fixtures of testdata (rooms SALLE1 and SALLE2, no bad file).
fn survey_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(TESTDATA).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.starts_with("survey_") {
            std::fs::copy(&path, dir.path().join(name)).unwrap();
        }
    }
    dir
}

/// The `room` of every procedure of a JSON document, with its count.
fn rooms_of(doc: &Value) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for p in doc["procedures"].as_array().unwrap() {
        *m.entry(p["room"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    m
}

#[test]
fn room_option_matches_name_key_station_or_serial_without_regard_to_case_or_accents() {
    let dir = survey_folder();
    let path = dir.path().to_str().unwrap();
    let all = run(&["--format", "json", path]);
    let code = all.status.code();
    assert!(all.stderr.is_empty());
    let both = rooms_of(&json_of(&all));
    assert_eq!(both.len(), 2);
    let only = |room: &str, n: usize| BTreeMap::from([(room.to_owned(), n)]);
    for (query, expected) in [
        ("salle1", only("SALLE1", both["SALLE1"])),
        ("Sallé2", only("SALLE2", both["SALLE2"])),
        (
            "1.2.826.0.1.3680043.10.1234.9.101",
            only("SALLE2", both["SALLE2"]),
        ),
        // no room is "SALLE": the rooms whose name contains it
        ("SALLE", both.clone()),
        // the serial number of both devices
        ("sn-1001", both.clone()),
    ] {
        let out = run(&["--format", "json", "--room", query, path]);
        assert!(out.stderr.is_empty(), "{query}");
        assert_eq!(rooms_of(&json_of(&out)), expected, "{query}");
    }
    let out = run(&["--format", "json", "--room", "SALLE3", path]);
    assert_eq!(rooms_of(&json_of(&out)).len(), 0);
    let warning = String::from_utf8_lossy(&out.stderr);
    assert!(
        warning.contains("--room \"SALLE3\" matches no room")
            && warning.contains("\"SALLE1\", \"SALLE2\""),
        "{warning}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "nothing selected, nothing exceeded"
    );
    assert!(matches!(code, Some(0 | 1)));
}

#[test]
fn a_rooms_file_names_rooms_in_every_output() {
    let dir = survey_folder();
    let work = tempfile::tempdir().unwrap();
    let rooms = work.path().join("rooms.csv");
    std::fs::write(
        &rooms,
        "# our rooms\nkey,name,notes\nSALLE1,Salle A,coro\n1.2.826.0.1.3680043.10.1234.9.101,Salle B,\n",
    )
    .unwrap();
    let out_dir = work.path().join("out");
    let out = run(&[
        "--format",
        "json",
        "--rooms",
        rooms.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    let doc = json_of(&out);
    let names = rooms_of(&doc);
    assert_eq!(names.keys().collect::<Vec<_>>(), ["Salle A", "Salle B"]);
    for p in doc["procedures"].as_array().unwrap() {
        // the key of the table's row: a station name, or the device key
        match p["room"].as_str() {
            Some("Salle A") => assert_eq!(p["room_key"], "SALLE1"),
            _ => assert_eq!(p["room_key"], p["device"]),
        }
    }
    for d in doc["drl"].as_array().unwrap() {
        match d["scope"].as_str() {
            Some("room") => assert!(
                d["room_name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("Salle "))
            ),
            _ => assert!(d["room_name"].is_null()),
        }
    }
    let alerts = doc["alerts"]["procedures"].as_array().unwrap();
    assert!(!alerts.is_empty());
    assert!(alerts.iter().all(|a| a["room_name"] == "Salle B"));

    // CSV: the name beside the key
    let csv = |name: &str| std::fs::read_to_string(out_dir.join(name)).unwrap();
    let procedures = csv("procedures.csv");
    let header: Vec<&str> = procedures.lines().next().unwrap().split(',').collect();
    let col = |c: &str| header.iter().position(|h| *h == c).unwrap();
    assert_eq!(
        (col("device") + 1, col("room_key")),
        (col("room"), col("room") + 1)
    );
    assert!(
        procedures
            .lines()
            .skip(1)
            .all(|l| l.contains(",Salle A,") || l.contains(",Salle B,"))
    );
    assert!(csv("drl.csv").starts_with("procedure_code,scope,room,room_name,"));
    let alerts_csv = csv("alerts.csv");
    assert!(alerts_csv.starts_with("procedure_id,patient_id,room,room_name,"));
    assert!(alerts_csv.lines().nth(1).unwrap().contains(",Salle B,"));

    // HTML: rooms numbered by name, the same label in every section
    let html = csv("report.html");
    assert!(html.contains("<tr><td>R1</td><td>Salle A</td>"));
    assert!(html.contains("<tr><td>R2</td><td>Salle B</td>"));
    let drl = &html[html
        .find("<h2>Comparison with diagnostic reference levels")
        .unwrap()..];
    assert!(drl.contains("<td>R1 Salle A</td>") && drl.contains("<td>R2 Salle B</td>"));
    let alerts =
        &html[html.find("<h2>Alerts").unwrap()..html.find("<h2 id=\"procedures\">").unwrap()];
    assert!(alerts.contains("<td>R2 Salle B</td>"));
    let plots = &html[html.find("<h2>P<sub>KA</sub> and").unwrap()
        ..html
            .find("<h2>P<sub>KA</sub> per procedure over time")
            .unwrap()];
    // the axis labels the rooms by number; each point's tooltip names its room by number too
    assert!(plots.contains(">\nR1\n</text>") && plots.contains(">\nR2\n</text>"));
    assert!(plots.contains(" · R1 Salle A · ") || plots.contains(" · R2 Salle B · "));

    // --room finds a name given by the file
    let out = run(&[
        "--format",
        "json",
        "--rooms",
        rooms.to_str().unwrap(),
        "--room",
        "salle a",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(
        rooms_of(&json_of(&out)).keys().collect::<Vec<_>>(),
        ["Salle A"]
    );
}

#[test]
fn a_bad_rooms_file_is_an_error_naming_file_and_line_before_any_dicom_is_read() {
    let work = tempfile::tempdir().unwrap();
    let rooms = work.path().join("rooms.csv");
    std::fs::write(&rooms, "key,name\nSALLE1,Salle A\nSALLE2,\n").unwrap();
    let missing = work.path().join("absent.csv");
    for (file, message) in [
        (
            &rooms,
            format!(
                "{}:3: no name and no same_room_as for key \"SALLE2\"",
                rooms.display()
            ),
        ),
        (&missing, format!("{}: ", missing.display())),
    ] {
        let out = run(&[
            "--format",
            "json",
            "--rooms",
            file.to_str().unwrap(),
            TESTDATA,
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        // one line: the table's error, not one per unreadable DICOM file of testdata
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&message), "{stderr}");
    }
}

// ---------------------------------------------------------------------------------------
// The real corpus

#[test]
fn corpus_rooms_are_shown_by_station_name_else_device_observer_name() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let golden: BTreeMap<String, Value> = common::golden(&dir)
        .into_iter()
        .map(|f| (f["file"].as_str().unwrap().to_owned(), f))
        .collect();
    let mut p = Procedures::new();
    for input in kerma::walk_inputs(std::slice::from_ref(&dir)) {
        let label = input.path.strip_prefix(&dir).unwrap().display().to_string();
        p.add(label, kerma::extract_path(&input.path));
    }
    let set = p.finish();
    assert_eq!(set.procedures.len(), 19);
    let mut shown = Vec::new();
    for proc in &set.procedures {
        let g: Vec<&Value> = proc.files.iter().filter_map(|f| golden.get(f)).collect();
        assert!(!g.is_empty(), "{:?}", proc.files);
        let station = g.iter().find_map(|f| f["station_name"].as_str());
        let observer = g
            .iter()
            .find_map(|f| f["rdsr"]["context"]["device_observer_name"].as_str());
        let name = proc.room.name.as_str();
        match station.or(observer) {
            Some(s) => assert!(
                name == s || name.starts_with(&format!("{s} (")),
                "{}: {name:?}, files say {s:?}",
                proc.id
            ),
            None => assert_ne!(name, proc.room.key),
        }
        shown.push(name);
    }
    for expected in ["CCL Lab A", "Azurion71", "INR Lab", "GESURGIFPD"] {
        assert!(shown.contains(&expected), "{expected} in {shown:?}");
    }
    // two devices (two Device Observer UIDs) at station ArtisZee: two rooms, two names
    let artis: Vec<(&str, &str)> = set
        .procedures
        .iter()
        .filter(|p| p.room.name.starts_with("ArtisZee"))
        .map(|p| (p.room.key.as_str(), p.room.name.as_str()))
        .collect();
    let keys: std::collections::BTreeSet<_> = artis.iter().map(|a| a.0).collect();
    let names: std::collections::BTreeSet<_> = artis.iter().map(|a| a.1).collect();
    assert_eq!((keys.len(), names.len()), (2, 2), "{artis:?}");
    // no room is shown as a UID
    let rooms = RoomList::of(&set.procedures);
    for r in &rooms {
        assert!(
            !r.name.starts_with("1.") && !r.name.starts_with("2."),
            "{r:?}"
        );
    }
    assert_eq!(rooms.select("ccl lab a").len(), 1);
}

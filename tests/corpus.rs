//! The real vendor corpus: every file agrees with golden.json, and no mutilation of a real
//! file makes kerma panic.

mod common;

use common::{close, corpus_dir, golden};
use kerma::{EventCategory, ObjectKind, Outcome, Plane};
use proptest::prelude::*;
use serde_json::Value;

const OTHER_MODALITY: [&str; 2] = ["P5-08000", "P5-40010"];

fn si(acc: &Value, key: &str) -> Option<f64> {
    let v = acc.get(key)?;
    v.get("si")
        .and_then(Value::as_f64)
        .or_else(|| v.get("raw").and_then(Value::as_f64))
}

/// A coded entry of golden.json as (Code Value, Coding Scheme Designator).
fn code(v: &Value, key: &str) -> Option<(String, String)> {
    let c = v.get(key)?;
    Some((s(c, "code")?, s(c, "scheme")?))
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

#[test]
fn every_corpus_file_agrees_with_golden() {
    let Some(dir) = corpus_dir() else { return };
    let files = golden(&dir);
    assert_eq!(files.len(), 29, "the corpus README lists 29 files");
    let mut failures = Vec::new();
    for g in &files {
        let name = g["file"].as_str().unwrap();
        let x = match kerma::extract_path(dir.join(name)) {
            Ok(x) => x,
            Err(e) => {
                failures.push(format!("{name}: error {e}"));
                continue;
            }
        };
        let mut fail = |msg: String| failures.push(format!("{name}: {msg}"));
        // identity
        let id = &x.identity;
        for (key, ours) in [
            ("sop_class_uid", &id.sop_class_uid),
            ("sop_instance_uid", &id.sop_instance_uid),
            ("study_instance_uid", &id.study_instance_uid),
            ("patient_id", &id.patient_id),
            ("accession_number", &id.accession_number),
            ("study_date", &id.study_date),
            ("study_time", &id.study_time),
            ("modality", &id.modality),
            ("manufacturer", &id.manufacturer),
            ("model", &id.model),
            ("station_name", &id.station_name),
            ("institution_name", &id.institution_name),
            ("study_description", &id.study_description),
            ("device_serial_number", &id.serial_number),
        ] {
            if s(g, key).as_deref() != ours.as_deref() {
                fail(format!("{key}: {:?} != golden {:?}", ours, s(g, key)));
            }
        }
        match g["kind"].as_str().unwrap() {
            "rdsr" => {
                let r = &g["rdsr"];
                let proc_code = r["context"]["procedure_reported"]["code"].as_str();
                if proc_code.is_some_and(|c| OTHER_MODALITY.contains(&c)) {
                    if x.outcome != Outcome::Unsupported {
                        fail(format!("other modality: outcome {:?}", x.outcome));
                    }
                    continue;
                }
                if x.outcome != Outcome::Dose || x.kind != ObjectKind::Rdsr {
                    fail(format!("outcome {:?} kind {:?}", x.outcome, x.kind));
                    continue;
                }
                let rep = x.report.as_ref().unwrap();
                // context
                let ctx = &r["context"];
                if s(ctx, "device_observer_model") != rep.device.model {
                    fail(format!("device model {:?}", rep.device.model));
                }
                if let Some(uid) = s(ctx, "scope_uid")
                    && rep.scope.as_ref().and_then(|s| s.uid.clone()) != Some(uid.clone())
                {
                    fail(format!("scope uid {:?} != {uid}", rep.scope));
                }
                // planes
                let gplanes = r["planes"].as_array().unwrap();
                if gplanes.len() != rep.planes.len() {
                    fail(format!("{} planes != {}", rep.planes.len(), gplanes.len()));
                }
                for (gp, kp) in gplanes.iter().zip(&rep.planes) {
                    let want_plane = match gp["acquisition_plane"]["code"].as_str() {
                        Some("113620") => Plane::A,
                        Some("113621") => Plane::B,
                        _ => Plane::Single,
                    };
                    if kp.plane != want_plane {
                        fail(format!("plane {:?} != {want_plane:?}", kp.plane));
                    }
                    let acc = &gp["accumulated"];
                    let pairs = [
                        ("dap_total", kp.dap_total.map(|d| d.as_gy_m2())),
                        ("fluoro_dap_total", kp.dap_fluoro.map(|d| d.as_gy_m2())),
                        (
                            "acquisition_dap_total",
                            kp.dap_acquisition.map(|d| d.as_gy_m2()),
                        ),
                        ("dose_rp_total", kp.ka_r_total.map(|d| d.as_gy())),
                        ("fluoro_dose_rp_total", kp.ka_r_fluoro.map(|d| d.as_gy())),
                        (
                            "acquisition_dose_rp_total",
                            kp.ka_r_acquisition.map(|d| d.as_gy()),
                        ),
                        ("total_fluoro_time", kp.fluoro_time.map(|d| d.as_secs_f64())),
                        (
                            "total_acquisition_time",
                            kp.acquisition_time.map(|d| d.as_secs_f64()),
                        ),
                        (
                            "total_number_of_radiographic_frames",
                            kp.acquisition_frames.map(|n| n as f64),
                        ),
                    ];
                    for (key, ours) in pairs {
                        if !close(ours, si(acc, key), 1e-9) {
                            fail(format!(
                                "plane {:?} {key}: {ours:?} != {:?}",
                                kp.plane,
                                si(acc, key)
                            ));
                        }
                    }
                    let want_rp = gp["reference_point_definition"]
                        .get("code")
                        .or_else(|| gp["reference_point_definition"].get("text"))
                        .and_then(Value::as_str);
                    let ours_rp = kp.reference_point.as_ref().map(|r| r.label());
                    if want_rp.is_some() && ours_rp != want_rp {
                        fail(format!("reference point {ours_rp:?} != {want_rp:?}"));
                    }
                }
                // events
                let ev = &r["event_sums_all_planes"];
                let count =
                    |c: EventCategory| rep.events.iter().filter(|e| e.category == c).count();
                if rep.events.len() as u64 != ev["count"].as_u64().unwrap()
                    || count(EventCategory::Fluoroscopy) as u64
                        != ev["fluoro_count"].as_u64().unwrap()
                    || count(EventCategory::Acquisition) as u64
                        != ev["acquisition_count"].as_u64().unwrap()
                {
                    fail(format!(
                        "event counts {} / {} / {}",
                        rep.events.len(),
                        count(EventCategory::Fluoroscopy),
                        count(EventCategory::Acquisition)
                    ));
                }
                let sum = |f: &dyn Fn(&kerma::IrradiationEvent) -> Option<f64>| {
                    let v: Vec<f64> = rep.events.iter().filter_map(f).collect();
                    if v.is_empty() {
                        None
                    } else {
                        Some(v.iter().sum::<f64>())
                    }
                };
                let dap_sum = sum(&|e| e.dap.map(|d| d.as_gy_m2()));
                let rp_sum = sum(&|e| e.ka_r.map(|d| d.as_gy()));
                if !close(dap_sum, ev["dap_sum"].as_f64(), 1e-9) {
                    fail(format!("event DAP sum {dap_sum:?} != {:?}", ev["dap_sum"]));
                }
                if !close(rp_sum, ev["dose_rp_sum"].as_f64(), 1e-9) {
                    fail(format!(
                        "event Dose (RP) sum {rp_sum:?} != {:?}",
                        ev["dose_rp_sum"]
                    ));
                }
                // the observer context's codes (TID 10001) and device (TID 1004)
                for (key, ours) in [
                    ("procedure_reported", rep.procedure_reported.as_ref()),
                    (
                        "acquisition_device_type",
                        rep.acquisition_device_type.as_ref(),
                    ),
                    (
                        "scope_of_accumulation",
                        rep.scope.as_ref().map(|s| &s.level),
                    ),
                    (
                        "source_of_dose_information",
                        rep.sources_of_dose_information.first(),
                    ),
                ] {
                    let want = code(ctx, key);
                    let ours = ours.map(|c| (c.value().to_owned(), c.scheme().to_owned()));
                    if ours != want {
                        fail(format!("{key}: {ours:?} != golden {want:?}"));
                    }
                }
                let device = &rep.device;
                for (key, ours) in [
                    ("device_observer_uid", &device.observer_uid),
                    ("device_observer_name", &device.name),
                    ("device_observer_manufacturer", &device.manufacturer),
                    ("device_observer_serial_number", &device.serial_number),
                    ("start_of_xray_irradiation", &rep.irradiation_start),
                    ("end_of_xray_irradiation", &rep.irradiation_end),
                ] {
                    if s(ctx, key).as_deref() != ours.as_deref() {
                        fail(format!("{key}: {ours:?} != golden {:?}", s(ctx, key)));
                    }
                }
                // a radiography-room report is flagged
                if name.contains("DX-RDSR") && rep.fluoroscopy_system {
                    fail("DX report not flagged as non-fluoroscopy".into());
                }
            }
            "other_sr" => {
                if let Some(vs) = g["sr"].get("vendor_summary_si").filter(|v| v.is_object()) {
                    if x.outcome != Outcome::Dose || x.kind != ObjectKind::VendorSummary {
                        fail(format!("vendor summary: {:?} {:?}", x.outcome, x.kind));
                        continue;
                    }
                    let p = &x.report.as_ref().unwrap().planes[0];
                    if !close(
                        p.dap_total.map(|d| d.as_gy_m2()),
                        vs["dap_total"]["si"].as_f64(),
                        1e-9,
                    ) {
                        fail(format!("vendor DAP {:?}", p.dap_total));
                    }
                    if !close(
                        p.fluoro_time.map(|d| d.as_secs_f64()),
                        vs["total_fluoro_time"]["si"].as_f64(),
                        1e-9,
                    ) {
                        fail(format!("vendor fluoro time {:?}", p.fluoro_time));
                    }
                } else if x.outcome == Outcome::Dose {
                    fail("a non-dose SR gave dose".into());
                }
            }
            "xa_rf_image" => {
                let img = x.image.as_ref().expect("image result");
                if x.outcome != Outcome::NoDose || img.dap.is_some() || img.entrance_dose.is_some()
                {
                    fail(format!("image invented dose: {img:?}"));
                }
            }
            _ => {
                if x.outcome == Outcome::Dose {
                    fail(format!("not a dose object but outcome {:?}", x.outcome));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The in-memory dicom-object path and the byte path agree on every corpus file.
#[test]
fn object_path_agrees_with_byte_path() {
    let Some(dir) = corpus_dir() else { return };
    let mut compared = 0;
    let mut unreadable = Vec::new();
    for g in golden(&dir) {
        let name = g["file"].as_str().unwrap();
        let path = dir.join(name);
        let obj = match dicom_object::OpenFileOptions::new()
            .read_until(dicom_object::Tag(0x7FE0, 0x0010))
            .open_file(&path)
        {
            Ok(obj) => obj,
            Err(_) => {
                // dicom-object rejects some real files (e.g. a padded UID in the meta group)
                unreadable.push(name.to_owned());
                continue;
            }
        };
        compared += 1;
        let a = kerma::extract_path(&path).unwrap();
        let b = kerma::extract_object(&obj).unwrap();
        assert_eq!(a.kind, b.kind, "{name}");
        assert_eq!(a.outcome, b.outcome, "{name}");
        assert_eq!(a.report, b.report, "{name}");
        assert_eq!(a.identity, b.identity, "{name}");
        assert_eq!(
            a.image.as_ref().map(|i| i.dap),
            b.image.as_ref().map(|i| i.dap),
            "{name}"
        );
    }
    eprintln!("compared {compared} files; dicom-object could not open {unreadable:?}");
    assert!(compared >= 20, "too few files compared: {compared}");
}

/// Reading through a reader in chunks gives the same result as reading the bytes at once.
#[test]
fn reader_path_agrees_with_byte_path() {
    let Some(dir) = corpus_dir() else { return };
    for g in golden(&dir) {
        let name = g["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let a = kerma::extract_bytes(&bytes).unwrap();
        let b = kerma::extract_reader(std::io::Cursor::new(&bytes)).unwrap();
        assert_eq!(a.report, b.report, "{name}");
        assert_eq!(a.warnings, b.warnings, "{name}");
    }
}

fn corpus_bytes() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = corpus_dir() else {
        return Vec::new();
    };
    golden(&dir)
        .iter()
        .map(|g| {
            let name = g["file"].as_str().unwrap().to_owned();
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

/// Every corpus file truncated at 64 offsets: a typed error or a result, never a panic.
#[test]
fn truncated_corpus_files_never_panic() {
    for (name, bytes) in corpus_bytes() {
        for i in 0..64 {
            let cut = bytes.len() * i / 64;
            let r = std::panic::catch_unwind(|| kerma::extract_bytes(&bytes[..cut]));
            assert!(r.is_ok(), "{name} truncated at {cut} panicked");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Random byte flips in real files: never a panic.
    #[test]
    fn flipped_bytes_never_panic(seed in any::<u64>(), flips in 1usize..16) {
        let files = corpus_bytes();
        if files.is_empty() { return Ok(()); }
        let (_, bytes) = &files[(seed as usize) % files.len()];
        let mut b = bytes.clone();
        let mut x = seed;
        for _ in 0..flips {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let at = (x >> 17) as usize % b.len();
            b[at] ^= (x >> 7) as u8 | 1;
        }
        let _ = kerma::extract_bytes(&b);
    }
}

//! Per-event geometry (TID 10003B / 10003C): the real corpus against values PySkinDose read
//! independently, each vendor quirk on the real file and on a generated fixture, and every
//! unit of the geometry items.

mod common;
#[path = "fixtures/mod.rs"]
mod fixtures;

use common::corpus_dir;
use fixtures::rdsr::{Event, Rdsr};
use fixtures::sr::{CONTAINS, ContentItem, HAS_CONCEPT_MOD, Num, code, dcm, num};
use kerma::{DoseReport, Geometry, IrradiationEvent, Warning};
use serde_json::Value;

fn extract(bytes: &[u8]) -> (DoseReport, Vec<Warning>) {
    let x = kerma::extract_bytes(bytes).expect("extracts");
    (x.report.expect("an RDSR"), x.warnings)
}

fn corpus_file(dir: &std::path::Path, name: &str) -> (DoseReport, Vec<Warning>) {
    let bytes = std::fs::read(dir.join(name)).expect("corpus file");
    extract(&bytes)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

const COPPER: [(&str, &str); 2] = [("C-127F9", "SRT"), ("66925006", "SCT")];
const ALUMINIUM: [(&str, &str); 3] = [
    ("C-120F9", "SRT"),
    ("12503006", "SCT"),
    ("105830007", "SCT"),
];

/// Sum over an event's filters of one material of the mean of minimum and maximum thickness
/// (mm), as PySkinDose combines them.
fn filter_mm(e: &IrradiationEvent, material: &[(&str, &str)]) -> f64 {
    e.filters
        .iter()
        .filter(|f| {
            f.material
                .as_ref()
                .is_some_and(|m| material.contains(&(m.value(), m.scheme())))
        })
        .map(|f| (f.thickness_min_mm.unwrap_or(0.0) + f.thickness_max_mm.unwrap_or(0.0)) / 2.0)
        .sum()
}

/// PySkinDose's normalisation of one vendor (`normalization_settings` in pyskindose.json):
/// T = offset + sign × position (cm); Tx from 113751, Ty from 113753, Tz from 113752.
struct Normalisation {
    offset: [f64; 3],
    sign: [f64; 3],
    sign_ap: [f64; 2],
    /// Field side from √(Collimated Field Area) (Siemens); Philips uses private shutters.
    field_from_area: bool,
}

fn normalisation(settings: &Value, manufacturer: &str) -> Normalisation {
    let list = settings["normalization_settings"]["normalization_settings"]
        .as_array()
        .expect("normalization settings");
    let s = list
        .iter()
        .find(|s| {
            manufacturer
                .to_ascii_lowercase()
                .contains(&s["manufacturer"].as_str().unwrap().to_ascii_lowercase())
        })
        .unwrap_or_else(|| panic!("no PySkinDose settings for {manufacturer}"));
    let sign = |v: &Value| if v.as_str() == Some("-") { -1.0 } else { 1.0 };
    let t = &s["translation_offset"];
    let d = &s["translation_direction"];
    let r = &s["rotation_direction"];
    Normalisation {
        offset: ["x", "y", "z"].map(|k| t[k].as_f64().unwrap()),
        sign: ["x", "y", "z"].map(|k| sign(&d[k])),
        sign_ap: ["Ap1", "Ap2"].map(|k| sign(&r[k])),
        field_from_area: s["field_size_mode"] == "CFA",
    }
}

/// Every corpus file PySkinDose computed: per event, kerma's geometry after PySkinDose's own
/// unit conversion and normalisation equals what PySkinDose's dose engine received.
#[test]
fn corpus_geometry_matches_pyskindose_per_event_inputs() {
    let Some(dir) = corpus_dir() else { return };
    let text = std::fs::read_to_string(dir.join("skin/pyskindose.json")).unwrap();
    let psd: Value = serde_json::from_str(&text).unwrap();
    let mut files = 0;
    let mut events = 0;
    for (name, f) in psd["files"].as_object().unwrap() {
        let Some(inputs) = f["per_event_inputs"].as_array() else {
            continue;
        };
        let (report, _) = corpus_file(&dir, name);
        let manufacturer = report.device.manufacturer.clone().unwrap_or_default();
        let n = normalisation(&psd, &manufacturer);
        assert_eq!(report.events.len(), inputs.len(), "{name}: event count");
        for (i, (e, p)) in report.events.iter().zip(inputs).enumerate() {
            let g = &e.geometry;
            let want = |k: &str| p[k].as_f64().unwrap_or_else(|| panic!("{name} {k}"));
            let check = |what: &str, got: Option<f64>, want: f64, tol: f64| {
                let got = got.unwrap_or_else(|| panic!("{name} event {i}: no {what}"));
                assert!(
                    close(got, want, tol),
                    "{name} event {i}: {what} {got} (kerma) vs {want} (PySkinDose)"
                );
            };
            let cm = |l: Option<kerma::Length>| l.map(kerma::Length::as_cm);
            let t = |axis: usize, l: Option<kerma::Length>| {
                cm(l).map(|v| n.offset[axis] + n.sign[axis] * v)
            };
            check("Tx", t(0, g.table_longitudinal), want("Tx"), 1e-6);
            check("Ty", t(1, g.table_height), want("Ty"), 1e-6);
            check("Tz", t(2, g.table_lateral), want("Tz"), 1e-6);
            let ap = |k: usize, a: Option<kerma::Angle>| a.map(|a| n.sign_ap[k] * a.as_deg());
            check("Ap1", ap(0, g.primary_angle), want("Ap1"), 1e-9);
            check("Ap2", ap(1, g.secondary_angle), want("Ap2"), 1e-9);
            check("DSI", cm(g.source_to_isocenter), want("DSI"), 1e-9);
            check("DSD", cm(g.source_to_detector), want("DSD"), 1e-9);
            check("K_IRP", e.ka_r.map(|k| k.as_mgy()), want("K_IRP"), 1e-12);
            check(
                "kVp",
                e.kvp.as_ref().and_then(|k| k.value()),
                want("kVp"),
                1e-9,
            );
            check(
                "Cu",
                Some(filter_mm(e, &COPPER)),
                want("filter_thickness_Cu"),
                1e-9,
            );
            check(
                "Al",
                Some(filter_mm(e, &ALUMINIUM)),
                want("filter_thickness_Al"),
                1e-9,
            );
            if n.field_from_area {
                let side_cm = e.field_area_m2.map(|a| a.sqrt() * 100.0);
                check("FS_lat", side_cm, want("FS_lat"), 1e-3);
                check("FS_long", side_cm, want("FS_long"), 1e-3);
            }
            events += 1;
        }
        files += 1;
    }
    assert!(
        files >= 5 && events >= 90,
        "{files} files, {events} events compared"
    );
}

fn has(warnings: &[Warning], f: impl Fn(&Warning) -> bool) -> bool {
    warnings.iter().any(f)
}

/// GE Super-C: positioner angles with an empty value ("Value unknown") are absent, without a
/// warning; the patient codes, the source distances of a 113861 room are read.
#[test]
fn corpus_ge_empty_angles_and_patient_position() {
    let Some(dir) = corpus_dir() else { return };
    let (r, w) = corpus_file(&dir, "openrem-0.10.0-pypi/RF-RDSR-GE.dcm");
    assert_eq!(r.events.len(), 8);
    for e in &r.events {
        let g = &e.geometry;
        assert_eq!(g.primary_angle, None);
        assert_eq!(g.primary_angle_end, None);
        assert_eq!(g.secondary_angle_end, None);
        assert_eq!(e.primary_angle_deg, None);
    }
    let g = &r.events[0].geometry;
    assert_eq!(g.source_to_detector.map(|l| l.as_mm()), Some(1000.0));
    assert_eq!(g.source_to_reference_point.map(|l| l.as_mm()), Some(700.0));
    let meaning = |c: &Option<kerma::Code>| c.as_ref().map(|c| c.meaning().to_owned());
    assert_eq!(
        meaning(&g.patient_table_relationship).as_deref(),
        Some("Headfirst")
    );
    assert_eq!(
        meaning(&g.patient_orientation).as_deref(),
        Some("Recumbent")
    );
    assert_eq!(
        meaning(&g.patient_orientation_modifier).as_deref(),
        Some("Supine")
    );
    assert!(!has(&w, |w| matches!(
        w,
        Warning::EmptyValue { concept } if concept.code == "112011"
    )));
}

/// Philips Azurion: zero field sizes are left out, table positions are kept but flagged as
/// not in the beam's frame; the standard Table Height Position wins over the private one.
#[test]
fn corpus_philips_azurion() {
    let Some(dir) = corpus_dir() else { return };
    let (r, w) = corpus_file(&dir, "openrem-0.10.0-pypi/RF-RDSR-Philips_Azurion.dcm");
    let with_table = r
        .events
        .iter()
        .filter(|e| e.geometry.table_longitudinal.is_some())
        .count();
    assert!(with_table > 0);
    assert!(r.events.iter().all(|e| {
        let g = &e.geometry;
        g.field_height.is_none()
            && g.field_width.is_none()
            && !g.table_height_from_vendor_item
            && g.table_not_in_beam_frame == g.table_longitudinal.is_some()
    }));
    let g = &r.events[0].geometry;
    assert_eq!(g.table_height.map(|l| l.as_mm()), Some(935.0));
    assert_eq!(g.source_to_reference_point.map(|l| l.as_mm()), Some(615.0));
    assert!(has(&w, |w| matches!(
        w,
        Warning::TablePositionNotInBeamFrame { count } if *count == with_table
    )));
    assert!(has(&w, |w| matches!(w, Warning::ZeroFieldSize { .. })));
}

/// Philips Allura Clarity: no standard Table Height Position or Distance Source to Detector;
/// the private items are read, flagged and warned.
#[test]
fn corpus_philips_allura_private_items() {
    let Some(dir) = corpus_dir() else { return };
    let (r, w) = corpus_file(
        &dir,
        "pyskindose-25.1.1-pypi/philips_allura_clarity_u104.dcm",
    );
    let g = &r.events[0].geometry;
    assert_eq!(g.table_height.map(|l| l.as_mm()), Some(791.0));
    assert!(g.table_height_from_vendor_item);
    assert_eq!(g.source_to_detector.map(|l| l.as_mm()), Some(1195.0));
    assert!(g.source_to_detector_from_vendor_item);
    assert!(!g.table_not_in_beam_frame);
    for (code, flagged) in [
        (
            "113753",
            r.events
                .iter()
                .filter(|e| e.geometry.table_height_from_vendor_item)
                .count(),
        ),
        (
            "113750",
            r.events
                .iter()
                .filter(|e| e.geometry.source_to_detector_from_vendor_item)
                .count(),
        ),
    ] {
        assert!(flagged > 0, "{code}");
        assert!(
            has(&w, |w| matches!(
                w,
                Warning::VendorItemUsed { concept, count, .. }
                    if concept.code == code && *count == flagged
            )),
            "{code}: {w:?}"
        );
    }
}

/// Canon Alphenix: height × width is several times the area (left out, warned); the
/// orientation modifier is a sibling (read, warned); the rotational run has end angles.
#[test]
fn corpus_canon_alphenix() {
    let Some(dir) = corpus_dir() else { return };
    let (r, w) = corpus_file(
        &dir,
        "openrem-develop/RF-RDSR-Canon-Alphenix-rotational.dcm",
    );
    assert_eq!(r.events.len(), 49);
    assert!(r.events.iter().all(|e| e.geometry.field_height.is_none()));
    assert!(
        r.events
            .iter()
            .all(|e| e.geometry.patient_orientation_modifier.is_some())
    );
    let rotational: Vec<&Geometry> = r
        .events
        .iter()
        .map(|e| &e.geometry)
        .filter(|g| g.primary_angle_end.is_some())
        .collect();
    assert_eq!(rotational.len(), 1);
    assert!(rotational[0].secondary_angle_end.is_some());
    assert!(has(&w, |w| matches!(
        w,
        Warning::FieldSizeContradictsArea { count: 49, median_ratio } if (3.7..=6.1).contains(median_ratio)
    )));
    assert!(has(
        &w,
        |w| matches!(w, Warning::Misplaced { what } if what.contains("113744"))
    ));
}

/// Siemens AXIOM-Artis: no patient position items at all, every event has a table position.
#[test]
fn corpus_siemens_has_no_patient_position() {
    let Some(dir) = corpus_dir() else { return };
    let (r, w) = corpus_file(
        &dir,
        "pyskindose-25.1.1-pypi/siemens_axiom_example_procedure.dcm",
    );
    for e in &r.events {
        let g = &e.geometry;
        assert!(g.patient_table_relationship.is_none() && g.patient_orientation.is_none());
        assert!(g.table_longitudinal.is_some() && g.table_lateral.is_some());
        assert!(!g.table_not_in_beam_frame);
    }
    assert!(!has(&w, |w| matches!(w, Warning::VendorItemUsed { .. })));
}

// ---------------------------------------------------------------------------
// generated fixtures

fn numi(concept: (&str, &str), value: &str, unit: &str) -> ContentItem {
    ContentItem::num(CONTAINS, dcm(concept.0, concept.1), num(value, unit))
}

const TABLE_LONG: (&str, &str) = ("113751", "Table Longitudinal Position");
const TABLE_LAT: (&str, &str) = ("113752", "Table Lateral Position");
const TABLE_HEIGHT: (&str, &str) = ("113753", "Table Height Position");
const DSI: (&str, &str) = ("113748", "Distance Source to Isocenter");
const FIELD_H: (&str, &str) = ("113788", "Collimated Field Height");
const FIELD_W: (&str, &str) = ("113789", "Collimated Field Width");

/// A one-event report whose event has `extra` children (after the fixture's usual ones).
fn report_with(extra: Vec<ContentItem>, edit: impl FnOnce(&mut Rdsr, &mut Event)) -> Vec<u8> {
    let mut r = fixtures::single_plane_report(40);
    let mut e = r.events[0].clone();
    e.extra = extra;
    edit(&mut r, &mut e);
    r.events = vec![e];
    r.to_bytes()
}

fn one_event(extra: Vec<ContentItem>) -> (Geometry, Vec<Warning>) {
    let (r, w) = extract(&report_with(extra, |_, _| {}));
    (r.events[0].geometry.clone(), w)
}

#[test]
fn every_length_unit_is_converted_by_its_code() {
    let (g, w) = one_event(vec![
        numi(TABLE_LONG, "-12.5", "cm"),
        numi(TABLE_LAT, "1.0675", "m"),
        numi(TABLE_HEIGHT, "-136.6", "mm"),
        numi(DSI, "78.5", "cm"),
    ]);
    assert_eq!(g.table_longitudinal.map(|l| l.as_mm()), Some(-125.0));
    assert!(close(g.table_lateral.unwrap().as_mm(), 1067.5, 1e-9));
    assert!(close(g.table_height.unwrap().as_mm(), -136.6, 1e-9));
    assert!(close(g.source_to_isocenter.unwrap().as_mm(), 785.0, 1e-9));
    assert!(!has(&w, |w| matches!(
        w,
        Warning::UnknownUnit { .. } | Warning::NonStandardUnit { .. }
    )));
}

#[test]
fn angles_keep_their_sign_and_end_angles_are_read() {
    let (g, _) = one_event(vec![
        numi(("113739", "Positioner Primary End Angle"), "120", "deg"),
        numi(("113740", "Positioner Secondary End Angle"), "-7.5", "deg"),
        numi(("113754", "Table Head Tilt Angle"), "-3", "deg"),
        numi(("113755", "Table Horizontal Rotation Angle"), "90", "deg"),
        numi(("113756", "Table Cradle Tilt Angle"), "2.5", "deg"),
        numi(("113770", "Column Angulation"), "-1", "deg"),
    ]);
    let deg = |a: Option<kerma::Angle>| a.map(kerma::Angle::as_deg);
    // The fixture's start angles: -30 (RAO) and 25 (cranial).
    assert_eq!(deg(g.primary_angle), Some(-30.0));
    assert_eq!(deg(g.secondary_angle), Some(25.0));
    assert_eq!(deg(g.primary_angle_end), Some(120.0));
    assert_eq!(deg(g.secondary_angle_end), Some(-7.5));
    assert_eq!(deg(g.table_head_tilt), Some(-3.0));
    assert_eq!(deg(g.table_horizontal_rotation), Some(90.0));
    assert_eq!(deg(g.table_cradle_tilt), Some(2.5));
    assert_eq!(deg(g.column_angulation), Some(-1.0));
}

#[test]
fn an_unknown_or_wrong_unit_leaves_the_value_out_with_a_warning() {
    let (g, w) = one_event(vec![
        numi(TABLE_LONG, "12", "[in_i]"),
        numi(TABLE_LAT, "12", "s"),
        numi(("113754", "Table Head Tilt Angle"), "0.1", "rad"),
        ContentItem::num(
            CONTAINS,
            dcm(TABLE_HEIGHT.0, TABLE_HEIGHT.1),
            Num::Value {
                value: "100".into(),
                unit: None,
            },
        ),
    ]);
    assert_eq!(g.table_longitudinal, None);
    assert_eq!(g.table_lateral, None);
    assert_eq!(g.table_head_tilt, None);
    assert_eq!(g.table_height, None);
    assert!(has(&w, |w| matches!(
        w,
        Warning::UnknownUnit { concept, unit } if concept.code == "113751" && unit == "[in_i]"
    )));
    assert!(has(&w, |w| matches!(
        w,
        Warning::UnknownUnit { concept, unit } if concept.code == "113754" && unit == "rad"
    )));
    assert!(has(&w, |w| matches!(
        w,
        Warning::WrongUnitKind { concept, .. } if concept.code == "113752"
    )));
    assert!(has(&w, |w| matches!(
        w,
        Warning::MissingUnit { concept } if concept.code == "113753"
    )));
}

#[test]
fn a_negative_distance_is_invalid_but_a_negative_position_is_not() {
    let (g, w) = one_event(vec![
        numi(DSI, "-785", "mm"),
        numi(TABLE_LONG, "-785", "mm"),
    ]);
    assert_eq!(g.source_to_isocenter, None);
    assert_eq!(g.table_longitudinal.map(|l| l.as_mm()), Some(-785.0));
    assert!(has(&w, |w| matches!(
        w,
        Warning::InvalidNumber { concept, .. } if concept.code == "113748"
    )));
}

#[test]
fn quirk_ge_empty_angles_are_absent_without_warning() {
    let (r, w) = extract(&report_with(Vec::new(), |_, e| {
        e.angle1 = Some(Num::Empty);
        e.angle2 = Some(Num::Empty);
    }));
    let e = &r.events[0];
    assert_eq!(e.geometry.primary_angle, None);
    assert_eq!(e.geometry.secondary_angle, None);
    assert_eq!(e.primary_angle_deg, None);
    assert!(!has(&w, |w| matches!(w, Warning::EmptyValue { .. })));
}

#[test]
fn quirk_zero_field_size_is_left_out() {
    let (g, w) = one_event(vec![numi(FIELD_H, "0", "mm"), numi(FIELD_W, "0", "mm")]);
    assert_eq!((g.field_height, g.field_width), (None, None));
    assert!(has(&w, |w| matches!(
        w,
        Warning::ZeroFieldSize { count: 1 }
    )));
}

#[test]
fn quirk_field_size_contradicting_the_area_is_left_out() {
    // The fixture's area is 0.0225 m² (150 × 150 mm).
    let (g, w) = one_event(vec![numi(FIELD_H, "150", "mm"), numi(FIELD_W, "150", "mm")]);
    assert!(close(g.field_height.unwrap().as_mm(), 150.0, 1e-9));
    assert!(close(g.field_width.unwrap().as_mm(), 150.0, 1e-9));
    assert!(!has(&w, |w| matches!(
        w,
        Warning::FieldSizeContradictsArea { .. }
    )));
    // Canon-like: 635 × 795 mm for 0.0956 m² would be 5.3 times; here 5.0.
    let (g, w) = one_event(vec![
        numi(FIELD_H, "335.41", "mm"),
        numi(FIELD_W, "335.41", "mm"),
    ]);
    assert_eq!((g.field_height, g.field_width), (None, None));
    assert!(has(&w, |w| matches!(
        w,
        Warning::FieldSizeContradictsArea { count: 1, median_ratio } if close(*median_ratio, 5.0, 1e-3)
    )));
}

#[test]
fn quirk_orientation_modifier_as_child_or_sibling() {
    let orientation = ContentItem::code(
        CONTAINS,
        dcm("113743", "Patient Orientation"),
        code("F-10450", "SRT", "recumbent"),
    );
    let modifier = |rel| {
        ContentItem::code(
            rel,
            dcm("113744", "Patient Orientation Modifier"),
            code("F-10340", "SRT", "supine"),
        )
    };
    let table = ContentItem::code(
        CONTAINS,
        dcm("113745", "Patient Table Relationship"),
        code("F-10480", "SRT", "feet-first"),
    );
    let (child, w_child) = one_event(vec![
        orientation.clone().with(modifier(HAS_CONCEPT_MOD)),
        table.clone(),
    ]);
    let (sibling, w_sibling) = one_event(vec![orientation, modifier(CONTAINS), table]);
    for g in [&child, &sibling] {
        assert_eq!(
            g.patient_orientation.as_ref().map(|c| c.value()),
            Some("F-10450")
        );
        assert_eq!(
            g.patient_orientation_modifier.as_ref().map(|c| c.meaning()),
            Some("supine")
        );
        assert_eq!(
            g.patient_table_relationship.as_ref().map(|c| c.meaning()),
            Some("feet-first")
        );
    }
    let misplaced =
        |w: &Warning| matches!(w, Warning::Misplaced { what } if what.contains("113744"));
    assert!(!has(&w_child, misplaced));
    assert!(has(&w_sibling, misplaced));
}

fn philips(value: &str, meaning: &str, v: &str) -> ContentItem {
    ContentItem::num(
        CONTAINS,
        code(value, "99PHI-IXR-XPER", meaning),
        num(v, "mm"),
    )
}

#[test]
fn quirk_philips_private_items_stand_in_for_missing_standard_ones() {
    let (r, w) = extract(&report_with(
        vec![
            philips("021", "Table Height Position", "791.0"),
            philips("018", "Final Distance Source to Detector", "1195.0"),
        ],
        |_, e| e.sid = None,
    ));
    let g = &r.events[0].geometry;
    assert_eq!(g.table_height.map(|l| l.as_mm()), Some(791.0));
    assert_eq!(g.source_to_detector.map(|l| l.as_mm()), Some(1195.0));
    assert!(g.table_height_from_vendor_item && g.source_to_detector_from_vendor_item);
    assert!(close(
        r.events[0].source_to_detector_m.unwrap(),
        1.195,
        1e-12
    ));
    assert!(has(&w, |w| matches!(
        w,
        Warning::VendorItemUsed { concept, vendor, count: 1 }
            if concept.code == "113753" && vendor.code == "021"
    )));
    // With the standard items present, they win and nothing is flagged.
    let (g, w) = one_event(vec![
        numi(TABLE_HEIGHT, "935", "mm"),
        philips("021", "Table Height Position", "100"),
        philips("018", "Final Distance Source to Detector", "1195.0"),
    ]);
    assert_eq!(g.table_height.map(|l| l.as_mm()), Some(935.0));
    assert_eq!(g.source_to_detector.map(|l| l.as_mm()), Some(1100.0));
    assert!(!g.table_height_from_vendor_item && !g.source_to_detector_from_vendor_item);
    assert!(!has(&w, |w| matches!(w, Warning::VendorItemUsed { .. })));
}

#[test]
fn quirk_philips_azurion_table_positions_are_flagged() {
    let bytes = |model: &str| {
        report_with(vec![numi(TABLE_LONG, "654", "mm")], |r, _| {
            r.device.manufacturer = Some("Philips".into());
            r.device.model = Some(model.into());
        })
    };
    let (r, w) = extract(&bytes("Azurion"));
    assert!(r.events[0].geometry.table_not_in_beam_frame);
    assert_eq!(
        r.events[0].geometry.table_longitudinal.map(|l| l.as_mm()),
        Some(654.0)
    );
    assert!(has(&w, |w| matches!(
        w,
        Warning::TablePositionNotInBeamFrame { count: 1 }
    )));
    let (r, w) = extract(&bytes("Allura Clarity"));
    assert!(!r.events[0].geometry.table_not_in_beam_frame);
    assert!(!has(&w, |w| matches!(
        w,
        Warning::TablePositionNotInBeamFrame { .. }
    )));
}

#[test]
fn a_repeated_item_keeps_the_first() {
    let (g, w) = one_event(vec![
        numi(TABLE_LONG, "10", "mm"),
        numi(TABLE_LONG, "20", "mm"),
    ]);
    assert_eq!(g.table_longitudinal.map(|l| l.as_mm()), Some(10.0));
    assert!(has(&w, |w| matches!(
        w,
        Warning::RepeatedItem { concept } if concept.code == "113751"
    )));
}

#[test]
fn json_event_rows_carry_the_geometry_with_units_in_their_names() {
    let (r, _) = extract(&report_with(
        vec![
            numi(TABLE_LONG, "-12.5", "cm"),
            numi(DSI, "0.785", "m"),
            numi(
                ("113737", "Distance Source to Reference Point"),
                "635",
                "mm",
            ),
            numi(("113739", "Positioner Primary End Angle"), "45", "deg"),
            numi(FIELD_H, "150", "mm"),
            numi(FIELD_W, "150", "mm"),
            ContentItem::code(
                CONTAINS,
                dcm("113745", "Patient Table Relationship"),
                code("F-10470", "SRT", "headfirst"),
            ),
        ],
        |_, _| {},
    ));
    let row = serde_json::to_value(kerma::report::EventRow::new(&r.events[0])).unwrap();
    let f = |k: &str| row[k].as_f64().unwrap_or_else(|| panic!("{k}: {row}"));
    assert!(close(f("table_longitudinal_mm"), -125.0, 1e-9));
    assert!(close(f("source_to_isocenter_mm"), 785.0, 1e-9));
    assert!(close(f("source_to_reference_point_mm"), 635.0, 1e-9));
    assert!(close(f("source_to_detector_mm"), 1100.0, 1e-9));
    assert!(close(f("primary_angle_deg"), -30.0, 1e-12));
    assert!(close(f("primary_angle_end_deg"), 45.0, 1e-12));
    assert!(close(f("field_height_mm"), 150.0, 1e-9));
    assert!(close(f("field_area_cm2"), 225.0, 1e-9));
    assert_eq!(row["patient_table_relationship"], "headfirst");
    assert_eq!(row["reference_point"], "113860");
    assert_eq!(row["table_lateral_mm"], Value::Null);
    assert_eq!(row["table_head_tilt_deg"], Value::Null);
}

fn filter(material: (&str, &str, &str), min: Num, max: Num) -> ContentItem {
    ContentItem::container(CONTAINS, dcm("113771", "X-Ray Filters")).with_all([
        ContentItem::code(
            CONTAINS,
            dcm("113772", "X-Ray Filter Type"),
            dcm("113650", "Strip filter"),
        ),
        ContentItem::code(
            CONTAINS,
            dcm("113757", "X-Ray Filter Material"),
            code(material.0, material.1, material.2),
        ),
        ContentItem::num(
            CONTAINS,
            dcm("113758", "X-Ray Filter Thickness Minimum"),
            min,
        ),
        ContentItem::num(
            CONTAINS,
            dcm("113773", "X-Ray Filter Thickness Maximum"),
            max,
        ),
    ])
}

#[test]
fn every_filter_of_an_event_is_read_with_its_unit() {
    let (r, w) = extract(&report_with(
        vec![
            filter(
                ("66925006", "SCT", "Copper"),
                num("0.09", "cm"),
                num("0.9", "mm"),
            ),
            filter(
                ("C-120F9", "SRT", "Aluminum or Aluminum compound"),
                num("1", "mm"),
                num("1", "[in_i]"),
            ),
        ],
        |_, e| e.filters = false,
    ));
    let e = &r.events[0];
    assert_eq!(e.filters.len(), 2);
    assert!(close(filter_mm(e, &COPPER), 0.9, 1e-12));
    let al = &e.filters[1];
    assert_eq!(al.thickness_min_mm, Some(1.0));
    assert_eq!(al.thickness_max_mm, None);
    assert!(has(&w, |w| matches!(
        w,
        Warning::UnknownUnit { concept, .. } if concept.code == "113773"
    )));
}

/// The patient position: from the codes (GE, Philips, Canon), from the root comment's XML
/// (Siemens, whose files code none): feet first in the FFS file, head first elsewhere.
#[test]
fn corpus_patient_position_from_codes_or_siemens_comment() {
    let Some(dir) = corpus_dir() else { return };
    for (name, want, from_comment) in [
        ("openrem-develop/RF-RDSR-Siemens_Zee-FFS.dcm", "FFS", true),
        ("openrem-develop/RF-RDSR-Siemens_Zee-HFS.dcm", "HFS", true),
        (
            "pyskindose-25.1.1-pypi/siemens_axiom_example_procedure.dcm",
            "HFS",
            true,
        ),
        ("openrem-0.10.0-pypi/RF-RDSR-GE.dcm", "HFS", false),
        (
            "pyskindose-25.1.1-pypi/philips_allura_clarity_u104.dcm",
            "HFS",
            false,
        ),
        (
            "openrem-develop/RF-RDSR-Canon-Alphenix-rotational.dcm",
            "HFS",
            false,
        ),
    ] {
        let (r, _) = corpus_file(&dir, name);
        assert!(!r.events.is_empty(), "{name}");
        for e in &r.events {
            let g = &e.geometry;
            assert_eq!(g.patient_position.map(|p| p.as_str()), Some(want), "{name}");
            assert_eq!(g.patient_position_from_comment, from_comment, "{name}");
        }
    }
}

#[test]
fn patient_position_from_codes_comment_or_nothing() {
    let position = |table: (&str, &str), modifier: (&str, &str), orientation: (&str, &str)| {
        let (g, _) = one_event(vec![
            ContentItem::code(
                CONTAINS,
                dcm("113745", "Patient Table Relationship"),
                code(table.0, table.1, "table"),
            ),
            ContentItem::code(
                CONTAINS,
                dcm("113743", "Patient Orientation"),
                code(orientation.0, orientation.1, "orientation"),
            )
            .with(ContentItem::code(
                HAS_CONCEPT_MOD,
                dcm("113744", "Patient Orientation Modifier"),
                code(modifier.0, modifier.1, "modifier"),
            )),
        ]);
        g.patient_position.map(|p| p.as_str())
    };
    let recumbent = ("102538003", "SCT");
    assert_eq!(
        position(("102541007", "SCT"), ("1240000", "SCT"), recumbent),
        Some("FFP")
    );
    assert_eq!(
        position(("F-10470", "SRT"), ("F-10319", "SRT"), ("F-10450", "SRT")),
        Some("HFDL")
    );
    assert_eq!(
        position(("399220000", "SCT"), ("40199007", "SCT"), recumbent),
        None,
        "transverse"
    );
    assert_eq!(
        position(
            ("102540008", "SCT"),
            ("40199007", "SCT"),
            ("C86043", "NCIt")
        ),
        None,
        "erect"
    );

    // A Siemens-like report: no codes, the position in the root comment's XML.
    let comment = |xml: &str| {
        let bytes = report_with(Vec::new(), |r, _| r.comment = Some(xml.into()));
        let (r, _) = extract(&bytes);
        let g = r.events[0].geometry.clone();
        (
            g.patient_position.map(|p| p.as_str()),
            g.patient_position_from_comment,
        )
    };
    assert_eq!(
        comment(r#"<Root><PatientPosition><Position SRData="FFS "/></PatientPosition></Root>"#),
        (Some("FFS"), true)
    );
    assert_eq!(
        comment(r#"<Root><PatientPosition><Position SRData="XYZ"/></PatientPosition></Root>"#),
        (None, false)
    );
    assert_eq!(
        comment("<Root><Position SRData=\"FFS\"/></Root>"),
        (None, false)
    );
}

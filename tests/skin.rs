//! Skin-dose physics that needs no other program: the analytic single field, doubling,
//! non-overlapping fields, rotation, table shifts, field size, and the bound.

use kerma::skin::{Method, PhantomModel, Settings, SkinEvent, SkinInput, estimate};
use proptest::prelude::*;

/// A room whose table top is `table_y_cm` below the isocentre at table position 0 and whose
/// head end is 60 cm beyond it, with a table transmission.
fn settings(model: &str, table_y_cm: f64, transmission: f64) -> Settings {
    Settings::from_json(&format!(
        r#"{{"kerma_skin_settings": 1,
            "phantom": {{"model": "{model}"}},
            "rooms": [{{"manufacturer": "Test", "models": ["X1"],
                       "table_transmission": {transmission},
                       "table_zero_cm": {{"x": 0, "y": {table_y_cm}, "z": 60}}}}]}}"#
    ))
    .unwrap()
}

/// A PA (or angled) event of `ka_r_mgy` at 80 kV without copper, DSI 80 cm, DSD 100 cm,
/// a square field of `side_cm` at the detector, table at (x, z) positions in mm.
fn event(ka_r_mgy: f64, primary_deg: f64, side_cm: f64, x_mm: f64, z_mm: f64) -> SkinEvent {
    let mut e = SkinEvent::default();
    e.ka_r = kerma::AirKerma::try_from_mgy(ka_r_mgy).ok();
    e.kvp_kv = Some(80.0);
    e.primary_deg = Some(primary_deg);
    e.secondary_deg = Some(0.0);
    e.source_to_isocenter_cm = Some(80.0);
    e.source_to_detector_cm = Some(100.0);
    e.field_area_cm2 = Some(side_cm * side_cm);
    e.table_longitudinal_mm = Some(x_mm);
    e.table_lateral_mm = Some(z_mm);
    e.table_height_mm = Some(0.0);
    e
}

fn input(events: Vec<SkinEvent>) -> SkinInput {
    let mut i = SkinInput::default();
    i.manufacturer = Some("Test".into());
    i.model = Some("X1".into());
    i.events = events;
    i
}

/// One perpendicular field on the plane, the skin 100 cm from the focal spot (so that the
/// 20 cm field at the 100 cm detector is 20 cm at the skin): K_a,r × (65/100)² × BSF(80 kV,
/// HVL 3.12 mm Al, 20 cm) × (μen/ρ)w/a = 1000 × 0.4225 × 1.388 × 1.021 (Benmakhlouf 2011's
/// table; the 2013 fit gives 1.389).
#[test]
fn one_perpendicular_field_on_the_plane_is_analytic() {
    // Source at y = +80; skin 100 cm away at y = −20; the pad (4 cm) puts the table top at −16.
    let s = settings("plane", -16.0, 1.0);
    let r = estimate(&input(vec![event(1000.0, 0.0, 20.0, 0.0, 0.0)]), &s);
    assert_eq!(r.method, Method::Map, "{:?}", r.reason);
    let want = 1000.0 * 0.65f64.powi(2) * 1.388 * 1.021;
    let psd = r.psd_mgy.unwrap();
    assert!((psd / want - 1.0).abs() < 0.002, "{psd} vs {want}");
    assert_eq!(r.events_at_peak, Some(1));
    assert_eq!(r.phantom.unwrap().model, PhantomModel::Plane);
    // The peak is at the field's centre, on the back, 60 cm from the head end.
    let loc = r.location.unwrap();
    assert!(
        loc.across_cm.abs() <= 0.5 && (loc.from_head_cm - 60.0).abs() <= 0.5,
        "{loc:?}"
    );
    assert!(loc.region.ends_with("back"));
    // The table under the patient: its transmission applies to every ray from below.
    let half = estimate(
        &input(vec![event(1000.0, 0.0, 20.0, 0.0, 0.0)]),
        &settings("plane", -16.0, 0.5),
    );
    assert!((half.psd_mgy.unwrap() / psd - 0.5).abs() < 1e-9);
}

#[test]
fn the_same_field_twice_doubles_the_peak() {
    let s = settings("plane", 10.0, 0.8);
    let one = estimate(&input(vec![event(700.0, 0.0, 15.0, 0.0, 0.0)]), &s);
    let two = estimate(
        &input(vec![
            event(700.0, 0.0, 15.0, 0.0, 0.0),
            event(700.0, 0.0, 15.0, 0.0, 0.0),
        ]),
        &s,
    );
    let (a, b) = (one.psd_mgy.unwrap(), two.psd_mgy.unwrap());
    assert!((b / a - 2.0).abs() < 1e-9, "{a} {b}");
    assert_eq!(two.events_at_peak, Some(2));
}

#[test]
fn fields_that_do_not_overlap_give_the_larger_not_the_sum() {
    let s = settings("plane", 10.0, 0.8);
    let big = estimate(&input(vec![event(1000.0, 0.0, 15.0, 0.0, 0.0)]), &s);
    // The second field 40 cm further along the table.
    let both = estimate(
        &input(vec![
            event(1000.0, 0.0, 15.0, 0.0, 0.0),
            event(600.0, 0.0, 15.0, 0.0, -400.0),
        ]),
        &s,
    );
    assert_eq!(both.method, Method::Map);
    assert!((both.psd_mgy.unwrap() / big.psd_mgy.unwrap() - 1.0).abs() < 1e-9);
    assert_eq!(both.events_at_peak, Some(1));
    // The bound adds them.
    assert!(both.upper_bound_mgy.unwrap() > 1600.0);
}

#[test]
fn a_180_degree_rotation_moves_the_peak_to_the_other_side() {
    let s = settings("cylinder", 10.0, 0.8);
    let pa = estimate(&input(vec![event(1000.0, 0.0, 15.0, 0.0, 0.0)]), &s);
    let ap = estimate(&input(vec![event(1000.0, 180.0, 15.0, 0.0, 0.0)]), &s);
    let (lp, la) = (pa.location.unwrap(), ap.location.unwrap());
    assert!(lp.region.ends_with("back"), "{lp:?}");
    assert!(la.region.ends_with("front"), "{la:?}");
    // Half the circumference apart on the unrolled map.
    let circumference = pa
        .map
        .as_ref()
        .map(|m| m.columns as f64 * m.across_step_cm)
        .unwrap();
    assert!((lp.across_cm.abs() - 0.0).abs() <= 1.0);
    assert!(
        (la.across_cm.abs() - circumference / 2.0).abs() <= 1.0,
        "{la:?} {circumference}"
    );
    // LAO 90: the receptor on the patient's left, the beam enters the right side.
    let lao = estimate(&input(vec![event(1000.0, 90.0, 15.0, 0.0, 0.0)]), &s);
    assert!(lao.location.unwrap().region.ends_with("right side"));
}

#[test]
fn moving_the_table_moves_the_peak_by_the_same_distance() {
    let s = settings("plane", 10.0, 0.8);
    let here = estimate(&input(vec![event(1000.0, 0.0, 10.0, 0.0, 0.0)]), &s);
    // 100 mm towards the head end (z) and 50 mm towards the table's left (x).
    let there = estimate(&input(vec![event(1000.0, 0.0, 10.0, 50.0, 100.0)]), &s);
    let (a, b) = (here.location.unwrap(), there.location.unwrap());
    assert!(
        ((b.from_head_cm - a.from_head_cm) - 10.0).abs() <= 1.0,
        "{a:?} {b:?}"
    );
    assert!(
        ((b.across_cm - a.across_cm) + 5.0).abs() <= 1.0,
        "{a:?} {b:?}"
    );
    assert!((here.psd_mgy.unwrap() / there.psd_mgy.unwrap() - 1.0).abs() < 0.01);
}

#[test]
fn a_smaller_field_raises_nothing_but_shrinks_the_area() {
    let s = settings("plane", 10.0, 0.8);
    let wide = estimate(&input(vec![event(4000.0, 0.0, 30.0, 0.0, 0.0)]), &s);
    let narrow = estimate(&input(vec![event(4000.0, 0.0, 10.0, 0.0, 0.0)]), &s);
    assert!(narrow.psd_mgy.unwrap() <= wide.psd_mgy.unwrap());
    let (aw, an) = (
        wide.area_above_2gy_cm2.unwrap(),
        narrow.area_above_2gy_cm2.unwrap(),
    );
    assert!(an > 0.0 && an < aw, "{an} {aw}");
    // 10 cm at 100 cm is 7.4 cm at the skin (74 cm): about 55 cm².
    assert!((an - 55.0).abs() < 15.0, "{an}");
}

#[test]
fn without_geometry_there_is_a_bound_and_a_reason() {
    let s = settings("plane", 10.0, 0.8);
    let mut i = input(vec![event(1000.0, 0.0, 10.0, 0.0, 0.0)]);
    i.model = Some("Unknown".into());
    let r = estimate(&i, &s);
    assert_eq!(r.method, Method::UpperBound);
    assert!(r.reason.as_deref().unwrap().contains("no room geometry"));
    assert_eq!(r.psd_mgy, r.upper_bound_mgy);
    // Largest BSF × μen/ρ at 80 kV, HVL 3.12: 1.407 × 1.021 at most 1.45.
    let psd = r.psd_mgy.unwrap();
    assert!(psd > 1000.0 * 1.4 && psd < 1000.0 * 1.45, "{psd}");
    let mut e = event(1000.0, 0.0, 10.0, 0.0, 0.0);
    e.table_height_mm = None;
    let r = estimate(&input(vec![e]), &s);
    assert_eq!(r.method, Method::UpperBound);
    assert!(
        r.reason.as_deref().unwrap().contains("table position"),
        "{:?}",
        r.reason
    );
    let mut a = input(vec![event(1000.0, 0.0, 10.0, 0.0, 0.0)]);
    a.manufacturer = Some("Philips".into());
    a.model = Some("Azurion".into());
    let r = estimate(&a, &s);
    assert!(r.reason.as_deref().unwrap().contains("Azurion"));
    let none = estimate(&input(Vec::new()), &s);
    assert_eq!(none.psd_mgy, None);
}

#[test]
fn a_rotational_run_spreads_its_dose() {
    let s = settings("cylinder", 10.0, 0.8);
    let mut e = event(1000.0, -90.0, 15.0, 0.0, 0.0);
    let still = estimate(&input(vec![e.clone()]), &s);
    e.rotational = true;
    e.primary_end_deg = Some(90.0);
    let spun = estimate(&input(vec![e]), &s);
    // Cells near the isocentre stay in the beam over much of the arc: the peak falls less
    // than the sweep's length would say, and the irradiated skin (half the circumference here) grows.
    assert!(spun.psd_mgy.unwrap() < 0.9 * still.psd_mgy.unwrap());
    let hit = |r: &kerma::skin::SkinDose| {
        r.map
            .as_ref()
            .unwrap()
            .dose_mgy
            .iter()
            .filter(|d| **d > 0.0)
            .count()
    };
    assert!(
        hit(&spun) > 2 * hit(&still),
        "{} {}",
        hit(&spun),
        hit(&still)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn the_bound_is_never_below_the_maps_peak(
        events in prop::collection::vec(
            (1.0f64..2000.0, -120.0f64..120.0, -40.0f64..40.0, 3.0f64..40.0,
             -150.0f64..150.0, -300.0f64..300.0, 50.0f64..125.0, 0.0f64..0.9),
            1..8),
        cylinder in any::<bool>(),
    ) {
        let s = settings(if cylinder { "cylinder" } else { "plane" }, 10.0, 0.8);
        let evs = events.iter().map(|&(k, a, b, side, x, z, kvp, cu)| {
            let mut e = event(k, a, side, x, z);
            e.secondary_deg = Some(b);
            e.kvp_kv = Some(kvp);
            e.copper_mm = cu;
            e
        }).collect();
        let r = estimate(&input(evs), &s);
        if let (Method::Map, Some(psd), Some(bound)) = (r.method, r.psd_mgy, r.upper_bound_mgy) {
            prop_assert!(bound >= psd * (1.0 - 1e-12), "bound {} < psd {}", bound, psd);
        }
    }
}

/// Each peak-skin-dose trigger level has a section in the skin data's SOURCES.md that writes
/// its value, and the bundled tables load it.
#[test]
fn psd_trigger_levels_are_traced_to_their_sources() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/skin/data");
    let sources = std::fs::read_to_string(format!("{dir}/SOURCES.md")).unwrap();
    let mut rdr = csv::Reader::from_path(format!("{dir}/psd-trigger-levels.csv")).unwrap();
    let mut n = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let (id, unit, value) = (&rec[0], &rec[5], &rec[6]);
        let start = sources
            .find(&format!("### {id} "))
            .unwrap_or_else(|| panic!("{id}"));
        let section = &sources[start..];
        let section = &section[..section[4..].find("\n### ").map_or(section.len(), |e| e + 4)];
        assert!(
            section.contains(&format!("{value} {unit}")),
            "{id}: {value} {unit}"
        );
        n += 1;
        let tables = kerma::reference::ReferenceTables::bundled();
        assert!(tables.trigger_levels().iter().any(|t| t.source_id == id));
    }
    assert_eq!(n, 2);
}

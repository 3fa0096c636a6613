//! Skin dose: a generated 300-event procedure on the elliptic cylinder at 1 cm cells (the
//! issue's target: under 50 ms on one core, beside PySkinDose's 0.2-2 s per procedure), the
//! same on the plane, and every dose report of the corpus with kerma's default settings
//! (extracted once before timing).
//!
//! ```text
//! KERMA_CORPUS=../shared/corpus cargo bench --bench skin
//! ```

mod common;

use std::hint::black_box;
use std::time::Duration;

use kerma::skin::{Settings, SkinEvent, SkinInput, estimate};

/// A room whose table top is 10 cm below the isocentre at table position 0, head end 100 cm
/// beyond it, with the phantom `model`.
fn settings(model: &str) -> Settings {
    Settings::from_json(&format!(
        r#"{{"kerma_skin_settings": 1, "phantom": {{"model": "{model}", "cell_cm": 1}},
            "rooms": [{{"manufacturer": "Bench", "models": ["B1"],
                       "table_zero_cm": {{"x": 0, "y": 10, "z": 100}}}}]}}"#
    ))
    .expect("bench settings")
}

/// `n` events of an embolisation-like procedure: the C-arm sweeps −60…60° LAO/RAO and
/// −30…30° cranio-caudal, the table moves over 20 cm, fields of 10-25 cm, 60-100 kV,
/// copper 0-0.9 mm, every `rotational_every`-th event a rotational run of 180° (36 beams).
fn procedure(n: usize, rotational_every: usize) -> SkinInput {
    let mut input = SkinInput::default();
    input.manufacturer = Some("Bench".into());
    input.model = Some("B1".into());
    input.patient_size_m = Some(1.75);
    input.patient_weight_kg = Some(80.0);
    for i in 0..n {
        let f = i as f64 / n as f64;
        let mut e = SkinEvent::default();
        e.ka_r = kerma::AirKerma::try_from_mgy(5.0 + 20.0 * (i % 7) as f64).ok();
        e.kvp_kv = Some(60.0 + 40.0 * ((i * 37) % 100) as f64 / 100.0);
        e.copper_mm = [0.0, 0.1, 0.3, 0.6, 0.9][i % 5];
        e.primary_deg = Some(-60.0 + 120.0 * ((i * 13) % 50) as f64 / 50.0);
        e.secondary_deg = Some(-30.0 + 60.0 * ((i * 7) % 30) as f64 / 30.0);
        if i % rotational_every == rotational_every - 1 {
            e.rotational = true;
            e.primary_end_deg = e.primary_deg.map(|a| a + 180.0);
        }
        e.source_to_isocenter_cm = Some(78.5);
        e.source_to_detector_cm = Some(105.0 + 15.0 * f);
        let side = 10.0 + 15.0 * ((i * 11) % 20) as f64 / 20.0;
        e.field_area_cm2 = Some(side * side);
        e.table_longitudinal_mm = Some(-50.0 + 100.0 * f);
        e.table_lateral_mm = Some(-100.0 + 200.0 * f);
        e.table_height_mm = Some(0.0);
        input.events.push(e);
    }
    input
}

/// The skin input of every corpus dose report with events.
fn corpus_inputs() -> Vec<SkinInput> {
    let Some(dir) = common::corpus_dir("skin/corpus") else {
        return Vec::new();
    };
    common::files_under(&dir)
        .iter()
        .filter_map(|p| {
            let x = kerma::extract_path(p).ok()?;
            let r = x.report.as_ref().filter(|r| !r.events.is_empty())?;
            Some(SkinInput::from_reports([(r, &x.identity)]))
        })
        .collect()
}

fn main() {
    let mut c = common::config(Duration::from_secs(5));
    let mut g = c.benchmark_group("skin");
    // 3 rotational runs (a typical embolisation) and 30 (a heavy case: 1,350 beams).
    let typical = procedure(300, 100);
    let heavy = procedure(300, 10);
    for (name, model, generated) in [
        ("300_events_cylinder_1cm", "cylinder", &typical),
        ("300_events_plane_1cm", "plane", &typical),
        ("300_events_30_rotational_cylinder_1cm", "cylinder", &heavy),
    ] {
        let s = settings(model);
        let r = estimate(generated, &s);
        assert_eq!(r.method, kerma::skin::Method::Map, "{:?}", r.reason);
        println!(
            "{name}: PSD {:.0} mGy, bound {:.0} mGy, {} events at the peak",
            r.psd_mgy.unwrap_or(0.0),
            r.upper_bound_mgy.unwrap_or(0.0),
            r.events_at_peak.unwrap_or(0)
        );
        g.bench_function(name, |b| {
            b.iter(|| black_box(estimate(black_box(generated), &s)))
        });
    }
    let corpus = corpus_inputs();
    if !corpus.is_empty() {
        let s = Settings::default();
        let maps = corpus
            .iter()
            .filter(|i| estimate(i, &s).method == kerma::skin::Method::Map)
            .count();
        println!(
            "corpus: {} dose reports with events, {maps} mapped",
            corpus.len()
        );
        g.bench_function("corpus_default_settings", |b| {
            b.iter(|| {
                for i in &corpus {
                    black_box(estimate(i, &s));
                }
            })
        });
    }
    g.finish();
    c.final_summary();
    println!("\n=== summary (medians of this run) ===");
    for name in [
        "300_events_cylinder_1cm",
        "300_events_plane_1cm",
        "300_events_30_rotational_cylinder_1cm",
        "corpus_default_settings",
    ] {
        if let Some((ns, _)) = common::estimate("skin", name) {
            println!("{name}: {:.2} ms", ns / 1e6);
        }
    }
}

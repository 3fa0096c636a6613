//! The skin-dose stage of the program: each procedure's events kept from the scan, its peak
//! skin dose estimated with `--skin-settings`, and the heat maps of report.html.

use std::collections::HashMap;
use std::fmt::Write as _;

use kerma::skin::{DoseMap, Method, PhantomModel, Settings, SkinDose, SkinInputs};
use kerma::{Extraction, Procedure};
use plotters::prelude::*;

use crate::args::Args;
use crate::html::esc;
use crate::output::Report;

/// The settings, and per input file (label) the skin input of its dose report.
pub struct Stage {
    settings: Settings,
    inputs: SkinInputs,
    map_level_mgy: f64,
}

impl Stage {
    /// kerma's defaults, or the `--skin-settings` file (kerma's or PySkinDose's JSON).
    pub fn new(args: &Args) -> Result<Stage, String> {
        Ok(Stage {
            settings: settings(args.skin_settings.as_deref())?,
            inputs: SkinInputs::default(),
            map_level_mgy: args.skin_map_above_mgy,
        })
    }

    /// Keeps the skin input of one scanned file that has a dose report with events.
    pub fn collect(&mut self, label: &str, result: &Result<Extraction, kerma::Error>) {
        if let Ok(x) = result {
            self.inputs.add(label, x);
        }
    }

    /// The skin dose of each procedure, by id. Maps are kept only for procedures whose
    /// mapped PSD reaches `--skin-map-above-mgy` (report.html draws those).
    pub fn estimate_all(&self, procedures: &[&Procedure]) -> HashMap<String, SkinDose> {
        procedures
            .iter()
            .filter_map(|p| {
                let input = self.inputs.procedure(p)?;
                let mut skin = kerma::skin::estimate(&input, &self.settings);
                let keep = skin.method == Method::Map
                    && skin.psd_mgy.is_some_and(|v| v >= self.map_level_mgy);
                if !keep {
                    skin.map = None;
                }
                Some((p.id.clone(), skin))
            })
            .collect()
    }
}

/// kerma's defaults, or the settings `file` (kerma's geometry file or PySkinDose's JSON).
pub fn settings(file: Option<&std::path::Path>) -> Result<Settings, String> {
    match file {
        None => Ok(Settings::default()),
        Some(f) => {
            let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
            Settings::from_json(&text).map_err(|e| format!("{}: {e}", f.display()))
        }
    }
}

/// The survey record's peak skin dose.
pub fn set_record(record: &mut kerma::reference::SurveyRecord, skin: Option<&SkinDose>) {
    if let Some(s) = skin {
        record.peak_skin_dose_mgy = s.psd_mgy;
        record.peak_skin_dose_is_bound = s.method == Method::UpperBound;
    }
}

/// The `Skin dose` section of report.html: every procedure with a PSD, highest first, and a
/// heat map for each whose map reaches the level.
pub fn html_section(h: &mut String, r: &Report) {
    let mut rows: Vec<(&str, &SkinDose)> = r
        .doc
        .procedures
        .iter()
        .filter_map(|p| Some((p.id.as_str(), p.skin.as_ref()?)))
        .filter(|(_, s)| s.psd_mgy.is_some())
        .collect();
    if rows.is_empty() {
        return;
    }
    rows.sort_by(|a, b| {
        b.1.psd_mgy
            .unwrap_or(0.0)
            .total_cmp(&a.1.psd_mgy.unwrap_or(0.0))
            .then(a.0.cmp(b.0))
    });
    let level = r.context.args.skin_map_above_mgy;
    let _ = write!(
        h,
        "<h2 id=\"skin\">Peak skin dose</h2>\n<p class=\"small\">Per procedure: a dose map on a \
         phantom from each event's K<sub>a,r</sub>, beam geometry, backscatter and table \
         transmission (<code>map</code>), or, when the room's geometry cannot place the beam on the \
         patient, a conservative upper bound that puts every field on the same skin \
         (<code>upper_bound</code>) and the reason. Maps are drawn for procedures at or above {} Gy.</p>\n\
         <table><tr><th>Procedure</th><th>PSD (Gy)</th><th>Method</th><th>Where</th>\
         <th>Area ≥ 2 Gy (cm²)</th><th>Area ≥ 5 Gy (cm²)</th><th>Bound (Gy)</th><th>Why no map</th></tr>\n",
        level / 1000.0
    );
    for (id, s) in rows.iter().take(50) {
        let gy = |v: Option<f64>| v.map_or(String::new(), |v| format!("{:.3}", v / 1000.0));
        let cm2 = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.0}"));
        let class = if s.psd_mgy.unwrap_or(0.0) >= 2000.0 {
            " class=\"alert\""
        } else {
            ""
        };
        let _ = writeln!(
            h,
            "<tr{class}><td><a href=\"#skin-{id}\">{}</a></td><td class=\"n\">{}</td><td>{}</td>\
             <td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(id),
            gy(s.psd_mgy),
            s.method.as_str(),
            esc(&s
                .location
                .as_ref()
                .map(|l| format!(
                    "{} ({:.0} cm across, {:.0} cm from the head end)",
                    l.region, l.across_cm, l.from_head_cm
                ))
                .unwrap_or_default()),
            cm2(s.area_above_2gy_cm2),
            cm2(s.area_above_5gy_cm2),
            gy(s.upper_bound_mgy),
            esc(s.reason.as_deref().unwrap_or("")),
        );
    }
    h.push_str("</table>\n<div class=\"plots\">\n");
    for (id, s) in &rows {
        let Some(map) = &s.map else { continue };
        let _ = write!(h, "<div id=\"skin-{}\">", esc(id));
        match heat_map(id, s, map) {
            Ok(svg) => h.push_str(&svg),
            Err(e) => {
                let _ = write!(h, "<p>map failed: {}</p>", esc(&e.to_string()));
            }
        }
        h.push_str("</div>\n");
    }
    h.push_str("</div>\n");
}

/// Colour of a dose as a fraction of the scale's top: white, yellow, orange, red, dark red.
fn colour(f: f64) -> RGBColor {
    const STOPS: [(f64, (u8, u8, u8)); 5] = [
        (0.0, (255, 255, 224)),
        (0.25, (254, 217, 118)),
        (0.5, (253, 141, 60)),
        (0.75, (227, 26, 28)),
        (1.0, (128, 0, 38)),
    ];
    let f = f.clamp(0.0, 1.0);
    let i = STOPS
        .iter()
        .rposition(|s| s.0 <= f)
        .unwrap_or(0)
        .min(STOPS.len() - 2);
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let t = (f - a.0) / (b.0 - a.0);
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * t).round() as u8;
    RGBColor(mix(a.1.0, b.1.0), mix(a.1.1, b.1.1), mix(a.1.2, b.1.2))
}

/// A dose for a title: Gy to three significant digits, mGy below 1 Gy.
fn dose_text(mgy: f64) -> String {
    if mgy >= 1000.0 {
        format!("{:.3} Gy", mgy / 1000.0)
    } else {
        format!("{mgy:.3} mGy")
    }
}

/// Colour steps of the map (cells of one step share a colour, so a row's run is one rectangle).
const STEPS: f64 = 24.0;

/// The heat map of one procedure on the unrolled phantom, head at the top, with a colour
/// scale in Gy.
fn heat_map(id: &str, s: &SkinDose, map: &DoseMap) -> Result<String, Box<dyn std::error::Error>> {
    let top_mgy = s.psd_mgy.unwrap_or(0.0).max(1e-9);
    let width = map.columns as f64 * map.across_step_cm;
    let height = map.rows as f64 * map.down_step_cm;
    let model = s.phantom.map(|p| p.model);
    let across = match model {
        Some(PhantomModel::Cylinder) => {
            "around the body from the back's midline (cm, + patient's left)"
        }
        _ => "across the back (cm, + patient's left)",
    };
    let (left, right) = (-width / 2.0, width / 2.0);
    let px_h = 520u32;
    let px_w = ((px_h as f64 - 80.0) * width / height.max(1.0) + 200.0).clamp(260.0, 700.0) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (px_w, px_h)).into_drawing_area();
        root.fill(&WHITE)?;
        let (plot, bar) = root.split_horizontally(px_w - 90);
        let title = format!(
            "{id}: peak {} ({} phantom)",
            dose_text(top_mgy),
            model.map_or("", |m| m.as_str())
        );
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(left..right, height..0.0)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(across)
            .y_desc("from the head end (cm)")
            .label_style(("sans-serif", 11))
            .draw()?;
        let shift = |c: u32| -> f64 {
            // Cylinder: column 0 is the back's midline; draw it in the middle of the map.
            let u = c as f64 * map.across_step_cm;
            match model {
                Some(PhantomModel::Cylinder) => {
                    if u >= width / 2.0 {
                        u - width
                    } else {
                        u
                    }
                }
                _ => u - width / 2.0,
            }
        };
        let mut rects = Vec::new();
        for row in 0..map.rows {
            let y0 = row as f64 * map.down_step_cm;
            let mut run: Option<(u32, u32, i64)> = None;
            let flush = |run: Option<(u32, u32, i64)>, rects: &mut Vec<_>| {
                if let Some((c0, c1, step)) = run
                    && step > 0
                {
                    let x0 = shift(c0);
                    let x1 = x0 + (c1 - c0 + 1) as f64 * map.across_step_cm;
                    rects.push(Rectangle::new(
                        [(x0, y0), (x1, y0 + map.down_step_cm)],
                        colour(step as f64 / STEPS).filled(),
                    ));
                }
            };
            for col in 0..map.columns {
                let d = map.dose_mgy[(row * map.columns + col) as usize] as f64;
                let step = if d > 0.0 {
                    ((d / top_mgy) * STEPS).ceil().clamp(1.0, STEPS) as i64
                } else {
                    0
                };
                // A run does not cross the cylinder's seam (its columns are drawn apart).
                let seam = model == Some(PhantomModel::Cylinder)
                    && (col as f64 * map.across_step_cm) >= width / 2.0
                    && ((col as f64 - 1.0) * map.across_step_cm) < width / 2.0;
                match run {
                    Some((c0, _, s)) if s == step && !seam => run = Some((c0, col, s)),
                    _ => {
                        flush(run, &mut rects);
                        run = Some((col, col, step));
                    }
                }
            }
            flush(run, &mut rects);
        }
        chart.draw_series(rects)?;
        // The colour scale.
        let mut scale = ChartBuilder::on(&bar)
            .margin_top(30)
            .margin_bottom(42)
            .margin_right(8)
            .y_label_area_size(46)
            .build_cartesian_2d(0.0..1.0, 0.0..top_mgy / 1000.0)?;
        scale
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc("Gy")
            .label_style(("sans-serif", 11))
            .draw()?;
        let top = top_mgy / 1000.0;
        scale.draw_series((0..STEPS as i64).map(|i| {
            let f0 = i as f64 / STEPS;
            let f1 = (i + 1) as f64 / STEPS;
            Rectangle::new([(0.0, f0 * top), (1.0, f1 * top)], colour(f1).filled())
        }))?;
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_run_from_pale_to_dark() {
        assert_eq!(colour(0.0), RGBColor(255, 255, 224));
        assert_eq!(colour(1.0), RGBColor(128, 0, 38));
        assert_eq!(colour(2.0), colour(1.0));
        let mid = colour(0.5);
        assert_eq!(mid, RGBColor(253, 141, 60));
    }
}

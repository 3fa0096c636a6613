//! report.html: one self-contained page (inline CSS and SVG, no network).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use kerma::reference::{DrlQuantity, GroupScope};
use kerma::{Procedure, RoomList};
use plotters::prelude::*;

use crate::output::{Report, code, error, kind, outcome};

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn opt_num(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}"))
}

/// A strip plot of one quantity per room (labelled by `rooms`) with the DRL as a horizontal
/// line.
fn strip_plot(
    title: &str,
    unit: &str,
    rooms: &[String],
    points: &[(usize, f64)],
    drl: Option<f64>,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 320)).into_drawing_area();
        root.fill(&WHITE)?;
        let top = points
            .iter()
            .map(|p| p.1)
            .chain(drl)
            .fold(0.0f64, f64::max)
            .max(1e-6)
            * 1.15;
        let right = rooms.len() as f64 - 0.5;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..right, 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(rooms.len() * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.round();
                match rooms.get(i as usize) {
                    Some(label) if (x - i).abs() < 1e-6 && i >= 0.0 => label.clone(),
                    _ => String::new(),
                }
            })
            .y_desc(unit)
            .draw()?;
        chart.draw_series(points.iter().enumerate().map(|(k, &(room, v))| {
            // deterministic jitter so that equal values stay visible
            let dx = ((k % 7) as f64 - 3.0) * 0.04;
            Circle::new((room as f64 + dx, v), 3, BLUE.mix(0.7).filled())
        }))?;
        if let Some(d) = drl {
            chart
                .draw_series(LineSeries::new(
                    [(-0.5, d), (right, d)],
                    RED.stroke_width(2),
                ))?
                .label(format!("DRL {d}"))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED.stroke_width(2)));
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
        root.present()?;
    }
    Ok(svg)
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.85em}\
th,td{border:1px solid #ccc;padding:.2em .4em;text-align:left}\
th{background:#eee}.above{background:#fdd}.below{background:#dfd}\
.plots{display:flex;flex-wrap:wrap;gap:1em}";

/// The page.
pub fn render(r: &Report, procedures: &[&Procedure]) -> String {
    let s = r.survey;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>kerma-report</title><style>{STYLE}</style></head><body>\n\
         <h1>Dose survey</h1>\n"
    );
    let a = r.doc.accounting;
    let _ = writeln!(
        h,
        "<p>{} files: {} in a procedure, {} duplicate, {} superseded, {} without dose, \
         {} unsupported, {} unreadable. {} procedures, {} in the DRL statistics. {} alerts.</p>",
        a.files,
        a.in_procedure,
        a.duplicate,
        a.superseded,
        a.no_dose,
        a.unsupported,
        a.error,
        r.doc.procedures.len(),
        s.exclusions.included,
        r.alert_count
    );
    for n in &s.notes {
        let _ = writeln!(h, "<p><em>{}</em></p>", esc(n));
    }
    let rooms = RoomList::of(procedures.iter().copied());
    rooms_table(&mut h, &rooms);
    plots(&mut h, r, procedures, &rooms);
    drl_table(&mut h, r, &rooms);
    alerts(&mut h, r, &rooms);
    files_table(&mut h, r);
    h.push_str("</body></html>\n");
    h
}

/// `R<n> name` for the room of `key`; the key itself for a room not in the list.
fn room_label(rooms: &RoomList, key: &str) -> String {
    rooms
        .get(key)
        .map_or_else(|| key.to_owned(), |r| format!("{} {}", r.label(), r.name))
}

/// Every room, numbered by name as in every other section.
fn rooms_table(h: &mut String, rooms: &RoomList) {
    h.push_str(
        "<h2>Rooms</h2>\n<table><tr><th>room</th><th>name</th><th>key</th>\
         <th>devices</th><th>procedures</th></tr>\n",
    );
    for room in rooms {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            room.label(),
            esc(&room.name),
            esc(&room.key),
            esc(&room.device_keys.join("; ")),
            room.procedures
        );
    }
    h.push_str("</table>\n");
}

fn plots(h: &mut String, r: &Report, procedures: &[&Procedure], all_rooms: &RoomList) {
    let by_id: HashMap<&str, &Procedure> = procedures.iter().map(|p| (p.id.as_str(), *p)).collect();
    // procedure type → its procedures
    let mut types: BTreeMap<&str, Vec<&Procedure>> = BTreeMap::new();
    for t in &r.survey.procedure_types {
        if let (Some(code), Some(p)) = (&t.procedure_code, by_id.get(t.procedure_id.as_str())) {
            types.entry(code.as_str()).or_default().push(p);
        }
    }
    h.push_str("<h2>P<sub>KA</sub> and K<sub>a,r</sub> per procedure type and room</h2>\n");
    if types.is_empty() {
        h.push_str("<p>No procedure matched a procedure type.</p>\n");
    }
    for (ty, ps) in types {
        let number = |key: &str| all_rooms.get(key).map_or(0, |r| r.number);
        let mut rooms: Vec<&str> = ps.iter().map(|p| p.room.key.as_str()).collect();
        rooms.sort_unstable_by_key(|k| (number(k), *k));
        rooms.dedup();
        let labels: Vec<String> = rooms
            .iter()
            .map(|k| {
                all_rooms
                    .get(k)
                    .map_or_else(|| (*k).to_owned(), |r| r.label())
            })
            .collect();
        let room_ix = |p: &Procedure| rooms.iter().position(|r| *r == p.room.key).unwrap_or(0);
        let drl = |q: DrlQuantity| {
            r.survey
                .drl
                .iter()
                .find(|d| {
                    d.procedure_code == ty && d.scope == GroupScope::AllRooms && d.quantity == q
                })
                .and_then(|d| d.drl_value)
        };
        let pka: Vec<(usize, f64)> = ps
            .iter()
            .filter_map(|p| Some((room_ix(p), p.dap_total?.as_gy_cm2())))
            .collect();
        let kar: Vec<(usize, f64)> = ps
            .iter()
            .filter_map(|p| Some((room_ix(p), p.ka_r_sum_of_planes?.as_mgy())))
            .collect();
        let _ = writeln!(h, "<h3>{}</h3>\n<div class=\"plots\">", esc(ty));
        for (title, unit, pts, q) in [
            ("P_KA", "Gy·cm²", &pka, DrlQuantity::Pka),
            ("K_a,r (sum of planes)", "mGy", &kar, DrlQuantity::KaR),
        ] {
            match strip_plot(&format!("{title}, {}", ty), unit, &labels, pts, drl(q)) {
                Ok(svg) => h.push_str(&svg),
                Err(e) => {
                    let _ = write!(h, "<p>plot failed: {}</p>", esc(&e.to_string()));
                }
            }
        }
        h.push_str("</div>\n<table><tr><th>room</th><th>procedures</th></tr>\n");
        for room in &rooms {
            let n = ps.iter().filter(|p| p.room.key == *room).count();
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{n}</td></tr>",
                esc(&room_label(all_rooms, room))
            );
        }
        h.push_str("</table>\n");
    }
}

fn drl_table(h: &mut String, r: &Report, rooms: &RoomList) {
    h.push_str(
        "<h2>DRL comparison</h2>\n<table><tr><th>procedure type</th><th>room</th>\
        <th>quantity</th><th>unit</th><th>n</th><th>median</th><th>q1</th><th>q3</th>\
        <th>DRL</th><th>source</th><th>median/DRL</th><th>verdict</th></tr>\n",
    );
    for d in &r.survey.drl {
        let verdict = code(&d.verdict);
        let _ = writeln!(
            h,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&verdict),
            esc(&d.procedure_code),
            esc(&d
                .room
                .as_deref()
                .map_or_else(|| "all rooms".to_owned(), |k| room_label(rooms, k))),
            esc(d.quantity.code()),
            esc(d.unit),
            d.n,
            opt_num(d.median),
            opt_num(d.q1),
            opt_num(d.q3),
            opt_num(d.drl_value),
            esc(d.drl_source_id.as_deref().unwrap_or("")),
            opt_num(d.median_to_drl),
            esc(&verdict)
        );
    }
    h.push_str("</table>\n");
}

fn alerts(h: &mut String, r: &Report, rooms: &RoomList) {
    let a = &r.survey.alerts;
    h.push_str(
        "<h2>Alerts: trigger levels reached</h2>\n<table><tr><th>procedure</th>\
        <th>patient</th><th>room</th><th>date</th><th>type</th><th>quantity</th><th>value</th>\
        <th>level</th><th>unit</th><th>source</th><th>action</th><th>files</th></tr>\n",
    );
    let files: HashMap<&str, &kerma::report::ProcedureRow> = r
        .doc
        .procedures
        .iter()
        .map(|p| (p.id.as_str(), p))
        .collect();
    for x in &a.procedures {
        let f = files
            .get(x.procedure_id.as_str())
            .map(|p| p.files.join("; "))
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&x.procedure_id),
            esc(x.patient_id.as_deref().unwrap_or("")),
            esc(&room_label(rooms, &x.room)),
            esc(x.date.as_deref().unwrap_or("")),
            esc(x.procedure_code.as_deref().unwrap_or("")),
            esc(x.quantity.code()),
            x.value,
            x.level,
            esc(x.unit),
            esc(&x.source_id),
            esc(&x.action),
            esc(&f)
        );
    }
    h.push_str("</table>\n");
    let _ = writeln!(
        h,
        "<h3>Per-patient cumulative sums ({} days)</h3>\n<p><em>{}</em></p>\n<table><tr>\
         <th>patient</th><th>quantity</th><th>first</th><th>last</th><th>n</th><th>total</th>\
         <th>unit</th><th>contributing procedures</th><th>levels reached</th></tr>",
        a.cumulative_window_days,
        esc(a.ka_r_caveat)
    );
    for c in &a.patient_cumulative {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            esc(&c.patient_id),
            esc(c.quantity.code()),
            esc(&c.window_first_date),
            esc(&c.window_last_date),
            c.n_procedures,
            c.total,
            esc(c.unit),
            esc(&c.procedure_ids),
            esc(&c.levels_reached)
        );
    }
    h.push_str("</table>\n");
}

fn files_table(h: &mut String, r: &Report) {
    h.push_str(
        "<h2>Every input file</h2>\n<table><tr><th>path</th><th>outcome</th>\
        <th>kind</th><th>fate</th><th>procedure</th><th>detail</th></tr>\n",
    );
    for e in r.doc.files {
        let fate = r.fates.get(e.path.as_str()).map_or("", |a| a.fate.code());
        let detail = error(e)
            .map(str::to_owned)
            .or_else(|| e.duplicate_of.as_ref().map(|d| format!("duplicate of {d}")))
            .or_else(|| {
                e.superseded_by
                    .as_ref()
                    .map(|d| format!("superseded by {d}"))
            })
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.path),
            esc(outcome(e)),
            esc(kind(e).unwrap_or("")),
            esc(fate),
            esc(e.procedure.as_deref().unwrap_or("")),
            esc(&detail)
        );
    }
    h.push_str("</table>\n");
}

//! report.html: one self-contained page (inline CSS and SVG, no script, no network), laid out
//! as a physicist hands it on: what the report covers, the alerts, the procedures by dose,
//! the DRL comparison, the plots, then what could not be typed and every input file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use kerma::reference::{DrlQuantity, DrlRow, GroupScope, MatchStatus, Verdict};
use kerma::report::ProcedureRow;

use crate::labels::{counted, days_from_da, iso_date, num, quantity_name, unit_name};
use crate::output::{Report, alert_lines, error, kind, outcome, verdict};
use crate::plots::{Point, strip_plot, time_plot};

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

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}\
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:2px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.85em}\
th,td{border:1px solid #ccc;padding:.2em .45em;text-align:left;vertical-align:top}\
th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
table.meta th{text-align:right;background:#f6f6f6}\
.above{background:#fdd}.below{background:#dfd}.alert{background:#fde9c8}\
.plots{display:flex;flex-wrap:wrap;gap:1em}.key{font-size:1.05em}\
details{margin:.5em 0 1em}summary{cursor:pointer;color:#036}.small{font-size:.85em;color:#555}";

/// How many procedures the table shows before the rest, one click away.
const TOP_PROCEDURES: usize = 25;

/// The page.
pub fn render(r: &Report) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Patient dose report {}</title><style>{STYLE}</style></head><body>\n\
         <h1>Patient dose report: fluoroscopy and interventional procedures</h1>\n",
        esc(&r.context.date)
    );
    header(&mut h, r);
    key_figures(&mut h, r);
    alerts(&mut h, r);
    procedures(&mut h, r);
    crate::skin::html_section(&mut h, r);
    drl_table(&mut h, r);
    type_plots(&mut h, r);
    room_plots(&mut h, r);
    untyped(&mut h, r);
    files(&mut h, r);
    h.push_str("</body></html>\n");
    h
}

/// A `<td>` with text, escaped.
fn td(h: &mut String, text: &str) {
    let _ = write!(h, "<td>{}</td>", esc(text));
}

/// A right-aligned `<td>` with a number.
fn td_num(h: &mut String, text: &str) {
    let _ = write!(h, "<td class=\"n\">{}</td>", esc(text));
}

/// A table header row.
fn head_row(h: &mut String, cells: &[&str]) {
    h.push_str("<tr>");
    for c in cells {
        let _ = write!(h, "<th>{c}</th>");
    }
    h.push_str("</tr>\n");
}

/// The date of the report, the program, the inputs, the period, the jurisdiction and the
/// tables compared with.
fn header(h: &mut String, r: &Report) {
    let c = &r.context;
    let args = c.args;
    let mut rows: Vec<(&str, String)> = vec![
        ("Report date", c.date.clone()),
        (
            "Program",
            format!("kerma-report {}", env!("CARGO_PKG_VERSION")),
        ),
    ];
    let inputs: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
    rows.push((
        "Inputs",
        format!("{} ({} files)", inputs.join(", "), r.doc.accounting.files),
    ));
    let dates: BTreeSet<&str> = r
        .doc
        .procedures
        .iter()
        .filter_map(|p| p.study_date.as_deref())
        .collect();
    let period = match (args.since, args.until) {
        (None, None) => match (dates.first(), dates.last()) {
            (Some(a), Some(b)) => format!(
                "{} to {} (study dates of the procedures; no period selected)",
                iso_date(a),
                iso_date(b)
            ),
            _ => "all dates (no procedure has a study date)".to_owned(),
        },
        (s, u) => format!(
            "{} to {} (--since, --until)",
            s.map_or("…".into(), |d| iso_date(&d.to_string()).into_owned()),
            u.map_or("…".into(), |d| iso_date(&d.to_string()).into_owned())
        ),
    };
    rows.push(("Period", period));
    rows.push((
        "Jurisdiction",
        format!(
            "{}: each procedure type is compared with the most recent reference level of this jurisdiction",
            args.jurisdiction
        ),
    ));
    let mut drl_sources: BTreeSet<String> = BTreeSet::new();
    for d in &r.survey.drl {
        for (s, y) in [(&d.drl_source_id, d.drl_year), (&d.guide_source_id, None)] {
            if let Some(s) = s {
                drl_sources.insert(match y {
                    Some(y) => format!("{s} ({y})"),
                    None => s.clone(),
                });
            }
        }
    }
    rows.push((
        "Reference levels compared with",
        if drl_sources.is_empty() {
            "none (no procedure type with a reference level of this jurisdiction)".to_owned()
        } else {
            drl_sources.into_iter().collect::<Vec<_>>().join(", ")
        },
    ));
    let triggers: BTreeSet<String> = c
        .config
        .tables
        .trigger_levels()
        .iter()
        .map(|t| format!("{} ({})", t.source_id, t.jurisdiction))
        .collect();
    rows.push((
        "Trigger levels evaluated",
        triggers.into_iter().collect::<Vec<_>>().join(", "),
    ));
    let user: Vec<String> = (args.drl.iter().map(|f| format!("--drl {}", f.display())))
        .chain(
            args.triggers
                .iter()
                .map(|f| format!("--triggers {}", f.display())),
        )
        .chain(
            args.mapping
                .iter()
                .map(|f| format!("--mapping {}", f.display())),
        )
        .collect();
    rows.push((
        "Tables",
        format!(
            "bundled (data/reference-levels, data/procedure-types.csv){}",
            if user.is_empty() {
                String::new()
            } else {
                format!(", and {}", user.join(", "))
            }
        ),
    ));
    h.push_str("<table class=\"meta\">\n");
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    h.push_str("</table>\n");
    let notes: Vec<String> = c
        .remarks
        .iter()
        .map(ToString::to_string)
        .chain(r.survey.notes.iter().cloned())
        .collect();
    for n in notes {
        let _ = writeln!(h, "<p class=\"small\"><em>Note: {}</em></p>", esc(&n));
    }
}

/// One paragraph: how many procedures, rooms, alerts and DRL exceedances.
fn key_figures(h: &mut String, r: &Report) {
    let s = r.survey;
    let above = s.drl.iter().filter(|d| d.verdict == Verdict::Above).count();
    let _ = writeln!(
        h,
        "<p class=\"key\"><b>{}</b> procedures in <b>{}</b> rooms; <b>{}</b> in the DRL statistics \
         ({} without a procedure type). <b>{}</b> alerts (trigger levels reached). \
         <b>{}</b> DRL comparisons above the DRL.</p>",
        r.doc.procedures.len(),
        r.rooms.all().len(),
        s.exclusions.included,
        s.exclusions.unmatched + s.exclusions.ambiguous,
        r.alert_count,
        above
    );
    if !r.rooms.all().is_empty() {
        h.push_str("<table><tr><th>room</th><th>name</th><th>procedures</th></tr>\n");
        for (key, name) in r.rooms.all() {
            let n = r
                .doc
                .procedures
                .iter()
                .filter(|p| &p.room_key == key)
                .count();
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{n}</td></tr>",
                esc(&r.rooms.label(key)),
                esc(name)
            );
        }
        h.push_str("</table>\n");
    }
}

/// Names longer than this are shown in the room table only; elsewhere the room's number
/// stands for them.
const ROOM_NAME_WIDTH: usize = 24;

/// A room as the tables show it: `R1 name`, or `R1` alone when the name is long (a device
/// UID).
fn room(r: &Report, key: &str) -> String {
    let name = r.rooms.name(key);
    if name.chars().count() > ROOM_NAME_WIDTH {
        r.rooms.label(key)
    } else {
        format!("{} {name}", r.rooms.label(key))
    }
}

/// A duration in seconds as `min:ss`.
fn min_sec(s: Option<f64>) -> String {
    match s {
        Some(s) => {
            let t = s.round() as u64;
            format!("{}:{:02}", t / 60, t % 60)
        }
        None => "–".to_owned(),
    }
}

/// Every alert with its patient and procedure, then the patients' cumulative sums.
fn alerts(h: &mut String, r: &Report) {
    let a = &r.survey.alerts;
    h.push_str("<h2>Alerts: trigger levels reached</h2>\n");
    if r.alert_count == 0 {
        h.push_str(
            "<p>No procedure and no patient's cumulative sum reached a trigger level.</p>\n",
        );
    } else {
        h.push_str("<ul>\n");
        for l in alert_lines(r, |k| room(r, k)) {
            let _ = writeln!(h, "<li>{}</li>", esc(&l));
        }
        h.push_str("</ul>\n");
    }
    if !a.procedures.is_empty() {
        h.push_str("<table>");
        head_row(
            h,
            &[
                "procedure",
                "patient",
                "date",
                "room",
                "procedure type",
                "quantity",
                "value",
                "level",
                "source",
                "action",
                "remarks",
                "files",
            ],
        );
        let rows: BTreeMap<&str, &ProcedureRow> = r
            .doc
            .procedures
            .iter()
            .map(|p| (p.id.as_str(), p))
            .collect();
        for x in &a.procedures {
            let unit = unit_name(x.unit);
            let mut remarks = Vec::new();
            if !x.complete {
                remarks.push("totals incomplete: the value is a lower bound");
            }
            if x.quantity == DrlQuantity::KaR && !x.ka_r_comparable {
                remarks.push("K_a,r not at the IEC interventional reference point");
            }
            h.push_str("<tr class=\"alert\">");
            td(h, &x.procedure_id);
            td(h, x.patient_id.as_deref().unwrap_or(""));
            td(h, &x.date.as_deref().map(iso_date).unwrap_or_default());
            td(h, &room(r, &x.room));
            td(h, &r.type_name(&x.procedure_id));
            td(h, quantity_name(x.quantity));
            td_num(h, &format!("{} {unit}", num(Some(x.value))));
            td_num(h, &format!("{} {unit}", num(Some(x.level))));
            td(h, &format!("{} ({})", x.source_id, x.jurisdiction));
            td(h, &x.action);
            td(h, &remarks.join("; "));
            td(
                h,
                &rows
                    .get(x.procedure_id.as_str())
                    .map(|p| p.files.join("; "))
                    .unwrap_or_default(),
            );
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }
    let _ = writeln!(
        h,
        "<h3>Per-patient cumulative sums ({} days)</h3>\n<p class=\"small\">{} {}</p>",
        a.cumulative_window_days,
        esc(a.cumulative_window_basis),
        esc(a.ka_r_caveat)
    );
    if a.patient_cumulative.is_empty() {
        h.push_str("<p>No patient has two procedures within the window.</p>\n");
    } else {
        h.push_str("<table>");
        head_row(
            h,
            &[
                "patient",
                "quantity",
                "first",
                "last",
                "procedures",
                "total",
                "largest single",
                "contributing procedures",
                "levels reached",
            ],
        );
        for c in &a.patient_cumulative {
            let unit = unit_name(c.unit);
            let class = if c.levels_reached.is_empty() {
                ""
            } else {
                " class=\"alert\""
            };
            let _ = write!(h, "<tr{class}>");
            td(h, &c.patient_id);
            td(h, quantity_name(c.quantity));
            td(h, &iso_date(&c.window_first_date));
            td(h, &iso_date(&c.window_last_date));
            td_num(h, &c.n_procedures.to_string());
            td_num(h, &format!("{} {unit}", num(Some(c.total))));
            td_num(h, &format!("{} {unit}", num(Some(c.max_single))));
            td(h, &c.procedure_ids.replace(';', ", "));
            td(h, &c.levels_reached);
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }
    if !a.not_evaluated.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"small\">Not evaluated: {}</p>",
            esc(&a.not_evaluated.join("; "))
        );
    }
}

/// The procedures, highest P_KA first: the first ones shown, the rest one click away.
fn procedures(h: &mut String, r: &Report) {
    let mut sorted: Vec<&ProcedureRow> = r.doc.procedures.iter().collect();
    sorted.sort_by(|a, b| {
        b.dap_total_gy_cm2
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.dap_total_gy_cm2.unwrap_or(f64::NEG_INFINITY))
            .then_with(|| a.id.cmp(&b.id))
    });
    let alerted: BTreeSet<&str> = r
        .survey
        .alerts
        .procedures
        .iter()
        .map(|a| a.procedure_id.as_str())
        .collect();
    let _ = writeln!(
        h,
        "<h2 id=\"procedures\">Procedures, highest P<sub>KA</sub> first</h2>\n\
         <p class=\"small\">P<sub>KA</sub>: kerma-area product (DAP) of the procedure, planes \
         summed. K<sub>a,r</sub>: air kerma at the reference point, planes summed (not a skin \
         dose); * marks a K<sub>a,r</sub> whose reference point is not the IEC interventional \
         reference point. Highlighted: a trigger level reached.</p>"
    );
    let table = |h: &mut String, rows: &[&ProcedureRow], first_rank: usize| {
        h.push_str("<table class=\"procedures\">");
        head_row(
            h,
            &[
                "#",
                "procedure",
                "P<sub>KA</sub> (Gy·cm²)",
                "K<sub>a,r</sub> (mGy)",
                "fluoroscopy time (min:s)",
                "room",
                "date",
                "procedure type",
                "patient ID",
            ],
        );
        for (i, p) in rows.iter().enumerate() {
            let class = if alerted.contains(p.id.as_str()) {
                " class=\"alert\""
            } else {
                ""
            };
            let _ = write!(h, "<tr{class}>");
            td_num(h, &(first_rank + i).to_string());
            td(h, &p.id);
            td_num(h, &num(p.dap_total_gy_cm2));
            let star = if p.reference_point_standard || p.ka_r_total_mgy.is_none() {
                ""
            } else {
                "*"
            };
            td_num(h, &format!("{}{star}", num(p.ka_r_total_mgy)));
            td_num(h, &min_sec(p.fluoro_time_s));
            td(h, &room(r, &p.room_key));
            td(
                h,
                &p.study_date.as_deref().map(iso_date).unwrap_or_default(),
            );
            td(h, &r.type_name(&p.id));
            td(h, p.patient_id.as_deref().unwrap_or(""));
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    };
    let (top, rest) = sorted.split_at(sorted.len().min(TOP_PROCEDURES));
    table(h, top, 1);
    if !rest.is_empty() {
        let _ = writeln!(
            h,
            "<details><summary>The other {} procedures</summary>",
            rest.len()
        );
        table(h, rest, TOP_PROCEDURES + 1);
        h.push_str("</details>\n");
    }
}

/// Whether a DRL row is worth showing first: a procedure type over all rooms that has a
/// reference level, or a group with enough procedures for a comparison. A room with a few
/// procedures is one click away.
fn shown_first(d: &DrlRow) -> bool {
    let reference = d.drl_value.is_some() || d.guide_value.is_some();
    (reference && d.scope == GroupScope::AllRooms) || d.n >= d.min_sample_size.max(2)
}

/// The DRL comparison: rows with a reference level or enough procedures, the rest one click
/// away.
fn drl_table(h: &mut String, r: &Report) {
    h.push_str(
        "<h2>Comparison with diagnostic reference levels (DRL)</h2>\n\
         <p class=\"small\">A DRL applies to the median of a sample of procedures, never to one \
         patient: a group is above its DRL when its median is.</p>\n",
    );
    let (first, rest): (Vec<&DrlRow>, Vec<&DrlRow>) =
        r.survey.drl.iter().partition(|d| shown_first(d));
    let table = |h: &mut String, rows: &[&DrlRow]| {
        h.push_str("<table>");
        head_row(
            h,
            &[
                "procedure type",
                "room",
                "quantity",
                "procedures",
                "median",
                "Q1 – Q3",
                "DRL",
                "DRL source",
                "median / DRL",
                "verdict",
                "guide value",
            ],
        );
        for d in rows {
            let class = match d.verdict {
                Verdict::Above => " class=\"above\"",
                Verdict::Below => " class=\"below\"",
                _ => "",
            };
            let unit = unit_name(d.unit);
            let with_unit = |v: Option<f64>| match v {
                Some(_) => format!("{} {unit}", num(v)),
                None => "–".to_owned(),
            };
            let _ = write!(h, "<tr{class}>");
            td(h, r.types.name(&d.procedure_code));
            td(
                h,
                &match (&d.room, d.scope) {
                    (Some(k), GroupScope::Room) => room(r, k),
                    _ => "all rooms".to_owned(),
                },
            );
            td(h, quantity_name(d.quantity));
            td_num(h, &d.n.to_string());
            td_num(h, &with_unit(d.median));
            td_num(
                h,
                &match (d.q1, d.q3) {
                    (Some(_), Some(_)) => format!("{} – {} {unit}", num(d.q1), num(d.q3)),
                    _ => "–".to_owned(),
                },
            );
            td_num(h, &with_unit(d.drl_value));
            td(
                h,
                &d.drl_source_id
                    .as_deref()
                    .map(|s| match d.drl_year {
                        Some(y) => format!("{s} ({y})"),
                        None => s.to_owned(),
                    })
                    .unwrap_or_default(),
            );
            td_num(h, &num(d.median_to_drl));
            td(h, &verdict(d));
            td_num(
                h,
                &match &d.guide_source_id {
                    Some(s) => format!("{} ({s})", with_unit(d.guide_value)),
                    None => String::new(),
                },
            );
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    };
    if first.is_empty() {
        h.push_str(
            "<p>No procedure type has a reference level of this jurisdiction or enough \
             procedures for a comparison.</p>\n",
        );
    } else {
        table(h, &first);
    }
    if !rest.is_empty() {
        let _ = writeln!(
            h,
            "<details><summary>{} more rows, each with fewer procedures than a comparison \
             needs</summary>",
            rest.len()
        );
        table(h, &rest);
        h.push_str("</details>\n");
    }
}

/// A plot's SVG, or why it could not be drawn.
fn push_plot(h: &mut String, plot: Result<String, Box<dyn std::error::Error>>) {
    match plot {
        Ok(svg) => h.push_str(&svg),
        Err(e) => {
            let _ = write!(h, "<p>plot failed: {}</p>", esc(&e.to_string()));
        }
    }
}

/// The tooltip of a procedure's point.
fn tip(p: &ProcedureRow, value: f64, unit: &str, r: &Report) -> String {
    format!(
        "{} · {} · {} · patient {} · {} {}",
        p.id,
        p.study_date.as_deref().map(iso_date).unwrap_or_default(),
        room(r, &p.room_key),
        p.patient_id.as_deref().unwrap_or("-"),
        num(Some(value)),
        unit
    )
}

/// Per procedure type: a strip plot of P_KA and of K_a,r by room, with each room's median and
/// the DRL.
fn type_plots(h: &mut String, r: &Report) {
    let mut types: BTreeMap<&str, Vec<&ProcedureRow>> = BTreeMap::new();
    for p in r.doc.procedures {
        if let Some(code) = r.type_row(&p.id).and_then(|t| t.procedure_code.as_deref()) {
            types.entry(code).or_default().push(p);
        }
    }
    h.push_str(
        "<h2>P<sub>KA</sub> and K<sub>a,r</sub> per procedure type and room</h2>\n\
         <p class=\"small\">One point per procedure (hover for its id); black bar: median of \
         the room; red line: the DRL of the jurisdiction, where there is one. Points far above \
         their room's third quartile are labelled.</p>\n",
    );
    if types.is_empty() {
        h.push_str(
            "<p>No procedure has a procedure type: see <a href=\"#untyped\">descriptions \
             without a procedure type</a>.</p>\n",
        );
    }
    for (ty, ps) in types {
        let keys: BTreeSet<&str> = ps.iter().map(|p| p.room_key.as_str()).collect();
        let mut keys: Vec<&str> = keys.into_iter().collect();
        keys.sort_by_key(|k| r.rooms.number(k));
        let labels: Vec<String> = keys.iter().map(|k| r.rooms.label(k)).collect();
        let column = |p: &ProcedureRow| keys.iter().position(|k| *k == p.room_key).unwrap_or(0);
        let drl = |q: DrlQuantity| {
            r.survey
                .drl
                .iter()
                .find(|d| {
                    d.procedure_code == ty && d.scope == GroupScope::AllRooms && d.quantity == q
                })
                .and_then(|d| {
                    let source = d.drl_source_id.as_deref().unwrap_or("");
                    Some((
                        d.drl_value?,
                        format!("DRL {} {} ({source})", num(d.drl_value), unit_name(d.unit)),
                    ))
                })
        };
        let points = |value: &dyn Fn(&ProcedureRow) -> Option<f64>, unit: &str| -> Vec<Point> {
            ps.iter()
                .filter_map(|p| {
                    let v = value(p)?;
                    Some(Point {
                        x: column(p) as f64,
                        y: v,
                        tip: tip(p, v, unit, r),
                        label: p.id.clone(),
                    })
                })
                .collect()
        };
        let name = r.types.name(ty);
        let _ = writeln!(
            h,
            "<h3>{} <span class=\"small\">({}, {} procedures)</span></h3>\n<div class=\"plots\">",
            esc(name),
            esc(ty),
            ps.len()
        );
        let pka = points(&|p| p.dap_total_gy_cm2, "Gy·cm²");
        push_plot(
            h,
            strip_plot(
                &format!("P_KA, {name}"),
                "P_KA (Gy·cm²)",
                &labels,
                &pka,
                drl(DrlQuantity::Pka),
            ),
        );
        let kar = points(&|p| p.ka_r_total_mgy, "mGy");
        push_plot(
            h,
            strip_plot(
                &format!("K_a,r, {name}"),
                "K_a,r (mGy)",
                &labels,
                &kar,
                drl(DrlQuantity::KaR),
            ),
        );
        h.push_str("</div>\n");
    }
}

/// Per room: P_KA of each procedure over time, with the monthly median.
fn room_plots(h: &mut String, r: &Report) {
    h.push_str(
        "<h2>P<sub>KA</sub> per procedure over time, by room</h2>\n\
         <p class=\"small\">One point per procedure (hover for its id), all procedure types \
         together; black bars: the median of each month, so that a drift after a protocol or \
         equipment change shows.</p>\n<div class=\"plots\">\n",
    );
    let mut few = Vec::new();
    for (key, _) in r.rooms.all() {
        let points: Vec<Point> = r
            .doc
            .procedures
            .iter()
            .filter(|p| &p.room_key == key)
            .filter_map(|p| {
                let day = days_from_da(p.study_date.as_deref()?)?;
                let v = p.dap_total_gy_cm2?;
                Some(Point {
                    x: day as f64,
                    y: v,
                    tip: tip(p, v, "Gy·cm²", r),
                    label: p.id.clone(),
                })
            })
            .collect();
        if points.len() < 2 {
            few.push(r.rooms.label(key));
            continue;
        }
        push_plot(
            h,
            time_plot(
                &format!("{}: P_KA per procedure", room(r, key)),
                "P_KA (Gy·cm²)",
                &points,
            ),
        );
    }
    h.push_str("</div>\n");
    if !few.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"small\">Not plotted (fewer than 2 procedures with a date and a \
             P<sub>KA</sub>): {}.</p>",
            esc(&few.join(", "))
        );
    }
}

/// The descriptions that no procedure-typing rule typed, most frequent first.
fn untyped(h: &mut String, r: &Report) {
    let list = &r.survey.unmatched_descriptions;
    h.push_str("<h2 id=\"untyped\">Descriptions without a procedure type</h2>\n");
    if list.is_empty() {
        h.push_str("<p>Every procedure has a procedure type.</p>\n");
        return;
    }
    h.push_str(
        "<p class=\"small\">These procedures are left out of the DRL statistics. A \
         <code>--mapping</code> file types them: a CSV with the columns \
         <code>priority,procedure_code,match,pattern</code>, for example \
         <code>50,coronary_angiography,contains,coro diagnostic</code> \
         (<code>kerma-report --list procedure-types</code> lists the codes); the pattern \
         column below is ready to paste.</p>\n<table>",
    );
    head_row(
        h,
        &[
            "procedures",
            "text",
            "field",
            "why",
            "pattern",
            "procedure ids",
        ],
    );
    for u in list {
        let why = if u.match_status == MatchStatus::Ambiguous {
            format!(
                "matches several types equally: {}",
                u.matched_codes.replace(';', ", ")
            )
        } else {
            "no rule matches".to_owned()
        };
        h.push_str("<tr>");
        td_num(h, &u.n_procedures.to_string());
        td(h, &u.text);
        td(h, u.field.code());
        td(h, &why);
        td(h, &u.pattern);
        td(h, &u.example_procedure_ids.replace(';', ", "));
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

/// What became of every input file: the counts, then each file one click away.
fn files(h: &mut String, r: &Report) {
    let a = r.doc.accounting;
    let _ = writeln!(
        h,
        "<h2>Input files</h2>\n<p>{} files: {} in a procedure, {} duplicate, {} superseded, \
         {} without fluoroscopy dose, {} not supported, {} unreadable, {} skipped \
         (not DICOM).</p>",
        a.files,
        a.in_procedure,
        a.duplicate,
        a.superseded,
        a.no_dose,
        a.unsupported,
        a.error,
        a.skipped
    );
    let _ = writeln!(
        h,
        "<details><summary>Every input file ({})</summary>\n<table>",
        r.doc.files.len()
    );
    head_row(
        h,
        &[
            "path",
            "outcome",
            "kind",
            "fate",
            "procedure",
            "detail",
            "warnings",
        ],
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
            .or_else(|| e.skip_reason.clone())
            .unwrap_or_default();
        h.push_str("<tr>");
        td(h, &e.path);
        td(h, outcome(e));
        td(h, kind(e).unwrap_or(""));
        td(h, fate);
        td(h, e.procedure.as_deref().unwrap_or(""));
        td(h, &detail);
        let warnings: Vec<String> = counted(&e.warnings).iter().map(|w| esc(w)).collect();
        let _ = write!(h, "<td>{}</td>", warnings.join("<br>"));
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n</details>\n");
    let warned: Vec<&ProcedureRow> = r
        .doc
        .procedures
        .iter()
        .filter(|p| !p.warnings.is_empty())
        .collect();
    if !warned.is_empty() {
        h.push_str("<h3>Procedure warnings</h3>\n<table>");
        head_row(h, &["procedure", "warnings"]);
        for p in warned {
            h.push_str("<tr>");
            td(h, &p.id);
            let warnings: Vec<String> = counted(&p.warnings).iter().map(|w| esc(w)).collect();
            let _ = write!(h, "<td>{}</td>", warnings.join("<br>"));
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }
}

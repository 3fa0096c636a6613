//! The plots of report.html, drawn by plotters as inline SVG. Every point carries an SVG
//! `<title>` (a tooltip naming its procedure); outliers are also labelled on the plot.

use plotters::prelude::*;

use std::collections::BTreeMap;

use crate::labels::{civil_from_days, date_of_days, days_from_da};

type PlotResult = Result<String, Box<dyn std::error::Error>>;

const SIZE: (u32, u32) = (600, 340);
const POINT: RGBAColor = RGBAColor(31, 95, 191, 0.65);
const DRL: RGBColor = RGBColor(200, 30, 30);
const MEDIAN: RGBColor = RGBColor(20, 20, 20);

/// One procedure on a plot.
pub struct Point {
    /// Room number (strip plot) or day since 1970-01-01 (time plot).
    pub x: f64,
    pub y: f64,
    /// The tooltip: procedure, date, value.
    pub tip: String,
    /// The label written next to an outlier.
    pub label: String,
}

/// A strip plot of one quantity: one column of points per room, each room's median as a
/// black bar, the DRL as a red line with its label. Points above Q3 + 1.5 IQR of their room
/// are labelled with their procedure id.
pub fn strip_plot(
    title: &str,
    y_title: &str,
    rooms: &[String],
    points: &[Point],
    drl: Option<(f64, String)>,
) -> PlotResult {
    let mut svg = String::new();
    let n = rooms.len().max(1);
    let medians: Vec<(usize, f64, f64)> = (0..n)
        .filter_map(|i| {
            let mut v: Vec<f64> = points
                .iter()
                .filter(|p| p.x as usize == i)
                .map(|p| p.y)
                .collect();
            v.sort_by(f64::total_cmp);
            let (q1, med, q3) = (quantile(&v, 0.25)?, quantile(&v, 0.5)?, quantile(&v, 0.75)?);
            Some((i, med, q3 + 1.5 * (q3 - q1)))
        })
        .collect();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let top = points
            .iter()
            .map(|p| p.y)
            .chain(drl.as_ref().map(|d| d.0))
            .fold(0.0f64, f64::max)
            .max(1e-6)
            * 1.15;
        let right = n as f64 - 0.5;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..right, 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < rooms.len() {
                    rooms[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc("room")
            .y_desc(y_title)
            .draw()?;
        chart.draw_series(points.iter().enumerate().map(|(k, p)| {
            // deterministic jitter so that equal values stay visible
            let dx = ((k % 7) as f64 - 3.0) * 0.04;
            Circle::new((p.x + dx, p.y), 4, POINT.filled())
        }))?;
        chart.draw_series(medians.iter().map(|&(i, m, _)| {
            let x = i as f64;
            PathElement::new([(x - 0.3, m), (x + 0.3, m)], MEDIAN.stroke_width(3))
        }))?;
        chart.draw_series(points.iter().filter_map(|p| {
            let fence = medians.iter().find(|m| m.0 == p.x as usize)?.2;
            (p.y > fence).then(|| {
                Text::new(
                    p.label.clone(),
                    (p.x + 0.08, p.y),
                    ("sans-serif", 12).into_font().color(&BLACK),
                )
            })
        }))?;
        if let Some((d, label)) = &drl {
            chart.draw_series(LineSeries::new(
                [(-0.5, *d), (right, *d)],
                DRL.stroke_width(2),
            ))?;
            chart.draw_series([EmptyElement::at((-0.5, *d))
                + Text::new(
                    label.clone(),
                    (4, -14),
                    ("sans-serif", 12).into_font().color(&DRL),
                )])?;
        }
        root.present()?;
    }
    Ok(with_tooltips(svg, points))
}

/// P_KA of each procedure of one room over time, with each month's median as a bar across
/// the month. A span of less than [`DAILY_SPAN`] days has a day axis, a longer one a month
/// axis (one unit per calendar month, labelled at month starts).
pub fn time_plot(title: &str, y_title: &str, points: &[Point]) -> PlotResult {
    let mut svg = String::new();
    let (first, last) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.x), b.max(p.x)));
    let daily = last - first < DAILY_SPAN;
    let at = |day: f64| if daily { day } else { month_coordinate(day) };
    let monthly = monthly_medians(points, daily);
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let (a, b) = (at(first), at(last));
        let pad = ((b - a) * 0.05).max(if daily { 10.0 } else { 0.5 });
        let (left, right) = (a - pad, b + pad);
        let top = points.iter().map(|p| p.y).fold(0.0f64, f64::max).max(1e-6) * 1.15;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(left..right, 0f64..top)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|x| {
                let i = x.round();
                if daily {
                    date_of_days(i as i64)
                } else if (x - i).abs() < 1e-6 {
                    let m = i as i64;
                    format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
                } else {
                    String::new()
                }
            })
            .x_desc("study date")
            .y_desc(y_title)
            .draw()?;
        chart.draw_series(
            points
                .iter()
                .map(|p| Circle::new((at(p.x), p.y), 4, POINT.filled())),
        )?;
        chart.draw_series(monthly.iter().map(|&(a, b, m)| {
            PathElement::new(
                [(a.max(left), m), (b.min(right), m)],
                MEDIAN.stroke_width(2),
            )
        }))?;
        root.present()?;
    }
    Ok(with_tooltips(svg, points))
}

/// Spans shorter than this many days are plotted on a day axis.
const DAILY_SPAN: f64 = 90.0;

/// A day (since 1970-01-01) on the month axis: months since year 0, plus the fraction of
/// its month gone.
fn month_coordinate(day: f64) -> f64 {
    let d = day.round() as i64;
    let (y, m, _) = civil_from_days(d);
    let start = month_start(y, m);
    let next = if m == 12 {
        month_start(y + 1, 1)
    } else {
        month_start(y, m + 1)
    };
    (y * 12 + i64::from(m) - 1) as f64 + (d - start) as f64 / (next - start).max(1) as f64
}

/// The day (since 1970-01-01) of the first of month `m` of year `y`.
fn month_start(y: i64, m: u32) -> i64 {
    days_from_da(&format!("{y:04}{m:02}01")).unwrap_or(0)
}

/// (start, end, median) of each calendar month with points, in time order, on the day axis
/// (`daily`) or the month axis.
fn monthly_medians(points: &[Point], daily: bool) -> Vec<(f64, f64, f64)> {
    let mut months: BTreeMap<(i64, u32), Vec<f64>> = BTreeMap::new();
    for p in points {
        let (y, m, _) = civil_from_days(p.x.round() as i64);
        months.entry((y, m)).or_default().push(p.y);
    }
    months
        .into_iter()
        .filter_map(|((y, m), mut v)| {
            v.sort_by(f64::total_cmp);
            let median = quantile(&v, 0.5)?;
            Some(if daily {
                let next = if m == 12 {
                    month_start(y + 1, 1)
                } else {
                    month_start(y, m + 1)
                };
                (month_start(y, m) as f64, next as f64, median)
            } else {
                let i = (y * 12 + i64::from(m) - 1) as f64;
                (i, i + 1.0, median)
            })
        })
        .collect()
}

/// The `p` quantile of sorted values, interpolated linearly between order statistics (the
/// survey's method, Hyndman-Fan type 7).
fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// Gives the k-th `<circle>` of the SVG the k-th point's tooltip. The points are the only
/// circles drawn; if the count differs, the SVG is returned as drawn.
fn with_tooltips(svg: String, points: &[Point]) -> String {
    if svg.matches("<circle ").count() != points.len() {
        return svg;
    }
    let mut out = String::with_capacity(svg.len() + points.len() * 48);
    let mut rest = svg.as_str();
    for p in points {
        let Some(start) = rest.find("<circle ") else {
            break;
        };
        let Some(end) = rest[start..].find("/>") else {
            break;
        };
        out.push_str(&rest[..start + end]);
        out.push_str("><title>");
        out.push_str(&crate::html::esc(&p.tip));
        out.push_str("</title></circle>");
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

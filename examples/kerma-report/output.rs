//! The JSON document and the table; what the outputs say of a file.

use std::collections::HashMap;
use std::io::{self, Write};

use kerma::FileAccount;
use kerma::reference::{SurveyReport, Verdict};
use kerma::report::{FileEntry, ProcedureRow};
use serde::Serialize;

/// Everything the program reports; the JSON document of `--format json` and `report.json`.
#[derive(Serialize)]
pub struct Doc<'a> {
    pub files: &'a [FileEntry],
    pub procedures: &'a [ProcedureRow],
    pub accounting: &'a kerma::Accounting,
    pub drl: &'a [kerma::reference::DrlRow],
    pub alerts: &'a kerma::reference::AlertReport,
    pub procedure_types: &'a [kerma::reference::ProcedureTypeRow],
    pub exclusions: &'a kerma::reference::ExclusionCounts,
    pub survey_notes: &'a [String],
}

/// The outputs and what the program needs besides them.
pub struct Report<'a> {
    pub doc: Doc<'a>,
    pub survey: &'a SurveyReport,
    /// Fate of every input, by label (path).
    pub fates: HashMap<&'a str, &'a FileAccount>,
    pub alert_count: usize,
}

/// The serde name of a unit enum variant (`above`, `all_rooms`, …).
pub fn code<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The outcome of a file (`dose`, `no_dose`, `unsupported`, `error`) in the table, the CSV
/// files and the HTML page.
pub fn outcome(e: &FileEntry) -> &'static str {
    e.outcome.as_str()
}

/// The object kind of a file (`rdsr`, `xa_image`, …); none when it could not be read.
pub fn kind(e: &FileEntry) -> Option<&'static str> {
    e.kind.map(kerma::ObjectKind::as_str)
}

/// Why a file could not be read.
pub fn error(e: &FileEntry) -> Option<&str> {
    e.error.as_deref()
}

pub fn write_json(mut out: impl Write, doc: &Doc) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, doc)?;
    writeln!(out)
}

fn num(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.prec$}"))
}

/// Width of the file column of the table; longer paths keep their end.
const FILE_WIDTH: usize = 48;

/// One line of the file table. The header is the line whose cells are the column names
/// ([`FILE_HEADER`]), so one format writes both.
struct FileLine<'a> {
    file: &'a str,
    outcome: &'a str,
    kind: &'a str,
    figures: Figures<'a>,
}

/// The cells after the kind.
enum Figures<'a> {
    /// Plane, DAP, K_a,r, fluoroscopy time and event count (one line per plane).
    Dose {
        plane: &'a str,
        dap: &'a str,
        ka_r: &'a str,
        fluoro: &'a str,
        events: &'a str,
    },
    /// The error of a file without dose figures (empty for a file read without error).
    Text(&'a str),
}

const FILE_HEADER: FileLine<'static> = FileLine {
    file: "file",
    outcome: "outcome",
    kind: "kind",
    figures: Figures::Dose {
        plane: "plane",
        dap: "DAP Gy·cm²",
        ka_r: "Ka,r mGy",
        fluoro: "fluoro s",
        events: "events",
    },
};

impl FileLine<'_> {
    fn write(&self, out: &mut impl Write) -> io::Result<()> {
        write!(
            out,
            "{:<FILE_WIDTH$} {:<11} {:<14} ",
            self.file, self.outcome, self.kind
        )?;
        match self.figures {
            Figures::Dose {
                plane,
                dap,
                ka_r,
                fluoro,
                events,
            } => writeln!(
                out,
                "{plane:>5} {dap:>12} {ka_r:>10} {fluoro:>9} {events:>6}"
            ),
            Figures::Text(text) => writeln!(out, "{text}"),
        }
    }
}

pub fn write_table(mut out: impl Write, r: &Report) -> io::Result<()> {
    FILE_HEADER.write(&mut out)?;
    for e in r.doc.files {
        let file = shorten(&e.path, FILE_WIDTH);
        let outcome = outcome(e);
        let kind = kind(e);
        let mut write = |figures: Figures<'_>| {
            FileLine {
                file: &file,
                outcome,
                kind: kind.unwrap_or("-"),
                figures,
            }
            .write(&mut out)
        };
        let events = e.events.as_ref().map_or(0, Vec::len).to_string();
        match (&e.planes, &e.image) {
            (Some(planes), _) if !planes.is_empty() => {
                for p in planes {
                    write(Figures::Dose {
                        plane: p.plane,
                        dap: &num(p.dap_total_gy_cm2, 3),
                        ka_r: &num(p.ka_r_total_mgy, 2),
                        fluoro: &num(p.fluoro_time_s, 1),
                        events: &events,
                    })?;
                }
            }
            (_, Some(img)) => write(Figures::Dose {
                plane: "-",
                dap: &num(img.dap_gy_cm2, 3),
                ka_r: &num(img.entrance_dose_mgy, 2),
                fluoro: &num(img.fluoro_time_s, 1),
                events: "-",
            })?,
            _ => write(Figures::Text(error(e).unwrap_or("")))?,
        }
    }
    write_summary(out, r)
}

fn write_summary(mut out: impl Write, r: &Report) -> io::Result<()> {
    let a = r.doc.accounting;
    let s = r.survey;
    writeln!(out)?;
    writeln!(out, "Summary")?;
    writeln!(
        out,
        "  files: {} (in a procedure {}, duplicate {}, superseded {}, no dose {}, unsupported {}, error {})",
        a.files, a.in_procedure, a.duplicate, a.superseded, a.no_dose, a.unsupported, a.error
    )?;
    let x = &s.exclusions;
    writeln!(
        out,
        "  procedures: {} reported, {} in the survey, {} in DRL statistics (unmatched {}, ambiguous {}, incomplete {})",
        r.doc.procedures.len(),
        x.procedures,
        x.included,
        x.unmatched,
        x.ambiguous,
        x.incomplete
    )?;
    let count = |v: Verdict| s.drl.iter().filter(|d| d.verdict == v).count();
    writeln!(
        out,
        "  DRL comparisons: {} above, {} below, {} insufficient sample, {} without reference",
        count(Verdict::Above),
        count(Verdict::Below),
        count(Verdict::InsufficientSample),
        count(Verdict::NoReference)
    )?;
    for d in s.drl.iter().filter(|d| d.verdict == Verdict::Above) {
        writeln!(
            out,
            "    ABOVE {} {} {}: median {} > DRL {} {} ({}, n={})",
            d.procedure_code,
            d.room_name.as_deref().unwrap_or("all rooms"),
            d.quantity,
            num(d.median, 2),
            num(d.drl_value, 2),
            d.unit,
            d.drl_source_id.as_deref().unwrap_or("-"),
            d.n
        )?;
    }
    writeln!(
        out,
        "  alerts: {} (procedures at or above a trigger level {}, patients' cumulative sums {})",
        r.alert_count,
        s.alerts.procedures.len(),
        r.alert_count - s.alerts.procedures.len()
    )?;
    for n in &s.notes {
        writeln!(out, "  note: {n}")?;
    }
    Ok(())
}

fn shorten(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        s.to_owned()
    } else {
        let tail: String = s.chars().skip(count - (n - 1)).collect();
        format!("…{tail}")
    }
}

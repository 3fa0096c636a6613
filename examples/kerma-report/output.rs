//! The JSON document and the table; what the outputs say of a file.

use std::collections::HashMap;
use std::io::{self, Write};

use kerma::FileAccount;
use kerma::reference::{
    MatchStatus, ProcedureTypeRow, SurveyConfig, SurveyReport, TableRemark, Verdict,
};
use kerma::report::{FileEntry, ProcedureRow};
use serde::Serialize;

use crate::args::{Args, By};
use crate::labels::{Rooms, TypeNames, counted, iso_date, quantity_name, unit_name, verdict_words};

/// Everything the program reports; the JSON document of `--format json` and `report.json`.
#[derive(Serialize)]
pub struct Doc<'a> {
    pub files: &'a [FileEntry],
    pub procedures: &'a [ProcedureRow],
    pub accounting: &'a kerma::Accounting,
    pub drl: &'a [kerma::reference::DrlRow],
    pub alerts: &'a kerma::reference::AlertReport,
    pub procedure_types: &'a [kerma::reference::ProcedureTypeRow],
    pub unmatched_descriptions: &'a [kerma::reference::UnmatchedDescriptionRow],
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
    /// The rooms, numbered.
    pub rooms: Rooms,
    /// Names of the procedure types.
    pub types: TypeNames,
    /// The type row of each procedure, by id.
    type_rows: HashMap<&'a str, &'a ProcedureTypeRow>,
    /// What the report was made from.
    pub context: Context<'a>,
}

/// What a report was made from: the options, the tables, the date.
pub struct Context<'a> {
    pub args: &'a Args,
    pub config: &'a SurveyConfig,
    /// Rows of the user's tables that name an unknown procedure code or jurisdiction.
    pub remarks: &'a [TableRemark],
    /// The date of the report, `YYYY-MM-DD`.
    pub date: String,
}

impl<'a> Report<'a> {
    pub fn new(
        doc: Doc<'a>,
        survey: &'a SurveyReport,
        fates: HashMap<&'a str, &'a FileAccount>,
        context: Context<'a>,
    ) -> Report<'a> {
        Report {
            rooms: Rooms::new(doc.procedures),
            types: TypeNames::new(&context.config.tables),
            type_rows: survey
                .procedure_types
                .iter()
                .map(|t| (t.procedure_id.as_str(), t))
                .collect(),
            alert_count: crate::survey::alert_count(survey),
            doc,
            survey,
            fates,
            context,
        }
    }

    /// The type row of a procedure.
    pub fn type_row(&self, id: &str) -> Option<&'a ProcedureTypeRow> {
        self.type_rows.get(id).copied()
    }

    /// The type of a procedure as the table shows it: the code, or `(unmatched)`,
    /// `(ambiguous)`.
    pub fn type_code(&self, id: &str) -> String {
        match self.type_row(id) {
            Some(t) => match &t.procedure_code {
                Some(c) => c.clone(),
                None => format!("({})", code(&t.match_status)),
            },
            None => "-".to_owned(),
        }
    }

    /// The type of a procedure in words: the type's name, or why it has none.
    pub fn type_name(&self, id: &str) -> String {
        match self.type_row(id) {
            Some(t) => match (&t.procedure_code, t.match_status) {
                (Some(c), _) => self.types.name(c).to_owned(),
                (None, MatchStatus::Ambiguous) => {
                    format!("ambiguous: {}", t.matched_codes.replace(';', " or "))
                }
                (None, _) => "not typed".to_owned(),
            },
            None => String::new(),
        }
    }
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

/// Widths of the room, type and patient columns of the procedure table; longer texts keep
/// their end (rooms, whose keys differ at the end) or their start.
const ROOM_WIDTH: usize = 24;
const TYPE_WIDTH: usize = 22;
const PATIENT_WIDTH: usize = 16;

/// One line of the procedure table; the header is the line of column names.
struct ProcedureLine<'a> {
    id: &'a str,
    date: &'a str,
    room: &'a str,
    kind: &'a str,
    patient: &'a str,
    dap: &'a str,
    ka_r: &'a str,
    fluoro: &'a str,
    events: &'a str,
}

const PROCEDURE_HEADER: ProcedureLine<'static> = ProcedureLine {
    id: "procedure",
    date: "date",
    room: "room",
    kind: "type",
    patient: "patient",
    dap: "P_KA Gy·cm²",
    ka_r: "Ka,r mGy",
    fluoro: "fluoro s",
    events: "events",
};

impl ProcedureLine<'_> {
    fn write(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "{:<9} {:<10} {:<ROOM_WIDTH$} {:<TYPE_WIDTH$} {:<PATIENT_WIDTH$} {:>12} {:>10} {:>9} {:>6}",
            self.id,
            self.date,
            shorten(self.room, ROOM_WIDTH),
            clip(self.kind, TYPE_WIDTH),
            clip(self.patient, PATIENT_WIDTH),
            self.dap,
            self.ka_r,
            self.fluoro,
            self.events
        )
    }
}

pub fn write_table(mut out: impl Write, r: &Report) -> io::Result<()> {
    match r.context.args.by {
        By::File => write_file_lines(&mut out, r)?,
        By::Procedure => write_procedure_lines(&mut out, r)?,
    }
    write_warnings(&mut out, r)?;
    write_summary(out, r)
}

fn write_procedure_lines(out: &mut impl Write, r: &Report) -> io::Result<()> {
    PROCEDURE_HEADER.write(out)?;
    for p in r.doc.procedures {
        let date = p.study_date.as_deref().map(iso_date);
        ProcedureLine {
            id: &p.id,
            date: date.as_deref().unwrap_or("-"),
            room: r.rooms.name(&p.room_key),
            kind: &r.type_code(&p.id),
            patient: p.patient_id.as_deref().unwrap_or("-"),
            dap: &num(p.dap_total_gy_cm2, 3),
            ka_r: &num(p.ka_r_total_mgy, 2),
            fluoro: &num(p.fluoro_time_s, 1),
            events: &p.event_count.to_string(),
        }
        .write(out)?;
    }
    Ok(())
}

fn write_file_lines(out: &mut impl Write, r: &Report) -> io::Result<()> {
    FILE_HEADER.write(out)?;
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
            .write(out)
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
    Ok(())
}

/// The warnings of each file and procedure, each once with its count.
fn write_warnings(out: &mut impl Write, r: &Report) -> io::Result<()> {
    let files = r.doc.files.iter().map(|e| (e.path.as_str(), &e.warnings));
    let procedures = r
        .doc
        .procedures
        .iter()
        .map(|p| (p.id.as_str(), &p.warnings));
    let mut first = true;
    for (what, warnings) in files.chain(procedures) {
        if warnings.is_empty() {
            continue;
        }
        if first {
            writeln!(out, "\nWarnings")?;
            first = false;
        }
        writeln!(out, "  {what}")?;
        for w in counted(warnings) {
            writeln!(out, "    {w}")?;
        }
    }
    Ok(())
}

/// How many items of a list the summary shows.
const SUMMARY_ITEMS: usize = 8;

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
        "  DRL comparisons: {} above, {} below, {} with too few procedures, {} without reference",
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
    let mut lines = alert_lines(r, |k| r.rooms.name(k).to_owned());
    let more = lines.len().saturating_sub(SUMMARY_ITEMS);
    lines.truncate(SUMMARY_ITEMS);
    for l in lines {
        writeln!(out, "    {l}")?;
    }
    if more > 0 {
        writeln!(
            out,
            "    … and {more} more (report.html and alerts.csv of --out)"
        )?;
    }
    let untyped = &s.unmatched_descriptions;
    if !untyped.is_empty() {
        writeln!(
            out,
            "  descriptions without a procedure type ({}; a --mapping file types them):",
            untyped.len()
        )?;
        for u in untyped.iter().take(SUMMARY_ITEMS) {
            writeln!(
                out,
                "    {:>4}× {:?} ({})",
                u.n_procedures,
                u.text,
                code(&u.match_status)
            )?;
        }
        if untyped.len() > SUMMARY_ITEMS {
            writeln!(out, "    … and {} more", untyped.len() - SUMMARY_ITEMS)?;
        }
    }
    for n in &s.notes {
        writeln!(out, "  note: {n}")?;
    }
    Ok(())
}

/// One line per alert: the procedure or patient, the value and the level reached; `room`
/// names a room by its key.
pub fn alert_lines(r: &Report, room: impl Fn(&str) -> String) -> Vec<String> {
    let a = &r.survey.alerts;
    let mut lines: Vec<String> = a
        .procedures
        .iter()
        .map(|x| {
            let unit = unit_name(x.unit);
            format!(
                "{} patient {}, {}, {}: {} {} {unit} ≥ {} {unit} ({})",
                x.procedure_id,
                x.patient_id.as_deref().unwrap_or("-"),
                room(&x.room),
                x.date.as_deref().map_or("-".into(), iso_date),
                quantity_name(x.quantity),
                crate::labels::num(Some(x.value)),
                crate::labels::num(Some(x.level)),
                x.source_id
            )
        })
        .collect();
    lines.extend(
        a.patient_cumulative
            .iter()
            .filter(|c| !c.levels_reached.is_empty())
            .map(|c| {
                format!(
                    "patient {}: {} {} {} over {} procedures ({}) from {} to {}, reaches {}",
                    c.patient_id,
                    quantity_name(c.quantity),
                    crate::labels::num(Some(c.total)),
                    unit_name(c.unit),
                    c.n_procedures,
                    c.procedure_ids.replace(';', ", "),
                    iso_date(&c.window_first_date),
                    iso_date(&c.window_last_date),
                    c.levels_reached
                )
            }),
    );
    lines
}

/// The words of a DRL row's verdict.
pub fn verdict(d: &kerma::reference::DrlRow) -> String {
    verdict_words(d.verdict, d.min_sample_size)
}

/// The last `n` characters of `s`, after `…` when cut.
fn shorten(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        s.to_owned()
    } else {
        let tail: String = s.chars().skip(count - (n - 1)).collect();
        format!("…{tail}")
    }
}

/// The first `n` characters of `s`, before `…` when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let head: String = s.chars().take(n - 1).collect();
        format!("{head}…")
    }
}

//! From procedures to the DRL survey: filters, survey records, configuration.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use kerma::Procedure;
use kerma::reference::{
    ProcedureMapping, ReferenceTables, Survey, SurveyConfig, SurveyRecord, SurveyReport,
};
use kerma::{RoomList, RoomTable};

use crate::args::Args;

/// Why the survey could not be set up: the message for stderr.
pub type SetupError = String;

/// The room tables of `--rooms`, checked before any DICOM file is read.
pub fn room_table(args: &Args) -> Result<RoomTable, SetupError> {
    let mut table = RoomTable::new();
    for f in &args.rooms {
        table
            .load_csv(&f.display().to_string(), open(f)?)
            .map_err(|e| e.to_string())?;
    }
    Ok(table)
}

/// The procedures that pass `--room`, `--since` and `--until`. When `--room` names no room,
/// none passes and a warning on stderr lists the rooms there are.
pub fn select<'a>(args: &Args, procedures: &'a [Procedure]) -> Vec<&'a Procedure> {
    let rooms = args.room.as_deref().map(|query| {
        let list = RoomList::of(procedures);
        let chosen: Vec<String> = list.select(query).iter().map(|r| r.key.clone()).collect();
        if chosen.is_empty() {
            let known: Vec<String> = list.iter().map(|r| format!("{:?}", r.name)).collect();
            eprintln!(
                "kerma-report: warning: --room {query:?} matches no room; the rooms are: {}",
                if known.is_empty() {
                    "none (no procedure)".to_owned()
                } else {
                    known.join(", ")
                }
            );
        }
        chosen
    });
    procedures
        .iter()
        .filter(|p| rooms.as_ref().is_none_or(|keys| keys.contains(&p.room.key)))
        .filter(|p| in_period(p, args))
        .collect()
}

/// Whether a procedure passes `--since` and `--until`.
fn in_period(p: &Procedure, args: &Args) -> bool {
    if args.since.is_none() && args.until.is_none() {
        return true;
    }
    let Some(date) = p.study_date.as_deref().and_then(da_number) else {
        return false;
    };
    args.since.is_none_or(|s| date >= s) && args.until.is_none_or(|u| date <= u)
}

/// DICOM DA `YYYYMMDD` as a number.
fn da_number(s: &str) -> Option<u32> {
    let s = s.trim();
    (s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// The survey record of one procedure.
pub fn record(p: &Procedure) -> SurveyRecord {
    SurveyRecord::from_procedure(p)
}

fn open(path: &Path) -> Result<File, SetupError> {
    File::open(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The survey configuration from the options (bundled tables plus the files given).
pub fn config(args: &Args) -> Result<SurveyConfig, SetupError> {
    let mut tables = ReferenceTables::bundled();
    for f in &args.drl {
        tables
            .load_drl_csv(&f.display().to_string(), open(f)?)
            .map_err(|e| e.to_string())?;
    }
    for f in &args.triggers {
        tables
            .load_trigger_csv(&f.display().to_string(), open(f)?)
            .map_err(|e| e.to_string())?;
    }
    let mut mapping = ProcedureMapping::bundled();
    for f in &args.mapping {
        mapping
            .load_csv(&f.display().to_string(), open(f)?)
            .map_err(|e| e.to_string())?;
    }
    let mut config = SurveyConfig::default();
    config.tables = tables;
    config.mapping = mapping;
    config.jurisdiction = Some(args.jurisdiction.clone());
    config.cumulative_window = Duration::from_secs(args.window_days * 86_400);
    // A period within one calendar year is that year's survey.
    if let (Some(s), Some(u)) = (args.since, args.until)
        && s / 10_000 == u / 10_000
    {
        config.year = i32::try_from(s / 10_000).ok();
    }
    Ok(config)
}

/// Runs the survey over the kept procedures (`rows`: their rows, for the peak skin dose);
/// `history` (a registry's procedures before the period) counts only in per-patient
/// cumulative sums.
pub fn run(
    args: &Args,
    procedures: &[&Procedure],
    rows: &[kerma::report::ProcedureRow],
    history: &[Procedure],
) -> Result<SurveyReport, SetupError> {
    let mut survey = Survey::new(config(args)?).map_err(|e| e.to_string())?;
    let skins: std::collections::HashMap<&str, &kerma::skin::SkinDose> = rows
        .iter()
        .filter_map(|r| Some((r.id.as_str(), r.skin.as_ref()?)))
        .collect();
    for p in procedures {
        let mut rec = record(p);
        crate::skin::set_record(&mut rec, skins.get(p.id.as_str()).copied());
        survey.add(rec);
    }
    for p in history {
        survey.add_history(record(p));
    }
    Ok(survey.finish())
}

/// Whether a trigger level was reached, by one procedure or by a patient's cumulative sum.
pub fn alert_count(report: &SurveyReport) -> usize {
    report.alerts.procedures.len()
        + report
            .alerts
            .patient_cumulative
            .iter()
            .filter(|c| !c.levels_reached.is_empty())
            .count()
}

//! kerma-report: dose figures of fluoroscopy and angiography DICOM files, for physicists,
//! with a DRL survey and trigger-level alerts.
//!
//! Thin glue over the kerma library: walk, extract, group, survey, print and write files.
//! Exit codes: 0 all well, 1 a DRL exceeded or an alert, 2 an error (see `--help`).

mod args;
mod calendar;
mod csv_files;
mod html;
mod labels;
mod list;
mod listen;
mod output;
#[cfg(feature = "parquet")]
mod parquet;
mod plots;
mod registry;
mod skin;
mod survey;

use std::collections::HashMap;
use std::io::{self, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use args::{Args, Format};
use csv_files::Dialect;
use kerma::reference::{SurveyConfig, TableKind, TableRemark};
use kerma::report::FileOutcome;
use output::{Context, Doc, Report};

/// The scan's worker threads allocate results that this thread frees. glibc's malloc takes the
/// owning thread's arena lock for such frees, and on two threads that lock is contended on
/// every file: 10,000 XA headers scaled about 1.6x with it from 1 to 2 threads, 1.8-2.1x with
/// mimalloc (`cargo bench --bench folders` and `--bench folders_mimalloc`). It is built without
/// transparent huge pages (feature `no_thp`): with them the kernel zeroes 2 MiB on a page fault,
/// and over 10,000 small RDSRs the run took 1.60 s instead of 1.31 s (medians of 5), with 0.77 s
/// of system time instead of 0.41 s and 300 MB resident instead of 275 MB.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match argv.get(1).and_then(|a| a.to_str()) {
        Some("ingest") => return registry::ingest(&argv),
        // The DICOM receiver, with options of its own.
        Some("listen") => return listen::main(argv.into_iter().skip(1).collect()),
        Some("report") => {
            // `report --db X [options]` is the folder mode's report, read from a registry.
            let rest = std::iter::once(argv[0].clone()).chain(argv[2..].iter().cloned());
            return report(Args::parse_from(rest));
        }
        _ => {}
    }
    report(Args::parse())
}

/// The report of the files given, or of a registry's procedures with `--db`.
fn report(args: Args) -> ExitCode {
    // Check the option files before reading any DICOM file.
    let config = match survey::config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kerma-report: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(what) = args.list {
        let mut out = io::BufWriter::new(io::stdout().lock());
        return match list::write(&mut out, what, &config).and_then(|()| io::Write::flush(&mut out))
        {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                eprintln!("kerma-report: {e}");
                ExitCode::from(2)
            }
            _ => ExitCode::SUCCESS,
        };
    }
    #[cfg(feature = "parquet")]
    if args.format == Format::Parquet && args.out.is_none() {
        eprintln!("kerma-report: --format parquet writes its tables into the --out DIR: give one");
        return ExitCode::from(2);
    }
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since > until
    {
        eprintln!(
            "kerma-report: --since {} is after --until {}: no study date can be in that period",
            labels::iso_date(&since.to_string()),
            labels::iso_date(&until.to_string())
        );
        return ExitCode::from(2);
    }
    let rooms = match survey::room_table(&args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("kerma-report: {e}");
            return ExitCode::from(2);
        }
    };
    let remarks = match table_remarks(&args, &config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kerma-report: {e}");
            return ExitCode::from(2);
        }
    };
    for r in &remarks {
        eprintln!("kerma-report: warning: {r}");
    }
    let mut skin_stage = match skin::Stage::new(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kerma-report: {e}");
            return ExitCode::from(2);
        }
    };
    let (entries, set, errors, history) = match &args.db {
        Some(db) => match registry::load(db, &args, &mut skin_stage) {
            Ok(loaded) => loaded,
            Err(e) => {
                eprintln!("kerma-report: {e}");
                return ExitCode::from(2);
            }
        },
        None => match read_files(&args, &mut skin_stage) {
            Ok((entries, set, errors)) => (entries, set, errors, Vec::new()),
            Err(code) => return code,
        },
    };
    let read = Read {
        entries,
        set,
        errors,
        history,
    };
    finish(&args, &config, &rooms, &remarks, read, &skin_stage)
}

/// Reads the files and folders of `args`: their entries, their procedures and how many could
/// not be read; exit code 2 when there is no DICOM file.
fn read_files(
    args: &Args,
    skin_stage: &mut skin::Stage,
) -> Result<(Vec<kerma::report::FileEntry>, kerma::ProcedureSet, usize), ExitCode> {
    let inputs = kerma::walk_inputs(&args.paths);
    let progress = progress_bar(inputs.len() as u64);
    let extractor = kerma::Extractor::new();
    let mut entries = Vec::with_capacity(inputs.len());
    let mut errors = 0usize;
    let mut grouping = kerma::Procedures::new();
    kerma::scan(&inputs, &extractor, |input, result| {
        let entry = kerma::report::FileEntry::scanned(input, &result);
        if let Some(error) = &entry.error {
            errors += 1;
            let line = format!("{}: {error}", entry.path);
            match &progress {
                Some(pb) => pb.suspend(|| eprintln!("{line}")),
                None => eprintln!("{line}"),
            }
        }
        entries.push(entry);
        skin_stage.collect(&input.path.display().to_string(), &result);
        grouping.add_scanned(input, result);
        if let Some(pb) = &progress {
            pb.inc(1);
        }
    });
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    if entries.iter().all(|e| e.outcome == FileOutcome::Skipped) {
        eprintln!("kerma-report: {}", nothing_found(args, &entries));
        return Err(ExitCode::from(2));
    }
    Ok((entries, grouping.finish(), errors))
}

/// What was read: the files' entries, their procedures, how many could not be read, and a
/// registry's procedures before the period (for cumulative sums only).
struct Read {
    entries: Vec<kerma::report::FileEntry>,
    set: kerma::ProcedureSet,
    errors: usize,
    history: Vec<kerma::Procedure>,
}

/// Everything after reading: room names, selection, survey, outputs, exit code.
fn finish(
    args: &Args,
    config: &SurveyConfig,
    rooms: &kerma::RoomTable,
    remarks: &[TableRemark],
    read: Read,
    skin_stage: &skin::Stage,
) -> ExitCode {
    let Read {
        mut entries,
        mut set,
        errors,
        history,
    } = read;
    set.apply_room_table(rooms);
    let fates: HashMap<&str, &kerma::FileAccount> =
        set.files.iter().map(|f| (f.label.as_str(), f)).collect();
    for e in &mut entries {
        if let Some(account) = fates.get(e.path.as_str()) {
            e.set_fate(account);
        }
    }
    let kept = survey::select(args, &set.procedures);
    let mut skins = skin_stage.estimate_all(&kept);
    let procedures: Vec<kerma::report::ProcedureRow> = kept
        .iter()
        .map(|p| {
            let mut row = kerma::report::ProcedureRow::new(p);
            row.skin = skins.remove(&p.id);
            row
        })
        .collect();
    let survey = match survey::run(args, &kept, &procedures, &history) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kerma-report: {e}");
            return ExitCode::from(2);
        }
    };
    let report = Report::new(
        Doc {
            files: &entries,
            procedures: &procedures,
            accounting: &set.accounting,
            drl: &survey.drl,
            alerts: &survey.alerts,
            procedure_types: &survey.procedure_types,
            unmatched_descriptions: &survey.unmatched_descriptions,
            exclusions: &survey.exclusions,
            survey_notes: &survey.notes,
        },
        &survey,
        fates,
        Context {
            args,
            config,
            remarks,
            date: labels::today(),
        },
    );
    if let Some(dir) = &args.out
        && let Err(e) = write_out(dir, &report)
    {
        eprintln!("kerma-report: {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    #[cfg(feature = "parquet")]
    if let (Format::Parquet, Some(dir)) = (args.format, &args.out)
        && let Err(e) = parquet::write_parquet_files(dir, &report)
    {
        eprintln!("kerma-report: {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    // Rust's stdout flushes at every newline, even into a pipe or a file: buffered, the JSON
    // of 10,000 files is one write per 8 KiB instead of one per line (2.25 million writes).
    let mut out = io::BufWriter::new(io::stdout().lock());
    let written = match args.format {
        Format::Json => output::write_json(&mut out, &report.doc),
        Format::Table => output::write_table(&mut out, &report),
        #[cfg(feature = "parquet")]
        Format::Parquet => Ok(()),
    }
    .and_then(|()| io::Write::flush(&mut out));
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            eprintln!("kerma-report: {e}");
            return ExitCode::from(2);
        }
        Ok(()) => {}
    }
    if errors > 0 {
        ExitCode::from(2)
    } else if survey.any_drl_exceeded() || report.alert_count > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The rows of the `--drl`, `--triggers` and `--mapping` files that name an unknown
/// procedure code or jurisdiction.
fn table_remarks(args: &Args, config: &SurveyConfig) -> Result<Vec<TableRemark>, String> {
    let files = (args.drl.iter().map(|f| (f, TableKind::Drl)))
        .chain(args.triggers.iter().map(|f| (f, TableKind::Triggers)))
        .chain(args.mapping.iter().map(|f| (f, TableKind::Mapping)));
    let mut remarks = Vec::new();
    for (f, kind) in files {
        let text = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let name = f.display().to_string();
        remarks.extend(
            kerma::reference::check_table(config, kind, &name, text.as_slice())
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(remarks)
}

/// Why there is nothing to report: what was looked at, and why each file was skipped.
fn nothing_found(args: &Args, entries: &[kerma::report::FileEntry]) -> String {
    let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
    let looked = paths.join(", ");
    if entries.is_empty() {
        return format!("no file found in {looked}");
    }
    let mut reasons: Vec<(&str, usize)> = Vec::new();
    for e in entries {
        let r = e.skip_reason.as_deref().unwrap_or("skipped");
        match reasons.iter_mut().find(|(x, _)| *x == r) {
            Some((_, n)) => *n += 1,
            None => reasons.push((r, 1)),
        }
    }
    let reasons: Vec<String> = reasons.iter().map(|(r, n)| format!("{r}: {n}")).collect();
    format!(
        "no DICOM file found in {looked}: {} file{} looked at, none to report on ({})",
        entries.len(),
        if entries.len() == 1 { "" } else { "s" },
        reasons.join(", ")
    )
}

/// A progress bar on stderr when it is a terminal; none otherwise.
fn progress_bar(len: u64) -> Option<ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed_precise} eta {eta}")
    {
        pb.set_style(style);
    }
    Some(pb)
}

/// Writes the CSV files, report.json and report.html into `dir`.
fn write_out(dir: &Path, report: &Report) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let dialect = if report.context.args.excel {
        Dialect::Excel
    } else {
        Dialect::Plain
    };
    csv_files::write_csvs(dir, report, dialect)?;
    let mut json = io::BufWriter::new(std::fs::File::create(dir.join("report.json"))?);
    output::write_json(&mut json, &report.doc)?;
    io::Write::flush(&mut json)?;
    std::fs::write(dir.join("report.html"), html::render(report))?;
    Ok(())
}

//! `kerma-report ingest` (files into a registry) and `kerma-report report --db` (a report
//! from one).

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kerma::registry::{Registry, ReportFilter};
use kerma::report::{FileEntry, FileOutcome};

use crate::args::Args;

/// Stores DICOM files in a dose registry (SQLite file or PostgreSQL database), so that
/// reports cover everything ingested so far. Files already stored are recognised by path
/// and content and change nothing; new content at a known path is a new version.
#[derive(Debug, Parser)]
#[command(
    name = "kerma-report ingest",
    after_help = "Examples:
  kerma-report ingest /export/2025-03
  kerma-report ingest --db postgres://kerma@dbserver/dose /export/site-b
  kerma-report report --db kerma.db --since 2025-01-01 --out survey/

Exit codes: 0 all stored; 2 the registry failed (the batch in progress was rolled back:
run the same command again to complete it) or a file could not be read from disk."
)]
struct IngestArgs {
    /// The registry: an SQLite file (created if absent) or a PostgreSQL URL
    /// (postgres://user:password@host:port/database). Example: --db /data/kerma.db
    #[arg(long, default_value = "kerma.db", value_name = "PATH_OR_URL")]
    db: String,

    /// Files per transaction: the work a failure loses at most. Example: --batch 200
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    batch: u64,

    /// Files and folders to store (folders are walked). Example: /export/2025-03
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// `kerma-report ingest …`: `argv` is the whole command line.
pub fn ingest(argv: &[OsString]) -> ExitCode {
    let args = IngestArgs::parse_from(argv.iter().skip(1));
    let mut registry = match Registry::open(&args.db) {
        Ok(r) => r.with_batch_files(args.batch as usize),
        Err(e) => {
            eprintln!("kerma-report: {e}");
            return ExitCode::from(2);
        }
    };
    let inputs = kerma::walk_inputs(&args.paths);
    let bar = std::io::stderr().is_terminal().then(|| {
        let pb =
            ProgressBar::with_draw_target(Some(inputs.len() as u64), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed_precise} eta {eta}")
        {
            pb.set_style(style);
        }
        pb
    });
    let result = registry.ingest(&inputs, |p| {
        if let Some(pb) = &bar {
            pb.set_position(p.done as u64);
        }
    });
    if let Some(pb) = &bar {
        pb.finish_and_clear();
    }
    let s = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kerma-report: {e}");
            eprintln!(
                "kerma-report: the batches before the failure are stored; run the same command again to complete the ingest"
            );
            return ExitCode::from(2);
        }
    };
    for (path, why) in &s.failed {
        eprintln!("{path}: {why}");
    }
    println!(
        "{}: {} file{} ingested: {} new, {} unchanged, {} new version{} ({} skipped, {} unreadable, {} not readable from disk); {} procedure{} changed",
        registry.target(),
        s.files,
        plural(s.files),
        s.new,
        s.unchanged,
        s.new_versions,
        plural(s.new_versions),
        s.skipped,
        s.unreadable,
        s.failed.len(),
        s.procedures_changed,
        plural(s.procedures_changed),
    );
    if s.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The entries, procedures and count of unreadable files of the registry `db`, for the
/// period of `--since`/`--until`.
pub fn load(db: &str, args: &Args) -> Result<(Vec<FileEntry>, kerma::ProcedureSet, usize), String> {
    let mut registry = Registry::open(db).map_err(|e| e.to_string())?;
    let since = args.since.map(|d| d.to_string());
    let until = args.until.map(|d| d.to_string());
    let filter = ReportFilter::default().period(since.as_deref(), until.as_deref());
    let report = registry.report(&filter).map_err(|e| e.to_string())?;
    let entries = registry
        .file_entries(&report.set)
        .map_err(|e| e.to_string())?;
    let errors = entries
        .iter()
        .filter(|e| e.outcome == FileOutcome::Error)
        .count();
    Ok((entries, report.set, errors))
}

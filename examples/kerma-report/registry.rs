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

    /// Skin-dose settings for the peak skin doses stored with the procedures (as for a
    /// report; kerma's defaults without it). Example: --skin-settings rooms-skin.json
    #[arg(long, value_name = "FILE")]
    skin_settings: Option<PathBuf>,

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
    let settings = match crate::skin::settings(args.skin_settings.as_deref()) {
        Ok(s) => s,
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
    // The peak skin doses of the procedures that have none: new or changed ones, and any
    // that an interrupted ingest left without.
    let skin = registry
        .missing_skin_doses()
        .and_then(|keys| registry.estimate_skin(&keys, &settings));
    let skin = match skin {
        Ok(s) => s.len(),
        Err(e) => {
            eprintln!("kerma-report: {e}");
            eprintln!(
                "kerma-report: the files are stored; run the same command again to estimate the peak skin doses"
            );
            return ExitCode::from(2);
        }
    };
    println!(
        "{}: {} file{} ingested: {} new, {} unchanged, {} new version{} ({} skipped, {} unreadable, {} not readable from disk); {} procedure{} changed; {} peak skin dose{} estimated",
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
        skin,
        plural(skin),
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

/// What a report reads from a registry: entries, procedures, the count of unreadable files,
/// and the procedures of the `--window-days` before `--since` (for cumulative sums).
type Loaded = (
    Vec<FileEntry>,
    kerma::ProcedureSet,
    usize,
    Vec<kerma::Procedure>,
);

/// The entries, procedures and count of unreadable files of the registry `db`, for the
/// period of `--since`/`--until` (and `--changed-since`), with the history before it.
pub fn load(db: &str, args: &Args, skin: &mut crate::skin::Stage) -> Result<Loaded, String> {
    let mut registry = Registry::open(db).map_err(|e| e.to_string())?;
    let since = args.since.map(|d| d.to_string());
    let until = args.until.map(|d| d.to_string());
    let mut filter = ReportFilter::default().period(since.as_deref(), until.as_deref());
    if let Some(t) = &args.changed_since {
        filter = filter.updated_since(&iso_time(t)?);
    }
    let report = registry.report(&filter).map_err(|e| e.to_string())?;
    // A patient's procedures of the window before the period count in the cumulative sums
    // of the period's procedures.
    let history = match args.since {
        Some(s) => {
            let first = days_before(s, args.window_days).to_string();
            let last = days_before(s, 1).to_string();
            let before = ReportFilter::default().period(Some(&first), Some(&last));
            registry
                .report(&before)
                .map_err(|e| e.to_string())?
                .set
                .procedures
        }
        None => Vec::new(),
    };
    let entries = registry
        .file_entries(&report.set)
        .map_err(|e| e.to_string())?;
    // The skin stage reads the events of the reports, as the folder mode does while scanning.
    registry
        .read_files(&report.set, |account, result| {
            if let Some(result) = result {
                skin.collect(&account.label, &result);
            }
        })
        .map_err(|e| e.to_string())?;
    let errors = entries
        .iter()
        .filter(|e| e.outcome == FileOutcome::Error)
        .count();
    Ok((entries, report.set, errors, history))
}

/// `--changed-since` as the registry writes times: `YYYY-MM-DD` is midnight UTC.
fn iso_time(t: &str) -> Result<String, String> {
    let ok = t.len() >= 10
        && t.as_bytes()[4] == b'-'
        && t.as_bytes()[7] == b'-'
        && t[..10].bytes().filter(u8::is_ascii_digit).count() == 8;
    if !ok {
        return Err(format!(
            "--changed-since {t:?} is not a time YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"
        ));
    }
    Ok(if t.len() == 10 {
        format!("{t}T00:00:00Z")
    } else {
        t.to_owned()
    })
}

/// The date `days` days before `date` (both `YYYYMMDD`).
fn days_before(date: u32, days: u64) -> u32 {
    use crate::calendar::{civil_from_days, days_from_civil};
    let (y, m, d) = (date / 10_000, date / 100 % 100, date % 100);
    let z = days_from_civil(y.into(), m.into(), d.into()) - days.min(1_000_000) as i64;
    let (y, m, d) = civil_from_days(z);
    u32::try_from(y * 10_000 + m * 100 + d).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::{days_before, iso_time};

    #[test]
    fn dates_before() {
        assert_eq!(days_before(20250301, 1), 20250228);
        assert_eq!(days_before(20240301, 1), 20240229);
        assert_eq!(days_before(20250101, 84), 20241009);
        assert_eq!(days_before(20250615, 0), 20250615);
        assert_eq!(days_before(20000301, 1), 20000229);
    }

    #[test]
    fn changed_since_times() {
        assert_eq!(
            iso_time("2025-03-01").as_deref(),
            Ok("2025-03-01T00:00:00Z")
        );
        assert!(iso_time("yesterday").is_err());
    }
}

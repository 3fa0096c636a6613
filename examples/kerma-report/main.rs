//! kerma-report: dose figures of fluoroscopy and angiography DICOM files, for physicists.
//!
//! Thin glue over the kerma library: walk, extract, print.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A readable table.
    Table,
    /// One JSON document {"files": [...]} (the contract in the README).
    Json,
}

/// Dose figures (DAP, K_a,r, fluoroscopy time) of fluoroscopy and angiography DICOM files.
///
/// Example: kerma-report --format json testdata/
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Files and folders to read (folders are walked, sorted by name).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format. Example: --format json
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let inputs = kerma::walk_inputs(&args.paths);
    let extractor = kerma::Extractor::new();
    let mut entries = Vec::with_capacity(inputs.len());
    let mut errors = 0usize;
    let mut grouping = kerma::Procedures::new();
    kerma::scan(&inputs, &extractor, |input, result| {
        let path = input.path.display().to_string();
        if let Err(e) = &result {
            errors += 1;
            eprintln!("{path}: {}", kerma::error_chain(e));
        }
        entries.push(kerma::FileEntry::new(&path, &result));
        grouping.add(path, result);
    });
    let set = grouping.finish();
    let by_label: std::collections::HashMap<&str, &kerma::FileAccount> =
        set.files.iter().map(|f| (f.label.as_str(), f)).collect();
    for e in &mut entries {
        if let Some(account) = by_label.get(e.path.as_str()) {
            e.set_fate(account);
        }
    }
    let procedures: Vec<kerma::ProcedureRow> = set
        .procedures
        .iter()
        .map(kerma::ProcedureRow::new)
        .collect();
    let out = io::stdout().lock();
    let written = match args.format {
        Format::Json => write_json(out, &entries, &procedures, &set.accounting),
        Format::Table => write_table(out, &entries),
    };
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kerma-report: {e}");
            ExitCode::from(2)
        }
        Ok(()) if errors > 0 => ExitCode::from(2),
        Ok(()) => ExitCode::SUCCESS,
    }
}

fn write_json(
    mut out: impl Write,
    files: &[kerma::FileEntry],
    procedures: &[kerma::ProcedureRow],
    accounting: &kerma::Accounting,
) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        files: &'a [kerma::FileEntry],
        procedures: &'a [kerma::ProcedureRow],
        accounting: &'a kerma::Accounting,
    }
    let doc = Doc {
        files,
        procedures,
        accounting,
    };
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)
}

fn num(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.prec$}"))
}

fn write_table(mut out: impl Write, entries: &[kerma::FileEntry]) -> io::Result<()> {
    writeln!(
        out,
        "{:<48} {:<11} {:<14} {:>5} {:>12} {:>10} {:>9} {:>6}",
        "file", "outcome", "kind", "plane", "DAP Gy·cm²", "Ka,r mGy", "fluoro s", "events"
    )?;
    for e in entries {
        let name = shorten(&e.path, 48);
        let kind = e.kind.unwrap_or("-");
        let events = e.events.as_ref().map_or(0, Vec::len);
        match (&e.planes, &e.image) {
            (Some(planes), _) if !planes.is_empty() => {
                for p in planes {
                    writeln!(
                        out,
                        "{:<48} {:<11} {:<14} {:>5} {:>12} {:>10} {:>9} {:>6}",
                        name,
                        e.outcome,
                        kind,
                        p.plane,
                        num(p.dap_total_gy_cm2, 3),
                        num(p.ka_r_total_mgy, 2),
                        num(p.fluoro_time_s, 1),
                        events
                    )?;
                }
            }
            (_, Some(img)) => writeln!(
                out,
                "{:<48} {:<11} {:<14} {:>5} {:>12} {:>10} {:>9} {:>6}",
                name,
                e.outcome,
                kind,
                "-",
                num(img.dap_gy_cm2, 3),
                num(img.entrance_dose_mgy, 2),
                num(img.fluoro_time_s, 1),
                "-"
            )?,
            _ => writeln!(
                out,
                "{:<48} {:<11} {:<14} {}",
                name,
                e.outcome,
                kind,
                e.error.as_deref().unwrap_or("")
            )?,
        }
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

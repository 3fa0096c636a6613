//! Command-line options.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable table, ending with a one-screen summary.
    Table,
    /// One JSON document {"files", "procedures", "accounting", "drl", "alerts", ...}.
    Json,
    /// Nothing on stdout; files.parquet, procedures.parquet, events.parquet, drl.parquet and
    /// alerts.parquet written into the --out DIR (which it requires).
    #[cfg(feature = "parquet")]
    Parquet,
}

/// What one line of the table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum By {
    /// One line per procedure (its dose figures, room, type and patient).
    Procedure,
    /// One line per input file and plane, with what became of the file.
    File,
}

/// What `--list` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum List {
    /// The procedure-type codes, their names and the reference levels each has.
    ProcedureTypes,
    /// The jurisdictions of the reference and trigger levels, with their sources.
    Jurisdictions,
    /// Every reference level (DRL and guide value) with its source.
    Drl,
}

const AFTER_HELP: &str = "\
Examples:
  kerma-report testdata/
  kerma-report ingest --db kerma.db /export/2025-03
  kerma-report report --db kerma.db --since 2025-01-01 --out survey/
  kerma-report --format json /export > report.json
  kerma-report --format parquet --out tables/ /export
  kerma-report --room SALLE1 --since 2025-01-01 --until 2025-12-31 --out survey/ /export
  kerma-report --rooms rooms.csv --out survey/ /export
  kerma-report --jurisdiction FR --drl local-drl.csv --mapping local-mapping.csv /export
  kerma-report --out survey/ --excel /export
  kerma-report --list procedure-types
  kerma-report listen --aet KERMA --port 11112 --spool spool/   (DICOM receiver, see listen --help)

Exit codes:
  0  all well: every file read, no DRL exceeded, no alert
  1  a DRL is exceeded (a group median above its DRL) or a trigger level was reached
  2  an error: a file could not be read (one `path: reason` line on stderr each),
     no DICOM file found, a bad option (--since after --until), or a table or
     rooms file that could not be loaded
  A broken pipe on stdout is not an error.";

/// Dose figures (DAP, K_a,r, fluoroscopy time) of fluoroscopy and angiography DICOM files,
/// grouped into procedures and compared with diagnostic reference levels (DRLs) and
/// trigger levels.
#[derive(Debug, Parser)]
#[command(version, after_help = AFTER_HELP)]
pub struct Args {
    /// Files and folders to read (folders are walked, sorted by name).
    /// Example: kerma-report /export/2025
    #[arg(required_unless_present_any = ["list", "db"])]
    pub paths: Vec<PathBuf>,

    /// Reports on the procedures stored in a registry (see `kerma-report ingest --help`)
    /// instead of reading files: an SQLite file or a PostgreSQL URL. With --since and
    /// --until, only the procedures of that period and their files. Example: kerma-report
    /// report --db kerma.db --since 2025-01-01 --out survey/
    #[arg(long, value_name = "PATH_OR_URL", conflicts_with = "paths")]
    pub db: Option<String>,

    /// With --db: only the procedures stored or changed at or after TIME (UTC, ISO 8601:
    /// 2025-03-01 or 2025-03-01T08:00:00Z), and so the alerts raised since then.
    /// Example: --db kerma.db --changed-since 2025-03-01T08:00:00Z
    #[arg(long, value_name = "TIME", requires = "db")]
    pub changed_since: Option<String>,

    /// Output format on stdout. Example: --format json
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Lines of the table: one per procedure, or one per file and plane. Example: --by file
    #[arg(long, value_enum, default_value_t = By::Procedure)]
    pub by: By,

    /// Prints what kerma knows instead of reading files: the procedure types, the
    /// jurisdictions, or the reference levels with their sources (the bundled tables and
    /// those given with --drl, --triggers and --mapping). Example: --list procedure-types
    #[arg(long, value_enum, value_name = "WHAT")]
    pub list: Option<List>,

    /// Jurisdiction whose DRLs are compared with (most recent table of that country).
    /// Example: --jurisdiction AU
    #[arg(long, default_value = "FR", value_name = "CODE")]
    pub jurisdiction: String,

    /// Extra reference-level CSV (format of data/reference-levels/drl.csv), loaded on top
    /// of the bundled tables; its rows replace bundled rows with the same key.
    /// Example: --drl local-drl.csv
    #[arg(long, value_name = "FILE")]
    pub drl: Vec<PathBuf>,

    /// Extra trigger-level CSV (format of data/reference-levels/trigger-levels.csv), loaded
    /// on top of the bundled tables. Example: --triggers local-triggers.csv
    #[arg(long, value_name = "FILE")]
    pub triggers: Vec<PathBuf>,

    /// Extra procedure-mapping CSV (columns priority, procedure_code, pattern, and optionally
    /// field, match, unless, example, near_miss, room, notes: see the head of
    /// data/procedure-types.csv), added to the bundled rules; a rule whose example it does not
    /// match, or whose near miss it matches, is an error. Example: --mapping local-map.csv
    #[arg(long, value_name = "FILE")]
    pub mapping: Vec<PathBuf>,

    /// Look-back of per-patient cumulative sums, in days (default 84 = 12 weeks, OpenREM's
    /// default, not a regulation). Example: --window-days 90
    #[arg(long, value_name = "N", default_value_t = 84, value_parser = clap::value_parser!(u64).range(1..))]
    pub window_days: u64,

    /// Keep only procedures whose study date is on or after DATE (YYYYMMDD or YYYY-MM-DD);
    /// procedures without a date are then left out. Example: --since 2025-01-01
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub since: Option<u32>,

    /// Keep only procedures whose study date is on or before DATE (YYYYMMDD or
    /// YYYY-MM-DD). Example: --until 20251231
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub until: Option<u32>,

    /// Keep only the procedures of the room NAME: its name, station name, key, device key,
    /// device observer name or serial number, without regard to case or accents (if none is
    /// NAME, the rooms where one contains NAME). A NAME that matches no room selects nothing,
    /// with a warning listing the rooms. Example: --room SALLE1
    #[arg(long, value_name = "NAME")]
    pub room: Option<String>,

    /// Room names and groupings, a CSV with columns key, name[, same_room_as, notes]: key is
    /// a device key (the device column of the outputs) or a station name (every device of
    /// that station is then one room); name is the room's name in every output;
    /// same_room_as, the key of another row, puts this row's devices in that row's room
    /// (after a detector change). The row's key becomes the room_key. Example: --rooms
    /// rooms.csv
    #[arg(long, value_name = "FILE")]
    pub rooms: Vec<PathBuf>,

    /// Also write files.csv, procedures.csv, events.csv, drl.csv, alerts.csv,
    /// cumulative.csv, report.json and report.html into DIR (created if needed).
    /// Example: --out survey-2025/
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Writes the CSV files of --out for a spreadsheet in a comma-decimal locale (French
    /// Excel): UTF-8 with a byte-order mark, `;` between cells, `,` before decimals.
    /// Example: --out survey/ --excel
    #[arg(long, requires = "out")]
    pub excel: bool,

    /// Skin-dose settings: kerma's geometry file (rooms' table zero, signs, table
    /// transmission, K_a,r calibration; phantom) or PySkinDose's settings JSON (its phantom
    /// model chooses the phantom). Without it, kerma's defaults: a cylinder sized from the
    /// patient and the room geometries kerma knows. Example: --skin-settings rooms-skin.json
    #[arg(long, value_name = "FILE")]
    pub skin_settings: Option<PathBuf>,

    /// report.html draws the skin-dose map of each procedure whose mapped peak skin dose is
    /// at least this many mGy (default 2000, OpenREM's default skin-dose alert level).
    /// Example: --skin-map-above-mgy 0
    #[arg(long, value_name = "MGY", default_value_t = 2000.0)]
    pub skin_map_above_mgy: f64,
}

/// A date as the number YYYYMMDD, from `YYYYMMDD` or `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<u32, String> {
    let digits: String = s.chars().filter(|c| *c != '-').collect();
    let ok_shape = (s.len() == 8 && !s.contains('-'))
        || (s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-');
    if !ok_shape || digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} is not a date YYYYMMDD or YYYY-MM-DD"));
    }
    let n: u32 = digits.parse().map_err(|_| format!("{s:?} is not a date"))?;
    let (m, d) = ((n / 100) % 100, n % 100);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(format!("{s:?} is not a valid date"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn dates() {
        assert_eq!(parse_date("20250131"), Ok(20250131));
        assert_eq!(parse_date("2025-01-31"), Ok(20250131));
        assert!(parse_date("2025-13-01").is_err());
        assert!(parse_date("2025/01/01").is_err());
        assert!(parse_date("250101").is_err());
    }
}

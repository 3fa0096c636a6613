//! `--format parquet`: the files, procedures, events, DRL and alert tables as Parquet files
//! (`kerma::columnar`), with the schemas the README documents.

use std::path::Path;

use kerma::columnar::{self, ColumnarError, Table};
use kerma::report::FileEntry;

use crate::output::Report;

/// Writes `files.parquet`, `procedures.parquet`, `events.parquet`, `drl.parquet` and
/// `alerts.parquet` into `dir`.
pub fn write_parquet_files(dir: &Path, report: &Report) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    for table in Table::ALL {
        let batch = batch(table, report)?;
        let path = dir.join(format!("{}.parquet", table.name()));
        let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        columnar::write_parquet(std::io::BufWriter::new(file), &batch)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn batch(table: Table, r: &Report) -> Result<arrow_array::RecordBatch, ColumnarError> {
    let files: &[FileEntry] = r.doc.files;
    match table {
        Table::Files => columnar::files_batch(files),
        Table::Procedures => columnar::procedures_batch(r.doc.procedures),
        Table::Events => columnar::events_batch(files),
        Table::Drl => columnar::drl_batch(r.doc.drl),
        Table::Alerts => columnar::alerts_batch(&r.doc.alerts.procedures),
    }
}

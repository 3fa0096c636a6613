//! `kerma._kerma`, the native half of the `kerma` Python package: extraction of one file,
//! folder scans with the GIL released, and the tables as Arrow through the C data interface.
//!
//! The Python half (`python/kerma/`) turns the JSON of an extraction into dataclasses and the
//! scan's batches into a named tuple; this module holds no Python object while it reads.

use std::collections::HashMap;
use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_pyarrow::{IntoPyArrow, ToPyArrow};
use kerma::columnar::{self, ColumnarError, Table};
use kerma::report::{FileEntry, FileOutcome, ProcedureRow};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict};
use rayon::prelude::*;

create_exception!(
    kerma,
    KermaError,
    PyException,
    "A file kerma could not read; the message is the JSON `error` of the file."
);

fn columnar_error(e: ColumnarError) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

/// The JSON of one file's entry, or `KermaError` with the entry's `error`.
fn entry_json(entry: &FileEntry) -> PyResult<String> {
    if entry.outcome == FileOutcome::Error {
        let message = entry.error.clone().unwrap_or_default();
        return Err(KermaError::new_err(message));
    }
    serde_json::to_string(entry).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// extract_json(path_or_bytes, label=None) -> str
///
/// The JSON `files[]` entry of one file, read from a path (`str` or `os.PathLike`) or from
/// `bytes`/`bytearray`; `label` is its `path` (default: the path, or `<bytes>`). Raises
/// `KermaError` with the JSON's `error` message when the file cannot be read.
#[pyfunction]
#[pyo3(signature = (source, label=None))]
fn extract_json(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    label: Option<String>,
) -> PyResult<String> {
    if let Ok(b) = source.cast::<PyBytes>() {
        let bytes = b.as_bytes();
        let label = label.unwrap_or_else(|| "<bytes>".to_owned());
        // The bytes object is immutable and kept alive by `source`: it can be read unlocked.
        let entry = py.detach(|| FileEntry::new(&label, &kerma::extract_bytes(bytes)));
        return entry_json(&entry);
    }
    if let Ok(b) = source.cast::<PyByteArray>() {
        // A bytearray can change under another thread: copy it while holding the GIL.
        let bytes = b.to_vec();
        let label = label.unwrap_or_else(|| "<bytes>".to_owned());
        let entry = py.detach(|| FileEntry::new(&label, &kerma::extract_bytes(&bytes)));
        return entry_json(&entry);
    }
    let path: PathBuf = source.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "extract() takes a path (str or os.PathLike) or bytes, not {}",
            source
                .get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |n| n.to_string())
        ))
    })?;
    let label = label.unwrap_or_else(|| path.display().to_string());
    let entry = py.detach(|| FileEntry::new(&label, &kerma::extract_path(&path)));
    entry_json(&entry)
}

/// What a scan makes, before it is handed to Python.
struct Scanned {
    files: RecordBatch,
    procedures: RecordBatch,
    events: RecordBatch,
    accounting: kerma::Accounting,
}

/// How often a scan calls its progress callback: after every `step` files and at the end.
fn progress_step(total: usize) -> usize {
    (total / 200).max(1)
}

/// What a scan reads, as rows.
struct Rows {
    entries: Vec<FileEntry>,
    procedures: Vec<ProcedureRow>,
    accounting: kerma::Accounting,
}

/// Walks `paths`, reads every file, and groups them into procedures.
fn read_rows(
    paths: &[PathBuf],
    skin: &kerma::skin::Settings,
    progress: Option<&Py<PyAny>>,
    callback_error: &mut Option<PyErr>,
) -> Rows {
    let inputs = kerma::walk_inputs(paths);
    let total = inputs.len();
    let step = progress_step(total);
    let extractor = kerma::Extractor::new();
    let mut entries = Vec::with_capacity(total);
    let mut grouping = kerma::Procedures::new();
    let mut skin_inputs = kerma::skin::SkinInputs::default();
    kerma::scan(&inputs, &extractor, |input, result| {
        entries.push(FileEntry::scanned(input, &result));
        if let Ok(x) = &result {
            skin_inputs.add(&input.path.display().to_string(), x);
        }
        grouping.add_scanned(input, result);
        let done = entries.len();
        if let Some(cb) = progress
            && callback_error.is_none()
            && (done % step == 0 || done == total)
        {
            let called = Python::attach(|py| cb.call1(py, (done, total)).map(drop));
            if let Err(e) = called {
                *callback_error = Some(e);
            }
        }
    });
    let set = grouping.finish();
    let fates: HashMap<&str, &kerma::FileAccount> =
        set.files.iter().map(|f| (f.label.as_str(), f)).collect();
    for e in &mut entries {
        if let Some(account) = fates.get(e.path.as_str()) {
            e.set_fate(account);
        }
    }
    Rows {
        entries,
        // The skin estimates on the scan's threads too.
        procedures: (set.procedures.par_iter())
            .map(|p| {
                let mut row = ProcedureRow::new(p);
                row.skin = skin_inputs.procedure(p).map(|input| {
                    let mut estimate = kerma::skin::estimate(&input, skin);
                    estimate.map = None;
                    estimate
                });
                row
            })
            .collect(),
        accounting: set.accounting,
    }
}

/// Reads the paths and builds the tables.
fn run_scan(
    paths: &[PathBuf],
    skin: &kerma::skin::Settings,
    progress: Option<&Py<PyAny>>,
    callback_error: &mut Option<PyErr>,
) -> Result<Scanned, ColumnarError> {
    let rows = read_rows(paths, skin, progress, callback_error);
    Ok(Scanned {
        files: columnar::files_batch(&rows.entries)?,
        procedures: columnar::procedures_batch(&rows.procedures)?,
        events: columnar::events_batch(&rows.entries)?,
        accounting: rows.accounting,
    })
}

fn table<'py>(py: Python<'py>, batch: RecordBatch) -> PyResult<Bound<'py, PyAny>> {
    let schema = batch.schema();
    arrow_pyarrow::Table::try_new(vec![batch], schema)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?
        .into_pyarrow(py)
}

/// The skin-dose settings of a settings file's text (kerma's JSON or PySkinDose's), else
/// kerma's defaults; a `ValueError` with the file's problem.
fn skin_settings(json: Option<&str>) -> PyResult<kerma::skin::Settings> {
    match json {
        None => Ok(kerma::skin::Settings::default()),
        Some(text) => kerma::skin::Settings::from_json(text)
            .map_err(|e| PyValueError::new_err(format!("skin settings: {e}"))),
    }
}

/// scan_tables(paths, threads=None, progress=None, skin_settings_json=None)
///     -> (files, procedures, events, accounting)
///
/// Walks the paths (folders sorted by name), reads every file on `threads` worker threads
/// (default: one per core) with the GIL released, groups the files into procedures, estimates
/// each procedure's skin dose (with the settings JSON given, else kerma's defaults), and
/// returns the files, procedures and events tables as `pyarrow.Table` (handed over through
/// the Arrow C data interface, not copied) and the accounting as a dict. `progress`, if
/// given, is called as `progress(done, total)` about 200 times during the scan and once at
/// its end; an exception it raises stops the calls and is raised when the scan ends.
#[pyfunction]
#[pyo3(signature = (paths, threads=None, progress=None, skin_settings_json=None))]
fn scan_tables<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
    skin_settings_json: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    if threads == Some(0) {
        return Err(PyValueError::new_err("threads must be at least 1"));
    }
    let skin = skin_settings(skin_settings_json.as_deref())?;
    let pool = match threads {
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| PyRuntimeError::new_err(e.to_string()))?,
        ),
        None => None,
    };
    let mut callback_error = None;
    let scanned = py.detach(|| {
        let progress = progress.as_ref();
        match &pool {
            Some(pool) => pool.install(|| run_scan(&paths, &skin, progress, &mut callback_error)),
            None => run_scan(&paths, &skin, progress, &mut callback_error),
        }
    });
    if let Some(e) = callback_error {
        return Err(e);
    }
    let s = scanned.map_err(columnar_error)?;
    let accounting = PyDict::new(py);
    let a = &s.accounting;
    for (k, v) in [
        ("files", a.files),
        ("in_procedure", a.in_procedure),
        ("duplicate", a.duplicate),
        ("superseded", a.superseded),
        ("no_dose", a.no_dose),
        ("unsupported", a.unsupported),
        ("error", a.error),
        ("skipped", a.skipped),
    ] {
        accounting.set_item(k, v)?;
    }
    let out = (
        table(py, s.files)?,
        table(py, s.procedures)?,
        table(py, s.events)?,
        accounting,
    );
    out.into_pyobject(py).map(|t| t.into_any())
}

/// rust_scan(paths, threads=None) -> int
///
/// The Rust folder scan alone, the reference `benches/python/scan.py` compares `scan_tables`
/// with: walk, read, the files' entries and grouping into procedures (the same code as
/// `scan_tables`, skin doses included), without building or handing over any table. Returns
/// the number of procedures.
#[pyfunction]
#[pyo3(signature = (paths, threads=None))]
fn rust_scan(py: Python<'_>, paths: Vec<PathBuf>, threads: Option<usize>) -> PyResult<usize> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok(py.detach(|| {
        pool.install(|| {
            let rows = read_rows(&paths, &kerma::skin::Settings::default(), None, &mut None);
            std::hint::black_box(&rows.entries);
            rows.procedures.len()
        })
    }))
}

/// schemas() -> dict[str, pyarrow.Schema]
///
/// The documented schema of each table: files, procedures, events, drl, alerts.
#[pyfunction]
fn schemas(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    for t in Table::ALL {
        out.set_item(t.name(), t.schema().as_ref().to_pyarrow(py)?)?;
    }
    Ok(out)
}

/// The native module.
#[pymodule]
fn _kerma(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("KermaError", m.py().get_type::<KermaError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(extract_json, m)?)?;
    m.add_function(wrap_pyfunction!(scan_tables, m)?)?;
    m.add_function(wrap_pyfunction!(schemas, m)?)?;
    m.add_function(wrap_pyfunction!(rust_scan, m)?)?;
    Ok(())
}

//! Reports from the registry: the stored procedures of a period, made into the
//! [`ProcedureSet`] that grouping gives for their files.

use std::collections::HashMap;
use std::sync::Arc;

use super::db::{Db, Tx, Val};
use super::ingest::{IN_CHUNK, placeholders};
use super::rows::unpack;
use super::{RegistryError, par_map};
use crate::extract::Extractor;
use crate::procedure::{Accounting, Fate, FileAccount, Procedure, ProcedureSet, finish_loaded};
use crate::report::{FileEntry, FileOutcome};
use crate::scan::Skip;

/// Which stored procedures a report covers. The default covers everything, files without a
/// procedure included.
///
/// ```
/// let f = kerma::registry::ReportFilter::default().period(Some("20250101"), Some("20251231"));
/// assert_eq!(f.since.as_deref(), Some("20250101"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReportFilter {
    /// First Study Date (0008,0020) covered, `YYYYMMDD`, inclusive.
    pub since: Option<String>,
    /// Last Study Date covered, `YYYYMMDD`, inclusive.
    pub until: Option<String>,
    /// Only procedures stored or changed at or after this time (`updated_at`, ISO 8601 UTC,
    /// `2025-03-01T00:00:00Z`): what ingests since then brought.
    pub updated_since: Option<String>,
    /// Only these rooms (room keys); all when empty.
    pub room_keys: Vec<String>,
    /// Only these procedures (`procedure_key`s, as [`IngestSummary::changed_procedures`]
    /// lists them); all when empty.
    ///
    /// [`IngestSummary::changed_procedures`]: super::IngestSummary::changed_procedures
    pub procedure_keys: Vec<String>,
    /// Only these patients (Patient IDs); all when empty.
    pub patient_ids: Vec<String>,
}

impl ReportFilter {
    /// Study dates from `since` to `until` (`YYYYMMDD`, inclusive).
    pub fn period(mut self, since: Option<&str>, until: Option<&str>) -> ReportFilter {
        self.since = since.map(str::to_owned);
        self.until = until.map(str::to_owned);
        self
    }

    /// Procedures stored or changed at or after `time` (ISO 8601 UTC).
    pub fn updated_since(mut self, time: &str) -> ReportFilter {
        self.updated_since = Some(time.to_owned());
        self
    }

    /// Only the rooms with these keys.
    pub fn rooms(mut self, keys: impl IntoIterator<Item = String>) -> ReportFilter {
        self.room_keys = keys.into_iter().collect();
        self
    }

    /// Only the procedures of these patients.
    pub fn patients(mut self, ids: impl IntoIterator<Item = String>) -> ReportFilter {
        self.patient_ids = ids.into_iter().collect();
        self
    }

    /// Only the procedures with these keys.
    pub fn procedures(mut self, keys: impl IntoIterator<Item = String>) -> ReportFilter {
        self.procedure_keys = keys.into_iter().collect();
        self
    }

    fn is_everything(&self) -> bool {
        *self == ReportFilter::default()
    }

    /// The `WHERE` clause over `procedures` and its parameters.
    fn clause(&self) -> (String, Vec<Val>) {
        let mut conds = Vec::new();
        let mut params = Vec::new();
        let mut add = |cond: &str, v: Val| {
            params.push(v);
            conds.push(cond.replace('#', &format!("?{}", params.len())));
        };
        if let Some(s) = &self.since {
            add("study_date >= #", Val::from(s.as_str()));
        }
        if let Some(u) = &self.until {
            add("study_date <= #", Val::from(u.as_str()));
        }
        if let Some(t) = &self.updated_since {
            add("updated_at >= #", Val::from(t.as_str()));
        }
        for (column, keys) in [
            ("room_key", &self.room_keys),
            ("procedure_key", &self.procedure_keys),
            ("patient_id", &self.patient_ids),
        ] {
            let mut marks = Vec::new();
            for k in keys {
                params.push(Val::from(k.as_str()));
                marks.push(format!("?{}", params.len()));
            }
            if !marks.is_empty() {
                conds.push(format!("{column} IN ({})", marks.join(", ")));
            }
        }
        let clause = match conds.is_empty() {
            true => String::new(),
            false => format!(" WHERE {}", conds.join(" AND ")),
        };
        (clause, params)
    }
}

/// A report from the registry.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RegistryReport {
    /// The procedures (ids `P0001`… in date order within this report) and the fate of each of
    /// their files; with the default filter, of every stored file.
    pub set: ProcedureSet,
    /// The registry's key of each procedure, by id.
    pub keys: HashMap<String, String>,
}

/// A file row of a report.
struct FileRow {
    path: String,
    fate: String,
    fate_of: Option<String>,
    key: Option<String>,
}

fn corrupt(target: &str, what: &str, message: impl ToString) -> RegistryError {
    RegistryError::Corrupt {
        target: target.to_owned(),
        what: what.to_owned(),
        message: message.to_string(),
    }
}

const FILE_SELECT: &str =
    "SELECT path, fate, fate_of, procedure_key FROM files WHERE is_current = 1";

fn file_rows(
    tx: &mut dyn Tx,
    sql: &str,
    params: &[Val],
    out: &mut Vec<FileRow>,
) -> Result<(), RegistryError> {
    tx.query(sql, params, &mut |r| {
        let mut it = r.into_iter();
        let mut next = || it.next().and_then(Val::into_text);
        out.push(FileRow {
            path: next().unwrap_or_default(),
            fate: next().unwrap_or_default(),
            fate_of: next(),
            key: next(),
        });
        Ok(())
    })
}

pub(super) fn report(
    db: &mut dyn Db,
    extractor: &Extractor,
    filter: &ReportFilter,
) -> Result<RegistryReport, RegistryError> {
    let target = db.target().to_owned();
    let mut details: Vec<(String, String)> = Vec::new();
    let mut files: Vec<FileRow> = Vec::new();
    let mut errors: HashMap<String, Option<Vec<u8>>> = HashMap::new();
    db.read(&mut |tx| {
        let (clause, params) = filter.clause();
        let sql = format!("SELECT procedure_key, detail FROM procedures{clause}");
        tx.query(&sql, &params, &mut |mut r| {
            let d = r.pop().and_then(Val::into_text);
            let k = r.pop().and_then(Val::into_text);
            if let (Some(k), Some(d)) = (k, d) {
                details.push((k, d));
            }
            Ok(())
        })?;
        if filter.is_everything() {
            file_rows(tx, FILE_SELECT, &[], &mut files)?;
        } else {
            let sql = format!(
                "{FILE_SELECT} AND procedure_key IN (SELECT procedure_key FROM procedures{clause})"
            );
            file_rows(tx, &sql, &params, &mut files)?;
        }
        // Unreadable files: their error is read again from their bytes. They belong to no
        // procedure, so only the whole registry's report lists them.
        if !filter.is_everything() {
            return Ok(());
        }
        tx.query(
            "SELECT path, size_bytes, content FROM files WHERE is_current = 1 AND fate = 'error'",
            &[],
            &mut |mut r| {
                let stored = r.pop().and_then(Val::into_blob);
                let size = r.pop().and_then(|v| v.int()).unwrap_or_default();
                if let Some(path) = r.pop().and_then(Val::into_text) {
                    let content = match stored {
                        Some(s) => Some(unpack(&s, size.max(0) as u64, &path)?),
                        None => None,
                    };
                    errors.insert(path, content);
                }
                Ok(())
            },
        )
    })?;
    let loaded = par_map(details, |(k, d)| {
        match serde_json::from_str::<Procedure>(&d) {
            Ok(p) => Ok((k, p)),
            Err(e) => Err(corrupt(&target, &format!("procedure {k}"), e)),
        }
    })
    .into_iter()
    .collect::<Result<Vec<(String, Procedure)>, RegistryError>>()?;
    // The order they are read in does not matter: numbering sorts them by date, patient and
    // study, and a procedure's key is its (patient, study).
    let (keys, procedures): (Vec<String>, Vec<Procedure>) = loaded.into_iter().unzip();
    let (procedures, ids) = finish_loaded(procedures);
    let id_of_key: HashMap<&str, &str> = keys
        .iter()
        .zip(&ids)
        .map(|(k, i)| (k.as_str(), i.as_str()))
        .collect();
    let mut accounting = Accounting::default();
    let mut accounts = Vec::with_capacity(files.len());
    for f in files {
        let procedure = f
            .key
            .as_deref()
            .and_then(|k| id_of_key.get(k))
            .map(|s| (*s).to_owned());
        let of = || f.fate_of.clone().unwrap_or_default();
        let fate = match f.fate.as_str() {
            "in_procedure" => Fate::InProcedure(procedure.clone().unwrap_or_default()),
            "duplicate" => Fate::DuplicateOf(of()),
            "superseded" => Fate::SupersededBy(of()),
            "no_dose" => Fate::NoDose,
            "unsupported" => Fate::Unsupported,
            "skipped" if f.fate_of.as_deref() == Some(&Skip::Dicomdir.to_string()) => {
                Fate::Skipped(Skip::Dicomdir)
            }
            "skipped" => Fate::Skipped(Skip::NotDicom),
            "error" => {
                let bytes = errors.get(&f.path).cloned().flatten().unwrap_or_default();
                match extractor.extract_bytes(&bytes) {
                    Err(e) => Fate::Error(Arc::new(e)),
                    Ok(_) => {
                        return Err(corrupt(
                            &target,
                            &format!("file {}", f.path),
                            "stored as unreadable, and readable now",
                        ));
                    }
                }
            }
            other => return Err(corrupt(&target, &format!("file {}", f.path), other)),
        };
        accounting.count(&fate);
        accounts.push(FileAccount {
            label: f.path,
            fate,
            procedure,
        });
    }
    accounting.files = accounts.len();
    accounts.sort_by(|a, b| a.label.cmp(&b.label));
    let keys = id_of_key
        .into_iter()
        .map(|(k, i)| (i.to_owned(), k.to_owned()))
        .collect();
    Ok(RegistryReport {
        set: ProcedureSet {
            procedures,
            files: accounts,
            accounting,
        },
        keys,
    })
}

/// A file's result, read again from its stored bytes; `None` when none were stored.
pub(super) type Reread = Option<Result<crate::Extraction, crate::Error>>;

/// Each of `set`'s files read again from its stored bytes, handed to `f` with its account,
/// in `set`'s order; `None` for a file stored without bytes (skipped). The bytes are read
/// [`IN_CHUNK`] files at a time, one read transaction each, and extracted on the scan's
/// threads.
pub(super) fn each_file(
    db: &mut dyn Db,
    extractor: &Extractor,
    set: &ProcedureSet,
    f: &mut dyn FnMut(&FileAccount, Reread),
) -> Result<(), RegistryError> {
    for chunk in set.files.chunks(IN_CHUNK) {
        let mut stored: HashMap<String, (i64, Vec<u8>)> = HashMap::new();
        db.read(&mut |tx| {
            stored.clear();
            let sql = format!(
                "SELECT path, size_bytes, content FROM files WHERE is_current = 1 AND path IN ({})",
                placeholders(chunk.len())
            );
            let params: Vec<Val> = chunk.iter().map(|a| Val::from(a.label.as_str())).collect();
            tx.query(&sql, &params, &mut |mut r| {
                let content = r.pop().and_then(Val::into_blob);
                let size = r.pop().and_then(|v| v.int()).unwrap_or_default();
                if let (Some(path), Some(content)) = (r.pop().and_then(Val::into_text), content) {
                    stored.insert(path, (size, content));
                }
                Ok(())
            })
        })?;
        let read = par_map(chunk.iter().collect::<Vec<_>>(), |account| {
            let (size, packed) = stored.get(&account.label)?;
            Some(
                unpack(packed, (*size).max(0) as u64, &account.label)
                    .map(|bytes| extractor.extract_bytes(&bytes)),
            )
        });
        for (account, result) in chunk.iter().zip(read) {
            f(account, result.transpose()?);
        }
    }
    Ok(())
}

/// The JSON `files` entries of `set`'s files, read again from their stored bytes, with
/// their fates.
pub(super) fn file_entries(
    db: &mut dyn Db,
    extractor: &Extractor,
    set: &ProcedureSet,
) -> Result<Vec<FileEntry>, RegistryError> {
    let mut out = Vec::with_capacity(set.files.len());
    each_file(db, extractor, set, &mut |account, result| {
        let mut entry = match (&account.fate, result) {
            (Fate::Skipped(s), _) => {
                let mut e = FileEntry::new(
                    &account.label,
                    &Err(crate::Error::Parse(crate::ParseError::NotDicom)),
                );
                e.outcome = FileOutcome::Skipped;
                e.error = None;
                e.skip_reason = Some(s.to_string());
                e
            }
            (_, Some(result)) => FileEntry::new(&account.label, &result),
            (_, None) => FileEntry::new(
                &account.label,
                &Err(crate::Error::Parse(crate::ParseError::NotDicom)),
            ),
        };
        entry.set_fate(account);
        out.push(entry);
    })?;
    Ok(out)
}

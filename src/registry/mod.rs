//! The dose registry: what kerma has read, kept between runs, in SQLite (one file, the
//! default) or PostgreSQL (one server for the sites of a hospital group), with the same
//! schema, queries and results.
//!
//! [`Registry::ingest`] stores files in batches, one transaction each:
//! - the same file again (same path, same content) changes nothing; new content at a path
//!   is a new version of that file, and the old one is kept, marked replaced;
//! - the stored bytes (a file's header up to Pixel Data, a dose report whole) are the source
//!   of truth: procedures are derived from them with the grouping of [`Procedures`], and
//!   recomputed, for the studies a batch touches, whenever a batch adds files to them (a
//!   cumulative report that arrives later supersedes the partial reports stored before it;
//!   an RDSR that arrives after its images replaces their header figures); a file whose fate
//!   changes gets its new fate with the time it changed, and the old one stays in
//!   `fate_history`;
//! - a batch is all or nothing: a crash, a full disk or a lost server leaves the registry as
//!   it was before the batch, and ingesting again completes it.
//!
//! [`Registry::report`] gives back what [`Procedures::finish`] gives for the stored files of a
//! period: the same [`ProcedureSet`] that the reference-level survey takes.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let db = dir.path().join("kerma.db");
//! let mut registry = kerma::registry::Registry::open(db.to_str().ok_or("path")?)?;
//! let inputs = kerma::walk_inputs(&["testdata/rdsr_pps_part1.dcm", "testdata/rdsr_cumulative.dcm"]);
//! let summary = registry.ingest(&inputs, |_| {})?;
//! assert_eq!(summary.new, 2);
//! // Again: nothing changes.
//! let again = registry.ingest(&inputs, |_| {})?;
//! assert_eq!((again.new, again.unchanged, again.procedures_changed), (0, 2, 0));
//! let report = registry.report(&kerma::registry::ReportFilter::default())?;
//! assert_eq!(report.set.accounting.files, 2);
//! # Ok(())
//! # }
//! ```
//!
//! [`Procedures`]: crate::Procedures
//! [`Procedures::finish`]: crate::Procedures::finish
//! [`ProcedureSet`]: crate::ProcedureSet

mod alerts;
mod db;
mod ingest;
mod postgres;
mod query;
mod record;
mod rows;
mod schema;
mod skin;
mod sqlite;
#[cfg(test)]
mod tests;
mod time;

use std::collections::HashMap;
use std::path::Path;

use crate::extract::Extractor;
use crate::scan::Input;

pub use alerts::StoredAlert;
pub use query::{RegistryReport, ReportFilter};
pub use skin::StoredSkinDose;

/// Why the registry could not do what was asked. Nothing of a failed batch remains.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The database refused or failed (a file that is not a database, a lost connection, an
    /// authentication failure…). `target` never holds a password.
    #[error("{target}: {message}")]
    Database {
        /// The database file, or the server URL without its password.
        target: String,
        /// The database's message.
        message: String,
    },
    /// The disk or the database is full: the batch was rolled back.
    #[error("{target}: the database or its disk is full; the batch was rolled back ({message})")]
    Full {
        /// The database.
        target: String,
        /// The database's message.
        message: String,
    },
    /// The database is not a kerma registry, and kerma does not write into it.
    #[error("{target} is not a kerma registry: {why}")]
    NotARegistry {
        /// The database.
        target: String,
        /// What it holds instead.
        why: String,
    },
    /// A newer kerma wrote this registry.
    #[error(
        "{target} has registry schema version {found}, newer than the {supported} this kerma reads: use a newer kerma"
    )]
    NewerSchema {
        /// The database.
        target: String,
        /// The version found.
        found: i64,
        /// The version this kerma writes and reads.
        supported: i64,
    },
    /// No TLS connection to the PostgreSQL server as its URL's `sslmode` asks: the server
    /// refused TLS, its certificate did not verify against `sslrootcert`, or the TLS settings
    /// are wrong. `target` never holds a password.
    #[error("{target}: TLS: {message}")]
    Tls {
        /// The server URL without its password.
        target: String,
        /// What failed.
        message: String,
    },
    /// Stored data that kerma cannot read back (edited by hand, or damaged).
    #[error("{target}: stored {what} cannot be read: {message}")]
    Corrupt {
        /// The database.
        target: String,
        /// What could not be read.
        what: String,
        /// Why.
        message: String,
    },
}

impl RegistryError {
    fn from_sqlite(target: &str, e: rusqlite::Error) -> RegistryError {
        let full = matches!(
            &e,
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(f.code, rusqlite::ErrorCode::DiskFull)
        );
        let message = e.to_string();
        if full {
            RegistryError::Full {
                target: target.to_owned(),
                message,
            }
        } else {
            RegistryError::Database {
                target: target.to_owned(),
                message,
            }
        }
    }
}

/// The procedures of a report, each with its registry key as its id.
fn by_key(r: RegistryReport) -> Vec<crate::Procedure> {
    let mut ps = r.set.procedures;
    for p in &mut ps {
        if let Some(k) = r.keys.get(&p.id) {
            p.id = k.clone();
        }
    }
    ps
}

/// What one ingest did, file by file counted once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IngestSummary {
    /// Inputs seen.
    pub files: usize,
    /// Stored for the first time.
    pub new: usize,
    /// Already stored with the same content: nothing changed.
    pub unchanged: usize,
    /// New content at a path already stored: a new version of the file.
    pub new_versions: usize,
    /// Of the new files and versions, those that are not DICOM or are a DICOMDIR, found by
    /// walking a folder: stored without their bytes, counted as skipped.
    pub skipped: usize,
    /// Of the new files and versions, those that kerma could not read as DICOM: stored with
    /// their bytes and the error.
    pub unreadable: usize,
    /// Inputs that could not be read from disk at all (not stored; ingest them again later).
    pub failed: Vec<(String, String)>,
    /// Procedures created, changed or removed.
    pub procedures_changed: usize,
    /// The keys of those procedures (the `procedure_key` column).
    pub changed_procedures: Vec<String>,
    /// Transactions committed.
    pub batches: usize,
}

/// Progress of an ingest, reported after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Inputs handled so far.
    pub done: usize,
    /// Inputs in all.
    pub total: usize,
}

/// `f` over `items`, on the scan's threads when there are several.
fn par_map<T: Send, U: Send>(items: Vec<T>, f: impl Fn(T) -> U + Sync + Send) -> Vec<U> {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        items.into_par_iter().map(f).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        items.into_iter().map(f).collect()
    }
}

/// How many files a batch holds at most by default, and how many bytes of them.
const BATCH_FILES: usize = 1000;
const BATCH_BYTES: u64 = 256 << 20;

/// A dose registry; see the [module documentation](self).
pub struct Registry {
    db: Box<dyn db::Db>,
    extractor: Extractor,
    batch_files: usize,
    /// The settings of the skin doses that `ingest_objects` estimates in its transaction.
    skin: Option<crate::skin::Settings>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("target", &self.db.target())
            .finish()
    }
}

impl Registry {
    /// Opens the registry at `target`, creating its tables in an empty database: a
    /// PostgreSQL URL (`postgres://user:password@host:port/database`, or `postgresql://`),
    /// else the path of an SQLite file (created if absent).
    ///
    /// # Errors
    /// The database cannot be opened or reached, is not a kerma registry, or was written by
    /// a newer kerma.
    pub fn open(target: &str) -> Result<Registry, RegistryError> {
        let db: Box<dyn db::Db> =
            if target.starts_with("postgres://") || target.starts_with("postgresql://") {
                Box::new(postgres::Postgres::connect(target)?)
            } else {
                Box::new(sqlite::Sqlite::open(Path::new(target))?)
            };
        Registry::with_db(db)
    }

    fn with_db(mut db: Box<dyn db::Db>) -> Result<Registry, RegistryError> {
        let target = db.target().to_owned();
        db.write(&mut |tx| schema::migrate(tx, &target))?;
        Ok(Registry {
            db,
            extractor: Extractor::new(),
            batch_files: BATCH_FILES,
            skin: None,
        })
    }

    /// Commits every `files` files (at least 1; 1000 by default; a batch also ends at
    /// 256 MiB). Smaller batches lose less work to a failure and hold the write lock for less
    /// time; larger ones commit less often.
    pub fn with_batch_files(mut self, files: usize) -> Registry {
        self.batch_files = files.max(1);
        self
    }

    /// Estimates the skin dose of every procedure a batch creates or changes with
    /// `settings`, and stores it in the batch's transaction (see
    /// [`estimate_skin`](Registry::estimate_skin)), for [`ingest_objects`]: each procedure
    /// the receiver stores has its peak skin dose as soon as it is committed.
    /// [`ingest`](Registry::ingest) of folders does not (it leaves them to
    /// [`missing_skin_doses`](Registry::missing_skin_doses), estimated in parallel after it).
    ///
    /// [`ingest_objects`]: Registry::ingest_objects
    pub fn with_skin(mut self, settings: crate::skin::Settings) -> Registry {
        self.skin = Some(settings);
        self
    }

    /// With kerma's default skin settings, unless [`with_skin`](Registry::with_skin) gave some.
    pub(crate) fn with_skin_or_default(self) -> Registry {
        match self.skin {
            Some(_) => self,
            None => self.with_skin(crate::skin::Settings::default()),
        }
    }

    /// Reads files with `extractor` (its limits) instead of the default one.
    pub fn with_extractor(mut self, extractor: Extractor) -> Registry {
        self.extractor = extractor;
        self
    }

    /// Where the registry is: the file, or the server URL without its password.
    pub fn target(&self) -> &str {
        self.db.target()
    }

    /// Stores `inputs` (from [`walk_inputs`](crate::walk_inputs)) in batches, one
    /// transaction each, and recomputes the procedures each batch touches; `progress` is
    /// called after each batch.
    ///
    /// # Errors
    /// The database failed: the batch in progress left nothing behind, the batches before it
    /// are stored, and ingesting the same inputs again completes the work. Files that cannot
    /// be read from disk are no error: they are listed in [`IngestSummary::failed`].
    pub fn ingest(
        &mut self,
        inputs: &[Input],
        mut progress: impl FnMut(Progress),
    ) -> Result<IngestSummary, RegistryError> {
        ingest::ingest(
            self.db.as_mut(),
            &self.extractor,
            self.batch_files,
            inputs,
            &mut progress,
        )
    }

    /// Stores objects received whole (by the network receiver: a label such as
    /// `received/<SOP Instance UID>` and the object's bytes) in one transaction. When it
    /// returns `Ok`, every object is durably stored.
    ///
    /// # Errors
    /// As [`ingest`](Registry::ingest): on an error nothing of `objects` is stored.
    pub fn ingest_objects(
        &mut self,
        objects: Vec<(String, Vec<u8>)>,
    ) -> Result<IngestSummary, RegistryError> {
        ingest::ingest_objects(
            self.db.as_mut(),
            &self.extractor,
            objects,
            self.skin.as_ref(),
        )
    }

    /// The procedures stored for the studies of `filter`, with their files, as
    /// [`Procedures::finish`](crate::Procedures::finish) gives them.
    ///
    /// # Errors
    /// The database failed, or holds data that cannot be read back.
    pub fn report(&mut self, filter: &ReportFilter) -> Result<RegistryReport, RegistryError> {
        query::report(self.db.as_mut(), &self.extractor, filter)
    }

    /// Completes `survey` with the procedures that have `keys` (as an ingest's
    /// [`IngestSummary::changed_procedures`] lists them), and their patients' other stored
    /// procedures as history (see [`Survey::add_history`]), and runs it: the trigger-level
    /// alerts that those procedures raise, alone or in their patients' cumulative sums over
    /// everything stored; their stored peak skin doses (see
    /// [`estimate_skin`](Registry::estimate_skin)) are compared with the PSD levels.
    /// Procedure ids in the result are the registry's keys.
    ///
    /// # Errors
    /// The database failed, or holds data that cannot be read back.
    ///
    /// [`Survey::add_history`]: crate::reference::Survey::add_history
    pub fn survey(
        &mut self,
        keys: &[String],
        mut survey: crate::reference::Survey,
    ) -> Result<crate::reference::SurveyReport, RegistryError> {
        use crate::reference::SurveyRecord;
        if keys.is_empty() {
            return Ok(survey.finish());
        }
        let now = by_key(self.report(&ReportFilter::default().procedures(keys.to_vec()))?);
        let patients: std::collections::BTreeSet<String> =
            now.iter().filter_map(|p| p.patient_id.clone()).collect();
        let history = match patients.is_empty() {
            true => Vec::new(),
            false => by_key(self.report(&ReportFilter::default().patients(patients))?),
        };
        // Their stored peak skin doses, for the PSD trigger levels.
        let psd: HashMap<String, StoredSkinDose> = skin::stored(self.db.as_mut(), keys)?
            .into_iter()
            .map(|s| (s.procedure_key.clone(), s))
            .collect();
        for p in &now {
            let mut record = SurveyRecord::from_procedure(p);
            if let Some(s) = psd.get(&p.id) {
                record.peak_skin_dose_mgy = s.psd_mgy;
                record.peak_skin_dose_is_bound = skin::is_bound(s);
            }
            survey.add(record);
        }
        for p in history.iter().filter(|h| !keys.contains(&h.id)) {
            survey.add_history(SurveyRecord::from_procedure(p));
        }
        Ok(survey.finish())
    }

    /// Estimates the skin dose of the procedures with `keys` (as an ingest's
    /// [`IngestSummary::changed_procedures`] lists them) from their stored files with
    /// `settings`, as [`skin::estimate`](crate::skin::estimate) does for a folder's
    /// procedures, and stores each (replacing the one stored before), a transaction per 500
    /// procedures;
    /// returns them by key, without their maps. Procedures without dose-report events get
    /// none; a procedure that changes meanwhile keeps none (estimate it again after the
    /// change). [`survey`](Registry::survey) compares the stored PSDs with the PSD trigger
    /// levels.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let db = dir.path().join("kerma.db");
    /// let mut registry = kerma::registry::Registry::open(db.to_str().ok_or("path")?)?;
    /// let summary = registry.ingest(&kerma::walk_inputs(&["testdata/rdsr_biplane.dcm"]), |_| {})?;
    /// let settings = kerma::skin::Settings::default();
    /// let skin = registry.estimate_skin(&summary.changed_procedures, &settings)?;
    /// assert_eq!(skin.len(), 1);
    /// let stored = registry.skin_doses(&summary.changed_procedures)?;
    /// assert_eq!(stored[0].psd_mgy, skin[0].1.psd_mgy);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The database failed, or holds data that cannot be read back; then nothing is stored.
    pub fn estimate_skin(
        &mut self,
        keys: &[String],
        settings: &crate::skin::Settings,
    ) -> Result<Vec<(String, crate::skin::SkinDose)>, RegistryError> {
        skin::estimate(self.db.as_mut(), &self.extractor, keys, settings)
    }

    /// The keys of the stored procedures with dose-report events and no stored skin dose
    /// (never estimated, or changed since), for [`estimate_skin`](Registry::estimate_skin).
    ///
    /// # Errors
    /// The database failed.
    pub fn missing_skin_doses(&mut self) -> Result<Vec<String>, RegistryError> {
        skin::missing(self.db.as_mut())
    }

    /// The stored skin doses of the procedures with `keys` (every stored one when empty),
    /// ordered by key.
    ///
    /// # Errors
    /// The database failed.
    pub fn skin_doses(&mut self, keys: &[String]) -> Result<Vec<StoredSkinDose>, RegistryError> {
        skin::stored(self.db.as_mut(), keys)
    }

    /// Records the alerts of `report` (a [`survey`](Registry::survey)'s result: its
    /// procedures' trigger-level alerts and the patients' cumulative sums that reach a level)
    /// with the time, in one transaction; returns how many.
    ///
    /// # Errors
    /// The database failed; then none is recorded.
    pub fn record_alerts(
        &mut self,
        report: &crate::reference::SurveyReport,
    ) -> Result<usize, RegistryError> {
        alerts::record_alerts(self.db.as_mut(), report)
    }

    /// The alerts recorded at or after `since` (ISO 8601 UTC, as
    /// `2025-03-01T00:00:00Z`; all when `None`), oldest first.
    ///
    /// # Errors
    /// The database failed, or holds an alert without its value.
    pub fn alerts_since(&mut self, since: Option<&str>) -> Result<Vec<StoredAlert>, RegistryError> {
        alerts::alerts_since(self.db.as_mut(), since)
    }

    /// The JSON `files` entries of a report's files, read again from their stored bytes:
    /// what a folder scan of the same files gives, with their fates in `set`.
    ///
    /// # Errors
    /// The database failed.
    pub fn file_entries(
        &mut self,
        set: &crate::ProcedureSet,
    ) -> Result<Vec<crate::report::FileEntry>, RegistryError> {
        query::file_entries(self.db.as_mut(), &self.extractor, set)
    }

    /// Each of a report's files read again from its stored bytes, handed to `f` with its
    /// account (`None` for a file stored without its bytes: skipped as not DICOM).
    ///
    /// # Errors
    /// The database failed, or holds bytes that cannot be unpacked.
    pub fn read_files(
        &mut self,
        set: &crate::ProcedureSet,
        mut f: impl FnMut(&crate::FileAccount, query::Reread),
    ) -> Result<(), RegistryError> {
        query::each_file(self.db.as_mut(), &self.extractor, set, &mut f)
    }
}

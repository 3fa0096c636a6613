//! The registry as the receiver's store: each batch of received objects is one registry
//! transaction, which also stores the peak skin doses of the procedures it changed; the
//! trigger levels those procedures reach (their figures and peak skin dose alone, or their
//! patients' cumulative sums over everything stored) are evaluated afterwards, once the
//! senders have their responses, on a second connection when there is one.

use std::sync::Mutex;

use super::store::{Alert, ObjectStore, ReceivedObject, StoreError, StoreOutcome};
use crate::reference::{Survey, SurveyConfig};
use crate::registry::{Registry, RegistryError};
use crate::skin::Settings;

/// A [`Registry`] behind the [`ObjectStore`] interface.
///
/// A database that cannot be reached or written (a lost server, a full disk, a lock held
/// too long) is [`StoreError::Unavailable`], so that a [`Fallback`](super::Fallback) spools
/// the batch; anything else is [`StoreError::Refused`].
#[derive(Debug)]
pub struct RegistryStore {
    registry: Mutex<Registry>,
    /// A second connection to the same database, for alerts; `None`: `registry`.
    reader: Option<Mutex<Registry>>,
    /// An empty survey with the configuration checked once, or why it is unusable.
    survey: Result<Survey, String>,
}

impl RegistryStore {
    /// Stores into `registry` (with the peak skin doses of its skin settings, kerma's
    /// defaults unless [`Registry::with_skin`] gave some), and evaluates arrivals with `survey` (its trigger tables,
    /// jurisdiction and cumulative window) on the same connection: a commit waits while
    /// alerts are evaluated. [`open`](RegistryStore::open) gives alerts a connection of
    /// their own.
    pub fn new(registry: Registry, survey: SurveyConfig) -> RegistryStore {
        RegistryStore {
            registry: Mutex::new(registry.with_skin_or_default()),
            reader: None,
            survey: Survey::new(survey).map_err(|e| e.to_string()),
        }
    }

    /// Estimates skin doses with `settings` (a room geometry file) instead of kerma's
    /// defaults.
    pub fn with_skin_settings(self, settings: Settings) -> RegistryStore {
        let RegistryStore {
            registry,
            reader,
            survey,
        } = self;
        let registry = match registry.into_inner() {
            Ok(r) => r.with_skin(settings),
            Err(poisoned) => poisoned.into_inner().with_skin(settings),
        };
        RegistryStore {
            registry: Mutex::new(registry),
            reader,
            survey,
        }
    }

    /// Opens the registry at `target` (as [`Registry::open`]) twice: one connection commits
    /// the batches, the other evaluates their alerts meanwhile (with SQLite in WAL mode a
    /// reader does not block the writer).
    ///
    /// # Errors
    /// Either connection cannot be opened.
    pub fn open(target: &str, survey: SurveyConfig) -> Result<RegistryStore, RegistryError> {
        let registry = Registry::open(target)?.with_skin(Settings::default());
        let reader = Registry::open(target)?;
        Ok(RegistryStore {
            registry: Mutex::new(registry),
            reader: Some(Mutex::new(reader)),
            survey: Survey::new(survey).map_err(|e| e.to_string()),
        })
    }

    /// The alerts of the procedures with `keys`, or one alert saying why they could not be
    /// evaluated (the objects are stored all the same).
    fn evaluate(&self, keys: &[String]) -> Result<Vec<Alert>, String> {
        let survey = self.survey.clone()?;
        let mut registry = self
            .reader
            .as_ref()
            .unwrap_or(&self.registry)
            .lock()
            .map_err(|_| "the registry's lock is poisoned".to_owned())?;
        let report = registry.survey(keys, survey).map_err(|e| e.to_string())?;
        // Kept in the registry (`alerts`) before they are told.
        registry.record_alerts(&report).map_err(|e| e.to_string())?;
        drop(registry);
        let mut alerts = Vec::new();
        for a in &report.alerts.procedures {
            alerts.push(Alert {
                summary: format!(
                    "procedure {} of patient {}: {:?} {} {} reaches {} {}",
                    a.procedure_id,
                    a.patient_id.as_deref().unwrap_or("?"),
                    a.quantity,
                    a.value,
                    a.unit,
                    a.level,
                    a.unit
                ),
                json: serde_json::to_string(a).unwrap_or_default(),
            });
        }
        for c in report
            .alerts
            .patient_cumulative
            .iter()
            .filter(|c| !c.levels_reached.is_empty())
        {
            alerts.push(Alert {
                summary: format!(
                    "patient {}: cumulative {:?} {} {} over {} days ({}) reaches {}",
                    c.patient_id,
                    c.quantity,
                    c.total,
                    c.unit,
                    c.window_days,
                    c.procedure_ids,
                    c.levels_reached
                ),
                json: serde_json::to_string(c).unwrap_or_default(),
            });
        }
        Ok(alerts)
    }
}

fn unavailable(e: RegistryError) -> StoreError {
    match e {
        RegistryError::Database { .. } | RegistryError::Full { .. } => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Refused(other.to_string()),
    }
}

impl ObjectStore for RegistryStore {
    fn store_batch(&self, objects: &[ReceivedObject]) -> Result<StoreOutcome, StoreError> {
        let mut registry = self
            .registry
            .lock()
            .map_err(|_| StoreError::Unavailable("the registry's lock is poisoned".into()))?;
        let batch = objects
            .iter()
            .map(|o| (o.label.clone(), o.bytes.clone()))
            .collect();
        let summary = registry.ingest_objects(batch).map_err(unavailable)?;
        Ok(StoreOutcome {
            alerts: Vec::new(),
            spooled: false,
            changed: summary.changed_procedures,
        })
    }

    fn alerts(&self, changed: &[String]) -> Vec<Alert> {
        if changed.is_empty() {
            return Vec::new();
        }
        // The objects are durable already: an alert that cannot be evaluated is told as an
        // alert, never as a failed store.
        self.evaluate(changed).unwrap_or_else(|e| {
            vec![Alert {
                summary: format!("alerts not evaluated: {e}"),
                json: serde_json::json!({ "error": e }).to_string(),
            }]
        })
    }
}

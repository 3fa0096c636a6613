//! The registry as the receiver's store: each batch of received objects is one registry
//! transaction, and the trigger levels that the procedures it changed reach (alone, or in
//! their patients' cumulative sums over everything stored) come back as alerts.

use std::sync::Mutex;

use super::store::{Alert, ObjectStore, ReceivedObject, StoreError, StoreOutcome};
use crate::reference::{Survey, SurveyConfig};
use crate::registry::{Registry, RegistryError};

/// A [`Registry`] behind the [`ObjectStore`] interface.
///
/// A database that cannot be reached or written (a lost server, a full disk, a lock held
/// too long) is [`StoreError::Unavailable`], so that a [`Fallback`](super::Fallback) spools
/// the batch; anything else is [`StoreError::Refused`].
#[derive(Debug)]
pub struct RegistryStore {
    registry: Mutex<Registry>,
    survey: SurveyConfig,
}

impl RegistryStore {
    /// Stores into `registry`, and evaluates arrivals with `survey` (its trigger tables,
    /// jurisdiction and cumulative window).
    pub fn new(registry: Registry, survey: SurveyConfig) -> RegistryStore {
        RegistryStore {
            registry: Mutex::new(registry),
            survey,
        }
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
        // The objects are durable from here on: an alert that cannot be evaluated is told
        // as an alert, never as a failed store.
        let alerts = match Survey::new(self.survey.clone()) {
            Err(e) => vec![Alert {
                summary: format!("alerts not evaluated: {e}"),
                json: format!("{{\"error\": {:?}}}", e.to_string()),
            }],
            Ok(survey) => match registry.survey(&summary.changed_procedures, survey) {
                Err(e) => vec![Alert {
                    summary: format!("alerts not evaluated: {e}"),
                    json: format!("{{\"error\": {:?}}}", e.to_string()),
                }],
                Ok(report) => {
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
                    alerts
                }
            },
        };
        Ok(StoreOutcome {
            alerts,
            spooled: false,
        })
    }
}

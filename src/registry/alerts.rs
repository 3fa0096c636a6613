//! Alerts kept in the registry: each trigger level a survey found reached, with the time it
//! was raised, so that "what was raised since Monday" is a query, not a new survey.

use super::db::{Db, Val};
use super::record::record;
use super::{RegistryError, time};
use crate::reference::SurveyReport;

/// An alert as the registry keeps it (a row of `alerts`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoredAlert {
    /// When it was recorded (UTC, ISO 8601).
    pub raised_at: String,
    /// `procedure` (one procedure reached a level) or `patient_cumulative` (a patient's sum
    /// over the rolling window did).
    pub kind: String,
    /// The procedure's registry key (for a procedure alert).
    pub procedure_key: Option<String>,
    /// The patient.
    pub patient_id: Option<String>,
    /// The quantity (`pka`, `ka_r`, `fluoro_time`, `images`).
    pub quantity: String,
    /// Unit of `value` and `level`.
    pub unit: String,
    /// The procedure's value, or the patient's sum.
    pub value: f64,
    /// The trigger level reached (for a procedure alert).
    pub level: Option<f64>,
    /// The alert as the survey gives it, as JSON (the `alerts.csv` row, or the cumulative one).
    pub detail: String,
}

/// Columns of `alerts`, in the order of the rows written.
pub(crate) const ALERT_COLUMNS: &[&str] = &[
    "raised_at",
    "kind",
    "procedure_key",
    "patient_id",
    "quantity",
    "unit",
    "value",
    "level",
    "detail",
];

/// The rows of the alerts in `report`: its procedures' alerts and the patients' cumulative
/// sums that reach a level. Procedure ids are registry keys (as [`Registry::survey`] gives).
///
/// [`Registry::survey`]: super::Registry::survey
fn rows(report: &SurveyReport, now: &str) -> Vec<Vec<Val>> {
    let mut out = Vec::new();
    for a in &report.alerts.procedures {
        let text = |f: &str| record(a, &[f]).pop().unwrap_or(Val::Null);
        out.push(vec![
            Val::from(now),
            Val::from("procedure"),
            Val::from(a.procedure_id.as_str()),
            Val::from(a.patient_id.clone()),
            text("quantity"),
            Val::from(a.unit),
            Val::Real(a.value),
            Val::Real(a.level),
            Val::from(serde_json::to_string(a).ok()),
        ]);
    }
    for c in (report.alerts.patient_cumulative.iter()).filter(|c| !c.levels_reached.is_empty()) {
        out.push(vec![
            Val::from(now),
            Val::from("patient_cumulative"),
            Val::Null,
            Val::from(c.patient_id.as_str()),
            record(c, &["quantity"]).pop().unwrap_or(Val::Null),
            Val::from(c.unit),
            Val::Real(c.total),
            Val::Null,
            Val::from(serde_json::to_string(c).ok()),
        ]);
    }
    out
}

/// Records the alerts of `report` in one transaction; returns how many.
pub(super) fn record_alerts(
    db: &mut dyn Db,
    report: &SurveyReport,
) -> Result<usize, RegistryError> {
    let rows = rows(report, &time::now());
    let n = rows.len();
    if n == 0 {
        return Ok(0);
    }
    let mut rows = Some(rows);
    db.write(&mut |tx| tx.insert("alerts", ALERT_COLUMNS, rows.take().unwrap_or_default()))?;
    Ok(n)
}

/// The alerts recorded at or after `since` (ISO 8601 UTC; every alert when `None`), oldest
/// first.
pub(super) fn alerts_since(
    db: &mut dyn Db,
    since: Option<&str>,
) -> Result<Vec<StoredAlert>, RegistryError> {
    let (clause, params) = match since {
        Some(t) => (" WHERE raised_at >= ?1", vec![Val::from(t)]),
        None => ("", Vec::new()),
    };
    let sql = format!(
        "SELECT {} FROM alerts{clause} ORDER BY raised_at, procedure_key, patient_id",
        ALERT_COLUMNS.join(", ")
    );
    let target = db.target().to_owned();
    let mut out = Vec::new();
    db.read(&mut |tx| {
        tx.query(&sql, &params, &mut |r| {
            let mut it = r.into_iter();
            let mut text = || it.next().and_then(Val::into_text);
            let (raised_at, kind, procedure_key, patient_id, quantity, unit) =
                (text(), text(), text(), text(), text(), text());
            let value = it.next().and_then(|v| v.real());
            let level = it.next().and_then(|v| v.real());
            let detail = it.next().and_then(Val::into_text);
            let Some(value) = value else {
                return Err(RegistryError::Corrupt {
                    target: target.clone(),
                    what: "alert".into(),
                    message: "no value".into(),
                });
            };
            out.push(StoredAlert {
                raised_at: raised_at.unwrap_or_default(),
                kind: kind.unwrap_or_default(),
                procedure_key,
                patient_id,
                quantity: quantity.unwrap_or_default(),
                unit: unit.unwrap_or_default(),
                value,
                level,
                detail: detail.unwrap_or_default(),
            });
            Ok(())
        })
    })?;
    Ok(out)
}

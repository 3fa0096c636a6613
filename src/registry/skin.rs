//! Skin doses kept in the registry: per stored procedure with dose-report events, the peak
//! skin dose that [`crate::skin::estimate`] gives from its stored files, with its method,
//! bound, reason and settings, tied to the version of the procedure it was computed from.
//!
//! A procedure that changes (a new file joins it) loses its stored estimate with its old row
//! (the foreign key cascades), so a stored PSD is never one of an earlier version.

use std::collections::HashMap;

use super::db::{Db, Tx, Val};
use super::ingest::{IN_CHUNK, placeholders};
use super::query::{self, ReportFilter};
use super::{RegistryError, par_map, time};
use crate::extract::Extractor;
use crate::skin::{Method, Settings, SkinDose, SkinInput, SkinInputs};

/// A stored skin-dose estimate (a row of `skin_doses`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoredSkinDose {
    /// The procedure's registry key.
    pub procedure_key: String,
    /// When it was computed (UTC, ISO 8601).
    pub computed_at: String,
    /// Peak skin dose, mGy: the map's maximum (`method` `map`) or the conservative bound
    /// (`upper_bound`); `None` when no event has a K_a,r.
    pub psd_mgy: Option<f64>,
    /// `map` or `upper_bound`.
    pub method: String,
    /// The conservative bound, mGy.
    pub upper_bound_mgy: Option<f64>,
    /// Why there is no map.
    pub reason: Option<String>,
    /// Where the settings came from (kerma's defaults, or the settings file).
    pub settings: String,
    /// The whole estimate as JSON (the `skin` object of the report's JSON, without the map).
    pub detail: String,
}

/// Columns of `skin_doses`, in the order of the rows written.
const COLUMNS: &[&str] = &[
    "procedure_key",
    "procedure_updated_at",
    "computed_at",
    "psd_mgy",
    "method",
    "upper_bound_mgy",
    "phantom",
    "region",
    "area_above_2gy_cm2",
    "area_above_5gy_cm2",
    "events_used",
    "reason",
    "settings",
    "detail",
];

/// The table, created by schema version 2.
pub(crate) fn create_table() -> String {
    "CREATE TABLE skin_doses (
    procedure_key TEXT PRIMARY KEY REFERENCES procedures (procedure_key) ON DELETE CASCADE,
    procedure_updated_at TEXT NOT NULL,
    computed_at TEXT NOT NULL,
    psd_mgy DOUBLE PRECISION,
    method TEXT NOT NULL,
    upper_bound_mgy DOUBLE PRECISION,
    phantom TEXT,
    region TEXT,
    area_above_2gy_cm2 DOUBLE PRECISION,
    area_above_5gy_cm2 DOUBLE PRECISION,
    events_used BIGINT NOT NULL,
    reason TEXT,
    settings TEXT NOT NULL,
    detail TEXT NOT NULL
)"
    .into()
}

/// `updated_at` of each of the procedures with `keys` that exist.
fn versions(tx: &mut dyn Tx, keys: &[String]) -> Result<HashMap<String, String>, RegistryError> {
    let mut out = HashMap::new();
    for chunk in keys.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT procedure_key, updated_at FROM procedures WHERE procedure_key IN ({})",
            placeholders(chunk.len())
        );
        let params: Vec<Val> = chunk.iter().map(|k| Val::from(k.as_str())).collect();
        tx.query(&sql, &params, &mut |mut r| {
            let at = r.pop().and_then(Val::into_text);
            let key = r.pop().and_then(Val::into_text);
            if let (Some(k), Some(at)) = (key, at) {
                out.insert(k, at);
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn row(key: &str, version: &str, now: &str, s: &SkinDose) -> Vec<Val> {
    vec![
        Val::from(key),
        Val::from(version),
        Val::from(now),
        Val::from(s.psd_mgy),
        Val::from(s.method.as_str()),
        Val::from(s.upper_bound_mgy),
        Val::from(s.phantom.map(|p| p.model.as_str())),
        Val::from(s.location.as_ref().map(|l| l.region.clone())),
        Val::from(s.area_above_2gy_cm2),
        Val::from(s.area_above_5gy_cm2),
        Val::from(s.events_used),
        Val::from(s.reason.clone()),
        Val::from(s.settings.as_str()),
        Val::from(serde_json::to_string(s).ok()),
    ]
}

/// A procedure's skin input, as the version of the procedure that `version` (its
/// `updated_at`) names has it.
#[derive(Debug, Clone)]
pub(super) struct SkinWork {
    key: String,
    version: String,
    input: SkinInput,
}

impl SkinWork {
    pub(super) fn new(key: String, version: String, input: SkinInput) -> SkinWork {
        SkinWork {
            key,
            version,
            input,
        }
    }
}

/// The estimates of `work`, ordered by key.
pub(super) fn estimate_work(work: Vec<SkinWork>, settings: &Settings) -> Vec<Estimated> {
    let mut done: Vec<Estimated> = par_map(work, |w| {
        let mut skin = crate::skin::estimate(&w.input, settings);
        skin.map = None;
        Estimated {
            key: w.key,
            version: w.version,
            skin,
        }
    });
    done.sort_by(|a, b| a.key.cmp(&b.key));
    done
}

/// A procedure's skin dose, computed from the version of the procedure that `version` (its
/// `updated_at`) names.
pub(super) struct Estimated {
    key: String,
    version: String,
    skin: SkinDose,
}

/// Estimates and stores the skin dose of the procedures with `keys`, a transaction per
/// [`IN_CHUNK`] procedures; see [`Registry::estimate_skin`](super::Registry::estimate_skin).
pub(super) fn estimate(
    db: &mut dyn Db,
    extractor: &Extractor,
    keys: &[String],
    settings: &Settings,
) -> Result<Vec<(String, SkinDose)>, RegistryError> {
    let mut out = Vec::new();
    for chunk in keys.chunks(IN_CHUNK) {
        let done = compute(db, extractor, chunk, settings)?;
        let now = time::now();
        let mut stored = Vec::new();
        db.write(&mut |tx| {
            stored = store(tx, &done, &now)?;
            Ok(())
        })?;
        out.extend(
            done.into_iter()
                .filter(|e| stored.binary_search(&e.key).is_ok())
                .map(|e| (e.key, e.skin)),
        );
    }
    Ok(out)
}

/// The keys of the stored procedures with dose-report events and no stored skin dose: those
/// never estimated, and those changed since their estimate.
pub(super) fn missing(db: &mut dyn Db) -> Result<Vec<String>, RegistryError> {
    let mut out = Vec::new();
    db.read(&mut |tx| {
        out.clear();
        tx.query(
            "SELECT p.procedure_key FROM procedures p \
             WHERE p.source IN ('rdsr_total', 'rdsr_event_sum') AND p.events > 0 \
             AND NOT EXISTS (SELECT 1 FROM skin_doses s WHERE s.procedure_key = p.procedure_key) \
             ORDER BY p.procedure_key",
            &[],
            &mut |mut r| {
                if let Some(k) = r.pop().and_then(Val::into_text) {
                    out.push(k);
                }
                Ok(())
            },
        )
    })?;
    Ok(out)
}

/// The skin dose of each procedure with `keys` that has dose-report events, from its stored
/// files, ordered by key; nothing is written.
fn compute(
    db: &mut dyn Db,
    extractor: &Extractor,
    keys: &[String],
    settings: &Settings,
) -> Result<Vec<Estimated>, RegistryError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // The versions first: a procedure that changes after this point keeps no estimate made
    // from what is read next (its row's `updated_at` will differ when it is stored).
    let mut versions_read = HashMap::new();
    db.read(&mut |tx| {
        versions_read = versions(tx, keys)?;
        Ok(())
    })?;
    let report = query::report(
        db,
        extractor,
        &ReportFilter::default().procedures(keys.to_vec()),
    )?;
    let mut inputs = SkinInputs::default();
    query::each_file(db, extractor, &report.set, &mut |account, result| {
        if let Some(Ok(x)) = result {
            inputs.add(&account.label, &x);
        }
    })?;
    let work: Vec<SkinWork> = (report.set.procedures.iter())
        .filter_map(|p| {
            let key = report.keys.get(&p.id)?;
            let version = versions_read.get(key)?;
            Some(SkinWork::new(
                key.clone(),
                version.clone(),
                inputs.procedure(p)?,
            ))
        })
        .collect();
    Ok(estimate_work(work, settings))
}

/// Stores `done` (replacing earlier estimates) in the transaction `tx`, each only if its
/// procedure is still the version it was computed from; returns the keys stored, sorted.
pub(super) fn store(
    tx: &mut dyn Tx,
    done: &[Estimated],
    now: &str,
) -> Result<Vec<String>, RegistryError> {
    let keys: Vec<String> = done.iter().map(|e| e.key.clone()).collect();
    let current = versions(tx, &keys)?;
    let mut rows = Vec::new();
    let mut stored = Vec::new();
    for e in done {
        if current.get(&e.key) != Some(&e.version) {
            continue;
        }
        tx.exec(
            "DELETE FROM skin_doses WHERE procedure_key = ?1",
            &[Val::from(e.key.as_str())],
        )?;
        rows.push(row(&e.key, &e.version, now, &e.skin));
        stored.push(e.key.clone());
    }
    tx.insert("skin_doses", COLUMNS, rows)?;
    stored.sort();
    Ok(stored)
}

/// The stored estimates of the procedures with `keys` (all when empty), by key.
pub(super) fn stored(
    db: &mut dyn Db,
    keys: &[String],
) -> Result<Vec<StoredSkinDose>, RegistryError> {
    let select = "SELECT procedure_key, computed_at, psd_mgy, method, upper_bound_mgy, reason, \
                  settings, detail FROM skin_doses";
    let mut out = Vec::new();
    let read = |tx: &mut dyn Tx, sql: &str, params: &[Val], out: &mut Vec<StoredSkinDose>| {
        tx.query(sql, params, &mut |r| {
            let mut it = r.into_iter();
            let mut text = || it.next().and_then(Val::into_text);
            let (procedure_key, computed_at) = (text(), text());
            let psd_mgy = it.next().and_then(|v| v.real());
            let method = it.next().and_then(Val::into_text);
            let upper_bound_mgy = it.next().and_then(|v| v.real());
            let mut text = || it.next().and_then(Val::into_text);
            let (reason, settings, detail) = (text(), text(), text());
            out.push(StoredSkinDose {
                procedure_key: procedure_key.unwrap_or_default(),
                computed_at: computed_at.unwrap_or_default(),
                psd_mgy,
                method: method.unwrap_or_default(),
                upper_bound_mgy,
                reason,
                settings: settings.unwrap_or_default(),
                detail: detail.unwrap_or_default(),
            });
            Ok(())
        })
    };
    db.read(&mut |tx| {
        out.clear();
        if keys.is_empty() {
            return read(
                tx,
                &format!("{select} ORDER BY procedure_key"),
                &[],
                &mut out,
            );
        }
        for chunk in keys.chunks(IN_CHUNK) {
            let sql = format!(
                "{select} WHERE procedure_key IN ({}) ORDER BY procedure_key",
                placeholders(chunk.len())
            );
            let params: Vec<Val> = chunk.iter().map(|k| Val::from(k.as_str())).collect();
            read(tx, &sql, &params, &mut out)?;
        }
        Ok(())
    })?;
    Ok(out)
}

/// Whether a stored estimate is the bound rather than a map's maximum.
pub(super) fn is_bound(s: &StoredSkinDose) -> bool {
    s.method != Method::Map.as_str()
}

//! Trigger-level alerts: every level reached by each procedure, and for each DRL group the
//! proportion of its sample at or above each level.
//!
//! A procedure reaches a trigger level when its value is greater than or equal to the level.

use serde::Serialize;

use super::config::SurveyConfig;
use super::cumulative::PatientCumulativeRow;
use super::drl::{GroupKey, GroupScope, Sample};
use super::mapping::Classification;
use super::quantity::DrlQuantity;
use super::record::SurveyRecord;
use super::tables::TriggerLevel;

/// One trigger level reached by one procedure (`value >= level`), in the `alerts` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AlertRow {
    /// The procedure.
    pub procedure_id: String,
    /// Its patient.
    pub patient_id: Option<String>,
    /// Its room.
    pub room: String,
    /// Its date (DA).
    pub date: Option<String>,
    /// Its assigned procedure type.
    pub procedure_code: Option<String>,
    /// The quantity (`pka`, `ka_r`, `fluoro_time`, `images`).
    pub quantity: DrlQuantity,
    /// Unit of `value` and `level`.
    pub unit: &'static str,
    /// The procedure's value.
    pub value: f64,
    /// The trigger level.
    pub level: f64,
    /// The procedure type the level is for; empty for every procedure.
    pub level_procedure_code: Option<String>,
    /// Source of the level.
    pub source_id: String,
    /// Jurisdiction of the level.
    pub jurisdiction: String,
    /// The action the source attaches to the level.
    pub action: String,
    /// Whether the procedure's totals are complete (an incomplete total is a lower bound).
    pub complete: bool,
    /// Whether the procedure's K_a,r refers to the standard reference point.
    pub ka_r_comparable: bool,
}

/// For one group and one trigger level: how many procedures of the DRL sample reach it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TriggerProportionRow {
    /// Procedure type.
    pub procedure_code: String,
    /// `room` or `all_rooms`.
    pub scope: GroupScope,
    /// The room; empty for `all_rooms`.
    pub room: Option<String>,
    /// The calendar year surveyed, if one was selected.
    pub year: Option<i32>,
    /// The quantity.
    pub quantity: DrlQuantity,
    /// Unit of `level`.
    pub unit: &'static str,
    /// The trigger level.
    pub level: f64,
    /// The procedure type the level is for; empty for every procedure.
    pub level_procedure_code: Option<String>,
    /// Source of the level.
    pub source_id: String,
    /// Procedures in the sample (the `n` of the matching [`DrlRow`](super::DrlRow)).
    pub n: usize,
    /// Procedures whose value is at or above the level.
    pub n_at_or_above: usize,
    /// `n_at_or_above / n`; empty when `n` is 0.
    pub proportion: Option<f64>,
    /// The procedures at or above the level, separated by `;`.
    pub procedure_ids: String,
}

/// The `alerts` section of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AlertReport {
    /// Every trigger level reached by every procedure (all procedures added, whatever the
    /// DRL filters).
    pub procedures: Vec<AlertRow>,
    /// Per group and trigger level, the proportion of the DRL sample at or above it.
    pub proportions: Vec<TriggerProportionRow>,
    /// Per patient, the largest rolling-window sums of P_KA and K_a,r.
    pub patient_cumulative: Vec<PatientCumulativeRow>,
    /// Window length of the sums, in days.
    pub cumulative_window_days: u64,
    /// Where the default window comes from.
    pub cumulative_window_basis: &'static str,
    /// Why a K_a,r sum is not a skin dose ([`KA_R_SUM_CAVEAT`](super::KA_R_SUM_CAVEAT)).
    pub ka_r_caveat: &'static str,
    /// Trigger levels that kerma cannot evaluate, and why.
    pub not_evaluated: Vec<String>,
}

/// The trigger levels a survey evaluates: those of `trigger_sources`, or every loaded level,
/// in load order.
pub(super) fn selected_triggers(cfg: &SurveyConfig) -> Vec<&TriggerLevel> {
    cfg.tables
        .trigger_levels()
        .iter()
        .filter(|t| {
            cfg.trigger_sources
                .as_ref()
                .is_none_or(|s| s.contains(&t.source_id))
        })
        .collect()
}

/// Whether `t` applies to a procedure typed as `class`: a level for every procedure always
/// does; a level for one procedure type does when any matching rule gives that type.
fn applies_to(t: &TriggerLevel, class: &Classification) -> bool {
    t.procedure_code
        .as_ref()
        .is_none_or(|c| class.matched_codes.contains(c))
}

/// Every trigger level reached by every procedure: procedure by procedure, levels in the
/// order of `triggers`.
pub(super) fn procedure_alerts<'a>(
    procedures: impl IntoIterator<Item = (&'a SurveyRecord, &'a Classification)>,
    triggers: &[&TriggerLevel],
) -> Vec<AlertRow> {
    let mut out = Vec::new();
    for (r, class) in procedures {
        for t in triggers.iter().filter(|t| applies_to(t, class)) {
            let q = t.value.quantity();
            let level = t.value.in_report_unit();
            let Some(value) = r.value(q) else { continue };
            if value >= level {
                out.push(AlertRow {
                    procedure_id: r.procedure_id.clone(),
                    patient_id: r.patient_id.clone(),
                    room: r.room.clone(),
                    date: r.date.clone(),
                    procedure_code: class.procedure_code.clone(),
                    quantity: q,
                    unit: q.report_unit(),
                    value,
                    level,
                    level_procedure_code: t.procedure_code.clone(),
                    source_id: t.source_id.clone(),
                    jurisdiction: t.jurisdiction.clone(),
                    action: t.action.clone(),
                    complete: r.complete,
                    ka_r_comparable: r.ka_r_comparable,
                });
            }
        }
    }
    out
}

/// For one group's sample of `q`: one row per trigger level of `q` that applies to the
/// group's procedure type (a level for every procedure, or for that type), in the order of
/// `triggers`.
pub(super) fn proportion_rows(
    year: Option<i32>,
    group: &GroupKey,
    q: DrlQuantity,
    sample: &Sample<'_>,
    triggers: &[&TriggerLevel],
) -> Vec<TriggerProportionRow> {
    let code = &group.procedure_code;
    triggers
        .iter()
        .filter(|t| t.value.quantity() == q && t.procedure_code.as_ref().is_none_or(|c| c == code))
        .map(|t| {
            let level = t.value.in_report_unit();
            let at: Vec<&str> = sample
                .values
                .iter()
                .filter(|s| s.0 >= level)
                .map(|s| s.1)
                .collect();
            let n = sample.values.len();
            TriggerProportionRow {
                procedure_code: code.clone(),
                scope: group.scope(),
                room: group.room(),
                year,
                quantity: q,
                unit: q.report_unit(),
                level,
                level_procedure_code: t.procedure_code.clone(),
                source_id: t.source_id.clone(),
                n,
                n_at_or_above: at.len(),
                proportion: (n > 0).then(|| at.len() as f64 / n as f64),
                procedure_ids: at.join(";"),
            }
        })
        .collect()
}

/// The trigger levels kerma cannot evaluate (peak skin dose), each with the reason.
pub(super) fn not_evaluated(triggers: &[&TriggerLevel]) -> Vec<String> {
    triggers
        .iter()
        .filter(|t| t.value.quantity() == DrlQuantity::PeakSkinDose)
        .map(|t| {
            format!(
                "{} ({}, {} {}): kerma does not compute peak skin dose",
                t.source_id,
                t.value.quantity(),
                t.value.in_report_unit(),
                t.value.quantity().report_unit()
            )
        })
        .collect()
}

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
    /// Its room (key).
    pub room: String,
    /// Its room's name.
    pub room_name: String,
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
    /// Whether the procedure's K_a,r refers to the interventional reference point (always
    /// true for a `ka_r` alert: a K_a,r at another point raises none, see
    /// [`AlertReport::notes`]).
    pub ka_r_comparable: bool,
    /// For a `peak_skin_dose` alert: whether the value is the conservative upper bound
    /// (every field on the same skin) rather than a dose map's maximum.
    pub value_is_upper_bound: bool,
}

/// For one group and one trigger level: how many procedures of the DRL sample reach it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TriggerProportionRow {
    /// Procedure type.
    pub procedure_code: String,
    /// `room` or `all_rooms`.
    pub scope: GroupScope,
    /// The room (key); empty for `all_rooms`.
    pub room: Option<String>,
    /// The room's name; empty for `all_rooms`.
    pub room_name: Option<String>,
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
    /// Why a K_a,r sum is not a skin dose (the same sentence on every row).
    pub ka_r_caveat: &'static str,
    /// Trigger levels that kerma cannot evaluate, and why.
    pub not_evaluated: Vec<String>,
    /// What was not raised or not summed, and why: a K_a,r at or above a level but not at
    /// the interventional reference point (no alert), and per patient the procedures left
    /// out of the cumulative sums (a possible re-anonymised copy of a procedure already
    /// counted; a K_a,r not at the interventional reference point).
    pub notes: Vec<String>,
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
/// order of `triggers`; and a note for each K_a,r level reached by a K_a,r that is not at
/// the interventional reference point, which raises no alert.
pub(super) fn procedure_alerts<'a>(
    procedures: impl IntoIterator<Item = (&'a SurveyRecord, &'a Classification)>,
    triggers: &[&TriggerLevel],
) -> (Vec<AlertRow>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for (r, class) in procedures {
        for t in triggers.iter().filter(|t| applies_to(t, class)) {
            let q = t.value.quantity();
            let level = t.value.in_report_unit();
            let Some(value) = r.value(q) else { continue };
            if value >= level && q == DrlQuantity::KaR && !r.ka_r_comparable {
                notes.push(format!(
                    "{}: K_a,r {value:.1} {unit} reaches {} ({level} {unit}) but is not at the interventional reference point (IEC 60601-2-43): no alert",
                    r.procedure_id,
                    t.source_id,
                    unit = q.report_unit(),
                ));
            } else if value >= level {
                out.push(AlertRow {
                    procedure_id: r.procedure_id.clone(),
                    patient_id: r.patient_id.clone(),
                    room: r.room.clone(),
                    room_name: r.shown_room_name(),
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
                    value_is_upper_bound: q == DrlQuantity::PeakSkinDose
                        && r.peak_skin_dose_is_bound,
                });
            }
        }
    }
    (out, notes)
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
                room_name: None,
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

/// The trigger levels kerma cannot evaluate, each with the reason: peak skin dose when no
/// procedure has one (`psd_known` false: the caller ran no skin-dose estimate).
pub(super) fn not_evaluated(triggers: &[&TriggerLevel], psd_known: bool) -> Vec<String> {
    if psd_known {
        return Vec::new();
    }
    triggers
        .iter()
        .filter(|t| t.value.quantity() == DrlQuantity::PeakSkinDose)
        .map(|t| {
            format!(
                "{} ({}, {} {}): no procedure has a peak skin dose (kerma::skin was not run)",
                t.source_id,
                t.value.quantity(),
                t.value.in_report_unit(),
                t.value.quantity().report_unit()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::drl::Place;
    use crate::reference::mapping::MatchStatus;
    use crate::reference::tables::ReferenceTables;
    use crate::units::{AirKerma, Dap};

    const TRIGGERS: &str = "source_id,jurisdiction,year,procedure_code,quantity,unit,value,action\n\
        T_ALL,XX,2020,,pka,Gy.cm2,500,review\n\
        T_X,XX,2020,proc_x,pka,Gy.cm2,100,check\n\
        T_KAR,XX,2020,,ka_r,Gy,2,skin check\n\
        T_PSD,YY,2021,,peak_skin_dose,Gy,3,follow-up\n";

    fn config() -> SurveyConfig {
        let mut tables = ReferenceTables::default();
        tables
            .load_trigger_csv("test-triggers.csv", TRIGGERS.as_bytes())
            .unwrap();
        SurveyConfig {
            tables,
            ..SurveyConfig::default()
        }
    }

    fn record(id: &str, dap_gy_cm2: f64) -> SurveyRecord {
        SurveyRecord {
            procedure_id: id.to_string(),
            patient_id: Some(format!("pat-{id}")),
            room: "r".to_string(),
            date: Some("20240102".to_string()),
            dap: Some(Dap::try_from_gy_cm2(dap_gy_cm2).unwrap()),
            complete: true,
            ka_r_comparable: true,
            ..SurveyRecord::default()
        }
    }

    fn class(codes: &[&str]) -> Classification {
        Classification {
            status: match codes.len() {
                0 => MatchStatus::Unmatched,
                1 => MatchStatus::Matched,
                _ => MatchStatus::MultipleResolved,
            },
            procedure_code: codes.first().map(|c| c.to_string()),
            matched_codes: codes.iter().map(|c| c.to_string()).collect(),
            rules: Vec::new(),
        }
    }

    fn sources(rows: &[AlertRow]) -> Vec<(&str, &str)> {
        rows.iter()
            .map(|a| (a.procedure_id.as_str(), a.source_id.as_str()))
            .collect()
    }

    #[test]
    fn a_value_at_the_level_reaches_it_and_just_below_does_not() {
        let cfg = config();
        let triggers = selected_triggers(&cfg);
        let at = record("at", 500.0);
        let below = record("below", 499.99);
        let mut kar = record("kar", 1.0);
        kar.ka_r = Some(AirKerma::try_from_gy(2.0).unwrap());
        kar.complete = false;
        let none = class(&[]);
        let (alerts, notes) =
            procedure_alerts([(&at, &none), (&below, &none), (&kar, &none)], &triggers);
        assert!(notes.is_empty());
        assert_eq!(sources(&alerts), [("at", "T_ALL"), ("kar", "T_KAR")]);
        let a = &alerts[0];
        assert_eq!((a.value, a.level, a.unit), (500.0, 500.0, "Gy.cm2"));
        assert_eq!(
            (a.quantity, a.action.as_str()),
            (DrlQuantity::Pka, "review")
        );
        assert_eq!(
            (a.jurisdiction.as_str(), a.level_procedure_code.as_ref()),
            ("XX", None)
        );
        assert_eq!(a.patient_id.as_deref(), Some("pat-at"));
        // 2 Gy in mGy; an incomplete total is reported with its flag
        let k = &alerts[1];
        assert_eq!((k.value, k.level, k.unit), (2000.0, 2000.0, "mGy"));
        assert!(!k.complete && k.ka_r_comparable);
    }

    #[test]
    fn a_procedure_specific_level_applies_to_any_matched_type() {
        let cfg = config();
        let triggers = selected_triggers(&cfg);
        let p = record("p", 150.0);
        // T_X (proc_x, 100 Gy·cm²) applies when proc_x is the type or another match,
        // not when the procedure is of another type or untyped
        for (codes, expected) in [
            (&["proc_x"][..], vec![("p", "T_X")]),
            (&["proc_y", "proc_x"][..], vec![("p", "T_X")]),
            (&["proc_y"][..], vec![]),
            (&[][..], vec![]),
        ] {
            let c = class(codes);
            let (alerts, _) = procedure_alerts([(&p, &c)], &triggers);
            assert_eq!(sources(&alerts), expected, "{codes:?}");
            if let Some(a) = alerts.first() {
                assert_eq!(a.procedure_code.as_deref(), codes.first().copied());
                assert_eq!(a.level_procedure_code.as_deref(), Some("proc_x"));
            }
        }
    }

    #[test]
    fn a_k_a_r_not_at_the_reference_point_raises_no_alert_but_a_note() {
        let cfg = config();
        let triggers = selected_triggers(&cfg);
        let mut p = record("p", 600.0);
        p.ka_r = Some(AirKerma::try_from_mgy(2500.04).unwrap());
        p.ka_r_comparable = false;
        let none = class(&[]);
        let (alerts, notes) = procedure_alerts([(&p, &none)], &triggers);
        // P_KA still alerts; K_a,r does not
        assert_eq!(sources(&alerts), [("p", "T_ALL")]);
        assert!(!alerts[0].ka_r_comparable);
        assert_eq!(
            notes,
            [
                "p: K_a,r 2500.0 mGy reaches T_KAR (2000 mGy) but is not at the interventional reference point (IEC 60601-2-43): no alert"
            ]
        );
        // below the level: no note
        p.ka_r = Some(AirKerma::try_from_mgy(1999.0).unwrap());
        let (_, notes) = procedure_alerts([(&p, &none)], &triggers);
        assert!(notes.is_empty());
    }

    #[test]
    fn proportions_count_the_sample_at_or_above_each_level() {
        let cfg = config();
        let triggers = selected_triggers(&cfg);
        let records = [
            record("a", 100.0),
            record("b", 99.99),
            record("c", 250.0),
            record("d", 600.0),
        ];
        let members: Vec<&SurveyRecord> = records.iter().collect();
        let sample = Sample::collect(&members, DrlQuantity::Pka);
        let group = GroupKey {
            procedure_code: "proc_x".to_string(),
            place: Place::Room("r".to_string()),
        };
        let rows = proportion_rows(Some(2024), &group, DrlQuantity::Pka, &sample, &triggers);
        let got: Vec<(&str, usize, usize, Option<f64>, &str)> = rows
            .iter()
            .map(|r| {
                let (s, ids) = (r.source_id.as_str(), r.procedure_ids.as_str());
                (s, r.n, r.n_at_or_above, r.proportion, ids)
            })
            .collect();
        // T_ALL 500: d; T_X 100: a (at the level), c, d; K_a,r and skin dose levels are
        // other quantities
        assert_eq!(
            got,
            [
                ("T_ALL", 4, 1, Some(0.25), "d"),
                ("T_X", 4, 3, Some(0.75), "a;c;d"),
            ]
        );
        assert_eq!(
            (rows[0].scope, rows[0].room.as_deref(), rows[0].year),
            (GroupScope::Room, Some("r"), Some(2024))
        );
        assert_eq!(
            (rows[1].level, rows[1].level_procedure_code.as_deref()),
            (100.0, Some("proc_x"))
        );

        // another procedure type: only the level for every procedure; an empty sample has
        // no proportion
        let other = GroupKey {
            procedure_code: "proc_y".to_string(),
            place: Place::AllRooms,
        };
        let rows = proportion_rows(
            None,
            &other,
            DrlQuantity::Pka,
            &Sample::default(),
            &triggers,
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].source_id.as_str(), rows[0].n, rows[0].proportion),
            ("T_ALL", 0, None)
        );
        assert_eq!(rows[0].procedure_ids, "");
    }

    #[test]
    fn trigger_sources_select_levels_and_skin_dose_is_listed_as_not_evaluated() {
        let mut cfg = config();
        let all: Vec<&str> = selected_triggers(&cfg)
            .iter()
            .map(|t| t.source_id.as_str())
            .collect();
        assert_eq!(all, ["T_ALL", "T_X", "T_KAR", "T_PSD"]);
        assert_eq!(
            not_evaluated(&selected_triggers(&cfg), false),
            [
                "T_PSD (peak_skin_dose, 3000 mGy): no procedure has a peak skin dose (kerma::skin was not run)"
            ]
        );
        cfg.trigger_sources = Some(vec!["T_KAR".to_string(), "T_X".to_string()]);
        let some: Vec<&str> = selected_triggers(&cfg)
            .iter()
            .map(|t| t.source_id.as_str())
            .collect();
        assert_eq!(some, ["T_X", "T_KAR"]);
        assert!(not_evaluated(&selected_triggers(&cfg), false).is_empty());
    }
}

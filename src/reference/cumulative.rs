//! Per-patient cumulative sums: for each patient and for P_KA and K_a,r, the rolling window
//! of procedures with the largest sum, and the trigger levels that sum reaches.

use std::collections::BTreeMap;

use serde::Serialize;

use super::date::{Day, parse_da};
use super::quantity::DrlQuantity;
use super::record::SurveyRecord;
use super::tables::TriggerLevel;

/// Why the per-patient K_a,r sum is only an indicator.
pub(crate) const KA_R_SUM_CAVEAT: &str = "a sum of K_a,r over procedures (and over planes) overestimates peak skin dose when the irradiated skin fields differ; it is an upper-bound indicator, not a skin dose";

/// For one patient and one quantity (`pka` or `ka_r`): the rolling window with the largest
/// sum, when it holds at least two procedures.
///
/// Only trigger levels that apply to every procedure (empty `procedure_code`) are applied
/// to sums; procedure-specific levels are per-procedure levels.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PatientCumulativeRow {
    /// The patient.
    pub patient_id: String,
    /// `pka` or `ka_r`.
    pub quantity: DrlQuantity,
    /// Unit of `total` and `max_single`.
    pub unit: &'static str,
    /// Window length in days: procedures less than this many days before the last one count.
    pub window_days: u64,
    /// Date (DA) of the first procedure of the window.
    pub window_first_date: String,
    /// Date (DA) of the last procedure of the window.
    pub window_last_date: String,
    /// Procedures in the window.
    pub n_procedures: usize,
    /// Sum over the window.
    pub total: f64,
    /// Largest single-procedure value of the window.
    pub max_single: f64,
    /// The contributing procedures, separated by `;`.
    pub procedure_ids: String,
    /// Levels the sum reaches, as `SOURCE_ID (level unit)`, separated by `; `.
    pub levels_reached: String,
    /// Of those, the levels that no single procedure of the window reaches.
    pub levels_reached_only_cumulatively: String,
    /// Whether an incomplete total contributes (the sum is then a lower bound).
    pub includes_incomplete: bool,
    /// Whether a K_a,r at a non-standard reference point contributes.
    pub includes_ka_r_not_comparable: bool,
    /// For `ka_r`: why a K_a,r sum is not a skin dose (an upper-bound indicator); empty for
    /// `pka`.
    pub caveat: &'static str,
}

/// The cumulative rows of a survey, and the procedures that could not enter any sum.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Cumulative {
    /// One row per patient and quantity with a window of at least two procedures.
    pub(super) rows: Vec<PatientCumulativeRow>,
    /// Procedures without a patient id (absent or blank).
    pub(super) no_patient_id: usize,
    /// Procedures with a patient id but without a valid date.
    pub(super) no_date: usize,
}

/// The procedures of one patient, with their dates.
type Dated<'a> = Vec<(Day, &'a SurveyRecord)>;

/// Per patient and quantity (P_KA, K_a,r): the rolling window of `window_days` days with the
/// largest sum. Only `triggers` for every procedure (no procedure type) are applied to sums.
pub(super) fn patient_cumulative(
    records: &[SurveyRecord],
    triggers: &[&TriggerLevel],
    window_days: u64,
) -> Cumulative {
    let (by_patient, mut out) = by_patient(records);
    let window = i64::try_from(window_days).unwrap_or(i64::MAX);
    for (patient, list) in by_patient {
        for q in [DrlQuantity::Pka, DrlQuantity::KaR] {
            let items: Vec<(Day, &SurveyRecord, f64)> = list
                .iter()
                .filter_map(|(d, r)| r.value(q).map(|v| (*d, *r, v)))
                .collect();
            let points: Vec<(i64, f64)> = items.iter().map(|i| (i.0.number, i.2)).collect();
            let Some(best) = best_window(&points, window) else {
                continue;
            };
            let win = &items[best.first..=best.last];
            if win.len() < 2 {
                continue;
            }
            out.rows.push(cumulative_row(
                patient,
                q,
                window_days,
                best.sum,
                win,
                triggers,
            ));
        }
    }
    out
}

/// Each patient's dated procedures, sorted by date and then procedure id; the counts of
/// procedures left out are set in the returned [`Cumulative`], whose rows are empty.
fn by_patient(records: &[SurveyRecord]) -> (BTreeMap<&str, Dated<'_>>, Cumulative) {
    let mut out = Cumulative::default();
    let mut by_patient: BTreeMap<&str, Dated<'_>> = BTreeMap::new();
    for r in records {
        let Some(p) = r.patient_id.as_deref().filter(|p| !p.trim().is_empty()) else {
            out.no_patient_id += 1;
            continue;
        };
        let Some(day) = r.date.as_deref().and_then(parse_da) else {
            out.no_date += 1;
            continue;
        };
        by_patient.entry(p).or_default().push((day, r));
    }
    for list in by_patient.values_mut() {
        list.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.procedure_id.cmp(&b.1.procedure_id)));
    }
    (by_patient, out)
}

/// A run of consecutive points and the sum of their values.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Window {
    sum: f64,
    /// Index of the first point.
    first: usize,
    /// Index of the last point (inclusive).
    last: usize,
}

/// Of the windows that end at each point and hold every earlier point less than `window`
/// days before it, the one with the largest sum (the earliest among equal sums); `None`
/// without points. `points` are (day number, value), sorted by day.
fn best_window(points: &[(i64, f64)], window: i64) -> Option<Window> {
    let mut best: Option<Window> = None;
    let mut first = 0;
    for last in 0..points.len() {
        while points[last].0 - points[first].0 >= window {
            first += 1;
        }
        let sum: f64 = points[first..=last].iter().map(|p| p.1).sum();
        if best.is_none_or(|b| sum > b.sum) {
            best = Some(Window { sum, first, last });
        }
    }
    best
}

/// The trigger levels of `q` for every procedure that `total` reaches, as
/// `SOURCE_ID (level unit)`; and, of those, the ones `max_single` does not reach.
fn levels_reached(
    total: f64,
    max_single: f64,
    q: DrlQuantity,
    triggers: &[&TriggerLevel],
) -> (Vec<String>, Vec<String>) {
    let mut reached = Vec::new();
    let mut only_cumulative = Vec::new();
    for t in triggers
        .iter()
        .filter(|t| t.procedure_code.is_none() && t.value.quantity() == q)
    {
        let level = t.value.in_report_unit();
        if total >= level {
            let label = format!("{} ({} {})", t.source_id, level, q.report_unit());
            if max_single < level {
                only_cumulative.push(label.clone());
            }
            reached.push(label);
        }
    }
    (reached, only_cumulative)
}

/// The row of one patient's best window `win` (not empty) of quantity `q`, whose values
/// sum to `total`.
fn cumulative_row(
    patient: &str,
    q: DrlQuantity,
    window_days: u64,
    total: f64,
    win: &[(Day, &SurveyRecord, f64)],
    triggers: &[&TriggerLevel],
) -> PatientCumulativeRow {
    let max_single = win.iter().map(|i| i.2).fold(0.0, f64::max);
    let (reached, only_cumulative) = levels_reached(total, max_single, q, triggers);
    let date = |i: Option<&(Day, &SurveyRecord, f64)>| {
        i.and_then(|i| i.1.date.clone()).unwrap_or_default()
    };
    PatientCumulativeRow {
        patient_id: patient.to_string(),
        quantity: q,
        unit: q.report_unit(),
        window_days,
        window_first_date: date(win.first()),
        window_last_date: date(win.last()),
        n_procedures: win.len(),
        total,
        max_single,
        procedure_ids: win
            .iter()
            .map(|i| i.1.procedure_id.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        levels_reached: reached.join("; "),
        levels_reached_only_cumulatively: only_cumulative.join("; "),
        includes_incomplete: win.iter().any(|i| !i.1.complete),
        includes_ka_r_not_comparable: q == DrlQuantity::KaR
            && win.iter().any(|i| !i.1.ka_r_comparable),
        caveat: if q == DrlQuantity::KaR {
            KA_R_SUM_CAVEAT
        } else {
            ""
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::tables::ReferenceTables;
    use crate::units::{AirKerma, Dap};

    const TRIGGERS: &str = "source_id,jurisdiction,year,procedure_code,quantity,unit,value,action\n\
        T_ALL,XX,2020,,pka,Gy.cm2,500,review\n\
        T_X,XX,2020,proc_x,pka,Gy.cm2,100,check\n\
        T_KAR,XX,2020,,ka_r,Gy,3,skin check\n";

    fn triggers() -> ReferenceTables {
        let mut t = ReferenceTables::default();
        t.load_trigger_csv("test-triggers.csv", TRIGGERS.as_bytes())
            .unwrap();
        t
    }

    fn record(id: &str, patient: Option<&str>, date: &str, dap_gy_cm2: f64) -> SurveyRecord {
        SurveyRecord {
            procedure_id: id.to_string(),
            patient_id: patient.map(str::to_string),
            room: "r".to_string(),
            date: Some(date.to_string()),
            dap: Some(Dap::try_from_gy_cm2(dap_gy_cm2).unwrap()),
            complete: true,
            ka_r_comparable: true,
            ..SurveyRecord::default()
        }
    }

    fn window(sum: f64, first: usize, last: usize) -> Option<Window> {
        Some(Window { sum, first, last })
    }

    #[test]
    fn a_window_holds_points_less_than_its_length_before_the_last() {
        // 6 days apart: in one 7-day window; 7 days apart: not
        assert_eq!(best_window(&[(0, 1.0), (6, 2.0)], 7), window(3.0, 0, 1));
        assert_eq!(best_window(&[(0, 1.0), (7, 2.0)], 7), window(2.0, 1, 1));
        // a 1-day window holds only procedures of the same day
        assert_eq!(
            best_window(&[(0, 1.0), (1, 2.0), (1, 4.0)], 1),
            window(6.0, 1, 2)
        );
        assert_eq!(best_window(&[], 7), None);
    }

    #[test]
    fn the_window_with_the_largest_sum_wins_and_the_earliest_of_equal_sums() {
        // windows ending at each point (3 days): 5; 5+5; 4; 4+6
        let points = [(0, 5.0), (1, 5.0), (10, 4.0), (11, 6.0)];
        assert_eq!(best_window(&points, 3), window(10.0, 0, 1));
        let points = [(0, 5.0), (1, 5.0), (10, 4.0), (11, 7.0)];
        assert_eq!(best_window(&points, 3), window(11.0, 2, 3));
        // a long window holds everything
        assert_eq!(best_window(&points, 12), window(21.0, 0, 3));
    }

    /// Patient P1: a (1 Jan, 300 Gy·cm², 2 Gy), b (10 Jan, 300 Gy·cm², 2 Gy, incomplete,
    /// K_a,r not comparable), c (9 Feb, 400 Gy·cm²). b to c is 30 days.
    fn p1() -> Vec<SurveyRecord> {
        let mut a = record("a", Some("P1"), "20240101", 300.0);
        a.ka_r = Some(AirKerma::try_from_gy(2.0).unwrap());
        let mut b = record("b", Some("P1"), "20240110", 300.0);
        b.ka_r = Some(AirKerma::try_from_gy(2.0).unwrap());
        b.complete = false;
        b.ka_r_comparable = false;
        let c = record("c", Some("P1"), "20240209", 400.0);
        vec![c, b, a]
    }

    #[test]
    fn thirty_days_apart_is_outside_a_30_day_window_and_inside_a_31_day_one() {
        let tables = triggers();
        let t: Vec<&TriggerLevel> = tables.trigger_levels().iter().collect();

        // 30 days: a + b = 600 is the best window
        let out = patient_cumulative(&p1(), &t, 30);
        let pka = &out.rows[0];
        assert_eq!(
            (pka.patient_id.as_str(), pka.quantity),
            ("P1", DrlQuantity::Pka)
        );
        assert_eq!((pka.procedure_ids.as_str(), pka.n_procedures), ("a;b", 2));
        assert_eq!((pka.total, pka.max_single), (600.0, 300.0));
        assert_eq!(
            (
                pka.window_first_date.as_str(),
                pka.window_last_date.as_str()
            ),
            ("20240101", "20240110")
        );
        assert_eq!((pka.window_days, pka.unit, pka.caveat), (30, "Gy.cm2", ""));
        // 600 reaches the 500 level that no single procedure reaches; the 100 level for
        // proc_x is a per-procedure level, never applied to sums
        assert_eq!(pka.levels_reached, "T_ALL (500 Gy.cm2)");
        assert_eq!(pka.levels_reached_only_cumulatively, "T_ALL (500 Gy.cm2)");
        assert!(pka.includes_incomplete && !pka.includes_ka_r_not_comparable);
        // K_a,r: 2 + 2 Gy = 4000 mGy reaches 3 Gy
        let kar = &out.rows[1];
        assert_eq!((kar.quantity, kar.unit), (DrlQuantity::KaR, "mGy"));
        assert_eq!((kar.total, kar.max_single), (4000.0, 2000.0));
        assert_eq!(kar.levels_reached, "T_KAR (3000 mGy)");
        assert!(kar.includes_ka_r_not_comparable);
        assert_eq!(kar.caveat, KA_R_SUM_CAVEAT);
        assert_eq!(out.rows.len(), 2);

        // 31 days: b + c = 700 beats a + b
        let out = patient_cumulative(&p1(), &t, 31);
        let pka = &out.rows[0];
        assert_eq!(pka.procedure_ids, "b;c");
        assert_eq!((pka.total, pka.max_single), (700.0, 400.0));
        assert_eq!(
            (
                pka.window_first_date.as_str(),
                pka.window_last_date.as_str()
            ),
            ("20240110", "20240209")
        );
    }

    #[test]
    fn single_procedures_give_no_row_and_unusable_records_are_counted() {
        let tables = triggers();
        let t: Vec<&TriggerLevel> = tables.trigger_levels().iter().collect();
        let records = vec![
            // P2: one procedure is at the 500 level alone; same date, ordered by id
            record("z", Some("P2"), "20240301", 500.0),
            record("y", Some("P2"), "2024-03-01", 100.0),
            // P3: a single procedure
            record("s", Some("P3"), "20240301", 900.0),
            // no patient id, a blank one, an invalid date
            record("n1", None, "20240301", 900.0),
            record("n2", Some("  "), "20240301", 900.0),
            record("n3", Some("P4"), "2024", 900.0),
            record("n4", Some("P4"), "20240230", 900.0),
        ];
        let out = patient_cumulative(&records, &t, 84);
        assert_eq!((out.no_patient_id, out.no_date), (2, 2));
        assert_eq!(out.rows.len(), 1, "{:?}", out.rows);
        let p2 = &out.rows[0];
        assert_eq!(
            (p2.patient_id.as_str(), p2.procedure_ids.as_str()),
            ("P2", "y;z")
        );
        assert_eq!((p2.total, p2.max_single), (600.0, 500.0));
        assert_eq!(p2.levels_reached, "T_ALL (500 Gy.cm2)");
        assert_eq!(p2.levels_reached_only_cumulatively, "");
        assert!(!p2.includes_incomplete);
    }
}

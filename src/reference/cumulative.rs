//! Per-patient cumulative sums: for each patient and for P_KA and K_a,r, the rolling window
//! of procedures with the largest sum, and the trigger levels that sum reaches.

use std::collections::{BTreeMap, HashMap, HashSet};

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
/// to sums; procedure-specific levels are per-procedure levels. A procedure flagged as a
/// possible re-anonymised copy of one already counted ([`SurveyRecord::possible_copy`]) is
/// left out of the sums, and a K_a,r not at the interventional reference point is left out
/// of the K_a,r sums; `notes` names both.
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
    /// For `ka_r`: whether a procedure dated within the window has a K_a,r at another
    /// reference point than the interventional one, left out of the sum (which is then a
    /// lower bound).
    pub includes_ka_r_not_comparable: bool,
    /// For `ka_r`: why a K_a,r sum is not a skin dose (an upper-bound indicator); empty for
    /// `pka`.
    pub caveat: &'static str,
    /// The patient's procedures dated within the window but left out of the sum, and why,
    /// separated by `; `.
    pub notes: String,
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
    /// Per patient, the procedures left out of the sums and why.
    pub(super) notes: Vec<String>,
}

/// The procedures of one patient, with their dates.
type Dated<'a> = Vec<(Day, &'a SurveyRecord)>;

/// A procedure of a patient left out of a sum, and why.
struct LeftOut<'a> {
    day: Day,
    procedure_id: &'a str,
    why: Why<'a>,
}

/// Why a procedure is left out of a sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why<'a> {
    /// A possible re-anonymised copy of this procedure, already counted.
    CopyOf(&'a str),
    /// Its K_a,r is not at the interventional reference point (K_a,r sums only).
    KaRNotComparable,
}

impl Why<'_> {
    /// The reason, for one procedure or for several (`plural`).
    fn describe(self, plural: bool) -> String {
        match (self, plural) {
            (Why::CopyOf(original), false) => format!(
                "possibly a re-anonymised copy of {original} (same room, first event time and P_KA)"
            ),
            (Why::CopyOf(original), true) => format!(
                "possibly re-anonymised copies of {original} (same room, first event time and P_KA)"
            ),
            (Why::KaRNotComparable, _) => {
                "K_a,r not at the interventional reference point (IEC 60601-2-43)".to_string()
            }
        }
    }
}

/// Per patient and quantity (P_KA, K_a,r): the rolling window of `window_days` days with the
/// largest sum, among the windows that end at a procedure not in `history` (procedures before
/// the period, which count only in the windows of later ones). Only `triggers` for every
/// procedure (no procedure type) are applied to sums.
pub(super) fn patient_cumulative(
    records: &[SurveyRecord],
    history: &HashSet<&str>,
    triggers: &[&TriggerLevel],
    window_days: u64,
) -> Cumulative {
    let (by_patient, mut out) = by_patient(records);
    let window = i64::try_from(window_days).unwrap_or(i64::MAX);
    for (patient, list) in by_patient {
        let (list, copies) = without_copies(list);
        let not_comparable = ka_r_not_comparable(&list, window);
        for (what, left) in [
            ("cumulative sums", &copies),
            ("cumulative K_a,r sums", &not_comparable),
        ] {
            let left: Vec<&LeftOut<'_>> = left.iter().collect();
            for (ids, why) in grouped(&left) {
                out.notes.push(format!(
                    "patient {patient}: {ids} left out of the {what}: {why}"
                ));
            }
        }
        for q in [DrlQuantity::Pka, DrlQuantity::KaR] {
            let mut left_out: Vec<&LeftOut<'_>> = copies.iter().collect();
            if q == DrlQuantity::KaR {
                left_out.extend(&not_comparable);
            }
            let items: Vec<(Day, &SurveyRecord, f64)> = list
                .iter()
                .filter(|(_, r)| q != DrlQuantity::KaR || r.ka_r_comparable)
                .filter_map(|(d, r)| r.value(q).map(|v| (*d, *r, v)))
                .collect();
            let points: Vec<(i64, f64)> = items.iter().map(|i| (i.0.number, i.2)).collect();
            let ends = |i: usize| !history.contains(items[i].1.procedure_id.as_str());
            let Some(best) = best_window(&points, window, ends) else {
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
                &left_out,
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

/// One patient's procedures (sorted) without the possible copies of one kept before them:
/// flagged procedures with the same room, first event time and P_KA as a flagged one
/// already kept. Returns the kept procedures and the ones left out.
fn without_copies(list: Dated<'_>) -> (Dated<'_>, Vec<LeftOut<'_>>) {
    let mut kept: Dated<'_> = Vec::with_capacity(list.len());
    let mut copies = Vec::new();
    // (room, first event, P_KA in Gy·m² as bits) → the procedure kept
    let mut originals: HashMap<(&str, &str, u64), &str> = HashMap::new();
    for (day, r) in list {
        let key = match (r.possible_copy, r.first_event.as_deref(), r.dap) {
            (true, Some(first), Some(dap)) => {
                Some((r.room.as_str(), first, dap.as_gy_m2().to_bits()))
            }
            _ => None,
        };
        match key.map(|k| (k, originals.get(&k))) {
            Some((_, Some(&original))) => copies.push(LeftOut {
                day,
                procedure_id: &r.procedure_id,
                why: Why::CopyOf(original),
            }),
            Some((k, None)) => {
                originals.insert(k, &r.procedure_id);
                kept.push((day, r));
            }
            None => kept.push((day, r)),
        }
    }
    (kept, copies)
}

/// The procedures with a K_a,r that is not at the interventional reference point and
/// another procedure with a K_a,r less than `window` days apart, with which a sum would
/// have been formed. `list` is sorted by date.
fn ka_r_not_comparable<'a>(list: &Dated<'a>, window: i64) -> Vec<LeftOut<'a>> {
    let with_ka_r: Vec<&(Day, &SurveyRecord)> =
        list.iter().filter(|(_, r)| r.ka_r.is_some()).collect();
    let near = |a: &Day, b: &Day| (a.number - b.number).abs() < window;
    with_ka_r
        .iter()
        .enumerate()
        .filter(|(_, (_, r))| !r.ka_r_comparable)
        .filter(|(i, (day, _))| {
            let before = i.checked_sub(1).and_then(|j| with_ka_r.get(j));
            let after = with_ka_r.get(i + 1);
            before.into_iter().chain(after).any(|(d, _)| near(d, day))
        })
        .map(|(_, (day, r))| LeftOut {
            day: *day,
            procedure_id: &r.procedure_id,
            why: Why::KaRNotComparable,
        })
        .collect()
}

/// The procedures left out, grouped by reason in order of first appearance: a list of ids
/// (at most five, then how many more) and the reason, singular or plural.
fn grouped(left: &[&LeftOut<'_>]) -> Vec<(String, String)> {
    let mut groups: Vec<(Why<'_>, Vec<&str>)> = Vec::new();
    for l in left {
        match groups.iter_mut().find(|g| g.0 == l.why) {
            Some(g) => g.1.push(l.procedure_id),
            None => groups.push((l.why, vec![l.procedure_id])),
        }
    }
    groups
        .into_iter()
        .map(|(why, ids)| {
            let shown = ids.iter().take(5).copied().collect::<Vec<_>>().join(", ");
            let list = match ids.len() {
                n if n > 5 => format!("{shown} and {} more", n - 5),
                _ => shown,
            };
            (list, why.describe(ids.len() > 1))
        })
        .collect()
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

/// Of the windows that end at each point for which `ends` holds and hold every earlier point
/// less than `window` days before it, the one with the largest sum (the earliest among equal
/// sums); `None` without such points. `points` are (day number, value), sorted by day.
fn best_window(points: &[(i64, f64)], window: i64, ends: impl Fn(usize) -> bool) -> Option<Window> {
    let mut best: Option<Window> = None;
    let mut first = 0;
    for last in 0..points.len() {
        while points[last].0 - points[first].0 >= window {
            first += 1;
        }
        if !ends(last) {
            continue;
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
/// sum to `total`; `left_out` are the patient's procedures left out of the sum.
fn cumulative_row(
    patient: &str,
    q: DrlQuantity,
    window_days: u64,
    total: f64,
    win: &[(Day, &SurveyRecord, f64)],
    left_out: &[&LeftOut<'_>],
    triggers: &[&TriggerLevel],
) -> PatientCumulativeRow {
    let max_single = win.iter().map(|i| i.2).fold(0.0, f64::max);
    let (reached, only_cumulative) = levels_reached(total, max_single, q, triggers);
    let date = |i: Option<&(Day, &SurveyRecord, f64)>| {
        i.and_then(|i| i.1.date.clone()).unwrap_or_default()
    };
    let (first, last) = match (win.first(), win.last()) {
        (Some(f), Some(l)) => (f.0.number, l.0.number),
        _ => (0, -1),
    };
    let in_window: Vec<&LeftOut<'_>> = left_out
        .iter()
        .copied()
        .filter(|l| (first..=last).contains(&l.day.number))
        .collect();
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
            && in_window.iter().any(|l| l.why == Why::KaRNotComparable),
        caveat: if q == DrlQuantity::KaR {
            KA_R_SUM_CAVEAT
        } else {
            ""
        },
        notes: grouped(&in_window)
            .into_iter()
            .map(|(ids, why)| format!("{ids} left out: {why}"))
            .collect::<Vec<_>>()
            .join("; "),
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
        assert_eq!(
            best_window(&[(0, 1.0), (6, 2.0)], 7, |_| true),
            window(3.0, 0, 1)
        );
        assert_eq!(
            best_window(&[(0, 1.0), (7, 2.0)], 7, |_| true),
            window(2.0, 1, 1)
        );
        // a 1-day window holds only procedures of the same day
        assert_eq!(
            best_window(&[(0, 1.0), (1, 2.0), (1, 4.0)], 1, |_| true),
            window(6.0, 1, 2)
        );
        assert_eq!(best_window(&[], 7, |_| true), None);
    }

    #[test]
    fn the_window_with_the_largest_sum_wins_and_the_earliest_of_equal_sums() {
        // windows ending at each point (3 days): 5; 5+5; 4; 4+6
        let points = [(0, 5.0), (1, 5.0), (10, 4.0), (11, 6.0)];
        assert_eq!(best_window(&points, 3, |_| true), window(10.0, 0, 1));
        let points = [(0, 5.0), (1, 5.0), (10, 4.0), (11, 7.0)];
        assert_eq!(best_window(&points, 3, |_| true), window(11.0, 2, 3));
        // a long window holds everything
        assert_eq!(best_window(&points, 12, |_| true), window(21.0, 0, 3));
    }

    /// Patient P1: a (1 Jan, 300 Gy·cm², 2 Gy), b (10 Jan, 300 Gy·cm², 2 Gy, incomplete),
    /// c (9 Feb, 400 Gy·cm²). b to c is 30 days.
    fn p1() -> Vec<SurveyRecord> {
        let mut a = record("a", Some("P1"), "20240101", 300.0);
        a.ka_r = Some(AirKerma::try_from_gy(2.0).unwrap());
        let mut b = record("b", Some("P1"), "20240110", 300.0);
        b.ka_r = Some(AirKerma::try_from_gy(2.0).unwrap());
        b.complete = false;
        let c = record("c", Some("P1"), "20240209", 400.0);
        vec![c, b, a]
    }

    #[test]
    fn thirty_days_apart_is_outside_a_30_day_window_and_inside_a_31_day_one() {
        let tables = triggers();
        let t: Vec<&TriggerLevel> = tables.trigger_levels().iter().collect();

        // 30 days: a + b = 600 is the best window
        let out = patient_cumulative(&p1(), &HashSet::new(), &t, 30);
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
        assert_eq!(pka.notes, "");
        // K_a,r: 2 + 2 Gy = 4000 mGy reaches 3 Gy
        let kar = &out.rows[1];
        assert_eq!((kar.quantity, kar.unit), (DrlQuantity::KaR, "mGy"));
        assert_eq!((kar.total, kar.max_single), (4000.0, 2000.0));
        assert_eq!(kar.levels_reached, "T_KAR (3000 mGy)");
        assert!(!kar.includes_ka_r_not_comparable);
        assert_eq!(kar.caveat, KA_R_SUM_CAVEAT);
        assert_eq!(out.rows.len(), 2);
        assert!(out.notes.is_empty());

        // 31 days: b + c = 700 beats a + b
        let out = patient_cumulative(&p1(), &HashSet::new(), &t, 31);
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
        let out = patient_cumulative(&records, &HashSet::new(), &t, 84);
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

    /// A possible re-anonymised copy: flagged, same room, first event time and P_KA.
    fn copy_of(r: &SurveyRecord, id: &str) -> SurveyRecord {
        SurveyRecord {
            procedure_id: id.to_string(),
            ..r.clone()
        }
    }

    #[test]
    fn a_possible_copy_of_a_procedure_already_counted_is_left_out() {
        let tables = triggers();
        let t: Vec<&TriggerLevel> = tables.trigger_levels().iter().collect();
        let mut a = record("a", Some("P1"), "20240101", 300.0);
        a.first_event = Some("20240101101500".to_string());
        a.possible_copy = true;
        a.ka_r = Some(AirKerma::try_from_gy(2.0).unwrap());
        let a2 = copy_of(&a, "a2");
        let b = record("b", Some("P1"), "20240110", 250.0);
        // without the flag, an identical procedure is counted
        let mut unflagged = copy_of(&a, "a3");
        unflagged.possible_copy = false;
        // flagged, but another room, first event or P_KA: not a copy of a
        let mut other_room = copy_of(&a, "a4");
        other_room.room = "r2".to_string();
        let mut other_time = copy_of(&a, "a5");
        other_time.first_event = Some("20240101101501".to_string());
        let mut other_dap = copy_of(&a, "a6");
        other_dap.dap = Some(Dap::try_from_gy_cm2(300.5).unwrap());

        let out = patient_cumulative(&[a2.clone(), b.clone(), a.clone()], &HashSet::new(), &t, 84);
        let pka = &out.rows[0];
        // 300 + 250, not 300 + 300 + 250
        assert_eq!((pka.procedure_ids.as_str(), pka.total), ("a;b", 550.0));
        assert_eq!(pka.levels_reached, "T_ALL (500 Gy.cm2)");
        assert_eq!(
            pka.notes,
            "a2 left out: possibly a re-anonymised copy of a (same room, first event time and P_KA)"
        );
        // K_a,r: a alone has a K_a,r, so no K_a,r sum
        assert_eq!(out.rows.len(), 1);
        assert_eq!(
            out.notes,
            [
                "patient P1: a2 left out of the cumulative sums: possibly a re-anonymised copy of a (same room, first event time and P_KA)"
            ]
        );

        // the pair alone: one procedure left, no sum
        let out = patient_cumulative(&[a.clone(), a2.clone()], &HashSet::new(), &t, 84);
        assert!(out.rows.is_empty());
        assert_eq!(out.notes.len(), 1);

        for other in [unflagged, other_room, other_time, other_dap] {
            let out = patient_cumulative(&[a.clone(), other.clone()], &HashSet::new(), &t, 84);
            assert_eq!(out.rows[0].total, 300.0 + other.dap.unwrap().as_gy_cm2());
            assert!(out.notes.is_empty(), "{}", other.procedure_id);
            assert_eq!(out.rows[0].notes, "");
        }
        // another patient's copy is not this patient's
        let mut p2 = copy_of(&a, "c");
        p2.patient_id = Some("P2".to_string());
        let out = patient_cumulative(&[a, p2], &HashSet::new(), &t, 84);
        assert!(out.rows.is_empty() && out.notes.is_empty());
    }

    #[test]
    fn a_k_a_r_not_at_the_reference_point_is_left_out_of_k_a_r_sums() {
        let tables = triggers();
        let t: Vec<&TriggerLevel> = tables.trigger_levels().iter().collect();
        let kar = |id: &str, date: &str, gy: f64, comparable: bool| {
            let mut r = record(id, Some("P1"), date, 100.0);
            r.ka_r = Some(AirKerma::try_from_gy(gy).unwrap());
            r.ka_r_comparable = comparable;
            r
        };
        let records = [
            kar("a", "20240101", 2.0, true),
            kar("b", "20240102", 2.5, false),
            kar("c", "20240103", 1.5, true),
        ];
        let out = patient_cumulative(&records, &HashSet::new(), &t, 84);
        let row = |q| out.rows.iter().find(|r| r.quantity == q).unwrap();
        // P_KA counts all three
        assert_eq!(row(DrlQuantity::Pka).n_procedures, 3);
        // K_a,r: 2 + 1.5 Gy = 3500 mGy reaches 3 Gy; with b it would be 6 Gy
        let k = row(DrlQuantity::KaR);
        assert_eq!((k.procedure_ids.as_str(), k.total), ("a;c", 3500.0));
        assert_eq!(k.levels_reached, "T_KAR (3000 mGy)");
        assert!(k.includes_ka_r_not_comparable);
        assert_eq!(
            k.notes,
            "b left out: K_a,r not at the interventional reference point (IEC 60601-2-43)"
        );
        assert_eq!(
            out.notes,
            [
                "patient P1: b left out of the cumulative K_a,r sums: K_a,r not at the interventional reference point (IEC 60601-2-43)"
            ]
        );
        // 2 + 2.5 Gy would reach 3 Gy: without c, no K_a,r sum is formed, the note stays
        let out = patient_cumulative(&records[..2], &HashSet::new(), &t, 84);
        assert!(out.rows.iter().all(|r| r.quantity == DrlQuantity::Pka));
        assert_eq!(out.notes.len(), 1);
        // a single procedure: nothing is summed, nothing to say
        let out = patient_cumulative(&records[1..2], &HashSet::new(), &t, 84);
        assert!(out.rows.is_empty() && out.notes.is_empty());
        // nor when the other procedures are outside any window with it
        let far = [
            kar("a", "20240101", 2.0, true),
            kar("b", "20240601", 2.5, false),
        ];
        let out = patient_cumulative(&far, &HashSet::new(), &t, 84);
        assert!(out.notes.is_empty(), "{:?}", out.notes);
        let out = patient_cumulative(&far, &HashSet::new(), &t, 200);
        assert_eq!(out.notes.len(), 1);
    }

    #[test]
    fn many_copies_of_one_procedure_make_one_note() {
        let tables = triggers();
        let t: Vec<&TriggerLevel> = tables.trigger_levels().iter().collect();
        let mut a = record("p00", Some("P1"), "20240101", 300.0);
        a.first_event = Some("20240101101500".to_string());
        a.possible_copy = true;
        let mut records: Vec<SurveyRecord> =
            (1..=7).map(|i| copy_of(&a, &format!("p{i:02}"))).collect();
        records.push(a);
        records.push(record("q", Some("P1"), "20240102", 10.0));
        let out = patient_cumulative(&records, &HashSet::new(), &t, 84);
        let why = "possibly re-anonymised copies of p00 (same room, first event time and P_KA)";
        assert_eq!(
            out.notes,
            [format!(
                "patient P1: p01, p02, p03, p04, p05 and 2 more left out of the cumulative sums: {why}"
            )]
        );
        assert_eq!(
            (out.rows[0].procedure_ids.as_str(), out.rows[0].total),
            ("p00;q", 310.0)
        );
        assert_eq!(
            out.rows[0].notes,
            format!("p01, p02, p03, p04, p05 and 2 more left out: {why}")
        );
    }
}

//! The survey itself: it collects de-duplicated procedures, types each one, applies the
//! period and age filters, and assembles the report from the DRL rows, the alerts and the
//! cumulative sums.

use std::collections::HashSet;

use serde::Serialize;

use super::alerts::{
    AlertReport, TriggerProportionRow, not_evaluated, procedure_alerts, proportion_rows,
    selected_triggers,
};
use super::config::{SurveyConfig, WINDOW_BASIS};
use super::cumulative::{Cumulative, KA_R_SUM_CAVEAT, patient_cumulative};
use super::date::parse_da;
use super::drl::{DrlRow, Groups, Sample, Verdict, drl_row};
use super::error::ReferenceError;
use super::mapping::{Classification, MatchStatus, TextField};
use super::quantity::DrlQuantity;
use super::record::SurveyRecord;
use super::stats::QUANTILE_METHOD;
use super::tables::TriggerLevel;
use super::unmatched::{UnmatchedDescriptionRow, unmatched_descriptions};

/// Collects de-duplicated procedures, then computes the survey report.
///
/// ```
/// use kerma::Dap;
/// use kerma::reference::{ProcedureText, Survey, SurveyConfig, SurveyRecord, TextField, Verdict};
/// let mut config = SurveyConfig::default();
/// config.drl_sources = vec!["EU_EURADOS_SIISKONEN_2018".into()];
/// let mut survey = Survey::new(config)?;
/// for i in 0..40 {
///     survey.add(SurveyRecord {
///         procedure_id: format!("p{i}"),
///         room: "cath-1".into(),
///         texts: vec![ProcedureText::new(TextField::StudyDescription, "Coronarographie")],
///         dap: Some(Dap::try_from_gy_cm2(20.0 + i as f64)?),
///         complete: true,
///         ka_r_comparable: true,
///         ..Default::default()
///     });
/// }
/// let report = survey.finish();
/// let row = report.drl.iter()
///     .find(|r| r.room.is_none() && r.quantity == kerma::reference::DrlQuantity::Pka)
///     .ok_or("a PKA row for all rooms")?;
/// assert_eq!(row.median, Some(39.5)); // Gy·cm²
/// assert_eq!(row.drl_value, Some(35.0)); // EURADOS 2018, coronary angiography
/// assert_eq!(row.verdict, Verdict::Above);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Survey {
    config: SurveyConfig,
    records: Vec<SurveyRecord>,
    ids: HashSet<String>,
    received: usize,
    history: Vec<SurveyRecord>,
}

impl Survey {
    /// A survey with the given settings.
    ///
    /// # Errors
    /// A DRL or trigger source that no loaded table has, a minimum sample size of 0, an age
    /// limit that is negative or not finite, a year outside 1900–2200, or a cumulative window
    /// shorter than one day.
    pub fn new(config: SurveyConfig) -> Result<Survey, ReferenceError> {
        config.check()?;
        Ok(Survey {
            config,
            records: Vec::new(),
            ids: HashSet::new(),
            received: 0,
            history: Vec::new(),
        })
    }

    /// Adds a procedure from before the surveyed period (a registry's earlier history): it
    /// counts only in the per-patient cumulative sums, in windows that end at a procedure
    /// added with [`add`](Survey::add) of the same patient, and nowhere else (not in DRL
    /// groups, alerts, types or exclusion counts). A procedure also added with `add` counts
    /// once.
    pub fn add_history(&mut self, record: SurveyRecord) {
        self.history.push(record);
    }

    /// Adds one procedure; returns `false` (and ignores the record) when a procedure with the
    /// same `procedure_id` was already added.
    pub fn add(&mut self, record: SurveyRecord) -> bool {
        self.received += 1;
        if self.ids.insert(record.procedure_id.clone()) {
            self.records.push(record);
            true
        } else {
            false
        }
    }

    /// Computes the report. The result does not depend on the order in which distinct
    /// procedures were added.
    pub fn finish(mut self) -> SurveyReport {
        self.records
            .sort_by(|a, b| a.procedure_id.cmp(&b.procedure_id));
        let cfg = &self.config;
        let records = &self.records;
        let triggers = selected_triggers(cfg);
        let typed: Vec<Typed> = records.iter().map(|r| Typed::of(cfg, r)).collect();
        let groups = drl_groups(records, &typed);
        let (drl, proportions) = group_statistics(cfg, &groups, &triggers);
        let (alerts, mut alert_notes) = procedure_alerts(
            records.iter().zip(typed.iter().map(|t| &t.class)),
            &triggers,
        );
        let window_days = cfg.window_days();
        let cumulative = match self.history.is_empty() {
            true => patient_cumulative(records, &HashSet::new(), &triggers, window_days),
            false => with_history(records, &self.ids, &self.history, &triggers, window_days),
        };
        alert_notes.extend(cumulative.notes.iter().cloned());
        let exclusions = count_exclusions(self.received, &typed, &cumulative);
        SurveyReport {
            quantile_method: QUANTILE_METHOD,
            drl,
            alerts: AlertReport {
                procedures: alerts,
                proportions,
                patient_cumulative: cumulative.rows,
                cumulative_window_days: window_days,
                cumulative_window_basis: WINDOW_BASIS,
                ka_r_caveat: KA_R_SUM_CAVEAT,
                not_evaluated: not_evaluated(
                    &triggers,
                    records.iter().any(|r| r.peak_skin_dose_mgy.is_some()),
                ),
                notes: alert_notes,
            },
            procedure_types: records
                .iter()
                .zip(&typed)
                .map(|(r, t)| procedure_row(r, t))
                .collect(),
            unmatched_descriptions: unmatched_descriptions(
                records.iter().zip(typed.iter().map(|t| &t.class)),
            ),
            exclusions,
            notes: notes(cfg),
        }
    }
}

/// The cumulative sums of `records` with the earlier procedures of their patients in
/// `history`; exclusion counts are those of `records` alone.
fn with_history(
    records: &[SurveyRecord],
    ids: &HashSet<String>,
    history: &[SurveyRecord],
    triggers: &[&TriggerLevel],
    window_days: u64,
) -> Cumulative {
    let patients: HashSet<&str> = records
        .iter()
        .filter_map(|r| r.patient_id.as_deref())
        .collect();
    let mut history_ids: HashSet<&str> = HashSet::new();
    let mut all: Vec<SurveyRecord> = records.to_vec();
    for h in history {
        if h.patient_id
            .as_deref()
            .is_some_and(|p| patients.contains(p))
            && !ids.contains(&h.procedure_id)
            && history_ids.insert(h.procedure_id.as_str())
        {
            all.push(h.clone());
        }
    }
    let mut cumulative = patient_cumulative(&all, &history_ids, triggers, window_days);
    let own = patient_cumulative(records, &HashSet::new(), &[], window_days);
    cumulative.no_patient_id = own.no_patient_id;
    cumulative.no_date = own.no_date;
    cumulative
}

impl Extend<SurveyRecord> for Survey {
    fn extend<I: IntoIterator<Item = SurveyRecord>>(&mut self, iter: I) {
        for r in iter {
            self.add(r);
        }
    }
}

/// One procedure's type and its place in the DRL statistics.
#[derive(Debug, Clone, PartialEq)]
struct Typed {
    class: Classification,
    /// Why the procedure is not in the DRL statistics; `None` if it is.
    exclusion: Option<Exclusion>,
    /// In the statistics, but its K_a,r left out (reference point not standard).
    ka_r_excluded: bool,
}

impl Typed {
    fn of(cfg: &SurveyConfig, r: &SurveyRecord) -> Typed {
        let class = cfg.mapping.classify(&r.room, &r.texts);
        let exclusion = exclusion(cfg, r, &class);
        Typed {
            ka_r_excluded: exclusion.is_none() && !r.ka_r_comparable,
            class,
            exclusion,
        }
    }
}

/// The first filter that leaves `r` out of the DRL statistics, in the order of
/// [`Exclusion`]: period, age, typing, completeness.
fn exclusion(cfg: &SurveyConfig, r: &SurveyRecord, class: &Classification) -> Option<Exclusion> {
    period_filter(cfg.year, r.date.as_deref())
        .or_else(|| age_filter(cfg.adult_min_age_years, r.patient_age_years))
        .or_else(|| typing_filter(class.status))
        .or_else(|| (!r.complete).then_some(Exclusion::Incomplete))
}

/// With a selected `year`: a date that is not a valid DA, or of another year.
fn period_filter(year: Option<i32>, date: Option<&str>) -> Option<Exclusion> {
    let year = year?;
    match date.and_then(parse_da) {
        None => Some(Exclusion::NoDate),
        Some(d) if d.year != year => Some(Exclusion::OutsidePeriod),
        Some(_) => None,
    }
}

/// With an age limit: an age that is unknown (absent, negative or not finite), or below the
/// limit (an age equal to the limit passes).
fn age_filter(min_age: Option<f64>, age: Option<f64>) -> Option<Exclusion> {
    let min_age = min_age?;
    match age.filter(|a| a.is_finite() && *a >= 0.0) {
        None => Some(Exclusion::AgeUnknown),
        Some(a) if a < min_age => Some(Exclusion::NotAdult),
        Some(_) => None,
    }
}

/// No procedure type, or several of equal priority.
fn typing_filter(status: MatchStatus) -> Option<Exclusion> {
    match status {
        MatchStatus::Unmatched => Some(Exclusion::Unmatched),
        MatchStatus::Ambiguous => Some(Exclusion::Ambiguous),
        _ => None,
    }
}

/// The DRL groups: each typed procedure in the statistics joins the group of its type and
/// room and the group of its type over all rooms. Procedures left out only because their
/// totals are incomplete join too, to be counted in the rows.
fn drl_groups<'a>(records: &'a [SurveyRecord], typed: &[Typed]) -> Groups<'a> {
    let mut groups = Groups::default();
    for (r, t) in records.iter().zip(typed) {
        if let (Some(code), None | Some(Exclusion::Incomplete)) =
            (&t.class.procedure_code, t.exclusion)
        {
            groups.add(code, r);
        }
    }
    groups
}

/// For each group and surveyed quantity: the DRL row and the trigger proportions.
fn group_statistics(
    cfg: &SurveyConfig,
    groups: &Groups<'_>,
    triggers: &[&TriggerLevel],
) -> (Vec<DrlRow>, Vec<TriggerProportionRow>) {
    let mut drl = Vec::new();
    let mut proportions = Vec::new();
    for (group, members) in groups.iter() {
        // the members of a room's group share its name
        let room_name = group
            .room()
            .and(members.first())
            .map(|r| r.shown_room_name());
        for q in DrlQuantity::SURVEYED {
            let sample = Sample::collect(members, q);
            let mut row = drl_row(cfg, group, q, &sample);
            row.room_name.clone_from(&room_name);
            drl.push(row);
            let rows = proportion_rows(cfg.year, group, q, &sample, triggers);
            proportions.extend(rows.into_iter().map(|mut p| {
                p.room_name.clone_from(&room_name);
                p
            }));
        }
    }
    (drl, proportions)
}

/// The counts of procedures received, de-duplicated, excluded (by reason) and left out of
/// the cumulative sums.
fn count_exclusions(received: usize, typed: &[Typed], cumulative: &Cumulative) -> ExclusionCounts {
    let mut counts = ExclusionCounts {
        procedures_received: received,
        duplicates: received - typed.len(),
        procedures: typed.len(),
        cumulative_no_patient_id: cumulative.no_patient_id,
        cumulative_no_date: cumulative.no_date,
        ..ExclusionCounts::default()
    };
    for t in typed {
        match t.exclusion {
            Some(Exclusion::OutsidePeriod) => counts.outside_period += 1,
            Some(Exclusion::NoDate) => counts.no_date += 1,
            Some(Exclusion::NotAdult) => counts.not_adult += 1,
            Some(Exclusion::AgeUnknown) => counts.age_unknown += 1,
            Some(Exclusion::Unmatched) => counts.unmatched += 1,
            Some(Exclusion::Ambiguous) => counts.ambiguous += 1,
            Some(Exclusion::Incomplete) => counts.incomplete += 1,
            None => counts.included += 1,
        }
        if t.ka_r_excluded {
            counts.ka_r_not_comparable += 1;
        }
    }
    counts
}

/// The procedure-types row of one procedure: its type, how it was reached, its texts.
fn procedure_row(r: &SurveyRecord, t: &Typed) -> ProcedureTypeRow {
    let texts = |f: TextField| {
        r.texts
            .iter()
            .filter(|t| t.field == f)
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(";")
    };
    let class = &t.class;
    ProcedureTypeRow {
        procedure_id: r.procedure_id.clone(),
        patient_id: r.patient_id.clone(),
        room: r.room.clone(),
        room_name: r.shown_room_name(),
        date: r.date.clone(),
        procedure_code: class.procedure_code.clone(),
        match_status: class.status,
        matched_codes: class.matched_codes.join(";"),
        rules: class.rules.join(";"),
        study_description: texts(TextField::StudyDescription),
        requested_procedure_description: texts(TextField::RequestedProcedureDescription),
        performed_procedure_step_description: texts(TextField::PerformedProcedureStepDescription),
        procedure_codes: texts(TextField::ProcedureCode),
        protocol_names: texts(TextField::ProtocolName),
        exclusion: t.exclusion,
        ka_r_excluded_not_comparable: t.ka_r_excluded,
    }
}

/// Remarks on the DRL selection: none selected, or a jurisdiction that no loaded table has.
fn notes(cfg: &SurveyConfig) -> Vec<String> {
    let mut notes = Vec::new();
    if cfg.drl_sources.is_empty() && cfg.jurisdiction.is_none() {
        notes.push(
            "no DRL jurisdiction or source selected: no median was compared with a DRL".to_string(),
        );
    } else if cfg.drl_sources.is_empty() {
        let j = cfg.jurisdiction.as_deref().unwrap_or_default();
        if !cfg
            .tables
            .drl_levels()
            .iter()
            .any(|l| l.jurisdiction.eq_ignore_ascii_case(j))
        {
            notes.push(format!("no loaded DRL table has jurisdiction {j:?}"));
        }
    }
    notes
}

/// Why a procedure is not in the DRL statistics; the first reason that applies, in this
/// order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Exclusion {
    /// A year is set and the date is missing or not a valid DA.
    NoDate,
    /// The study date is outside the selected year.
    OutsidePeriod,
    /// An age limit is set and the age is unknown.
    AgeUnknown,
    /// The patient is younger than the age limit.
    NotAdult,
    /// No mapping rule matches.
    Unmatched,
    /// Mapping rules of equal priority give different procedure types.
    Ambiguous,
    /// The totals are not complete RDSR accumulated data.
    Incomplete,
}

/// One procedure with its assigned type and raw texts, for review of the typing (unmatched
/// and multiple-type procedures are listed here, never dropped).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ProcedureTypeRow {
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
    /// The assigned procedure type.
    pub procedure_code: Option<String>,
    /// `matched`, `multiple_resolved`, `ambiguous` or `unmatched`.
    pub match_status: MatchStatus,
    /// Every code of a matching rule, best priority first, separated by `;`.
    pub matched_codes: String,
    /// `file:line` of the best matching rule(s), separated by `;`.
    pub rules: String,
    /// Study descriptions, verbatim, separated by `;`.
    pub study_description: String,
    /// Requested procedure descriptions, verbatim, separated by `;`.
    pub requested_procedure_description: String,
    /// Performed procedure step descriptions, verbatim, separated by `;`.
    pub performed_procedure_step_description: String,
    /// Procedure codes, verbatim, separated by `;`.
    pub procedure_codes: String,
    /// Protocol names, verbatim, separated by `;`.
    pub protocol_names: String,
    /// Why the procedure is not in the DRL statistics; empty if it is.
    pub exclusion: Option<Exclusion>,
    /// Whether its K_a,r is left out of the statistics (reference point not standard).
    pub ka_r_excluded_not_comparable: bool,
}

/// How many procedures were received, de-duplicated and excluded, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExclusionCounts {
    /// Records added.
    pub procedures_received: usize,
    /// Records ignored because their `procedure_id` was already added.
    pub duplicates: usize,
    /// Distinct procedures.
    pub procedures: usize,
    /// Outside the selected year.
    pub outside_period: usize,
    /// Without a valid date while a year is selected.
    pub no_date: usize,
    /// Younger than the age limit.
    pub not_adult: usize,
    /// Age unknown while an age limit is set.
    pub age_unknown: usize,
    /// No procedure type.
    pub unmatched: usize,
    /// Several procedure types of equal priority.
    pub ambiguous: usize,
    /// Incomplete totals.
    pub incomplete: usize,
    /// In the statistics.
    pub included: usize,
    /// Of those included, K_a,r left out (reference point not standard).
    pub ka_r_not_comparable: usize,
    /// Procedures left out of cumulative sums: no patient id.
    pub cumulative_no_patient_id: usize,
    /// Procedures left out of cumulative sums: no valid date.
    pub cumulative_no_date: usize,
}

/// Everything a survey computes. Serializes as one JSON object whose `drl` and `alerts`
/// members are the report sections; each `Vec` of rows also serializes as CSV.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SurveyReport {
    /// How quartiles and medians are computed: linear interpolation between order statistics
    /// (Hyndman-Fan type 7, as numpy's default and spreadsheets' PERCENTILE.INC).
    pub quantile_method: &'static str,
    /// One row per group × quantity.
    pub drl: Vec<DrlRow>,
    /// Trigger-level alerts and cumulative sums.
    pub alerts: AlertReport,
    /// Every distinct procedure, with its assigned type, raw texts and exclusion.
    pub procedure_types: Vec<ProcedureTypeRow>,
    /// The texts of the procedures left untyped (unmatched or ambiguous), most frequent
    /// first: what a user's mapping file should type.
    pub unmatched_descriptions: Vec<UnmatchedDescriptionRow>,
    /// Counts of procedures received, duplicated and excluded.
    pub exclusions: ExclusionCounts,
    /// Remarks on the survey as a whole (for example no DRL selected).
    pub notes: Vec<String>,
}

impl SurveyReport {
    /// Whether any group median is above its DRL ([`Verdict::Above`]).
    pub fn any_drl_exceeded(&self) -> bool {
        self.drl.iter().any(|r| r.verdict == Verdict::Above)
    }

    /// The procedures that no mapping rule types.
    pub fn unmatched(&self) -> impl Iterator<Item = &ProcedureTypeRow> {
        self.procedure_types
            .iter()
            .filter(|p| p.match_status == MatchStatus::Unmatched)
    }

    /// The procedures that match several procedure types (resolved by priority or not).
    pub fn multiple_types(&self) -> impl Iterator<Item = &ProcedureTypeRow> {
        self.procedure_types.iter().filter(|p| {
            matches!(
                p.match_status,
                MatchStatus::MultipleResolved | MatchStatus::Ambiguous
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::mapping::{ProcedureMapping, ProcedureText};
    use crate::reference::tables::ReferenceTables;
    use crate::reference::{MinSampleSize, drl::GroupScope};
    use crate::units::Dap;

    /// `alpha alone`: matched; `alpha gamma`: resolved to alpha; `alpha beta`: ambiguous.
    const MAPPING: &str = "priority,procedure_code,match,pattern\n\
        10,alpha,word,alpha\n\
        10,beta,word,beta\n\
        20,gamma,word,gamma\n";

    fn config() -> SurveyConfig {
        let mut mapping = ProcedureMapping::default();
        mapping
            .load_csv("test-map.csv", MAPPING.as_bytes())
            .unwrap();
        let mut tables = ReferenceTables::default();
        tables
            .load_drl_csv(
                "test-drl.csv",
                "source_id,jurisdiction,year,procedure_code,population,quantity,unit,value,statistic\n\
                 L,XX,2020,alpha,adult,pka,Gy.cm2,25,p75_patients\n"
                    .as_bytes(),
            )
            .unwrap();
        SurveyConfig {
            mapping,
            tables,
            drl_sources: vec!["L".to_string()],
            year: Some(2024),
            adult_min_age_years: Some(18.0),
            min_sample_sizes: vec![MinSampleSize::new(None, None, 2, "two", true)],
            ..SurveyConfig::default()
        }
    }

    fn record(id: &str, room: &str, text: &str, dap_gy_cm2: f64) -> SurveyRecord {
        SurveyRecord {
            procedure_id: id.to_string(),
            room: room.to_string(),
            date: Some("20240615".to_string()),
            patient_age_years: Some(50.0),
            texts: vec![ProcedureText::new(TextField::StudyDescription, text)],
            dap: Some(Dap::try_from_gy_cm2(dap_gy_cm2).unwrap()),
            complete: true,
            ka_r_comparable: true,
            ..SurveyRecord::default()
        }
    }

    /// A patient's earlier procedures count in the sums of the period's procedures, and
    /// nowhere else; a window of earlier procedures alone gives no row.
    #[test]
    fn history_counts_only_in_windows_that_end_in_the_period() {
        let dated = |id: &str, date: &str, dap: f64| SurveyRecord {
            patient_id: Some("P1".into()),
            date: Some(date.into()),
            ..record(id, "R1", "alpha", dap)
        };
        let mut with = Survey::new(config()).unwrap();
        with.add(dated("now", "20240615", 10.0));
        // 10 days before: in the 84-day window of "now".
        with.add_history(dated("before", "20240605", 30.0));
        // Two old ones that make a bigger window of their own, ending before the period.
        with.add_history(dated("old1", "20240101", 100.0));
        with.add_history(dated("old2", "20240102", 100.0));
        // Another patient's history is not read.
        with.add_history(SurveyRecord {
            patient_id: Some("P2".into()),
            ..dated("other", "20240614", 500.0)
        });
        let report = with.finish();
        let rows = &report.alerts.patient_cumulative;
        let pka: Vec<_> = rows
            .iter()
            .filter(|r| r.quantity == DrlQuantity::Pka)
            .collect();
        assert_eq!(pka.len(), 1, "{rows:?}");
        assert_eq!(pka[0].patient_id, "P1");
        assert!((pka[0].total - 40.0).abs() < 1e-9, "{}", pka[0].total);
        assert_eq!(pka[0].procedure_ids, "before;now");
        assert_eq!(report.procedure_types.len(), 1, "history is not surveyed");
        // Without history: one procedure, no sum.
        let mut without = Survey::new(config()).unwrap();
        without.add(dated("now", "20240615", 10.0));
        assert!(without.finish().alerts.patient_cumulative.is_empty());
    }

    #[test]
    fn period_and_age_filters_at_their_limits() {
        assert_eq!(period_filter(None, None), None);
        assert_eq!(period_filter(Some(2024), Some("20240101")), None);
        assert_eq!(period_filter(Some(2024), Some("20241231")), None);
        assert_eq!(
            period_filter(Some(2024), Some("20231231")),
            Some(Exclusion::OutsidePeriod)
        );
        assert_eq!(
            period_filter(Some(2024), Some("20250101")),
            Some(Exclusion::OutsidePeriod)
        );
        assert_eq!(period_filter(Some(2024), None), Some(Exclusion::NoDate));
        assert_eq!(
            period_filter(Some(2024), Some("20240230")),
            Some(Exclusion::NoDate)
        );

        assert_eq!(age_filter(None, None), None);
        assert_eq!(age_filter(Some(18.0), Some(18.0)), None);
        assert_eq!(
            age_filter(Some(18.0), Some(17.99)),
            Some(Exclusion::NotAdult)
        );
        assert_eq!(age_filter(Some(0.0), Some(0.0)), None);
        for unknown in [None, Some(-1.0), Some(f64::NAN)] {
            assert_eq!(age_filter(Some(18.0), unknown), Some(Exclusion::AgeUnknown));
        }
    }

    #[test]
    fn the_first_exclusion_in_order_is_reported() {
        let cfg = config();
        let unmatched = cfg.mapping.classify("r", &[]);
        // outside the period, a child, untyped and incomplete: the period comes first
        let mut r = record("p", "r", "delta", 1.0);
        r.date = Some("20230101".to_string());
        r.patient_age_years = Some(5.0);
        r.complete = false;
        assert_eq!(
            exclusion(&cfg, &r, &unmatched),
            Some(Exclusion::OutsidePeriod)
        );
        r.date = Some("20240101".to_string());
        assert_eq!(exclusion(&cfg, &r, &unmatched), Some(Exclusion::NotAdult));
        r.patient_age_years = Some(40.0);
        assert_eq!(exclusion(&cfg, &r, &unmatched), Some(Exclusion::Unmatched));
        let typed = Typed::of(
            &cfg,
            &SurveyRecord {
                complete: false,
                ..record("q", "r", "alpha beta", 1.0)
            },
        );
        assert_eq!(typed.exclusion, Some(Exclusion::Ambiguous));
        let typed = Typed::of(
            &cfg,
            &SurveyRecord {
                complete: false,
                ka_r_comparable: false,
                ..record("q", "r", "alpha", 1.0)
            },
        );
        assert_eq!(typed.exclusion, Some(Exclusion::Incomplete));
        // K_a,r is flagged as left out only for procedures in the statistics
        assert!(!typed.ka_r_excluded);
        let typed = Typed::of(
            &cfg,
            &SurveyRecord {
                ka_r_comparable: false,
                ..record("q", "r", "alpha", 1.0)
            },
        );
        assert_eq!((typed.exclusion, typed.ka_r_excluded), (None, true));
    }

    /// Three procedures in the statistics (P_KA 10 and 40 in R1, 20 in R2; the latter at
    /// exactly the age limit and resolved from two types), an incomplete one in R1, and one
    /// for each other exclusion.
    fn records() -> Vec<SurveyRecord> {
        let mut v = vec![
            record("a1", "R1", "alpha", 10.0),
            record("a2", "R2", "Alpha gamma", 20.0),
            record("a3", "R1", "alpha", 30.0),
            record("a4", "R1", "alpha", 1000.0),
            record("a5", "R1", "alpha", 1000.0),
            record("a6", "R1", "alpha", 1000.0),
            record("a7", "R1", "alpha", 1000.0),
            record("a8", "R1", "alpha", 40.0),
            record("b1", "R1", "alpha beta", 1000.0),
            record("u1", "R1", "delta", 1000.0),
        ];
        v[1].patient_age_years = Some(18.0);
        v[2].complete = false;
        v[3].date = Some("20230615".to_string());
        v[4].patient_age_years = Some(17.5);
        v[5].patient_age_years = None;
        v[6].date = None;
        v[7].ka_r_comparable = false;
        v
    }

    #[test]
    fn finish_types_filters_groups_and_counts() {
        let mut survey = Survey::new(config()).unwrap();
        let mut input = records();
        input.reverse();
        for r in input {
            assert!(survey.add(r));
        }
        assert!(!survey.add(record("a1", "R9", "beta", 1.0)));
        let report = survey.finish();

        // groups alpha × (R1, R2, all rooms) × 4 quantities, rooms first
        let rows: Vec<(Option<&str>, DrlQuantity)> = report
            .drl
            .iter()
            .map(|r| (r.room.as_deref(), r.quantity))
            .collect();
        let mut expected = Vec::new();
        for room in [Some("R1"), Some("R2"), None] {
            for q in DrlQuantity::SURVEYED {
                expected.push((room, q));
            }
        }
        assert_eq!(rows, expected);
        let pka: Vec<&DrlRow> = report
            .drl
            .iter()
            .filter(|r| r.quantity == DrlQuantity::Pka)
            .collect();
        // R1: 10, 40 (median 25 = DRL: below), the incomplete one counted
        assert_eq!(
            (pka[0].n, pka[0].median, pka[0].excluded_incomplete),
            (2, Some(25.0), 1)
        );
        assert_eq!(pka[0].verdict, Verdict::Below);
        // R2: one procedure, never compared
        assert_eq!((pka[1].n, pka[1].verdict), (1, Verdict::InsufficientSample));
        // all rooms: 10, 20, 40
        assert_eq!(pka[2].scope, GroupScope::AllRooms);
        assert_eq!(
            (pka[2].n, pka[2].median, pka[2].excluded_incomplete),
            (3, Some(20.0), 1)
        );
        assert_eq!(pka[2].median_to_drl, Some(0.8));

        let x = &report.exclusions;
        assert_eq!(
            (x.procedures_received, x.duplicates, x.procedures),
            (11, 1, 10)
        );
        assert_eq!(
            (x.outside_period, x.no_date, x.not_adult, x.age_unknown),
            (1, 1, 1, 1)
        );
        assert_eq!(
            (x.unmatched, x.ambiguous, x.incomplete, x.included),
            (1, 1, 1, 3)
        );
        assert_eq!(x.ka_r_not_comparable, 1);
        assert_eq!((x.cumulative_no_patient_id, x.cumulative_no_date), (10, 0));

        // every distinct procedure is listed, sorted by id, the first record of a1 kept
        let ids: Vec<&str> = report
            .procedure_types
            .iter()
            .map(|p| p.procedure_id.as_str())
            .collect();
        assert_eq!(
            ids,
            ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "b1", "u1"]
        );
        assert_eq!(report.procedure_types[0].room, "R1");
        let a2 = &report.procedure_types[1];
        assert_eq!(a2.match_status, MatchStatus::MultipleResolved);
        assert_eq!(
            (a2.procedure_code.as_deref(), a2.matched_codes.as_str()),
            (Some("alpha"), "alpha;gamma")
        );
        assert_eq!((a2.rules.as_str(), a2.exclusion), ("test-map.csv:2", None));
        let b1 = &report.procedure_types[8];
        assert_eq!(
            (b1.procedure_code.as_deref(), b1.exclusion),
            (None, Some(Exclusion::Ambiguous))
        );
        assert!(report.procedure_types[7].ka_r_excluded_not_comparable);
        assert_eq!(
            report
                .unmatched()
                .map(|p| p.procedure_id.as_str())
                .collect::<Vec<_>>(),
            ["u1"]
        );
        assert_eq!(report.multiple_types().count(), 2);
        // the untyped procedures' texts, unmatched before ambiguous at equal counts
        let untyped: Vec<(MatchStatus, &str, &str)> = report
            .unmatched_descriptions
            .iter()
            .map(|u| {
                let ids = u.example_procedure_ids.as_str();
                (u.match_status, u.text.as_str(), ids)
            })
            .collect();
        assert_eq!(
            untyped,
            [
                (MatchStatus::Unmatched, "delta", "u1"),
                (MatchStatus::Ambiguous, "alpha beta", "b1")
            ]
        );
        assert_eq!(report.unmatched_descriptions[1].matched_codes, "alpha;beta");
        assert!(!report.any_drl_exceeded());
        assert!(report.notes.is_empty());
        assert_eq!(report.alerts.cumulative_window_days, 84);
    }

    #[test]
    fn procedure_rows_join_the_texts_of_each_field() {
        let cfg = config();
        let mut r = record("p", "r", "alpha", 1.0);
        r.texts.extend([
            ProcedureText::new(TextField::ProtocolName, "P1"),
            ProcedureText::new(TextField::StudyDescription, "second"),
            ProcedureText::new(TextField::ProcedureCode, "C1"),
        ]);
        let row = procedure_row(&r, &Typed::of(&cfg, &r));
        assert_eq!(row.study_description, "alpha;second");
        assert_eq!(
            (row.protocol_names.as_str(), row.procedure_codes.as_str()),
            ("P1", "C1")
        );
        assert_eq!(row.requested_procedure_description, "");
        assert_eq!(row.performed_procedure_step_description, "");
    }

    #[test]
    fn notes_say_when_no_drl_can_be_compared() {
        let mut cfg = SurveyConfig::default();
        assert_eq!(
            notes(&cfg),
            ["no DRL jurisdiction or source selected: no median was compared with a DRL"]
        );
        cfg.jurisdiction = Some("ZZ".to_string());
        assert_eq!(notes(&cfg), ["no loaded DRL table has jurisdiction \"ZZ\""]);
        cfg.jurisdiction = Some("fr".to_string());
        assert!(notes(&cfg).is_empty());
        cfg.jurisdiction = Some("ZZ".to_string());
        cfg.drl_sources = vec![cfg.tables.drl_levels()[0].source_id.clone()];
        assert!(notes(&cfg).is_empty());
    }
}

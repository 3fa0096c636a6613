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

/// Collects de-duplicated procedures, then computes the survey report.
///
/// ```
/// use kerma::{Dap, ProcedureText, Survey, SurveyConfig, SurveyRecord, TextField, Verdict};
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
///     .find(|r| r.room.is_none() && r.quantity == kerma::DrlQuantity::Pka)
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
        })
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
        let alerts = procedure_alerts(
            records.iter().zip(typed.iter().map(|t| &t.class)),
            &triggers,
        );
        let window_days = cfg.window_days();
        let cumulative = patient_cumulative(records, &triggers, window_days);
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
                not_evaluated: not_evaluated(&triggers),
            },
            procedure_types: records
                .iter()
                .zip(&typed)
                .map(|(r, t)| procedure_row(r, t))
                .collect(),
            exclusions,
            notes: notes(cfg),
        }
    }
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
        for q in DrlQuantity::SURVEYED {
            let sample = Sample::collect(members, q);
            drl.push(drl_row(cfg, group, q, &sample));
            proportions.extend(proportion_rows(cfg.year, group, q, &sample, triggers));
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
    /// Its room.
    pub room: String,
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
    /// [`QUANTILE_METHOD`].
    pub quantile_method: &'static str,
    /// One row per group × quantity.
    pub drl: Vec<DrlRow>,
    /// Trigger-level alerts and cumulative sums.
    pub alerts: AlertReport,
    /// Every distinct procedure, with its assigned type, raw texts and exclusion.
    pub procedure_types: Vec<ProcedureTypeRow>,
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

//! The dose survey: statistics per procedure type and room, comparison with reference levels,
//! trigger-level alerts and per-patient cumulative sums.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::Serialize;

use super::date::{Day, parse_da};
use super::error::ReferenceError;
use super::mapping::{Classification, MatchStatus, ProcedureMapping, ProcedureText, TextField};
use super::quantity::{DrlQuantity, minutes};
use super::stats::{QUANTILE_METHOD, Summary};
use super::tables::{ReferenceLevel, ReferenceTables, TriggerLevel};
use crate::units::{AirKerma, Dap};

const SECONDS_PER_DAY: u64 = 86_400;
const DAYS_PER_WEEK: u64 = 7;
/// OpenREM's default look-back for per-patient sums (`accum_dose_delta_weeks`).
const OPENREM_WINDOW_WEEKS: u64 = 12;

/// Why the per-patient K_a,r sum is only an indicator.
pub const KA_R_SUM_CAVEAT: &str = "a sum of K_a,r over procedures (and over planes) overestimates peak skin dose when the irradiated skin fields differ; it is an upper-bound indicator, not a skin dose";

const WINDOW_BASIS: &str =
    "default 12 weeks is OpenREM's software default (accum_dose_delta_weeks), not a regulation";

/// One de-duplicated procedure, as the survey sees it.
///
/// The caller (procedure grouping) builds one record per procedure after de-duplication;
/// the survey itself de-duplicates again by `procedure_id`, keeping the first record added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SurveyRecord {
    /// Unique identifier of the procedure (the de-duplication key).
    pub procedure_id: String,
    /// Patient ID (0010,0020); needed for per-patient cumulative sums.
    pub patient_id: Option<String>,
    /// Room: the device key of DOMAIN.md §9.1 (Device Observer UID, else manufacturer,
    /// model and serial, else station name).
    pub room: String,
    /// Study date, DICOM DA `YYYYMMDD`.
    pub date: Option<String>,
    /// Patient age in years, for the adult filter.
    pub patient_age_years: Option<f64>,
    /// Study description, requested and performed procedure descriptions, procedure codes
    /// and protocol names, each with its field. Used for procedure typing and reported
    /// verbatim.
    pub texts: Vec<ProcedureText>,
    /// Procedure total kerma-area product P_KA (planes summed).
    pub dap: Option<Dap>,
    /// Sum of the planes' K_a,r (named as such: for a biplane procedure it describes no
    /// single point).
    pub ka_r: Option<AirKerma>,
    /// Total fluoroscopy time.
    pub fluoro_time: Option<Duration>,
    /// Number of acquisition images (frames).
    pub acquisition_frames: Option<u64>,
    /// Whether the totals come from complete RDSR accumulated data (DOMAIN.md §9.5).
    /// Incomplete procedures are left out of the DRL statistics and counted.
    pub complete: bool,
    /// Whether K_a,r refers to the standard interventional reference point; if not, K_a,r is
    /// left out of the DRL statistics and counted.
    pub ka_r_comparable: bool,
}

impl SurveyRecord {
    fn value(&self, q: DrlQuantity) -> Option<f64> {
        match q {
            DrlQuantity::Pka => self.dap.map(Dap::as_gy_cm2),
            DrlQuantity::KaR => self.ka_r.map(AirKerma::as_mgy),
            DrlQuantity::FluoroTime => self.fluoro_time.map(minutes),
            DrlQuantity::Images => self.acquisition_frames.map(|n| n as f64),
            DrlQuantity::PeakSkinDose => None,
        }
    }
}

/// A minimum number of procedures below which a group's median is not compared with a DRL.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MinSampleSize {
    /// Jurisdiction code it applies to (compared without regard to ASCII case); `None` for
    /// the fallback used when no entry names the jurisdiction.
    pub jurisdiction: Option<String>,
    /// Procedure type it applies to; `None` for every type.
    pub procedure_code: Option<String>,
    /// The minimum number of procedures (at least 1).
    pub n: usize,
    /// Where the number comes from.
    pub basis: String,
    /// Whether the rule was read in its source (see `SOURCES.md`); `false` marks a recalled,
    /// third-party or fallback value.
    pub verified: bool,
}

impl MinSampleSize {
    /// A minimum sample size entry.
    pub fn new(
        jurisdiction: Option<&str>,
        procedure_code: Option<&str>,
        n: usize,
        basis: impl Into<String>,
        verified: bool,
    ) -> MinSampleSize {
        MinSampleSize {
            jurisdiction: jurisdiction.map(str::to_string),
            procedure_code: procedure_code.map(str::to_string),
            n,
            basis: basis.into(),
            verified,
        }
    }

    /// The defaults, from `SOURCES.md` ("What a dose-tracking tool must compute", item 3):
    ///
    /// | jurisdiction | procedure | n | basis | verified |
    /// | --- | --- | --- | --- | --- |
    /// | FR | any | 10 | 2019 PIR rule as recalled and as applied by a third-party script (FR_ASN_2019_DC_0667) | no |
    /// | AU | any | 30 | ARPANSA IGIP survey asks for 30 patients per procedure (AU_ARPANSA_IGIP_2020) | yes |
    /// | AU | cerebral_angiography | 50 | ARPANSA IGIP survey asks for 50 (AU_ARPANSA_IGIP_2020) | yes |
    /// | any other | any | 30 | no rule seen; the abrogated French 2011 rule (FR_ARRETE_2011) | no |
    pub fn defaults() -> Vec<MinSampleSize> {
        vec![
            MinSampleSize::new(
                Some("FR"),
                None,
                10,
                "FR_ASN_2019_DC_0667: at least 10 patients per PIR procedure, recalled and used by a third-party script; not read in the decision",
                false,
            ),
            MinSampleSize::new(
                Some("AU"),
                None,
                30,
                "AU_ARPANSA_IGIP_2020: the IGIP survey asks for data for 30 patients per procedure",
                true,
            ),
            MinSampleSize::new(
                Some("AU"),
                Some("cerebral_angiography"),
                50,
                "AU_ARPANSA_IGIP_2020: the IGIP survey asks for 50 patients for cerebral angiogram",
                true,
            ),
            MinSampleSize::new(
                None,
                None,
                30,
                "fallback: no rule seen for this jurisdiction; FR_ARRETE_2011 (abrogated) required 30 adult patients",
                false,
            ),
        ]
    }
}

/// Settings of a [`Survey`].
///
/// [`SurveyConfig::default`] uses the bundled tables and mapping, no DRL selection (so no
/// comparison until a jurisdiction or sources are chosen), every trigger level, no period,
/// no age filter, [`MinSampleSize::defaults`] and a 12-week cumulative window.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SurveyConfig {
    /// Reference and trigger levels.
    pub tables: ReferenceTables,
    /// Procedure typing rules.
    pub mapping: ProcedureMapping,
    /// Jurisdiction whose DRLs are compared with (for example `FR`); for each procedure type
    /// and quantity the most recent row of that jurisdiction is used. Also selects the
    /// minimum sample size when no DRL applies.
    pub jurisdiction: Option<String>,
    /// Source ids to compare with, in order of preference; when not empty, it replaces the
    /// jurisdiction rule: the first listed source with a row for the procedure type and
    /// quantity is used.
    pub drl_sources: Vec<String>,
    /// Source ids of the trigger levels to evaluate; `None` evaluates every loaded level.
    pub trigger_sources: Option<Vec<String>>,
    /// Calendar year of the DRL statistics (study date); `None` for all dates.
    pub year: Option<i32>,
    /// If set, only patients of at least this age (years) enter the DRL statistics (for
    /// example 18; ARPANSA's adult DRLs use 15).
    pub adult_min_age_years: Option<f64>,
    /// Minimum sample sizes; the most specific entry for (jurisdiction, procedure) applies.
    pub min_sample_sizes: Vec<MinSampleSize>,
    /// Look-back of per-patient cumulative sums, counted in whole days (at least one).
    /// Default 12 weeks, OpenREM's software default, not a regulation.
    pub cumulative_window: Duration,
}

impl Default for SurveyConfig {
    fn default() -> SurveyConfig {
        SurveyConfig {
            tables: ReferenceTables::bundled(),
            mapping: ProcedureMapping::bundled(),
            jurisdiction: None,
            drl_sources: Vec::new(),
            trigger_sources: None,
            year: None,
            adult_min_age_years: None,
            min_sample_sizes: MinSampleSize::defaults(),
            cumulative_window: Duration::from_secs(
                OPENREM_WINDOW_WEEKS * DAYS_PER_WEEK * SECONDS_PER_DAY,
            ),
        }
    }
}

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
        let sources = config
            .drl_sources
            .iter()
            .chain(config.trigger_sources.iter().flatten());
        for s in sources {
            if !config.tables.has_source(s) {
                return Err(ReferenceError::UnknownSource {
                    source_id: s.clone(),
                });
            }
        }
        if config.min_sample_sizes.iter().any(|m| m.n == 0) {
            return Err(ReferenceError::InvalidSetting {
                setting: "min_sample_sizes",
                reason: "a minimum sample size must be at least 1",
            });
        }
        if config
            .adult_min_age_years
            .is_some_and(|a| !(a.is_finite() && a >= 0.0))
        {
            return Err(ReferenceError::InvalidSetting {
                setting: "adult_min_age_years",
                reason: "must be a finite, non-negative number of years",
            });
        }
        if config.year.is_some_and(|y| !(1900..=2200).contains(&y)) {
            return Err(ReferenceError::InvalidSetting {
                setting: "year",
                reason: "must be between 1900 and 2200",
            });
        }
        if config.cumulative_window.as_secs() < SECONDS_PER_DAY {
            return Err(ReferenceError::InvalidSetting {
                setting: "cumulative_window",
                reason: "must be at least one day",
            });
        }
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
        let window_days = cfg.cumulative_window.as_secs() / SECONDS_PER_DAY;
        let triggers: Vec<&TriggerLevel> = cfg
            .tables
            .trigger_levels()
            .iter()
            .filter(|t| {
                cfg.trigger_sources
                    .as_ref()
                    .is_none_or(|s| s.contains(&t.source_id))
            })
            .collect();

        let mut counts = ExclusionCounts {
            procedures_received: self.received,
            duplicates: self.received - self.records.len(),
            procedures: self.records.len(),
            ..ExclusionCounts::default()
        };
        let mut procedures = Vec::with_capacity(self.records.len());
        let mut classes = Vec::with_capacity(self.records.len());
        // (code, room) -> indices of group members
        let mut groups: BTreeMap<(String, Option<String>), Vec<usize>> = BTreeMap::new();
        for (i, r) in self.records.iter().enumerate() {
            let class = cfg.mapping.classify(&r.room, &r.texts);
            let day = r.date.as_deref().and_then(parse_da);
            let exclusion = exclusion(cfg, r, day, &class);
            match exclusion {
                Some(Exclusion::OutsidePeriod) => counts.outside_period += 1,
                Some(Exclusion::NoDate) => counts.no_date += 1,
                Some(Exclusion::NotAdult) => counts.not_adult += 1,
                Some(Exclusion::AgeUnknown) => counts.age_unknown += 1,
                Some(Exclusion::Unmatched) => counts.unmatched += 1,
                Some(Exclusion::Ambiguous) => counts.ambiguous += 1,
                Some(Exclusion::Incomplete) => counts.incomplete += 1,
                None => counts.included += 1,
            }
            let ka_r_excluded = exclusion.is_none() && !r.ka_r_comparable;
            if ka_r_excluded {
                counts.ka_r_not_comparable += 1;
            }
            if let (Some(code), None | Some(Exclusion::Incomplete)) =
                (&class.procedure_code, exclusion)
            {
                groups
                    .entry((code.clone(), Some(r.room.clone())))
                    .or_default()
                    .push(i);
                groups.entry((code.clone(), None)).or_default().push(i);
            }
            procedures.push(procedure_row(r, &class, exclusion, ka_r_excluded));
            classes.push(class);
        }

        let mut drl = Vec::new();
        let mut proportions = Vec::new();
        // per code: rooms first (sorted), then the all-rooms row
        let mut keys: Vec<&(String, Option<String>)> = groups.keys().collect();
        keys.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then(a.1.is_none().cmp(&b.1.is_none()))
                .then(a.1.cmp(&b.1))
        });
        for key in keys {
            let members = &groups[key];
            let (code, room) = key;
            for q in DrlQuantity::SURVEYED {
                let mut sample: Vec<(f64, &str)> = Vec::new();
                let (mut incomplete, mut not_comparable, mut missing) = (0, 0, 0);
                for &i in members {
                    let r = &self.records[i];
                    if !r.complete {
                        incomplete += 1;
                    } else if q == DrlQuantity::KaR && !r.ka_r_comparable {
                        not_comparable += 1;
                    } else {
                        match r.value(q) {
                            Some(v) => sample.push((v, r.procedure_id.as_str())),
                            None => missing += 1,
                        }
                    }
                }
                let values: Vec<f64> = sample.iter().map(|s| s.0).collect();
                let summary = Summary::of(&values);
                let level = select_level(cfg, code, q, false);
                let guide = select_level(cfg, code, q, true);
                let jurisdiction = level
                    .map(|l| l.jurisdiction.as_str())
                    .or(cfg.jurisdiction.as_deref());
                let min = min_sample(&cfg.min_sample_sizes, jurisdiction, code);
                let n = summary.map_or(0, |s| s.n);
                let median = summary.map(|s| s.median);
                let compare = |l: Option<&ReferenceLevel>| {
                    let value = l.map(|l| l.value.in_report_unit());
                    let ratio = median.zip(value).map(|(m, v)| m / v);
                    let verdict = match (value, median) {
                        (None, _) => Verdict::NoReference,
                        // a single patient is never compared with a DRL, whatever the configured minimum
                        (Some(_), _) if n < min.0.max(2) => Verdict::InsufficientSample,
                        (Some(v), Some(m)) if m > v => Verdict::Above,
                        (Some(_), Some(_)) => Verdict::Below,
                        (Some(_), None) => Verdict::InsufficientSample,
                    };
                    (value, ratio, verdict)
                };
                let (drl_value, median_to_drl, verdict) = compare(level);
                let (guide_value, median_to_guide, guide_verdict) = compare(guide);
                let scope = if room.is_some() {
                    GroupScope::Room
                } else {
                    GroupScope::AllRooms
                };
                drl.push(DrlRow {
                    procedure_code: code.clone(),
                    scope,
                    room: room.clone(),
                    year: cfg.year,
                    quantity: q,
                    unit: q.report_unit(),
                    n,
                    excluded_incomplete: incomplete,
                    excluded_ka_r_not_comparable: not_comparable,
                    missing_value: missing,
                    median,
                    mean: summary.map(|s| s.mean),
                    q1: summary.map(|s| s.q1),
                    q3: summary.map(|s| s.q3),
                    min: summary.map(|s| s.min),
                    max: summary.map(|s| s.max),
                    quantile_method: QUANTILE_METHOD,
                    min_sample_size: min.0,
                    min_sample_size_basis: min.1,
                    min_sample_size_verified: min.2,
                    drl_source_id: level.map(|l| l.source_id.clone()),
                    drl_jurisdiction: level.map(|l| l.jurisdiction.clone()),
                    drl_year: level.and_then(|l| l.year),
                    drl_population: level.map(|l| l.population.clone()),
                    drl_statistic: level.map(|l| l.statistic.clone()),
                    drl_value,
                    median_to_drl,
                    verdict,
                    guide_source_id: guide.map(|l| l.source_id.clone()),
                    guide_value,
                    median_to_guide,
                    guide_verdict,
                });
                for t in triggers.iter().filter(|t| {
                    t.value.quantity() == q && t.procedure_code.as_ref().is_none_or(|c| c == code)
                }) {
                    let level = t.value.in_report_unit();
                    let at: Vec<&str> = sample
                        .iter()
                        .filter(|s| s.0 >= level)
                        .map(|s| s.1)
                        .collect();
                    proportions.push(TriggerProportionRow {
                        procedure_code: code.clone(),
                        scope,
                        room: room.clone(),
                        year: cfg.year,
                        quantity: q,
                        unit: q.report_unit(),
                        level,
                        level_procedure_code: t.procedure_code.clone(),
                        source_id: t.source_id.clone(),
                        n: sample.len(),
                        n_at_or_above: at.len(),
                        proportion: (!sample.is_empty())
                            .then(|| at.len() as f64 / sample.len() as f64),
                        procedure_ids: at.join(";"),
                    });
                }
            }
        }

        let alerts = procedure_alerts(&self.records, &classes, &triggers);
        let (patient_cumulative, no_patient, no_day) =
            patient_cumulative(&self.records, &triggers, window_days);
        counts.cumulative_no_patient_id = no_patient;
        counts.cumulative_no_date = no_day;

        let mut notes = Vec::new();
        if cfg.drl_sources.is_empty() && cfg.jurisdiction.is_none() {
            notes.push(
                "no DRL jurisdiction or source selected: no median was compared with a DRL"
                    .to_string(),
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
        let not_evaluated: Vec<String> = triggers
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
            .collect();

        SurveyReport {
            quantile_method: QUANTILE_METHOD,
            drl,
            alerts: AlertReport {
                procedures: alerts,
                proportions,
                patient_cumulative,
                cumulative_window_days: window_days,
                cumulative_window_basis: WINDOW_BASIS,
                ka_r_caveat: KA_R_SUM_CAVEAT,
                not_evaluated,
            },
            procedure_types: procedures,
            exclusions: counts,
            notes,
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

fn exclusion(
    cfg: &SurveyConfig,
    r: &SurveyRecord,
    day: Option<Day>,
    class: &Classification,
) -> Option<Exclusion> {
    if let Some(year) = cfg.year {
        match day {
            None => return Some(Exclusion::NoDate),
            Some(d) if d.year != year => return Some(Exclusion::OutsidePeriod),
            Some(_) => {}
        }
    }
    if let Some(min_age) = cfg.adult_min_age_years {
        match r.patient_age_years.filter(|a| a.is_finite() && *a >= 0.0) {
            None => return Some(Exclusion::AgeUnknown),
            Some(a) if a < min_age => return Some(Exclusion::NotAdult),
            Some(_) => {}
        }
    }
    match class.status {
        MatchStatus::Unmatched => return Some(Exclusion::Unmatched),
        MatchStatus::Ambiguous => return Some(Exclusion::Ambiguous),
        _ => {}
    }
    if !r.complete {
        return Some(Exclusion::Incomplete);
    }
    None
}

fn select_level<'a>(
    cfg: &'a SurveyConfig,
    code: &str,
    q: DrlQuantity,
    guide: bool,
) -> Option<&'a ReferenceLevel> {
    let mut candidates = cfg.tables.drl_levels().iter().filter(|l| {
        l.procedure_code == code && l.value.quantity() == q && l.is_guide_value() == guide
    });
    if !cfg.drl_sources.is_empty() {
        let all: Vec<&ReferenceLevel> = candidates.collect();
        return cfg
            .drl_sources
            .iter()
            .find_map(|s| all.iter().find(|l| l.source_id == *s).copied());
    }
    let j = cfg.jurisdiction.as_deref()?;
    let mut best: Option<&ReferenceLevel> = None;
    for l in candidates.by_ref() {
        if l.jurisdiction.eq_ignore_ascii_case(j) && best.is_none_or(|b| l.year > b.year) {
            best = Some(l);
        }
    }
    best
}

fn min_sample(
    table: &[MinSampleSize],
    jurisdiction: Option<&str>,
    code: &str,
) -> (usize, String, bool) {
    let j_eq = |m: &MinSampleSize, j: Option<&str>| match (&m.jurisdiction, j) {
        (None, None) => true,
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    };
    let c_eq = |m: &MinSampleSize, c: Option<&str>| m.procedure_code.as_deref() == c;
    let order = [
        (jurisdiction, Some(code)),
        (jurisdiction, None),
        (None, Some(code)),
        (None, None),
    ];
    order
        .iter()
        .find_map(|(j, c)| table.iter().find(|m| j_eq(m, *j) && c_eq(m, *c)))
        .map_or_else(
            || (1, "no minimum sample size configured".to_string(), false),
            |m| (m.n, m.basis.clone(), m.verified),
        )
}

fn procedure_row(
    r: &SurveyRecord,
    class: &Classification,
    exclusion: Option<Exclusion>,
    ka_r_excluded: bool,
) -> ProcedureTypeRow {
    let texts = |f: TextField| {
        r.texts
            .iter()
            .filter(|t| t.field == f)
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(";")
    };
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
        exclusion,
        ka_r_excluded_not_comparable: ka_r_excluded,
    }
}

fn procedure_alerts(
    records: &[SurveyRecord],
    classes: &[Classification],
    triggers: &[&TriggerLevel],
) -> Vec<AlertRow> {
    let mut out = Vec::new();
    for (r, class) in records.iter().zip(classes) {
        for t in triggers {
            if let Some(c) = &t.procedure_code
                && !class.matched_codes.contains(c)
            {
                continue;
            }
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

/// Per patient and quantity (P_KA, K_a,r): the rolling window with the largest sum.
/// Returns the rows, and the numbers of procedures without patient id and without date.
fn patient_cumulative(
    records: &[SurveyRecord],
    triggers: &[&TriggerLevel],
    window_days: u64,
) -> (Vec<PatientCumulativeRow>, usize, usize) {
    let window = i64::try_from(window_days).unwrap_or(i64::MAX);
    let (mut no_patient, mut no_day) = (0, 0);
    let mut by_patient: BTreeMap<&str, Vec<(Day, &SurveyRecord)>> = BTreeMap::new();
    for r in records {
        let Some(p) = r.patient_id.as_deref().filter(|p| !p.trim().is_empty()) else {
            no_patient += 1;
            continue;
        };
        let Some(day) = r.date.as_deref().and_then(parse_da) else {
            no_day += 1;
            continue;
        };
        by_patient.entry(p).or_default().push((day, r));
    }
    let mut rows = Vec::new();
    for (patient, mut list) in by_patient {
        list.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.procedure_id.cmp(&b.1.procedure_id)));
        for q in [DrlQuantity::Pka, DrlQuantity::KaR] {
            let items: Vec<(Day, &SurveyRecord, f64)> = list
                .iter()
                .filter_map(|(d, r)| r.value(q).map(|v| (*d, *r, v)))
                .collect();
            // best window: (sum, start, end) with end inclusive
            let mut best: Option<(f64, usize, usize)> = None;
            let mut start = 0;
            for end in 0..items.len() {
                while items[end].0.number - items[start].0.number >= window {
                    start += 1;
                }
                let sum: f64 = items[start..=end].iter().map(|i| i.2).sum();
                if best.is_none_or(|b| sum > b.0) {
                    best = Some((sum, start, end));
                }
            }
            let Some((total, s, e)) = best else { continue };
            let win = &items[s..=e];
            if win.len() < 2 {
                continue;
            }
            let max_single = win.iter().map(|i| i.2).fold(0.0, f64::max);
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
            rows.push(PatientCumulativeRow {
                patient_id: patient.to_string(),
                quantity: q,
                unit: q.report_unit(),
                window_days,
                window_first_date: win[0].1.date.clone().unwrap_or_default(),
                window_last_date: win[win.len() - 1].1.date.clone().unwrap_or_default(),
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
            });
        }
    }
    (rows, no_patient, no_day)
}

/// The outcome of comparing a group median with a reference level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// The median is at or below the level.
    Below,
    /// The median is above the level (a DRL exceedance: median > DRL).
    Above,
    /// A level exists but the sample is smaller than the minimum sample size (and never
    /// fewer than two procedures: one patient is not compared with a DRL).
    InsufficientSample,
    /// No level was selected for this procedure type and quantity.
    NoReference,
}

/// Whether a row describes one room or all rooms together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GroupScope {
    /// One room (`room` is set).
    Room,
    /// Every room of the procedure type (`room` is empty).
    AllRooms,
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

/// One row of the `drl` section: one group (procedure type × room, or procedure type over
/// all rooms) and one quantity.
///
/// All numbers are in `unit`: `Gy.cm2` for `pka`, `mGy` for `ka_r`, `min` for
/// `fluoro_time`, `count` for `images`. Statistics are empty (`null`) when `n` is 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DrlRow {
    /// Procedure type.
    pub procedure_code: String,
    /// `room` or `all_rooms`.
    pub scope: GroupScope,
    /// The room (device key); empty for `all_rooms`.
    pub room: Option<String>,
    /// The calendar year surveyed, if one was selected.
    pub year: Option<i32>,
    /// The quantity (`pka`, `ka_r`, `fluoro_time`, `images`).
    pub quantity: DrlQuantity,
    /// Unit of every number of the row.
    pub unit: &'static str,
    /// Number of procedures in the statistics.
    pub n: usize,
    /// Group procedures left out because their totals are incomplete.
    pub excluded_incomplete: usize,
    /// Group procedures left out of `ka_r` because their reference point is not standard.
    pub excluded_ka_r_not_comparable: usize,
    /// Eligible procedures without a value for this quantity.
    pub missing_value: usize,
    /// Median (the ICRP "typical value", compared with the DRL).
    pub median: Option<f64>,
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// First quartile.
    pub q1: Option<f64>,
    /// Third quartile.
    pub q3: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// How quartiles and the median are computed ([`QUANTILE_METHOD`]).
    pub quantile_method: &'static str,
    /// Minimum `n` for a comparison.
    pub min_sample_size: usize,
    /// Where the minimum comes from.
    pub min_sample_size_basis: String,
    /// Whether that rule was read in its source.
    pub min_sample_size_verified: bool,
    /// Source of the DRL compared with.
    pub drl_source_id: Option<String>,
    /// Jurisdiction of that DRL.
    pub drl_jurisdiction: Option<String>,
    /// Year of that DRL's source.
    pub drl_year: Option<i32>,
    /// Population of that DRL.
    pub drl_population: Option<String>,
    /// What the DRL value is (for example `p75_patients`: third quartile of pooled patient
    /// values, not of facility medians).
    pub drl_statistic: Option<String>,
    /// The DRL, in `unit`.
    pub drl_value: Option<f64>,
    /// `median / drl_value`.
    pub median_to_drl: Option<f64>,
    /// `below`, `above` (median > DRL), `insufficient_sample` or `no_reference`.
    pub verdict: Verdict,
    /// Source of the guide value compared with, where a table has one.
    pub guide_source_id: Option<String>,
    /// The guide value, in `unit`.
    pub guide_value: Option<f64>,
    /// `median / guide_value`.
    pub median_to_guide: Option<f64>,
    /// Verdict against the guide value.
    pub guide_verdict: Verdict,
}

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
    /// Procedures in the sample (the `n` of the matching [`DrlRow`]).
    pub n: usize,
    /// Procedures whose value is at or above the level.
    pub n_at_or_above: usize,
    /// `n_at_or_above / n`; empty when `n` is 0.
    pub proportion: Option<f64>,
    /// The procedures at or above the level, separated by `;`.
    pub procedure_ids: String,
}

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
    /// For `ka_r`: [`KA_R_SUM_CAVEAT`]; empty for `pka`.
    pub caveat: &'static str,
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
    /// Why a K_a,r sum is not a skin dose ([`KA_R_SUM_CAVEAT`]).
    pub ka_r_caveat: &'static str,
    /// Trigger levels that kerma cannot evaluate, and why.
    pub not_evaluated: Vec<String>,
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

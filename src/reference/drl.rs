//! DRL rows: statistics of each group (procedure type × room, and procedure type over all
//! rooms) for each surveyed quantity, and the comparison of the group median with a
//! reference level.
//!
//! A diagnostic reference level applies to the median of a sample of procedures, never to
//! one patient (ICRP Publication 135, 2017); an exceedance is median > DRL.

use std::collections::BTreeMap;

use serde::Serialize;

use super::config::{MinSampleSize, SurveyConfig};
use super::quantity::DrlQuantity;
use super::record::SurveyRecord;
use super::stats::{QUANTILE_METHOD, Summary};
use super::tables::ReferenceLevel;

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
    /// The room's name; empty for `all_rooms`.
    pub room_name: Option<String>,
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
    /// How quartiles and the median are computed (the survey's `quantile_method`).
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

/// Where a group's procedures were performed: one room, or every room of the procedure
/// type. Rooms order before all rooms, so a procedure type's rows list its rooms (sorted)
/// and then its all-rooms row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Place {
    /// One room (device key).
    Room(String),
    /// Every room of the procedure type.
    AllRooms,
}

/// A group of the DRL statistics. Groups order as reported: by procedure type, then by
/// [`Place`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct GroupKey {
    /// Procedure type.
    pub(super) procedure_code: String,
    /// Room or all rooms.
    pub(super) place: Place,
}

impl GroupKey {
    /// `room` or `all_rooms`.
    pub(super) fn scope(&self) -> GroupScope {
        match self.place {
            Place::Room(_) => GroupScope::Room,
            Place::AllRooms => GroupScope::AllRooms,
        }
    }

    /// The room; `None` for all rooms.
    pub(super) fn room(&self) -> Option<String> {
        match &self.place {
            Place::Room(r) => Some(r.clone()),
            Place::AllRooms => None,
        }
    }
}

/// The members of each group, in report order; within a group, in the order added.
#[derive(Debug, Default)]
pub(super) struct Groups<'a> {
    members: BTreeMap<GroupKey, Vec<&'a SurveyRecord>>,
}

impl<'a> Groups<'a> {
    /// Adds a procedure of type `procedure_code` to the group of its room and to the group
    /// of all rooms.
    pub(super) fn add(&mut self, procedure_code: &str, record: &'a SurveyRecord) {
        for place in [Place::Room(record.room.clone()), Place::AllRooms] {
            let key = GroupKey {
                procedure_code: procedure_code.to_string(),
                place,
            };
            self.members.entry(key).or_default().push(record);
        }
    }

    /// Each group with its members, in report order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&GroupKey, &[&'a SurveyRecord])> {
        self.members.iter().map(|(k, m)| (k, m.as_slice()))
    }
}

/// The values of one quantity in one group, and the members left out of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Sample<'a> {
    /// Value (in the reporting unit) and procedure id of each member in the statistics, in
    /// member order.
    pub(super) values: Vec<(f64, &'a str)>,
    /// Members left out because their totals are incomplete.
    pub(super) incomplete: usize,
    /// Members left out of `ka_r` because their reference point is not standard.
    pub(super) ka_r_not_comparable: usize,
    /// Eligible members without a value for the quantity.
    pub(super) missing: usize,
}

impl<'a> Sample<'a> {
    /// The sample of `q` among `members`. An incomplete member is counted as such for every
    /// quantity, before its reference point or a missing value is considered.
    pub(super) fn collect(members: &[&'a SurveyRecord], q: DrlQuantity) -> Sample<'a> {
        let mut s = Sample::default();
        for r in members {
            if !r.complete {
                s.incomplete += 1;
            } else if q == DrlQuantity::KaR && !r.ka_r_comparable {
                s.ka_r_not_comparable += 1;
            } else {
                match r.value(q) {
                    Some(v) => s.values.push((v, r.procedure_id.as_str())),
                    None => s.missing += 1,
                }
            }
        }
        s
    }
}

/// The minimum sample size that applies to one group.
#[derive(Debug, Clone, PartialEq)]
struct MinSample {
    n: usize,
    basis: String,
    verified: bool,
}

/// A reference level (or guide value) in the reporting unit, compared with a median.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Comparison {
    value: Option<f64>,
    ratio: Option<f64>,
    verdict: Verdict,
}

/// The DRL row of one group and quantity.
pub(super) fn drl_row(
    cfg: &SurveyConfig,
    group: &GroupKey,
    q: DrlQuantity,
    sample: &Sample<'_>,
) -> DrlRow {
    let code = group.procedure_code.as_str();
    let values: Vec<f64> = sample.values.iter().map(|s| s.0).collect();
    let summary = Summary::of(&values);
    let level = select_level(cfg, code, q, false);
    let guide = select_level(cfg, code, q, true);
    let jurisdiction = level
        .map(|l| l.jurisdiction.as_str())
        .or(cfg.jurisdiction.as_deref());
    let min = min_sample(&cfg.min_sample_sizes, jurisdiction, code);
    let n = summary.map_or(0, |s| s.n);
    let median = summary.map(|s| s.median);
    let drl = compare(level, median, n, min.n);
    let guide_cmp = compare(guide, median, n, min.n);
    DrlRow {
        procedure_code: code.to_string(),
        scope: group.scope(),
        room: group.room(),
        room_name: None,
        year: cfg.year,
        quantity: q,
        unit: q.report_unit(),
        n,
        excluded_incomplete: sample.incomplete,
        excluded_ka_r_not_comparable: sample.ka_r_not_comparable,
        missing_value: sample.missing,
        median,
        mean: summary.map(|s| s.mean),
        q1: summary.map(|s| s.q1),
        q3: summary.map(|s| s.q3),
        min: summary.map(|s| s.min),
        max: summary.map(|s| s.max),
        quantile_method: QUANTILE_METHOD,
        min_sample_size: min.n,
        min_sample_size_basis: min.basis,
        min_sample_size_verified: min.verified,
        drl_source_id: level.map(|l| l.source_id.clone()),
        drl_jurisdiction: level.map(|l| l.jurisdiction.clone()),
        drl_year: level.and_then(|l| l.year),
        drl_population: level.map(|l| l.population.clone()),
        drl_statistic: level.map(|l| l.statistic.clone()),
        drl_value: drl.value,
        median_to_drl: drl.ratio,
        verdict: drl.verdict,
        guide_source_id: guide.map(|l| l.source_id.clone()),
        guide_value: guide_cmp.value,
        median_to_guide: guide_cmp.ratio,
        guide_verdict: guide_cmp.verdict,
    }
}

/// Compares the median of a sample of `n` procedures with `level`.
fn compare(
    level: Option<&ReferenceLevel>,
    median: Option<f64>,
    n: usize,
    min_n: usize,
) -> Comparison {
    let value = level.map(|l| l.value.in_report_unit());
    Comparison {
        value,
        ratio: median.zip(value).map(|(m, v)| m / v),
        verdict: verdict(value, median, n, min_n),
    }
}

/// The verdict for a median of `n` procedures against a level `value`, with a minimum
/// sample size `min_n`.
fn verdict(value: Option<f64>, median: Option<f64>, n: usize, min_n: usize) -> Verdict {
    match (value, median) {
        (None, _) => Verdict::NoReference,
        // a single patient is never compared with a DRL, whatever the configured minimum
        (Some(_), _) if n < min_n.max(2) => Verdict::InsufficientSample,
        (Some(v), Some(m)) if m > v => Verdict::Above,
        (Some(_), Some(_)) => Verdict::Below,
        (Some(_), None) => Verdict::InsufficientSample,
    }
}

/// The reference level (or, with `guide`, the guide value) compared with for procedure
/// type `code` and quantity `q`: the first of `drl_sources` that has one; without
/// `drl_sources`, the most recent of the jurisdiction (the first loaded among equals);
/// without either, none.
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

/// The minimum sample size for procedure type `code` in `jurisdiction`: the first entry
/// of `table` that names both, else the jurisdiction for every type, else the type with no
/// jurisdiction, else the fallback with neither; 1 when nothing applies.
fn min_sample(table: &[MinSampleSize], jurisdiction: Option<&str>, code: &str) -> MinSample {
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
            || MinSample {
                n: 1,
                basis: "no minimum sample size configured".to_string(),
                verified: false,
            },
            |m| MinSample {
                n: m.n,
                basis: m.basis.clone(),
                verified: m.verified,
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::tables::ReferenceTables;
    use crate::units::{AirKerma, Dap};

    fn record(id: &str, room: &str, dap_gy_cm2: Option<f64>) -> SurveyRecord {
        SurveyRecord {
            procedure_id: id.to_string(),
            room: room.to_string(),
            dap: dap_gy_cm2.map(|v| Dap::try_from_gy_cm2(v).unwrap()),
            complete: true,
            ka_r_comparable: true,
            ..SurveyRecord::default()
        }
    }

    /// A configuration with only the given DRL rows (`drl.csv` format) and minimum sample
    /// sizes.
    fn config(drl_csv: &str, min: Vec<MinSampleSize>) -> SurveyConfig {
        let mut tables = ReferenceTables::default();
        let header =
            "source_id,jurisdiction,year,procedure_code,population,quantity,unit,value,statistic\n";
        tables
            .load_drl_csv("test-drl.csv", format!("{header}{drl_csv}").as_bytes())
            .unwrap();
        SurveyConfig {
            tables,
            min_sample_sizes: min,
            ..SurveyConfig::default()
        }
    }

    fn all_rooms(code: &str) -> GroupKey {
        GroupKey {
            procedure_code: code.to_string(),
            place: Place::AllRooms,
        }
    }

    #[test]
    fn verdict_thresholds() {
        // no level: no reference, whatever the sample
        assert_eq!(verdict(None, Some(100.0), 50, 10), Verdict::NoReference);
        assert_eq!(verdict(None, None, 0, 10), Verdict::NoReference);
        // a median equal to the DRL is not an exceedance; just above is
        assert_eq!(verdict(Some(35.0), Some(35.0), 10, 10), Verdict::Below);
        assert_eq!(verdict(Some(35.0), Some(35.001), 10, 10), Verdict::Above);
        assert_eq!(verdict(Some(35.0), Some(20.0), 10, 10), Verdict::Below);
        // n = minimum is compared, one fewer is not
        assert_eq!(verdict(Some(35.0), Some(100.0), 10, 10), Verdict::Above);
        assert_eq!(
            verdict(Some(35.0), Some(100.0), 9, 10),
            Verdict::InsufficientSample
        );
        // one procedure is never compared, even with a minimum of 1; two are
        assert_eq!(
            verdict(Some(35.0), Some(100.0), 1, 1),
            Verdict::InsufficientSample
        );
        assert_eq!(verdict(Some(35.0), Some(100.0), 2, 1), Verdict::Above);
        // an empty sample
        assert_eq!(verdict(Some(35.0), None, 0, 1), Verdict::InsufficientSample);
    }

    #[test]
    fn sample_counts_incomplete_first_then_reference_point_then_missing() {
        let mut a = record("a", "r", Some(10.0));
        a.ka_r = Some(AirKerma::try_from_mgy(100.0).unwrap());
        // incomplete and at a non-standard reference point: counted as incomplete only
        let mut b = record("b", "r", Some(1000.0));
        b.complete = false;
        b.ka_r_comparable = false;
        b.ka_r = Some(AirKerma::try_from_mgy(900.0).unwrap());
        let mut c = record("c", "r", Some(30.0));
        c.ka_r_comparable = false;
        c.ka_r = Some(AirKerma::try_from_mgy(300.0).unwrap());
        let d = record("d", "r", None);
        let members = [&a, &b, &c, &d];

        let pka = Sample::collect(&members, DrlQuantity::Pka);
        assert_eq!(pka.values, [(10.0, "a"), (30.0, "c")]);
        assert_eq!(
            (pka.incomplete, pka.ka_r_not_comparable, pka.missing),
            (1, 0, 1)
        );
        let kar = Sample::collect(&members, DrlQuantity::KaR);
        assert_eq!(kar.values, [(100.0, "a")]);
        assert_eq!(
            (kar.incomplete, kar.ka_r_not_comparable, kar.missing),
            (1, 1, 1)
        );
        let images = Sample::collect(&members, DrlQuantity::Images);
        assert!(images.values.is_empty());
        assert_eq!((images.incomplete, images.missing), (1, 3));
    }

    /// P_KA 10, 20, 30, 40 Gy·cm² (type 7, h = 3p): q1 at h = 0.75 is 10 + 0.75·10 = 17.5,
    /// the median at h = 1.5 is 25, q3 at h = 2.25 is 32.5; mean 25. Against a DRL of 20:
    /// ratio 1.25, above; against a guide value of 40: ratio 0.625, below.
    #[test]
    fn drl_row_statistics_and_comparison() {
        let records: Vec<SurveyRecord> = [30.0, 10.0, 40.0, 20.0]
            .iter()
            .enumerate()
            .map(|(i, v)| record(&format!("p{i}"), "r", Some(*v)))
            .collect();
        let members: Vec<&SurveyRecord> = records.iter().collect();
        let sample = Sample::collect(&members, DrlQuantity::Pka);
        let mut cfg = config(
            "LOCAL_A,XX,2020,proc_x,adult,pka,Gy.cm2,20,p75_patients\n\
             LOCAL_A,XX,2020,proc_x,adult,pka,Gy.cm2,40,guide_value\n",
            vec![
                MinSampleSize::new(Some("XX"), None, 4, "four", true),
                MinSampleSize::new(Some("FR"), None, 2, "two", false),
            ],
        );
        cfg.drl_sources = vec!["LOCAL_A".to_string()];
        // the minimum follows the jurisdiction of the level compared with
        cfg.jurisdiction = Some("FR".to_string());
        cfg.year = Some(2024);

        let row = drl_row(&cfg, &all_rooms("proc_x"), DrlQuantity::Pka, &sample);
        assert_eq!(
            (row.scope, row.room.as_deref()),
            (GroupScope::AllRooms, None)
        );
        assert_eq!((row.year, row.unit, row.n), (Some(2024), "Gy.cm2", 4));
        assert_eq!(
            (row.q1, row.median, row.q3),
            (Some(17.5), Some(25.0), Some(32.5))
        );
        assert_eq!(
            (row.min, row.mean, row.max),
            (Some(10.0), Some(25.0), Some(40.0))
        );
        assert_eq!(
            (row.min_sample_size, row.min_sample_size_basis.as_str()),
            (4, "four")
        );
        assert!(row.min_sample_size_verified);
        assert_eq!(row.drl_source_id.as_deref(), Some("LOCAL_A"));
        assert_eq!(row.drl_jurisdiction.as_deref(), Some("XX"));
        assert_eq!(row.drl_year, Some(2020));
        assert_eq!(row.drl_statistic.as_deref(), Some("p75_patients"));
        assert_eq!((row.drl_value, row.median_to_drl), (Some(20.0), Some(1.25)));
        assert_eq!(row.verdict, Verdict::Above);
        assert_eq!(row.guide_source_id.as_deref(), Some("LOCAL_A"));
        assert_eq!(
            (row.guide_value, row.median_to_guide),
            (Some(40.0), Some(0.625))
        );
        assert_eq!(row.guide_verdict, Verdict::Below);

        // one more than the sample: neither is compared, the ratios stay
        cfg.min_sample_sizes = vec![MinSampleSize::new(None, None, 5, "five", false)];
        let row = drl_row(&cfg, &all_rooms("proc_x"), DrlQuantity::Pka, &sample);
        assert_eq!(row.min_sample_size, 5);
        assert_eq!(row.verdict, Verdict::InsufficientSample);
        assert_eq!(row.guide_verdict, Verdict::InsufficientSample);
        assert_eq!(row.median_to_drl, Some(1.25));

        // a quantity without a level, and an empty sample; the minimum then follows the
        // configured jurisdiction
        cfg.min_sample_sizes = vec![
            MinSampleSize::new(None, None, 5, "five", false),
            MinSampleSize::new(Some("fr"), None, 7, "seven", false),
        ];
        let row = drl_row(
            &cfg,
            &all_rooms("proc_x"),
            DrlQuantity::KaR,
            &Sample::default(),
        );
        assert_eq!((row.n, row.median, row.drl_value), (0, None, None));
        assert_eq!((row.verdict, row.unit), (Verdict::NoReference, "mGy"));
        assert_eq!(row.min_sample_size, 7);
    }

    #[test]
    fn level_selection_by_source_list_then_most_recent_of_the_jurisdiction() {
        let mut cfg = config(
            "A_2015,FR,2015,proc_x,adult,pka,Gy.cm2,10,p75_patients\n\
             B_2020,fr,2020,proc_x,adult,pka,Gy.cm2,20,p75_patients\n\
             C_2018,FR,2018,proc_x,adult,pka,Gy.cm2,30,p75_patients\n\
             E_2020,FR,2020,proc_x,adult,pka,Gy.cm2,50,p75_patients\n\
             D_EU,EU,2022,proc_x,adult,pka,Gy.cm2,40,p75_patients\n\
             G_2021,FR,2021,proc_x,adult,pka,Gy.cm2,5,guide_value\n",
            Vec::new(),
        );
        let pick = |cfg: &SurveyConfig, code: &str, q: DrlQuantity, guide: bool| {
            select_level(cfg, code, q, guide).map(|l| l.source_id.clone())
        };
        // nothing selected: nothing compared
        assert_eq!(pick(&cfg, "proc_x", DrlQuantity::Pka, false), None);
        // the jurisdiction, without regard to case: the most recent year, the first loaded
        // of equal years; guide values apart
        cfg.jurisdiction = Some("Fr".to_string());
        assert_eq!(
            pick(&cfg, "proc_x", DrlQuantity::Pka, false).as_deref(),
            Some("B_2020")
        );
        assert_eq!(
            pick(&cfg, "proc_x", DrlQuantity::Pka, true).as_deref(),
            Some("G_2021")
        );
        assert_eq!(pick(&cfg, "proc_x", DrlQuantity::KaR, false), None);
        assert_eq!(pick(&cfg, "proc_y", DrlQuantity::Pka, false), None);
        // a source list replaces the jurisdiction: the first listed source with a row
        cfg.drl_sources = vec!["D_EU".to_string(), "A_2015".to_string()];
        assert_eq!(
            pick(&cfg, "proc_x", DrlQuantity::Pka, false).as_deref(),
            Some("D_EU")
        );
        cfg.drl_sources = vec!["G_2021".to_string(), "A_2015".to_string()];
        assert_eq!(
            pick(&cfg, "proc_x", DrlQuantity::Pka, false).as_deref(),
            Some("A_2015")
        );
        assert_eq!(
            pick(&cfg, "proc_x", DrlQuantity::Pka, true).as_deref(),
            Some("G_2021")
        );
    }

    #[test]
    fn the_most_specific_minimum_sample_size_applies() {
        let table = vec![
            MinSampleSize::new(Some("FR"), None, 10, "fr", false),
            MinSampleSize::new(Some("FR"), Some("x"), 12, "fr x", true),
            MinSampleSize::new(None, Some("x"), 15, "x", true),
            MinSampleSize::new(None, None, 30, "fallback", false),
        ];
        let n = |j: Option<&str>, code: &str| min_sample(&table, j, code).n;
        assert_eq!(n(Some("fr"), "x"), 12);
        assert_eq!(n(Some("FR"), "y"), 10);
        assert_eq!(n(Some("AU"), "x"), 15);
        assert_eq!(n(Some("AU"), "y"), 30);
        assert_eq!(n(None, "x"), 15);
        assert_eq!(n(None, "y"), 30);
        assert_eq!(
            min_sample(&table, Some("FR"), "x"),
            MinSample {
                n: 12,
                basis: "fr x".to_string(),
                verified: true
            }
        );
        assert_eq!(
            min_sample(&[], Some("FR"), "x"),
            MinSample {
                n: 1,
                basis: "no minimum sample size configured".to_string(),
                verified: false
            }
        );
        // a rule for the jurisdiction comes before a rule for the type elsewhere
        let table = &table[0..1]
            .iter()
            .chain(&table[2..])
            .cloned()
            .collect::<Vec<_>>();
        assert_eq!(min_sample(table, Some("FR"), "x").n, 10);
        assert_eq!(min_sample(table, Some("AU"), "x").n, 15);
        // the defaults: FR 10, AU 30 but 50 for cerebral angiography, 30 elsewhere
        let defaults = MinSampleSize::defaults();
        let d = |j: Option<&str>, code: &str| min_sample(&defaults, j, code).n;
        assert_eq!(d(Some("FR"), "cerebral_angiography"), 10);
        assert_eq!(d(Some("AU"), "cerebral_angiography"), 50);
        assert_eq!(d(Some("AU"), "pci"), 30);
        assert_eq!(d(Some("EU"), "pci"), 30);
        assert_eq!(d(None, "pci"), 30);
    }

    #[test]
    fn groups_list_rooms_then_all_rooms_per_procedure_type() {
        let r = [
            record("1", "R2", None),
            record("2", "R2", None),
            record("3", "R1", None),
            record("4", "", None),
        ];
        let mut groups = Groups::default();
        groups.add("b", &r[0]);
        groups.add("a", &r[1]);
        groups.add("a", &r[2]);
        groups.add("a", &r[3]);
        let listed: Vec<(String, GroupScope, Option<String>, Vec<&str>)> = groups
            .iter()
            .map(|(k, m)| {
                let ids = m.iter().map(|r| r.procedure_id.as_str()).collect();
                (k.procedure_code.clone(), k.scope(), k.room(), ids)
            })
            .collect();
        let row = |code: &str, room: Option<&str>, ids: &[&'static str]| {
            let scope = if room.is_some() {
                GroupScope::Room
            } else {
                GroupScope::AllRooms
            };
            (
                code.to_string(),
                scope,
                room.map(str::to_string),
                ids.to_vec(),
            )
        };
        assert_eq!(
            listed,
            [
                row("a", Some(""), &["4"]),
                row("a", Some("R1"), &["3"]),
                row("a", Some("R2"), &["2"]),
                row("a", None, &["2", "3", "4"]),
                row("b", Some("R2"), &["1"]),
                row("b", None, &["1"]),
            ]
        );
    }
}

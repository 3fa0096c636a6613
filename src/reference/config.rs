//! The settings of a survey: tables, DRL selection, filters, minimum sample sizes and the
//! cumulative window.

use std::time::Duration;

use super::error::ReferenceError;
use super::mapping::ProcedureMapping;
use super::tables::ReferenceTables;

const SECONDS_PER_DAY: u64 = 86_400;
const DAYS_PER_WEEK: u64 = 7;
/// OpenREM's default look-back for per-patient sums (`accum_dose_delta_weeks`).
const OPENREM_WINDOW_WEEKS: u64 = 12;

/// Where the default cumulative window comes from.
pub(super) const WINDOW_BASIS: &str =
    "default 12 weeks is OpenREM's software default (accum_dose_delta_weeks), not a regulation";

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

/// Settings of a [`Survey`](super::Survey).
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

impl SurveyConfig {
    /// Checks the settings against each other and against the loaded tables.
    ///
    /// # Errors
    /// A DRL or trigger source that no loaded table has, a minimum sample size of 0, an age
    /// limit that is negative or not finite, a year outside 1900–2200, or a cumulative window
    /// shorter than one day.
    pub(super) fn check(&self) -> Result<(), ReferenceError> {
        let sources = self
            .drl_sources
            .iter()
            .chain(self.trigger_sources.iter().flatten());
        for s in sources {
            if !self.tables.has_source(s) {
                return Err(ReferenceError::UnknownSource {
                    source_id: s.clone(),
                });
            }
        }
        if self.min_sample_sizes.iter().any(|m| m.n == 0) {
            return Err(ReferenceError::InvalidSetting {
                setting: "min_sample_sizes",
                reason: "a minimum sample size must be at least 1",
            });
        }
        if self
            .adult_min_age_years
            .is_some_and(|a| !(a.is_finite() && a >= 0.0))
        {
            return Err(ReferenceError::InvalidSetting {
                setting: "adult_min_age_years",
                reason: "must be a finite, non-negative number of years",
            });
        }
        if self.year.is_some_and(|y| !(1900..=2200).contains(&y)) {
            return Err(ReferenceError::InvalidSetting {
                setting: "year",
                reason: "must be between 1900 and 2200",
            });
        }
        if self.cumulative_window.as_secs() < SECONDS_PER_DAY {
            return Err(ReferenceError::InvalidSetting {
                setting: "cumulative_window",
                reason: "must be at least one day",
            });
        }
        Ok(())
    }

    /// The cumulative window in whole days (a part day is dropped).
    pub(super) fn window_days(&self) -> u64 {
        self.cumulative_window.as_secs() / SECONDS_PER_DAY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(cfg: &SurveyConfig) -> Option<&'static str> {
        match cfg.check() {
            Ok(()) => None,
            Err(ReferenceError::InvalidSetting { setting, .. }) => Some(setting),
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    #[test]
    fn the_default_window_is_12_weeks() {
        let cfg = SurveyConfig::default();
        assert_eq!(cfg.window_days(), 84);
        assert_eq!(cfg.check(), Ok(()));
        // a part day is dropped
        let cfg = SurveyConfig {
            cumulative_window: Duration::from_secs(2 * SECONDS_PER_DAY - 1),
            ..SurveyConfig::default()
        };
        assert_eq!(cfg.window_days(), 1);
    }

    #[test]
    fn settings_are_checked_at_their_limits() {
        let mut cfg = SurveyConfig {
            cumulative_window: Duration::from_secs(SECONDS_PER_DAY),
            year: Some(1900),
            adult_min_age_years: Some(0.0),
            ..SurveyConfig::default()
        };
        assert_eq!(setting(&cfg), None);
        cfg.year = Some(2200);
        assert_eq!(setting(&cfg), None);

        let with = |f: &dyn Fn(&mut SurveyConfig)| {
            let mut c = cfg.clone();
            f(&mut c);
            setting(&c)
        };
        assert_eq!(
            with(&|c| c.cumulative_window = Duration::from_secs(SECONDS_PER_DAY - 1)),
            Some("cumulative_window")
        );
        assert_eq!(with(&|c| c.year = Some(1899)), Some("year"));
        assert_eq!(with(&|c| c.year = Some(2201)), Some("year"));
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(
                with(&|c| c.adult_min_age_years = Some(bad)),
                Some("adult_min_age_years")
            );
        }
        assert_eq!(
            with(&|c| c
                .min_sample_sizes
                .push(MinSampleSize::new(None, Some("x"), 0, "", true))),
            Some("min_sample_sizes")
        );
    }

    #[test]
    fn every_selected_source_must_be_loaded() {
        let known = SurveyConfig::default().tables.drl_levels()[0]
            .source_id
            .clone();
        let mut cfg = SurveyConfig {
            drl_sources: vec![known],
            ..SurveyConfig::default()
        };
        assert_eq!(cfg.check(), Ok(()));
        cfg.drl_sources.push("NO_SUCH_DRL".to_string());
        assert_eq!(
            cfg.check(),
            Err(ReferenceError::UnknownSource {
                source_id: "NO_SUCH_DRL".to_string()
            })
        );
        let cfg = SurveyConfig {
            trigger_sources: Some(vec!["NO_SUCH_TRIGGER".to_string()]),
            ..SurveyConfig::default()
        };
        assert_eq!(
            cfg.check(),
            Err(ReferenceError::UnknownSource {
                source_id: "NO_SUCH_TRIGGER".to_string()
            })
        );
    }
}

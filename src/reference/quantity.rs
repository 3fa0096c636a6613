//! The quantities reference levels are expressed in, and the one place where their units are
//! converted to reporting numbers.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::units::{AirKerma, Dap, duration_from_secs};

/// Seconds in a minute: the only time conversion of the reference module.
const SECONDS_PER_MINUTE: f64 = 60.0;

/// A quantity that a reference level or a trigger level is expressed in.
///
/// The names are the `quantity` codes of `drl.csv` and `trigger-levels.csv`
/// (see `data/reference-levels/SOURCES.md`, "CSV conventions"). Each quantity has one
/// reporting unit, used for every `f64` that kerma writes in an output row:
///
/// | quantity | code | reporting unit |
/// | --- | --- | --- |
/// | kerma-area product P_KA (DAP, PDS) | `pka` | `Gy.cm2` |
/// | air kerma at the reference point K_a,r | `ka_r` | `mGy` |
/// | fluoroscopy time | `fluoro_time` | `min` |
/// | number of acquisition images (frames) | `images` | `count` |
/// | peak skin dose (trigger levels only) | `peak_skin_dose` | `mGy` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DrlQuantity {
    /// Kerma-area product P_KA, reported in Gy·cm².
    Pka,
    /// Air kerma at the (interventional) reference point K_a,r, reported in mGy.
    KaR,
    /// Fluoroscopy time, reported in minutes.
    FluoroTime,
    /// Number of acquisition images (frames), a count.
    Images,
    /// Peak skin dose, reported in mGy. Only trigger levels use it; kerma does not compute
    /// skin dose, so these levels are loaded and listed but never evaluated.
    PeakSkinDose,
}

impl DrlQuantity {
    /// The four quantities of DRL statistics, in report order.
    pub(crate) const SURVEYED: [DrlQuantity; 4] = [
        DrlQuantity::Pka,
        DrlQuantity::KaR,
        DrlQuantity::FluoroTime,
        DrlQuantity::Images,
    ];

    /// The code used in the CSV tables and in output rows (`pka`, `ka_r`, `fluoro_time`,
    /// `images`, `peak_skin_dose`).
    pub fn code(self) -> &'static str {
        match self {
            DrlQuantity::Pka => "pka",
            DrlQuantity::KaR => "ka_r",
            DrlQuantity::FluoroTime => "fluoro_time",
            DrlQuantity::Images => "images",
            DrlQuantity::PeakSkinDose => "peak_skin_dose",
        }
    }

    /// The unit of every number kerma reports for this quantity (`Gy.cm2`, `mGy`, `min`,
    /// `count`, `mGy`), spelled as in the CSV tables.
    pub fn report_unit(self) -> &'static str {
        match self {
            DrlQuantity::Pka => "Gy.cm2",
            DrlQuantity::KaR | DrlQuantity::PeakSkinDose => "mGy",
            DrlQuantity::FluoroTime => "min",
            DrlQuantity::Images => "count",
        }
    }

    pub(crate) fn from_code(code: &str) -> Option<DrlQuantity> {
        Some(match code {
            "pka" => DrlQuantity::Pka,
            "ka_r" => DrlQuantity::KaR,
            "fluoro_time" => DrlQuantity::FluoroTime,
            "images" => DrlQuantity::Images,
            "peak_skin_dose" => DrlQuantity::PeakSkinDose,
            _ => return None,
        })
    }

    /// The units a table may use for this quantity, as listed in error messages.
    pub(crate) fn accepted_units(self) -> &'static str {
        match self {
            DrlQuantity::Pka => "Gy.cm2, Gy.m2, dGy.cm2, mGy.cm2, uGy.m2",
            DrlQuantity::KaR | DrlQuantity::PeakSkinDose => "mGy, Gy, dGy",
            DrlQuantity::FluoroTime => "min, s",
            DrlQuantity::Images => "count",
        }
    }
}

impl fmt::Display for DrlQuantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The value of a reference or trigger level, in the typed unit of its quantity.
///
/// Table values are converted to these types when a table is loaded (for example a
/// fluoroscopy time of `11` `min` becomes a [`Duration`] of 660 s), and converted back
/// to the reporting unit of [`DrlQuantity::report_unit`] only for output.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum LevelValue {
    /// A kerma-area product.
    Pka(Dap),
    /// An air kerma at the reference point.
    KaR(AirKerma),
    /// A fluoroscopy time.
    FluoroTime(Duration),
    /// A number of acquisition images.
    Images(u64),
    /// A peak skin dose in mGy. kerma has no skin-dose type because it never computes skin
    /// dose; this value is only carried from the table to the report.
    PeakSkinDose {
        /// The level in mGy.
        mgy: f64,
    },
}

/// Why a table value could not become a [`LevelValue`].
pub(crate) enum ValueProblem {
    UnknownUnit,
    NotPositive,
    NotWhole,
}

impl LevelValue {
    /// The quantity this value measures.
    pub fn quantity(&self) -> DrlQuantity {
        match self {
            LevelValue::Pka(_) => DrlQuantity::Pka,
            LevelValue::KaR(_) => DrlQuantity::KaR,
            LevelValue::FluoroTime(_) => DrlQuantity::FluoroTime,
            LevelValue::Images(_) => DrlQuantity::Images,
            LevelValue::PeakSkinDose { .. } => DrlQuantity::PeakSkinDose,
        }
    }

    /// The value in the reporting unit of its quantity ([`DrlQuantity::report_unit`]).
    ///
    /// ```
    /// use kerma::reference::{ReferenceTables, DrlQuantity};
    /// let tables = ReferenceTables::bundled();
    /// let ft = tables
    ///     .drl_levels()
    ///     .iter()
    ///     .find(|l| l.source_id == "FR_SFPM_ETARD_2017"
    ///         && l.procedure_code == "vertebroplasty"
    ///         && l.value.quantity() == DrlQuantity::FluoroTime)
    ///     .ok_or("the vertebroplasty level is bundled")?;
    /// assert_eq!(ft.value.in_report_unit(), 11.0); // minutes, as in drl.csv
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn in_report_unit(&self) -> f64 {
        match *self {
            LevelValue::Pka(d) => d.as_gy_cm2(),
            LevelValue::KaR(k) => k.as_mgy(),
            LevelValue::FluoroTime(t) => minutes(t),
            LevelValue::Images(n) => n as f64,
            LevelValue::PeakSkinDose { mgy } => mgy,
        }
    }

    /// Parses a positive table value written in `unit` for `quantity`.
    pub(crate) fn parse(
        quantity: DrlQuantity,
        unit: &str,
        value: f64,
    ) -> Result<LevelValue, ValueProblem> {
        if !(value.is_finite() && value > 0.0) {
            return Err(ValueProblem::NotPositive);
        }
        let q = |r: Result<LevelValue, crate::units::QuantityError>| {
            r.map_err(|_| ValueProblem::NotPositive)
        };
        match (quantity, unit) {
            (DrlQuantity::Pka, "Gy.cm2") => q(Dap::try_from_gy_cm2(value).map(LevelValue::Pka)),
            (DrlQuantity::Pka, "Gy.m2") => q(Dap::try_from_gy_m2(value).map(LevelValue::Pka)),
            (DrlQuantity::Pka, "dGy.cm2") => q(Dap::try_from_dgy_cm2(value).map(LevelValue::Pka)),
            (DrlQuantity::Pka, "mGy.cm2") => q(Dap::try_from_mgy_cm2(value).map(LevelValue::Pka)),
            (DrlQuantity::Pka, "uGy.m2") => q(Dap::try_from_ugy_m2(value).map(LevelValue::Pka)),
            (DrlQuantity::KaR, "mGy") => q(AirKerma::try_from_mgy(value).map(LevelValue::KaR)),
            (DrlQuantity::KaR, "Gy") => q(AirKerma::try_from_gy(value).map(LevelValue::KaR)),
            (DrlQuantity::KaR, "dGy") => q(AirKerma::try_from_dgy(value).map(LevelValue::KaR)),
            (DrlQuantity::FluoroTime, "min") => {
                q(duration_from_secs(value * SECONDS_PER_MINUTE).map(LevelValue::FluoroTime))
            }
            (DrlQuantity::FluoroTime, "s") => {
                q(duration_from_secs(value).map(LevelValue::FluoroTime))
            }
            (DrlQuantity::Images, "count") => {
                if value.fract() != 0.0 || value > u64::MAX as f64 {
                    Err(ValueProblem::NotWhole)
                } else {
                    // exact: a finite, positive whole number below u64::MAX
                    Ok(LevelValue::Images(value as u64))
                }
            }
            // Skin dose goes through AirKerma only to share the unit table and checks.
            (DrlQuantity::PeakSkinDose, "mGy" | "Gy" | "dGy") => {
                let k = match unit {
                    "mGy" => AirKerma::try_from_mgy(value),
                    "Gy" => AirKerma::try_from_gy(value),
                    _ => AirKerma::try_from_dgy(value),
                };
                k.map(|k| LevelValue::PeakSkinDose { mgy: k.as_mgy() })
                    .map_err(|_| ValueProblem::NotPositive)
            }
            _ => Err(ValueProblem::UnknownUnit),
        }
    }
}

/// A duration in minutes, the reporting unit of fluoroscopy time.
pub(crate) fn minutes(t: Duration) -> f64 {
    t.as_secs_f64() / SECONDS_PER_MINUTE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_round_trip_through_duration() {
        let LevelValue::FluoroTime(t) = LevelValue::parse(DrlQuantity::FluoroTime, "min", 11.0)
            .ok()
            .unwrap()
        else {
            panic!("not a time")
        };
        assert_eq!(t, Duration::from_secs(660));
        assert_eq!(minutes(t), 11.0);
        let s = LevelValue::parse(DrlQuantity::FluoroTime, "s", 1224.0)
            .ok()
            .unwrap();
        assert!((s.in_report_unit() - 20.4).abs() < 1e-12);
    }

    #[test]
    fn units_are_checked_per_quantity() {
        assert!(matches!(
            LevelValue::parse(DrlQuantity::Pka, "mGy", 1.0),
            Err(ValueProblem::UnknownUnit)
        ));
        assert!(matches!(
            LevelValue::parse(DrlQuantity::KaR, "Gy.cm2", 1.0),
            Err(ValueProblem::UnknownUnit)
        ));
        assert!(matches!(
            LevelValue::parse(DrlQuantity::Images, "count", 1.5),
            Err(ValueProblem::NotWhole)
        ));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                LevelValue::parse(DrlQuantity::Pka, "Gy.cm2", bad),
                Err(ValueProblem::NotPositive)
            ));
        }
        let g = LevelValue::parse(DrlQuantity::KaR, "Gy", 0.5).ok().unwrap();
        assert_eq!(g.in_report_unit(), 500.0);
        let d = LevelValue::parse(DrlQuantity::Pka, "Gy.m2", 0.003)
            .ok()
            .unwrap();
        assert!((d.in_report_unit() - 30.0).abs() < 1e-9);
    }
}

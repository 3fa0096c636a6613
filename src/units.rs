//! Dose quantities whose unit is part of their type.
//!
//! Each quantity stores one canonical SI value in a private field and can only be built
//! through a constructor that names its unit. There is no `From<f64>`, no `Deref` and no
//! addition across quantities, so the Gy·m² / Gy·cm² / dGy·cm² trap (a factor 10⁴ or 10⁵)
//! cannot be written by accident.
//!
//! Adding a DAP to an air kerma does not compile:
//!
//! ```compile_fail
//! use kerma::{AirKerma, Dap};
//! # fn f() -> Result<(), kerma::QuantityError> {
//! let sum = Dap::try_from_gy_cm2(1.0)? + AirKerma::try_from_mgy(1.0)?;
//! # Ok(()) }
//! ```
//!
//! Nor does using a bare number as a DAP:
//!
//! ```compile_fail
//! use kerma::Dap;
//! let d: Dap = 1.0;
//! ```
//!
//! ```compile_fail
//! use kerma::Dap;
//! let d = Dap::from(1.0);
//! ```
//!
//! Conversions are exact powers of ten:
//!
//! ```
//! use kerma::Dap;
//! let d = Dap::try_from_dgy_cm2(10.0)?; // the unit of header (0018,115E)
//! assert!((d.as_gy_cm2() - 1.0).abs() < 1e-12);
//! assert!((d.as_gy_m2() - 1e-4).abs() < 1e-18);
//! # Ok::<(), kerma::QuantityError>(())
//! ```

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div};
use std::time::Duration;

/// Why a number could not become a quantity.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum QuantityError {
    /// The value is NaN.
    #[error("value is not a number")]
    NotANumber,
    /// The value is infinite, or too large to be represented after unit conversion.
    #[error("value {0} is not finite")]
    Infinite(f64),
    /// The value is negative; doses, areas and times cannot be.
    #[error("value {0} is negative")]
    Negative(f64),
}

fn check(v: f64) -> Result<f64, QuantityError> {
    if v.is_nan() {
        Err(QuantityError::NotANumber)
    } else if v.is_infinite() {
        Err(QuantityError::Infinite(v))
    } else if v < 0.0 {
        Err(QuantityError::Negative(v))
    } else {
        // -0.0 becomes 0.0 so that it prints as 0
        Ok(v + 0.0)
    }
}

/// Compensated (Neumaier) summation, so that a sum of many event values compares with an
/// accumulated total to 1e-9; `None` for no values.
pub(crate) fn compensated_sum(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut values = values.into_iter().peekable();
    values.peek()?;
    let (mut sum, mut c) = (0.0f64, 0.0f64);
    for v in values {
        let t = sum + v;
        if sum.abs() >= v.abs() {
            c += (sum - t) + v;
        } else {
            c += (v - t) + sum;
        }
        sum = t;
    }
    Some(sum + c)
}

macro_rules! quantity_ops {
    ($t:ident, $field:ident) => {
        impl Add for $t {
            type Output = $t;
            fn add(self, rhs: $t) -> $t {
                $t {
                    $field: self.$field + rhs.$field,
                }
            }
        }
        impl AddAssign for $t {
            fn add_assign(&mut self, rhs: $t) {
                self.$field += rhs.$field;
            }
        }
        impl Sum for $t {
            fn sum<I: Iterator<Item = $t>>(iter: I) -> $t {
                iter.fold($t::ZERO, |a, b| a + b)
            }
        }
        impl<'a> Sum<&'a $t> for $t {
            fn sum<I: Iterator<Item = &'a $t>>(iter: I) -> $t {
                iter.fold($t::ZERO, |a, b| a + *b)
            }
        }
        /// The ratio of two values of the same quantity (for example a median over a DRL).
        impl Div for $t {
            type Output = f64;
            fn div(self, rhs: $t) -> f64 {
                self.$field / rhs.$field
            }
        }
        impl $t {
            /// The compensated sum of `values` (see [`compensated_sum`]); `None` when there
            /// are none, or when the sum is not finite.
            pub(crate) fn compensated_sum(values: impl IntoIterator<Item = $t>) -> Option<$t> {
                let sum = compensated_sum(values.into_iter().map(|v| v.$field))?;
                Some($t {
                    $field: check(sum).ok()?,
                })
            }
        }
    };
}

/// Dose-area product, also called air-kerma-area product (P_KA, KAP, DAP).
///
/// Stored in Gy·m² (the unit of the RDSR, TID 10004), reported in Gy·cm².
/// 1 Gy·m² = 10⁴ Gy·cm² = 10⁵ dGy·cm² = 10⁷ mGy·cm².
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Dap {
    gy_m2: f64,
}

impl Dap {
    /// Zero dose-area product.
    pub const ZERO: Dap = Dap { gy_m2: 0.0 };

    /// From a value in Gy·m² (RDSR template unit, UCUM `Gy.m2`).
    ///
    /// # Errors
    /// NaN, infinite or negative values.
    pub fn try_from_gy_m2(v: f64) -> Result<Dap, QuantityError> {
        Self::scaled(v, 1.0)
    }
    /// From a value in Gy·cm² (the usual reporting unit, UCUM `Gy.cm2`).
    ///
    /// # Errors
    /// NaN, infinite or negative values.
    pub fn try_from_gy_cm2(v: f64) -> Result<Dap, QuantityError> {
        Self::scaled(v, 1e-4)
    }
    /// From a value in dGy·cm² (the fixed unit of header attribute (0018,115E)).
    ///
    /// # Errors
    /// NaN, infinite or negative values.
    pub fn try_from_dgy_cm2(v: f64) -> Result<Dap, QuantityError> {
        Self::scaled(v, 1e-5)
    }
    /// From a value in mGy·cm².
    ///
    /// # Errors
    /// NaN, infinite or negative values.
    pub fn try_from_mgy_cm2(v: f64) -> Result<Dap, QuantityError> {
        Self::scaled(v, 1e-7)
    }
    /// From a value in µGy·m².
    ///
    /// # Errors
    /// NaN, infinite or negative values.
    pub fn try_from_ugy_m2(v: f64) -> Result<Dap, QuantityError> {
        Self::scaled(v, 1e-6)
    }
    fn scaled(v: f64, factor: f64) -> Result<Dap, QuantityError> {
        let v = check(v)?;
        Ok(Dap {
            gy_m2: check(v * factor)?,
        })
    }
    /// The value in Gy·m².
    pub fn as_gy_m2(self) -> f64 {
        self.gy_m2
    }
    /// The value in Gy·cm².
    pub fn as_gy_cm2(self) -> f64 {
        self.gy_m2 * 1e4
    }
    /// The value in dGy·cm².
    pub fn as_dgy_cm2(self) -> f64 {
        self.gy_m2 * 1e5
    }
}
quantity_ops!(Dap, gy_m2);

impl fmt::Display for Dap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match f.precision() {
            Some(p) => write!(f, "{:.*} Gy·cm²", p, self.as_gy_cm2()),
            None => write!(f, "{} Gy·cm²", self.as_gy_cm2()),
        }
    }
}

/// Air kerma, in particular air kerma at the reference point (K_a,r, "Dose (RP)").
///
/// Stored in Gy (the RDSR template unit), reported in mGy. K_a,r is not skin dose, and the
/// K_a,r of two planes describes two points: never present their sum as one dose.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct AirKerma {
    gy: f64,
}

impl AirKerma {
    /// Zero air kerma.
    pub const ZERO: AirKerma = AirKerma { gy: 0.0 };

    /// From a value in Gy (UCUM `Gy`).
    ///
    /// # Errors
    /// NaN, infinite or negative values.
    pub fn try_from_gy(v: f64) -> Result<AirKerma, QuantityError> {
        Self::scaled(v, 1.0)
    }
    /// From a value in mGy (UCUM `mGy`).
    ///
    /// # Errors
    /// NaN, infinite or negative values.
    pub fn try_from_mgy(v: f64) -> Result<AirKerma, QuantityError> {
        Self::scaled(v, 1e-3)
    }
    /// From a value in dGy (UCUM `dGy`).
    ///
    /// # Errors
    /// NaN, infinite or negative values.
    pub fn try_from_dgy(v: f64) -> Result<AirKerma, QuantityError> {
        Self::scaled(v, 0.1)
    }
    fn scaled(v: f64, factor: f64) -> Result<AirKerma, QuantityError> {
        let v = check(v)?;
        Ok(AirKerma {
            gy: check(v * factor)?,
        })
    }
    /// The value in Gy.
    pub fn as_gy(self) -> f64 {
        self.gy
    }
    /// The value in mGy.
    pub fn as_mgy(self) -> f64 {
        self.gy * 1e3
    }
}
quantity_ops!(AirKerma, gy);

impl fmt::Display for AirKerma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match f.precision() {
            Some(p) => write!(f, "{:.*} mGy", p, self.as_mgy()),
            None => write!(f, "{} mGy", self.as_mgy()),
        }
    }
}

/// A length or a signed position along an axis, such as a table position relative to the
/// equipment's own zero or a source distance.
///
/// Stored in metres (divided from millimetres and centimetres, so that a value written in
/// millimetres reads back unchanged). Unlike doses, lengths may be negative: Table Longitudinal, Lateral and
/// Height Position (113751–113753, PS3.16 CID 10008) are measured from "an arbitrary reference
/// chosen by the equipment" (PS3.16 Table D-1). The constructors take any number; values read
/// from files are checked to be finite before they become a `Length`.
///
/// ```
/// use kerma::Length;
/// assert_eq!(Length::from_mm(700.0).as_mm(), 700.0);
/// let table = Length::from_mm(-125.0);
/// assert_eq!(table.as_cm(), -12.5);
/// assert_eq!(Length::from_cm(76.5).as_mm(), 765.0);
/// assert_eq!(Length::from_m(1.2).as_mm(), 1200.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Length {
    m: f64,
}

impl Length {
    /// Zero length.
    pub const ZERO: Length = Length { m: 0.0 };

    /// From a value in millimetres (UCUM `mm`, the unit of TID 10003C distances and positions).
    pub fn from_mm(v: f64) -> Length {
        Length { m: v / 1e3 + 0.0 }
    }
    /// From a value in centimetres (UCUM `cm`).
    pub fn from_cm(v: f64) -> Length {
        Length { m: v / 1e2 + 0.0 }
    }
    /// From a value in metres (UCUM `m`).
    pub fn from_m(v: f64) -> Length {
        Length { m: v + 0.0 }
    }
    /// The value in millimetres.
    pub fn as_mm(self) -> f64 {
        self.m * 1e3
    }
    /// The value in centimetres.
    pub fn as_cm(self) -> f64 {
        self.m * 1e2
    }
    /// The value in metres.
    pub fn as_m(self) -> f64 {
        self.m
    }
}

impl fmt::Display for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match f.precision() {
            Some(p) => write!(f, "{:.*} mm", p, self.as_mm()),
            None => write!(f, "{} mm", self.as_mm()),
        }
    }
}

/// A plane angle: a positioner angle (112011, 112012, 113739, 113740), a table angle
/// (113754–113756) or a column angulation (113770).
///
/// Stored in degrees, the unit (UCUM `deg`) of those items and of PS3.3 C.8.7.5.1.2, with the
/// sign the item's definition gives (PS3.16 Table D-1). The constructor takes any number; values
/// read from files are checked to be finite first.
///
/// ```
/// use kerma::Angle;
/// let lao = Angle::from_deg(90.0);
/// assert_eq!(lao.as_deg(), 90.0);
/// assert!((lao.as_rad() - std::f64::consts::FRAC_PI_2).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Angle {
    deg: f64,
}

impl Angle {
    /// From a value in degrees (UCUM `deg`).
    pub fn from_deg(v: f64) -> Angle {
        Angle { deg: v + 0.0 }
    }
    /// From a value in radians (UCUM `rad`).
    pub fn from_rad(v: f64) -> Angle {
        Angle {
            deg: v.to_degrees() + 0.0,
        }
    }
    /// The value in degrees.
    pub fn as_deg(self) -> f64 {
        self.deg
    }
    /// The value in radians.
    pub fn as_rad(self) -> f64 {
        self.deg.to_radians()
    }
}

impl fmt::Display for Angle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match f.precision() {
            Some(p) => write!(f, "{:.*}°", p, self.deg),
            None => write!(f, "{}°", self.deg),
        }
    }
}

/// A unit that a DICOM content item or attribute declares, resolved to a quantity kind and
/// an exact factor to the canonical SI unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnitKind {
    /// Dose-area product (canonical Gy·m²).
    Dap,
    /// Air kerma (canonical Gy).
    AirKerma,
    /// Time (canonical s).
    Time,
    /// Length (canonical m).
    Length,
    /// Area (canonical m²).
    Area,
    /// A count or other dimensionless number (`1`, `{pulse}`).
    Count,
    /// Plane angle (canonical degree).
    Angle,
}

/// How a unit code relates to UCUM and to the unit the template asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnitStatus {
    /// Valid UCUM (and, for dose quantities, the unit the template asks for, or a plain scaled
    /// UCUM unit for technique values).
    Ucum,
    /// Valid UCUM but not the template's unit (for example `mGy` for Dose (RP)).
    UcumNonStandard,
    /// Not UCUM, accepted through kerma's explicit alias table (`Gym2`, `Gy.cm^2`, `pulse/s`, `uAs`).
    VendorAlias,
}

/// A recognised unit code: its kind, factor to the canonical unit and status.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnownUnit {
    /// What the unit measures.
    pub kind: UnitKind,
    /// Exact factor from the unit to the canonical SI unit of its kind.
    pub factor: f64,
    /// Whether the code is UCUM, and whether it is the template unit.
    pub status: UnitStatus,
}

/// Looks up a unit code (the CodeValue of MeasurementUnitsCodeSequence) in kerma's table.
///
/// Returns `None` for a unit kerma does not know: such a value is never guessed.
pub fn lookup_unit(code: &str) -> Option<KnownUnit> {
    use UnitKind::*;
    use UnitStatus::*;
    let (kind, factor, status) = match code {
        "Gy.m2" => (Dap, 1.0, Ucum),
        "Gym2" => (Dap, 1.0, VendorAlias),
        "Gy.cm2" => (Dap, 1e-4, UcumNonStandard),
        "Gy.cm^2" => (Dap, 1e-4, VendorAlias),
        "dGy.cm2" => (Dap, 1e-5, UcumNonStandard),
        "cGy.cm2" => (Dap, 1e-6, UcumNonStandard),
        "mGy.cm2" => (Dap, 1e-7, UcumNonStandard),
        "uGy.cm2" => (Dap, 1e-10, UcumNonStandard),
        "mGy.m2" => (Dap, 1e-3, UcumNonStandard),
        "uGy.m2" => (Dap, 1e-6, UcumNonStandard),
        "Gy" => (AirKerma, 1.0, Ucum),
        "dGy" => (AirKerma, 0.1, UcumNonStandard),
        "cGy" => (AirKerma, 0.01, UcumNonStandard),
        "mGy" => (AirKerma, 1e-3, UcumNonStandard),
        "uGy" => (AirKerma, 1e-6, UcumNonStandard),
        "s" => (Time, 1.0, Ucum),
        "ms" => (Time, 1e-3, Ucum),
        "us" => (Time, 1e-6, Ucum),
        "min" => (Time, 60.0, Ucum),
        "h" => (Time, 3600.0, Ucum),
        "mm" => (Length, 1e-3, Ucum),
        "cm" => (Length, 1e-2, Ucum),
        "m" => (Length, 1.0, Ucum),
        "mm2" => (Area, 1e-6, Ucum),
        "cm2" => (Area, 1e-4, Ucum),
        "m2" => (Area, 1.0, Ucum),
        "deg" => (Angle, 1.0, Ucum),
        "1" | "{pulse}" | "{frames}" | "{frame}" => (Count, 1.0, Ucum),
        _ => return None,
    };
    Some(KnownUnit {
        kind,
        factor,
        status,
    })
}

/// Builds a [`Duration`] from seconds, rejecting NaN, infinite, negative and absurd values.
///
/// # Errors
/// NaN, infinite or negative values, and values too large for a `Duration`.
pub fn duration_from_secs(v: f64) -> Result<Duration, QuantityError> {
    let v = check(v)?;
    Duration::try_from_secs_f64(v).map_err(|_| QuantityError::Infinite(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_table_is_exact_powers_of_ten() -> Result<(), QuantityError> {
        let one = Dap::try_from_gy_m2(1.0)?;
        assert_eq!(one.as_gy_cm2(), 1e4);
        assert_eq!(one.as_dgy_cm2(), 1e5);
        assert_eq!(Dap::try_from_mgy_cm2(1e7)?.as_gy_m2(), 1.0);
        assert_eq!(Dap::try_from_ugy_m2(1e6)?.as_gy_m2(), 1.0);
        assert_eq!(AirKerma::try_from_mgy(1000.0)?.as_gy(), 1.0);
        assert_eq!(AirKerma::try_from_dgy(10.0)?.as_gy(), 1.0);
        Ok(())
    }

    #[test]
    fn rejects_nan_inf_negative() -> Result<(), QuantityError> {
        assert_eq!(
            Dap::try_from_gy_m2(f64::NAN),
            Err(QuantityError::NotANumber)
        );
        assert!(matches!(
            Dap::try_from_gy_m2(f64::INFINITY),
            Err(QuantityError::Infinite(_))
        ));
        assert!(matches!(
            AirKerma::try_from_gy(-1.0),
            Err(QuantityError::Negative(_))
        ));
        assert!(duration_from_secs(-0.5).is_err());
        assert!(duration_from_secs(f64::NAN).is_err());
        assert_eq!(Dap::try_from_gy_m2(-0.0)?.as_gy_m2().to_bits(), 0);
        Ok(())
    }

    #[test]
    fn round_trips() -> Result<(), QuantityError> {
        for v in [0.0, 1e-9, 0.5, 123.456, 1e6] {
            let d = Dap::try_from_gy_cm2(v)?;
            assert!((d.as_gy_cm2() - v).abs() <= v * 1e-15);
            let k = AirKerma::try_from_mgy(v)?;
            assert!((k.as_mgy() - v).abs() <= v * 1e-15);
        }
        Ok(())
    }

    #[test]
    fn unit_table_gives_kind_factor_and_status() {
        let u = lookup_unit("dGy.cm2");
        assert_eq!(
            u,
            Some(KnownUnit {
                kind: UnitKind::Dap,
                factor: 1e-5,
                status: UnitStatus::UcumNonStandard,
            })
        );
        assert_eq!(
            lookup_unit("Gym2").map(|u| u.status),
            Some(UnitStatus::VendorAlias)
        );
        assert_eq!(lookup_unit("Gy").map(|u| u.status), Some(UnitStatus::Ucum));
        assert!(lookup_unit("Gy.in2").is_none());
    }

    #[test]
    fn lengths_and_angles_convert_and_keep_their_sign() {
        for mm in [0.0, 700.0, 785.0, -87.4, 1524.5, 1e-3, -1e6] {
            assert_eq!(Length::from_mm(mm).as_mm(), mm, "{mm} mm");
            assert!((Length::from_mm(mm).as_cm() - mm / 10.0).abs() <= mm.abs() * 1e-15);
        }
        assert_eq!(Length::from_cm(-12.5).as_mm(), -125.0);
        assert_eq!(Length::from_m(1.2).as_cm(), 120.0);
        assert_eq!(Length::from_mm(-0.0).as_mm().to_bits(), 0, "-0 is 0");
        assert_eq!(format!("{:.1}", Length::from_cm(78.5)), "785.0 mm");
        assert_eq!(Angle::from_deg(-30.0).as_deg(), -30.0);
        assert!((Angle::from_deg(180.0).as_rad() - std::f64::consts::PI).abs() < 1e-15);
        assert!((Angle::from_rad(-std::f64::consts::FRAC_PI_2).as_deg() + 90.0).abs() < 1e-12);
        assert_eq!(Angle::from_deg(-0.0).as_deg().to_bits(), 0);
        assert_eq!(format!("{:.1}", Angle::from_deg(25.0)), "25.0°");
        let deg = lookup_unit("deg").map(|u| (u.kind, u.factor));
        assert_eq!(deg, Some((UnitKind::Angle, 1.0)));
        assert!(
            lookup_unit("rad").is_none(),
            "not a factor of ten: not in the table"
        );
    }

    #[test]
    fn compensated_sums_of_quantities() -> Result<(), QuantityError> {
        assert_eq!(Dap::compensated_sum([]), None);
        // 1 + 1e-16 + 1e-16 + … loses every small term when added left to right.
        let big = Dap::try_from_gy_m2(1.0)?;
        let small = Dap::try_from_gy_m2(1e-16)?;
        let values = std::iter::once(big).chain(std::iter::repeat_n(small, 100));
        let naive: Dap = values.clone().sum();
        assert_eq!(naive.as_gy_m2(), 1.0);
        let sum = Dap::compensated_sum(values).ok_or(QuantityError::NotANumber)?;
        assert!((sum.as_gy_m2() - (1.0 + 1e-14)).abs() < 1e-17);
        let k = AirKerma::try_from_gy(1e308)?;
        assert_eq!(AirKerma::compensated_sum([k, k]), None, "not finite");
        Ok(())
    }

    #[test]
    fn ratios_and_sums() -> Result<(), QuantityError> {
        let a = Dap::try_from_gy_cm2(30.0)?;
        let b = Dap::try_from_gy_cm2(60.0)?;
        assert!((a / b - 0.5).abs() < 1e-15);
        let s: Dap = [a, b].iter().sum();
        assert!((s.as_gy_cm2() - 90.0).abs() < 1e-9);
        assert_eq!(format!("{:.1}", s), "90.0 Gy·cm²");
        Ok(())
    }
}

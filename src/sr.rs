//! Stage 2: the SR content tree, read in place.
//!
//! Content items are views over the scanned [`Item`]s: nothing is copied. Concepts are
//! matched by (code value, coding scheme); numbers are strict Decimal Strings (PS3.5 Table
//! 6.2-1) converted by their own unit code.

use std::time::Duration;

use crate::codes::{Code, Concept};
pub(crate) use crate::dataset::CONTENT_SEQUENCE;
use crate::dataset::{CONCEPT_CODE, CONCEPT_NAME, Item, UNITS};
use crate::units::{
    AirKerma, Angle, Dap, Length, UnitKind, UnitStatus, duration_from_secs, lookup_unit,
};
use crate::value::{parse_ds, parse_ds_multi, trim_padding};
use crate::warning::Warning;

const VALUE_TYPE: u32 = 0x0040_A040;
const MEASURED_VALUE: u32 = 0x0040_A300;
const NUMERIC_VALUE: u32 = 0x0040_A30A;
const FLOATING_POINT_VALUE: u32 = 0x0040_A161;
const TEXT_VALUE: u32 = 0x0040_A160;
const UID: u32 = 0x0040_A124;
const DATETIME: u32 = 0x0040_A120;
pub(crate) const CONTENT_TEMPLATE: u32 = 0x0040_A504;
pub(crate) const TEMPLATE_IDENTIFIER: u32 = 0x0040_DB00;

/// A code as written in a file, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CodeRef<'a> {
    /// Code Value as written (padding removed); compared as bytes, never decoded on the hot path.
    pub value: &'a [u8],
    pub scheme: &'a [u8],
    /// Code Meaning as written: display text, decoded only when a message or copy needs it.
    meaning_raw: &'a [u8],
}

impl<'a> CodeRef<'a> {
    pub fn is(&self, c: Concept) -> bool {
        self.value == c.code.as_bytes() && self.scheme == c.scheme.as_bytes()
    }
    pub fn value_str(&self) -> std::borrow::Cow<'a, str> {
        String::from_utf8_lossy(self.value)
    }
    pub fn to_owned_code(self) -> crate::Code {
        crate::Code::new(
            &self.value_str(),
            &String::from_utf8_lossy(self.scheme),
            &String::from_utf8_lossy(self.meaning_raw),
        )
    }
}

/// The code of a code item (see [`crate::dataset::Code`]).
pub(crate) fn code_in<'a>(item: &Item<'_, 'a>) -> Option<CodeRef<'a>> {
    item.as_code().map(CodeRef::from)
}

impl<'a> From<crate::dataset::Code<'a>> for CodeRef<'a> {
    fn from(c: crate::dataset::Code<'a>) -> Self {
        CodeRef {
            value: c.value,
            scheme: c.scheme,
            meaning_raw: c.meaning,
        }
    }
}

/// A content item view.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Content<'i, 'a> {
    pub item: Item<'i, 'a>,
}

impl<'i, 'a> Content<'i, 'a> {
    pub fn new(item: &Item<'i, 'a>) -> Self {
        Content { item: *item }
    }
    pub fn concept(&self) -> Option<CodeRef<'a>> {
        self.item.code(CONCEPT_NAME).map(CodeRef::from)
    }
    pub fn is(&self, c: Concept) -> bool {
        self.concept().is_some_and(|k| k.is(c))
    }
    pub fn value_type(&self) -> Option<&'a str> {
        self.item.ascii(VALUE_TYPE)
    }
    pub fn children(&self) -> impl Iterator<Item = Content<'i, 'a>> + 'i {
        self.item
            .items(CONTENT_SEQUENCE)
            .iter()
            .map(|i| Content::new(&i))
    }
    pub fn child(&self, c: Concept) -> Option<Content<'i, 'a>> {
        self.children().find(|k| k.is(c))
    }
    /// The coded value of a CODE item.
    pub fn code(&self) -> Option<CodeRef<'a>> {
        self.item.code(CONCEPT_CODE).map(CodeRef::from)
    }
    /// The text of a TEXT item (UTF-8 or Latin-1 tolerant).
    pub fn text(&self) -> Option<String> {
        let b = trim_padding(self.item.bytes(TEXT_VALUE)?);
        if b.is_empty() {
            return None;
        }
        Some(match std::str::from_utf8(b) {
            Ok(s) => s.to_owned(),
            Err(_) => b.iter().map(|&c| c as char).collect(),
        })
    }
    pub fn uid(&self) -> Option<&'a str> {
        self.item.ascii(UID)
    }
    pub fn datetime(&self) -> Option<&'a str> {
        self.item.ascii(DATETIME)
    }

    /// Reads a NUM item's measured value(s) and unit (parsed on demand, see [`Num`]).
    pub fn num(&self) -> Num<'i> {
        let Some(mv) = self.item.items(MEASURED_VALUE).first() else {
            return Num::Empty;
        };
        let unit = mv.code(UNITS).map(CodeRef::from);
        if let Some(fp) = mv.bytes(FLOATING_POINT_VALUE)
            && !fp.is_empty()
            && fp.len() % 8 == 0
        {
            return Num::Values {
                raw: NumRaw::Float(fp),
                unit,
            };
        }
        match mv.bytes(NUMERIC_VALUE) {
            None => Num::Empty,
            Some(b) => {
                let raw = trim_padding(b);
                if raw.is_empty() {
                    return Num::Empty;
                }
                Num::Values {
                    raw: NumRaw::Text(raw),
                    unit,
                }
            }
        }
    }
}

/// A measured value as written: Numeric Value (DS, possibly multi-valued) or Floating Point
/// Value (FD, a multiple of 8 bytes).
#[derive(Debug, Clone, Copy)]
pub(crate) enum NumRaw<'a> {
    Text(&'a [u8]),
    Float(&'a [u8]),
}

impl NumRaw<'_> {
    /// The value as written, for messages.
    pub fn show(&self) -> String {
        match self {
            NumRaw::Text(b) => String::from_utf8_lossy(b).into_owned(),
            NumRaw::Float(_) => self
                .floats()
                .next()
                .map(|f| f.to_string())
                .unwrap_or_default(),
        }
    }
    fn floats(&self) -> impl Iterator<Item = f64> + '_ {
        let b: &[u8] = match self {
            NumRaw::Float(b) => b,
            NumRaw::Text(_) => &[],
        };
        b.chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
    }
    /// Every value, each checked (a Decimal String strictly, see [`parse_ds`]).
    pub fn values(&self) -> Result<Vec<f64>, &'static str> {
        match self {
            NumRaw::Text(b) => parse_ds_multi(b),
            NumRaw::Float(_) => Ok(self.floats().collect()),
        }
    }
    /// The first value and how many there are, every one checked, without allocating (the
    /// common case of a single dose value).
    pub fn first_and_count(&self) -> Result<(f64, usize), &'static str> {
        let mut first = None;
        let mut n = 0;
        match self {
            NumRaw::Text(b) => {
                for part in b.split(|&c| c == b'\\') {
                    let v = parse_ds(part)?;
                    first.get_or_insert(v);
                    n += 1;
                }
            }
            NumRaw::Float(_) => {
                for v in self.floats() {
                    first.get_or_insert(v);
                    n += 1;
                }
            }
        }
        first.map(|v| (v, n)).ok_or("empty")
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Num<'a> {
    /// No MeasuredValueSequence item, or an empty value: not reported.
    Empty,
    Values {
        raw: NumRaw<'a>,
        unit: Option<CodeRef<'a>>,
    },
}

/// Reads dose quantities from NUM items, recording every deviation as a warning.
#[derive(Default)]
pub(crate) struct NumReader {
    /// The deviations, in the order the items were read.
    pub warnings: Vec<Warning>,
    pub codes: CodeCache,
}

/// The codes of one report, each decoded and allocated once: events repeat the same few.
#[derive(Debug, Default)]
pub(crate) struct CodeCache {
    codes: Vec<Code>,
}

impl CodeCache {
    /// Distinct codes kept; a report with more (a hostile one) allocates the rest each time,
    /// so a lookup stays a short scan.
    const MAX: usize = 32;

    /// An owned copy of `c`, shared with earlier copies of the same code.
    pub fn get(&mut self, c: CodeRef<'_>) -> Code {
        let same = |k: &&Code| {
            k.value().as_bytes() == c.value
                && k.scheme().as_bytes() == c.scheme
                && k.meaning().as_bytes() == c.meaning_raw
        };
        if let Some(k) = self.codes.iter().find(same) {
            return k.clone();
        }
        let k = c.to_owned_code();
        // A code that needed a lossy decode never matches its bytes again: not worth a slot.
        if self.codes.len() < Self::MAX && same(&&k) {
            self.codes.push(k.clone());
        }
        k
    }
}

impl NumReader {
    /// A single non-negative SI value of the expected kind, or `None` with a warning.
    fn single_si(&mut self, c: &Content<'_, '_>, concept: Concept, kind: UnitKind) -> Option<f64> {
        self.single_value(c, concept, kind, false)
    }

    /// A single finite value of the expected kind in its canonical unit, negative only when
    /// `signed`; otherwise `None` with a warning.
    fn single_value(
        &mut self,
        c: &Content<'_, '_>,
        concept: Concept,
        kind: UnitKind,
        signed: bool,
    ) -> Option<f64> {
        match c.num() {
            Num::Empty => {
                if matches!(kind, UnitKind::Dap | UnitKind::AirKerma | UnitKind::Time) {
                    self.warnings.push(Warning::EmptyValue { concept });
                }
                None
            }
            Num::Values { raw, unit } => {
                let (v, count) = match raw.first_and_count() {
                    Ok(x) => x,
                    Err(reason) => {
                        self.warnings.push(Warning::InvalidNumber {
                            concept,
                            raw: raw.show(),
                            reason: reason.to_owned(),
                        });
                        return None;
                    }
                };
                if count != 1 {
                    self.warnings.push(Warning::MultiValued { concept, count });
                    return None;
                }
                let factor = self.unit_factor(unit, concept, kind)?;
                if v.is_nan() || v.is_infinite() || (v < 0.0 && !signed) {
                    self.warnings.push(Warning::InvalidNumber {
                        concept,
                        raw: raw.show(),
                        reason: if v < 0.0 { "negative" } else { "not finite" }.to_owned(),
                    });
                    return None;
                }
                // A length's factor below 1 is the reciprocal of a whole power of ten: dividing
                // by that is correctly rounded, so 700 mm reads back as 700 mm.
                Some(
                    if factor < 1.0 && kind == UnitKind::Length {
                        v / (1.0 / factor).round()
                    } else {
                        v * factor
                    } + 0.0,
                )
            }
        }
    }

    fn unit_factor(
        &mut self,
        unit: Option<CodeRef<'_>>,
        concept: Concept,
        kind: UnitKind,
    ) -> Option<f64> {
        let Some(unit) = unit else {
            self.warnings.push(Warning::MissingUnit { concept });
            return None;
        };
        let code = unit.value_str();
        let Some(known) = lookup_unit(&code) else {
            self.warnings.push(Warning::UnknownUnit {
                concept,
                unit: code.clone().into_owned(),
            });
            return None;
        };
        if known.kind != kind {
            self.warnings.push(Warning::WrongUnitKind {
                concept,
                unit: code.clone().into_owned(),
            });
            return None;
        }
        match known.status {
            UnitStatus::VendorAlias => self.warnings.push(Warning::UnitAlias {
                concept,
                unit: code.clone().into_owned(),
            }),
            UnitStatus::UcumNonStandard => self.warnings.push(Warning::NonStandardUnit {
                concept,
                unit: code.clone().into_owned(),
            }),
            UnitStatus::Ucum => {}
        }
        Some(known.factor)
    }

    pub fn dap(&mut self, c: &Content<'_, '_>, concept: Concept) -> Option<Dap> {
        let v = self.single_si(c, concept, UnitKind::Dap)?;
        let d = Dap::try_from_gy_m2(v).ok()?;
        if d.as_gy_m2() > 1.0 {
            self.warnings.push(Warning::Implausible {
                concept,
                value: d.as_gy_cm2(),
                unit: "Gy·cm²",
            });
        }
        Some(d)
    }

    pub fn air_kerma(&mut self, c: &Content<'_, '_>, concept: Concept) -> Option<AirKerma> {
        let v = self.single_si(c, concept, UnitKind::AirKerma)?;
        let k = AirKerma::try_from_gy(v).ok()?;
        if k.as_gy() > 50.0 {
            self.warnings.push(Warning::Implausible {
                concept,
                value: k.as_mgy(),
                unit: "mGy",
            });
        }
        Some(k)
    }

    pub fn duration(&mut self, c: &Content<'_, '_>, concept: Concept) -> Option<Duration> {
        let v = self.single_si(c, concept, UnitKind::Time)?;
        let d = duration_from_secs(v).ok()?;
        if v > 86_400.0 {
            self.warnings.push(Warning::Implausible {
                concept,
                value: v,
                unit: "s",
            });
        }
        Some(d)
    }

    /// A length in metres.
    pub fn length_m(&mut self, c: &Content<'_, '_>, concept: Concept) -> Option<f64> {
        self.single_si(c, concept, UnitKind::Length)
    }

    /// A distance (non-negative), converted by its unit code (`mm`, `cm`, `m`).
    pub fn distance(&mut self, c: &Content<'_, '_>, concept: Concept) -> Option<Length> {
        self.single_si(c, concept, UnitKind::Length)
            .map(Length::from_m)
    }

    /// A signed position along an axis, converted by its unit code (`mm`, `cm`, `m`).
    pub fn position(&mut self, c: &Content<'_, '_>, concept: Concept) -> Option<Length> {
        self.single_value(c, concept, UnitKind::Length, true)
            .map(Length::from_m)
    }

    /// A signed plane angle (unit `deg`).
    pub fn angle(&mut self, c: &Content<'_, '_>, concept: Concept) -> Option<Angle> {
        self.single_value(c, concept, UnitKind::Angle, true)
            .map(Angle::from_deg)
    }

    /// An area in m².
    pub fn area_m2(&mut self, c: &Content<'_, '_>, concept: Concept) -> Option<f64> {
        self.single_si(c, concept, UnitKind::Area)
    }

    /// A count (unit `1`): a non-negative whole number.
    pub fn count(&mut self, c: &Content<'_, '_>, concept: Concept) -> Option<u64> {
        let v = self.technique(c, concept)?;
        let first = *v.values.first()?;
        if v.values.len() != 1 || first < 0.0 || first.fract() != 0.0 || first > 1e15 {
            self.warnings.push(Warning::InvalidNumber {
                concept,
                raw: format!("{:?}", v.values),
                reason: "not a single whole number".to_owned(),
            });
            return None;
        }
        Some(first as u64)
    }

    /// [`Technique::value`] of [`NumReader::technique`], without building the vector in the
    /// common single-valued case.
    pub fn technique_value(&mut self, c: &Content<'_, '_>, concept: Concept) -> Option<f64> {
        match c.num() {
            Num::Empty => return None,
            Num::Values { raw, unit } => {
                if let Ok((v, 1)) = raw.first_and_count() {
                    self.technique_unit(unit, concept);
                    return Some(v);
                }
            }
        }
        self.technique(c, concept).and_then(|t| t.value())
    }

    /// Records a vendor alias among a technique factor's units.
    fn technique_unit(&mut self, unit: Option<CodeRef<'_>>, concept: Concept) {
        if let Some(u) = unit
            && matches!(u.value, b"uAs" | b"pulse/s")
        {
            self.warnings.push(Warning::UnitAlias {
                concept,
                unit: u.value_str().into_owned(),
            });
        }
    }

    /// A technique factor "as found": every value, unit not checked beyond the alias table.
    pub fn technique(&mut self, c: &Content<'_, '_>, concept: Concept) -> Option<Technique> {
        match c.num() {
            Num::Empty => None,
            Num::Values { raw, unit } => match raw.values() {
                Ok(values) => {
                    self.technique_unit(unit, concept);
                    Some(Technique { values })
                }
                Err(reason) => {
                    self.warnings.push(Warning::InvalidNumber {
                        concept,
                        raw: raw.show(),
                        reason: reason.to_owned(),
                    });
                    None
                }
            },
        }
    }
}

/// A technique factor as written: one value, or one value per pulse (a multi-valued
/// Numeric Value, PS3.3 C.18.1.1, as the Eurocolumbus Fly4 writes kVp, mA and pulse width).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Technique {
    /// Every value found, in the unit the item declares (kV, mA, ms as the name says).
    pub values: Vec<f64>,
}

impl Technique {
    /// The mean of all values.
    pub fn mean(&self) -> Option<f64> {
        if self.values.is_empty() {
            None
        } else {
            Some(self.values.iter().sum::<f64>() / self.values.len() as f64)
        }
    }
    /// The mean of the non-zero values (the first pulse of a per-pulse vector is often 0);
    /// `None` when all are zero.
    pub fn mean_nonzero(&self) -> Option<f64> {
        let (sum, n) = self
            .values
            .iter()
            .filter(|v| **v != 0.0)
            .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
        (n > 0).then(|| sum / n as f64)
    }
    /// The single value, or the non-zero mean of a per-pulse vector.
    pub fn value(&self) -> Option<f64> {
        if self.values.len() == 1 {
            self.values.first().copied()
        } else {
            self.mean_nonzero()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_cache_copies_exactly_and_stays_bounded() {
        fn raw<'a>(value: &'a [u8], meaning: &'a [u8]) -> CodeRef<'a> {
            CodeRef {
                value,
                scheme: b"DCM",
                meaning_raw: meaning,
            }
        }
        let mut cache = CodeCache::default();
        let a = cache.get(raw(b"113620", b"Stationary Acquisition"));
        assert_eq!(a, Code::new("113620", "DCM", "Stationary Acquisition"));
        // Same value and scheme, another meaning: a distinct code, never the cached one.
        let b = cache.get(raw(b"113620", b"Stationary acquisition"));
        assert_eq!(b.meaning(), "Stationary acquisition");
        assert_eq!(cache.get(raw(b"113620", b"Stationary Acquisition")), a);
        // Latin-1 meaning: decoded lossily every time, and not kept.
        let latin = cache.get(raw(b"1", b"R\xe9f\xe9rence"));
        assert_eq!(latin.meaning(), "R\u{fffd}f\u{fffd}rence");
        assert_eq!(cache.codes.len(), 2);
        for i in 0..1000u32 {
            let v = i.to_string();
            assert_eq!(cache.get(raw(v.as_bytes(), b"m")).value(), v);
        }
        assert_eq!(cache.codes.len(), CodeCache::MAX);
    }

    #[test]
    fn technique_means() {
        let t = Technique {
            values: vec![0.0, 70.0, 72.0],
        };
        assert_eq!(t.mean_nonzero(), Some(71.0));
        assert_eq!(t.value(), Some(71.0));
        let z = Technique {
            values: vec![0.0, 0.0],
        };
        assert_eq!(z.mean_nonzero(), None);
    }
}

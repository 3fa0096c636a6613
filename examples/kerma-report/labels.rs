//! What the outputs for people say: room and procedure-type names, plain-language verdicts,
//! ISO 8601 dates, numbers with the digits they carry, warnings counted once, and the
//! descriptions that no rule typed.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use kerma::reference::{DrlQuantity, ReferenceTables, Verdict};
use kerma::report::ProcedureRow;

use crate::output::code;

/// The rooms of the report, numbered R1, R2, … in the order of their names, the same in
/// every section.
pub struct Rooms {
    /// (key, display name), sorted by name then key.
    rooms: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

/// The name a person recognises for the room of a procedure (Station Name, Device Observer
/// Name, …, or the name a `--rooms` file gives it).
pub fn room_name(p: &ProcedureRow) -> &str {
    &p.room
}

impl Rooms {
    /// The rooms of `procedures`.
    pub fn new(procedures: &[ProcedureRow]) -> Rooms {
        let mut names: BTreeMap<&str, &str> = BTreeMap::new();
        for p in procedures {
            names.entry(&p.room_key).or_insert_with(|| room_name(p));
        }
        let mut rooms: Vec<(String, String)> = names
            .into_iter()
            .map(|(k, n)| (k.to_owned(), n.to_owned()))
            .collect();
        rooms.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        let index = rooms
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), i))
            .collect();
        Rooms { rooms, index }
    }

    /// The display name of the room with `key`; the key itself for a room without procedures.
    pub fn name<'a>(&'a self, key: &'a str) -> &'a str {
        self.index
            .get(key)
            .map_or(key, |&i| self.rooms[i].1.as_str())
    }

    /// `R1`, `R2`, …; `R?` for a room without procedures.
    pub fn label(&self, key: &str) -> String {
        self.index
            .get(key)
            .map_or_else(|| "R?".to_owned(), |i| format!("R{}", i + 1))
    }

    /// The 0-based number of the room with `key`.
    pub fn number(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// Every room: (key, display name), in number order.
    pub fn all(&self) -> &[(String, String)] {
        &self.rooms
    }
}

/// Names of procedure types, from the `procedure_name_en` of the reference-level tables.
pub struct TypeNames(BTreeMap<String, String>);

impl TypeNames {
    pub fn new(tables: &ReferenceTables) -> TypeNames {
        let mut names = BTreeMap::new();
        for l in tables.drl_levels() {
            if !l.procedure_name_en.is_empty() {
                names
                    .entry(l.procedure_code.clone())
                    .or_insert_with(|| l.procedure_name_en.clone());
            }
        }
        TypeNames(names)
    }

    /// The name of procedure type `code`; the code itself when no table names it.
    pub fn name<'a>(&'a self, code: &'a str) -> &'a str {
        self.0.get(code).map_or(code, String::as_str)
    }
}

/// A quantity as a person reads it.
pub fn quantity_name(q: DrlQuantity) -> &'static str {
    match q {
        DrlQuantity::Pka => "P_KA",
        DrlQuantity::KaR => "K_a,r",
        DrlQuantity::FluoroTime => "fluoroscopy time",
        DrlQuantity::Images => "acquisition images",
        _ => q.code(),
    }
}

/// A unit of the reports as printed (`Gy.cm2` → `Gy·cm²`); empty for a count.
pub fn unit_name(unit: &str) -> &str {
    match unit {
        "Gy.cm2" => "Gy·cm²",
        "Gy.m2" => "Gy·m²",
        "count" => "",
        u => u,
    }
}

/// A verdict in plain words; `min` is the minimum sample size of its row.
pub fn verdict_words(v: Verdict, min: usize) -> String {
    match v {
        Verdict::Above => "above the DRL".to_owned(),
        Verdict::Below => "at or below the DRL".to_owned(),
        Verdict::InsufficientSample => format!("fewer than {} procedures", min.max(2)),
        Verdict::NoReference => "no reference level".to_owned(),
        other => code(&other),
    }
}

/// A DICOM DA `YYYYMMDD` as ISO 8601 `YYYY-MM-DD`; any other text as it is.
pub fn iso_date(da: &str) -> Cow<'_, str> {
    let t = da.trim();
    if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        Cow::Owned(format!("{}-{}-{}", &t[..4], &t[4..6], &t[6..]))
    } else {
        Cow::Borrowed(da)
    }
}

/// A DICOM DT `YYYYMMDDHHMMSS.FFFFFF&ZZXX` (any precision from the year, optional offset) as
/// ISO 8601 (`2026-03-15T10:20:00`, `2026-03-15T10:20:00.5+01:00`, `2026-03-15`); any other
/// text as it is.
pub fn iso_datetime(dt: &str) -> Cow<'_, str> {
    let t = dt.trim();
    let (main, offset) = match t.find(['+', '-']) {
        Some(i) => (&t[..i], Some(&t[i..])),
        None => (t, None),
    };
    let (digits, fraction) = match main.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (main, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let shape_ok = all_digits(digits)
        && [4, 6, 8, 10, 12, 14].contains(&digits.len())
        && fraction
            .is_none_or(|f| (1..=6).contains(&f.len()) && all_digits(f) && digits.len() == 14)
        && offset.is_none_or(|o| o.len() == 5 && all_digits(&o[1..]));
    if !shape_ok {
        return Cow::Borrowed(dt);
    }
    let mut s = digits[..4].to_owned();
    for (i, sep) in [(4, '-'), (6, '-'), (8, 'T'), (10, ':'), (12, ':')] {
        if digits.len() > i {
            s.push(sep);
            s.push_str(&digits[i..i + 2]);
        }
    }
    if let Some(f) = fraction {
        s.push('.');
        s.push_str(f);
    }
    if let Some(o) = offset {
        s.push_str(&o[..3]);
        s.push(':');
        s.push_str(&o[3..]);
    }
    Cow::Owned(s)
}

/// The value rounded to `digits` significant digits, written as the shortest decimal that
/// reads back as that rounded value, without an exponent (`47.99999999999999` → `48` for 6
/// digits).
pub fn significant(v: f64, digits: usize) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{}", if v == 0.0 { 0.0 } else { v });
    }
    let rounded: f64 = format!("{:.*e}", digits.saturating_sub(1), v)
        .parse()
        .unwrap_or(v);
    format!("{rounded}")
}

/// A number for people: 4 significant digits; `–` when there is none.
pub fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| significant(v, 4))
}

/// The warnings of one file or procedure, each once, in order of first appearance; one that
/// repeats carries its count (`… accepted as an alias (×300)`).
pub fn counted(warnings: &[String]) -> Vec<String> {
    let mut order: Vec<(&str, usize)> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for w in warnings {
        match at.get(w.as_str()) {
            Some(&i) => order[i].1 += 1,
            None => {
                at.insert(w, order.len());
                order.push((w, 1));
            }
        }
    }
    order
        .into_iter()
        .map(|(w, n)| {
            if n > 1 {
                format!("{w} (×{n})")
            } else {
                w.to_owned()
            }
        })
        .collect()
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    date_of_days((secs / 86_400) as i64)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a DA `YYYYMMDD` (for time axes).
pub fn days_from_da(da: &str) -> Option<i64> {
    let t = da.trim();
    if t.len() != 8 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i64 = t[..4].parse().ok()?;
    let m: i64 = t[4..6].parse().ok()?;
    let d: i64 = t[6..].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// `YYYY-MM-DD` of a day count since 1970-01-01.
pub fn date_of_days(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso_date("20260315"), "2026-03-15");
        assert_eq!(iso_date("2026"), "2026");
        assert_eq!(iso_datetime("20260315102000"), "2026-03-15T10:20:00");
        assert_eq!(
            iso_datetime("20260315102000.5+0100"),
            "2026-03-15T10:20:00.5+01:00"
        );
        assert_eq!(iso_datetime("2026031510"), "2026-03-15T10");
        assert_eq!(iso_datetime("garbage"), "garbage");
        for d in ["19700101", "20000229", "20260315", "21001231"] {
            let days = days_from_da(d).unwrap();
            let (y, m, dd) = civil_from_days(days);
            assert_eq!(format!("{y:04}{m:02}{dd:02}"), d);
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(significant(47.99999999999999, 6), "48");
        assert_eq!(
            significant(0.00000000000000012390881971262908, 6),
            "0.000000000000000123909"
        );
        assert_eq!(significant(5.5804, 6), "5.5804");
        assert_eq!(significant(0.0, 6), "0");
    }
}

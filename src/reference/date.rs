//! Calendar dates of DICOM DA values, as day numbers for rolling windows.

/// A valid calendar date read from a DICOM DA value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Day {
    /// Days since 1970-01-01 (proleptic Gregorian calendar).
    pub(crate) number: i64,
    pub(crate) year: i32,
}

/// Parses `YYYYMMDD` (DICOM DA), also accepting the ACR-NEMA form `YYYY.MM.DD` and
/// `YYYY-MM-DD`. Returns `None` for anything else or an impossible date.
pub(crate) fn parse_da(s: &str) -> Option<Day> {
    let s = s.trim();
    if !s.is_ascii() {
        return None;
    }
    let digits: String = match s.len() {
        8 => s.to_string(),
        10 => {
            let b = s.as_bytes();
            let sep = b[4];
            if (sep == b'.' || sep == b'-') && b[7] == sep {
                format!("{}{}{}", &s[0..4], &s[5..7], &s[8..10])
            } else {
                return None;
            }
        }
        _ => return None,
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = digits[0..4].parse().ok()?;
    let month: u32 = digits[4..6].parse().ok()?;
    let day: u32 = digits[6..8].parse().ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(Day {
        number: days_since_epoch(year, month, day),
        year,
    })
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date, by whole years and months (years 0000–9999).
fn days_since_epoch(y: i32, m: u32, d: u32) -> i64 {
    // days before 1 January of year y, counted from 1 January of year 0
    let prior = i64::from(y) - 1;
    let days_before_year = |p: i64| {
        if p < 0 {
            0
        } else {
            365 * (p + 1) + p / 4 - p / 100 + p / 400 + 1
        }
    };
    let mut days = days_before_year(prior);
    for month in 1..m {
        days += i64::from(days_in_month(y, month));
    }
    days += i64::from(d) - 1;
    days - days_before_year(1969)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,12}") {
            let _ = parse_da(&s);
        }

        #[test]
        fn consecutive_days_differ_by_one(y in 1900i32..2200, m in 1u32..=12, d in 1u32..=27) {
            let a = parse_da(&format!("{y:04}{m:02}{d:02}")).unwrap();
            let b = parse_da(&format!("{y:04}{m:02}{:02}", d + 1)).unwrap();
            prop_assert_eq!(b.number - a.number, 1);
            let next_year = parse_da(&format!("{:04}{m:02}{d:02}", y + 1)).unwrap();
            prop_assert!(next_year.number - a.number == 365 || next_year.number - a.number == 366);
        }
    }

    #[test]
    fn known_days() {
        assert_eq!(parse_da("19700101").unwrap().number, 0);
        assert_eq!(parse_da("19700201").unwrap().number, 31);
        assert_eq!(parse_da("19710101").unwrap().number, 365);
        assert_eq!(parse_da("20000301").unwrap().number, 11017);
        assert_eq!(parse_da("20240229").unwrap().number, 19782);
        assert_eq!(parse_da("2024-03-01").unwrap().number, 19783);
        assert_eq!(parse_da("2024.03.01").unwrap().year, 2024);
        assert_eq!(
            parse_da("20250101").unwrap().number - parse_da("20241231").unwrap().number,
            1
        );
        for bad in [
            "20230229",
            "2024131",
            "20241301",
            "20240100",
            "2024-0301",
            "abcdefgh",
            "",
        ] {
            assert!(parse_da(bad).is_none(), "{bad}");
        }
    }
}

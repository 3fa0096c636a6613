//! Values as DICOM writes them, below every stage: attribute naming for messages, padding,
//! strict parsing of the text value representations (PS3.5 §6.2, Table 6.2-1), and the
//! unaccented spelling of Latin letters that name matching (rooms, procedure texts) folds by.
//!
//! A leaf module: it imports nothing from the crate, so that the byte stage, the SR stage and
//! the image stage can all read values without depending on one another.

use std::fmt;

/// A header attribute kerma reads: its keyword and tag (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Attr {
    /// DICOM keyword.
    pub keyword: &'static str,
    /// Tag as `(group << 16) | element`.
    pub tag: u32,
    pub(crate) vr: [u8; 2],
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({:04X},{:04X})",
            self.keyword,
            self.tag >> 16,
            self.tag & 0xFFFF
        )
    }
}

/// Trims DICOM padding (spaces, NULs) from both ends and checks the value is ASCII.
#[inline]
pub(crate) fn ascii_value(b: &[u8]) -> Option<&str> {
    let s = trim_padding(b);
    if s.is_empty() || !s.is_ascii() {
        return None;
    }
    std::str::from_utf8(s).ok()
}

#[inline]
pub(crate) fn trim_padding(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if *first == b' ' || *first == 0 {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = b {
        if *last == b' ' || *last == 0 {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// Parses one Decimal String strictly: digits, sign, point, exponent; at most 16 bytes;
/// finite. `NaN`, `inf`, commas and embedded spaces are rejected (PS3.5 §6.2, Table 6.2-1).
#[inline]
pub(crate) fn parse_ds(raw: &[u8]) -> Result<f64, &'static str> {
    let s = trim_padding(raw);
    if s.is_empty() {
        return Err("empty");
    }
    if s.len() > 16 {
        return Err("longer than 16 characters");
    }
    if !s
        .iter()
        .all(|c| c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.' | b'e' | b'E'))
    {
        return Err("not a decimal string");
    }
    if !s.iter().any(u8::is_ascii_digit) {
        return Err("not a decimal string");
    }
    // ok: only ASCII bytes remain, checked above
    let text = std::str::from_utf8(s).map_err(|_| "not a decimal string")?;
    let v: f64 = text.parse().map_err(|_| "not a decimal string")?;
    if !v.is_finite() {
        return Err("out of range");
    }
    Ok(v)
}

#[inline]
pub(crate) fn parse_ds_multi(raw: &[u8]) -> Result<Vec<f64>, &'static str> {
    // Room for exactly as many as there are, up to 16 (a collected `split` makes room for
    // four): an event's techniques are most often single values, and every event keeps three.
    let count = raw.iter().filter(|&&b| b == b'\\').count() + 1;
    let mut values = Vec::with_capacity(count.min(16));
    for v in raw.split(|&b| b == b'\\') {
        values.push(parse_ds(v)?);
    }
    Ok(values)
}

/// Parses an Integer String strictly.
#[inline]
pub(crate) fn parse_is(raw: &[u8]) -> Result<i64, &'static str> {
    let s = trim_padding(raw);
    if s.is_empty() || s.len() > 12 {
        return Err("not an integer string");
    }
    let text = ascii_value(s).ok_or("not an integer string")?;
    if !text
        .bytes()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || (i == 0 && (c == b'+' || c == b'-')))
    {
        return Err("not an integer string");
    }
    text.parse().map_err(|_| "not an integer string")
}

/// The unaccented spelling of a lowercase Latin letter with a diacritic or a ligature.
pub(crate) fn unaccented(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_decimal_strings() {
        assert_eq!(parse_ds(b" 1.5 "), Ok(1.5));
        assert_eq!(parse_ds(b"-2E-3"), Ok(-0.002));
        assert_eq!(parse_ds(b"0.00012"), Ok(0.00012));
        for bad in [
            &b"NaN"[..],
            b"inf",
            b"Infinity",
            b"1,5",
            b"1 5",
            b"",
            b"1e309",
            b"12345678901234567",
            b".",
            b"-",
        ] {
            assert!(parse_ds(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_ds_multi(b"0\\70\\71"), Ok(vec![0.0, 70.0, 71.0]));
    }

    #[test]
    fn integer_strings() {
        assert_eq!(parse_is(b" 12 "), Ok(12));
        assert_eq!(parse_is(b"-3"), Ok(-3));
        assert!(parse_is(b"1.5").is_err());
        assert!(parse_is(b"").is_err());
    }

    #[test]
    fn padding_and_ascii() {
        assert_eq!(trim_padding(b"\0 AB \0"), b"AB");
        assert_eq!(trim_padding(b"  "), b"");
        assert_eq!(ascii_value(b" 1.2.3\0"), Some("1.2.3"));
        assert_eq!(ascii_value(b"  "), None);
        assert_eq!(ascii_value(b"caf\xc3\xa9"), None);
    }

    #[test]
    fn attributes_name_themselves_with_their_tag() {
        let a = Attr {
            keyword: "KVP",
            tag: 0x0018_0060,
            vr: *b"DS",
        };
        assert_eq!(a.to_string(), "KVP (0018,0060)");
    }

    #[test]
    fn latin_letters_lose_their_accents_and_ligatures_are_spelt_out() {
        assert_eq!(unaccented('é'), Some("e"));
        assert_eq!(unaccented('œ'), Some("oe"));
        assert_eq!(unaccented('ß'), Some("ss"));
        assert_eq!(unaccented('e'), None);
        assert_eq!(unaccented('ع'), None);
    }
}

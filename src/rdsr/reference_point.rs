//! Free-text Reference Point Definitions (113780) that state the interventional reference
//! point of IEC 60601-2-43: 15 cm from the isocentre towards the focal spot.

/// Whether a free-text Reference Point Definition states the interventional reference point:
/// exactly one distance, 15 cm (150 mm, 0.15 m), from the isocentre (`isocenter`,
/// `isocentre`, `BeamIsocenter`), and the direction of the source: `below` the isocentre (as
/// Philips writes it, the tube being under the table) or `toward(s)` the source, focus,
/// focal spot or tube. A text that also names the table, the detector or the image receptor,
/// or says `above`, is not read as it.
pub(super) fn states_interventional_reference_point(text: &str) -> bool {
    let lower = text.to_lowercase();
    let letters: String = lower.chars().filter(char::is_ascii_alphabetic).collect();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.contains(&w);
    let towards_source = (has("toward") || has("towards"))
        && ["source", "focus", "focal", "tube"].iter().any(|w| has(w));
    let elsewhere = has("above")
        || [
            "table",
            "detector",
            "receptor",
            "imageinput",
            "skin",
            "couch",
        ]
        .iter()
        .any(|w| letters.contains(w));
    distances_mm(&lower) == [150.0]
        && letters.contains("isocent")
        && (has("below") || towards_source)
        && !elsewhere
}

/// Every number followed by a length unit (`mm`, `cm`, `m`, spaces allowed between), in mm.
fn distances_mm(text: &str) -> Vec<f64> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit()
            || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.'))
        {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b',') {
            i += 1;
        }
        let number = text[start..i].replace(',', ".");
        let mut j = i;
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        let unit_end = (j..b.len())
            .find(|&k| !b[k].is_ascii_alphabetic())
            .unwrap_or(b.len());
        let factor = match &text[j..unit_end] {
            "mm" => 1.0,
            "cm" => 10.0,
            "m" => 1000.0,
            _ => continue,
        };
        if let Ok(v) = number.parse::<f64>() {
            out.push(v * factor);
        }
        i = unit_end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_philips_wording_and_its_variants() {
        for text in [
            "15cm below BeamIsocenter",
            "15 cm below beam isocenter",
            "15CM BELOW ISOCENTER",
            "15 cm below the isocentre",
            "150 mm below isocenter",
            "150mm below BeamIsocenter",
            "0.15 m below isocenter",
            "15,0 cm below isocenter",
            "15cm from Isocenter toward Source",
            "15 cm from the isocentre towards the focal spot",
            "15 cm from isocenter towards focus",
            "15 cm toward the tube from the isocenter",
        ] {
            assert!(states_interventional_reference_point(text), "{text}");
        }
    }

    #[test]
    fn near_misses_stay_not_comparable() {
        for text in [
            "15cm above table",
            "30cm below isocenter",
            "15cm above isocenter",
            "15cm below table",
            "15 cm in Front of Image Input Surface",
            "30cm in front of image input surface",
            "15 cm from isocenter toward detector",
            "15 cm from isocenter",
            "1.5cm below isocenter",
            "15 in below isocenter",
            "15 below isocenter",
            "15cm below isocenter, 30cm above table",
            "below isocenter",
            "isocenter",
            "115cm below isocenter",
            "A15cm below isocenter",
            "",
        ] {
            assert!(!states_interventional_reference_point(text), "{text}");
        }
    }

    #[test]
    fn distances() {
        assert_eq!(distances_mm("15cm below"), [150.0]);
        assert_eq!(
            distances_mm("from 30 cm to 150mm, 1 m"),
            [300.0, 150.0, 1000.0]
        );
        assert_eq!(distances_mm("15 min, 15 cmx, x15cm, 15"), Vec::<f64>::new());
        assert_eq!(distances_mm("1.2.3 cm"), Vec::<f64>::new());
    }
}

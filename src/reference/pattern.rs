//! Text matching for procedure typing: folding (case, accents, punctuation) and the patterns
//! of the mapping file.

/// How a pattern is compared with a folded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MatchKind {
    /// Each piece occurs anywhere, in order.
    Contains,
    /// Each piece is one or more whole words, in order.
    Word,
    /// Each piece starts at the start of a word, in order (`embol` matches `embolisation`).
    Prefix,
    /// The whole text (with `*` for any text).
    Exact,
}

impl MatchKind {
    /// The kind of a `match` column value.
    pub(super) fn from_code(s: &str) -> Option<MatchKind> {
        Some(match s {
            "" | "contains" => MatchKind::Contains,
            "word" => MatchKind::Word,
            "prefix" => MatchKind::Prefix,
            "exact" => MatchKind::Exact,
            _ => return None,
        })
    }
}

/// A text folded for matching ([`fold`]), also padded with a space at each end for word
/// and prefix patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Folded {
    plain: String,
    padded: String,
}

impl Folded {
    /// Folds `raw`.
    pub(super) fn new(raw: &str) -> Folded {
        let plain = fold(raw);
        let padded = format!(" {plain} ");
        Folded { plain, padded }
    }
}

/// A pattern of the mapping file, folded and split at `*`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Pattern {
    kind: MatchKind,
    /// Folded pieces between `*`, with the spaces that bound words for word (both sides) and
    /// prefix (before) patterns; empty for the catch-all pattern `*`.
    pieces: Vec<String>,
    anchor_start: bool,
    anchor_end: bool,
}

impl Pattern {
    /// The pattern `raw` compared as `kind`; `None` when it has no letter or digit and is
    /// not `*` alone.
    pub(super) fn parse(raw: &str, kind: MatchKind) -> Option<Pattern> {
        let pieces: Vec<String> = raw
            .split('*')
            .map(fold)
            .filter(|p| !p.is_empty())
            .map(|p| match kind {
                MatchKind::Word => format!(" {p} "),
                MatchKind::Prefix => format!(" {p}"),
                MatchKind::Contains | MatchKind::Exact => p,
            })
            .collect();
        let only_stars = !raw.is_empty() && raw.chars().all(|c| c == '*');
        if pieces.is_empty() && !only_stars {
            return None;
        }
        let raw = raw.trim();
        Some(Pattern {
            kind,
            anchor_start: kind == MatchKind::Exact && !raw.starts_with('*'),
            anchor_end: kind == MatchKind::Exact && !raw.ends_with('*'),
            pieces,
        })
    }

    /// Whether this is the catch-all pattern `*`, which matches without any text.
    pub(super) fn is_catch_all(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Whether the folded text matches.
    pub(super) fn matches(&self, text: &Folded) -> bool {
        match self.kind {
            // consecutive words share the space between them
            MatchKind::Word => glob(&text.padded, &self.pieces, false, false, 1),
            MatchKind::Prefix => glob(&text.padded, &self.pieces, false, false, 0),
            MatchKind::Contains | MatchKind::Exact => glob(
                &text.plain,
                &self.pieces,
                self.anchor_start,
                self.anchor_end,
                0,
            ),
        }
    }
}

/// Whether the pieces occur in `text` in order, without overlapping by more than `overlap`
/// bytes (the shared space of word matches), the first at the start if `anchor_start` and
/// the last at the end if `anchor_end`.
pub(super) fn glob(
    text: &str,
    pieces: &[String],
    anchor_start: bool,
    anchor_end: bool,
    overlap: usize,
) -> bool {
    let Some((last, init)) = pieces.split_last() else {
        return true;
    };
    let mut pos = 0usize;
    for (i, p) in init.iter().enumerate() {
        let from = pos.saturating_sub(overlap);
        let Some(rest) = text.get(from..) else {
            return false;
        };
        if i == 0 && anchor_start {
            if !text.starts_with(p.as_str()) {
                return false;
            }
            pos = p.len();
        } else {
            match rest.find(p.as_str()) {
                Some(at) => pos = from + at + p.len(),
                None => return false,
            }
        }
    }
    let from = pos.saturating_sub(overlap);
    if init.is_empty() && anchor_start {
        return if anchor_end {
            text == last
        } else {
            text.starts_with(last.as_str())
        };
    }
    let Some(rest) = text.get(from..) else {
        return false;
    };
    if anchor_end {
        rest.ends_with(last.as_str())
    } else {
        rest.contains(last.as_str())
    }
}

/// Whether a raw text marks what follows as optional: `±`, `+/-`, `-/+` or `+-` (spaces
/// ignored), as in "Coronarographie +/- angioplastie", a procedure that was planned with or
/// without the second part.
pub(super) fn has_optional_marker(raw: &str) -> bool {
    if raw.contains('±') {
        return true;
    }
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    ["+/-", "-/+", "+-"].iter().any(|m| compact.contains(m))
}

/// Folds a text for matching: lowercase, accents removed, runs of non-alphanumeric
/// characters turned into one space, trimmed.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue; // combining diacritical mark
        }
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            match crate::value::unaccented(c) {
                Some(s) => out.push_str(s),
                None => out.push(c),
            }
        } else {
            space = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: &str, kind: MatchKind) -> Pattern {
        Pattern::parse(raw, kind).unwrap()
    }

    fn f(raw: &str) -> Folded {
        Folded::new(raw)
    }

    #[test]
    fn folding() {
        assert_eq!(
            fold("  Chimio-Embolisation  HÉPATIQUE "),
            "chimio embolisation hepatique"
        );
        assert_eq!(
            fold("Artériographie d'un MEMBRE inférieur"),
            "arteriographie d un membre inferieur"
        );
        assert_eq!(fold("Cœur ŒIL Straße"), "coeur oeil strasse");
        // decomposed e + combining acute accent
        assert_eq!(fold("Ve\u{301}rtebroplastie"), "vertebroplastie");
        assert_eq!(fold("***"), "");
        // "+" and "/" separate words like any punctuation
        assert_eq!(fold("Coro + ATL IVA"), "coro atl iva");
        assert_eq!(fold("ARTERIO MI/MS"), "arterio mi ms");
        assert_eq!(fold("Coronarogr."), "coronarogr");
    }

    #[test]
    fn glob_kinds() {
        let p = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(glob(
            "embolisation d un anevrisme",
            &p(&["embolisation", "anevrisme"]),
            false,
            false,
            0
        ));
        assert!(!glob(
            "anevrisme embolisation",
            &p(&["embolisation", "anevrisme"]),
            false,
            false,
            0
        ));
        assert!(glob("abc", &p(&["abc"]), true, true, 0));
        assert!(!glob("abcd", &p(&["abc"]), true, true, 0));
        assert!(glob("abcd", &p(&["ab", "cd"]), true, true, 0));
        assert!(!glob("abc", &p(&["ab", "bc"]), true, true, 0));
        assert!(glob(" a b ", &p(&[" a ", " b "]), false, false, 1));
        assert!(!glob(" ab ", &p(&[" a "]), false, false, 1));
    }

    #[test]
    fn match_kinds_on_folded_text() {
        let t = &f("coro atl iva");
        assert!(p("CORO", MatchKind::Word).matches(t));
        assert!(!p("cor", MatchKind::Word).matches(t));
        assert!(p("coro*iva", MatchKind::Word).matches(t));
        assert!(p("atl iva", MatchKind::Word).matches(t));
        assert!(!p("iva*coro", MatchKind::Word).matches(t));
        // prefix: a piece starts a word and may end inside one
        assert!(p("embol", MatchKind::Prefix).matches(&f("chimio embolisation")));
        assert!(!p("embol", MatchKind::Prefix).matches(&f("radioembolisation")));
        assert!(p("embol", MatchKind::Contains).matches(&f("radioembolisation")));
        assert!(p("chimio*embol", MatchKind::Prefix).matches(&f("chimio embol foie")));
        assert!(p("coronarogr", MatchKind::Prefix).matches(&f("coronarographie")));
        assert!(!p("iva*atl", MatchKind::Prefix).matches(t));
        // exact: the whole text, `*` for any text
        assert!(p("coro*", MatchKind::Exact).matches(t));
        assert!(!p("coro", MatchKind::Exact).matches(t));
        assert!(p("*iva", MatchKind::Exact).matches(t));
        // the catch-all and patterns without a letter or digit
        assert!(p("*", MatchKind::Contains).is_catch_all());
        assert!(Pattern::parse("--", MatchKind::Contains).is_none());
        assert!(Pattern::parse("", MatchKind::Contains).is_none());
        assert_eq!(MatchKind::from_code("prefix"), Some(MatchKind::Prefix));
        assert_eq!(MatchKind::from_code("regex"), None);
    }

    #[test]
    fn optional_markers() {
        for t in [
            "Coronarographie +/- angioplastie",
            "CORO ± ATL",
            "coro + / - atl",
            "CORO +- ATL",
            "ATL -/+ stent",
        ] {
            assert!(has_optional_marker(t), "{t}");
        }
        for t in [
            "Coro + ATL IVA",
            "ARTERIO MI/MS",
            "CRT-D",
            "Chimio-embolisation",
        ] {
            assert!(!has_optional_marker(t), "{t}");
        }
    }
}

//! Procedure typing: a user-editable CSV of patterns that assigns a `procedure_code` to each
//! procedure from its descriptions, codes, protocol names and room.

use std::io::Read;

use serde::Serialize;

use super::csvfile::{is_procedure_code, read_rows};
use super::error::ReferenceError;

const BUNDLED_MAPPING: &str = include_str!("../../data/procedure-types.csv");

const COLUMNS: &[&str] = &[
    "priority",
    "procedure_code",
    "field",
    "match",
    "pattern",
    "room",
    "notes",
];
const EXPECTED: &str = "priority, procedure_code, field, match, pattern, room, notes";
const REQUIRED: &[&str] = &["priority", "procedure_code", "pattern"];

/// Which DICOM field a procedure text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TextField {
    /// Study Description (0008,1030).
    StudyDescription,
    /// Requested Procedure Description (0032,1060).
    RequestedProcedureDescription,
    /// Performed Procedure Step Description (0040,0254).
    PerformedProcedureStepDescription,
    /// A code of Procedure Code Sequence (0008,1032) or Requested Procedure Code Sequence
    /// (0032,1064): its Code Value or Code Meaning, one text each.
    ProcedureCode,
    /// An acquisition protocol name (Protocol Name (0018,1030) or the RDSR acquisition
    /// protocol, 125203).
    ProtocolName,
}

impl TextField {
    /// The name used in the `field` column of the mapping file and in output.
    pub fn code(self) -> &'static str {
        match self {
            TextField::StudyDescription => "study_description",
            TextField::RequestedProcedureDescription => "requested_procedure_description",
            TextField::PerformedProcedureStepDescription => "performed_procedure_step_description",
            TextField::ProcedureCode => "procedure_code",
            TextField::ProtocolName => "protocol_name",
        }
    }

    fn from_code(s: &str) -> Option<Option<TextField>> {
        Some(match s {
            "" | "any" => None,
            "study_description" => Some(TextField::StudyDescription),
            "requested_procedure_description" => Some(TextField::RequestedProcedureDescription),
            "performed_procedure_step_description" => {
                Some(TextField::PerformedProcedureStepDescription)
            }
            "procedure_code" => Some(TextField::ProcedureCode),
            "protocol_name" => Some(TextField::ProtocolName),
            _ => return None,
        })
    }
}

/// One raw text of a procedure, with the field it comes from. It is matched against the
/// mapping and reported verbatim beside the assigned procedure code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcedureText {
    /// The field the text was read from.
    pub field: TextField,
    /// The text as found in the DICOM object.
    pub text: String,
}

impl ProcedureText {
    /// A text of the given field.
    pub fn new(field: TextField, text: impl Into<String>) -> ProcedureText {
        ProcedureText {
            field,
            text: text.into(),
        }
    }
}

/// The outcome of typing one procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MatchStatus {
    /// Every matching rule gives the same procedure code.
    Matched,
    /// Rules give several codes (for example coronary angiography followed by PCI); the code
    /// of the best priority was assigned and the procedure is flagged.
    MultipleResolved,
    /// Rules of equal best priority give different codes: no code is assigned, the procedure
    /// is flagged and left out of the statistics.
    Ambiguous,
    /// No rule matches: no code is assigned, the procedure is listed and left out of the
    /// statistics.
    Unmatched,
}

/// The procedure type assigned to one procedure, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Classification {
    /// How the code was reached.
    pub status: MatchStatus,
    /// The assigned code (`None` when [`MatchStatus::Ambiguous`] or
    /// [`MatchStatus::Unmatched`]).
    pub procedure_code: Option<String>,
    /// Every code of a matching rule, best priority first.
    pub matched_codes: Vec<String>,
    /// The `file:line` of the best matching rule(s).
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchKind {
    Contains,
    Word,
    Exact,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    priority: u32,
    code: String,
    field: Option<TextField>,
    kind: MatchKind,
    /// Folded pattern pieces between `*`; empty for the catch-all pattern `*`.
    pieces: Vec<String>,
    anchor_start: bool,
    anchor_end: bool,
    room: Option<String>,
    origin: String,
}

/// Rules that assign a `procedure_code` to a procedure from its texts and room.
///
/// # File format (CSV, UTF-8, header required, `#` starts a comment line)
///
/// | column | required | meaning |
/// | --- | --- | --- |
/// | `priority` | yes | whole number; **lower wins** (1 before 100) |
/// | `procedure_code` | yes | code assigned, as in `drl.csv` (lowercase, digits, `_`) |
/// | `field` | no | `any` (default, or empty), `study_description`, `requested_procedure_description`, `performed_procedure_step_description`, `procedure_code`, `protocol_name` |
/// | `match` | no | `contains` (default), `word` (whole words), `exact` (the whole text) |
/// | `pattern` | yes | text; `*` stands for any text; a pattern of only `*` matches every procedure |
/// | `room` | no | restricts the rule to one room (device key, compared without regard to ASCII case) |
/// | `notes` | no | free text |
///
/// Texts and patterns are compared after folding: lowercase, accents removed (é → e,
/// œ → oe, ß → ss, decomposed accents dropped), and every run of characters other than
/// letters and digits replaced by one space. So `Chimio-embolisation` matches the pattern
/// `chimio embolisation`, and `word` pattern `pci` matches `PCI + stent` but not `specimen`.
///
/// A procedure is matched against every rule. If all matching rules give one code, that
/// code is assigned. If they give several codes, the code of the rule with the lowest
/// priority number is assigned and the procedure is flagged
/// ([`MatchStatus::MultipleResolved`]); if several codes share the lowest number, none is
/// assigned ([`MatchStatus::Ambiguous`]). The bundled mapping uses priorities 90–500
/// (specific therapeutic procedures before diagnostic ones), so rules of a user file with
/// numbers below 90 take precedence.
///
/// ```
/// use kerma::reference::{MatchStatus, ProcedureMapping, ProcedureText, TextField};
/// let map = ProcedureMapping::bundled();
/// let c = map.classify(
///     "room-1",
///     &[ProcedureText::new(TextField::StudyDescription, "CORONAROGRAPHIE + ANGIOPLASTIE CORONAIRE")],
/// );
/// assert_eq!(c.procedure_code.as_deref(), Some("pci"));
/// assert_eq!(c.status, MatchStatus::MultipleResolved);
/// assert_eq!(c.matched_codes, ["pci", "coronary_angiography"]);
///
/// let mut local = ProcedureMapping::default();
/// local.load_csv(
///     "local.csv",
///     "priority,procedure_code,match,pattern\n10,tace_liver,word,CEL\n".as_bytes(),
/// )?;
/// let c = local.classify("r", &[ProcedureText::new(TextField::ProtocolName, "Foie CEL")]);
/// assert_eq!(c.procedure_code.as_deref(), Some("tace_liver"));
/// # Ok::<(), kerma::reference::ReferenceError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcedureMapping {
    rules: Vec<Rule>,
}

impl ProcedureMapping {
    /// The default mapping bundled with kerma (`data/procedure-types.csv`): common French and
    /// English names of the procedure types of `drl.csv`.
    pub fn bundled() -> ProcedureMapping {
        let mut m = ProcedureMapping::default();
        m.load_csv("bundled:procedure-types.csv", BUNDLED_MAPPING.as_bytes())
            .expect("bundled procedure-types.csv is valid"); // ok: compile-time text, parsed by a unit test
        m
    }

    /// Reads mapping rules (format above) and adds them to this mapping; returns how many.
    ///
    /// `file` names the input in error messages. Start from [`ProcedureMapping::default`]
    /// to replace the bundled mapping, or from [`ProcedureMapping::bundled`] to extend it.
    ///
    /// # Errors
    /// An unreadable CSV, an unknown, missing or repeated column, a priority that is not a
    /// whole number, an invalid procedure code, field or match kind, or a pattern with no
    /// letter or digit (other than `*`). Each error names the file and the line; no rule of
    /// a failing file is added.
    pub fn load_csv(&mut self, file: &str, reader: impl Read) -> Result<usize, ReferenceError> {
        let rows = read_rows(file, reader, COLUMNS, REQUIRED, EXPECTED)?;
        let mut new = Vec::with_capacity(rows.len());
        for row in &rows {
            let invalid = |column: &'static str, value: &str, expected: &'static str| {
                ReferenceError::InvalidField {
                    file: file.to_string(),
                    line: row.line,
                    column,
                    value: value.to_string(),
                    expected,
                }
            };
            let priority = row
                .get(0)
                .parse::<u32>()
                .map_err(|_| invalid("priority", row.get(0), "a whole number, lower wins"))?;
            let code = row.get(1);
            if !is_procedure_code(code) {
                return Err(invalid(
                    "procedure_code",
                    code,
                    "lowercase letters, digits and '_', not empty",
                ));
            }
            let field = TextField::from_code(row.get(2)).ok_or_else(|| {
                invalid(
                    "field",
                    row.get(2),
                    "any, study_description, requested_procedure_description, performed_procedure_step_description, procedure_code or protocol_name",
                )
            })?;
            let kind = match row.get(3) {
                "" | "contains" => MatchKind::Contains,
                "word" => MatchKind::Word,
                "exact" => MatchKind::Exact,
                other => return Err(invalid("match", other, "contains, word or exact")),
            };
            let raw = row.get(4);
            let pieces: Vec<String> = raw.split('*').map(fold).filter(|p| !p.is_empty()).collect();
            let only_stars = !raw.is_empty() && raw.chars().all(|c| c == '*');
            if pieces.is_empty() && !only_stars {
                return Err(invalid(
                    "pattern",
                    raw,
                    "text with at least one letter or digit, or '*' alone",
                ));
            }
            let room = match row.get(5) {
                "" => None,
                r => Some(r.to_string()),
            };
            new.push(Rule {
                priority,
                code: code.to_string(),
                field,
                kind,
                anchor_start: kind == MatchKind::Exact && !raw.starts_with('*'),
                anchor_end: kind == MatchKind::Exact && !raw.ends_with('*'),
                pieces,
                room,
                origin: format!("{file}:{}", row.line),
            });
        }
        let n = new.len();
        self.rules.extend(new);
        Ok(n)
    }

    /// Every procedure code that a rule of this mapping can assign, sorted, without repeats.
    pub fn procedure_codes(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.rules.iter().map(|r| r.code.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Assigns a procedure type to a procedure performed in `room` with the given texts.
    ///
    /// Never fails: a procedure that no rule matches is [`MatchStatus::Unmatched`].
    pub fn classify(&self, room: &str, texts: &[ProcedureText]) -> Classification {
        let folded: Vec<(TextField, String)> =
            texts.iter().map(|t| (t.field, fold(&t.text))).collect();
        let room = room.trim();
        // (priority, code, origin) of every matching rule
        let mut hits: Vec<(u32, &str, &str)> = self
            .rules
            .iter()
            .filter(|r| {
                r.room
                    .as_deref()
                    .is_none_or(|x| x.eq_ignore_ascii_case(room))
            })
            .filter(|r| {
                r.pieces.is_empty()
                    || folded
                        .iter()
                        .any(|(f, t)| r.field.is_none_or(|rf| rf == *f) && r.matches(t))
            })
            .map(|r| (r.priority, r.code.as_str(), r.origin.as_str()))
            .collect();
        hits.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
        let Some(&(best, _, _)) = hits.first() else {
            return Classification {
                status: MatchStatus::Unmatched,
                procedure_code: None,
                matched_codes: Vec::new(),
                rules: Vec::new(),
            };
        };
        let mut matched_codes: Vec<String> = Vec::new();
        for (_, code, _) in &hits {
            if !matched_codes.iter().any(|c| c == code) {
                matched_codes.push(code.to_string());
            }
        }
        let best_hits: Vec<&(u32, &str, &str)> = hits.iter().filter(|h| h.0 == best).collect();
        let best_codes = best_hits.iter().filter(|h| h.1 != best_hits[0].1).count();
        let rules = best_hits.iter().map(|h| h.2.to_string()).collect();
        let (status, procedure_code) = if best_codes > 0 {
            (MatchStatus::Ambiguous, None)
        } else if matched_codes.len() > 1 {
            (
                MatchStatus::MultipleResolved,
                Some(best_hits[0].1.to_string()),
            )
        } else {
            (MatchStatus::Matched, Some(best_hits[0].1.to_string()))
        };
        Classification {
            status,
            procedure_code,
            matched_codes,
            rules,
        }
    }
}

impl Rule {
    /// Whether the folded text matches this rule's pattern.
    fn matches(&self, text: &str) -> bool {
        if self.kind == MatchKind::Word {
            let padded = format!(" {text} ");
            let pieces: Vec<String> = self.pieces.iter().map(|p| format!(" {p} ")).collect();
            glob(&padded, &pieces, false, false, 1)
        } else {
            glob(text, &self.pieces, self.anchor_start, self.anchor_end, 0)
        }
    }
}

/// Whether the pieces occur in `text` in order, without overlapping by more than `overlap`
/// bytes (the shared space of word matches), the first at the start if `anchor_start` and
/// the last at the end if `anchor_end`.
fn glob(
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
            match fold_letter(c) {
                Some(s) => out.push_str(s),
                None => out.push(c),
            }
        } else {
            space = true;
        }
    }
    out
}

/// The unaccented spelling of a lowercase Latin letter with a diacritic or a ligature.
fn fold_letter(c: char) -> Option<&'static str> {
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

    proptest::proptest! {
        #[test]
        fn classify_never_panics(text in "\\PC{0,40}", room in "\\PC{0,8}") {
            let map = ProcedureMapping::bundled();
            let c = map.classify(&room, &[ProcedureText::new(TextField::ProtocolName, text.clone())]);
            proptest::prop_assert_eq!(c.procedure_code.is_some(), matches!(c.status, MatchStatus::Matched | MatchStatus::MultipleResolved));
            let f = fold(&text);
            proptest::prop_assert_eq!(fold(&f), f);
        }
    }

    fn one(map: &ProcedureMapping, field: TextField, text: &str) -> Classification {
        map.classify("room", &[ProcedureText::new(field, text)])
    }

    fn code(text: &str) -> Option<String> {
        one(
            &ProcedureMapping::bundled(),
            TextField::StudyDescription,
            text,
        )
        .procedure_code
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
    fn bundled_mapping_common_names() {
        let cases = [
            ("CORONAROGRAPHIE", "coronary_angiography"),
            ("Coronary angiography", "coronary_angiography"),
            ("Angioplastie coronaire 2 stents", "pci"),
            ("PTCA LAD", "pci"),
            ("Chimio-embolisation hépatique", "tace_liver"),
            ("DEB-TACE", "tace_liver"),
            ("Hepatic chemoembolization", "tace_liver"),
            ("Embolisation utérine", "uterine_fibroid_embolisation"),
            (
                "Embolisation de fibromes utérins",
                "uterine_fibroid_embolisation",
            ),
            (
                "Uterine artery embolisation",
                "uterine_fibroid_embolisation",
            ),
            ("VERTEBROPLASTIE L2", "vertebroplasty"),
            ("Vertebroplasty", "vertebroplasty"),
            ("Drainage biliaire externe", "biliary_drainage"),
            ("Percutaneous biliary drainage", "biliary_drainage"),
            ("Artériographie cérébrale", "cerebral_angiography"),
            ("Cerebral angiogram", "cerebral_angiography"),
            ("Embolisation d'anévrisme cérébral", "neuro_embolisation"),
            (
                "Artériographie des membres inférieurs",
                "lower_limb_arteriography",
            ),
            ("Lower limb angiography", "lower_limb_arteriography"),
            ("Artériographie rénale", "renal_arteriography"),
            (
                "Biopsie hépatique transjugulaire",
                "transjugular_liver_biopsy",
            ),
            ("Prothèse colique", "colonic_stent"),
            (
                "Angioplastie fémoro-poplitée",
                "femoropopliteal_revascularisation",
            ),
            ("Stent iliaque", "iliac_stent"),
            ("TAVI", "tavi"),
            ("Ablation de flutter", "electrophysiology"),
            ("Etude électrophysiologique", "electrophysiology"),
            ("Pacemaker double chambre", "pacemaker_dual_chamber"),
            ("Stimulateur simple chambre", "pacemaker_single_chamber"),
            ("Resynchronisation cardiaque", "crt_implantation"),
        ];
        for (text, expected) in cases {
            assert_eq!(code(text).as_deref(), Some(expected), "{text}");
        }
        for text in ["Specimen radiograph", "Thorax face", "", "Fistulographie"] {
            assert_eq!(code(text), None, "{text}");
        }
    }

    #[test]
    fn bundled_codes_are_drl_codes() {
        let tables = crate::reference::ReferenceTables::bundled();
        for c in ProcedureMapping::bundled().procedure_codes() {
            assert!(
                tables.drl_levels().iter().any(|l| l.procedure_code == c),
                "{c} is not a procedure_code of drl.csv"
            );
        }
    }

    #[test]
    fn priority_ties_and_rooms() {
        let mut m = ProcedureMapping::default();
        m.load_csv(
            "m.csv",
            "priority,procedure_code,field,match,pattern,room\n\
             10,pci,,word,pci,\n\
             10,tavi,,word,tavi,\n\
             50,coronary_angiography,protocol_name,,coro,\n\
             90,electrophysiology,,,*,EP-LAB\n"
                .as_bytes(),
        )
        .unwrap();
        let c = m.classify(
            "x",
            &[
                ProcedureText::new(TextField::StudyDescription, "PCI"),
                ProcedureText::new(TextField::StudyDescription, "TAVI"),
            ],
        );
        assert_eq!(c.status, MatchStatus::Ambiguous);
        assert_eq!(c.procedure_code, None);
        assert_eq!(c.rules, ["m.csv:2", "m.csv:3"]);
        // field restriction
        assert_eq!(
            one(&m, TextField::StudyDescription, "coro").status,
            MatchStatus::Unmatched
        );
        assert_eq!(
            one(&m, TextField::ProtocolName, "Coro gauche")
                .procedure_code
                .as_deref(),
            Some("coronary_angiography")
        );
        // room-only rule matches without any text
        let c = m.classify("ep-lab", &[]);
        assert_eq!(c.procedure_code.as_deref(), Some("electrophysiology"));
    }

    #[test]
    fn mapping_errors() {
        let load = |t: &str| ProcedureMapping::default().load_csv("m.csv", t.as_bytes());
        let e = load("priority,procedure_code,pattern\nhigh,pci,pci\n").unwrap_err();
        assert!(e.to_string().starts_with("m.csv:2: column priority"), "{e}");
        let e = load("priority,procedure_code,pattern\n1,pci,--\n").unwrap_err();
        assert!(matches!(
            e,
            ReferenceError::InvalidField {
                column: "pattern",
                ..
            }
        ));
        let e = load("priority,procedure_code,pattern,flavour\n").unwrap_err();
        assert!(matches!(e, ReferenceError::UnknownColumn { .. }));
        let e = load("priority,procedure_code,field,pattern\n1,pci,series,pci\n").unwrap_err();
        assert!(matches!(
            e,
            ReferenceError::InvalidField {
                column: "field",
                ..
            }
        ));
    }
}

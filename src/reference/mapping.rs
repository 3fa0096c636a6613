//! Procedure typing: a user-editable CSV of patterns that assigns a `procedure_code` to each
//! procedure from its descriptions, codes, protocol names and room.

use std::io::Read;

use serde::Serialize;

use super::csvfile::{Row, is_procedure_code, read_rows};
use super::error::ReferenceError;
use super::pattern::{Folded, MatchKind, Pattern, has_optional_marker};

const BUNDLED_MAPPING: &str = include_str!("../../data/procedure-types.csv");

const COLUMNS: &[&str] = &[
    "priority",
    "procedure_code",
    "field",
    "match",
    "pattern",
    "room",
    "notes",
    "unless",
    "example",
    "near_miss",
];
const EXPECTED: &str =
    "priority, procedure_code, field, match, pattern, room, notes, unless, example, near_miss";
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

    /// Whether the text says what was done (a description or a procedure code), as opposed
    /// to the acquisition protocol used.
    pub fn is_description(self) -> bool {
        !matches!(self, TextField::ProtocolName)
    }
}

/// The texts a rule looks at: the `field` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldScope {
    /// Every text.
    Any,
    /// Every text but protocol names ([`TextField::is_description`]).
    Descriptions,
    /// The texts of one field.
    One(TextField),
}

impl FieldScope {
    fn from_code(s: &str) -> Option<FieldScope> {
        Some(match s {
            "" | "any" => FieldScope::Any,
            "description" => FieldScope::Descriptions,
            "study_description" => FieldScope::One(TextField::StudyDescription),
            "requested_procedure_description" => {
                FieldScope::One(TextField::RequestedProcedureDescription)
            }
            "performed_procedure_step_description" => {
                FieldScope::One(TextField::PerformedProcedureStepDescription)
            }
            "procedure_code" => FieldScope::One(TextField::ProcedureCode),
            "protocol_name" => FieldScope::One(TextField::ProtocolName),
            _ => return None,
        })
    }

    fn includes(self, field: TextField) -> bool {
        match self {
            FieldScope::Any => true,
            FieldScope::Descriptions => field.is_description(),
            FieldScope::One(f) => f == field,
        }
    }

    /// The field a rule's `example` and `near_miss` texts are checked as.
    fn example_field(self) -> TextField {
        match self {
            FieldScope::One(f) => f,
            FieldScope::Any | FieldScope::Descriptions => TextField::StudyDescription,
        }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MatchStatus {
    /// Every matching rule gives the same procedure code.
    Matched,
    /// Rules give several codes (for example coronary angiography followed by PCI); the code
    /// of the best priority was assigned and the procedure is flagged.
    MultipleResolved,
    /// Rules of equal best priority give different codes, or rules give several codes and a
    /// text marks a part as optional ("Coronarographie +/- angioplastie"): no code is
    /// assigned, the procedure is flagged and left out of the statistics.
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

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    priority: u32,
    code: String,
    field: FieldScope,
    pattern: Pattern,
    /// Word patterns that, found in the same text, stop the rule from matching it.
    unless: Vec<Pattern>,
    room: Option<String>,
    origin: String,
    /// Texts the rule must match (the `example` column).
    examples: Vec<String>,
    /// Texts the rule must not match (the `near_miss` column).
    near_misses: Vec<String>,
}

impl Rule {
    /// Whether the rule matches one folded text of the given field (room not considered).
    fn matches_text(&self, field: TextField, folded: &Folded) -> bool {
        self.field.includes(field)
            && self.pattern.matches(folded)
            && !self.unless.iter().any(|u| u.matches(folded))
    }
}

/// Rules that assign a `procedure_code` to a procedure from its texts and room.
///
/// # File format (CSV, UTF-8, header required, `#` starts a comment line)
///
/// | column | required | meaning |
/// | --- | --- | --- |
/// | `priority` | yes | whole number; **lower wins** (1 before 100) |
/// | `procedure_code` | yes | code assigned, as in `drl.csv` (lowercase, digits, `_`) |
/// | `field` | no | `any` (default, or empty); `description` (every text but protocol names); or one field: `study_description`, `requested_procedure_description`, `performed_procedure_step_description`, `procedure_code`, `protocol_name` |
/// | `match` | no | `contains` (default), `word` (whole words), `prefix` (each piece starts a word: `embol` matches `embolisation`, not `radioembolisation`), `exact` (the whole text) |
/// | `pattern` | yes | text; `*` stands for any text; a pattern of only `*` matches every procedure |
/// | `unless` | no | words that stop the rule when found in the same text, alternatives separated by `\|`, each compared as whole words (`*` for any text between): `post atl\|atcd*pci` |
/// | `room` | no | restricts the rule to one room (device key, compared without regard to ASCII case) |
/// | `example` | no | texts the rule must match, separated by `\|`; checked when the file is read |
/// | `near_miss` | no | texts the rule must not match, separated by `\|`; checked when the file is read |
/// | `notes` | no | free text |
///
/// Texts and patterns are compared after folding: lowercase, accents removed (é → e,
/// œ → oe, ß → ss, decomposed accents dropped), and every run of characters other than
/// letters and digits (`+`, `/`, `-`, `.`, spaces…) replaced by one space. So
/// `Chimio-embolisation` matches the pattern `chimio embolisation`, `Coro + ATL IVA` the
/// word pattern `coro*atl`, and word pattern `pci` matches `PCI + stent` but not `specimen`.
/// A procedure code's text is its Code Value and Code Meaning separated by a space, so a
/// word pattern on field `procedure_code` can name a code value.
///
/// A procedure is matched against every rule. If all matching rules give one code, that
/// code is assigned. If they give several codes, the code of the rule with the lowest
/// priority number is assigned and the procedure is flagged
/// ([`MatchStatus::MultipleResolved`]); if several codes share the lowest number, or a text
/// of the procedure marks a part as optional (`+/-`, `±`), none is assigned
/// ([`MatchStatus::Ambiguous`]). The bundled mapping uses priorities 90–500
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
/// let c = map.classify("room-1", &[ProcedureText::new(TextField::StudyDescription, "CORO G ET D")]);
/// assert_eq!(c.procedure_code.as_deref(), Some("coronary_angiography"));
///
/// let mut local = ProcedureMapping::default();
/// local.load_csv(
///     "local.csv",
///     "priority,procedure_code,match,pattern,example\n10,tace_liver,word,CEL,Foie CEL\n".as_bytes(),
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
    /// English names and abbreviations of the procedure types of `drl.csv`.
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
    /// whole number, an invalid procedure code, field or match kind, a pattern or an
    /// `unless` alternative with no letter or digit (other than a pattern of `*` alone), or
    /// a rule that does not match one of its `example` texts or matches one of its
    /// `near_miss` texts. Each error names the file and the line; no rule of a failing file
    /// is added.
    pub fn load_csv(&mut self, file: &str, reader: impl Read) -> Result<usize, ReferenceError> {
        let rows = read_rows(file, reader, COLUMNS, REQUIRED, EXPECTED)?;
        let mut new = Vec::with_capacity(rows.len());
        for row in &rows {
            new.push(parse_rule(file, row)?);
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

    /// How many rules of this mapping assign `code`.
    pub fn rule_count(&self, code: &str) -> usize {
        self.rules.iter().filter(|r| r.code == code).count()
    }

    /// Assigns a procedure type to a procedure performed in `room` with the given texts.
    ///
    /// Never fails: a procedure that no rule matches is [`MatchStatus::Unmatched`].
    pub fn classify(&self, room: &str, texts: &[ProcedureText]) -> Classification {
        let folded: Vec<(TextField, Folded)> = texts
            .iter()
            .map(|t| (t.field, Folded::new(&t.text)))
            .collect();
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
                r.pattern.is_catch_all() || folded.iter().any(|(f, t)| r.matches_text(*f, t))
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
        let tie = best_hits.iter().any(|h| h.1 != best_hits[0].1);
        let optional =
            matched_codes.len() > 1 && texts.iter().any(|t| has_optional_marker(&t.text));
        let rules = best_hits.iter().map(|h| h.2.to_string()).collect();
        let (status, procedure_code) = if tie || optional {
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

/// One rule from one row of a mapping file, its examples checked.
fn parse_rule(file: &str, row: &Row) -> Result<Rule, ReferenceError> {
    let invalid =
        |column: &'static str, value: &str, expected: &'static str| ReferenceError::InvalidField {
            file: file.to_string(),
            line: row.line,
            column,
            value: value.to_string(),
            expected,
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
    let field = FieldScope::from_code(row.get(2)).ok_or_else(|| {
        invalid(
            "field",
            row.get(2),
            "any, description, study_description, requested_procedure_description, performed_procedure_step_description, procedure_code or protocol_name",
        )
    })?;
    let kind = MatchKind::from_code(row.get(3))
        .ok_or_else(|| invalid("match", row.get(3), "contains, word, prefix or exact"))?;
    let pattern = Pattern::parse(row.get(4), kind).ok_or_else(|| {
        invalid(
            "pattern",
            row.get(4),
            "text with at least one letter or digit, or '*' alone",
        )
    })?;
    let mut unless = Vec::new();
    for alt in alternatives(row.get(7)) {
        match Pattern::parse(alt, MatchKind::Word) {
            Some(p) if !p.is_catch_all() => unless.push(p),
            _ => {
                return Err(invalid(
                    "unless",
                    alt,
                    "words separated by '|', each with at least one letter or digit",
                ));
            }
        }
    }
    let room = match row.get(5) {
        "" => None,
        r => Some(r.to_string()),
    };
    let rule = Rule {
        priority,
        code: code.to_string(),
        field,
        pattern,
        unless,
        room,
        origin: format!("{file}:{}", row.line),
        examples: alternatives(row.get(8)).map(str::to_string).collect(),
        near_misses: alternatives(row.get(9)).map(str::to_string).collect(),
    };
    let as_field = rule.field.example_field();
    if let Some(example) = rule
        .examples
        .iter()
        .find(|e| !rule.matches_text(as_field, &Folded::new(e)))
    {
        return Err(invalid("example", example, "a text that this rule matches"));
    }
    if let Some(near_miss) = rule
        .near_misses
        .iter()
        .find(|n| rule.matches_text(as_field, &Folded::new(n)))
    {
        return Err(invalid(
            "near_miss",
            near_miss,
            "a text that this rule does not match",
        ));
    }
    Ok(rule)
}

/// The non-empty alternatives of a `|`-separated column, trimmed.
fn alternatives(s: &str) -> impl Iterator<Item = &str> {
    s.split('|').map(str::trim).filter(|a| !a.is_empty())
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;

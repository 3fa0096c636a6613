//! The texts of the procedures left untyped, grouped and counted, from which a user writes a
//! mapping file.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::mapping::{Classification, MatchStatus, TextField};
use super::pattern::fold;
use super::record::SurveyRecord;

/// How many procedure ids a row lists.
const EXAMPLE_IDS: usize = 5;

/// One distinct text of the procedures that no rule types (`unmatched`) or that rules type
/// several ways (`ambiguous`), with how many such procedures carry it.
///
/// Texts that fold alike (case, accents, punctuation: see
/// [`ProcedureMapping`](super::ProcedureMapping)) are one row. Rows come most frequent first,
/// so that the first rows of a user's mapping file type the most procedures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UnmatchedDescriptionRow {
    /// `unmatched` or `ambiguous`.
    pub match_status: MatchStatus,
    /// The field the text comes from.
    pub field: TextField,
    /// The text as found: the most frequent spelling of those that fold alike (the first in
    /// sort order among equally frequent ones).
    pub text: String,
    /// The folded text; as the `pattern` of a mapping rule with `match` `exact` and this
    /// `field`, it types exactly these procedures' texts.
    pub pattern: String,
    /// Procedures that carry the text.
    pub n_procedures: usize,
    /// For `ambiguous`: every procedure type the rules give these procedures, separated by
    /// `;`; empty for `unmatched`.
    pub matched_codes: String,
    /// The first procedures (by id, at most 5) that carry the text, separated by `;`.
    pub example_procedure_ids: String,
}

/// The rows for the untyped procedures among `records` (each with its classification):
/// most frequent first, then unmatched before ambiguous, then by field and folded text.
pub(super) fn unmatched_descriptions<'a>(
    procedures: impl IntoIterator<Item = (&'a SurveyRecord, &'a Classification)>,
) -> Vec<UnmatchedDescriptionRow> {
    #[derive(Default)]
    struct Group<'a> {
        spellings: BTreeMap<&'a str, usize>,
        ids: BTreeSet<&'a str>,
        codes: BTreeSet<&'a str>,
    }
    let mut groups: BTreeMap<(MatchStatus, TextField, String), Group<'a>> = BTreeMap::new();
    for (r, class) in procedures {
        if !matches!(
            class.status,
            MatchStatus::Unmatched | MatchStatus::Ambiguous
        ) {
            continue;
        }
        for t in &r.texts {
            let folded = fold(&t.text);
            if folded.is_empty() {
                continue;
            }
            let g = groups.entry((class.status, t.field, folded)).or_default();
            *g.spellings.entry(t.text.trim()).or_default() += 1;
            g.ids.insert(&r.procedure_id);
            g.codes
                .extend(class.matched_codes.iter().map(String::as_str));
        }
    }
    let mut rows: Vec<UnmatchedDescriptionRow> = groups
        .into_iter()
        .map(|((status, field, pattern), g)| {
            let mut text = "";
            let mut most = 0;
            for (spelling, n) in &g.spellings {
                if *n > most {
                    (text, most) = (spelling, *n);
                }
            }
            UnmatchedDescriptionRow {
                match_status: status,
                field,
                text: text.to_string(),
                pattern,
                n_procedures: g.ids.len(),
                matched_codes: g.codes.into_iter().collect::<Vec<_>>().join(";"),
                example_procedure_ids: g
                    .ids
                    .into_iter()
                    .take(EXAMPLE_IDS)
                    .collect::<Vec<_>>()
                    .join(";"),
            }
        })
        .collect();
    let ambiguous = |r: &UnmatchedDescriptionRow| r.match_status == MatchStatus::Ambiguous;
    rows.sort_by(|a, b| {
        b.n_procedures
            .cmp(&a.n_procedures)
            .then(ambiguous(a).cmp(&ambiguous(b)))
            .then(a.field.cmp(&b.field))
            .then(a.pattern.cmp(&b.pattern))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::mapping::{ProcedureMapping, ProcedureText};

    fn record(id: &str, texts: &[(TextField, &str)]) -> SurveyRecord {
        SurveyRecord {
            procedure_id: id.to_string(),
            texts: texts
                .iter()
                .map(|(f, t)| ProcedureText::new(*f, *t))
                .collect(),
            ..SurveyRecord::default()
        }
    }

    #[test]
    fn untyped_texts_are_grouped_counted_and_sorted() {
        use TextField::*;
        let map = ProcedureMapping::bundled();
        let records = [
            record(
                "p1",
                &[(StudyDescription, "CR THORAX"), (ProtocolName, "Thorax AP")],
            ),
            record(
                "p2",
                &[
                    (StudyDescription, "Cr  thorax."),
                    (ProtocolName, "Thorax AP"),
                ],
            ),
            record("p3", &[(StudyDescription, "CR THORAX")]),
            record(
                "p4",
                &[(StudyDescription, "Coronarographie +/- angioplastie")],
            ),
            record("p5", &[(StudyDescription, "Coronarographie")]),
            record("p6", &[(StudyDescription, "  "), (ProtocolName, "--")]),
            record("p7", &[(RequestedProcedureDescription, "CR THORAX")]),
        ];
        let classes: Vec<Classification> = records
            .iter()
            .map(|r| map.classify("room", &r.texts))
            .collect();
        let rows = unmatched_descriptions(records.iter().zip(&classes));
        let got: Vec<(MatchStatus, TextField, &str, &str, usize, &str, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r.match_status,
                    r.field,
                    r.text.as_str(),
                    r.pattern.as_str(),
                    r.n_procedures,
                    r.matched_codes.as_str(),
                    r.example_procedure_ids.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    MatchStatus::Unmatched,
                    StudyDescription,
                    "CR THORAX",
                    "cr thorax",
                    3,
                    "",
                    "p1;p2;p3"
                ),
                (
                    MatchStatus::Unmatched,
                    ProtocolName,
                    "Thorax AP",
                    "thorax ap",
                    2,
                    "",
                    "p1;p2"
                ),
                (
                    MatchStatus::Unmatched,
                    RequestedProcedureDescription,
                    "CR THORAX",
                    "cr thorax",
                    1,
                    "",
                    "p7"
                ),
                (
                    MatchStatus::Ambiguous,
                    StudyDescription,
                    "Coronarographie +/- angioplastie",
                    "coronarographie angioplastie",
                    1,
                    "coronary_angiography;pci",
                    "p4"
                ),
            ]
        );
    }

    #[test]
    fn a_row_lists_at_most_five_procedures() {
        let map = ProcedureMapping::bundled();
        let records: Vec<SurveyRecord> = (0..8)
            .map(|i| record(&format!("p{i}"), &[(TextField::StudyDescription, "Huvud")]))
            .collect();
        let classes: Vec<Classification> = records
            .iter()
            .map(|r| map.classify("room", &r.texts))
            .collect();
        let rows = unmatched_descriptions(records.iter().zip(&classes));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].n_procedures, 8);
        assert_eq!(rows[0].example_procedure_ids, "p0;p1;p2;p3;p4");
    }
}

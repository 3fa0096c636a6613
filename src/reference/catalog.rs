//! What the loaded tables know, for listing: procedure types with their names, jurisdictions
//! and sources, and the bundled sources' citations.

use std::collections::BTreeMap;

use serde::Serialize;

use super::mapping::ProcedureMapping;
use super::tables::ReferenceTables;

const BUNDLED_SOURCES: &str = include_str!("../../data/reference-levels/SOURCES.md");
/// Sources of the skin-dose data and peak-skin-dose trigger levels.
const SKIN_SOURCES: &str = include_str!("../skin/data/SOURCES.md");

/// One procedure type known to the loaded tables or the procedure mapping: a `procedure_code`
/// of a reference level, of a procedure-specific trigger level or of a typing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProcedureType {
    /// The code, as in the `procedure_code` columns (`coronary_angiography`).
    pub code: String,
    /// The English name: the first non-empty `procedure_name_en` of its reference levels, in
    /// load order; empty when no level names it.
    pub name: String,
    /// Jurisdictions with a reference level for it, sorted, without repeats.
    pub drl_jurisdictions: Vec<String>,
    /// Jurisdictions with a trigger level specific to it, sorted, without repeats.
    pub trigger_jurisdictions: Vec<String>,
    /// Sources of those levels, in load order, without repeats.
    pub source_ids: Vec<String>,
    /// How many rules of the procedure mapping assign it (0: no procedure can be typed so
    /// without a user rule).
    pub mapping_rules: usize,
}

/// One jurisdiction of the loaded tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Jurisdiction {
    /// The code as written in the tables (`FR`, `EU`, …, or a local code).
    pub code: String,
    /// Sources of its reference levels, in load order, without repeats.
    pub drl_source_ids: Vec<String>,
    /// Sources of its trigger levels, in load order, without repeats.
    pub trigger_source_ids: Vec<String>,
}

fn push_new(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

impl ReferenceTables {
    /// Every procedure type of the loaded reference and trigger levels and of `mapping`'s
    /// rules, sorted by code, with how many rules of `mapping` assign it.
    ///
    /// ```
    /// use kerma::reference::{ProcedureMapping, ReferenceTables};
    /// let types = ReferenceTables::bundled().procedure_types(&ProcedureMapping::bundled());
    /// let pci = types.iter().find(|t| t.code == "pci").ok_or("pci")?;
    /// assert!(pci.drl_jurisdictions.contains(&"FR".to_string()));
    /// assert!(pci.mapping_rules > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn procedure_types(&self, mapping: &ProcedureMapping) -> Vec<ProcedureType> {
        fn entry<'t>(
            types: &'t mut BTreeMap<String, ProcedureType>,
            mapping: &ProcedureMapping,
            code: &str,
        ) -> &'t mut ProcedureType {
            types
                .entry(code.to_string())
                .or_insert_with(|| ProcedureType {
                    code: code.to_string(),
                    name: String::new(),
                    drl_jurisdictions: Vec::new(),
                    trigger_jurisdictions: Vec::new(),
                    source_ids: Vec::new(),
                    mapping_rules: mapping.rule_count(code),
                })
        }
        let mut types: BTreeMap<String, ProcedureType> = BTreeMap::new();
        for l in self.drl_levels() {
            let t = entry(&mut types, mapping, &l.procedure_code);
            if t.name.is_empty() {
                t.name.clone_from(&l.procedure_name_en);
            }
            push_new(&mut t.drl_jurisdictions, &l.jurisdiction);
            push_new(&mut t.source_ids, &l.source_id);
        }
        for l in self.trigger_levels() {
            if let Some(code) = &l.procedure_code {
                let t = entry(&mut types, mapping, code);
                push_new(&mut t.trigger_jurisdictions, &l.jurisdiction);
                push_new(&mut t.source_ids, &l.source_id);
            }
        }
        for code in mapping.procedure_codes() {
            entry(&mut types, mapping, code);
        }
        let mut out: Vec<ProcedureType> = types.into_values().collect();
        for t in &mut out {
            t.drl_jurisdictions.sort();
            t.trigger_jurisdictions.sort();
        }
        out
    }

    /// Every jurisdiction of the loaded reference and trigger levels, sorted by code, with
    /// its sources.
    pub fn jurisdictions(&self) -> Vec<Jurisdiction> {
        let mut out: BTreeMap<&str, Jurisdiction> = BTreeMap::new();
        for l in self.drl_levels() {
            let j = out
                .entry(l.jurisdiction.as_str())
                .or_insert_with(|| Jurisdiction::new(&l.jurisdiction));
            push_new(&mut j.drl_source_ids, &l.source_id);
        }
        for t in self.trigger_levels() {
            let j = out
                .entry(t.jurisdiction.as_str())
                .or_insert_with(|| Jurisdiction::new(&t.jurisdiction));
            push_new(&mut j.trigger_source_ids, &t.source_id);
        }
        out.into_values().collect()
    }

    /// The citation of a bundled source (`data/reference-levels/SOURCES.md`, or for the
    /// peak-skin-dose levels `src/skin/data/SOURCES.md`): the first
    /// paragraph of its section (its **Citation.**, or what was checked when the section has
    /// no citation), on one line; `None` for an id without a section (a user table's
    /// source).
    ///
    /// ```
    /// let c = kerma::reference::ReferenceTables::bundled_source_citation("FR_SFPM_ETARD_2017").ok_or("cited")?;
    /// assert!(c.starts_with("Etard C"), "{c}");
    /// assert!(kerma::reference::ReferenceTables::bundled_source_citation("LOCAL_CHU_2025").is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bundled_source_citation(source_id: &str) -> Option<String> {
        citation(BUNDLED_SOURCES, source_id).or_else(|| citation(SKIN_SOURCES, source_id))
    }
}

impl Jurisdiction {
    fn new(code: &str) -> Jurisdiction {
        Jurisdiction {
            code: code.to_string(),
            drl_source_ids: Vec::new(),
            trigger_source_ids: Vec::new(),
        }
    }
}

/// The first paragraph of the `### {source_id}` section of `sources`, its leading bold label
/// (`**Citation.**`) removed and its lines joined.
fn citation(sources: &str, source_id: &str) -> Option<String> {
    let heading = format!("### {source_id}");
    let mut lines = sources.lines();
    lines.find(|l| {
        l.strip_prefix(&heading)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', ':']))
    })?;
    let paragraph: Vec<&str> = lines
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::trim)
        .collect();
    let text = paragraph.join(" ");
    let text = match text.strip_prefix("**") {
        Some(rest) => rest
            .split_once("**")
            .map_or(rest, |(_, after)| after)
            .trim(),
        None => text.as_str(),
    };
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procedure_types_of_the_bundled_tables() {
        let tables = ReferenceTables::bundled();
        let mapping = ProcedureMapping::bundled();
        let types = tables.procedure_types(&mapping);
        let codes: Vec<&str> = types.iter().map(|t| t.code.as_str()).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted);
        // every code of drl.csv is listed, with a name and a source
        for l in tables.drl_levels() {
            let t = types.iter().find(|t| t.code == l.procedure_code).unwrap();
            assert!(!t.name.is_empty() && t.source_ids.contains(&l.source_id));
            assert!(t.drl_jurisdictions.contains(&l.jurisdiction));
        }
        let ca = types
            .iter()
            .find(|t| t.code == "coronary_angiography")
            .unwrap();
        assert_eq!(ca.name, "Diagnostic coronary angiography");
        assert!(ca.mapping_rules >= 8, "{}", ca.mapping_rules);
        // the Swiss lower-limb-and-iliac scope has no bundled rule
        let iliac = types
            .iter()
            .find(|t| t.code == "lower_limb_iliac_angiography")
            .unwrap();
        assert_eq!(
            (iliac.mapping_rules, iliac.drl_jurisdictions.as_slice()),
            (0, &["CH".to_string()][..])
        );
        // every code a rule assigns is listed, with or without a table
        for code in mapping.procedure_codes() {
            let t = types.iter().find(|t| t.code == code).unwrap();
            assert!(t.mapping_rules > 0, "{code}");
        }
        // procedure-specific trigger levels are listed apart from reference levels
        for l in tables.trigger_levels() {
            if let Some(code) = &l.procedure_code {
                let t = types.iter().find(|t| &t.code == code).unwrap();
                assert!(t.trigger_jurisdictions.contains(&l.jurisdiction), "{code}");
            }
        }
        // an empty mapping types nothing
        assert!(
            tables
                .procedure_types(&ProcedureMapping::default())
                .iter()
                .all(|t| t.mapping_rules == 0)
        );
    }

    #[test]
    fn jurisdictions_of_the_bundled_tables() {
        let tables = ReferenceTables::bundled();
        let js = tables.jurisdictions();
        let fr = js.iter().find(|j| j.code == "FR").unwrap();
        assert!(
            fr.drl_source_ids
                .contains(&"FR_SFPM_ETARD_2017".to_string())
        );
        assert!(
            fr.trigger_source_ids
                .contains(&"FR_HAS_2014_VIA_THEMA".to_string())
        );
        for l in tables.drl_levels() {
            assert!(
                js.iter()
                    .any(|j| j.code == l.jurisdiction && j.drl_source_ids.contains(&l.source_id))
            );
        }
        for t in tables.trigger_levels() {
            assert!(
                js.iter().any(
                    |j| j.code == t.jurisdiction && j.trigger_source_ids.contains(&t.source_id)
                )
            );
        }
    }

    #[test]
    fn every_bundled_source_has_a_citation() {
        let tables = ReferenceTables::bundled();
        let ids = tables
            .drl_levels()
            .iter()
            .map(|l| &l.source_id)
            .chain(tables.trigger_levels().iter().map(|t| &t.source_id));
        for id in ids {
            let c = ReferenceTables::bundled_source_citation(id);
            assert!(
                c.as_deref()
                    .is_some_and(|c| c.len() > 20 && !c.starts_with('*')),
                "{id}: {c:?}"
            );
        }
        let rush = ReferenceTables::bundled_source_citation("US_RUSH_INSTITUTIONAL_2014").unwrap();
        assert!(rush.starts_with("The AAPM 2014 abstract"), "{rush}");
        // a prefix of another id is not that id
        assert_eq!(
            citation("### AB_1 (x)\n\nfirst\nline\n\nsecond\n", "AB_1").as_deref(),
            Some("first line")
        );
        assert_eq!(citation("### AB_10\n\ntext\n", "AB_1"), None);
        assert_eq!(
            citation("### AB_1\n\n**Citation.** Doe J.\n", "AB_1").as_deref(),
            Some("Doe J.")
        );
    }
}

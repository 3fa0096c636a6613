//! Checks of a user's table against what the survey knows: rows that load without error but
//! can never apply (a procedure code that no rule assigns, a jurisdiction that no table has).

use std::fmt;
use std::io::Read;

use super::config::SurveyConfig;
use super::error::ReferenceError;
use super::mapping::ProcedureMapping;
use super::tables::ReferenceTables;

/// The format of a user's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableKind {
    /// Reference levels (format of `drl.csv`).
    Drl,
    /// Trigger levels (format of `trigger-levels.csv`).
    Triggers,
    /// Procedure-typing rules (format of [`ProcedureMapping`]).
    Mapping,
}

/// A row of a user's table that loads but names something the survey does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableRemark {
    /// The file, as given to [`check_table`].
    pub file: String,
    /// The 1-based line of the row (the header is line 1).
    pub line: u64,
    /// What is unknown and what follows from it.
    pub message: String,
}

impl fmt::Display for TableRemark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// The rows of a user's table (already loaded into `config`) whose procedure code or
/// jurisdiction is unknown, one remark per unknown value and row.
///
/// * In a reference-level or trigger-level table, a procedure code is unknown when no rule of
///   `config.mapping` assigns it: no procedure is ever of that type, so the row never
///   applies. A jurisdiction is unknown when no bundled table has it and it is not
///   `config.jurisdiction`.
/// * In a mapping table, a procedure code is unknown when no bundled rule assigns it and no
///   loaded reference-level or trigger-level row has it: the procedures it types are never
///   compared with a level.
///
/// Codes and jurisdictions are compared as written, jurisdictions without regard to ASCII
/// case. `file` names the input in the remarks.
///
/// ```
/// use kerma::reference::{SurveyConfig, TableKind, check_table};
/// let local = "source_id,jurisdiction,year,procedure_code,population,quantity,unit,value\n\
///              LOCAL,FR,2025,pci,adult,pka,Gy.cm2,60\n\
///              LOCAL,FR,2025,coronarography,adult,pka,Gy.cm2,30\n";
/// let mut config = SurveyConfig::default();
/// config.tables.load_drl_csv("local.csv", local.as_bytes())?;
/// let remarks = check_table(&config, TableKind::Drl, "local.csv", local.as_bytes())?;
/// assert_eq!(remarks.len(), 1);
/// assert_eq!(remarks[0].line, 3);
/// assert!(remarks[0].to_string().starts_with("local.csv:3: procedure code \"coronarography\""));
/// # Ok::<(), kerma::reference::ReferenceError>(())
/// ```
///
/// # Errors
/// A table that cannot be read as CSV (a table that loaded can).
pub fn check_table(
    config: &SurveyConfig,
    kind: TableKind,
    file: &str,
    mut reader: impl Read,
) -> Result<Vec<TableRemark>, ReferenceError> {
    let mut text = Vec::new();
    let csv_error = |line: Option<u64>, message: String| ReferenceError::Csv {
        file: file.to_string(),
        line,
        message,
    };
    reader
        .read_to_end(&mut text)
        .map_err(|e| csv_error(None, e.to_string()))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_slice());
    let headers = rdr
        .headers()
        .map_err(|e| csv_error(None, e.to_string()))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (code_col, jurisdiction_col) = (column("procedure_code"), column("jurisdiction"));

    let bundled = ReferenceTables::bundled();
    let mut known_jurisdictions: Vec<&str> = bundled
        .drl_levels()
        .iter()
        .map(|l| l.jurisdiction.as_str())
        .chain(
            bundled
                .trigger_levels()
                .iter()
                .map(|l| l.jurisdiction.as_str()),
        )
        .chain(config.jurisdiction.as_deref())
        .collect();
    known_jurisdictions.sort_unstable();
    known_jurisdictions.dedup();
    let bundled_mapping = ProcedureMapping::bundled();
    let known_code = |code: &str| match kind {
        TableKind::Drl | TableKind::Triggers => config.mapping.procedure_codes().contains(&code),
        TableKind::Mapping => {
            bundled_mapping.procedure_codes().contains(&code)
                || config
                    .tables
                    .drl_levels()
                    .iter()
                    .any(|l| l.procedure_code == code)
                || config
                    .tables
                    .trigger_levels()
                    .iter()
                    .any(|l| l.procedure_code.as_deref() == Some(code))
        }
    };
    let unknown_code = match kind {
        TableKind::Drl | TableKind::Triggers => {
            "no procedure-typing rule assigns it, so this row never applies"
        }
        TableKind::Mapping => {
            "no reference or trigger level has it and no bundled rule assigns it, so the procedures of this type are never compared with a level"
        }
    };

    let mut remarks = Vec::new();
    for record in rdr.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| line_of(&text, p.byte()));
            csv_error(line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| line_of(&text, p.byte()));
        let mut remark = |message: String| {
            remarks.push(TableRemark {
                file: file.to_string(),
                line,
                message,
            })
        };
        let field = |col: Option<usize>| col.and_then(|c| record.get(c)).unwrap_or("");
        let code = field(code_col);
        if !code.is_empty() && !known_code(code) {
            remark(format!(
                "procedure code {code:?} is unknown: {unknown_code} (kerma-report --list procedure-types lists the known codes)"
            ));
        }
        let jurisdiction = field(jurisdiction_col);
        if kind != TableKind::Mapping
            && !jurisdiction.is_empty()
            && !known_jurisdictions
                .iter()
                .any(|j| j.eq_ignore_ascii_case(jurisdiction))
        {
            remark(format!(
                "jurisdiction {jurisdiction:?} is unknown: no bundled table has it and it is not the selected one (known: {})",
                known_jurisdictions.join(", ")
            ));
        }
    }
    Ok(remarks)
}

/// The 1-based line of the record that the CSV reader started at byte `byte`: comment and
/// blank lines it skipped before the record are stepped over.
fn line_of(text: &[u8], byte: u64) -> u64 {
    let mut start = usize::try_from(byte).map_or(text.len(), |b| b.min(text.len()));
    while let Some(rest) = text.get(start..) {
        let skip = matches!(rest.first(), Some(b'#' | b'\n' | b'\r'));
        match rest.iter().position(|&b| b == b'\n') {
            Some(nl) if skip => start += nl + 1,
            _ => break,
        }
    }
    let before = text.get(..start).unwrap_or(text);
    1 + before.iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(kind: TableKind, text: &str) -> SurveyConfig {
        let mut config = SurveyConfig {
            jurisdiction: Some("FR".to_string()),
            ..SurveyConfig::default()
        };
        match kind {
            TableKind::Drl => {
                config
                    .tables
                    .load_drl_csv("t.csv", text.as_bytes())
                    .unwrap();
            }
            TableKind::Triggers => {
                config
                    .tables
                    .load_trigger_csv("t.csv", text.as_bytes())
                    .unwrap();
            }
            TableKind::Mapping => {
                config.mapping.load_csv("t.csv", text.as_bytes()).unwrap();
            }
        }
        config
    }

    fn lines(kind: TableKind, text: &str) -> Vec<(u64, String)> {
        let config = config_with(kind, text);
        check_table(&config, kind, "t.csv", text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|r| (r.line, r.message))
            .collect()
    }

    #[test]
    fn drl_rows_with_unknown_code_or_jurisdiction_are_named_by_line() {
        let text = "source_id,jurisdiction,year,procedure_code,quantity,unit,value\n\
                    # a comment line\n\
                    L,FR,2025,pci,pka,Gy.cm2,60\n\
                    \n\
                    L,FR,2025,pci_typo,pka,Gy.cm2,60\n\
                    L,XX,2025,pci,ka_r,mGy,600\n\
                    L,eu,2025,coronary_angiography,ka_r,mGy,600\n";
        let got = lines(TableKind::Drl, text);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, 5);
        assert!(got[0].1.contains("\"pci_typo\""), "{}", got[0].1);
        assert_eq!(got[1].0, 6);
        assert!(got[1].1.contains("jurisdiction \"XX\""), "{}", got[1].1);
    }

    #[test]
    fn selected_jurisdiction_is_known() {
        let text = "source_id,jurisdiction,procedure_code,quantity,unit,value\n\
                    L,ZZ,,pka,Gy.cm2,500\n";
        let mut config = config_with(TableKind::Triggers, text);
        let check = |c: &SurveyConfig| {
            check_table(c, TableKind::Triggers, "t.csv", text.as_bytes())
                .unwrap()
                .len()
        };
        assert_eq!(check(&config), 1);
        config.jurisdiction = Some("zz".to_string());
        assert_eq!(check(&config), 0);
    }

    #[test]
    fn mapping_codes_must_have_a_level_or_a_bundled_rule() {
        let text = "priority,procedure_code,pattern\n\
                    10,pci,ptca\n\
                    10,my_local_type,foo\n";
        let got = lines(TableKind::Mapping, text);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, 3);
        assert!(got[0].1.contains("\"my_local_type\""));
    }
}

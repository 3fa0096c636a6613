//! Reference-level and trigger-level tables: the bundled copies and user files.

use std::io::Read;

use super::csvfile::{Row, is_identifier, is_procedure_code, read_rows};
use super::error::ReferenceError;
use super::quantity::{DrlQuantity, LevelValue, ValueProblem};

const BUNDLED_DRL: &str = include_str!("../../data/reference-levels/drl.csv");
const BUNDLED_TRIGGERS: &str = include_str!("../../data/reference-levels/trigger-levels.csv");
/// Peak-skin-dose trigger levels, with their sources in `src/skin/data/SOURCES.md`.
const BUNDLED_PSD_TRIGGERS: &str = include_str!("../skin/data/psd-trigger-levels.csv");

/// The `statistic` that marks a row as a guide value (French *valeur guide diagnostique*),
/// an optimisation target below the DRL, rather than a DRL.
pub(crate) const GUIDE_VALUE_STATISTIC: &str = "guide_value";

const DRL_COLUMNS: &[&str] = &[
    "source_id",
    "jurisdiction",
    "year",
    "procedure_code",
    "procedure_name_original",
    "procedure_name_en",
    "population",
    "quantity",
    "unit",
    "value",
    "statistic",
    "notes",
];
const DRL_EXPECTED: &str = "source_id, jurisdiction, year, procedure_code, procedure_name_original, procedure_name_en, population, quantity, unit, value, statistic, notes";
const DRL_REQUIRED: &[&str] = &[
    "source_id",
    "jurisdiction",
    "procedure_code",
    "quantity",
    "unit",
    "value",
];

const TRIGGER_COLUMNS: &[&str] = &[
    "source_id",
    "jurisdiction",
    "year",
    "procedure_code",
    "quantity",
    "unit",
    "value",
    "action",
    "notes",
];
const TRIGGER_EXPECTED: &str =
    "source_id, jurisdiction, year, procedure_code, quantity, unit, value, action, notes";
const TRIGGER_REQUIRED: &[&str] = &[
    "source_id",
    "jurisdiction",
    "procedure_code",
    "quantity",
    "unit",
    "value",
];

/// One row of a reference-level table (format of `data/reference-levels/drl.csv`).
///
/// A reference level applies to the typical value (the median) of a sample of procedures of
/// one type, never to one patient.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReferenceLevel {
    /// Source identifier; every bundled id has an entry in `SOURCES.md`.
    pub source_id: String,
    /// Jurisdiction code as written in the table (`FR`, `EU`, `AU`, …, or a local code).
    pub jurisdiction: String,
    /// Year of the source, when the table gives it.
    pub year: Option<i32>,
    /// Procedure type, as in the `procedure_code` column.
    pub procedure_code: String,
    /// Procedure name as the source writes it.
    pub procedure_name_original: String,
    /// Procedure name in English.
    pub procedure_name_en: String,
    /// Population the level applies to (for example `adult`).
    pub population: String,
    /// The level, converted to the typed unit of its quantity.
    pub value: LevelValue,
    /// What the published value is (`p75_patients`, `drl_basis_not_seen`, …); the value
    /// `guide_value` marks a guide value (an optimisation target), not a DRL.
    pub statistic: String,
    /// Free-text notes of the table.
    pub notes: String,
    /// Where the row was read: `file:line`.
    pub origin: String,
}

impl ReferenceLevel {
    /// Whether this row is a guide value (`statistic` = `guide_value`) rather than a DRL.
    pub fn is_guide_value(&self) -> bool {
        self.statistic == GUIDE_VALUE_STATISTIC
    }
}

/// One row of a trigger-level table (format of `data/reference-levels/trigger-levels.csv`):
/// a level at which one patient's procedure calls for an action (skin examination,
/// review, follow-up).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TriggerLevel {
    /// Source identifier; every bundled id has an entry in `SOURCES.md`.
    pub source_id: String,
    /// Jurisdiction code as written in the table.
    pub jurisdiction: String,
    /// Year of the source, when the table gives it.
    pub year: Option<i32>,
    /// The procedure type the level applies to; `None` (empty in the file) for every
    /// procedure.
    pub procedure_code: Option<String>,
    /// The level, converted to the typed unit of its quantity. A procedure reaches the
    /// level when its value is greater than or equal to it.
    pub value: LevelValue,
    /// The action the source attaches to the level.
    pub action: String,
    /// Free-text notes of the table.
    pub notes: String,
    /// Where the row was read: `file:line`.
    pub origin: String,
}

/// The reference levels and trigger levels that a survey compares with.
///
/// [`ReferenceTables::bundled`] holds the published tables shipped with kerma (copies of
/// `data/reference-levels/`), each row with its source id. A user file in the same format
/// (a hospital's local DRLs, a national table typed from its official text) can extend them
/// or, started from [`ReferenceTables::default`], replace them. kerma ships no number of its
/// own: every value comes from a table.
///
/// ```
/// use kerma::reference::ReferenceTables;
/// let mut tables = ReferenceTables::bundled();
/// let local = "source_id,jurisdiction,year,procedure_code,population,quantity,unit,value,statistic\n\
///              LOCAL_CHU_2025,FR,2025,coronary_angiography,adult,pka,Gy.cm2,32,p75_patients\n";
/// assert_eq!(tables.load_drl_csv("local-drl.csv", local.as_bytes())?, 1);
/// assert!(tables.drl_levels().iter().any(|l| l.source_id == "LOCAL_CHU_2025"));
/// # Ok::<(), kerma::reference::ReferenceError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReferenceTables {
    drl: Vec<ReferenceLevel>,
    triggers: Vec<TriggerLevel>,
}

impl ReferenceTables {
    /// The tables bundled with kerma: `drl.csv` and `trigger-levels.csv` of
    /// `data/reference-levels/`, documented source by source in `SOURCES.md` there.
    ///
    /// Their rows have `origin` `bundled:drl.csv:<line>` or
    /// `bundled:trigger-levels.csv:<line>`.
    pub fn bundled() -> ReferenceTables {
        let mut t = ReferenceTables::default();
        t.load_drl_csv("bundled:drl.csv", BUNDLED_DRL.as_bytes())
            .expect("bundled drl.csv is valid"); // ok: compile-time text, parsed by a unit test
        t.load_trigger_csv("bundled:trigger-levels.csv", BUNDLED_TRIGGERS.as_bytes())
            .expect("bundled trigger-levels.csv is valid"); // ok: as above
        t.load_trigger_csv(
            "bundled:psd-trigger-levels.csv",
            BUNDLED_PSD_TRIGGERS.as_bytes(),
        )
        .expect("bundled psd-trigger-levels.csv is valid"); // ok: as above
        t
    }

    /// All reference levels (DRLs and guide values), in load order.
    pub fn drl_levels(&self) -> &[ReferenceLevel] {
        &self.drl
    }

    /// All trigger levels, in load order.
    pub fn trigger_levels(&self) -> &[TriggerLevel] {
        &self.triggers
    }

    /// Reads a reference-level CSV (format of `drl.csv`) and adds its rows; returns how many.
    ///
    /// Columns: `source_id`, `jurisdiction`, `procedure_code`, `quantity`, `unit`, `value`
    /// (required) and `year`, `procedure_name_original`, `procedure_name_en`, `population`,
    /// `statistic`, `notes` (optional), in any order. `quantity` is `pka` (units `Gy.cm2`,
    /// `Gy.m2`, `dGy.cm2`, `mGy.cm2`, `uGy.m2`), `ka_r` (`mGy`, `Gy`, `dGy`), `fluoro_time`
    /// (`min`, `s`) or `images` (`count`). Lines starting with `#` are comments.
    ///
    /// A row with the same source, procedure code, population, quantity and kind (DRL or
    /// guide value) as an already loaded row replaces it: that is how a corrected or newer
    /// copy of a table overrides the bundled one. The file is checked whole before any row
    /// is added.
    ///
    /// `file` names the input in error messages and in each row's `origin`.
    ///
    /// # Errors
    /// An unreadable CSV, an unknown, missing or repeated column, an unknown quantity, a unit
    /// not accepted for the quantity, a value that is not a positive number (or not a whole
    /// number of images), an invalid source id, procedure code or year, or two rows with the
    /// same key in the file. Each error names the file and the line.
    pub fn load_drl_csv(&mut self, file: &str, reader: impl Read) -> Result<usize, ReferenceError> {
        let rows = read_rows(file, reader, DRL_COLUMNS, DRL_REQUIRED, DRL_EXPECTED)?;
        let mut new: Vec<ReferenceLevel> = Vec::with_capacity(rows.len());
        let mut lines: Vec<u64> = Vec::with_capacity(rows.len());
        for row in &rows {
            let f = Fields { file, row };
            let (source_id, jurisdiction, year) = f.source()?;
            let procedure_code = f.procedure_code(3, true)?.unwrap_or_default();
            let value = f.value(7, 8, 9)?;
            let level = ReferenceLevel {
                source_id,
                jurisdiction,
                year,
                procedure_code,
                procedure_name_original: row.get(4).to_string(),
                procedure_name_en: row.get(5).to_string(),
                population: row.get(6).to_string(),
                value,
                statistic: row.get(10).to_string(),
                notes: row.get(11).to_string(),
                origin: format!("{file}:{}", row.line),
            };
            if let Some(i) = new.iter().position(|o| drl_key(o) == drl_key(&level)) {
                return Err(duplicate(file, row.line, lines[i], &drl_key(&level)));
            }
            new.push(level);
            lines.push(row.line);
        }
        let n = new.len();
        for level in new {
            match self.drl.iter().position(|o| drl_key(o) == drl_key(&level)) {
                Some(i) => self.drl[i] = level,
                None => self.drl.push(level),
            }
        }
        Ok(n)
    }

    /// Reads a trigger-level CSV (format of `trigger-levels.csv`) and adds its rows; returns
    /// how many.
    ///
    /// Columns: `source_id`, `jurisdiction`, `procedure_code` (empty: every procedure),
    /// `quantity`, `unit`, `value` (required) and `year`, `action`, `notes` (optional).
    /// Quantities and units are those of [`load_drl_csv`](Self::load_drl_csv), plus
    /// `peak_skin_dose` (`mGy`, `Gy`, `dGy`). A row with the same source, procedure code and
    /// quantity as a loaded row replaces it.
    ///
    /// # Errors
    /// As for [`load_drl_csv`](Self::load_drl_csv).
    pub fn load_trigger_csv(
        &mut self,
        file: &str,
        reader: impl Read,
    ) -> Result<usize, ReferenceError> {
        let rows = read_rows(
            file,
            reader,
            TRIGGER_COLUMNS,
            TRIGGER_REQUIRED,
            TRIGGER_EXPECTED,
        )?;
        let mut new: Vec<TriggerLevel> = Vec::with_capacity(rows.len());
        let mut lines: Vec<u64> = Vec::with_capacity(rows.len());
        for row in &rows {
            let f = Fields { file, row };
            let (source_id, jurisdiction, year) = f.source()?;
            let procedure_code = f.procedure_code(3, false)?;
            let value = f.value(4, 5, 6)?;
            let level = TriggerLevel {
                source_id,
                jurisdiction,
                year,
                procedure_code,
                value,
                action: row.get(7).to_string(),
                notes: row.get(8).to_string(),
                origin: format!("{file}:{}", row.line),
            };
            if let Some(i) = new
                .iter()
                .position(|o| trigger_key(o) == trigger_key(&level))
            {
                return Err(duplicate(file, row.line, lines[i], &trigger_key(&level)));
            }
            new.push(level);
            lines.push(row.line);
        }
        let n = new.len();
        for level in new {
            match self
                .triggers
                .iter()
                .position(|o| trigger_key(o) == trigger_key(&level))
            {
                Some(i) => self.triggers[i] = level,
                None => self.triggers.push(level),
            }
        }
        Ok(n)
    }

    pub(crate) fn has_source(&self, source_id: &str) -> bool {
        self.drl.iter().any(|l| l.source_id == source_id)
            || self.triggers.iter().any(|l| l.source_id == source_id)
    }
}

fn drl_key(l: &ReferenceLevel) -> String {
    format!(
        "source {}, procedure {}, population {:?}, quantity {}{}",
        l.source_id,
        l.procedure_code,
        l.population,
        l.value.quantity(),
        if l.is_guide_value() {
            ", guide value"
        } else {
            ""
        }
    )
}

fn trigger_key(l: &TriggerLevel) -> String {
    format!(
        "source {}, procedure {}, quantity {}",
        l.source_id,
        l.procedure_code.as_deref().unwrap_or("(all)"),
        l.value.quantity()
    )
}

fn duplicate(file: &str, line: u64, first_line: u64, key: &str) -> ReferenceError {
    ReferenceError::DuplicateRow {
        file: file.to_string(),
        line,
        first_line,
        key: key.to_string(),
    }
}

/// Validating accessors for the columns shared by both formats; the first three columns
/// of both formats are source_id, jurisdiction and year.
struct Fields<'a> {
    file: &'a str,
    row: &'a Row,
}

impl Fields<'_> {
    fn invalid(&self, column: &'static str, value: &str, expected: &'static str) -> ReferenceError {
        ReferenceError::InvalidField {
            file: self.file.to_string(),
            line: self.row.line,
            column,
            value: value.to_string(),
            expected,
        }
    }

    fn source(&self) -> Result<(String, String, Option<i32>), ReferenceError> {
        let source_id = self.row.get(0);
        if !is_identifier(source_id) {
            return Err(self.invalid(
                "source_id",
                source_id,
                "letters, digits, '_' and '-', not empty",
            ));
        }
        let jurisdiction = self.row.get(1);
        if !is_identifier(jurisdiction) {
            return Err(self.invalid(
                "jurisdiction",
                jurisdiction,
                "letters, digits, '_' and '-', not empty",
            ));
        }
        let year = match self.row.get(2) {
            "" => None,
            y => match y.parse::<i32>() {
                Ok(v) if (1900..=2200).contains(&v) => Some(v),
                _ => return Err(self.invalid("year", y, "a year such as 2019, or empty")),
            },
        };
        Ok((source_id.to_string(), jurisdiction.to_string(), year))
    }

    fn procedure_code(&self, col: usize, required: bool) -> Result<Option<String>, ReferenceError> {
        match self.row.get(col) {
            "" if !required => Ok(None),
            c if is_procedure_code(c) => Ok(Some(c.to_string())),
            c => Err(self.invalid(
                "procedure_code",
                c,
                if required {
                    "lowercase letters, digits and '_', not empty"
                } else {
                    "lowercase letters, digits and '_', or empty for every procedure"
                },
            )),
        }
    }

    fn value(&self, q: usize, u: usize, v: usize) -> Result<LevelValue, ReferenceError> {
        let qs = self.row.get(q);
        let quantity =
            DrlQuantity::from_code(qs).ok_or_else(|| ReferenceError::UnknownQuantity {
                file: self.file.to_string(),
                line: self.row.line,
                quantity: qs.to_string(),
                expected: "pka, ka_r, fluoro_time, images, peak_skin_dose",
            })?;
        let unit = self.row.get(u);
        let text = self.row.get(v);
        let not_positive = |what| ReferenceError::NotPositive {
            file: self.file.to_string(),
            line: self.row.line,
            value: text.to_string(),
            what,
        };
        let number: f64 = text.parse().map_err(|_| not_positive("number"))?;
        LevelValue::parse(quantity, unit, number).map_err(|p| match p {
            ValueProblem::UnknownUnit => ReferenceError::UnknownUnit {
                file: self.file.to_string(),
                line: self.row.line,
                quantity: quantity.code(),
                unit: unit.to_string(),
                expected: quantity.accepted_units(),
            },
            ValueProblem::NotPositive => not_positive("number"),
            ValueProblem::NotWhole => not_positive("whole number"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "source_id,jurisdiction,year,procedure_code,procedure_name_original,procedure_name_en,population,quantity,unit,value,statistic,notes\n";

    fn load(text: &str) -> Result<usize, ReferenceError> {
        ReferenceTables::default().load_drl_csv("t.csv", text.as_bytes())
    }

    #[test]
    fn bundled_tables_parse() {
        let mut t = ReferenceTables::default();
        let n = t
            .load_drl_csv("bundled:drl.csv", BUNDLED_DRL.as_bytes())
            .unwrap();
        assert_eq!(n, BUNDLED_DRL.lines().count() - 1);
        let n = t
            .load_trigger_csv("bundled:trigger-levels.csv", BUNDLED_TRIGGERS.as_bytes())
            .unwrap();
        assert_eq!(n, BUNDLED_TRIGGERS.lines().count() - 1);
        let n = t
            .load_trigger_csv(
                "bundled:psd-trigger-levels.csv",
                BUNDLED_PSD_TRIGGERS.as_bytes(),
            )
            .unwrap();
        assert_eq!(n, BUNDLED_PSD_TRIGGERS.lines().count() - 1);
        assert_eq!(t, ReferenceTables::bundled());
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = load(&format!(
            "{HEADER}S,FR,2019,pci,,,adult,pka,Gy.cm2,-3,p75,\n"
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:2: value \"-3\" must be a positive number"
        );
        let e = load(&format!(
            "{HEADER}S,FR,2019,pci,,,adult,pka,Gy.cm2,3,p75,\nS,FR,2019,pci,,,adult,dose,Gy.cm2,3,p75,\n"
        ))
        .unwrap_err();
        assert!(
            matches!(e, ReferenceError::UnknownQuantity { line: 3, .. }),
            "{e}"
        );
        let e = load(&format!(
            "{HEADER}S,FR,2019,pci,,,adult,pka,cGy.cm2,3,p75,\n"
        ))
        .unwrap_err();
        assert!(
            e.to_string().starts_with("t.csv:2: unit \"cGy.cm2\""),
            "{e}"
        );
        let e =
            load("source_id,jurisdiction,procedure_code,quantity,unit,value,colour\n").unwrap_err();
        assert!(
            matches!(e, ReferenceError::UnknownColumn { ref column, .. } if column == "colour")
        );
        let e = load("source_id,jurisdiction,procedure_code,quantity,unit\n").unwrap_err();
        assert!(matches!(
            e,
            ReferenceError::BadColumn {
                column: "value",
                ..
            }
        ));
        let e = load(&format!(
            "{HEADER}S,FR,2019,pci,,,adult,pka,Gy.cm2,0,p75,\n"
        ))
        .unwrap_err();
        assert!(matches!(e, ReferenceError::NotPositive { .. }));
        let e = load(&format!(
            "{HEADER}S,FR,2019,pci,,,adult,images,count,10.5,p75,\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("whole number"), "{e}");
        let e = load(&format!(
            "{HEADER}S,FR,2019,PCI,,,adult,pka,Gy.cm2,3,p75,\n"
        ))
        .unwrap_err();
        assert!(matches!(
            e,
            ReferenceError::InvalidField {
                column: "procedure_code",
                ..
            }
        ));
        let e = load(&format!("{HEADER}S,FR,19,pci,,,adult,pka,Gy.cm2,3,p75,\n")).unwrap_err();
        assert!(matches!(
            e,
            ReferenceError::InvalidField { column: "year", .. }
        ));
        let e = load(&format!(
            "{HEADER}S,FR,2019,pci,,,adult,pka,Gy.cm2,3,p75,\nS,FR,2019,pci,,,adult,pka,Gy.m2,0.1,p75,\n"
        ))
        .unwrap_err();
        assert!(
            matches!(
                e,
                ReferenceError::DuplicateRow {
                    line: 3,
                    first_line: 2,
                    ..
                }
            ),
            "{e}"
        );
        let e = load(&format!("{HEADER}S,FR,2019,pci,,,adult,pka,Gy.cm2\n")).unwrap_err();
        assert!(
            matches!(e, ReferenceError::Csv { line: Some(2), .. }),
            "{e}"
        );
    }

    #[test]
    fn comments_keep_line_numbers() {
        let e = load(&format!(
            "{HEADER}# a comment\nS,FR,2019,pci,,,adult,pka,Gy.cm2,x,p75,\n"
        ))
        .unwrap_err();
        assert!(
            matches!(e, ReferenceError::NotPositive { line: 3, .. }),
            "{e}"
        );
    }

    #[test]
    fn user_rows_extend_and_override() {
        let mut t = ReferenceTables::bundled();
        let before = t.drl_levels().len();
        let text = "source_id,jurisdiction,year,procedure_code,population,quantity,unit,value,statistic\n\
            FR_SFPM_ETARD_2017,FR,2017,vertebroplasty,adult,pka,Gy.cm2,71,p75_patients\n\
            LOCAL,FR,2025,vertebroplasty,adult,pka,Gy.cm2,50,guide_value\n";
        assert_eq!(t.load_drl_csv("fix.csv", text.as_bytes()).unwrap(), 2);
        assert_eq!(t.drl_levels().len(), before + 1);
        let v = t
            .drl_levels()
            .iter()
            .find(|l| {
                l.source_id == "FR_SFPM_ETARD_2017"
                    && l.procedure_code == "vertebroplasty"
                    && l.value.quantity() == DrlQuantity::Pka
            })
            .unwrap();
        assert_eq!(v.value.in_report_unit(), 71.0);
        assert_eq!(v.origin, "fix.csv:2");
        assert!(t.drl_levels().iter().any(|l| l.is_guide_value()));
    }

    #[test]
    fn trigger_levels_accept_empty_procedure() {
        let t = ReferenceTables::bundled();
        let has = t
            .trigger_levels()
            .iter()
            .find(|l| l.source_id == "FR_HAS_2014_VIA_THEMA")
            .unwrap();
        assert_eq!(has.procedure_code, None);
        assert_eq!(has.value.in_report_unit(), 500.0);
        let psd = t
            .trigger_levels()
            .iter()
            .find(|l| l.value.quantity() == DrlQuantity::PeakSkinDose)
            .unwrap();
        assert_eq!(psd.value.in_report_unit(), 15000.0);
    }
}

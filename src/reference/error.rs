//! The error type of the reference module.

/// Why a reference table, a procedure mapping or a survey configuration was rejected.
///
/// Every table error names the file (as given by the caller, or `bundled:<name>` for the
/// tables shipped with kerma) and, where it applies, the 1-based line of the CSV record
/// (the header is line 1).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// The CSV text could not be read or split into records. The message of the CSV reader
    /// is kept as text so that the csv crate does not become part of kerma's public API.
    #[error("{file}:{}: unreadable CSV: {message}", line.map_or("?".to_string(), |l| l.to_string()))]
    Csv {
        /// The file name.
        file: String,
        /// The line of the failing record, when the reader knows it.
        line: Option<u64>,
        /// What the CSV reader reported.
        message: String,
    },
    /// The header names a column the format does not have.
    #[error("{file}:1: unknown column {column:?} (expected columns: {expected})")]
    UnknownColumn {
        /// The file name.
        file: String,
        /// The unknown column name.
        column: String,
        /// The columns of the format.
        expected: &'static str,
    },
    /// A required column is missing, or a column appears twice.
    #[error("{file}:1: column {column:?} is missing or repeated")]
    BadColumn {
        /// The file name.
        file: String,
        /// The column name.
        column: &'static str,
    },
    /// The `quantity` column holds an unknown code.
    #[error("{file}:{line}: unknown quantity {quantity:?} (expected {expected})")]
    UnknownQuantity {
        /// The file name.
        file: String,
        /// The line of the record.
        line: u64,
        /// The quantity as written.
        quantity: String,
        /// The accepted codes.
        expected: &'static str,
    },
    /// The `unit` column holds a unit that kerma does not accept for the quantity.
    #[error(
        "{file}:{line}: unit {unit:?} is not accepted for quantity {quantity} (expected one of {expected})"
    )]
    UnknownUnit {
        /// The file name.
        file: String,
        /// The line of the record.
        line: u64,
        /// The quantity code.
        quantity: &'static str,
        /// The unit as written.
        unit: String,
        /// The accepted units.
        expected: &'static str,
    },
    /// A level value is zero, negative, not a number, or not a whole number of images.
    #[error("{file}:{line}: value {value:?} must be a positive {what}")]
    NotPositive {
        /// The file name.
        file: String,
        /// The line of the record.
        line: u64,
        /// The value as written.
        value: String,
        /// What was expected ("number", "whole number").
        what: &'static str,
    },
    /// Any other field holds a value the format does not allow.
    #[error("{file}:{line}: column {column}: invalid value {value:?} ({expected})")]
    InvalidField {
        /// The file name.
        file: String,
        /// The line of the record.
        line: u64,
        /// The column name.
        column: &'static str,
        /// The value as written.
        value: String,
        /// What the column accepts.
        expected: &'static str,
    },
    /// Two records of one file have the same key.
    #[error("{file}:{line}: duplicate of line {first_line} ({key})")]
    DuplicateRow {
        /// The file name.
        file: String,
        /// The line of the second record.
        line: u64,
        /// The line of the first record.
        first_line: u64,
        /// The key that repeats.
        key: String,
    },
    /// The survey configuration names a source that no loaded table has.
    #[error("no loaded reference table has source {source_id:?}")]
    UnknownSource {
        /// The source id as configured.
        source_id: String,
    },
    /// A survey setting is out of range.
    #[error("invalid survey setting {setting}: {reason}")]
    InvalidSetting {
        /// The setting's field name in [`SurveyConfig`](crate::reference::SurveyConfig).
        setting: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

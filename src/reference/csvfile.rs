//! The CSV tables of the reference module: the crate's strict reader (see
//! [`crate::csvfile`]) with this module's errors, and the checks of identifier columns.

use std::io::Read;

use super::error::ReferenceError;
use crate::csvfile::Problem;
pub(crate) use crate::csvfile::Row;

/// Reads `reader` as CSV with a header whose names must all be in `columns` (listed in
/// `expected` for the error message); the columns in `required` must be present. Lines
/// starting with `#` are comments. Fields are trimmed.
pub(crate) fn read_rows(
    file: &str,
    reader: impl Read,
    columns: &'static [&'static str],
    required: &[&'static str],
    expected: &'static str,
) -> Result<Vec<Row>, ReferenceError> {
    crate::csvfile::read_rows(file, reader, columns, required).map_err(|e| match e.problem {
        Problem::Io(message) | Problem::Csv(message) => ReferenceError::Csv {
            file: e.file,
            line: e.line,
            message,
        },
        Problem::UnknownColumn(column) => ReferenceError::UnknownColumn {
            file: e.file,
            column,
            expected,
        },
        Problem::RepeatedColumn(column) | Problem::MissingColumn(column) => {
            ReferenceError::BadColumn {
                file: e.file,
                column,
            }
        }
    })
}

/// Whether `s` is a non-empty identifier of ASCII letters, digits, `_` and `-`.
pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `s` is a procedure code: non-empty lowercase ASCII letters, digits and `_`.
pub(crate) fn is_procedure_code(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

//! Strict reading of the small CSV formats of the reference module: known columns only,
//! every record with its line number.

use std::io::Read;

use super::error::ReferenceError;

/// One record: its 1-based line and one value per column of the format (empty when the
/// column is absent from the file).
pub(crate) struct Row {
    pub(crate) line: u64,
    values: Vec<String>,
}

impl Row {
    pub(crate) fn get(&self, column: usize) -> &str {
        self.values.get(column).map_or("", String::as_str)
    }
}

/// Reads `reader` as CSV with a header whose names must all be in `columns`; the columns
/// in `required` must be present. Lines starting with `#` are comments. Fields are trimmed.
pub(crate) fn read_rows(
    file: &str,
    mut reader: impl Read,
    columns: &'static [&'static str],
    required: &[&'static str],
    expected: &'static str,
) -> Result<Vec<Row>, ReferenceError> {
    // The tables are small: read them whole, so that line numbers can be computed from byte
    // offsets (the CSV reader does not count comment lines).
    let mut text = Vec::new();
    reader
        .read_to_end(&mut text)
        .map_err(|e| ReferenceError::Csv {
            file: file.to_string(),
            line: None,
            message: e.to_string(),
        })?;
    // A record's position is where the reader started it, before any comment or blank
    // lines it skipped: step over those.
    let line_of = |p: &csv::Position| {
        let mut start = usize::try_from(p.byte()).map_or(text.len(), |b| b.min(text.len()));
        while let Some(rest) = text.get(start..) {
            let skip = matches!(rest.first(), Some(b'#' | b'\n' | b'\r'));
            match rest.iter().position(|&b| b == b'\n') {
                Some(nl) if skip => start += nl + 1,
                _ => break,
            }
        }
        1 + text[..start].iter().filter(|&&b| b == b'\n').count() as u64
    };
    let csv_error = |e: csv::Error| ReferenceError::Csv {
        file: file.to_string(),
        line: e.position().map(line_of),
        message: e.to_string(),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_slice());
    let headers = rdr.headers().map_err(csv_error)?.clone();
    // position of each format column in the file
    let mut index: Vec<Option<usize>> = vec![None; columns.len()];
    for (i, h) in headers.iter().enumerate() {
        let Some(c) = columns.iter().position(|c| *c == h) else {
            return Err(ReferenceError::UnknownColumn {
                file: file.to_string(),
                column: h.to_string(),
                expected,
            });
        };
        if index[c].is_some() {
            return Err(ReferenceError::BadColumn {
                file: file.to_string(),
                column: columns[c],
            });
        }
        index[c] = Some(i);
    }
    for r in required {
        let missing = columns
            .iter()
            .position(|c| c == r)
            .is_none_or(|c| index[c].is_none());
        if missing {
            return Err(ReferenceError::BadColumn {
                file: file.to_string(),
                column: r,
            });
        }
    }
    let mut rows = Vec::new();
    for record in rdr.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, line_of);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let values = index
            .iter()
            .map(|i| i.and_then(|i| record.get(i)).unwrap_or("").to_string())
            .collect();
        rows.push(Row { line, values });
    }
    Ok(rows)
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

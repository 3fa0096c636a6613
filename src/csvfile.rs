//! Strict reading of the small CSV tables a site gives kerma (reference levels, procedure
//! mappings, room tables): known columns only, comments, and every record with its line
//! number. Each format turns a [`CsvError`] into its own error type.

use std::io::Read;

/// One record: its 1-based line and one value per column of the format (empty when the
/// column is absent from the file).
pub(crate) struct Row {
    pub(crate) line: u64,
    values: Vec<String>,
}

impl Row {
    /// The value of the format's column at `column` (an index into its column list).
    pub(crate) fn get(&self, column: usize) -> &str {
        self.values.get(column).map_or("", String::as_str)
    }
}

/// Why a table was rejected by the reader: the file (as the caller named it), the 1-based
/// line where it applies (the header is line 1), and what is wrong.
#[derive(Debug)]
pub(crate) struct CsvError {
    pub(crate) file: String,
    pub(crate) line: Option<u64>,
    pub(crate) problem: Problem,
}

/// What is wrong with a table.
#[derive(Debug)]
pub(crate) enum Problem {
    /// The bytes could not be read; the reader's message.
    Io(String),
    /// The text could not be split into records; the CSV reader's message.
    Csv(String),
    /// The header names a column the format does not have (as written).
    UnknownColumn(String),
    /// A column appears twice in the header.
    RepeatedColumn(&'static str),
    /// A required column is absent from the header.
    MissingColumn(&'static str),
}

/// Reads `reader` as CSV with a header whose names must all be in `columns`; the columns in
/// `required` must be present. Lines starting with `#` are comments, a byte order mark
/// before a header name is ignored, fields are trimmed and records whose fields are all
/// empty are skipped.
pub(crate) fn read_rows(
    file: &str,
    mut reader: impl Read,
    columns: &'static [&'static str],
    required: &[&'static str],
) -> Result<Vec<Row>, CsvError> {
    let error = |line: Option<u64>, problem: Problem| CsvError {
        file: file.to_owned(),
        line,
        problem,
    };
    // The tables are small: read them whole, so that line numbers can be computed from byte
    // offsets (the CSV reader does not count comment lines).
    let mut text = Vec::new();
    reader
        .read_to_end(&mut text)
        .map_err(|e| error(None, Problem::Io(e.to_string())))?;
    // A record's position is where the reader started it, before any comment or blank
    // lines it skipped: step over those.
    // Where each line ends, so that a record's line is found by a binary search rather than
    // by counting from the start for every record.
    let line_ends: Vec<usize> = text
        .iter()
        .enumerate()
        .filter_map(|(i, &b)| (b == b'\n').then_some(i))
        .collect();
    let line_of = |p: &csv::Position| {
        let mut start = usize::try_from(p.byte()).map_or(text.len(), |b| b.min(text.len()));
        while let Some(rest) = text.get(start..) {
            let skip = matches!(rest.first(), Some(b'#' | b'\n' | b'\r'));
            match rest.iter().position(|&b| b == b'\n') {
                Some(nl) if skip => start += nl + 1,
                _ => break,
            }
        }
        1 + line_ends.partition_point(|&end| end < start) as u64
    };
    let csv_error = |e: csv::Error| error(e.position().map(line_of), Problem::Csv(e.to_string()));
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_slice());
    let headers = rdr.headers().map_err(csv_error)?.clone();
    // position of each format column in the file
    let mut index: Vec<Option<usize>> = vec![None; columns.len()];
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim_start_matches('\u{feff}');
        let Some(c) = columns.iter().position(|c| *c == h) else {
            return Err(error(Some(1), Problem::UnknownColumn(h.to_owned())));
        };
        if index[c].replace(i).is_some() {
            return Err(error(Some(1), Problem::RepeatedColumn(columns[c])));
        }
    }
    for r in required {
        let missing = columns
            .iter()
            .position(|c| c == r)
            .is_none_or(|c| index[c].is_none());
        if missing {
            return Err(error(Some(1), Problem::MissingColumn(r)));
        }
    }
    let mut rows = Vec::new();
    for record in rdr.records() {
        let record = record.map_err(csv_error)?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let line = record.position().map_or(0, line_of);
        let values = index
            .iter()
            .map(|i| i.and_then(|i| record.get(i)).unwrap_or("").to_owned())
            .collect();
        rows.push(Row { line, values });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_know_their_lines_past_comments_and_blank_lines() {
        let text = "# a table\n# of two columns\na,b\n1,2\n\n# a remark\n3,4\n\n\n5,6\n";
        let rows = read_rows("t.csv", text.as_bytes(), &["a", "b"], &["a"]).unwrap();
        let lines: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.get(0))).collect();
        assert_eq!(lines, [(4, "1"), (7, "3"), (10, "5")]);
    }

    #[test]
    fn many_records_are_numbered_in_order() {
        let mut text = String::from("a\n");
        for i in 0..5_000 {
            text.push_str(&format!("# remark {i}\n{i}\n"));
        }
        let rows = read_rows("t.csv", text.as_bytes(), &["a"], &["a"]).unwrap();
        assert_eq!(rows.len(), 5_000);
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r.line, 3 + 2 * i as u64);
        }
    }
}

//! CSV files as people and spreadsheets write them (a UTF-8 byte-order mark, CRLF line ends,
//! quoted commas, quotes and line breaks), read with the `csv` crate, each record keeping the
//! line it starts on so a refusal can point at it.

use crate::BadInput;

/// The writer [`writer`] gives, so callers can name it without depending on `csv` themselves.
pub use ::csv::Writer;

/// A file's header and records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

/// One record and the line it starts on (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub fields: Vec<String>,
}

impl Table {
    /// The index of the column headed `name` (trimmed, any case).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name.trim()))
    }

    /// The index of the column headed `name`, or bad input naming the missing column.
    pub fn require(&self, name: &str) -> Result<usize, BadInput> {
        self.column(name).ok_or_else(|| {
            BadInput::new(
                Some(1),
                name,
                format!(
                    "the header has no {name:?} column (it has {})",
                    self.headers.join(", ")
                ),
            )
        })
    }
}

impl Row {
    /// The field in column `col`, trimmed; empty when the row is shorter.
    pub fn get(&self, col: usize) -> &str {
        self.fields.get(col).map(|s| s.trim()).unwrap_or("")
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads a CSV file with a header line. Blank lines are skipped; rows may be shorter or longer
/// than the header (the caller checks the fields it needs).
pub fn read(bytes: &[u8]) -> Result<Table, BadInput> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut headers = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| line_at(bytes, p.byte()));
            let reason = match e.kind() {
                ::csv::ErrorKind::Utf8 { .. } => {
                    "is not UTF-8 text: save the file as \"CSV UTF-8\"".to_string()
                }
                _ => e.to_string(),
            };
            BadInput::new(line, "file", reason)
        })?;
        let line = record
            .position()
            .map(|p| line_at(bytes, p.byte()))
            .unwrap_or(0);
        let fields: Vec<String> = record.iter().map(str::to_string).collect();
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if headers.is_none() {
            headers = Some(fields.iter().map(|h| h.trim().to_string()).collect());
        } else {
            rows.push(Row { line, fields });
        }
    }
    Ok(Table {
        headers: headers
            .ok_or_else(|| BadInput::new(Some(1), "file", "is empty: no header line"))?,
        rows,
    })
}

/// The line (from 1) that the record starting at byte `offset` of `bytes` is on. After a CRLF
/// the reader's offset points at the `\n`, so line ends are skipped first.
fn line_at(bytes: &[u8], offset: u64) -> usize {
    let mut end = (offset as usize).min(bytes.len());
    while end < bytes.len() && matches!(bytes[end], b'\r' | b'\n') {
        end += 1;
    }
    1 + bytes[..end].iter().filter(|b| **b == b'\n').count()
}

/// A CSV writer: fields quoted when they need it, `\n` line ends.
pub fn writer<W: std::io::Write>(w: W) -> ::csv::Writer<W> {
    ::csv::WriterBuilder::new().from_writer(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excel_saved_file_reads_with_its_line_numbers() {
        let file = b"\xEF\xBB\xBFplan_id,period,note\r\nP1,M1,\"rent, arrears\"\r\nP1,M2,\"two\r\nlines\"\r\n\r\nP1,M3,\"she said \"\"no\"\"\"\r\n";
        let t = read(file).unwrap();
        assert_eq!(t.headers, ["plan_id", "period", "note"]);
        assert_eq!(t.column("PLAN_ID"), Some(0));
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.rows[0].line, 2);
        assert_eq!(t.rows[0].get(2), "rent, arrears");
        assert_eq!(t.rows[1].line, 3);
        assert_eq!(t.rows[1].get(2), "two\r\nlines");
        assert_eq!(t.rows[2].line, 6);
        assert_eq!(t.rows[2].get(2), "she said \"no\"");
        assert_eq!(t.rows[2].get(9), "");
    }

    #[test]
    fn files_that_are_not_utf8_or_empty_are_refused_with_a_line() {
        let e = read(b"a,b\n1,\xE32\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.reason.contains("UTF-8"), "{e}");
        assert!(read(b"").is_err());
        assert!(read(b"\n\n").is_err());
        let t = read(b"a,b\n").unwrap();
        assert!(
            t.require("c")
                .unwrap_err()
                .reason
                .contains("no \"c\" column")
        );
    }

    #[test]
    fn written_fields_are_quoted_when_they_need_it_and_read_back() {
        let mut w = writer(Vec::new());
        w.write_record(["id", "note"]).unwrap();
        w.write_record(["1", "a, \"b\"\nc"]).unwrap();
        let bytes = w.into_inner().unwrap();
        let t = read(&bytes).unwrap();
        assert_eq!(t.rows[0].get(1), "a, \"b\"\nc");
    }
}

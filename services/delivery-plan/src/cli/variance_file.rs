//! The CSV file `almo variances push` reads: a council system's figures for one plan, as the
//! system or a spreadsheet saves them (a UTF-8 byte-order mark, CRLF line ends, quoted commas,
//! quotes and line breaks are all read), every row checked as strictly as the server checks it
//! and refused by its line and field.
//!
//! ```text
//! sender_record_id,target_code,year,period,actual,forecast,commentary
//! LBH-2026-M01-RP02,RP02,2026,M1,97.2,97.5,"Contractor backlog, now cleared"
//! LBH-2026-Q1-LOCAL-DECENT,LOCAL-DECENT,2026/27,Q1,150,,
//! ```
//!
//! `year` is the financial year (`2026` or `2026/27`, the second part the next year); `period`
//! is `M1`..`M12` (April = M1) or `Q1`..`Q4`; `forecast` and `commentary` may be empty.

use almo_client::csv::{self, Row, Table};
use almo_fields as fields;
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::delivery_plan::VarianceRecord;

/// The header line, its columns in this order.
pub const HEADER: &str = "sender_record_id,target_code,year,period,actual,forecast,commentary";

/// A row that could not be read: its line (the header is line 1), the field at fault and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    pub line: usize,
    pub field: String,
    pub reason: String,
}

impl BadRow {
    fn new(row: &Row, field: &str, reason: impl Into<String>) -> Self {
        Self {
            line: row.line,
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, field {}: {}",
            self.line, self.field, self.reason
        )
    }
}

/// Records read from a CSV file, each with its line number.
pub type NumberedRecords = Vec<(usize, VarianceRecord)>;

/// Where each column is.
struct Columns([usize; 7]);

impl Columns {
    fn of(table: &Table) -> Result<Self, almo_client::BadInput> {
        let mut cols = [0; 7];
        for (col, name) in cols.iter_mut().zip(HEADER.split(',')) {
            *col = table.require(name)?;
        }
        Ok(Columns(cols))
    }
}

fn field<T>(row: &Row, name: &str, r: Result<T, String>) -> Result<T, BadRow> {
    r.map_err(|reason| BadRow::new(row, name, reason))
}

/// One row as the record it stands for.
fn record(row: &Row, width: usize, Columns(c): &Columns) -> Result<VarianceRecord, BadRow> {
    if row.fields.len() != width {
        let reason = format!("{} fields, expected {width}", row.fields.len());
        return Err(BadRow::new(row, "row", reason));
    }
    let year = field(row, "year", fields::financial_year(row.get(c[2])))?;
    let (kind, number) = match field(row, "period", fields::period_label(row.get(c[3])))? {
        (fields::PeriodKind::Month, n) => (PeriodKind::Month, n),
        (fields::PeriodKind::Quarter, n) => (PeriodKind::Quarter, n),
        (fields::PeriodKind::Year, _) => {
            let reason = "a figure is for a month (M1..M12) or a quarter (Q1..Q4)";
            return Err(BadRow::new(row, "period", reason));
        }
    };
    let forecast = match row.get(c[5]) {
        "" => None,
        s => Some(field(row, "forecast", fields::number(s))?),
    };
    Ok(VarianceRecord {
        sender_record_id: row.get(c[0]).to_string(),
        target_code: row.get(c[1]).to_string(),
        period: Some(Period {
            year: Some(FinancialYear { start_year: year }),
            kind: kind as i32,
            number: number as i32,
        }),
        actual: field(row, "actual", fields::number(row.get(c[4])))?,
        forecast,
        commentary: row.fields[c[6]].clone(),
    })
}

/// Reads a CSV file into records (with their line numbers) and the rows that could not be read.
/// A file that is not CSV, or whose header lacks a column, is refused as a whole.
pub fn parse_csv(bytes: impl AsRef<[u8]>) -> anyhow::Result<(NumberedRecords, Vec<BadRow>)> {
    let table = csv::read(bytes.as_ref())?;
    let columns = Columns::of(&table)?;
    let width = table.headers.len();
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for row in &table.rows {
        match record(row, width, &columns) {
            Ok(r) => records.push((row.line, r)),
            Err(b) => bad.push(b),
        }
    }
    Ok((records, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_their_commas_and_quotes() {
        let text = format!(
            "{HEADER}\nr1,RP02,2026,M1,1,,\"b, c\"\nr2,RP02,2026,M2,1,,\"say \"\"hi\"\"\"\n"
        );
        let (records, bad) = parse_csv(&text).unwrap();
        assert_eq!(bad, vec![]);
        assert_eq!(records[0].1.commentary, "b, c");
        assert_eq!(records[1].1.commentary, "say \"hi\"");
    }

    #[test]
    fn unreadable_rows_are_reported_by_line_number() {
        let text = format!(
            "{HEADER}\nr1,RP02,2026/27,M1,97.2,,\"ok, fine\"\nr2,RP02,2026,M13x,97,,\n\nr3,RP02,2026,Q2,abc,,\nr4,RP02,2026\n"
        );
        let (records, bad) = parse_csv(&text).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].0, 2);
        assert_eq!(records[0].1.commentary, "ok, fine");
        assert_eq!(
            bad.iter().map(|b| b.line).collect::<Vec<_>>(),
            vec![3, 5, 6]
        );
        assert!(parse_csv("wrong,header\n").is_err());
    }
}

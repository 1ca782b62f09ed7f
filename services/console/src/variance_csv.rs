//! The variance CSV a council system or spreadsheet saves (the format of `almo variances push`,
//! services/delivery-plan/README.md): every row read as strictly as the service reads it and,
//! when it cannot be read, refused by its line number and field.
//!
//! ```text
//! sender_record_id,target_code,year,period,actual,forecast,commentary
//! LBH-2026-M01-RENT,LOCAL-RENT,2026,M1,97.2,97.5,"Benefit backlog, now cleared"
//! ```

use almo_fields as fields;
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::delivery_plan::VarianceRecord;

pub const HEADER: [&str; 7] = [
    "sender_record_id",
    "target_code",
    "year",
    "period",
    "actual",
    "forecast",
    "commentary",
];

/// A line that could not be read or was refused: its line (the header is line 1), field, why.
#[derive(Debug, Clone, PartialEq)]
pub struct BadLine {
    pub line: u64,
    pub field: String,
    pub reason: String,
}

/// The records of a file, each with its line, and the lines that could not be read.
#[derive(Debug, Default)]
pub struct Parsed {
    pub records: Vec<(u64, VarianceRecord)>,
    pub bad: Vec<BadLine>,
}

/// Reads a file; a file that is not CSV or lacks a column is refused whole (the reason).
pub fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "The file is not UTF-8 text".to_string())?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("The first line is not a CSV header: {e}"))?
        .clone();
    let mut cols = [0usize; 7];
    for (col, name) in cols.iter_mut().zip(HEADER) {
        *col = headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                format!(
                    "The header has no column {name} (expected {})",
                    HEADER.join(",")
                )
            })?;
    }
    let width = headers.len();
    let mut out = Parsed::default();
    for row in reader.records() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| line_at(text, p.byte())).unwrap_or(0);
                out.bad.push(BadLine {
                    line,
                    field: "row".into(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let line = row.position().map(|p| line_at(text, p.byte())).unwrap_or(0);
        if row.len() == 1 && row.get(0).is_some_and(|s| s.trim().is_empty()) {
            continue;
        }
        match record(&row, width, &cols) {
            Ok(r) => out.records.push((line, r)),
            Err((field, reason)) => out.bad.push(BadLine {
                line,
                field: field.into(),
                reason,
            }),
        }
    }
    Ok(out)
}

/// The line (from 1) on which the byte at `offset` stands.
fn line_at(text: &str, offset: u64) -> u64 {
    let mut end = (offset as usize).min(text.len());
    // After a CRLF row the reader stands on the LF, which still ends the line before.
    if text.as_bytes().get(end) == Some(&b'\n') {
        end += 1;
    }
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
}

fn record(
    row: &csv::StringRecord,
    width: usize,
    c: &[usize; 7],
) -> Result<VarianceRecord, (&'static str, String)> {
    if row.len() != width {
        return Err(("row", format!("{} fields, expected {width}", row.len())));
    }
    let get = |i: usize| row.get(c[i]).unwrap_or("").trim();
    let year = fields::financial_year(get(2)).map_err(|e| ("year", e))?;
    let (kind, number) = match fields::period_label(get(3)).map_err(|e| ("period", e))? {
        (fields::PeriodKind::Month, n) => (PeriodKind::Month, n),
        (fields::PeriodKind::Quarter, n) => (PeriodKind::Quarter, n),
        (fields::PeriodKind::Year, _) => {
            return Err((
                "period",
                "a figure is for a month (M1..M12) or a quarter (Q1..Q4)".into(),
            ));
        }
    };
    let actual = fields::number(get(4)).map_err(|e| ("actual", e))?;
    let forecast = match get(5) {
        "" => None,
        s => Some(fields::number(s).map_err(|e| ("forecast", e))?),
    };
    Ok(VarianceRecord {
        sender_record_id: get(0).to_string(),
        target_code: get(1).to_string(),
        period: Some(Period {
            year: Some(FinancialYear { start_year: year }),
            kind: kind as i32,
            number: number as i32,
        }),
        actual,
        forecast,
        commentary: row.get(c[6]).unwrap_or("").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_are_refused_by_line_and_field() {
        let text = "\u{feff}sender_record_id,target_code,year,period,actual,forecast,commentary\r\n\
                    r1,RP02,2026/27,M1,97.2,,\"ok, fine\"\r\n\
                    r2,RP02,2026,M13,97,,\r\n\
                    r3,RP02,2026,Q2,abc,,\r\n\
                    r4,RP02,2026\r\n\
                    r5,RP02,2026,Q2,1,,\"two\r\nlines\"\r\n\
                    r6,RP02,2026,Q2,x,,\r\n";
        let p = parse(text.as_bytes()).unwrap();
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.records[1].0, 6);
        assert_eq!(p.records[0].0, 2);
        assert_eq!(p.records[0].1.commentary, "ok, fine");
        let lines: Vec<_> = p.bad.iter().map(|b| (b.line, b.field.as_str())).collect();
        assert_eq!(
            lines,
            vec![(3, "period"), (4, "actual"), (5, "row"), (8, "actual")]
        );
        assert!(parse(b"wrong,header\n").is_err());
    }
}

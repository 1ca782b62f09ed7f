//! `almo invoices pull`: ALMO finance pulls every invoice issued or credited since its last
//! watermark into a file its ledger can load — one row per invoice line, credit-note lines as
//! negative rows — through the ExportInvoices stream.
//!
//! Amounts are integer pence. Every row is consistent: `net_pence` is `quantity` ×
//! `unit_price_pence` rounded once to the penny, half away from zero (the service's one rounding
//! rule), and `gross_pence` is `net_pence` + `vat_pence`. A usage row carries the units used (up
//! to three decimals) and the unit price; a fixed-fee row (a prorated share of an annual fee, the
//! days in its description), a service credit and a credit-note row are one unit of their amount
//! (quantity 1). `vat_treatment` is standard, reduced, zero, exempt or outside_scope, as a VAT
//! return needs it.

use std::io::Write;

use almo_client::csv;
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::{
    self as pb, ExportInvoicesRequest, FeedEventKind, InvoiceFeedEntry,
};

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// JSON Lines: one object per row.
    Json,
    /// Parquet (snappy), the schema of the Flight dataset `sla.invoice_lines`.
    Parquet,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "parquet" => Ok(Format::Parquet),
            _ => Err(format!("{s:?}: csv, json or parquet")),
        }
    }
}

/// What a pull wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pulled {
    pub events: u64,
    pub rows: u64,
    /// Pass this as `--since` next time.
    pub watermark: String,
}

/// How many columns a row has.
pub const WIDTH: usize = 20;

/// A ledger row, one field per column of [`COLUMNS`].
pub type Row = [String; WIDTH];

pub const COLUMNS: [&str; WIDTH] = [
    "feed_position",
    "event",
    "document_number",
    "invoice_number",
    "invoice_id",
    "customer_almo_id",
    "supplier_council_id",
    "period",
    "issue_date",
    "line_number",
    "line_kind",
    "line_code",
    "description",
    "account",
    "net_pence",
    "vat_pence",
    "gross_pence",
    "vat_treatment",
    "quantity",
    "unit_price_pence",
];

/// The columns written as JSON numbers (the rest are strings; `quantity` is a decimal string so
/// that it stays exact).
const NUMERIC: [&str; 6] = [
    "feed_position",
    "line_number",
    "net_pence",
    "vat_pence",
    "gross_pence",
    "unit_price_pence",
];

fn account(a: i32) -> &'static str {
    match pb::Account::try_from(a) {
        Ok(pb::Account::Hra) => "HRA",
        Ok(pb::Account::GeneralFund) => "GF",
        _ => "",
    }
}

fn kind(k: i32) -> &'static str {
    match pb::LineKind::try_from(k) {
        Ok(pb::LineKind::FixedFee) => "fixed_fee",
        Ok(pb::LineKind::Usage) => "usage",
        Ok(pb::LineKind::ServiceCredit) => "service_credit",
        _ => "",
    }
}

fn vat_treatment(t: i32) -> &'static str {
    match pb::VatTreatment::try_from(t) {
        Ok(pb::VatTreatment::Standard) => "standard",
        Ok(pb::VatTreatment::Reduced) => "reduced",
        Ok(pb::VatTreatment::Zero) => "zero",
        Ok(pb::VatTreatment::Exempt) => "exempt",
        Ok(pb::VatTreatment::OutsideScope) => "outside_scope",
        _ => "",
    }
}

/// Thousandths as a decimal: 7500 -> "7.5", 120000 -> "120".
fn decimal(milli: i64) -> String {
    crate::domain::invoice::format_quantity(milli)
}

fn date(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|d| d.date_naive().to_string())
        .unwrap_or_default()
}

fn pence(m: &Option<almo_proto::common::Money>) -> i64 {
    m.as_ref().map(|m| m.pence).unwrap_or(0)
}

/// The ledger rows of one feed event.
pub fn rows_of(e: &InvoiceFeedEntry) -> Vec<Row> {
    let Some(inv) = &e.invoice else {
        return Vec::new();
    };
    let head = |event: &str, doc: &str, issued: String| {
        [
            e.position.to_string(),
            event.to_string(),
            doc.to_string(),
            inv.invoice_number.clone(),
            inv.invoice_id.clone(),
            inv.customer_almo_id.clone(),
            inv.supplier_council_id.clone(),
            inv.period_label.clone(),
            issued,
        ]
    };
    let mut out = Vec::new();
    if e.kind == FeedEventKind::InvoiceIssued as i32 {
        for l in &inv.lines {
            let h = head("invoice", &inv.invoice_number, date(&inv.issue_time));
            out.push(row(
                h,
                l.line_number,
                kind(l.kind),
                l,
                pence(&l.net),
                pence(&l.vat),
            ));
        }
    } else if let Some(note) = inv
        .credit_notes
        .iter()
        .find(|n| n.credit_note_id == e.credit_note_id)
    {
        for cl in &note.lines {
            let Some(l) = inv
                .lines
                .iter()
                .find(|l| l.line_number == cl.invoice_line_number)
            else {
                continue;
            };
            let h = head(
                "credit_note",
                &note.credit_note_number,
                date(&note.issue_time),
            );
            out.push(row(
                h,
                l.line_number,
                "credit_note",
                l,
                -pence(&cl.net),
                -pence(&cl.vat),
            ));
        }
    }
    out
}

fn row(
    head: [String; 9],
    line_number: i32,
    kind: &str,
    l: &pb::InvoiceLine,
    net: i64,
    vat: i64,
) -> Row {
    // A usage row is its units at the unit price (the invoice rounded exactly that product); every
    // other row (an adjustment's usage line too) is one unit of its amount, so quantity × unit
    // price is the net on every row.
    let (quantity, unit_price) = if kind == "usage"
        && crate::domain::charging::usage_charge(l.quantity_milli, pence(&l.unit_price)) == net
    {
        (decimal(l.quantity_milli), pence(&l.unit_price))
    } else {
        ("1".to_string(), net)
    };
    let [a, b, c, d, e, f, g, h, i] = head;
    [
        a,
        b,
        c,
        d,
        e,
        f,
        g,
        h,
        i,
        line_number.to_string(),
        kind.to_string(),
        l.line_code.clone(),
        l.description.clone(),
        account(l.account).to_string(),
        net.to_string(),
        vat.to_string(),
        (net + vat).to_string(),
        vat_treatment(l.vat_treatment).to_string(),
        quantity,
        unit_price.to_string(),
    ]
}

/// Where the rows go: a CSV writer (the `csv` crate quotes what needs quoting) or JSON Lines.
enum Sink<'a, W: Write> {
    Csv(Box<::csv::Writer<&'a mut W>>),
    Json(&'a mut W),
    Parquet(&'a mut W, Box<almo_flight::ParquetFile>, Vec<Row>),
}

impl<'a, W: Write> Sink<'a, W> {
    /// Starts the file: CSV opens with its header row.
    fn new(out: &'a mut W, format: Format) -> anyhow::Result<Self> {
        Ok(match format {
            Format::Csv => {
                let mut w = csv::writer(out);
                w.write_record(COLUMNS)?;
                Sink::Csv(Box::new(w))
            }
            Format::Json => Sink::Json(out),
            Format::Parquet => Sink::Parquet(
                out,
                Box::new(almo_flight::ParquetFile::new(crate::invoice_lines_schema())?),
                Vec::new(),
            ),
        })
    }

    fn row(&mut self, r: &Row) -> anyhow::Result<()> {
        match self {
            Sink::Csv(w) => w.write_record(r)?,
            Sink::Json(out) => {
                let mut obj = serde_json::Map::new();
                for (k, v) in COLUMNS.iter().zip(r) {
                    let value = if NUMERIC.contains(k) {
                        v.parse::<i64>()
                            .map(serde_json::Value::from)
                            .unwrap_or_else(|_| v.clone().into())
                    } else {
                        v.clone().into()
                    };
                    obj.insert(k.to_string(), value);
                }
                writeln!(out, "{}", serde_json::Value::Object(obj))?;
            }
            Sink::Parquet(_, file, rows) => {
                rows.push(r.clone());
                if rows.len() >= almo_flight::BATCH_ROWS {
                    file.write(&crate::invoice_lines_batch(rows)?)?;
                    rows.clear();
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Csv(mut w) => w.flush()?,
            Sink::Json(out) => out.flush()?,
            Sink::Parquet(out, mut file, rows) => {
                if !rows.is_empty() {
                    file.write(&crate::invoice_lines_batch(&rows)?)?;
                }
                out.write_all(&file.finish()?)?;
                out.flush()?;
            }
        }
        Ok(())
    }
}

/// Pulls everything after `since` from the server at `endpoint` (with or without `http://`)
/// with `token`, writing rows to `out` and calling `progress(events so far)` after each batch
/// (e.g. `|n| bar.set_position(n)` with a bar from `almo_client::progress`).
pub async fn pull(
    endpoint: &str,
    token: &str,
    since: &str,
    almo: &str,
    format: Format,
    out: &mut impl Write,
    progress: impl FnMut(u64),
) -> anyhow::Result<Pulled> {
    let target = almo_client::Target::new(endpoint, token);
    pull_from(&target, since, almo, format, out, progress).await
}

/// [`pull`] from `target`, with its TLS settings (`--tls`, `--ca`, client certificates).
pub async fn pull_from(
    target: &almo_client::Target,
    since: &str,
    almo: &str,
    format: Format,
    out: &mut impl Write,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Pulled> {
    let mut client = SlaChargingServiceClient::new(target.channel().await?);
    let req = target.request(ExportInvoicesRequest {
        watermark: since.to_string(),
        customer_almo_id: almo.to_string(),
    })?;
    let mut stream = client
        .export_invoices(req)
        .await
        .map_err(almo_client::refusal)?
        .into_inner();
    let mut sink = Sink::new(out, format)?;
    let mut pulled = Pulled {
        watermark: since.to_string(),
        ..Default::default()
    };
    while let Some(batch) = stream.message().await.map_err(almo_client::refusal)? {
        for e in &batch.entries {
            for r in rows_of(e) {
                sink.row(&r)?;
                pulled.rows += 1;
            }
        }
        pulled.events += batch.entries.len() as u64;
        pulled.watermark = batch.watermark;
        progress(pulled.events);
    }
    sink.finish()?;
    Ok(pulled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_of(rows: &[Row]) -> String {
        let mut out = Vec::new();
        let mut sink = Sink::new(&mut out, Format::Csv).unwrap();
        for r in rows {
            sink.row(r).unwrap();
        }
        sink.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_fields_with_commas_quotes_or_line_breaks_are_quoted() {
        let mut r: Row = Default::default();
        r[0] = "1".into();
        r[11] = "IT support".into();
        r[12] = "Legal: 7.5 × hour, urgent".into();
        r[13] = "say \"hi\"".into();
        r[14] = "two\nlines".into();
        let text = csv_of(&[r]);
        let (header, row) = text.split_once('\n').unwrap();
        assert_eq!(header, COLUMNS.join(","));
        assert_eq!(
            row,
            "1,,,,,,,,,,,IT support,\"Legal: 7.5 × hour, urgent\",\"say \"\"hi\"\"\",\"two\nlines\",,,,,\n"
        );
    }

    #[test]
    fn what_is_written_reads_back_through_the_shared_reader() {
        let mut r: Row = Default::default();
        r[12] = "rent, arrears\r\nand \"more\"".into();
        let table = csv::read(csv_of(&[r.clone(), r.clone()]).as_bytes()).unwrap();
        assert_eq!(table.headers, COLUMNS);
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[1].line, 4);
        assert_eq!(table.rows[1].get(12), r[12]);
    }
}

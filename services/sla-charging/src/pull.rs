//! `almo invoices pull`: ALMO finance pulls every invoice issued or credited since its last
//! watermark into a file its ledger can load — one row per invoice line, credit-note lines as
//! negative rows — through the ExportInvoices stream.

use std::io::Write;

use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::{
    self as pb, ExportInvoicesRequest, FeedEventKind, InvoiceFeedEntry,
};
use anyhow::Context;
use tonic::metadata::MetadataValue;

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// JSON Lines: one object per row.
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            _ => Err(format!("{s:?}: csv or json")),
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

const COLUMNS: [&str; 16] = [
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
pub fn rows_of(e: &InvoiceFeedEntry) -> Vec<[String; 16]> {
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
) -> [String; 16] {
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
    ]
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_row(out: &mut impl Write, format: Format, r: &[String; 16]) -> std::io::Result<()> {
    match format {
        Format::Csv => writeln!(
            out,
            "{}",
            r.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",")
        ),
        Format::Json => {
            let mut obj = serde_json::Map::new();
            for (k, v) in COLUMNS.iter().zip(r) {
                let value = match *k {
                    "feed_position" | "line_number" | "net_pence" | "vat_pence" => v
                        .parse::<i64>()
                        .map(serde_json::Value::from)
                        .unwrap_or_else(|_| v.clone().into()),
                    _ => v.clone().into(),
                };
                obj.insert(k.to_string(), value);
            }
            writeln!(out, "{}", serde_json::Value::Object(obj))
        }
    }
}

/// Pulls everything after `since` from the server at `endpoint` with `token`, writing rows to
/// `out` and calling `progress(events so far)` after each batch.
pub async fn pull(
    endpoint: &str,
    token: &str,
    since: &str,
    almo: &str,
    format: Format,
    out: &mut impl Write,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Pulled> {
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_string())?
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("connecting to {endpoint}"))?;
    let mut client = SlaChargingServiceClient::new(channel);
    let mut req = tonic::Request::new(ExportInvoicesRequest {
        watermark: since.to_string(),
        customer_almo_id: almo.to_string(),
    });
    let bearer: MetadataValue<_> = format!("Bearer {token}").parse()?;
    req.metadata_mut().insert("authorization", bearer);
    let mut stream = client.export_invoices(req).await?.into_inner();
    if format == Format::Csv {
        writeln!(out, "{}", COLUMNS.join(","))?;
    }
    let mut pulled = Pulled {
        watermark: since.to_string(),
        ..Default::default()
    };
    while let Some(batch) = stream.message().await? {
        for e in &batch.entries {
            for r in rows_of(e) {
                write_row(out, format, &r)?;
                pulled.rows += 1;
            }
        }
        pulled.events += batch.entries.len() as u64;
        pulled.watermark = batch.watermark;
        progress(pulled.events);
    }
    out.flush()?;
    Ok(pulled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(csv_field("IT support"), "IT support");
        assert_eq!(
            csv_field("Legal: 7.5 × hour, urgent"),
            "\"Legal: 7.5 × hour, urgent\""
        );
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}

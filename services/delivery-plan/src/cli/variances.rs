//! `almo variances push FILE.csv`: a council system's figures for one plan, from a CSV file (see
//! [`super::variance_file`]), in one client-streaming push. Safe to re-run: each row carries the
//! sender's record id, so running the same file again changes nothing (and the report says so:
//! all rows unchanged), and a changed figure under the same id is recorded as a correction. A
//! push is all or nothing: if the connection drops, nothing of it was written and the file can
//! simply be pushed again.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use almo_client::Target;
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{PushVariancesRequest, PushVariancesResponse};
use anyhow::Context;

use super::variance_file::{BadRow, NumberedRecords, parse_csv};

/// What a push did, with refused rows by line number.
#[derive(Debug, Clone, PartialEq)]
pub struct PushReport {
    pub response: PushVariancesResponse,
    /// Rows refused by the server: (line, sender record id, field, reason).
    pub refused: Vec<(usize, String, String, String)>,
    /// Rows not sent because they could not be read.
    pub unreadable: Vec<BadRow>,
}

/// The push's messages: `batch` records each, the request id and plan in the first.
fn messages(records: &NumberedRecords, plan_id: &str, batch: usize) -> Vec<PushVariancesRequest> {
    // A new request id per run: a re-run is a new push whose report shows what changed.
    let request_id = format!("csv-{}", uuid::Uuid::new_v4());
    let mut messages: Vec<PushVariancesRequest> = records
        .chunks(batch.max(1))
        .map(|chunk| PushVariancesRequest {
            records: chunk.iter().map(|(_, r)| r.clone()).collect(),
            ..Default::default()
        })
        .collect();
    if messages.is_empty() {
        messages.push(PushVariancesRequest::default());
    }
    messages[0].request_id = request_id;
    messages[0].plan_id = plan_id.to_string();
    messages
}

/// Pushes `path` to `plan_id` at `target`: a progress bar on a terminal while the rows are
/// sent, then a line to `out` saying how many were sent.
pub async fn push_file(
    target: &Target,
    plan_id: &str,
    path: &Path,
    batch: usize,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<PushReport> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (records, unreadable) = parse_csv(&bytes).with_context(|| path.display().to_string())?;
    let mut client = DeliveryPlanServiceClient::new(target.channel().await?)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    let total = records.len();
    let bar = almo_client::progress(Some(total as u64), "rows sent");
    // Each message is counted as it is handed to the stream.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let stream = tokio_stream::iter(messages(&records, plan_id, batch).into_iter().inspect(
        move |m| {
            let _ = tx.send(m.records.len());
        },
    ));
    let request = target.request(stream)?;
    let call = tokio::spawn(async move { client.push_variances(request).await });
    let mut sent = 0usize;
    while let Some(n) = rx.recv().await {
        sent += n;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    let _ = writeln!(
        out,
        "{sent}/{total} rows sent; waiting for the server's answer"
    );
    let response = call
        .await
        .context("the push task failed")?
        .map_err(almo_client::refusal)?
        .into_inner();
    let refused = response
        .refusals
        .iter()
        .map(|r| {
            let line = records
                .get(r.index as usize)
                .map(|(line, _)| *line)
                .unwrap_or_default();
            (
                line,
                r.sender_record_id.clone(),
                r.field.clone(),
                r.reason.clone(),
            )
        })
        .collect();
    Ok(PushReport {
        response,
        refused,
        unreadable,
    })
}

/// Prints what a push did; the exit code is 0 when every row was taken, 2 when some were
/// refused or unreadable.
pub(super) fn print_report(report: &PushReport) -> ExitCode {
    let r = &report.response;
    println!(
        "{} rows received: {} new, {} corrected, {} unchanged, {} refused; {} unreadable",
        r.received,
        r.accepted,
        r.corrected,
        r.unchanged,
        r.refused,
        report.unreadable.len()
    );
    for bad in &report.unreadable {
        println!("{bad} (not sent)");
    }
    for (line, id, field, reason) in &report.refused {
        println!("line {line}, field {field}: {id}: {reason}");
    }
    for e in &r.exceptions_raised {
        println!(
            "exception raised: {} off track for {} periods",
            e.target_code, e.consecutive_periods
        );
    }
    if report.refused.is_empty() && report.unreadable.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

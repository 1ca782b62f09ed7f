//! `--format parquet` of the CLI's exports: the Flight dataset read with the command's filters
//! and written as one Parquet file (snappy), the same schema a Flight client gets.

use std::io::Write;
use std::path::Path;

use almo_client::{Target, refusal};
use almo_flight::Ticket;
use anyhow::Context;

/// The ticket of `dataset` for the financial year starting in `year`, with the filters given.
pub fn ticket<const N: usize>(
    dataset: &str,
    year: i32,
    filters: [(&str, Option<String>); N],
) -> Ticket {
    let year = almo_fields::financial_year_label(year);
    filters
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .fold(Ticket::new(dataset).with("year", year), |t, (k, v)| {
            t.with(k, v)
        })
}

/// Writes the dataset `ticket` selects to `out` (stdout when none) and says how many rows.
pub async fn write_parquet(
    target: &Target,
    ticket: &Ticket,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let channel = target.channel().await?;
    let (bytes, rows) = almo_flight::parquet_of(channel, &target.token, ticket)
        .await
        .map_err(refusal)?;
    match out {
        Some(path) => std::fs::write(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().lock().write_all(&bytes)?,
    }
    eprintln!("{rows} rows of {} written as Parquet", ticket.dataset);
    Ok(())
}

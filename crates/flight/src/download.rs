//! A dataset read over Flight into a Parquet file: what the CLI's `--format parquet` does, so
//! the file has exactly the dataset's schema and the rows the caller may read.

use arrow_flight::FlightClient;
use arrow_flight::error::FlightError;
use futures::TryStreamExt;
use tonic::Status;
use tonic::transport::Channel;

use crate::{ParquetFile, Ticket};

fn status(e: FlightError) -> Status {
    match e {
        FlightError::Tonic(s) => *s,
        other => Status::internal(other.to_string()),
    }
}

/// Reads `ticket` from the Flight endpoint on `channel` with the bearer `token` and returns the
/// Parquet file's bytes and its row count; a refusal is the server's status.
pub async fn parquet_of(
    channel: Channel,
    token: &str,
    ticket: &Ticket,
) -> Result<(Vec<u8>, u64), Status> {
    let mut client = FlightClient::new(channel);
    client
        .add_header("authorization", &format!("Bearer {token}"))
        .map_err(status)?;
    let info = client
        .get_flight_info(arrow_flight::FlightDescriptor::new_cmd(ticket.to_bytes()))
        .await
        .map_err(status)?;
    let schema = info
        .clone()
        .try_decode_schema()
        .map_err(|e| Status::internal(format!("the server's schema: {e}")))?;
    let mut file = ParquetFile::new(schema.into()).map_err(|e| Status::internal(e.to_string()))?;
    let mut batches = client
        .do_get(arrow_flight::Ticket::new(ticket.to_bytes()))
        .await
        .map_err(status)?;
    while let Some(batch) = batches.try_next().await.map_err(status)? {
        file.write(&batch)
            .map_err(|e| Status::internal(e.to_string()))?;
    }
    let rows = file.rows();
    let bytes = file.finish().map_err(|e| Status::internal(e.to_string()))?;
    Ok((bytes, rows))
}

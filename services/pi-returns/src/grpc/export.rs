//! `ExportReturns`' rows into messages: one streamed statement ([`storage::export_statement`]),
//! each row's columns read by index straight into the `PiReturn` and `ReturnValue` it sends.
//!
//! The statement fixes every column and its type, so the columns are read without the driver's
//! per-column type check (`try_get_unchecked`), text as borrowed `&str` where the message does
//! not keep it (the return id of every row, status, period kind, survey method, warnings), and
//! PostgreSQL's timestamps straight from their wire form into protobuf timestamps.

use std::sync::Arc;

use almo_fields as fields;
use almo_proto::common;
use almo_proto::pi_returns as pb;
use almo_server::timestamp as ts;
use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use prost_types::Timestamp;
use sea_orm::sqlx::postgres::{PgRow, PgValueFormat};
use sea_orm::sqlx::sqlite::SqliteRow;
use sea_orm::sqlx::{self, Row, ValueRef};
use sea_orm::{DbErr, RuntimeErr, StreamTrait};
use tonic::Status;

use super::convert::{status_to_proto, survey_method_to_proto};
use crate::storage::EXPORT_VALUE_AT;

/// Returns per message of an export.
const EXPORT_BATCH: usize = 500;

type Sender = tokio::sync::mpsc::Sender<Result<pb::ExportReturnsResponse, Status>>;

/// Reads the export as one statement, each row decoded straight into its return, and sends the
/// returns [`EXPORT_BATCH`] to a message, the last one shorter; no message when nothing matches.
/// Stops when the client goes away.
pub(super) async fn export(
    db: almo_db::Db,
    stmt: sea_orm::Statement,
    total: i64,
    tx: &Sender,
) -> Result<(), DbErr> {
    let mut rows = db.conn().stream_raw(stmt).await?;
    let mut out = Batches::default();
    while let Some(row) = rows.next().await {
        let row = row?;
        let added = if let Some(r) = row.try_as_pg_row() {
            out.add(r)
        } else if let Some(r) = row.try_as_sqlite_row() {
            out.add(r)
        } else {
            return Err(DbErr::Custom(
                "export: a row of neither PostgreSQL nor SQLite".into(),
            ));
        };
        added.map_err(|e| DbErr::Query(RuntimeErr::SqlxError(Arc::new(e))))?;
        if out.batch.len() == EXPORT_BATCH {
            let msg = pb::ExportReturnsResponse {
                pi_returns: std::mem::replace(&mut out.batch, Vec::with_capacity(EXPORT_BATCH)),
                total_returns: total,
            };
            if tx.send(Ok(msg)).await.is_err() {
                return Ok(()); // the client went away
            }
        }
    }
    out.batch.extend(out.open.take());
    if !out.batch.is_empty() {
        let _ = tx
            .send(Ok(pb::ExportReturnsResponse {
                pi_returns: out.batch,
                total_returns: total,
            }))
            .await;
    }
    Ok(())
}

/// The returns read so far: the full ones of the next message, and the one whose values are
/// still being read.
struct Batches {
    batch: Vec<pb::PiReturn>,
    open: Option<pb::PiReturn>,
    /// The last deadline and its text: most returns of an export share a few deadlines.
    deadline: Option<(NaiveDate, String)>,
}

impl Default for Batches {
    fn default() -> Self {
        Batches {
            batch: Vec::with_capacity(EXPORT_BATCH),
            open: None,
            deadline: None,
        }
    }
}

impl Batches {
    /// One row: a value of the open return, or a new return (and its first value, if any).
    fn add<R: ExportRow>(&mut self, row: &R) -> Result<(), sqlx::Error> {
        let id = row.text(0)?;
        if let Some(open) = &mut self.open
            && open.id == id
        {
            open.values.extend(value(row)?);
            return Ok(());
        }
        let mut r = self.new_return(row, id)?;
        r.values.extend(value(row)?);
        self.batch.extend(self.open.replace(r));
        Ok(())
    }

    /// The return of a row, its id already read (columns as `storage::EXPORT_RETURN_COLUMNS`).
    fn new_return<R: ExportRow>(&mut self, row: &R, id: &str) -> Result<pb::PiReturn, sqlx::Error> {
        let kind = match row.text(3)? {
            "quarter" => common::PeriodKind::Quarter,
            _ => common::PeriodKind::Year,
        };
        let date = row.date(6)?;
        if self.deadline.as_ref().is_none_or(|(d, _)| *d != date) {
            self.deadline = Some((date, date.to_string()));
        }
        let deadline_date = self.deadline.as_ref().map(|(_, text)| text.clone());
        let survey = match row.opt_int(14)? {
            Some(n) => Some(pb::TenantSurvey {
                sample_size: n,
                method: survey_method_to_proto(row.opt_text(15)?) as i32,
                ..Default::default()
            }),
            None => None,
        };
        Ok(pb::PiReturn {
            id: id.to_string(),
            organisation_id: row.text(1)?.to_string(),
            period: Some(common::Period {
                year: Some(common::FinancialYear {
                    start_year: row.int(2)?,
                }),
                kind: kind as i32,
                number: row.int(4)?,
            }),
            status: status_to_proto(row.text(5)?) as i32,
            values: Vec::new(),
            history: Vec::new(),
            deadline_date: deadline_date.unwrap_or_default(),
            late: row.flag(7)?,
            submitted_by: row.opt_text(8)?.unwrap_or_default().to_string(),
            submit_time: row.timestamp(9)?,
            signed_off_by: row.opt_text(10)?.unwrap_or_default().to_string(),
            sign_off_time: row.timestamp(11)?,
            returned_reason: row.opt_text(12)?.unwrap_or_default().to_string(),
            revision: row.int(13)?,
            etag: fields::etag(row.long(16)?),
            create_time: row.timestamp(17)?,
            update_time: row.timestamp(18)?,
            survey,
            surveys: Vec::new(),
            covers_from: String::new(),
            covers_to: String::new(),
            authority_figures: Vec::new(),
            authority_not_combined: Vec::new(),
        })
    }
}

/// The value of a row (columns as `storage::EXPORT_VALUE_COLUMNS`), or none for a return without values.
fn value<R: ExportRow>(row: &R) -> Result<Option<pb::ReturnValue>, sqlx::Error> {
    const AT: usize = EXPORT_VALUE_AT;
    let Some(code) = row.opt_text(AT)? else {
        return Ok(None);
    };
    let warnings = row.text(AT + 6)?;
    Ok(Some(pb::ReturnValue {
        indicator_code: code.to_string(),
        split: row.text(AT + 1)?.to_string(),
        sequence: row.int(AT + 2)?,
        value: row.real(AT + 3)?,
        numerator: row.opt_real(AT + 4)?,
        denominator: row.opt_real(AT + 5)?,
        warnings: if warnings.is_empty() {
            Vec::new()
        } else {
            warnings
                .lines()
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        },
        explanation: row.text(AT + 7)?.to_string(),
        revision_reason: row.text(AT + 8)?.to_string(),
        changed_by: row.text(AT + 9)?.to_string(),
        change_time: row.timestamp(AT + 10)?,
        current: row.flag(AT + 11)?,
    }))
}

/// An export row of either database, its columns read by index without a type check.
trait ExportRow: Row {
    fn text(&self, i: usize) -> Result<&str, sqlx::Error>;
    fn opt_text(&self, i: usize) -> Result<Option<&str>, sqlx::Error>;
    fn int(&self, i: usize) -> Result<i32, sqlx::Error>;
    fn opt_int(&self, i: usize) -> Result<Option<i32>, sqlx::Error>;
    fn long(&self, i: usize) -> Result<i64, sqlx::Error>;
    fn real(&self, i: usize) -> Result<f64, sqlx::Error>;
    fn opt_real(&self, i: usize) -> Result<Option<f64>, sqlx::Error>;
    fn flag(&self, i: usize) -> Result<bool, sqlx::Error>;
    fn date(&self, i: usize) -> Result<NaiveDate, sqlx::Error>;
    fn timestamp(&self, i: usize) -> Result<Option<Timestamp>, sqlx::Error>;
}

macro_rules! export_row_columns {
    () => {
        fn text(&self, i: usize) -> Result<&str, sqlx::Error> {
            self.try_get_unchecked(i)
        }
        fn opt_text(&self, i: usize) -> Result<Option<&str>, sqlx::Error> {
            self.try_get_unchecked(i)
        }
        fn int(&self, i: usize) -> Result<i32, sqlx::Error> {
            self.try_get_unchecked(i)
        }
        fn opt_int(&self, i: usize) -> Result<Option<i32>, sqlx::Error> {
            self.try_get_unchecked(i)
        }
        fn long(&self, i: usize) -> Result<i64, sqlx::Error> {
            self.try_get_unchecked(i)
        }
        fn real(&self, i: usize) -> Result<f64, sqlx::Error> {
            self.try_get_unchecked(i)
        }
        fn opt_real(&self, i: usize) -> Result<Option<f64>, sqlx::Error> {
            self.try_get_unchecked(i)
        }
        fn flag(&self, i: usize) -> Result<bool, sqlx::Error> {
            self.try_get_unchecked(i)
        }
        fn date(&self, i: usize) -> Result<NaiveDate, sqlx::Error> {
            self.try_get_unchecked(i)
        }
    };
}

impl ExportRow for PgRow {
    export_row_columns!();

    /// A `timestamptz` in PostgreSQL's binary form is the microseconds since
    /// 2000-01-01T00:00:00Z, 946,684,800 seconds after the Unix epoch.
    fn timestamp(&self, i: usize) -> Result<Option<Timestamp>, sqlx::Error> {
        let v = self.try_get_raw(i)?;
        if v.is_null() {
            return Ok(None);
        }
        if v.format() == PgValueFormat::Binary
            && let Ok(bytes) = v.as_bytes()
            && let Ok(bytes) = <[u8; 8]>::try_from(bytes)
        {
            let micros = i64::from_be_bytes(bytes);
            return Ok(Some(Timestamp {
                seconds: micros.div_euclid(1_000_000) + 946_684_800,
                nanos: (micros.rem_euclid(1_000_000) * 1_000) as i32,
            }));
        }
        self.try_get_unchecked::<DateTime<Utc>, _>(i)
            .map(|t| Some(ts(t)))
    }
}

impl ExportRow for SqliteRow {
    export_row_columns!();

    fn timestamp(&self, i: usize) -> Result<Option<Timestamp>, sqlx::Error> {
        Ok(self
            .try_get_unchecked::<Option<DateTime<Utc>>, _>(i)?
            .map(ts))
    }
}

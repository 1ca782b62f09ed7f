//! The write path every service uses: one transaction, the idempotency key claimed inside it, an
//! audit row and the stored response written in the same transaction.
//!
//! ```text
//! match db_begin_idempotent(...) {
//!     Begun::Replay(response) => return Ok(response),       // a retry: the first answer
//!     Begun::Fresh(write) => { ...change rows through write.txn()...; write.finish(&resp, target) }
//! }
//! ```
//!
//! The claim is an `INSERT .. ON CONFLICT DO NOTHING` on (organisation, subject, method, request
//! id). On PostgreSQL a concurrent retry blocks on the first one's uncommitted row, then sees it
//! committed and replays it; on SQLite writes are serialised by `BEGIN IMMEDIATE`.

use chrono::Utc;
use prost::Message;
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, Set,
};
use sha2::{Digest, Sha256};

use crate::Db;
use crate::entity::{audit_log, idempotency_key};

/// Who is writing, through which call, under which request id.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub subject: String,
    pub organisation_id: String,
    pub role: String,
    /// The full gRPC method path.
    pub method: String,
    pub request_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("request_id is required on every write")]
    MissingRequestId,
    #[error("request_id {0:?} was already used for a different request")]
    RequestIdReused(String),
    #[error("the stored response for request_id {0:?} cannot be decoded")]
    CorruptReplay(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The outcome of starting an idempotent write.
pub enum Begun<R> {
    /// The same request was answered before: this is that answer. Nothing was written.
    Replay(R),
    /// A new request: change rows through [`PendingWrite::txn`], then [`PendingWrite::finish`].
    Fresh(PendingWrite),
}

/// An open write transaction that has claimed its request id.
pub struct PendingWrite {
    txn: DatabaseTransaction,
    ctx: CallContext,
}

/// A stable hash of the method and the encoded request.
pub fn payload_hash(method: &str, payload: &impl Message) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0u8]);
    h.update(payload.encode_to_vec());
    hex::encode(h.finalize())
}

impl Db {
    /// Opens a write transaction and claims `ctx.request_id` for `payload`.
    pub async fn begin_idempotent<R: Message + Default>(
        &self,
        ctx: &CallContext,
        payload: &impl Message,
    ) -> Result<Begun<R>, WriteError> {
        if ctx.request_id.trim().is_empty() {
            return Err(WriteError::MissingRequestId);
        }
        let hash = payload_hash(&ctx.method, payload);
        let txn = self.begin_write().await?;
        let claim = Query::insert()
            .into_table(idempotency_key::Entity)
            .columns([
                idempotency_key::Column::OrganisationId,
                idempotency_key::Column::Subject,
                idempotency_key::Column::Method,
                idempotency_key::Column::RequestId,
                idempotency_key::Column::PayloadHash,
                idempotency_key::Column::CreatedAt,
            ])
            .values_panic([
                ctx.organisation_id.clone().into(),
                ctx.subject.clone().into(),
                ctx.method.clone().into(),
                ctx.request_id.clone().into(),
                hash.clone().into(),
                Utc::now().into(),
            ])
            .on_conflict(
                OnConflict::columns([
                    idempotency_key::Column::OrganisationId,
                    idempotency_key::Column::Subject,
                    idempotency_key::Column::Method,
                    idempotency_key::Column::RequestId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .to_owned();
        let inserted = txn.execute(&claim).await?.rows_affected();
        if inserted == 1 {
            return Ok(Begun::Fresh(PendingWrite {
                txn,
                ctx: ctx.clone(),
            }));
        }
        let existing = idempotency_key::Entity::find()
            .filter(idempotency_key::Column::OrganisationId.eq(&ctx.organisation_id))
            .filter(idempotency_key::Column::Subject.eq(&ctx.subject))
            .filter(idempotency_key::Column::Method.eq(&ctx.method))
            .filter(idempotency_key::Column::RequestId.eq(&ctx.request_id))
            .one(&txn)
            .await?;
        txn.rollback().await?;
        let Some(existing) = existing else {
            // The claim conflicted but the row is gone: the other transaction rolled back
            // between our insert and our read. Ask the client to retry.
            return Err(WriteError::Db(DbErr::Custom(
                "concurrent request with the same request_id; retry".into(),
            )));
        };
        if existing.payload_hash != hash {
            return Err(WriteError::RequestIdReused(ctx.request_id.clone()));
        }
        let bytes = existing.response.unwrap_or_default();
        R::decode(bytes.as_slice())
            .map(Begun::Replay)
            .map_err(|_| WriteError::CorruptReplay(ctx.request_id.clone()))
    }
}

impl PendingWrite {
    /// The transaction to write through.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    pub fn context(&self) -> &CallContext {
        &self.ctx
    }

    /// Writes the audit row and the response to replay, then commits.
    pub async fn finish<R: Message>(self, response: &R, target: &str) -> Result<(), DbErr> {
        self.record(response, target).await?;
        self.txn.commit().await
    }

    /// Writes the audit row and the response but leaves the transaction open (tests, and
    /// callers that must do more after).
    pub async fn record<R: Message>(&self, response: &R, target: &str) -> Result<(), DbErr> {
        write_audit(&self.txn, &self.ctx, target).await?;
        let update = Query::update()
            .table(idempotency_key::Entity)
            .value(idempotency_key::Column::Response, response.encode_to_vec())
            .and_where(idempotency_key::Column::OrganisationId.eq(&self.ctx.organisation_id))
            .and_where(idempotency_key::Column::Subject.eq(&self.ctx.subject))
            .and_where(idempotency_key::Column::Method.eq(&self.ctx.method))
            .and_where(idempotency_key::Column::RequestId.eq(&self.ctx.request_id))
            .to_owned();
        self.txn.execute(&update).await?;
        Ok(())
    }

    /// Abandons the write: nothing of it stays, the request id included.
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

/// Writes one audit row inside `txn`.
pub async fn write_audit(
    txn: &DatabaseTransaction,
    ctx: &CallContext,
    target: &str,
) -> Result<(), DbErr> {
    audit_log::Entity::insert(audit_log::ActiveModel {
        at: Set(Utc::now()),
        subject: Set(ctx.subject.clone()),
        organisation_id: Set(ctx.organisation_id.clone()),
        role: Set(ctx.role.clone()),
        method: Set(ctx.method.clone()),
        request_id: Set(ctx.request_id.clone()),
        target: Set(target.to_string()),
        ..Default::default()
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

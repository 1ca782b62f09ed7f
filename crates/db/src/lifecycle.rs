//! The outbox of ALMO lifecycle events, and the cursors of those who act on them.
//!
//! The directory writes an event in the transaction of the change it describes ([`append`]), so
//! an event exists exactly when its change does. Ids are handed out in commit order (the writer
//! holds the table's write lock until it commits), so a reader that has seen id `n` never later
//! finds a smaller one: "everything after n" is a complete resume point for watchers and
//! consumers alike.
//!
//! A consumer (a service acting on the events) keeps its place in `event_cursors`: it locks its
//! cursor row ([`claim_cursor`]), applies the events after it and moves it ([`advance_cursor`])
//! in the same transaction. Two replicas of one consumer queue on the row lock, and the second
//! finds the cursor already moved; a consumer stopped halfway rolls back and resumes from the
//! cursor.

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::Value;

use crate::entity::{event_cursor, lifecycle_event};

/// What happened, as stored in `lifecycle_events.kind`.
pub mod kind {
    /// An options review of the ALMO started (payload: review_no, started_on).
    pub const OPTIONS_REVIEW_STARTED: &str = "options_review_started";
    /// The Department was told of the review (002 §15; payload: review_no, notified_on).
    pub const DEPARTMENT_NOTIFIED: &str = "department_notified";
    /// Tenants' opinion was tested (payload: method, dates, eligible, responses, in_favour).
    pub const OPINION_TESTED: &str = "opinion_tested";
    /// The council decided (payload: review_no, decision take_back|retain, decided_on).
    pub const DECISION_RECORDED: &str = "decision_recorded";
    /// The ALMO's end date was set or moved (payload: end_date, previous_end_date).
    pub const END_DATE_SET: &str = "end_date_set";
    /// Go-live recorded or moved (payload: go_live_date).
    pub const GO_LIVE_SET: &str = "go_live_set";
    /// The management agreement was extended (payload: agreement_end_date).
    pub const AGREEMENT_EXTENDED: &str = "agreement_extended";
}

/// The wake-up topic and key of new lifecycle events (`crate::notify`): one key, since watchers
/// filter the events themselves.
pub const TOPIC: &str = "lifecycle_events";
pub const KEY: &str = "all";

/// Appends an event inside `txn`, the transaction of the change; returns its id. Watchers on
/// every replica are woken when it commits (PostgreSQL; the poll elsewhere).
pub async fn append(
    txn: &DatabaseTransaction,
    organisation_id: &str,
    council_id: Option<&str>,
    kind: &str,
    payload: &Value,
) -> Result<i64, DbErr> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        // Held to commit: the next writer takes MAX(id) after this one's row is visible, so ids
        // commit in order. Readers are not blocked. (SQLite writers are serialised already.)
        txn.execute_unprepared("LOCK TABLE lifecycle_events IN SHARE ROW EXCLUSIVE MODE")
            .await?;
    }
    let id = last_id(txn).await? + 1;
    lifecycle_event::Entity::insert(lifecycle_event::ActiveModel {
        id: Set(id),
        organisation_id: Set(organisation_id.to_string()),
        council_id: Set(council_id.map(str::to_string)),
        kind: Set(kind.to_string()),
        payload: Set(payload.to_string()),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(txn)
    .await?;
    crate::notify::notify(txn, TOPIC, KEY).await?;
    Ok(id)
}

/// The newest event's id; 0 when there is none.
pub async fn last_id(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let max: Option<Option<i64>> = lifecycle_event::Entity::find()
        .select_only()
        .column_as(lifecycle_event::Column::Id.max(), "max")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

/// Up to `limit` events after id `after`, oldest first; only those about `organisations` when
/// given (`None`: every organisation's).
pub async fn after(
    conn: &impl ConnectionTrait,
    after: i64,
    organisations: Option<&[String]>,
    limit: u64,
) -> Result<Vec<lifecycle_event::Model>, DbErr> {
    let mut q = lifecycle_event::Entity::find().filter(lifecycle_event::Column::Id.gt(after));
    if let Some(orgs) = organisations {
        q = q.filter(lifecycle_event::Column::OrganisationId.is_in(orgs.iter().cloned()));
    }
    q.order_by_asc(lifecycle_event::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

/// The payload of [`kind::END_DATE_SET`].
pub fn end_date_payload(end: Option<NaiveDate>, previous: Option<NaiveDate>) -> Value {
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    serde_json::json!({"end_date": date(end), "previous_end_date": date(previous)})
}

/// A date field of an event's payload.
pub fn payload_date(event: &lifecycle_event::Model, field: &str) -> Option<NaiveDate> {
    let v: Value = serde_json::from_str(&event.payload).ok()?;
    v.get(field)?.as_str()?.parse().ok()
}

/// Locks `consumer`'s cursor row for the rest of `txn` (creating it at 0) and returns where it
/// stands.
pub async fn claim_cursor(txn: &DatabaseTransaction, consumer: &str) -> Result<i64, DbErr> {
    let create = Query::insert()
        .into_table(event_cursor::Entity)
        .columns([
            event_cursor::Column::Consumer,
            event_cursor::Column::LastEventId,
            event_cursor::Column::UpdatedAt,
        ])
        .values_panic([consumer.into(), 0i64.into(), Utc::now().into()])
        .on_conflict(
            OnConflict::column(event_cursor::Column::Consumer)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    txn.execute(&create).await?;
    let row = event_cursor::Entity::find_by_id(consumer.to_string())
        .lock_exclusive()
        .one(txn)
        .await?;
    Ok(row.map(|r| r.last_event_id).unwrap_or(0))
}

/// Moves `consumer`'s cursor to `event_id` inside `txn`.
pub async fn advance_cursor(
    txn: &DatabaseTransaction,
    consumer: &str,
    event_id: i64,
) -> Result<(), DbErr> {
    event_cursor::Entity::update_many()
        .col_expr(event_cursor::Column::LastEventId, Expr::value(event_id))
        .col_expr(event_cursor::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(event_cursor::Column::Consumer.eq(consumer))
        .exec(txn)
        .await?;
    Ok(())
}

/// Events a consumer applies per transaction.
const CONSUME_BATCH: u64 = 200;

/// Applies the events `consumer` has not applied yet with `apply`, a batch per transaction: the
/// cursor row is locked ([`claim_cursor`]), each event applied in that transaction and the
/// cursor moved ([`advance_cursor`]) before it commits. Returns how many events it read. Safe to
/// run on every replica at once: a second replica queues on the cursor row and finds it moved.
pub async fn consume<F>(db: &crate::Db, consumer: &str, mut apply: F) -> Result<usize, DbErr>
where
    F: AsyncFnMut(&DatabaseTransaction, &lifecycle_event::Model) -> Result<(), DbErr>,
{
    let mut total = 0;
    loop {
        // A look without the write lock first: most looks find nothing new.
        let seen = event_cursor::Entity::find_by_id(consumer.to_string())
            .one(db.conn())
            .await?
            .map_or(0, |c| c.last_event_id);
        if last_id(db.conn()).await? <= seen {
            return Ok(total);
        }
        let txn = db.begin_write().await?;
        let cursor = claim_cursor(&txn, consumer).await?;
        let events = after(&txn, cursor, None, CONSUME_BATCH).await?;
        for event in &events {
            apply(&txn, event).await?;
        }
        if let Some(last) = events.last() {
            advance_cursor(&txn, consumer, last.id).await?;
        }
        txn.commit().await?;
        total += events.len();
        if events.len() < CONSUME_BATCH as usize {
            return Ok(total);
        }
    }
}

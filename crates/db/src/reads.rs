//! The rows of [`Db::read_all`](crate::Db::read_all), and the inline SQLite reader behind it.
//!
//! On a SQLite file, `read_all` runs its statement on the calling task: a direct, read-only
//! connection to the same file (WAL, so it never waits for a writer), its prepared statements
//! cached, taken under a std mutex for the few microseconds SQLite needs to read a few rows by
//! key. sqlx runs each SQLite statement on the connection's worker thread, and the hand-off there
//! and back (two futex wake-ups) costs more than such a read itself. Each statement still reads
//! the database as it is at that moment (autocommit: a fresh WAL snapshot per statement).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use rusqlite::types::Value as Lite;
use rusqlite::{Connection, OpenFlags};
use sea_orm::{DbErr, QueryResult, RuntimeErr, Statement, TryGetable, Value};

use crate::entity::organisation;

/// One row of [`Db::read_all`](crate::Db::read_all): a driver row, or one read inline from SQLite.
#[derive(Debug)]
pub enum ReadRow {
    Driver(QueryResult),
    Inline(InlineRow),
}

/// A row read inline from SQLite: its column names (shared by the statement's rows) and values.
#[derive(Debug)]
pub struct InlineRow {
    columns: Arc<[String]>,
    values: Vec<Lite>,
}

impl From<QueryResult> for ReadRow {
    fn from(r: QueryResult) -> Self {
        ReadRow::Driver(r)
    }
}

impl ReadRow {
    /// The value of column `col`, as `T`.
    pub fn get<T: ReadValue>(&self, col: &str) -> Result<T, DbErr> {
        match self {
            ReadRow::Driver(r) => r.try_get("", col),
            ReadRow::Inline(r) => {
                let i = r
                    .columns
                    .iter()
                    .position(|c| c == col)
                    .ok_or_else(|| type_err(col, "no such column"))?;
                T::from_lite(&r.values[i], col)
            }
        }
    }
}

fn type_err(col: &str, what: &str) -> DbErr {
    DbErr::Type(format!("column {col:?}: {what}"))
}

/// A column type [`ReadRow::get`] decodes, from a driver row or from SQLite's own value.
pub trait ReadValue: TryGetable + Sized {
    fn from_lite(v: &Lite, col: &str) -> Result<Self, DbErr>;
}

impl ReadValue for String {
    fn from_lite(v: &Lite, col: &str) -> Result<Self, DbErr> {
        match v {
            Lite::Text(s) => Ok(s.clone()),
            _ => Err(type_err(col, "not text")),
        }
    }
}

impl ReadValue for i64 {
    fn from_lite(v: &Lite, col: &str) -> Result<Self, DbErr> {
        match v {
            Lite::Integer(i) => Ok(*i),
            _ => Err(type_err(col, "not an integer")),
        }
    }
}

impl ReadValue for i32 {
    fn from_lite(v: &Lite, col: &str) -> Result<Self, DbErr> {
        i64::from_lite(v, col)?
            .try_into()
            .map_err(|_| type_err(col, "out of range for i32"))
    }
}

impl ReadValue for NaiveDate {
    fn from_lite(v: &Lite, col: &str) -> Result<Self, DbErr> {
        match v {
            Lite::Text(s) => {
                NaiveDate::parse_from_str(s, "%F").map_err(|e| type_err(col, &e.to_string()))
            }
            _ => Err(type_err(col, "not a date")),
        }
    }
}

impl ReadValue for DateTime<Utc> {
    fn from_lite(v: &Lite, col: &str) -> Result<Self, DbErr> {
        match v {
            Lite::Text(s) => datetime_from_text(s)
                .map(|d| d.with_timezone(&Utc))
                .ok_or_else(|| type_err(col, "not a timestamp")),
            Lite::Integer(secs) => DateTime::from_timestamp(*secs, 0)
                .ok_or_else(|| type_err(col, "timestamp out of range")),
            _ => Err(type_err(col, "not a timestamp")),
        }
    }
}

impl<T: ReadValue> ReadValue for Option<T> {
    fn from_lite(v: &Lite, col: &str) -> Result<Self, DbErr> {
        match v {
            Lite::Null => Ok(None),
            v => T::from_lite(v, col).map(Some),
        }
    }
}

/// A timestamp as sqlx writes one to SQLite (RFC 3339) or as SQLite's own functions do.
fn datetime_from_text(s: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d);
    }
    for f in ["%F %T%.f%:z", "%F %T%.fZ", "%FT%T%.f%:z"] {
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Some(d);
        }
    }
    ["%F %T%.f", "%FT%T%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|d| d.and_utc().fixed_offset())
}

/// A directory row from a [`ReadRow`] holding every `organisations` column.
pub fn organisation_of(r: &ReadRow) -> Result<organisation::Model, DbErr> {
    Ok(organisation::Model {
        id: r.get("id")?,
        name: r.get("name")?,
        kind: r.get("kind")?,
        authority_type: r.get("authority_type")?,
        region: r.get("region")?,
        council_id: r.get("council_id")?,
        section27_consent_date: r.get("section27_consent_date")?,
        go_live_date: r.get("go_live_date")?,
        agreement_end_date: r.get("agreement_end_date")?,
        end_date: r.get("end_date")?,
        stock_size: r.get("stock_size")?,
        version: r.get("version")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

/// Read-only connections to a SQLite file, for statements run on the calling task.
pub(crate) struct InlineReads {
    slots: Vec<Mutex<Option<Connection>>>,
    next: AtomicUsize,
    file: std::path::PathBuf,
}

impl std::fmt::Debug for InlineReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineReads")
            .field("slots", &self.slots.len())
            .field("file", &self.file)
            .finish()
    }
}

/// How long an inline read waits on SQLite's locks (in WAL mode a reader waits only while the
/// log is being recovered or reset), blocking its thread.
const BUSY: Duration = Duration::from_millis(200);

/// Prepared statements kept per connection: the reads differ by their number of keys.
const STATEMENTS: usize = 32;

fn lite_err(e: rusqlite::Error) -> DbErr {
    DbErr::Query(RuntimeErr::Internal(format!("SQLite: {e}")))
}

impl InlineReads {
    pub(crate) fn new(file: &Path, slots: usize) -> Self {
        Self {
            slots: (0..slots.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            file: file.to_path_buf(),
        }
    }

    fn open(&self) -> Result<Connection, DbErr> {
        let conn = Connection::open_with_flags(
            &self.file,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(lite_err)?;
        conn.busy_timeout(BUSY).map_err(lite_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS);
        Ok(conn)
    }

    /// Runs `stmt` (values: strings and integers) on the first free connection.
    pub(crate) fn read(&self, stmt: &Statement) -> Result<Vec<ReadRow>, DbErr> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let free = (0..n).find_map(|i| self.slots[(start + i) % n].try_lock().ok());
        let mut guard = match free {
            Some(g) => g,
            // Every connection busy: wait for one (held for microseconds, never across an await).
            None => self.slots[start].lock().unwrap_or_else(|p| p.into_inner()),
        };
        let conn = match &mut *guard {
            Some(c) => c,
            None => guard.insert(self.open()?),
        };
        let result = run(conn, stmt);
        if result.is_err() {
            // Do not keep a connection that failed: the next read opens a fresh one.
            *guard = None;
        }
        result
    }
}

fn run(conn: &Connection, stmt: &Statement) -> Result<Vec<ReadRow>, DbErr> {
    let mut prepared = conn.prepare_cached(&stmt.sql).map_err(lite_err)?;
    let values = stmt.values.as_ref().map(|v| v.0.as_slice()).unwrap_or(&[]);
    for (i, v) in values.iter().enumerate() {
        let at = i + 1;
        match v {
            Value::String(Some(s)) => prepared.raw_bind_parameter(at, s.as_str()),
            Value::BigInt(Some(x)) => prepared.raw_bind_parameter(at, x),
            Value::Int(Some(x)) => prepared.raw_bind_parameter(at, x),
            Value::String(None) | Value::BigInt(None) | Value::Int(None) => {
                prepared.raw_bind_parameter(at, rusqlite::types::Null)
            }
            other => {
                return Err(DbErr::Custom(format!(
                    "read_all binds strings and integers, not {other:?}"
                )));
            }
        }
        .map_err(lite_err)?;
    }
    let columns: Arc<[String]> = prepared
        .column_names()
        .into_iter()
        .map(String::from)
        .collect();
    let width = columns.len();
    let mut rows = prepared.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(lite_err)? {
        let values = (0..width)
            .map(|i| row.get::<_, Lite>(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(lite_err)?;
        out.push(ReadRow::Inline(InlineRow {
            columns: columns.clone(),
            values,
        }));
    }
    Ok(out)
}

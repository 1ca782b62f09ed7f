//! Rows the PI benches load straight into the tables (the figures a bench reads back, not the
//! write path it measures), and the plain SQL reads they measure the service against.

use almo_db::entity::{organisation, pi_return};
use almo_db::{Backend, Db};
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use sea_orm::Set;
use sea_orm::sqlx::{self, AssertSqlSafe, Row};

/// A signed-off annual return `id` of `organisation_id` for `year`, as sign-off leaves it.
pub fn signed_off_annual(
    id: String,
    organisation_id: String,
    year: i32,
    now: DateTime<Utc>,
) -> pi_return::ActiveModel {
    pi_return::ActiveModel {
        id: Set(id),
        organisation_id: Set(organisation_id),
        year: Set(year),
        period_kind: Set("year".into()),
        period_number: Set(1),
        status: Set("signed_off".into()),
        deadline_date: Set(NaiveDate::from_ymd_opt(year + 1, 6, 30).expect("a date")),
        late: Set(false),
        submitted_by: Set(Some("officer".into())),
        submitted_at: Set(Some(now)),
        signed_off_by: Set(Some("certifier".into())),
        signed_off_at: Set(Some(now)),
        returned_reason: Set(None),
        revision: Set(0),
        survey_sample_size: Set(None),
        survey_method: Set(None),
        created_by: Set("officer".into()),
        version: Set(3),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// A directory entry `id` of `kind` (and authority type `ty`), with no ALMO dates.
pub fn organisation(
    id: String,
    kind: &str,
    ty: Option<&str>,
    now: DateTime<Utc>,
) -> organisation::ActiveModel {
    organisation::ActiveModel {
        name: Set(format!("Bench {id}")),
        id: Set(id),
        kind: Set(kind.into()),
        authority_type: Set(ty.map(String::from)),
        region: Set(None),
        council_id: Set(None),
        section27_consent_date: Set(None),
        go_live_date: Set(None),
        agreement_end_date: Set(None),
        end_date: Set(None),
        stock_size: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// How a plain read decodes a column: sqlx's checked `try_get` into the type an analyst's reader
/// would ask for (`Opt…` where the column is nullable or comes from the outer side of a join).
#[derive(Debug, Clone, Copy)]
pub enum Col {
    Text,
    OptText,
    Int,
    OptInt,
    Long,
    Real,
    OptReal,
    Flag,
    OptFlag,
    Date,
    Time,
    OptTime,
}

/// The columns `ExportReturns` sends, in its order, as [`plain_export_sql`] selects them: the
/// return's (from `r.id`, which a reader takes as [`Col::Text`] itself) and its current value's.
pub const EXPORT_COLUMNS: [Col; 30] = {
    use Col::*;
    [
        // r.organisation_id .. r.updated_at
        Text, Int, Text, Int, Text, Date, Flag, OptText, OptTime, OptText, OptTime, OptText, Int,
        OptInt, OptText, Long, Time, Time, // v.indicator_code .. v.current
        OptText, OptText, OptInt, OptReal, OptReal, OptReal, OptText, OptText, OptText, OptText,
        OptTime, OptFlag,
    ]
};

/// The plain SQL read of what `ExportReturns` sends the regulator: the columns of each submitted
/// or signed-off return (of `year`, or of every year) and of its current values that the export
/// sends ([`EXPORT_COLUMNS`] after `r.id`), in the export's order.
pub fn plain_export_sql(year: Option<i32>) -> String {
    let filter = year
        .map(|y| format!("r.year = {y} AND "))
        .unwrap_or_default();
    format!(
        "SELECT r.id, r.organisation_id, r.year, r.period_kind, r.period_number, r.status, \
         r.deadline_date, r.late, r.submitted_by, r.submitted_at, r.signed_off_by, \
         r.signed_off_at, r.returned_reason, r.revision, r.survey_sample_size, r.survey_method, \
         r.version, r.created_at, r.updated_at, v.indicator_code, v.split, v.sequence, v.value, \
         v.numerator, v.denominator, v.warnings, v.explanation, v.revision_reason, v.changed_by, \
         v.changed_at, v.current \
         FROM pi_returns r LEFT JOIN pi_return_values v ON v.return_id = r.id AND v.current = TRUE \
         WHERE {filter}r.status IN ('submitted', 'signed_off') \
         ORDER BY r.id, v.indicator_code, v.split"
    )
}

/// A row of a plain read, on either database.
pub trait DecodeColumns {
    /// Decodes the columns from index `from` on as `cols` says; the sum of the real ones (a
    /// checksum the reader keeps, so nothing is left undecoded).
    fn decode_columns(&self, from: usize, cols: &[Col]) -> Result<f64, sqlx::Error>;
}

macro_rules! decode_columns {
    ($row:ty) => {
        impl DecodeColumns for $row {
            fn decode_columns(&self, from: usize, cols: &[Col]) -> Result<f64, sqlx::Error> {
                let mut sum = 0f64;
                for (i, col) in cols.iter().enumerate().map(|(i, c)| (from + i, c)) {
                    match col {
                        Col::Text => _ = self.try_get::<String, _>(i)?,
                        Col::OptText => _ = self.try_get::<Option<String>, _>(i)?,
                        Col::Int => _ = self.try_get::<i32, _>(i)?,
                        Col::OptInt => _ = self.try_get::<Option<i32>, _>(i)?,
                        Col::Long => _ = self.try_get::<i64, _>(i)?,
                        Col::Real => sum += self.try_get::<f64, _>(i)?,
                        Col::OptReal => sum += self.try_get::<Option<f64>, _>(i)?.unwrap_or(0.0),
                        Col::Flag => _ = self.try_get::<bool, _>(i)?,
                        Col::OptFlag => _ = self.try_get::<Option<bool>, _>(i)?,
                        Col::Date => _ = self.try_get::<NaiveDate, _>(i)?,
                        Col::Time => _ = self.try_get::<DateTime<Utc>, _>(i)?,
                        Col::OptTime => _ = self.try_get::<Option<DateTime<Utc>>, _>(i)?,
                    }
                }
                Ok(sum)
            }
        }
    };
}
decode_columns!(sqlx::postgres::PgRow);
decode_columns!(sqlx::sqlite::SqliteRow);

/// Reads [`plain_export_sql`] with sqlx, every column decoded; the number of returns.
pub async fn plain_export(db: &Db, year: Option<i32>) -> anyhow::Result<usize> {
    let sql = plain_export_sql(year);
    macro_rules! read {
        ($pool:expr) => {{
            let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch($pool);
            let (mut returns, mut last) = (0usize, String::new());
            let mut checksum = 0f64;
            while let Some(r) = rows.try_next().await? {
                let id: String = r.try_get(0)?;
                checksum += r.decode_columns(1, &EXPORT_COLUMNS)?;
                if id != last {
                    returns += 1;
                    last = id;
                }
            }
            std::hint::black_box(checksum);
            returns
        }};
    }
    Ok(match db.backend() {
        Backend::Postgres => read!(db.conn().get_postgres_connection_pool()),
        Backend::Sqlite => read!(db.conn().get_sqlite_connection_pool()),
    })
}

//! Rows the PI benches load straight into the tables (the figures a bench reads back, not the
//! write path it measures).

use almo_db::entity::pi_return;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::Set;

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

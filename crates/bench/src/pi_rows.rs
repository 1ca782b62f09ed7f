//! Rows the PI benches load straight into the tables (the figures a bench reads back, not the
//! write path it measures).

use almo_db::entity::{organisation, pi_return};
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

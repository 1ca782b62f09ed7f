//! What an ended ALMO can no longer do (DOMAIN.md "An ALMO's life"; seed 002). The directory's
//! `end_date` is the ALMO's last day of managing the homes: the council manages them from the
//! day after. So a date after the end, or a period starting after it, is refused at write time
//! as `FAILED_PRECONDITION` with reason `ALMO_ENDED`, naming the end date. Everything the ALMO
//! recorded up to its end stays readable and writable as before.

use std::collections::HashMap;

use almo_db::entity::organisation;
use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

use crate::AppError;

/// The ALMO `name` (`id`) ended on `end`: `what`, dated `date`, is refused.
pub fn refusal(id: &str, name: &str, end: NaiveDate, what: &str, date: NaiveDate) -> AppError {
    AppError::failed_precondition(
        "ALMO_ENDED",
        format!(
            "{name} ({id}) ended on {end}: {what} ({date}) is after the end; the council \
             manages and reports for those homes from {}",
            end.succ_opt().unwrap_or(end)
        ),
    )
}

/// Refuses `what` dated `date` if the organisation `row` is an ALMO that ended before it.
pub fn refuse_after_end(
    row: &organisation::Model,
    date: NaiveDate,
    what: &str,
) -> Result<(), AppError> {
    match row.end_date {
        Some(end) if date > end => Err(refusal(&row.id, &row.name, end, what, date)),
        _ => Ok(()),
    }
}

/// The end dates of the ALMOs a write touches, read once each (from the write's own
/// transaction, so an end recorded concurrently is seen once committed).
#[derive(Debug, Default)]
pub struct Ends {
    known: HashMap<String, Option<organisation::Model>>,
}

impl Ends {
    /// Refuses `what` dated `date` when the ALMO `almo_id` ended before it.
    pub async fn refuse_after(
        &mut self,
        conn: &impl ConnectionTrait,
        almo_id: &str,
        date: NaiveDate,
        what: impl FnOnce() -> String,
    ) -> Result<(), AppError> {
        if !self.known.contains_key(almo_id) {
            let row = organisation::get(conn, almo_id).await?;
            self.known.insert(almo_id.to_string(), row);
        }
        match &self.known[almo_id] {
            Some(row) => refuse_after_end(row, date, &what()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(end: Option<&str>) -> organisation::Model {
        let now = chrono::Utc::now();
        organisation::Model {
            id: "HACKNEY-HOMES".into(),
            name: "Hackney Homes".into(),
            kind: "almo".into(),
            authority_type: None,
            region: None,
            council_id: Some("E09000012".into()),
            section27_consent_date: None,
            go_live_date: None,
            agreement_end_date: None,
            end_date: end.map(|e| e.parse().unwrap()),
            stock_size: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_end_date_is_the_almos_last_day() {
        let r = row(Some("2016-03-31"));
        assert!(refuse_after_end(&r, d("2016-03-31"), "usage").is_ok());
        let err = refuse_after_end(&r, d("2016-04-01"), "usage for April 2016").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("ended on 2016-03-31"), "{msg}");
        assert!(msg.contains("from 2016-04-01"), "{msg}");
        assert!(matches!(
            err,
            AppError::FailedPrecondition {
                reason: "ALMO_ENDED",
                ..
            }
        ));
    }

    #[test]
    fn an_almo_without_an_end_refuses_nothing() {
        assert!(refuse_after_end(&row(None), d("2099-01-01"), "usage").is_ok());
    }
}

//! Who has yet to report (DOMAIN.md §3): every council, and every ALMO live in the period, with
//! the state of its return: due, overdue, submitted or signed off. Landlords too small to submit
//! the period's measures (the TSMs: fewer than 1,000 homes) publish them and are not listed.

use almo_fields as fields;
use almo_proto::pi_returns as pb;
use almo_server::{AppError, Violations};
use chrono::Utc;
use tonic::Request;

use super::PiReturns;
use super::access::visibility;
use super::convert::parse_period;
use super::part_year::{covered, directory_for};
use crate::domain::catalogue;
use crate::domain::period::PeriodKind;
use crate::domain::workflow::Status as ReturnStatus;
use crate::storage::{self, Visibility};

impl PiReturns {
    pub(super) async fn list_outstanding_returns(
        &self,
        request: Request<pb::ListOutstandingReturnsRequest>,
    ) -> Result<pb::ListOutstandingReturnsResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let period = parse_period(&mut v, r.period.as_ref());
        let size = v.field("page_size", fields::page_size(r.page_size));
        let after = v.field("page_token", fields::page_token(&r.page_token));
        v.into_result()?;
        let (Some(period), Some(size), Some(after)) = (period, size, after) else {
            unreachable!("violations were reported above")
        };
        let visible = visibility(&p);
        let conn = self.ctx.db.conn();
        let (start, end) = (period.start(), period.end());
        // Landlords below the size that owes the period's measures publish them but do not
        // submit (the TSMs: fewer than 1,000 homes): they are never outstanding.
        let defs = self.catalogue().await?;
        let min_homes =
            catalogue::homes_to_submit(&defs, period.year, period.kind == PeriodKind::Quarter);
        let mut orgs =
            storage::expected_reporters(conn, &visible, start, end, min_homes, after, size + 1)
                .await?;
        let next_page_token = if orgs.len() as u64 > size {
            orgs.truncate(size as usize);
            orgs.last()
                .map(|o| fields::next_page_token(o))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let returns = storage::returns_for_period(conn, &orgs, &period).await?;
        // In the period of an ALMO's end, the ALMO is expected for the days to its end and its
        // council for the days after.
        let directory = directory_for(conn, &orgs).await?;
        let today = Utc::now().date_naive();
        let hides_drafts = matches!(visible, Visibility::AllButDrafts);
        let expected = orgs
            .into_iter()
            .map(|org| {
                let covers = covered(&period, &org, &directory).covers;
                let ret = returns.iter().find(|r| r.organisation_id == org);
                let status = ret.and_then(|r| ReturnStatus::parse(&r.status));
                let state = match status {
                    Some(ReturnStatus::Submitted) => pb::ReturnState::Submitted,
                    Some(ReturnStatus::SignedOff) => pb::ReturnState::SignedOff,
                    _ if period.late_on(today) => pb::ReturnState::Overdue,
                    _ => pb::ReturnState::Due,
                };
                let unsubmitted = matches!(state, pb::ReturnState::Due | pb::ReturnState::Overdue);
                pb::ExpectedReturn {
                    organisation_id: org,
                    // The regulator does not see drafts, not even their ids.
                    return_id: ret
                        .filter(|_| !(hides_drafts && unsubmitted))
                        .map(|r| r.id.clone())
                        .unwrap_or_default(),
                    state: state as i32,
                    late: ret.is_some_and(|r| r.late),
                    deadline_date: period.deadline().to_string(),
                    covers_from: covers.from.to_string(),
                    covers_to: covers.to.to_string(),
                }
            })
            .collect();
        Ok(pb::ListOutstandingReturnsResponse {
            expected,
            next_page_token,
        })
    }
}

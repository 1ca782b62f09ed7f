//! The regulator's queries (DOMAIN.md §3): returns filtered by indicator, year, period, authority
//! type, region, organisation and status, a page at a time or exported as a stream; each only
//! what the caller may see.

use almo_fields as fields;
use almo_proto::common;
use almo_proto::pi_returns as pb;
use almo_server::{AppError, Violations};
use tonic::{Request, Status};

use super::PiReturns;
use super::access::visibility;
use super::convert::{check_authority_type, with_values};
use crate::domain::period::PeriodKind;
use crate::domain::workflow::Status as ReturnStatus;
use crate::storage::{self, ReturnFilter};

/// The messages of an export, as they are read.
pub(super) type ExportStream = std::pin::Pin<
    Box<dyn tokio_stream::Stream<Item = Result<pb::ExportReturnsResponse, Status>> + Send>,
>;

impl PiReturns {
    pub(super) async fn query_returns(
        &self,
        request: Request<pb::QueryReturnsRequest>,
    ) -> Result<pb::QueryReturnsResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let filter = parse_filter(&mut v, r);
        let size = v.field("page_size", fields::page_size(r.page_size));
        let after = v.field("page_token", fields::page_token(&r.page_token));
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
        let conn = self.ctx.read_db().conn();
        let mut rows =
            storage::query_returns(conn, &visibility(&p), &filter, after, size + 1).await?;
        let next_page_token = if rows.len() as u64 > size {
            rows.truncate(size as usize);
            rows.last()
                .map(|r| fields::next_page_token(&r.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let values = storage::current_values(conn, &ids, filter.indicator_code.as_deref()).await?;
        Ok(pb::QueryReturnsResponse {
            pi_returns: with_values(rows, values),
            next_page_token,
        })
    }

    pub(super) async fn export_returns(
        &self,
        request: Request<pb::ExportReturnsRequest>,
    ) -> Result<ExportStream, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let as_query = pb::QueryReturnsRequest {
            indicator_code: r.indicator_code.clone(),
            year: r.year,
            period_kind: r.period_kind,
            period_number: r.period_number,
            authority_type: r.authority_type.clone(),
            region: r.region.clone(),
            organisation_id: r.organisation_id.clone(),
            status: r.status,
            page_size: 0,
            page_token: String::new(),
        };
        let mut v = Violations::new();
        let filter = parse_filter(&mut v, &as_query);
        v.into_result()?;
        let visible = visibility(&p);
        let total =
            storage::count_returns(self.ctx.read_db().conn(), &visible, &filter).await? as i64;
        let stmt = storage::export_statement(
            self.ctx.read_db().conn().get_database_backend(),
            &visible,
            &filter,
        );
        let db = self.ctx.read_db().clone();
        // A few messages in flight: the database reads ahead while the client drains.
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            if let Err(e) = super::export::export(db, stmt, total, &tx).await {
                let _ = tx.send(Err(Status::from(AppError::from(e)))).await;
            }
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }
}

/// The filters of QueryReturns and ExportReturns.
fn parse_filter(v: &mut Violations, r: &pb::QueryReturnsRequest) -> ReturnFilter {
    let period_kind = match common::PeriodKind::try_from(r.period_kind) {
        Ok(common::PeriodKind::Unspecified) => None,
        Ok(common::PeriodKind::Quarter) => Some(PeriodKind::Quarter),
        Ok(common::PeriodKind::Year) => Some(PeriodKind::Year),
        _ => {
            v.add("period_kind", "PERIOD_KIND_QUARTER or PERIOD_KIND_YEAR");
            None
        }
    };
    let period_number = match (period_kind, r.period_number) {
        (_, 0) => None,
        (Some(kind), n) => v
            .field("period_number", fields::period_number(kind.into(), n))
            .map(|n| n as i32),
        (None, _) => {
            v.add(
                "period_number",
                "with period_kind: 1-4 for a quarter, 1 for the year",
            );
            None
        }
    };
    let status = match pb::ReturnStatus::try_from(r.status) {
        Ok(pb::ReturnStatus::Unspecified) => None,
        Ok(pb::ReturnStatus::Draft) => Some(ReturnStatus::Draft.as_str()),
        Ok(pb::ReturnStatus::Submitted) => Some(ReturnStatus::Submitted.as_str()),
        Ok(pb::ReturnStatus::SignedOff) => Some(ReturnStatus::SignedOff.as_str()),
        Ok(pb::ReturnStatus::Returned) => Some(ReturnStatus::Returned.as_str()),
        Err(_) => {
            v.add("status", "not a ReturnStatus");
            None
        }
    };
    let authority_type = Some(r.authority_type.trim()).filter(|t| !t.is_empty());
    if let Some(t) = authority_type {
        check_authority_type(v, t);
    }
    ReturnFilter {
        indicator_code: Some(r.indicator_code.trim().to_string()).filter(|c| !c.is_empty()),
        year: r.year.as_ref().map(|y| y.start_year),
        period_kind: period_kind.map(PeriodKind::as_str),
        period_number,
        authority_type: authority_type.map(String::from),
        region: Some(r.region.trim().to_string()).filter(|c| !c.is_empty()),
        organisation_id: Some(r.organisation_id.trim().to_string()).filter(|c| !c.is_empty()),
        status,
    }
}

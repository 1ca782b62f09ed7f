//! An ALMO's life: go-live, the management agreement's term, the end. Each change writes its
//! lifecycle event in the same transaction (`almo_db::lifecycle`).

use almo_db::{Begun, lifecycle};
use almo_proto::directory::{UpdateAlmoLifecycleRequest, UpdateAlmoLifecycleResponse};
use almo_server::{AppError, Violations, etag};
use chrono::{NaiveDate, Utc};
use serde_json::json;
use tonic::Request;

use super::convert::{dates_of, organisation_to_proto};
use super::hand_back::{method_from_proto, refuse, require_council_of, with_hand_back};
use super::organisations::STOCK_SIZES;
use super::{Directory, SERVICE_NAME};
use crate::domain::hand_back::end_allowed;
use crate::{storage, storage_reviews as reviews};

/// A date the change sets (`Some`) or leaves alone (`None`); once set it may not be emptied.
fn changed_date(v: &mut Violations, field: &str, s: Option<&str>) -> Option<Option<NaiveDate>> {
    s.map(|s| v.field(field, almo_fields::date(s)))
}

impl Directory {
    pub(super) async fn update_almo_lifecycle(
        &self,
        request: Request<UpdateAlmoLifecycleRequest>,
    ) -> Result<UpdateAlmoLifecycleResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.field("almo_id", almo_fields::id(&r.almo_id));
        v.require_etag(&r.etag, "the etag of the ALMO as last read");
        if let Some(name) = &r.name {
            v.field("name", almo_fields::name(name));
        }
        let go_live = changed_date(&mut v, "go_live_date", r.go_live_date.as_deref());
        let agreement_end = changed_date(
            &mut v,
            "agreement_end_date",
            r.agreement_end_date.as_deref(),
        );
        let end = changed_date(&mut v, "end_date", r.end_date.as_deref());
        if let Some(stock) = r.stock_size {
            v.check(
                !STOCK_SIZES.contains(&stock),
                "stock_size",
                "between 1 and 500000",
            );
        }
        let transfer = v
            .field(
                "transfer_opinion_method",
                method_from_proto(r.transfer_opinion_method),
            )
            .flatten();
        v.into_result()?;
        require_council_of(self, &p, &r.almo_id).await?;
        let ctx = p.call_context(SERVICE_NAME, "UpdateAlmoLifecycle", &r.request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, r).await? {
            Begun::Replay(resp) => return Ok(resp),
            Begun::Fresh(w) => w,
        };
        let resource = format!("organisations/{}", r.almo_id);
        let current = storage::get(write.txn(), &r.almo_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("ALMO {}", r.almo_id)))?;
        if etag(current.version) != r.etag.trim() {
            return Err(AppError::stale_etag(&resource));
        }
        let old = dates_of(&current);
        let mut next = old;
        if let Some(d) = go_live {
            next.go_live = d;
        }
        if let Some(d) = agreement_end {
            next.agreement_end = d;
        }
        if let Some(d) = end {
            next.end = d;
        }
        let today = Utc::now().date_naive();
        let mut v = Violations::new();
        for (field, reason) in old.change_violations(&next, today) {
            v.add(field, reason);
        }
        v.into_result()?;
        let mut road = reviews::hand_back(write.txn(), &r.almo_id).await?;
        if let Some(end) = next.end.filter(|_| next.end != old.end) {
            // No Secretary of State consent is asked for: none is needed to take management
            // back (seed 002 §7). The decision is.
            refuse(
                end_allowed(end, road.latest.as_ref())
                    .err()
                    .into_iter()
                    .collect(),
            )?;
        }
        if let Some(method) = transfer.filter(|m| road.transfer != Some(*m)) {
            if reviews::opinion_tested(write.txn(), &r.almo_id).await? {
                return Err(AppError::failed_precondition(
                    "TRANSFER_OPINION_FIXED",
                    "a test of tenants' opinion has been judged against how the transfer was \
                     tested; that is not changed now",
                ));
            }
            reviews::set_transfer(write.txn(), &r.almo_id, method).await?;
            road.transfer = Some(method);
        }
        let mut row = current.clone();
        row.go_live_date = next.go_live;
        row.agreement_end_date = next.agreement_end;
        row.end_date = next.end;
        if let Some(stock) = r.stock_size {
            row.stock_size = Some(stock);
        }
        if let Some(name) = &r.name {
            row.name = name.trim().to_string();
        }
        row.version = current.version + 1;
        row.updated_at = Utc::now();
        if !storage::update_if_version(write.txn(), row.clone(), current.version).await? {
            return Err(AppError::stale_etag(&resource));
        }
        let council = current.council_id.as_deref();
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let mut events = Vec::new();
        if next.end != old.end {
            events.push((
                lifecycle::kind::END_DATE_SET,
                lifecycle::end_date_payload(next.end, old.end),
            ));
        }
        if next.go_live != old.go_live {
            events.push((
                lifecycle::kind::GO_LIVE_SET,
                json!({"go_live_date": date(next.go_live)}),
            ));
        }
        if next.agreement_end != old.agreement_end {
            events.push((
                lifecycle::kind::AGREEMENT_EXTENDED,
                json!({"agreement_end_date": date(next.agreement_end)}),
            ));
        }
        for (kind, payload) in events {
            lifecycle::append(write.txn(), &r.almo_id, council, kind, &payload).await?;
        }
        let org = organisation_to_proto(row, vec![], today);
        let resp = UpdateAlmoLifecycleResponse {
            organisation: Some(with_hand_back(org, Some(&road))),
        };
        write.finish(&resp, &resource).await?;
        Ok(resp)
    }
}

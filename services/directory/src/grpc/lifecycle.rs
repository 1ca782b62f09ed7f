//! An ALMO's life: go-live, the management agreement's term, the end.

use almo_auth::{OrgKind, Role};
use almo_db::Begun;
use almo_proto::directory::{UpdateAlmoLifecycleRequest, UpdateAlmoLifecycleResponse};
use almo_server::{AppError, Violations, etag};
use chrono::{NaiveDate, Utc};
use tonic::Request;

use super::convert::{dates_of, organisation_to_proto};
use super::organisations::STOCK_SIZES;
use super::{Directory, SERVICE_NAME};
use crate::storage;

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
        v.into_result()?;
        let target = self.ctx.access.require_write(&p, &r.almo_id).await?;
        if target.kind != OrgKind::Almo {
            return Err(AppError::invalid(
                "almo_id",
                format!("{} is not an ALMO", r.almo_id),
            ));
        }
        // The council decides its ALMO's life; the ALMO itself does not.
        if !(p.is_operator() || p.caller.role == Role::CouncilOfficer) {
            return Err(AppError::PermissionDenied(
                "only the parent council's officers or the operator record an ALMO's lifecycle"
                    .into(),
            ));
        }
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
        let resp = UpdateAlmoLifecycleResponse {
            organisation: Some(organisation_to_proto(row, vec![], today)),
        };
        write.finish(&resp, &resource).await?;
        Ok(resp)
    }
}

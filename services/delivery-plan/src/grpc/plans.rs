//! Plans: CreatePlan (version 1), GetPlan (a version, or the one in force on a date),
//! ListPlans, ListPlanVersions.

use almo_auth::OrgKind;
use almo_db::entity::{dp_plan, dp_plan_version};
use almo_fields as fields;
use almo_proto::delivery_plan::{self as pb};
use almo_server::{AppError, Violations};
use chrono::Utc;
use tonic::Request;

use super::DeliveryPlans;
use super::access::{require_council_officer, visibility};
use super::convert::{checked_content, encode_content, page, page_request, plan_to_proto, year_of};
use crate::domain::catalogue::PiDefinition;
use crate::domain::plan::Span;
use crate::storage;

impl DeliveryPlans {
    /// The catalogue definitions of the codes `content`'s targets name (a local measure's too:
    /// it may not take an indicator's code).
    pub(super) async fn pi_catalogue(
        &self,
        content: Option<&pb::PlanContent>,
    ) -> Result<Vec<PiDefinition>, AppError> {
        let codes: Vec<String> = content
            .into_iter()
            .flat_map(|c| &c.targets)
            .map(|t| t.code.trim().to_string())
            .collect();
        Ok(storage::pi_definitions(self.ctx.db.conn(), &codes).await?)
    }

    pub(super) async fn create_plan(
        &self,
        request: Request<pb::CreatePlanRequest>,
    ) -> Result<pb::CreatePlanResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let council_id = r.council_id.trim();
        let almo_id = r.almo_id.trim();
        v.check(council_id.is_empty(), "council_id", "required");
        v.check(almo_id.is_empty(), "almo_id", "required");
        let title = r.title.trim();
        v.check(
            title.is_empty() || title.chars().count() > 200,
            "title",
            "required, at most 200 characters",
        );
        let first = year_of(&mut v, "first_year", r.first_year.as_ref());
        let last = year_of(&mut v, "last_year", r.last_year.as_ref());
        let span = match (first, last) {
            (Some(first), Some(last)) => {
                let span = Span { first, last };
                let bad = span.violations();
                let ok = bad.is_empty();
                for (f, reason) in bad {
                    v.add(f, reason);
                }
                ok.then_some(span)
            }
            _ => None,
        };
        let effective = v
            .field("effective_date", fields::optional_date(&r.effective_date))
            .flatten();
        if let (Some(span), Some(e)) = (span, effective) {
            v.check(
                e > span.end(),
                "effective_date",
                format!("must fall on or before the plan's end, {}", span.end()),
            );
        }
        let catalogue = self.pi_catalogue(r.content.as_ref()).await?;
        let content = checked_content(&mut v, "content", r.content.as_ref(), span, &catalogue);
        v.into_result()?;
        let (Some(span), Some(content)) = (span, content) else {
            unreachable!("violations were reported above")
        };
        require_council_officer(&p, council_id, "create its delivery plans")?;
        match self.ctx.access.scope(almo_id).await? {
            Some(a) if a.kind == OrgKind::Almo && a.council_id.as_deref() == Some(council_id) => {}
            _ => {
                return Err(AppError::invalid(
                    "almo_id",
                    format!("{almo_id:?} is not an ALMO of council {council_id}"),
                ));
            }
        }
        let plan_id = format!("{almo_id}-{}-{}", span.first, span.last);
        self.write_once(&p, "CreatePlan", &r.request_id, r, async |write| {
            if storage::get_plan(write.txn(), &plan_id).await?.is_some() {
                return Err(AppError::AlreadyExists(format!(
                    "{almo_id} already has plan {plan_id} for these years; amend it instead"
                )));
            }
            let now = Utc::now();
            let plan = dp_plan::Model {
                id: plan_id.clone(),
                council_id: council_id.to_string(),
                almo_id: almo_id.to_string(),
                title: title.to_string(),
                first_year: span.first,
                last_year: span.last,
                latest_version: 1,
                created_at: now,
                updated_at: now,
            };
            let version = dp_plan_version::Model {
                plan_id: plan_id.clone(),
                version: 1,
                effective_date: effective.unwrap_or(span.start()),
                amendment_id: None,
                note: String::new(),
                content: encode_content(&content),
                created_at: now,
            };
            storage::insert_plan(write.txn(), plan.clone(), version.clone()).await?;
            let resp = pb::CreatePlanResponse {
                plan: Some(plan_to_proto(&plan, &version)?),
            };
            Ok((resp, format!("plans/{plan_id}")))
        })
        .await
    }

    pub(super) async fn get_plan(
        &self,
        request: Request<pb::GetPlanRequest>,
    ) -> Result<pb::GetPlanResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let on = v
            .field("as_of_date", fields::optional_date(&r.as_of_date))
            .flatten();
        v.check(r.version < 0, "version", "must not be negative");
        v.into_result()?;
        let plan = self.visible_plan(&p, &r.plan_id).await?;
        let versions = storage::versions(self.ctx.db.conn(), &plan.id).await?;
        let chosen = if r.version > 0 {
            versions
                .iter()
                .find(|x| x.version == r.version)
                .ok_or_else(|| {
                    AppError::NotFound(format!(
                        "plan {} has versions 1 to {}",
                        plan.id, plan.latest_version
                    ))
                })?
        } else {
            let on = on.unwrap_or_else(|| Utc::now().date_naive());
            versions
                .iter()
                .rev()
                .find(|x| x.effective_date <= on)
                .ok_or_else(|| {
                    AppError::NotFound(format!("plan {} was not yet in force on {on}", plan.id))
                })?
        };
        Ok(pb::GetPlanResponse {
            plan: Some(plan_to_proto(&plan, chosen)?),
        })
    }

    pub(super) async fn list_plans(
        &self,
        request: Request<pb::ListPlansRequest>,
    ) -> Result<pb::ListPlansResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let (size, after) = page_request(r.page_size, &r.page_token)?;
        let council = Some(r.council_id.trim()).filter(|s| !s.is_empty());
        let almo = Some(r.almo_id.trim()).filter(|s| !s.is_empty());
        let conn = self.ctx.db.conn();
        let rows =
            storage::list_plans(conn, &visibility(&p), council, almo, after, size + 1).await?;
        let (rows, next_page_token) = page(rows, size, |r| r.id.clone());
        let latest = storage::latest_versions(conn, &rows).await?;
        let plans = rows
            .iter()
            .map(|plan| {
                let v = latest
                    .iter()
                    .find(|v| v.plan_id == plan.id)
                    .ok_or_else(|| {
                        AppError::Internal(format!("plan {} lost its latest version", plan.id))
                    })?;
                plan_to_proto(plan, v)
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(pb::ListPlansResponse {
            plans,
            next_page_token,
        })
    }

    pub(super) async fn list_plan_versions(
        &self,
        request: Request<pb::ListPlanVersionsRequest>,
    ) -> Result<pb::ListPlanVersionsResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let plan = self.visible_plan(&p, &request.get_ref().plan_id).await?;
        let versions = storage::versions(self.ctx.db.conn(), &plan.id)
            .await?
            .iter()
            .map(|v| plan_to_proto(&plan, v))
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(pb::ListPlanVersionsResponse { versions })
    }
}

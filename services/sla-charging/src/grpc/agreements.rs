//! Agreements: create, agree a version (both parties), vary (a new draft version), read, list.

use almo_auth::{OrgKind, Role};
use almo_db::entity::{sla_agreement, sla_agreement_version};
use almo_db::lock::LockKind;
use almo_fields as fields;
use almo_proto::sla_charging as pb;
use almo_server::{AppError, Violations};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use tonic::Request;

use super::access::{require_supplier, visibility, visible_agreement};
use super::convert::{agreement_to_proto, decode_terms, next_page_token, page_request};
use super::{SlaCharging, check_etag};
use crate::billing;
use crate::domain::agreement::{Consent, Party, Terms, VersionStatus, agree, check_variation};
use crate::storage::{self, Visibility};

impl SlaCharging {
    pub(super) async fn create_agreement(
        &self,
        request: Request<pb::CreateAgreementRequest>,
    ) -> Result<pb::CreateAgreementResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let council = v.field("supplier_council_id", fields::id(&r.supplier_council_id));
        let almo = v.field("customer_almo_id", fields::id(&r.customer_almo_id));
        let title = v.field("title", fields::name(&r.title));
        let start = v.field("start_date", fields::date(&r.start_date));
        let end = v.field("end_date", fields::date(&r.end_date));
        if let (Some(s), Some(e)) = (start, end) {
            v.check(e < s, "end_date", "must not be before start_date");
        }
        let terms = decode_terms(&mut v, &r.lines, &r.levels);
        v.into_result()?;
        let (council, almo, title) = (
            council.expect("checked"),
            almo.expect("checked"),
            title.expect("checked"),
        );
        require_supplier(&p, council)?;
        match self.ctx.access.scope(almo).await? {
            Some(s) if s.kind == OrgKind::Almo && s.council_id.as_deref() == Some(council) => {}
            _ => {
                return Err(AppError::invalid(
                    "customer_almo_id",
                    format!("{almo:?} is not an ALMO of {council}"),
                ));
            }
        }
        let (start, end) = (start.expect("checked"), end.expect("checked"));
        // A wound-up ALMO buys nothing more: its SLAs ended with it.
        if let Some(row) = almo_db::entity::organisation::get(self.ctx.db.conn(), almo).await? {
            almo_server::almo_end::refuse_after_end(&row, start, "an agreement starting")?;
        }
        self.write(&p, "CreateAgreement", &r.request_id, r, async |txn| {
            let now = Utc::now();
            let a = sla_agreement::Model {
                id: format!("sla-{}", uuid::Uuid::new_v4().simple()),
                supplier_council_id: council.to_string(),
                customer_almo_id: almo.to_string(),
                title: title.to_string(),
                start_date: start,
                end_date: end,
                row_version: 1,
                created_at: now,
                updated_at: now,
            };
            let version = draft_version(&a.id, 1, start, &terms, now)?;
            storage::insert_agreement(txn, a.clone()).await?;
            storage::insert_version(txn, version.clone()).await?;
            let resp = pb::CreateAgreementResponse {
                agreement: Some(agreement_to_proto(&a, &[version])?),
            };
            Ok((resp, format!("slaAgreements/{}", a.id)))
        })
        .await
    }

    pub(super) async fn agree_agreement_version(
        &self,
        request: Request<pb::AgreeAgreementVersionRequest>,
    ) -> Result<pb::AgreeAgreementVersionResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.field("agreement_id", fields::id(&r.agreement_id));
        v.check(r.version < 1, "version", "the version to agree, 1 or more");
        v.require_etag(&r.etag, "the agreement's etag as last read");
        v.into_result()?;
        let vis = visibility(&p)?;
        // Agreeing is a finance decision on both sides.
        let party = match (&vis, p.caller.role) {
            (Visibility::Supplier(_), _) => Party::Council,
            (Visibility::Customer(_), Role::AlmoFinance) => Party::Almo,
            _ => {
                return Err(AppError::PermissionDenied(
                    "only ALMO finance agrees an SLA on the ALMO's behalf".into(),
                ));
            }
        };
        self.write(&p, "AgreeAgreementVersion", &r.request_id, r, async |txn| {
            // The agreement is locked before it is read: a concurrent change queues here and
            // then finds the etag moved on (almo_db::lock).
            almo_db::lock::lock_row(txn, LockKind::Agreement, r.agreement_id.trim()).await?;
            let (mut a, mut versions) = visible_agreement(txn, &p, &vis, &r.agreement_id).await?;
            check_etag(&r.etag, a.row_version, &resource(&a))?;
            let Some(ver) = versions.iter_mut().find(|x| x.version == r.version) else {
                return Err(AppError::invalid(
                    "version",
                    format!("{} has no version {}", a.id, r.version),
                ));
            };
            let status = VersionStatus::parse(&ver.status)
                .ok_or_else(|| AppError::Internal(format!("status {:?}", ver.status)))?;
            let consent = Consent {
                council: ver.council_agreed,
                almo: ver.almo_agreed,
            };
            let (status, consent) = agree(status, consent, party)?;
            ver.status = status.as_str().into();
            ver.council_agreed = consent.council;
            ver.almo_agreed = consent.almo;
            storage::update_version_consent(txn, ver).await?;
            let activated =
                (status == VersionStatus::Active && ver.version > 1).then_some(ver.effective_from);
            bump(txn, &mut a).await?;
            let will_adjust = match activated {
                Some(from) => will_adjust(txn, &a.id, from).await?,
                None => Vec::new(),
            };
            let resp = pb::AgreeAgreementVersionResponse {
                agreement: Some(agreement_to_proto(&a, &versions)?),
                will_adjust,
            };
            let target = format!("slaAgreements/{}/versions/{}", a.id, r.version);
            Ok((resp, target))
        })
        .await
    }

    pub(super) async fn vary_agreement(
        &self,
        request: Request<pb::VaryAgreementRequest>,
    ) -> Result<pb::VaryAgreementResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.field("agreement_id", fields::id(&r.agreement_id));
        v.require_etag(&r.etag, "the agreement's etag as last read");
        let from = v.field("effective_from_date", fields::date(&r.effective_from_date));
        let terms = decode_terms(&mut v, &r.lines, &r.levels);
        v.into_result()?;
        let from = from.expect("checked");
        let vis = visibility(&p)?;
        self.write(&p, "VaryAgreement", &r.request_id, r, async |txn| {
            // The agreement is locked before it is read: a concurrent change queues here and
            // then finds the etag moved on (almo_db::lock).
            almo_db::lock::lock_row(txn, LockKind::Agreement, r.agreement_id.trim()).await?;
            let (mut a, mut versions) = visible_agreement(txn, &p, &vis, &r.agreement_id).await?;
            require_supplier(&p, &a.supplier_council_id)?;
            check_etag(&r.etag, a.row_version, &resource(&a))?;
            let latest = versions.last().expect("an agreement has version 1");
            if VersionStatus::parse(&latest.status) != Some(VersionStatus::Active) {
                return Err(AppError::failed_precondition(
                    "DRAFT_PENDING",
                    format!(
                        "version {} is still a draft: agree it before varying it",
                        latest.version
                    ),
                ));
            }
            check_variation(billing::term_of(&a), latest.effective_from, from)?;
            let version = draft_version(&a.id, latest.version + 1, from, &terms, Utc::now())?;
            storage::insert_version(txn, version.clone()).await?;
            bump(txn, &mut a).await?;
            versions.push(version);
            let resp = pb::VaryAgreementResponse {
                agreement: Some(agreement_to_proto(&a, &versions)?),
                will_adjust: will_adjust(txn, &a.id, from).await?,
            };
            Ok((resp, resource(&a)))
        })
        .await
    }

    pub(super) async fn get_agreement(
        &self,
        request: Request<pb::GetAgreementRequest>,
    ) -> Result<pb::GetAgreementResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let id = fields::id(&request.get_ref().agreement_id)
            .map_err(|reason| AppError::invalid("agreement_id", reason))?;
        let (a, versions) = visible_agreement(self.ctx.db.conn(), &p, &vis, id).await?;
        Ok(pb::GetAgreementResponse {
            agreement: Some(agreement_to_proto(&a, &versions)?),
        })
    }

    pub(super) async fn list_agreements(
        &self,
        request: Request<pb::ListAgreementsRequest>,
    ) -> Result<pb::ListAgreementsResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let page = page_request(&mut v, r.page_size, &r.page_token);
        v.into_result()?;
        let page = page.expect("checked");
        let almo = Some(r.customer_almo_id.trim()).filter(|a| !a.is_empty());
        let conn = self.ctx.db.conn();
        let mut rows =
            storage::list_agreements(conn, &vis, almo, page.after, page.size + 1).await?;
        let next_page_token = next_page_token(&mut rows, page.size, |(a, _)| &a.id);
        Ok(pb::ListAgreementsResponse {
            agreements: rows
                .iter()
                .map(|(a, v)| agreement_to_proto(a, v))
                .collect::<Result<_, _>>()?,
            next_page_token,
        })
    }
}

fn resource(a: &sla_agreement::Model) -> String {
    format!("slaAgreements/{}", a.id)
}

/// Version `version` of agreement `id`: a draft that neither party has agreed yet.
fn draft_version(
    id: &str,
    version: i32,
    effective_from: NaiveDate,
    terms: &Terms,
    now: DateTime<Utc>,
) -> Result<sla_agreement_version::Model, AppError> {
    Ok(sla_agreement_version::Model {
        agreement_id: id.to_string(),
        version,
        effective_from,
        status: VersionStatus::Draft.as_str().into(),
        council_agreed: false,
        almo_agreed: false,
        terms: serde_json::to_string(terms).map_err(|e| AppError::Internal(e.to_string()))?,
        created_at: now,
    })
}

/// Moves the agreement to its next version (its etag changes), unless someone changed it since
/// it was read.
async fn bump(txn: &impl ConnectionTrait, a: &mut sla_agreement::Model) -> Result<(), AppError> {
    let now = Utc::now();
    if !storage::bump_agreement(txn, &a.id, a.row_version, now).await? {
        return Err(AppError::stale_etag(&resource(a)));
    }
    a.row_version += 1;
    a.updated_at = now;
    Ok(())
}

/// The issued invoices of an agreement whose periods include days from `from`: a variation
/// effective then bills them differently, and the next billing run after it is agreed adjusts
/// them.
async fn will_adjust(
    txn: &impl sea_orm::ConnectionTrait,
    agreement_id: &str,
    from: chrono::NaiveDate,
) -> Result<Vec<pb::AdjustedInvoice>, AppError> {
    Ok(billing::invoices_from(txn, agreement_id, from)
        .await?
        .into_iter()
        .map(|i| pb::AdjustedInvoice {
            period_label: billing::period_of(&i).label(),
            invoice_number: i.invoice_number.unwrap_or_default(),
            invoice_id: i.id,
        })
        .collect())
}

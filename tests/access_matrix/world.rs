//! The data the matrix calls on: Lambeth's side, Haringey's (Leeds' for SLAs), ids that exist
//! nowhere; and the builders the rows share.

use std::sync::atomic::{AtomicU64, Ordering};

use almo_auth::Role;
use almo_db::entity::{sla_dispute, sla_invoice};
use almo_proto::common::{FinancialYear, Money, Period, PeriodKind};
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{self as dp};
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_proto::directory::{self as dir};
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_proto::pi_returns::{self as pi};
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::{self as sla};
pub use almo_testkit::demo::*;
use almo_testkit::{TestApp, TestDb, authed, default_args};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tonic::transport::Channel;

/// The ids one call uses: Lambeth's family (own for the council and ALMO roles), Haringey's (and
/// Leeds' for SLAs, where the demo has them), or ids that exist nowhere.
#[derive(Clone, Debug, Default)]
pub struct Side {
    pub council: String,
    pub almo: String,
    pub plan: String,
    pub amendment: String,
    pub exception: String,
    pub sla_council: String,
    pub sla_almo: String,
    pub agreement: String,
    /// An issued invoice.
    pub invoice: String,
    /// A draft invoice (or, where the side has none, any).
    pub draft_invoice: String,
    pub dispute: String,
    /// The ALMO's draft annual return.
    pub ret: String,
    /// The council's own draft annual return.
    pub council_ret: String,
    /// The council's signed-off return of the demo year.
    pub signed_ret: String,
    pub inspection: String,
    /// An inspector.
    pub inspector: String,
    pub peer_group: String,
}

impl Side {
    /// `message` with every id of this side replaced by `{id}`, the longest first (a plan id
    /// holds its ALMO's): the shape of an answer, to compare with another side's.
    pub fn shape(&self, message: &str) -> String {
        let mut ids = [
            &self.council,
            &self.almo,
            &self.plan,
            &self.amendment,
            &self.exception,
            &self.sla_council,
            &self.sla_almo,
            &self.agreement,
            &self.invoice,
            &self.draft_invoice,
            &self.dispute,
            &self.ret,
            &self.council_ret,
            &self.signed_ret,
            &self.inspection,
            &self.inspector,
            &self.peer_group,
        ];
        ids.sort_by_key(|id| std::cmp::Reverse(id.len()));
        let mut m = message.to_string();
        for id in ids.iter().filter(|id| !id.is_empty()) {
            m = m.replace(id.as_str(), "{id}");
        }
        m
    }
}

impl Side {
    /// The ids of the resources this side's organisations own, which an answer to the other
    /// side's council or ALMO must never carry. Not the organisations' own ids: a peer group or
    /// a comparison of management models may name an organisation, never its data; nor the
    /// inspector: no organisation owns one.
    pub fn owned_ids(&self) -> Vec<&str> {
        [
            &self.plan,
            &self.amendment,
            &self.exception,
            &self.agreement,
            &self.invoice,
            &self.draft_invoice,
            &self.dispute,
            &self.ret,
            &self.council_ret,
            &self.signed_ret,
            &self.inspection,
            &self.peer_group,
        ]
        .into_iter()
        .map(String::as_str)
        .filter(|id| !id.is_empty())
        .collect()
    }
}

/// Ids of the right form that name nothing.
fn missing_side() -> Side {
    Side {
        council: "E09999999".into(),
        almo: "NO-SUCH-ALMO".into(),
        plan: "NO-SUCH-PLAN".into(),
        amendment: "NO-SUCH-AMENDMENT".into(),
        exception: "NO-SUCH-EXCEPTION".into(),
        sla_council: "E09999998".into(),
        sla_almo: "NO-SUCH-SLA-ALMO".into(),
        agreement: "no-such-agreement".into(),
        invoice: "no-such-invoice".into(),
        draft_invoice: "no-such-draft".into(),
        dispute: "no-such-dispute".into(),
        ret: "NO-SUCH-ALMO/2025/Y".into(),
        council_ret: "E09999999/2025/Y".into(),
        signed_ret: "E09999999/2001/Y".into(),
        inspection: "NO-SUCH-ALMO-2008-11-03".into(),
        inspector: "INSP-NOBODY".into(),
        peer_group: "NO-SUCH-GROUP".into(),
    }
}

pub struct World {
    pub own: Side,
    pub other: Side,
    pub missing: Side,
}

/// The suite with every service's demo data, and the resources the demo lacks (plans,
/// amendments, exceptions, draft returns, peer groups, a Leeds dispute) made through the API.
pub async fn world() -> (TestApp, World) {
    let db = TestDb::new().await.unwrap();
    almo_pi_returns::seed_catalogue(db.db.conn()).await.unwrap();
    almo_directory::demo::seed(&db.db).await.unwrap();
    almo_pi_returns::demo::seed(&db.db).await.unwrap();
    almo_inspection_scheduling::demo::seed(&db.db)
        .await
        .unwrap();
    almo_sla_charging::demo::seed(&db.db).await.unwrap();
    // Every period of the test plans (2026/27 to 2028/29) has ended.
    let after_the_plans = chrono::NaiveDate::from_ymd_opt(2029, 4, 1).unwrap();
    let app = TestApp::spawn_on(
        default_args(),
        vec![
            almo_directory::mount(),
            almo_delivery_plan::mount_with_clock(almo_delivery_plan::Clock::Fixed(after_the_plans)),
            almo_sla_charging::mount(),
            almo_pi_returns::mount(),
            almo_inspection_scheduling::mount(),
        ],
        db,
    )
    .await
    .unwrap();
    let channel = app.channel().await;
    let mut own = Side {
        council: LAMBETH.into(),
        almo: LAMBETH_LIVING.into(),
        sla_council: LAMBETH.into(),
        sla_almo: LAMBETH_LIVING.into(),
        agreement: almo_sla_charging::demo::AGREEMENT_ID.into(),
        signed_ret: format!("{LAMBETH}/2001/Y"),
        inspection: almo_inspection_scheduling::demo::LAMBETH_INSPECTION.into(),
        inspector: "LEAD-HUGHES".into(),
        ..Default::default()
    };
    let mut other = Side {
        council: HARINGEY.into(),
        almo: HOMES_FOR_HARINGEY.into(),
        sla_council: LEEDS.into(),
        sla_almo: LEEDS_ENE.into(),
        agreement: almo_sla_charging::demo::LEEDS_ENE_AGREEMENT_ID.into(),
        signed_ret: format!("{HARINGEY}/2001/Y"),
        inspection: almo_inspection_scheduling::demo::HARINGEY_INSPECTION.into(),
        // Inspectors are the inspectorate's, no organisation's: "another" is just another one.
        inspector: "LEAD-OKAFOR".into(),
        ..Default::default()
    };
    for side in [&mut own, &mut other] {
        plans_of(&channel, side).await;
        returns_of(&channel, side).await;
        side.peer_group = peer_group_of(&channel, &side.council).await;
        invoices_of(&app, side).await;
    }
    let w = World {
        own,
        other,
        missing: missing_side(),
    };
    (app, w)
}

/// A plan between the side's council and ALMO, an amendment proposed on it, and an exception
/// raised by two quarters of RP02 off track.
async fn plans_of(channel: &Channel, side: &mut Side) {
    let mut c = DeliveryPlanServiceClient::new(channel.clone());
    let officer = |msg| authed(msg, &side.council, Role::CouncilOfficer);
    let plan = c
        .create_plan(officer(plan_request(rid(), &side.council, &side.almo)))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    side.plan = plan.plan_id.clone();
    for (n, q) in [(1, 1), (2, 2)] {
        c.record_variance(authed(
            dp::RecordVarianceRequest {
                request_id: rid(),
                plan_id: plan.plan_id.clone(),
                record: Some(variance(&format!("q{n}"), q, 95.0)),
            },
            &side.council,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap();
    }
    let exceptions = c
        .list_exceptions(authed(
            dp::ListExceptionsRequest {
                plan_id: plan.plan_id.clone(),
                ..Default::default()
            },
            &side.council,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .exceptions;
    side.exception = exceptions[0].exception_id.clone();
    let amendment = c
        .propose_amendment(authed(
            dp::ProposeAmendmentRequest {
                request_id: rid(),
                plan_id: plan.plan_id.clone(),
                etag: plan.etag.clone(),
                reason: "a later target".into(),
                effective_date: "2027-04-01".into(),
                content: Some(plan_content()),
            },
            &side.council,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .amendment
        .unwrap();
    side.amendment = amendment.amendment_id;
}

/// The ALMO's and the council's draft annual returns for 2025/26 (the demo has 2024/25's).
async fn returns_of(channel: &Channel, side: &mut Side) {
    let mut c = PiReturnsServiceClient::new(channel.clone());
    for (org, role) in [
        (side.almo.clone(), Role::AlmoOfficer),
        (side.council.clone(), Role::CouncilOfficer),
    ] {
        let r = c
            .create_return(authed(
                pi::CreateReturnRequest {
                    request_id: rid(),
                    organisation_id: org.clone(),
                    period: Some(Period {
                        year: fy(2025),
                        kind: PeriodKind::Year as i32,
                        number: 1,
                    }),
                },
                &org,
                role,
            ))
            .await
            .unwrap()
            .into_inner()
            .pi_return
            .unwrap();
        if role == Role::AlmoOfficer {
            side.ret = r.id;
        } else {
            side.council_ret = r.id;
        }
    }
}

/// A peer group the council owns.
async fn peer_group_of(channel: &Channel, council: &str) -> String {
    let mut c = DirectoryServiceClient::new(channel.clone());
    let id = format!("PG-{council}");
    c.create_peer_group(authed(
        dir::CreatePeerGroupRequest {
            request_id: rid(),
            peer_group_id: id.clone(),
            name: format!("{council}'s peers"),
            kind: dir::PeerGroupKind::Chosen as i32,
            owner_organisation_id: council.into(),
            justification: "similar stock and deprivation".into(),
            member_ids: vec!["E08000019".into(), "E08000025".into()],
        },
        council,
        Role::CouncilOfficer,
    ))
    .await
    .unwrap();
    id
}

/// The side's demo invoices and dispute (one is raised where the demo has none).
async fn invoices_of(app: &TestApp, side: &mut Side) {
    let invoices = sla_invoice::Entity::find()
        .filter(sla_invoice::Column::CustomerAlmoId.eq(side.sla_almo.clone()))
        .order_by_asc(sla_invoice::Column::Id)
        .all(app.db.conn())
        .await
        .unwrap();
    let issued = invoices
        .iter()
        .find(|i| i.status == "issued")
        .expect("an issued invoice in the demo");
    side.invoice = issued.id.clone();
    side.draft_invoice = invoices
        .iter()
        .find(|i| i.status == "draft")
        .unwrap_or(issued)
        .id
        .clone();
    let open = sla_dispute::Entity::find()
        .filter(sla_dispute::Column::CustomerAlmoId.eq(side.sla_almo.clone()))
        .one(app.db.conn())
        .await
        .unwrap();
    side.dispute = match open {
        Some(d) => d.id,
        None => {
            let mut c = SlaChargingServiceClient::new(app.channel().await);
            c.dispute_invoice_line(authed(
                sla::DisputeInvoiceLineRequest {
                    request_id: rid(),
                    invoice_id: side.invoice.clone(),
                    invoice_line_number: 1,
                    reason: "more hours than the timesheets show".into(),
                },
                &side.sla_almo,
                Role::AlmoFinance,
            ))
            .await
            .unwrap()
            .into_inner()
            .dispute
            .unwrap()
            .dispute_id
        }
    };
}

// ---------------------------------------------------------------- builders

/// An etag no resource has: a permitted change is refused ABORTED, touching nothing.
pub const STALE: &str = "v999999";

static NEXT: AtomicU64 = AtomicU64::new(1);

pub fn rid_n() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A fresh request id.
pub fn rid() -> String {
    format!("matrix-{}", rid_n())
}

pub fn fy(y: i32) -> Option<FinancialYear> {
    Some(FinancialYear { start_year: y })
}

pub fn gbp(pence: i64) -> Option<Money> {
    Some(Money {
        pence,
        currency_code: "GBP".into(),
    })
}

pub fn month(y: i32, n: i32) -> Option<Period> {
    Some(Period {
        year: fy(y),
        kind: PeriodKind::Month as i32,
        number: n,
    })
}

pub fn plan_content() -> dp::PlanContent {
    dp::PlanContent {
        targets: vec![dp::Target {
            code: "RP02".into(),
            kind: dp::TargetKind::Pi as i32,
            name: "Repairs within target".into(),
            unit: dp::Unit::Percent as i32,
            direction: dp::Direction::HigherIsBetter as i32,
            baseline: 0.0,
            yearly_targets: (2026..=2028)
                .map(|y| dp::YearTarget {
                    year: fy(y),
                    value: 97.0,
                })
                .collect(),
            tolerance: Some(dp::Tolerance {
                kind: dp::ToleranceKind::Absolute as i32,
                amber: 0.5,
                red: 1.5,
            }),
            milestones: Vec::new(),
        }],
        decent_homes: None,
        capital_profile: vec![
            dp::CapitalLine {
                year: fy(2026),
                category: dp::CapitalCategory::DecentHomes as i32,
                amount: gbp(1_900_000_000),
            },
            dp::CapitalLine {
                year: fy(2026),
                category: dp::CapitalCategory::Sustainability as i32,
                amount: gbp(100_000_000),
            },
        ],
        annual_cost_effectiveness_percent: 2.5,
        delegated_functions: vec!["Repairs".into()],
        exception_after_periods: 0,
    }
}

pub fn plan_request(request_id: String, council: &str, almo: &str) -> dp::CreatePlanRequest {
    dp::CreatePlanRequest {
        request_id,
        council_id: council.into(),
        almo_id: almo.into(),
        title: format!("{almo} Delivery Plan"),
        first_year: fy(2026),
        last_year: fy(2028),
        effective_date: String::new(),
        content: Some(plan_content()),
    }
}

pub fn variance(id: &str, quarter: i32, actual: f64) -> dp::VarianceRecord {
    dp::VarianceRecord {
        sender_record_id: id.into(),
        target_code: "RP02".into(),
        period: Some(Period {
            year: fy(2026),
            kind: PeriodKind::Quarter as i32,
            number: quarter,
        }),
        actual,
        forecast: None,
        commentary: String::new(),
    }
}

pub fn sla_line() -> sla::ServiceLine {
    sla::ServiceLine {
        code: "IT".into(),
        service: "IT support".into(),
        basis: sla::ChargingBasis::PerUser as i32,
        unit_name: String::new(),
        unit_price: gbp(2_000),
        vat_treatment: sla::VatTreatment::Standard as i32,
        account: sla::Account::Hra as i32,
        benchmark_unit_cost: gbp(2_000),
    }
}

pub fn usage(agreement: &str) -> sla::UsageRecord {
    sla::UsageRecord {
        record_id: format!("matrix-usage-{}", rid_n()),
        agreement_id: agreement.into(),
        line_code: "IT".into(),
        period: month(2026, 12),
        quantity_milli: 1_000,
        corrects_record_id: String::new(),
        superseded: false,
    }
}

//! Value for money: what each line of an agreement cost per unit in a financial year against its
//! benchmark, and whether the agreement's review is done, due or overdue.

use std::collections::HashSet;

use almo_fields as fields;
use almo_proto::common;
use almo_proto::sla_charging as pb;
use almo_server::{AppError, Violations};
use chrono::{NaiveDate, Utc};
use sea_orm::EntityTrait;
use tonic::Request;

use super::SlaCharging;
use super::access::{visibility, visible_agreement};
use super::convert::{money, terms_to_proto};
use crate::billing;
use crate::domain::agreement::Terms;
use crate::domain::value_for_money::{
    ReviewStatus, actual_unit_cost, review_status, variance_basis_points,
};

impl SlaCharging {
    pub(super) async fn get_value_for_money(
        &self,
        request: Request<pb::GetValueForMoneyRequest>,
    ) -> Result<pb::GetValueForMoneyResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = v.field("agreement_id", fields::id(&r.agreement_id));
        let fy = match &r.financial_year {
            Some(y) => v.field("financial_year", fields::start_year(y.start_year)),
            None => {
                v.add(
                    "financial_year",
                    "required: the year the financial year starts in, e.g. 2026 for 2026/27",
                );
                None
            }
        };
        v.into_result()?;
        let (id, fy) = (id.expect("checked"), fy.expect("checked"));
        let conn = self.ctx.db.conn();
        let (a, versions) = visible_agreement(conn, &p, &vis, id).await?;
        let active = billing::active_terms(&versions)?;
        let years = billing::line_years(conn, &a.id, fy).await?;
        let mut lines = Vec::new();
        let mut seen = HashSet::new();
        // The latest terms describe each line; a line dropped by a variation keeps its last terms.
        for (_, terms) in active.iter().rev() {
            for l in &terms.lines {
                if !seen.insert(l.code.clone()) {
                    continue;
                }
                let y = years.get(&l.code).cloned().unwrap_or_default();
                let actual = actual_unit_cost(y.net_paid, y.units_milli);
                let variance = actual.and_then(|c| variance_basis_points(c, l.benchmark_unit_cost));
                let (proto_line, _) = terms_to_proto(&Terms {
                    lines: vec![l.clone()],
                    levels: vec![],
                });
                let pl = &proto_line[0];
                lines.push(pb::LineValue {
                    line_code: l.code.clone(),
                    service: l.service.clone(),
                    basis: pl.basis,
                    unit_name: pl.unit_name.clone(),
                    units_milli: y.units_milli,
                    net_paid: money(y.net_paid),
                    unit_price: money(l.unit_price),
                    actual_unit_cost: actual.and_then(money),
                    benchmark_unit_cost: money(l.benchmark_unit_cost),
                    variance_basis_points: variance.unwrap_or(0),
                    above_benchmark: variance.is_some_and(|v| v > 0),
                });
            }
        }
        lines.sort_by(|x, y| x.line_code.cmp(&y.line_code));
        let almo = almo_db::entity::organisation::Entity::find_by_id(a.customer_almo_id.clone())
            .one(conn)
            .await?;
        let go_live = almo.and_then(|o| o.go_live_date);
        let agreed: Vec<NaiveDate> = active.iter().map(|(d, _)| *d).collect();
        let (status, date) = match go_live
            .map(|g| review_status(g, &agreed, Utc::now().date_naive()))
        {
            Some(ReviewStatus::Done { on }) => (pb::ReviewStatus::Done, on.to_string()),
            Some(ReviewStatus::Due { by }) => (pb::ReviewStatus::Due, by.to_string()),
            Some(ReviewStatus::Overdue { since }) => (pb::ReviewStatus::Overdue, since.to_string()),
            None => (pb::ReviewStatus::Unspecified, String::new()),
        };
        Ok(pb::GetValueForMoneyResponse {
            agreement_id: a.id.clone(),
            financial_year: Some(common::FinancialYear { start_year: fy }),
            lines,
            go_live_date: go_live.map(|d| d.to_string()).unwrap_or_default(),
            review_status: status as i32,
            review_date: date,
        })
    }
}

//! GetPlanStatus: every target's status and trend by period, its milestones, open exceptions
//! and the Decent Homes countdown.

use std::collections::HashMap;

use almo_proto::delivery_plan::{self as pb};
use almo_server::AppError;
use tonic::Request;

use super::DeliveryPlans;
use super::convert::{
    countdown_to_proto, direction_to_proto, exception_to_proto, figure_of, history_of,
    period_to_proto, plan_to_proto, rag_to_proto, span_of, trend_to_proto,
};
use crate::domain::countdown::countdown;
use crate::domain::period::PeriodKind;
use crate::domain::plan::{DecentHomes, History, Span, Target};
use crate::domain::status::{Assessed, Figure, assess_milestones, assess_target, latest_status};
use crate::storage;

/// Figures grouped by their target's code.
pub(super) fn by_target<'a>(
    figures: impl IntoIterator<Item = &'a Figure>,
) -> HashMap<&'a str, Vec<&'a Figure>> {
    let mut out: HashMap<&str, Vec<&Figure>> = HashMap::new();
    for f in figures {
        out.entry(f.target_code.as_str()).or_default().push(f);
    }
    out
}

fn target_status(
    history: &History,
    t: &Target,
    grouped: &HashMap<&str, Vec<&Figure>>,
    in_exception: bool,
) -> pb::TargetStatus {
    let own = || grouped.get(t.code.as_str()).into_iter().flatten().copied();
    let assessed: Vec<Assessed> = assess_target(history, &t.code, own());
    let milestones = assess_milestones(history, &t.code, own())
        .into_iter()
        .map(|m| pb::MilestoneStatus {
            date: m.date.to_string(),
            target: m.target,
            reached: m.period.is_some(),
            period: m.period.map(period_to_proto),
            judged: m.judged.unwrap_or_default(),
            status: rag_to_proto(m.rag) as i32,
        })
        .collect();
    pb::TargetStatus {
        code: t.code.clone(),
        name: t.name.clone(),
        direction: direction_to_proto(t.direction) as i32,
        latest_status: rag_to_proto(latest_status(&assessed)) as i32,
        in_exception,
        milestones,
        periods: assessed
            .iter()
            .map(|a| pb::PeriodStatus {
                period: Some(period_to_proto(a.period)),
                actual: a.actual,
                target: a.target.unwrap_or_default(),
                status: rag_to_proto(a.rag) as i32,
                trend: trend_to_proto(a.trend) as i32,
                forecast: a.forecast,
                commentary: a.commentary.clone(),
                judged: a.judged,
            })
            .collect(),
    }
}

fn decent_homes_countdown(
    dh: &DecentHomes,
    span: Span,
    figures: &[Figure],
) -> pb::DecentHomesCountdown {
    let progress: Vec<&Figure> = figures
        .iter()
        .filter(|f| f.target_code == dh.progress_target_code)
        .collect();
    // Count months when the sender reports monthly, else quarters: never both, which would
    // count the same homes twice.
    let monthly = progress.iter().any(|f| f.period.kind == PeriodKind::Month);
    let counted: Vec<&&Figure> = progress
        .iter()
        .filter(|f| (f.period.kind == PeriodKind::Month) == monthly)
        .collect();
    let made: i64 = counted.iter().map(|f| f.actual.round() as i64).sum();
    let as_of = counted
        .iter()
        .map(|f| f.period.end_date())
        .max()
        .unwrap_or(span.start());
    countdown_to_proto(&countdown(
        dh.non_decent_at_baseline,
        span.start(),
        dh.target_date,
        made,
        as_of,
    ))
}

impl DeliveryPlans {
    pub(super) async fn get_plan_status(
        &self,
        request: Request<pb::GetPlanStatusRequest>,
    ) -> Result<pb::GetPlanStatusResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let plan = self.visible_plan(&p, &request.get_ref().plan_id).await?;
        let conn = self.ctx.db.conn();
        let version_rows = storage::versions(conn, &plan.id).await?;
        let history = history_of(&plan, &version_rows)?;
        let figures = storage::current_variances(conn, &plan.id)
            .await?
            .iter()
            .map(figure_of)
            .collect::<Result<Vec<_>, AppError>>()?;
        let open = storage::open_exceptions(conn, &plan.id).await?;
        let latest = history.latest();
        let grouped = by_target(&figures);
        let targets = latest
            .content
            .targets
            .iter()
            .map(|t| {
                let in_exception = open.iter().any(|e| e.target_code == t.code);
                target_status(&history, t, &grouped, in_exception)
            })
            .collect();
        let decent_homes = latest
            .content
            .decent_homes
            .as_ref()
            .map(|dh| decent_homes_countdown(dh, span_of(&plan), &figures));
        let latest_row = version_rows
            .last()
            .ok_or_else(|| AppError::Internal(format!("plan {} has no versions", plan.id)))?;
        let closure = crate::lifecycle::closure_of(self.ctx.db.conn(), &plan.id).await?;
        Ok(pb::GetPlanStatusResponse {
            plan: Some(plan_to_proto(&plan, latest_row)?),
            targets,
            decent_homes,
            open_exceptions: open.iter().map(exception_to_proto).collect(),
            closed_date: closure
                .as_ref()
                .map(|c| c.closed_on.to_string())
                .unwrap_or_default(),
            closed_reason: closure.map(|c| c.reason).unwrap_or_default(),
        })
    }
}

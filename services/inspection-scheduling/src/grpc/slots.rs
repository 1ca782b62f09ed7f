//! Finding the weeks an ALMO could be inspected in, each with its team and soft score or the hard
//! rules that rule it out.

use std::collections::HashMap;

use almo_proto::inspection as pb;
use almo_server::{AppError, Violations};
use tonic::Request;

use super::InspectionScheduling;
use super::access::{almo_row, require_inspectorate};
use super::convert::{
    broken_rules_to_proto, gbp, good_and_promising, member, penalties_to_proto, target_of,
};
use crate::domain::DateRange;
use crate::domain::fee::{ROUNDS_1_AND_2, fee_estimate};
use crate::domain::lifecycle::default_span_weeks;
use crate::domain::slots::{Candidate, Verdict, find_slots};
use crate::domain::team::{Inspector, required_team};
use crate::storage;
use almo_fields as fields;

/// Longest window FindSlots searches.
const MAX_WINDOW_DAYS: i64 = 731;

/// The search window and the number of weeks to return, checked.
fn window(r: &pb::FindSlotsRequest) -> Result<(DateRange, usize), AppError> {
    let mut v = Violations::new();
    v.check(r.almo_id.trim().is_empty(), "almo_id", "required");
    let s = v.field("window_start_date", fields::date(&r.window_start_date));
    let e = v.field("window_end_date", fields::date(&r.window_end_date));
    let window = match (s, e) {
        (Some(s), Some(e)) => {
            let w = DateRange::new(s, e);
            v.check(w.is_none(), "window_end_date", "before window_start_date");
            v.check(
                (e - s).num_days() > MAX_WINDOW_DAYS,
                "window_end_date",
                "the window is at most two years",
            );
            w
        }
        _ => None,
    };
    v.check(
        !(0..=52).contains(&r.max_slots),
        "max_slots",
        "0 (for 5) to 52",
    );
    v.into_result()?;
    let max = if r.max_slots == 0 {
        5
    } else {
        r.max_slots as usize
    };
    Ok((window.expect("validated"), max))
}

impl InspectionScheduling {
    pub(super) async fn find_slots(
        &self,
        request: Request<pb::FindSlotsRequest>,
    ) -> Result<pb::FindSlotsResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let (window, max) = window(r)?;
        require_inspectorate(&p, "search for inspection slots")?;
        let conn = self.ctx.db.conn();
        let almo = almo_row(conn, r.almo_id.trim()).await?;
        let stored = storage::readiness(conn, &almo.id).await?;
        let readiness = stored.to_domain(almo.go_live_date, almo.end_date);
        let (history, previous) = storage::history(conn, &almo.id).await?;
        let target = target_of(&almo, previous.map(|(s, _)| s));
        let staff = storage::staff(conn, None).await?;
        let people: Vec<Inspector> = staff.iter().map(|m| m.domain.clone()).collect();
        let names: HashMap<&str, (&str, &str)> = staff
            .iter()
            .map(|m| {
                (
                    m.row.id.as_str(),
                    (m.row.name.as_str(), m.row.role.as_str()),
                )
            })
            .collect();
        let candidate = Candidate {
            target: &target,
            readiness: &readiness,
            history: &history,
            previous_good_and_promising: good_and_promising(previous),
        };
        let weeks = find_slots(&candidate, &people, window, max);
        let need = required_team(target.stock_size, target.previous_stars);
        let slots = weeks
            .into_iter()
            .map(|w| {
                let mut slot = pb::Slot {
                    on_site_start_date: w.week.start.to_string(),
                    on_site_end_date: w.week.end.to_string(),
                    ..Default::default()
                };
                match w.verdict {
                    Verdict::Feasible { team, score } => {
                        slot.feasible = true;
                        slot.soft_score = score.total() as i32;
                        slot.team = team
                            .iter()
                            .map(|id| {
                                let (name, role) =
                                    names.get(id.as_str()).copied().unwrap_or_default();
                                member(id, name, role)
                            })
                            .collect();
                        slot.penalties = penalties_to_proto(&score);
                    }
                    Verdict::RuledOut(rules) => slot.broken_rules = broken_rules_to_proto(&rules),
                }
                slot
            })
            .collect();
        Ok(pb::FindSlotsResponse {
            slots,
            required_inspectors: need.inspectors as i32,
            required_tias: need.tias as i32,
            fee_estimate: Some(gbp(fee_estimate(
                target.stock_size,
                target.previous_stars,
                ROUNDS_1_AND_2,
            ))),
            span_weeks: default_span_weeks(target.stock_size, good_and_promising(previous)) as i32,
        })
    }
}

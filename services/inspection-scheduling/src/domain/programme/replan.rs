//! An inspector drops out: every placement without them stays as it was; in each one with them,
//! the same week and the rest of the team are kept and one replacement of the same role swapped
//! in where the rules allow; only when no one can be swapped in is that inspection placed again,
//! and when it cannot be placed at all its booking is listed for cancellation, each week of the
//! quarter with its true reason (judged without the inspector who dropped out).

use super::{Assignment, Programme, ProgrammeRequest, book, schedule};
use crate::domain::on_site_week;
use crate::domain::slots::soft_score;
use crate::domain::team::{Inspector, team_rules};

pub fn replan_without(
    req: &ProgrammeRequest<'_>,
    previous: &Programme,
    dropped: &str,
) -> Programme {
    let people: Vec<Inspector> = req
        .people
        .iter()
        .filter(|p| p.id != dropped)
        .cloned()
        .collect();
    let role = req.people.iter().find(|p| p.id == dropped).map(|p| p.role);
    let touched = |a: &Assignment| a.team.iter().any(|t| t == dropped);
    let mut kept: Vec<Assignment> = Vec::new();
    let mut affected: Vec<Assignment> = Vec::new();
    for a in req
        .pinned
        .iter()
        .chain(previous.assignments.iter().map(|a| &a.assignment))
    {
        if kept.iter().chain(&affected).any(|k| k.almo_id == a.almo_id) {
            continue;
        }
        if touched(a) {
            affected.push(a.clone());
        } else {
            kept.push(Assignment {
                pinned: true,
                ..a.clone()
            });
        }
    }
    let mut booked = people.clone();
    for k in &kept {
        book(&mut booked, &k.team, k.week_start, &k.almo_id);
    }
    for a in &affected {
        let Some(pa) = req.almos.iter().find(|x| x.target.almo_id == a.almo_id) else {
            continue;
        };
        let week = on_site_week(a.week_start);
        let rest: Vec<String> = a.team.iter().filter(|t| *t != dropped).cloned().collect();
        let mut best: Option<(u32, String)> = None;
        for cand in booked
            .iter()
            .filter(|p| Some(p.role) == role && !rest.contains(&p.id))
        {
            let mut team = rest.clone();
            team.push(cand.id.clone());
            let members: Vec<&Inspector> = team
                .iter()
                .filter_map(|id| booked.iter().find(|p| &p.id == id))
                .collect();
            if !team_rules(&pa.target, &members, week).is_empty() {
                continue;
            }
            let score = soft_score(&pa.candidate(), &booked, &members, week).total();
            if best
                .as_ref()
                .is_none_or(|b| (score, &cand.id) < (b.0, &b.1))
            {
                best = Some((score, cand.id.clone()));
            }
        }
        if let Some((_, id)) = best {
            let mut team = rest;
            team.push(id);
            book(&mut booked, &team, a.week_start, &a.almo_id);
            kept.push(Assignment {
                team,
                pinned: true,
                ..a.clone()
            });
        }
    }
    let mut next = schedule(&ProgrammeRequest {
        people: &people,
        pinned: &kept,
        ..req.clone()
    });
    // Kept and swapped placements are reported as the caller pinned them, or not.
    for a in &mut next.assignments {
        a.assignment.pinned = req.pinned.iter().any(|p| p == &a.assignment);
    }
    // A booking whose ALMO the re-plan cannot place again is cancelled.
    next.cancelled = affected
        .into_iter()
        .filter(|a| next.unscheduled.iter().any(|u| u.almo_id == a.almo_id))
        .collect();
    next
}

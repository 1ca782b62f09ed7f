//! Finding on-site weeks for one ALMO: every week in a window is either ruled out by named hard
//! rules or feasible with a proposed team and a soft score that explains each penalty.

use chrono::NaiveDate;

use super::lifecycle::{default_span_weeks, planned_dates};
use super::readiness::{History, Readiness, almo_rules};
use super::team::{Inspector, InspectorRole, Target, is_own_landlord, not_free, required_team};
use super::{DateRange, HardRule, add_weeks, monday_on_or_after, on_site_week};

/// At most this many weeks are examined in one search (two years).
pub const MAX_WEEKS_SCANNED: usize = 104;

/// One soft penalty and why it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Penalty {
    /// Stable name of the soft rule.
    pub rule: &'static str,
    pub points: u32,
    pub justification: String,
}

/// Lower is better; 0 is a week with nothing to regret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SoftScore {
    pub penalties: Vec<Penalty>,
}

impl SoftScore {
    pub fn total(&self) -> u32 {
        self.penalties.iter().map(|p| p.points).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Feasible {
        /// Inspector ids: the lead first, then inspectors, then TIAs.
        team: Vec<String>,
        score: SoftScore,
    },
    RuledOut(Vec<HardRule>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekAssessment {
    pub week: DateRange,
    pub verdict: Verdict,
}

/// Everything the search needs to know about one ALMO.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub target: &'a Target,
    pub readiness: &'a Readiness,
    pub history: &'a History,
    /// Whether a good or excellent previous score with promising prospects shortens the span.
    pub previous_good_and_promising: bool,
}

fn has_inspected(i: &Inspector, t: &Target) -> bool {
    i.inspected
        .iter()
        .any(|o| *o == t.almo_id || *o == t.council_id)
}

/// On-site weeks already booked within eight weeks either side: the even-workload measure.
fn nearby_load(i: &Inspector, week: DateRange) -> usize {
    i.booked
        .iter()
        .filter(|(p, _)| p.gap_days(&week) <= 56)
        .count()
}

/// Picks a team for `week` that keeps every team hard rule, preferring (003 §111) someone who has
/// inspected the authority before and someone from another region, then the lighter workload,
/// then the id (so the choice is deterministic). Errors name what could not be staffed.
pub fn choose_team<'a>(
    t: &Target,
    people: &'a [Inspector],
    week: DateRange,
) -> Result<Vec<&'a Inspector>, Vec<HardRule>> {
    let need = required_team(t.stock_size, t.previous_stars);
    let free = |role: InspectorRole| {
        let mut v: Vec<&Inspector> = people
            .iter()
            .filter(|i| i.role == role && not_free(i, week).is_none())
            .filter(|i| !is_own_landlord(i, t))
            .collect();
        v.sort_by_key(|i| {
            (
                !has_inspected(i, t),
                i.region == t.region,
                nearby_load(i, week),
                i.id.clone(),
            )
        });
        v
    };
    let leads = free(InspectorRole::Lead);
    let inspectors = free(InspectorRole::Inspector);
    let tias = free(InspectorRole::Tia);
    let mut broken = Vec::new();
    if leads.is_empty() {
        broken.push(HardRule::NoLeadAvailable);
    }
    if inspectors.len() < need.inspectors - 1 {
        broken.push(HardRule::NotEnoughInspectors {
            required: need.inspectors,
            free: inspectors.len() + usize::from(!leads.is_empty()),
        });
    }
    if tias.len() < need.tias {
        // 003 §35, §111: when the TIAs free that week rent from the ALMO or its council, that is
        // the rule that stops the week (as a booking with them is refused), not "no TIA".
        let own_landlord: Vec<HardRule> = people
            .iter()
            .filter(|i| is_own_landlord(i, t) && not_free(i, week).is_none())
            .map(|i| HardRule::TiaOwnLandlord {
                inspector: i.id.clone(),
                landlord: i.tenant_of.clone().unwrap_or_default(),
            })
            .collect();
        if own_landlord.is_empty() {
            broken.push(HardRule::NoTia);
        } else {
            broken.extend(own_landlord);
        }
    }
    if !broken.is_empty() {
        return Err(broken);
    }
    let mut team = vec![leads[0]];
    team.extend(inspectors.into_iter().take(need.inspectors - 1));
    team.extend(tias.into_iter().take(need.tias));
    Ok(team)
}

/// The soft score of `team` on site in `week` for the candidate ALMO.
pub fn soft_score(
    c: &Candidate<'_>,
    people: &[Inspector],
    team: &[&Inspector],
    week: DateRange,
) -> SoftScore {
    let t = c.target;
    let mut penalties = Vec::new();
    // 003 §111: an inspector who inspected that authority before, wherever possible: only when
    // someone who did could serve that week (not on leave, not booked, not the ALMO's tenant).
    let could_have: Vec<&str> = people
        .iter()
        .filter(|i| has_inspected(i, t) && not_free(i, week).is_none() && !is_own_landlord(i, t))
        .map(|i| i.id.as_str())
        .collect();
    if !could_have.is_empty() && !team.iter().any(|i| has_inspected(i, t)) {
        penalties.push(Penalty {
            rule: "previous_inspector",
            points: 3,
            justification: format!(
                "nobody in the team has inspected {} or its council before, though {} (who {}) could have served that week (003 §111)",
                t.almo_id,
                could_have.join(", "),
                if could_have.len() == 1 { "has" } else { "have" },
            ),
        });
    }
    // 003 §111: an inspector from another region.
    if !team
        .iter()
        .any(|i| i.role.counts_as_inspector() && i.region != t.region)
    {
        penalties.push(Penalty {
            rule: "other_region",
            points: 2,
            justification: format!("every inspector is from {} (003 §111)", t.region),
        });
    }
    // 003 §94: observe a board meeting during the on-site period, or slightly before or after.
    let nearest = c
        .readiness
        .board_meetings
        .iter()
        .map(|m| (DateRange { start: *m, end: *m }.gap_days(&week), *m))
        .min();
    match nearest {
        Some((0, _)) => {}
        Some((gap, m)) if gap <= 7 => penalties.push(Penalty {
            rule: "board_meeting",
            points: 1,
            justification: format!(
                "board meeting {m} is {gap} days outside the on-site week (003 §94)"
            ),
        }),
        _ => penalties.push(Penalty {
            rule: "board_meeting",
            points: 2,
            justification: "no board meeting to observe during the on-site week (003 §94)".into(),
        }),
    }
    // 000 §9.1: inspection fatigue; keep away from the ALMO's other audits and inspections.
    for b in &c.readiness.blackouts {
        let gap = b.period.gap_days(&week);
        if (1..21).contains(&gap) {
            penalties.push(Penalty {
                rule: "audit_distance",
                points: (21 - gap as u32) / 7 + 1,
                justification: format!(
                    "{gap} days from {} {} (000 §9.1, inspection fatigue)",
                    b.label, b.period
                ),
            });
        }
    }
    // The ALMO's funding date: the score letter is the date it qualifies (003 §117).
    if let Some(needed) = c.readiness.funding_needed_by {
        let span = default_span_weeks(t.stock_size, c.previous_good_and_promising);
        if let Ok(planned) = planned_dates(week.start, span) {
            let letter = planned[3];
            if letter > needed {
                let weeks_late = ((letter - needed).num_days() + 6) / 7;
                penalties.push(Penalty {
                    rule: "funding_date",
                    points: weeks_late.min(20) as u32,
                    justification: format!(
                        "score letter planned {letter} is {weeks_late} weeks after the funding date {needed}"
                    ),
                });
            }
        }
    }
    // Even workload.
    for i in team {
        let load = nearby_load(i, week);
        if load > 0 {
            penalties.push(Penalty {
                rule: "workload",
                points: load as u32,
                justification: format!(
                    "{} already has {load} on-site weeks within eight weeks",
                    i.id
                ),
            });
        }
    }
    SoftScore { penalties }
}

/// Assesses each on-site week (Mondays) from the start of `window` until `max_feasible` feasible
/// weeks are found or the window ends.
pub fn find_slots(
    c: &Candidate<'_>,
    people: &[Inspector],
    window: DateRange,
    max_feasible: usize,
) -> Vec<WeekAssessment> {
    let mut out = Vec::new();
    let mut feasible = 0;
    let mut monday = monday_on_or_after(window.start);
    while monday <= window.end && feasible < max_feasible && out.len() < MAX_WEEKS_SCANNED {
        out.push(assess_week(c, people, monday));
        if matches!(
            out.last().map(|a| &a.verdict),
            Some(Verdict::Feasible { .. })
        ) {
            feasible += 1;
        }
        monday = add_weeks(monday, 1);
    }
    out
}

/// One week: its hard-rule verdict, and when it is feasible, a team and its soft score.
pub fn assess_week(c: &Candidate<'_>, people: &[Inspector], monday: NaiveDate) -> WeekAssessment {
    let week = on_site_week(monday);
    let mut broken = almo_rules(c.readiness, c.history, week);
    let verdict = match choose_team(c.target, people, week) {
        Ok(team) if broken.is_empty() => Verdict::Feasible {
            team: team.iter().map(|i| i.id.clone()).collect(),
            score: soft_score(c, people, &team, week),
        },
        Ok(_) => Verdict::RuledOut(broken),
        Err(team_broken) => {
            broken.extend(team_broken);
            Verdict::RuledOut(broken)
        }
    };
    WeekAssessment { week, verdict }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::readiness::tests::{d, table7_readiness};
    use crate::domain::readiness::{BestValueService, Blackout};
    use crate::domain::team::team_rules;
    use crate::domain::team::tests::person;
    use proptest::prelude::*;

    fn target() -> Target {
        Target {
            almo_id: "TABLE7-HOMES".into(),
            council_id: "E08000099".into(),
            region: "North West".into(),
            stock_size: 8_000,
            previous_stars: None,
        }
    }

    fn staff() -> Vec<Inspector> {
        let mut tia_own = person("T-OWN", InspectorRole::Tia, "North West");
        tia_own.tenant_of = Some("E08000099".into());
        let mut tia = person("T-OTHER", InspectorRole::Tia, "London");
        tia.tenant_of = Some("LAMBETH-LIVING".into());
        vec![
            person("L-NW", InspectorRole::Lead, "North West"),
            person("I-LON", InspectorRole::Inspector, "London"),
            person("I-NW", InspectorRole::Inspector, "North West"),
            tia_own,
            tia,
        ]
    }

    #[test]
    fn find_slots_names_the_hard_rule_of_each_ruled_out_week() {
        let mut r = table7_readiness();
        r.best_value_reviews[BestValueService::RentCollection.index()] = Some(d("2004-05-07"));
        r.blackouts.push(Blackout {
            label: "internal audit".into(),
            period: DateRange::new(d("2004-05-10"), d("2004-05-14")).unwrap(),
        });
        r.board_meetings.push(d("2004-05-19"));
        let t = target();
        let h = History::default();
        let c = Candidate {
            target: &t,
            readiness: &r,
            history: &h,
            previous_good_and_promising: false,
        };
        let mut people = staff();
        // The only other TIA is away the week of 24 May.
        people[4]
            .unavailable
            .push(DateRange::new(d("2004-05-24"), d("2004-05-28")).unwrap());
        let window = DateRange::new(d("2004-04-19"), d("2004-07-30")).unwrap();
        let weeks = find_slots(&c, &people, window, 2);
        let reasons: Vec<(String, Vec<String>)> = weeks
            .iter()
            .map(|w| {
                let why = match &w.verdict {
                    Verdict::RuledOut(rules) => rules.iter().map(ToString::to_string).collect(),
                    Verdict::Feasible { .. } => vec![],
                };
                (w.week.start.to_string(), why)
            })
            .collect();
        assert_eq!(reasons[0].0, "2004-04-19");
        assert!(reasons[0].1[0].starts_with("before six months after go-live"));
        assert!(
            reasons[0]
                .1
                .contains(&"Best Value review of rent collection not complete".into())
        );
        // 3 May: six months passed, but the rent collection review completes on 7 May.
        assert_eq!(
            reasons[2],
            (
                "2004-05-03".into(),
                vec!["Best Value review of rent collection not complete".into()]
            )
        );
        assert_eq!(
            reasons[3],
            (
                "2004-05-10".into(),
                vec!["clashes with internal audit 2004-05-10..14".into()]
            )
        );
        // 17 May is feasible, with the board meeting of the 19th inside the on-site week.
        let Verdict::Feasible { team, score } = &weeks[4].verdict else {
            panic!("17 May should be feasible: {:?}", weeks[4]);
        };
        assert_eq!(team, &["L-NW", "I-LON", "T-OTHER"]);
        assert!(!team.contains(&"T-OWN".to_string()));
        assert!(score.penalties.iter().all(|p| p.rule != "board_meeting"));
        // 3 days after the internal audit: a fatigue penalty, with its justification.
        assert!(
            score
                .penalties
                .iter()
                .any(|p| p.rule == "audit_distance" && p.justification.contains("internal audit"))
        );
        // The other TIA away, the one free rents from the council: the week names that rule.
        assert_eq!(
            reasons[5],
            (
                "2004-05-24".into(),
                vec![
                    "TIA T-OWN is a tenant of E08000099 and may not inspect their own landlord"
                        .into()
                ]
            )
        );
        let Verdict::RuledOut(rules) = &weeks[5].verdict else {
            panic!("24 May should be ruled out");
        };
        assert_eq!(rules[0].code(), "TIA_OWN_LANDLORD");
        assert!(matches!(weeks[6].verdict, Verdict::Feasible { .. }));
        assert_eq!(weeks.len(), 7);
    }

    #[test]
    fn previous_inspector_counts_only_inspectors_available_that_week() {
        let r = table7_readiness();
        let t = target();
        let h = History::default();
        let c = Candidate {
            target: &t,
            readiness: &r,
            history: &h,
            previous_good_and_promising: false,
        };
        let monday = d("2004-05-17");
        let week = on_site_week(monday);
        let mut people = staff();
        // I-NW inspected the council before; the team is drawn without them.
        people[2].inspected.push("E08000099".into());
        let team: Vec<&Inspector> = [0, 1, 4].iter().map(|i| &people[*i]).collect();
        let penalty = |people: &[Inspector]| {
            soft_score(&c, people, &team, week)
                .penalties
                .into_iter()
                .find(|p| p.rule == "previous_inspector")
        };
        let p = penalty(&people).expect("I-NW was free that week");
        assert_eq!(p.points, 3);
        assert!(
            p.justification
                .contains("though I-NW (who has) could have served that week"),
            "{}",
            p.justification
        );
        // On leave that week, or already booked: nobody free could have come, no penalty.
        let mut away = people.clone();
        away[2].unavailable.push(week);
        assert_eq!(penalty(&away), None);
        let mut booked = people.clone();
        booked[2].booked.push((week, "ELSEWHERE-2004-05-17".into()));
        assert_eq!(penalty(&booked), None);
        // FindSlots with I-NW away: the week's team is penalised for nothing it could have done.
        let window = DateRange::new(monday, monday + chrono::Days::new(4)).unwrap();
        let weeks = find_slots(&c, &away, window, 1);
        let Verdict::Feasible { score, .. } = &weeks[0].verdict else {
            panic!("17 May should be feasible: {:?}", weeks[0]);
        };
        assert!(
            score
                .penalties
                .iter()
                .all(|p| p.rule != "previous_inspector"),
            "{score:?}"
        );
    }

    fn arb_inspector(id: usize) -> impl Strategy<Value = Inspector> {
        (
            0..3usize,
            prop::bool::ANY,
            prop::option::of(0..3usize),
            prop::collection::vec((0u32..20, 0u32..10), 0..3),
            prop::collection::vec(0u32..20, 0..3),
        )
            .prop_map(move |(role, london, tenant, leave, booked)| {
                let role = [
                    InspectorRole::Lead,
                    InspectorRole::Inspector,
                    InspectorRole::Tia,
                ][role];
                let mut i = person(
                    &format!("P{id}"),
                    role,
                    if london { "London" } else { "North West" },
                );
                if role == InspectorRole::Tia {
                    i.tenant_of =
                        tenant.map(|t| ["TABLE7-HOMES", "E08000099", "ELSEWHERE"][t].to_string());
                }
                let base = d("2004-04-05");
                i.unavailable = leave
                    .into_iter()
                    .map(|(w, len)| {
                        let s = add_weeks(base, w);
                        DateRange::new(s, s + chrono::Days::new(u64::from(len))).unwrap()
                    })
                    .collect();
                i.booked = booked
                    .into_iter()
                    .map(|w| (on_site_week(add_weeks(base, w)), format!("B{w}")))
                    .collect();
                i
            })
    }

    fn arb_staff() -> impl Strategy<Value = Vec<Inspector>> {
        (1..10usize).prop_flat_map(|n| (0..n).map(arb_inspector).collect::<Vec<_>>())
    }

    #[test]
    fn find_slots_names_the_tia_own_landlord_conflict() {
        let r = table7_readiness();
        let t = target();
        let h = History::default();
        let c = Candidate {
            target: &t,
            readiness: &r,
            history: &h,
            previous_good_and_promising: false,
        };
        let window = DateRange::new(d("2004-05-17"), d("2004-05-30")).unwrap();
        // Only the council's tenant: every week names TIA_OWN_LANDLORD, never "no TIA".
        let people: Vec<Inspector> = staff().into_iter().filter(|p| p.id != "T-OTHER").collect();
        let weeks = find_slots(&c, &people, window, 5);
        assert_eq!(weeks.len(), 2);
        for w in weeks {
            assert_eq!(
                w.verdict,
                Verdict::RuledOut(vec![HardRule::TiaOwnLandlord {
                    inspector: "T-OWN".into(),
                    landlord: "E08000099".into(),
                }]),
                "{}",
                w.week
            );
        }
        // No TIA at all: "no TIA available".
        let people: Vec<Inspector> = people.into_iter().filter(|p| p.id != "T-OWN").collect();
        for w in find_slots(&c, &people, window, 5) {
            assert_eq!(w.verdict, Verdict::RuledOut(vec![HardRule::NoTia]));
        }
    }

    proptest! {
        /// No week offered as feasible ever breaks a hard rule, whatever the staff and readiness.
        #[test]
        fn no_offered_slot_breaks_a_hard_rule(
            people in arb_staff(),
            stock in 1_000u32..50_000,
            stars in prop::option::of(0u8..=3),
            rent_done in 0u32..20,
            audit in 0u32..20,
        ) {
            let mut t = target();
            t.stock_size = stock;
            t.previous_stars = stars;
            let mut r = table7_readiness();
            let base = d("2004-04-05");
            r.best_value_reviews[BestValueService::RentCollection.index()] = Some(add_weeks(base, rent_done));
            r.blackouts.push(Blackout {
                label: "internal audit".into(),
                period: DateRange::new(add_weeks(base, audit), add_weeks(base, audit) + chrono::Days::new(9)).unwrap(),
            });
            let h = History::default();
            let c = Candidate { target: &t, readiness: &r, history: &h, previous_good_and_promising: false };
            let window = DateRange::new(base, add_weeks(base, 22)).unwrap();
            for w in find_slots(&c, &people, window, 30) {
                if let Verdict::Feasible { team, .. } = &w.verdict {
                    let members: Vec<&Inspector> = team
                        .iter()
                        .map(|id| people.iter().find(|p| &p.id == id).unwrap())
                        .collect();
                    prop_assert!(team_rules(&t, &members, w.week).is_empty(), "{:?}", w);
                    prop_assert!(almo_rules(&r, &h, w.week).is_empty(), "{:?}", w);
                }
            }
        }
    }
}

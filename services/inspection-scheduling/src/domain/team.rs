//! The inspection team (003 §111): its size by stock and previous score, one lead, at least one
//! tenant inspection adviser who is never a tenant of the landlord inspected, and nobody who is
//! unavailable or already on another inspection that week.

use super::{DateRange, HardRule};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InspectorRole {
    Lead,
    Inspector,
    /// Tenant inspection adviser.
    Tia,
}

impl InspectorRole {
    pub fn as_str(self) -> &'static str {
        match self {
            InspectorRole::Lead => "lead",
            InspectorRole::Inspector => "inspector",
            InspectorRole::Tia => "tia",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "lead" => Some(InspectorRole::Lead),
            "inspector" => Some(InspectorRole::Inspector),
            "tia" => Some(InspectorRole::Tia),
            _ => None,
        }
    }

    /// Leads and inspectors make up the team size of §111; TIAs come on top.
    pub fn counts_as_inspector(self) -> bool {
        matches!(self, InspectorRole::Lead | InspectorRole::Inspector)
    }
}

/// One member of the inspectorate's staff as the rules see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspector {
    pub id: String,
    pub role: InspectorRole,
    pub region: String,
    /// For a TIA: the landlord (a council or an ALMO) whose tenant they are.
    pub tenant_of: Option<String>,
    pub unavailable: Vec<DateRange>,
    /// On-site weeks already booked, with the inspection.
    pub booked: Vec<(DateRange, String)>,
    /// Organisations (ALMOs and councils) this person has inspected before.
    pub inspected: Vec<String>,
}

/// The ALMO to be inspected, as the team rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub almo_id: String,
    pub council_id: String,
    pub region: String,
    pub stock_size: u32,
    /// Stars of the previous inspection of this ALMO or its housing service, if any.
    pub previous_stars: Option<u8>,
}

/// How many inspectors (the lead included) and TIAs an inspection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeamSize {
    pub inspectors: usize,
    pub tias: usize,
}

/// 003 §111: "the number of inspectors used will depend upon the size of the stock and any
/// previous inspection scores". A good or excellent previous score makes the inspection less
/// intensive (003 §102), a poor one more so.
pub fn required_team(stock_size: u32, previous_stars: Option<u8>) -> TeamSize {
    let by_stock: usize = match stock_size {
        0..10_000 => 2,
        10_000..25_000 => 3,
        25_000..40_000 => 4,
        _ => 5,
    };
    let inspectors = match previous_stars {
        Some(2..) => by_stock.saturating_sub(1).max(2),
        Some(0) => by_stock + 1,
        _ => by_stock,
    };
    TeamSize {
        inspectors,
        tias: 1,
    }
}

/// A TIA is a tenant of the ALMO's homes when they rent from the ALMO or from its council.
pub fn is_own_landlord(i: &Inspector, t: &Target) -> bool {
    i.role == InspectorRole::Tia
        && i.tenant_of
            .as_deref()
            .is_some_and(|l| l == t.almo_id || l == t.council_id)
}

/// Why `i` cannot be on site in `week`, if anything stops them.
pub fn not_free(i: &Inspector, week: DateRange) -> Option<HardRule> {
    if let Some(p) = i.unavailable.iter().find(|p| p.overlaps(&week)) {
        return Some(HardRule::InspectorUnavailable {
            inspector: i.id.clone(),
            period: *p,
        });
    }
    i.booked
        .iter()
        .find(|(p, _)| p.overlaps(&week))
        .map(|(_, id)| HardRule::InspectorDoubleBooked {
            inspector: i.id.clone(),
            inspection_id: id.clone(),
        })
}

/// Every team hard rule that `team` breaks for `target` in `week`.
pub fn team_rules(t: &Target, team: &[&Inspector], week: DateRange) -> Vec<HardRule> {
    let mut broken = Vec::new();
    let need = required_team(t.stock_size, t.previous_stars);
    let leads = team
        .iter()
        .filter(|i| i.role == InspectorRole::Lead)
        .count();
    if leads != 1 {
        broken.push(HardRule::LeadCount { leads });
    }
    let inspectors = team.iter().filter(|i| i.role.counts_as_inspector()).count();
    if inspectors != need.inspectors {
        broken.push(HardRule::TeamSize {
            required: need.inspectors,
            got: inspectors,
        });
    }
    if team.iter().filter(|i| i.role == InspectorRole::Tia).count() < need.tias {
        broken.push(HardRule::NoTia);
    }
    for i in team {
        if is_own_landlord(i, t) {
            broken.push(HardRule::TiaOwnLandlord {
                inspector: i.id.clone(),
                landlord: i.tenant_of.clone().unwrap_or_default(),
            });
        }
        if let Some(r) = not_free(i, week) {
            broken.push(r);
        }
    }
    broken
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::on_site_week;
    use crate::domain::readiness::tests::d;

    pub fn person(id: &str, role: InspectorRole, region: &str) -> Inspector {
        Inspector {
            id: id.into(),
            role,
            region: region.into(),
            tenant_of: None,
            unavailable: vec![],
            booked: vec![],
            inspected: vec![],
        }
    }

    pub fn lambeth_living() -> Target {
        Target {
            almo_id: "LAMBETH-LIVING".into(),
            council_id: "E09000022".into(),
            region: "London".into(),
            stock_size: 33_000,
            previous_stars: None,
        }
    }

    fn full_team() -> Vec<Inspector> {
        vec![
            person("L1", InspectorRole::Lead, "London"),
            person("I1", InspectorRole::Inspector, "North West"),
            person("I2", InspectorRole::Inspector, "London"),
            person("I3", InspectorRole::Inspector, "London"),
            person("T1", InspectorRole::Tia, "London"),
        ]
    }

    #[test]
    fn team_size_by_stock_size_and_previous_score() {
        assert_eq!(required_team(5_000, None).inspectors, 2);
        assert_eq!(required_team(16_000, None).inspectors, 3);
        assert_eq!(required_team(33_000, None).inspectors, 4);
        assert_eq!(required_team(42_000, None).inspectors, 5);
        // A good previous score: less intensive (003 §102); a poor one: more.
        assert_eq!(required_team(33_000, Some(2)).inspectors, 3);
        assert_eq!(required_team(5_000, Some(3)).inspectors, 2);
        assert_eq!(required_team(33_000, Some(0)).inspectors, 5);
        assert_eq!(required_team(33_000, None).tias, 1);

        let people = full_team();
        let t = lambeth_living();
        let week = on_site_week(d("2009-05-04"));
        let team: Vec<&Inspector> = people.iter().collect();
        assert!(team_rules(&t, &team, week).is_empty());
        let short: Vec<&Inspector> = people.iter().filter(|i| i.id != "I3").collect();
        assert_eq!(
            team_rules(&t, &short, week),
            vec![HardRule::TeamSize {
                required: 4,
                got: 3
            }]
        );
    }

    #[test]
    fn team_has_exactly_one_lead() {
        let mut people = full_team();
        people[1].role = InspectorRole::Lead;
        let team: Vec<&Inspector> = people.iter().collect();
        let broken = team_rules(&lambeth_living(), &team, on_site_week(d("2009-05-04")));
        assert_eq!(broken, vec![HardRule::LeadCount { leads: 2 }]);
    }

    #[test]
    fn team_has_at_least_one_tia() {
        let people = full_team();
        let team: Vec<&Inspector> = people.iter().filter(|i| i.id != "T1").collect();
        let broken = team_rules(&lambeth_living(), &team, on_site_week(d("2009-05-04")));
        assert_eq!(broken, vec![HardRule::NoTia]);
        assert_eq!(broken[0].to_string(), "no TIA available");
    }

    #[test]
    fn tia_never_inspects_own_landlord() {
        let t = lambeth_living();
        let week = on_site_week(d("2009-05-04"));
        for landlord in ["LAMBETH-LIVING", "E09000022"] {
            let mut people = full_team();
            people[4].tenant_of = Some(landlord.into());
            let team: Vec<&Inspector> = people.iter().collect();
            let broken = team_rules(&t, &team, week);
            assert_eq!(
                broken,
                vec![HardRule::TiaOwnLandlord {
                    inspector: "T1".into(),
                    landlord: landlord.into()
                }]
            );
        }
        // A tenant of another landlord is welcome.
        let mut people = full_team();
        people[4].tenant_of = Some("HOMES-FOR-HARINGEY".into());
        let team: Vec<&Inspector> = people.iter().collect();
        assert!(team_rules(&t, &team, week).is_empty());
    }

    #[test]
    fn inspector_never_booked_while_unavailable() {
        let mut people = full_team();
        let leave = DateRange::new(d("2009-05-01"), d("2009-05-08")).unwrap();
        people[2].unavailable.push(leave);
        let team: Vec<&Inspector> = people.iter().collect();
        let broken = team_rules(&lambeth_living(), &team, on_site_week(d("2009-05-04")));
        assert_eq!(broken.len(), 1);
        assert_eq!(
            broken[0].to_string(),
            "inspector I2 unavailable 2009-05-01..08"
        );
        assert!(team_rules(&lambeth_living(), &team, on_site_week(d("2009-05-11"))).is_empty());
    }

    #[test]
    fn inspector_never_double_booked() {
        let mut people = full_team();
        people[0]
            .booked
            .push((on_site_week(d("2009-05-04")), "INSP-9".into()));
        let team: Vec<&Inspector> = people.iter().collect();
        let broken = team_rules(&lambeth_living(), &team, on_site_week(d("2009-05-04")));
        assert_eq!(
            broken,
            vec![HardRule::InspectorDoubleBooked {
                inspector: "L1".into(),
                inspection_id: "INSP-9".into()
            }]
        );
    }
}

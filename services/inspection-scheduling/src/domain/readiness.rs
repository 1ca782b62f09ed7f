//! Whether an ALMO may be inspected in a given on-site week: six months after go-live, the Best
//! Value reviews done, its declared audits avoided, six months after the last report.

use chrono::NaiveDate;

use super::{DateRange, HardRule, add_months};

/// The key services whose Best Value reviews must be complete before the ALMO inspection
/// (003 §108–109; "any other service transferred" is left to the inspectors' judgement).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BestValueService {
    RepairsAndMaintenance,
    CapitalProgrammeDelivery,
    RentCollection,
    EstateManagement,
}

impl BestValueService {
    pub const ALL: [BestValueService; 4] = [
        BestValueService::RepairsAndMaintenance,
        BestValueService::CapitalProgrammeDelivery,
        BestValueService::RentCollection,
        BestValueService::EstateManagement,
    ];

    /// The name used in refusals ("Best Value review of rent collection not complete").
    pub fn label(self) -> &'static str {
        match self {
            BestValueService::RepairsAndMaintenance => "repairs and maintenance",
            BestValueService::CapitalProgrammeDelivery => "capital programme delivery",
            BestValueService::RentCollection => "rent collection",
            BestValueService::EstateManagement => "estate management",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Another audit or inspection the ALMO has told the inspectorate about (000 §9.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blackout {
    /// What it is, as the ALMO names it: "internal audit", "LA inspection".
    pub label: String,
    pub period: DateRange,
}

/// What the ALMO has declared, with its go-live date from the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readiness {
    pub go_live: Option<NaiveDate>,
    /// The day the ALMO was wound up, from the directory.
    pub end: Option<NaiveDate>,
    /// Completion dates, indexed by [`BestValueService::index`].
    pub best_value_reviews: [Option<NaiveDate>; 4],
    pub blackouts: Vec<Blackout>,
    pub board_meetings: Vec<NaiveDate>,
    pub funding_needed_by: Option<NaiveDate>,
}

/// What has happened to the ALMO's inspections so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Publication date of the latest published report.
    pub last_publication: Option<NaiveDate>,
    /// An inspection booked and not yet published.
    pub open_inspection: Option<String>,
}

/// The first day an ALMO may be inspected: six months after go-live (003 §96, §112: "for an ALMO
/// established in November 2003, the earliest possible inspection is likely to be May 2004").
pub fn earliest_inspection(go_live: NaiveDate) -> NaiveDate {
    add_months(go_live, 6)
}

/// The first day of a re-inspection: six months after the report's publication (003 §118,
/// 004 §4).
pub fn earliest_reinspection(published: NaiveDate) -> NaiveDate {
    add_months(published, 6)
}

/// Every ALMO-side hard rule the on-site period `week` breaks; empty when it may go ahead.
pub fn almo_rules(r: &Readiness, h: &History, week: DateRange) -> Vec<HardRule> {
    let mut broken = Vec::new();
    match r.go_live {
        None => broken.push(HardRule::NotLive),
        Some(go_live) => {
            let earliest = earliest_inspection(go_live);
            if week.start < earliest {
                broken.push(HardRule::BeforeSixMonthsAfterGoLive { go_live, earliest });
            }
        }
    }
    // The end is the ALMO's last day: a week on site ending on it is still the ALMO's.
    if let Some(end) = r.end
        && week.end > end
    {
        broken.push(HardRule::AlmoEnded { end });
    }
    for service in BestValueService::ALL {
        match r.best_value_reviews[service.index()] {
            Some(done) if done <= week.start => {}
            _ => broken.push(HardRule::BestValueReviewIncomplete { service }),
        }
    }
    for b in &r.blackouts {
        if b.period.overlaps(&week) {
            broken.push(HardRule::BlackoutClash {
                label: b.label.clone(),
                period: b.period,
            });
        }
    }
    if let Some(published) = h.last_publication {
        let earliest = earliest_reinspection(published);
        if week.start < earliest {
            broken.push(HardRule::TooSoonAfterPublication {
                published,
                earliest,
            });
        }
    }
    if let Some(id) = &h.open_inspection {
        broken.push(HardRule::InspectionInProgress {
            inspection_id: id.clone(),
        });
    }
    broken
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::on_site_week;

    pub fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// An ALMO live November 2003 with every review done: the Table 7 example.
    pub fn table7_readiness() -> Readiness {
        Readiness {
            go_live: Some(d("2003-11-01")),
            end: None,
            best_value_reviews: [Some(d("2003-03-31")); 4],
            blackouts: vec![],
            board_meetings: vec![],
            funding_needed_by: None,
        }
    }

    #[test]
    fn inspection_not_before_six_months_after_go_live() {
        let r = table7_readiness();
        let h = History::default();
        // 003 Table 7: live November 2003 -> inspectable from May 2004.
        assert_eq!(earliest_inspection(d("2003-11-01")), d("2004-05-01"));
        let april = almo_rules(&r, &h, on_site_week(d("2004-04-26")));
        assert_eq!(
            april,
            vec![HardRule::BeforeSixMonthsAfterGoLive {
                go_live: d("2003-11-01"),
                earliest: d("2004-05-01"),
            }]
        );
        assert!(
            april[0]
                .to_string()
                .starts_with("before six months after go-live")
        );
        assert!(almo_rules(&r, &h, on_site_week(d("2004-05-03"))).is_empty());
    }

    #[test]
    fn inspection_needs_a_go_live_date() {
        let r = Readiness {
            go_live: None,
            ..table7_readiness()
        };
        let broken = almo_rules(&r, &History::default(), on_site_week(d("2004-05-03")));
        assert_eq!(broken, vec![HardRule::NotLive]);
    }

    #[test]
    fn best_value_reviews_complete_before_inspection() {
        let mut r = table7_readiness();
        r.best_value_reviews[BestValueService::RentCollection.index()] = Some(d("2004-06-30"));
        r.best_value_reviews[BestValueService::EstateManagement.index()] = None;
        let h = History::default();
        let broken = almo_rules(&r, &h, on_site_week(d("2004-05-03")));
        let names: Vec<String> = broken.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            vec![
                "Best Value review of rent collection not complete",
                "Best Value review of estate management not complete",
            ]
        );
        // Once the rent collection review is done (and estate management declared), it may go.
        r.best_value_reviews[BestValueService::EstateManagement.index()] = Some(d("2004-01-31"));
        assert!(almo_rules(&r, &h, on_site_week(d("2004-07-05"))).is_empty());
    }

    #[test]
    fn declared_audit_blackout_is_never_clashed() {
        let mut r = table7_readiness();
        r.blackouts.push(Blackout {
            label: "internal audit".into(),
            period: DateRange::new(d("2004-05-10"), d("2004-05-14")).unwrap(),
        });
        let h = History::default();
        let broken = almo_rules(&r, &h, on_site_week(d("2004-05-10")));
        assert_eq!(broken.len(), 1);
        assert_eq!(
            broken[0].to_string(),
            "clashes with internal audit 2004-05-10..14"
        );
        assert!(almo_rules(&r, &h, on_site_week(d("2004-05-03"))).is_empty());
        assert!(almo_rules(&r, &h, on_site_week(d("2004-05-17"))).is_empty());
    }

    #[test]
    fn reinspection_not_before_six_months_after_publication() {
        let r = table7_readiness();
        let h = History {
            last_publication: Some(d("2004-08-16")),
            open_inspection: None,
        };
        assert_eq!(earliest_reinspection(d("2004-08-16")), d("2005-02-16"));
        let broken = almo_rules(&r, &h, on_site_week(d("2005-02-14")));
        assert_eq!(
            broken,
            vec![HardRule::TooSoonAfterPublication {
                published: d("2004-08-16"),
                earliest: d("2005-02-16"),
            }]
        );
        assert!(almo_rules(&r, &h, on_site_week(d("2005-02-21"))).is_empty());
    }

    #[test]
    fn wound_up_almo_is_not_inspected() {
        let r = Readiness {
            end: Some(d("2004-06-01")),
            ..table7_readiness()
        };
        let h = History::default();
        assert!(almo_rules(&r, &h, on_site_week(d("2004-05-24"))).is_empty());
        assert_eq!(
            almo_rules(&r, &h, on_site_week(d("2004-05-31"))),
            vec![HardRule::AlmoEnded {
                end: d("2004-06-01")
            }]
        );
        // The end is the ALMO's last day: the week whose Friday it is stays the ALMO's.
        let last_friday = Readiness {
            end: Some(d("2004-05-28")),
            ..table7_readiness()
        };
        assert!(almo_rules(&last_friday, &h, on_site_week(d("2004-05-24"))).is_empty());
    }

    #[test]
    fn one_inspection_of_an_almo_at_a_time() {
        let r = table7_readiness();
        let h = History {
            last_publication: None,
            open_inspection: Some("INSP-1".into()),
        };
        let broken = almo_rules(&r, &h, on_site_week(d("2004-06-07")));
        assert_eq!(broken[0].code(), "INSPECTION_IN_PROGRESS");
    }
}

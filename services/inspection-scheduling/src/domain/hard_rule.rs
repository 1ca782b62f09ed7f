//! The hard rules an inspection booking must never break, each with the name a person reads in a
//! refusal or beside a ruled-out week, and a stable code for machines.

use chrono::NaiveDate;

use super::DateRange;
use super::readiness::BestValueService;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HardRule {
    /// The ALMO has no go-live date: it is not managing homes yet.
    NotLive,
    /// The ALMO was wound up: management went back to the council (002).
    AlmoEnded {
        end: NaiveDate,
    },
    /// 003 §96, §112: at least six months of operation first.
    BeforeSixMonthsAfterGoLive {
        go_live: NaiveDate,
        earliest: NaiveDate,
    },
    /// 003 §108–109: the key services' Best Value reviews come first.
    BestValueReviewIncomplete {
        service: BestValueService,
    },
    /// 000 §9.1: the ALMO's declared audits and inspections are avoided.
    BlackoutClash {
        label: String,
        period: DateRange,
    },
    /// 003 §118, 004 §4: at least six months after the last report's publication.
    TooSoonAfterPublication {
        published: NaiveDate,
        earliest: NaiveDate,
    },
    /// One inspection of an ALMO at a time.
    InspectionInProgress {
        inspection_id: String,
    },
    NoLeadAvailable,
    /// The team must have exactly one lead inspector.
    LeadCount {
        leads: usize,
    },
    /// 003 §111: team size by stock size and previous score.
    TeamSize {
        required: usize,
        got: usize,
    },
    NotEnoughInspectors {
        required: usize,
        free: usize,
    },
    /// 003 §111: at least one tenant inspection adviser.
    NoTia,
    /// 003 §35, §111: a TIA never inspects their own landlord.
    TiaOwnLandlord {
        inspector: String,
        landlord: String,
    },
    InspectorUnavailable {
        inspector: String,
        period: DateRange,
    },
    InspectorDoubleBooked {
        inspector: String,
        inspection_id: String,
    },
}

impl HardRule {
    /// The stable reason code (gRPC `ErrorInfo.reason`).
    pub fn code(&self) -> &'static str {
        match self {
            HardRule::NotLive => "ALMO_NOT_LIVE",
            HardRule::AlmoEnded { .. } => "ALMO_ENDED",
            HardRule::BeforeSixMonthsAfterGoLive { .. } => "BEFORE_SIX_MONTHS_AFTER_GO_LIVE",
            HardRule::BestValueReviewIncomplete { .. } => "BEST_VALUE_REVIEW_NOT_COMPLETE",
            HardRule::BlackoutClash { .. } => "CLASHES_WITH_DECLARED_AUDIT",
            HardRule::TooSoonAfterPublication { .. } => "TOO_SOON_AFTER_PUBLICATION",
            HardRule::InspectionInProgress { .. } => "INSPECTION_IN_PROGRESS",
            HardRule::NoLeadAvailable | HardRule::LeadCount { .. } => "ONE_LEAD_INSPECTOR",
            HardRule::TeamSize { .. } | HardRule::NotEnoughInspectors { .. } => "TEAM_SIZE",
            HardRule::NoTia => "NO_TIA",
            HardRule::TiaOwnLandlord { .. } => "TIA_OWN_LANDLORD",
            HardRule::InspectorUnavailable { .. } => "INSPECTOR_UNAVAILABLE",
            HardRule::InspectorDoubleBooked { .. } => "INSPECTOR_DOUBLE_BOOKED",
        }
    }
}

impl std::fmt::Display for HardRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HardRule::NotLive => write!(f, "ALMO not live: no go-live date"),
            HardRule::AlmoEnded { end } => write!(f, "ALMO wound up on {end}"),
            HardRule::BeforeSixMonthsAfterGoLive { go_live, earliest } => write!(
                f,
                "before six months after go-live (live {go_live}, inspectable from {earliest})"
            ),
            HardRule::BestValueReviewIncomplete { service } => {
                write!(f, "Best Value review of {} not complete", service.label())
            }
            HardRule::BlackoutClash { label, period } => {
                write!(f, "clashes with {label} {period}")
            }
            HardRule::TooSoonAfterPublication {
                published,
                earliest,
            } => write!(
                f,
                "less than six months after the report published {published} (earliest {earliest})"
            ),
            HardRule::InspectionInProgress { inspection_id } => {
                write!(f, "inspection {inspection_id} is still in progress")
            }
            HardRule::NoLeadAvailable => write!(f, "no lead inspector available"),
            HardRule::LeadCount { leads } => {
                write!(f, "the team needs exactly one lead inspector, not {leads}")
            }
            HardRule::TeamSize { required, got } => write!(
                f,
                "team size: {required} inspectors needed for this stock and previous score, not {got}"
            ),
            HardRule::NotEnoughInspectors { required, free } => write!(
                f,
                "not enough inspectors available ({required} needed, {free} free)"
            ),
            HardRule::NoTia => write!(f, "no TIA available"),
            HardRule::TiaOwnLandlord {
                inspector,
                landlord,
            } => write!(
                f,
                "TIA {inspector} is a tenant of {landlord} and may not inspect their own landlord"
            ),
            HardRule::InspectorUnavailable { inspector, period } => {
                write!(f, "inspector {inspector} unavailable {period}")
            }
            HardRule::InspectorDoubleBooked {
                inspector,
                inspection_id,
            } => write!(
                f,
                "inspector {inspector} already booked that week on inspection {inspection_id}"
            ),
        }
    }
}

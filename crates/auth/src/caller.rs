use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What kind of organisation a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Council,
    Almo,
    Regulator,
    Inspectorate,
    Operator,
}

impl OrgKind {
    pub const ALL: [OrgKind; 5] = [
        OrgKind::Council,
        OrgKind::Almo,
        OrgKind::Regulator,
        OrgKind::Inspectorate,
        OrgKind::Operator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Council => "council",
            OrgKind::Almo => "almo",
            OrgKind::Regulator => "regulator",
            OrgKind::Inspectorate => "inspectorate",
            OrgKind::Operator => "operator",
        }
    }

    /// The kind in a sentence, with its article: "a council", "an ALMO", "an operator".
    pub fn a(self) -> &'static str {
        match self {
            OrgKind::Council => "a council",
            OrgKind::Almo => "an ALMO",
            OrgKind::Regulator => "a regulator",
            OrgKind::Inspectorate => "an inspectorate",
            OrgKind::Operator => "an operator",
        }
    }
}

impl FromStr for OrgKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown organisation kind {s:?}"))
    }
}

impl fmt::Display for OrgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The caller's role, from the token's `role` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A council housing officer: delivery plans, variances, PI returns, the council's ALMOs.
    CouncilOfficer,
    /// Council central services / finance: SLAs, usage, billing runs.
    CouncilFinance,
    /// An ALMO officer: its own plans, returns, inspections.
    AlmoOfficer,
    /// ALMO finance: pulls and disputes invoices.
    AlmoFinance,
    /// The regulator's analysts: read-only across everyone's returns and outcomes.
    Regulator,
    /// The Housing Inspectorate: schedules and records inspections.
    Inspectorate,
    /// The operator of this installation: maintains the directory.
    Admin,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::CouncilOfficer,
        Role::CouncilFinance,
        Role::AlmoOfficer,
        Role::AlmoFinance,
        Role::Regulator,
        Role::Inspectorate,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::CouncilOfficer => "council_officer",
            Role::CouncilFinance => "council_finance",
            Role::AlmoOfficer => "almo_officer",
            Role::AlmoFinance => "almo_finance",
            Role::Regulator => "regulator",
            Role::Inspectorate => "inspectorate",
            Role::Admin => "admin",
        }
    }

    /// The kind of organisation this role belongs to: a token whose `org` is of another kind is
    /// refused.
    pub fn org_kind(self) -> OrgKind {
        match self {
            Role::CouncilOfficer | Role::CouncilFinance => OrgKind::Council,
            Role::AlmoOfficer | Role::AlmoFinance => OrgKind::Almo,
            Role::Regulator => OrgKind::Regulator,
            Role::Inspectorate => OrgKind::Inspectorate,
            Role::Admin => OrgKind::Operator,
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown role {s:?}; one of {}", names.join(", "))
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified caller: who, for which organisation, in which role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's `sub`: the person or system.
    pub subject: String,
    /// The token's `org`: a directory id.
    pub organisation_id: String,
    pub role: Role,
}

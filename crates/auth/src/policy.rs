//! The access rules, in one place (DOMAIN.md, "Who may see what"):
//! - a council sees and writes its own data and that of its own ALMOs;
//! - an ALMO sees and writes its own data only;
//! - the regulator reads everyone's and writes nothing;
//! - the inspectorate reads what an inspection needs (everyone's, read-only here; the inspection
//!   service grants its own writes);
//! - the operator maintains the directory and may do anything.
//!
//! These functions take the caller's own directory entry and the target's, both resolved from the
//! directory by the caller of this module; a target that does not exist is `None`.

use crate::{Caller, OrgKind};

/// What the rules need to know of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgScope {
    pub id: String,
    pub kind: OrgKind,
    /// For ALMOs: the parent council.
    pub council_id: Option<String>,
}

/// Whether the caller, whose own organisation is `own`, may read `target`'s data.
pub fn may_read(caller: &Caller, own: &OrgScope, target: &OrgScope) -> bool {
    debug_assert_eq!(caller.organisation_id, own.id);
    match own.kind {
        OrgKind::Operator | OrgKind::Regulator | OrgKind::Inspectorate => true,
        OrgKind::Council => {
            target.id == own.id || target.council_id.as_deref() == Some(own.id.as_str())
        }
        OrgKind::Almo => target.id == own.id,
    }
}

/// Whether the caller may write `target`'s data.
pub fn may_write(caller: &Caller, own: &OrgScope, target: &OrgScope) -> bool {
    match own.kind {
        OrgKind::Operator => true,
        OrgKind::Regulator | OrgKind::Inspectorate => false,
        OrgKind::Council | OrgKind::Almo => may_read(caller, own, target),
    }
}

/// Whether the caller may see `target`'s directory entry: its data, plus an ALMO's parent council
/// and the national bodies everyone deals with.
pub fn may_see_entry(caller: &Caller, own: &OrgScope, target: &OrgScope) -> bool {
    may_read(caller, own, target)
        || matches!(target.kind, OrgKind::Regulator | OrgKind::Inspectorate)
        || (own.kind == OrgKind::Almo && own.council_id.as_deref() == Some(target.id.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn org(id: &str, kind: OrgKind, council: Option<&str>) -> OrgScope {
        OrgScope {
            id: id.into(),
            kind,
            council_id: council.map(Into::into),
        }
    }

    fn caller(o: &OrgScope, role: Role) -> Caller {
        Caller {
            subject: "someone".into(),
            organisation_id: o.id.clone(),
            role,
        }
    }

    #[test]
    fn council_sees_and_writes_its_own_almos_only() {
        let council = org("E09000022", OrgKind::Council, None);
        let own_almo = org("LAMBETH-LIVING", OrgKind::Almo, Some("E09000022"));
        let other_almo = org("HOMES-FOR-HARINGEY", OrgKind::Almo, Some("E09000014"));
        let other_council = org("E09000014", OrgKind::Council, None);
        let c = caller(&council, Role::CouncilOfficer);
        assert!(may_read(&c, &council, &council));
        assert!(may_read(&c, &council, &own_almo));
        assert!(may_write(&c, &council, &own_almo));
        assert!(!may_read(&c, &council, &other_almo));
        assert!(!may_read(&c, &council, &other_council));
        assert!(!may_write(&c, &council, &other_almo));
    }

    #[test]
    fn almo_sees_its_own_data_only() {
        let almo = org("LAMBETH-LIVING", OrgKind::Almo, Some("E09000022"));
        let sibling = org("LAMBETH-NORTH", OrgKind::Almo, Some("E09000022"));
        let council = org("E09000022", OrgKind::Council, None);
        let c = caller(&almo, Role::AlmoOfficer);
        assert!(may_read(&c, &almo, &almo));
        assert!(!may_read(&c, &almo, &sibling));
        assert!(!may_read(&c, &almo, &council));
        // ...but it may see its parent council's directory entry.
        assert!(may_see_entry(&c, &almo, &council));
        assert!(!may_see_entry(&c, &almo, &sibling));
    }

    #[test]
    fn regulator_reads_everyone_and_writes_nothing() {
        let reg = org("RSH", OrgKind::Regulator, None);
        let almo = org("LAMBETH-LIVING", OrgKind::Almo, Some("E09000022"));
        let c = caller(&reg, Role::Regulator);
        assert!(may_read(&c, &reg, &almo));
        assert!(!may_write(&c, &reg, &almo));
        assert!(!may_write(&c, &reg, &reg));
    }
}

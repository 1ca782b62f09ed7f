//! Resolves the access rules of `almo_auth::policy` against the directory: who the caller's
//! organisation is, and whether it may read or write a target organisation's data.

use almo_auth::{Caller, OrgKind, OrgScope, policy};
use almo_db::connect::{ReadRow, organisation_of};
use almo_db::entity::organisation;
use almo_db::{CallContext, Db};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Statement,
    Value,
};

use crate::AppError;

/// A verified caller together with its organisation's directory entry.
#[derive(Debug, Clone)]
pub struct Principal {
    pub caller: Caller,
    pub org: OrgScope,
}

impl Principal {
    pub fn may_read(&self, target: &OrgScope) -> bool {
        policy::may_read(&self.caller, &self.org, target)
    }

    pub fn may_write(&self, target: &OrgScope) -> bool {
        policy::may_write(&self.caller, &self.org, target)
    }

    /// Regulator, inspectorate and operator read everyone's data.
    pub fn reads_everyone(&self) -> bool {
        matches!(
            self.org.kind,
            OrgKind::Regulator | OrgKind::Inspectorate | OrgKind::Operator
        )
    }

    pub fn is_operator(&self) -> bool {
        self.org.kind == OrgKind::Operator
    }

    /// Who is writing, for the audit row and the idempotency key of a write to `service`'s
    /// `method`; also names the request id on the current span.
    pub fn call_context(&self, service: &str, method: &str, request_id: &str) -> CallContext {
        tracing::Span::current().record("request_id", request_id);
        CallContext {
            subject: self.caller.subject.clone(),
            organisation_id: self.caller.organisation_id.clone(),
            role: self.caller.role.to_string(),
            method: crate::method_path(service, method),
            request_id: request_id.to_string(),
        }
    }
}

/// What a service reads beside the directory rows in [`Access::principal_with_joined`]'s one
/// statement: more columns (`columns`, each written out with its alias, `organisations` being
/// `o`) and the joins they come from (`joins`, each keeping one row per organisation, e.g. a
/// `LEFT JOIN` on `o."id"`).
#[derive(Debug, Clone, Copy)]
pub struct Joined<'a> {
    pub columns: &'a str,
    pub joins: &'a str,
}

/// The directory-backed access resolver every service asks.
#[derive(Debug, Clone)]
pub struct Access {
    db: Db,
}

impl Access {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Looks an organisation up; `None` when it is not in the directory.
    pub async fn scope(&self, id: &str) -> Result<Option<OrgScope>, AppError> {
        scope_in(self.db.conn(), id).await
    }

    /// The caller's own organisation, which must exist and be of the kind its role belongs to.
    pub async fn principal(&self, caller: &Caller) -> Result<Principal, AppError> {
        let own = self.scope(&caller.organisation_id).await?;
        principal_from(caller, own)
    }

    /// The caller's principal and the full directory rows of `ids`, in one query: the hot path of
    /// a read names the caller's organisation and one target.
    pub async fn principal_with_rows(
        &self,
        caller: &Caller,
        ids: &[&str],
    ) -> Result<(Principal, Vec<organisation::Model>), AppError> {
        let (principal, rows) = self.principal_with_joined(caller, ids, None).await?;
        Ok((principal, rows.into_iter().map(|(m, _)| m).collect()))
    }

    /// As [`Access::principal_with_rows`], with what `joined` adds read in the same statement:
    /// each directory row comes with its whole row for the service to read its columns from.
    /// The caller's own row is among them; the access rules are applied here as for any read.
    pub async fn principal_with_joined(
        &self,
        caller: &Caller,
        ids: &[&str],
        joined: Option<Joined<'_>>,
    ) -> Result<(Principal, Vec<(organisation::Model, ReadRow)>), AppError> {
        let mut wanted: Vec<Value> = ids.iter().map(|s| (*s).into()).collect();
        wanted.push(caller.organisation_id.as_str().into());
        let backend = self.db.conn().get_database_backend();
        let sql = organisations_by_id_sql(backend, wanted.len(), joined);
        let rows = self
            .db
            .read_all(Statement::from_sql_and_values(backend, sql, wanted))
            .await?
            .into_iter()
            .map(|r| Ok((organisation_of(&r)?, r)))
            .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
        let own = rows
            .iter()
            .find(|(r, _)| r.id == caller.organisation_id)
            .map(|(r, _)| scope_of_row(r))
            .transpose()?;
        let principal = principal_from(caller, own)?;
        Ok((principal, rows))
    }

    /// The target's scope if the principal may read its data. An organisation the caller may not
    /// read is PERMISSION_DENIED whether or not it exists; NOT_FOUND only for those who read
    /// everyone.
    pub async fn require_read(&self, p: &Principal, target_id: &str) -> Result<OrgScope, AppError> {
        self.require(p, target_id, |p, t| p.may_read(t), "read")
            .await
    }

    /// The target's scope if the principal may write its data.
    pub async fn require_write(
        &self,
        p: &Principal,
        target_id: &str,
    ) -> Result<OrgScope, AppError> {
        self.require(p, target_id, |p, t| p.may_write(t), "write")
            .await
    }

    async fn require(
        &self,
        p: &Principal,
        target_id: &str,
        allowed: impl Fn(&Principal, &OrgScope) -> bool,
        verb: &str,
    ) -> Result<OrgScope, AppError> {
        let denied = || {
            AppError::PermissionDenied(format!(
                "{} ({}) may not {verb} the data of {target_id:?}",
                p.caller.organisation_id, p.caller.role
            ))
        };
        match self.scope(target_id).await? {
            Some(t) if allowed(p, &t) => Ok(t),
            Some(_) => Err(denied()),
            None if p.reads_everyone() => Err(AppError::NotFound(format!(
                "organisation {target_id:?} is not in the directory"
            ))),
            None => Err(denied()),
        }
    }
}

/// `SELECT <every organisation column> FROM organisations o WHERE id IN (<n placeholders>)`,
/// with `joined`'s columns and joins, written out rather than built by the query builder: it
/// runs on every directory read.
fn organisations_by_id_sql(backend: DbBackend, n: usize, joined: Option<Joined<'_>>) -> String {
    use sea_orm::{IdenStatic, Iterable};
    let mut columns: Vec<String> = organisation::Column::iter()
        .map(|c| format!("o.\"{}\"", c.as_str()))
        .collect();
    if let Some(j) = joined {
        columns.push(j.columns.to_string());
    }
    let placeholders: Vec<String> = (1..=n)
        .map(|i| match backend {
            DbBackend::Postgres => format!("${i}"),
            _ => "?".to_string(),
        })
        .collect();
    format!(
        "SELECT {} FROM \"organisations\" o {} WHERE o.\"id\" IN ({})",
        columns.join(", "),
        joined.map_or("", |j| j.joins),
        placeholders.join(", ")
    )
}

fn principal_from(caller: &Caller, own: Option<OrgScope>) -> Result<Principal, AppError> {
    // A token for an organisation the directory does not hold names nobody this suite knows:
    // the caller is not authenticated here, whatever the signature says.
    let org = own.ok_or_else(|| {
        AppError::Unauthenticated(format!(
            "organisation {} in the token is not in the directory",
            almo_fields::quote(&caller.organisation_id)
        ))
    })?;
    if caller.role.org_kind() != org.kind {
        return Err(AppError::PermissionDenied(format!(
            "role {} belongs to {} but {} is {}",
            caller.role,
            caller.role.org_kind().a(),
            org.id,
            org.kind.a()
        )));
    }
    Ok(Principal {
        caller: caller.clone(),
        org,
    })
}

/// The access-rule view of a directory row.
pub fn scope_of_row(r: &organisation::Model) -> Result<OrgScope, AppError> {
    Ok(OrgScope {
        id: r.id.clone(),
        kind: r
            .kind
            .parse()
            .map_err(|e: String| AppError::Internal(format!("directory row {}: {e}", r.id)))?,
        council_id: r.council_id.clone(),
    })
}

/// Looks an organisation up through any connection or transaction.
pub async fn scope_in(conn: &impl ConnectionTrait, id: &str) -> Result<Option<OrgScope>, AppError> {
    let row: Option<(String, String, Option<String>)> = organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .column(organisation::Column::Kind)
        .column(organisation::Column::CouncilId)
        .filter(organisation::Column::Id.eq(id))
        .into_tuple()
        .one(conn)
        .await?;
    row.map(|(id, kind, council_id)| {
        let kind = kind
            .parse::<OrgKind>()
            .map_err(|e| AppError::Internal(format!("directory row {id}: {e}")))?;
        Ok(OrgScope {
            id,
            kind,
            council_id,
        })
    })
    .transpose()
}

//! The regulator's queries over returns, each filtered by what the caller may see.

use almo_db::entity::{organisation, pi_return, pi_return_value};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::domain::workflow::Status;

/// Which returns a caller may see, as a rule every list query applies.
#[derive(Debug, Clone)]
pub enum Visibility {
    /// The operator: everything.
    All,
    /// The regulator and the inspectorate: every submitted or signed-off return; never a draft,
    /// nor one sent back for correction and being reworked.
    AllButDrafts,
    /// A council: its own returns and its ALMOs'.
    CouncilAndAlmos(String),
    /// An ALMO: its own.
    Own(String),
}

impl Visibility {
    fn condition(&self) -> Condition {
        match self {
            Visibility::All => Condition::all(),
            Visibility::AllButDrafts => Condition::all().add(
                pi_return::Column::Status
                    .is_in([Status::Submitted.as_str(), Status::SignedOff.as_str()]),
            ),
            Visibility::CouncilAndAlmos(council) => Condition::any()
                .add(pi_return::Column::OrganisationId.eq(council.clone()))
                .add(
                    pi_return::Column::OrganisationId.in_subquery(
                        Query::select()
                            .column(organisation::Column::Id)
                            .from(organisation::Entity)
                            .and_where(organisation::Column::CouncilId.eq(council.clone()))
                            .to_owned(),
                    ),
                ),
            Visibility::Own(org) => {
                Condition::all().add(pi_return::Column::OrganisationId.eq(org.clone()))
            }
        }
    }
}

/// Filters of `QueryReturns`.
#[derive(Debug, Default, Clone)]
pub struct ReturnFilter {
    pub indicator_code: Option<String>,
    pub year: Option<i32>,
    pub period_kind: Option<&'static str>,
    pub period_number: Option<i32>,
    pub authority_type: Option<String>,
    pub region: Option<String>,
    pub organisation_id: Option<String>,
    pub status: Option<&'static str>,
}

/// The returns `visible` lets the caller see that match `f`, as a query.
pub fn matching(visible: &Visibility, f: &ReturnFilter) -> sea_orm::Select<pi_return::Entity> {
    use pi_return::Column as C;
    let mut q = pi_return::Entity::find().filter(visible.condition());
    if let Some(y) = f.year {
        q = q.filter(C::Year.eq(y));
    }
    if let Some(k) = f.period_kind {
        q = q.filter(C::PeriodKind.eq(k));
    }
    if let Some(n) = f.period_number {
        q = q.filter(C::PeriodNumber.eq(n));
    }
    if let Some(o) = &f.organisation_id {
        q = q.filter(C::OrganisationId.eq(o.clone()));
    }
    if let Some(s) = f.status {
        q = q.filter(C::Status.eq(s));
    }
    if f.authority_type.is_some() || f.region.is_some() {
        let mut orgs = Query::select()
            .column(organisation::Column::Id)
            .from(organisation::Entity)
            .to_owned();
        if let Some(t) = &f.authority_type {
            orgs.and_where(organisation::Column::AuthorityType.eq(t.clone()));
        }
        if let Some(r) = &f.region {
            orgs.and_where(organisation::Column::Region.eq(r.clone()));
        }
        q = q.filter(C::OrganisationId.in_subquery(orgs));
    }
    if let Some(code) = &f.indicator_code {
        q = q.filter(
            C::Id.in_subquery(
                Query::select()
                    .column(pi_return_value::Column::ReturnId)
                    .from(pi_return_value::Entity)
                    .and_where(pi_return_value::Column::IndicatorCode.eq(code.clone()))
                    .and_where(pi_return_value::Column::Current.eq(true))
                    .to_owned(),
            ),
        );
    }
    q
}

/// How many returns match: the size of an export, told to the client before it starts.
pub async fn count_returns(
    conn: &impl ConnectionTrait,
    visible: &Visibility,
    f: &ReturnFilter,
) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    matching(visible, f).count(conn).await
}

pub async fn query_returns(
    conn: &impl ConnectionTrait,
    visible: &Visibility,
    f: &ReturnFilter,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<pi_return::Model>, DbErr> {
    use pi_return::Column as C;
    let mut q = matching(visible, f);
    if let Some(after) = after {
        q = q.filter(C::Id.gt(after));
    }
    q.order_by_asc(C::Id).limit(limit).all(conn).await
}

/// The returns `visible` lets the caller see that match `f`, each joined to its current values
/// (only `f`'s indicator's when it names one): one statement for a whole export, a row per value
/// (one row with NULL value columns for a return with none), in return id order and within a
/// return by indicator code and split, as `QueryReturns` pages give them. The columns are those
/// the export sends and no others: the return's ([`EXPORT_RETURN_COLUMNS`]) from index 0, then
/// the value's ([`EXPORT_VALUE_COLUMNS`]) from [`EXPORT_VALUE_AT`].
pub fn export_statement(
    backend: sea_orm::DatabaseBackend,
    visible: &Visibility,
    f: &ReturnFilter,
) -> sea_orm::Statement {
    use pi_return::Column as R;
    use pi_return_value::Column as V;
    use sea_orm::QueryTrait;
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Order};
    let v = Alias::new("v");
    let r = pi_return::Entity;
    let mut q = matching(visible, f).into_query();
    q.clear_selects();
    let mut on = Expr::col((v.clone(), V::ReturnId))
        .equals((r, R::Id))
        .and(Expr::col((v.clone(), V::Current)).eq(true));
    if let Some(code) = &f.indicator_code {
        on = on.and(Expr::col((v.clone(), V::IndicatorCode)).eq(code.clone()));
    }
    q.join_as(JoinType::LeftJoin, pi_return_value::Entity, v.clone(), on);
    for c in EXPORT_RETURN_COLUMNS {
        q.column((r, c));
    }
    for c in EXPORT_VALUE_COLUMNS {
        q.column((v.clone(), c));
    }
    q.order_by((r, R::Id), Order::Asc)
        .order_by((v.clone(), V::IndicatorCode), Order::Asc)
        .order_by((v, V::Split), Order::Asc);
    backend.build(&q)
}

/// The return's columns of an export row, in this order from index 0: what a `PiReturn` of the
/// export carries (not `created_by`, which it does not send).
pub const EXPORT_RETURN_COLUMNS: [pi_return::Column; 19] = {
    use pi_return::Column as R;
    [
        R::Id,
        R::OrganisationId,
        R::Year,
        R::PeriodKind,
        R::PeriodNumber,
        R::Status,
        R::DeadlineDate,
        R::Late,
        R::SubmittedBy,
        R::SubmittedAt,
        R::SignedOffBy,
        R::SignedOffAt,
        R::ReturnedReason,
        R::Revision,
        R::SurveySampleSize,
        R::SurveyMethod,
        R::Version,
        R::CreatedAt,
        R::UpdatedAt,
    ]
};

/// Where the value's columns of an export row start.
pub const EXPORT_VALUE_AT: usize = EXPORT_RETURN_COLUMNS.len();

/// The value's columns of an export row, from [`EXPORT_VALUE_AT`]: what a `ReturnValue` carries
/// (not the value's row id nor its return's, which the row already has). The indicator code is
/// NULL for a return without values.
pub const EXPORT_VALUE_COLUMNS: [pi_return_value::Column; 12] = {
    use pi_return_value::Column as V;
    [
        V::IndicatorCode,
        V::Split,
        V::Sequence,
        V::Value,
        V::Numerator,
        V::Denominator,
        V::Warnings,
        V::Explanation,
        V::RevisionReason,
        V::ChangedBy,
        V::ChangedAt,
        V::Current,
    ]
};

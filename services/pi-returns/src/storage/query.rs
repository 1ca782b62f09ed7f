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
/// return by indicator code and split, as `QueryReturns` pages give them. Read each row with
/// [`export_return_id`], [`export_return`] and [`export_value`].
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
    for c in RETURN_COLUMNS {
        q.column((r, c));
    }
    for c in VALUE_COLUMNS {
        q.column((v.clone(), c));
    }
    q.order_by((r, R::Id), Order::Asc)
        .order_by((v.clone(), V::IndicatorCode), Order::Asc)
        .order_by((v, V::Split), Order::Asc);
    backend.build(&q)
}

/// The return's columns of an export row, in this order from index 0.
const RETURN_COLUMNS: [pi_return::Column; 20] = {
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
        R::CreatedBy,
        R::Version,
        R::CreatedAt,
        R::UpdatedAt,
    ]
};

/// The value's columns of an export row, after the return's.
const VALUE_COLUMNS: [pi_return_value::Column; 13] = {
    use pi_return_value::Column as V;
    [
        V::Id,
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

/// The return id of an export row: a new return starts where it changes.
pub fn export_return_id(row: &sea_orm::QueryResult) -> Result<String, DbErr> {
    row.try_get_by_index(0)
}

/// The return of an export row, its id already read.
pub fn export_return(row: &sea_orm::QueryResult, id: String) -> Result<pi_return::Model, DbErr> {
    Ok(pi_return::Model {
        id,
        organisation_id: row.try_get_by_index(1)?,
        year: row.try_get_by_index(2)?,
        period_kind: row.try_get_by_index(3)?,
        period_number: row.try_get_by_index(4)?,
        status: row.try_get_by_index(5)?,
        deadline_date: row.try_get_by_index(6)?,
        late: row.try_get_by_index(7)?,
        submitted_by: row.try_get_by_index(8)?,
        submitted_at: row.try_get_by_index(9)?,
        signed_off_by: row.try_get_by_index(10)?,
        signed_off_at: row.try_get_by_index(11)?,
        returned_reason: row.try_get_by_index(12)?,
        revision: row.try_get_by_index(13)?,
        survey_sample_size: row.try_get_by_index(14)?,
        survey_method: row.try_get_by_index(15)?,
        created_by: row.try_get_by_index(16)?,
        version: row.try_get_by_index(17)?,
        created_at: row.try_get_by_index(18)?,
        updated_at: row.try_get_by_index(19)?,
    })
}

/// The value of an export row of return `return_id`, or none for a return without values.
pub fn export_value(
    row: &sea_orm::QueryResult,
    return_id: &str,
) -> Result<Option<pi_return_value::Model>, DbErr> {
    const AT: usize = RETURN_COLUMNS.len();
    let Some(id) = row.try_get_by_index::<Option<i64>>(AT)? else {
        return Ok(None);
    };
    Ok(Some(pi_return_value::Model {
        id,
        return_id: return_id.to_string(),
        indicator_code: row.try_get_by_index(AT + 1)?,
        split: row.try_get_by_index(AT + 2)?,
        sequence: row.try_get_by_index(AT + 3)?,
        value: row.try_get_by_index(AT + 4)?,
        numerator: row.try_get_by_index(AT + 5)?,
        denominator: row.try_get_by_index(AT + 6)?,
        warnings: row.try_get_by_index(AT + 7)?,
        explanation: row.try_get_by_index(AT + 8)?,
        revision_reason: row.try_get_by_index(AT + 9)?,
        changed_by: row.try_get_by_index(AT + 10)?,
        changed_at: row.try_get_by_index(AT + 11)?,
        current: row.try_get_by_index(AT + 12)?,
    }))
}

//! The PI returns queries. Writes take the transaction of an idempotent write; every read of
//! returns is filtered by what the caller may see ([`Visibility`]).

use std::collections::{BTreeMap, BTreeSet};

use almo_db::entity::{
    organisation, peer_group_member, pi_indicator_definition, pi_return, pi_return_value,
};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::domain::catalogue::{self, Definition};
use crate::domain::period::Period;
use crate::domain::validation::Accepted;
use crate::domain::workflow::Status;

// ---------------------------------------------------------------- catalogue

fn definition_row(d: &Definition, now: DateTime<Utc>) -> pi_indicator_definition::ActiveModel {
    pi_indicator_definition::ActiveModel {
        code: Set(d.code.clone()),
        from_year: Set(d.from_year),
        to_year: Set(d.to_year),
        title: Set(d.title.clone()),
        definition: Set(serde_json::to_string(d).expect("definitions serialise")),
        created_at: Set(now),
    }
}

/// Loads the shipped catalogue; definitions already present (by code and first year) are left as
/// they are, so this is safe on every start and from every replica.
pub async fn seed_catalogue(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let now = Utc::now();
    let rows: Vec<_> = catalogue::seed()
        .iter()
        .map(|d| definition_row(d, now))
        .collect();
    pi_indicator_definition::Entity::insert_many(rows)
        .on_conflict_do_nothing()
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Every definition of every year.
pub async fn load_catalogue(conn: &impl ConnectionTrait) -> Result<Vec<Definition>, DbErr> {
    let rows = pi_indicator_definition::Entity::find()
        .order_by_asc(pi_indicator_definition::Column::Code)
        .order_by_asc(pi_indicator_definition::Column::FromYear)
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|r| {
            serde_json::from_str(&r.definition)
                .map_err(|e| DbErr::Custom(format!("definition {} {}: {e}", r.code, r.from_year)))
        })
        .collect()
}

/// What importing one definition did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    Added,
    Unchanged,
    /// The code and first year exist with a different definition: a published definition is
    /// never changed; add one from a later year instead.
    Conflicts,
}

pub async fn import_definition(
    conn: &impl ConnectionTrait,
    d: &Definition,
) -> Result<Imported, DbErr> {
    let existing = pi_indicator_definition::Entity::find_by_id((d.code.clone(), d.from_year))
        .one(conn)
        .await?;
    if let Some(row) = existing {
        let stored: Option<Definition> = serde_json::from_str(&row.definition).ok();
        return Ok(if stored.as_ref() == Some(d) {
            Imported::Unchanged
        } else {
            Imported::Conflicts
        });
    }
    pi_indicator_definition::Entity::insert(definition_row(d, Utc::now()))
        .exec_without_returning(conn)
        .await?;
    Ok(Imported::Added)
}

// ---------------------------------------------------------------- returns

pub async fn get_return(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<pi_return::Model>, DbErr> {
    pi_return::Entity::find_by_id(id.to_string())
        .one(conn)
        .await
}

pub async fn find_return(
    conn: &impl ConnectionTrait,
    organisation_id: &str,
    period: &Period,
) -> Result<Option<pi_return::Model>, DbErr> {
    pi_return::Entity::find()
        .filter(pi_return::Column::OrganisationId.eq(organisation_id))
        .filter(pi_return::Column::Year.eq(period.year))
        .filter(pi_return::Column::PeriodKind.eq(period.kind.as_str()))
        .filter(pi_return::Column::PeriodNumber.eq(period.number))
        .one(conn)
        .await
}

pub async fn insert_return(
    conn: &impl ConnectionTrait,
    row: pi_return::Model,
) -> Result<(), DbErr> {
    pi_return::Entity::insert(pi_return::ActiveModel::from(row))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes `row` if the stored version is still `expected_version`; false when someone else
/// changed it first.
pub async fn update_return_if_version(
    conn: &impl ConnectionTrait,
    row: &pi_return::Model,
    expected_version: i64,
) -> Result<bool, DbErr> {
    use pi_return::Column as C;
    let res = pi_return::Entity::update_many()
        .col_expr(C::Status, Expr::value(row.status.clone()))
        .col_expr(C::Late, Expr::value(row.late))
        .col_expr(C::SubmittedBy, Expr::value(row.submitted_by.clone()))
        .col_expr(C::SubmittedAt, Expr::value(row.submitted_at))
        .col_expr(C::SignedOffBy, Expr::value(row.signed_off_by.clone()))
        .col_expr(C::SignedOffAt, Expr::value(row.signed_off_at))
        .col_expr(C::ReturnedReason, Expr::value(row.returned_reason.clone()))
        .col_expr(C::Revision, Expr::value(row.revision))
        .col_expr(C::SurveySampleSize, Expr::value(row.survey_sample_size))
        .col_expr(C::SurveyMethod, Expr::value(row.survey_method.clone()))
        .col_expr(C::Version, Expr::value(row.version))
        .col_expr(C::UpdatedAt, Expr::value(row.updated_at))
        .filter(C::Id.eq(row.id.clone()))
        .filter(C::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Claims the right to change a return whose stored version is `version`, by moving it on to
/// `version + 1` at once. On PostgreSQL the update locks the row, so a concurrent change of the
/// same return waits here and then finds the version moved: it is refused as stale rather than
/// racing to write values.
pub async fn claim_version(
    conn: &impl ConnectionTrait,
    id: &str,
    version: i64,
) -> Result<bool, DbErr> {
    let res = pi_return::Entity::update_many()
        .col_expr(pi_return::Column::Version, Expr::value(version + 1))
        .filter(pi_return::Column::Id.eq(id))
        .filter(pi_return::Column::Version.eq(version))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The current values of `return_ids`, by return, indicator and split.
pub async fn current_values(
    conn: &impl ConnectionTrait,
    return_ids: &[String],
    indicator: Option<&str>,
) -> Result<Vec<pi_return_value::Model>, DbErr> {
    if return_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = pi_return_value::Entity::find()
        .filter(pi_return_value::Column::ReturnId.is_in(return_ids.iter().cloned()))
        .filter(pi_return_value::Column::Current.eq(true));
    if let Some(code) = indicator {
        q = q.filter(pi_return_value::Column::IndicatorCode.eq(code));
    }
    q.order_by_asc(pi_return_value::Column::ReturnId)
        .order_by_asc(pi_return_value::Column::IndicatorCode)
        .order_by_asc(pi_return_value::Column::Split)
        .all(conn)
        .await
}

/// Every value ever recorded on a return, oldest first.
pub async fn history(
    conn: &impl ConnectionTrait,
    return_id: &str,
) -> Result<Vec<pi_return_value::Model>, DbErr> {
    pi_return_value::Entity::find()
        .filter(pi_return_value::Column::ReturnId.eq(return_id))
        .order_by_asc(pi_return_value::Column::IndicatorCode)
        .order_by_asc(pi_return_value::Column::Split)
        .order_by_asc(pi_return_value::Column::Sequence)
        .all(conn)
        .await
}

/// A value to record: which indicator and split, the accepted figure.
pub struct NewValue {
    pub indicator_code: String,
    pub split: String,
    pub accepted: Accepted,
}

/// Records `values` on a return: each supersedes the current value of its indicator and split,
/// which stays in the table (`current = false`) with who recorded it and when.
pub async fn append_values(
    conn: &impl ConnectionTrait,
    return_id: &str,
    values: Vec<NewValue>,
    changed_by: &str,
    revision_reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if values.is_empty() {
        return Ok(());
    }
    let current = current_values(conn, &[return_id.to_string()], None).await?;
    let sequence: BTreeMap<(String, String), i32> = current
        .iter()
        .map(|v| ((v.indicator_code.clone(), v.split.clone()), v.sequence))
        .collect();
    let mut superseded = Condition::any();
    let mut any_superseded = false;
    for v in &values {
        if sequence.contains_key(&(v.indicator_code.clone(), v.split.clone())) {
            any_superseded = true;
            superseded = superseded.add(
                Condition::all()
                    .add(pi_return_value::Column::IndicatorCode.eq(v.indicator_code.clone()))
                    .add(pi_return_value::Column::Split.eq(v.split.clone())),
            );
        }
    }
    if any_superseded {
        pi_return_value::Entity::update_many()
            .col_expr(pi_return_value::Column::Current, Expr::value(false))
            .filter(pi_return_value::Column::ReturnId.eq(return_id))
            .filter(pi_return_value::Column::Current.eq(true))
            .filter(superseded)
            .exec(conn)
            .await?;
    }
    let rows: Vec<pi_return_value::ActiveModel> = values
        .into_iter()
        .map(|v| {
            let seq = sequence
                .get(&(v.indicator_code.clone(), v.split.clone()))
                .copied()
                .unwrap_or(0)
                + 1;
            pi_return_value::ActiveModel {
                return_id: Set(return_id.to_string()),
                indicator_code: Set(v.indicator_code),
                split: Set(v.split),
                sequence: Set(seq),
                value: Set(v.accepted.value),
                numerator: Set(v.accepted.numerator),
                denominator: Set(v.accepted.denominator),
                warnings: Set(v.accepted.warnings.join("\n")),
                explanation: Set(v.accepted.explanation),
                revision_reason: Set(revision_reason.to_string()),
                changed_by: Set(changed_by.to_string()),
                changed_at: Set(now),
                current: Set(true),
                ..Default::default()
            }
        })
        .collect();
    insert_values(conn, rows).await
}

/// Inserts value rows in chunks (one statement per ~500 rows, never one per row).
pub async fn insert_values(
    conn: &impl ConnectionTrait,
    rows: Vec<pi_return_value::ActiveModel>,
) -> Result<(), DbErr> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(500).collect();
        pi_return_value::Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// The organisation's signed-off figures for the same period a year earlier, by indicator and
/// split: the base for "a change on last year" warnings.
pub async fn last_year_values(
    conn: &impl ConnectionTrait,
    organisation_id: &str,
    period: &Period,
) -> Result<BTreeMap<(String, String), f64>, DbErr> {
    let prior = pi_return::Entity::find()
        .filter(pi_return::Column::OrganisationId.eq(organisation_id))
        .filter(pi_return::Column::Year.eq(period.year - 1))
        .filter(pi_return::Column::PeriodKind.eq(period.kind.as_str()))
        .filter(pi_return::Column::PeriodNumber.eq(period.number))
        .filter(pi_return::Column::Status.eq(Status::SignedOff.as_str()))
        .one(conn)
        .await?;
    let Some(prior) = prior else {
        return Ok(BTreeMap::new());
    };
    Ok(current_values(conn, &[prior.id], None)
        .await?
        .into_iter()
        .map(|v| ((v.indicator_code, v.split), v.value))
        .collect())
}

/// The indicator codes a return carries a value for.
pub fn codes_present(values: &[pi_return_value::Model]) -> BTreeSet<String> {
    values.iter().map(|v| v.indicator_code.clone()).collect()
}

// ---------------------------------------------------------------- queries

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
fn matching(visible: &Visibility, f: &ReturnFilter) -> sea_orm::Select<pi_return::Entity> {
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

// ---------------------------------------------------------------- benchmarking

/// Who is compared.
#[derive(Debug, Clone)]
pub enum Group {
    AuthorityType(String),
    /// A peer group's owner and members.
    Organisations(Vec<String>),
}

/// The current, signed-off annual figures of `code` (and `split`) for `year` across `group`, as
/// (organisation, value). Only signed-off returns count.
pub async fn benchmark_values(
    conn: &impl ConnectionTrait,
    code: &str,
    split: &str,
    year: i32,
    group: &Group,
) -> Result<Vec<(String, f64)>, DbErr> {
    let v = pi_return_value::Entity;
    let r = pi_return::Entity;
    let mut q = Query::select()
        .expr_as(
            Expr::col((r, pi_return::Column::OrganisationId)),
            "organisation_id",
        )
        .expr_as(Expr::col((v, pi_return_value::Column::Value)), "value")
        .from(v)
        .inner_join(
            r,
            Expr::col((r, pi_return::Column::Id)).equals((v, pi_return_value::Column::ReturnId)),
        )
        .and_where(Expr::col((v, pi_return_value::Column::IndicatorCode)).eq(code))
        .and_where(Expr::col((v, pi_return_value::Column::Split)).eq(split))
        .and_where(Expr::col((v, pi_return_value::Column::Current)).eq(true))
        .and_where(Expr::col((r, pi_return::Column::Year)).eq(year))
        .and_where(Expr::col((r, pi_return::Column::PeriodKind)).eq("year"))
        .and_where(Expr::col((r, pi_return::Column::Status)).eq(Status::SignedOff.as_str()))
        .to_owned();
    let members = match group {
        Group::AuthorityType(t) => Query::select()
            .column(organisation::Column::Id)
            .from(organisation::Entity)
            .and_where(organisation::Column::AuthorityType.eq(t.clone()))
            .to_owned(),
        Group::Organisations(ids) => {
            q.and_where(
                Expr::col((r, pi_return::Column::OrganisationId)).is_in(ids.iter().cloned()),
            );
            return collect_benchmark_rows(conn.query_all(&q).await?);
        }
    };
    q.and_where(Expr::col((r, pi_return::Column::OrganisationId)).in_subquery(members));
    collect_benchmark_rows(conn.query_all(&q).await?)
}

fn collect_benchmark_rows(rows: Vec<sea_orm::QueryResult>) -> Result<Vec<(String, f64)>, DbErr> {
    rows.into_iter()
        .map(|row| {
            Ok((
                row.try_get::<String>("", "organisation_id")?,
                row.try_get::<f64>("", "value")?,
            ))
        })
        .collect()
}

/// The ALMOs of one authority type, with their councils.
pub async fn almo_councils_of_type(
    conn: &impl ConnectionTrait,
    authority_type: &str,
) -> Result<BTreeMap<String, String>, DbErr> {
    let rows: Vec<(String, Option<String>)> = organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .column(organisation::Column::CouncilId)
        .filter(organisation::Column::Kind.eq("almo"))
        .filter(organisation::Column::AuthorityType.eq(authority_type))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, council)| council.map(|c| (id, c)))
        .collect())
}

/// The owner and members of a peer group; `None` when there is no such group.
pub async fn peer_group_members(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<(String, Vec<String>)>, DbErr> {
    let Some(group) = almo_db::entity::peer_group::Entity::find_by_id(id.to_string())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let members: Vec<String> = peer_group_member::Entity::find()
        .select_only()
        .column(peer_group_member::Column::MemberId)
        .filter(peer_group_member::Column::PeerGroupId.eq(id))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(Some((group.owner_organisation_id, members)))
}

// ---------------------------------------------------------------- combined and expected returns

/// The ALMOs of `council_id` that managed homes at some time between `start` and `end`.
pub async fn almos_live_in(
    conn: &impl ConnectionTrait,
    council_id: &str,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
) -> Result<Vec<String>, DbErr> {
    organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .filter(organisation::Column::CouncilId.eq(council_id))
        .filter(organisation::Column::Kind.eq("almo"))
        .filter(organisation::Column::GoLiveDate.lte(end))
        .filter(
            Condition::any()
                .add(organisation::Column::EndDate.is_null())
                .add(organisation::Column::EndDate.gte(start)),
        )
        .order_by_asc(organisation::Column::Id)
        .into_tuple()
        .all(conn)
        .await
}

/// The organisations expected to report for a period that `visible` lets the caller see: every
/// council, and every ALMO live at some time in the period; by id, after `after`.
pub async fn expected_reporters(
    conn: &impl ConnectionTrait,
    visible: &Visibility,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    use organisation::Column as C;
    let who = match visible {
        Visibility::All | Visibility::AllButDrafts => Condition::all(),
        Visibility::CouncilAndAlmos(c) => Condition::any()
            .add(C::Id.eq(c.clone()))
            .add(C::CouncilId.eq(c.clone())),
        Visibility::Own(o) => Condition::all().add(C::Id.eq(o.clone())),
    };
    let live_almo = Condition::all()
        .add(C::Kind.eq("almo"))
        .add(C::GoLiveDate.lte(end))
        .add(
            Condition::any()
                .add(C::EndDate.is_null())
                .add(C::EndDate.gte(start)),
        );
    let mut q = organisation::Entity::find()
        .select_only()
        .column(C::Id)
        .filter(who)
        .filter(Condition::any().add(C::Kind.eq("council")).add(live_almo));
    if let Some(after) = after {
        q = q.filter(C::Id.gt(after));
    }
    q.order_by_asc(C::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}

/// The returns of `organisation_ids` for one period.
pub async fn returns_for_period(
    conn: &impl ConnectionTrait,
    organisation_ids: &[String],
    period: &Period,
) -> Result<Vec<pi_return::Model>, DbErr> {
    if organisation_ids.is_empty() {
        return Ok(Vec::new());
    }
    pi_return::Entity::find()
        .filter(pi_return::Column::OrganisationId.is_in(organisation_ids.iter().cloned()))
        .filter(pi_return::Column::Year.eq(period.year))
        .filter(pi_return::Column::PeriodKind.eq(period.kind.as_str()))
        .filter(pi_return::Column::PeriodNumber.eq(period.number))
        .all(conn)
        .await
}

//! The delivery-plan service's queries. Writes take the transaction of an idempotent write; every
//! list is filtered by what the caller may see ([`Visibility`]).

use almo_db::entity::{
    dp_amendment, dp_event, dp_exception, dp_plan, dp_plan_version, dp_variance,
    pi_indicator_definition,
};
use sea_orm::sea_query::{Expr, Query};

use crate::domain::catalogue::PiDefinition;
use almo_db::lock::LockKind;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

/// Rows per multi-row INSERT or IN list: well inside SQLite's and PostgreSQL's parameter limits.
pub const CHUNK: usize = 500;

/// Which plans a caller may see: a council its own, an ALMO its own, the national bodies all.
#[derive(Debug, Clone)]
pub enum Visibility {
    All,
    Council(String),
    Almo(String),
}

impl Visibility {
    pub fn allows(&self, plan: &dp_plan::Model) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Council(id) => plan.council_id == *id,
            Visibility::Almo(id) => plan.almo_id == *id,
        }
    }

    fn condition(&self) -> Condition {
        match self {
            Visibility::All => Condition::all(),
            Visibility::Council(id) => Condition::all().add(dp_plan::Column::CouncilId.eq(id)),
            Visibility::Almo(id) => Condition::all().add(dp_plan::Column::AlmoId.eq(id)),
        }
    }
}

/// The fields of a catalogue definition (the PI returns service's JSON) a plan needs.
#[derive(serde::Deserialize)]
struct StoredDefinition {
    unit: String,
    direction: String,
    valid_min: f64,
    valid_max: f64,
}

/// Every definition, of every year, of the indicator codes named. The PI returns service owns
/// and loads the catalogue (table `pi_indicator_definitions`); this only reads it.
pub async fn pi_definitions(
    conn: &impl ConnectionTrait,
    codes: &[String],
) -> Result<Vec<PiDefinition>, DbErr> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let rows = pi_indicator_definition::Entity::find()
        .filter(pi_indicator_definition::Column::Code.is_in(codes.iter().cloned()))
        .order_by_asc(pi_indicator_definition::Column::FromYear)
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|r| {
            let d: StoredDefinition = serde_json::from_str(&r.definition).map_err(|e| {
                DbErr::Custom(format!(
                    "indicator definition {} {}: {e}",
                    r.code, r.from_year
                ))
            })?;
            Ok(PiDefinition {
                code: r.code,
                from_year: r.from_year,
                to_year: r.to_year,
                unit_name: d.unit,
                direction_name: d.direction,
                valid_min: d.valid_min,
                valid_max: d.valid_max,
            })
        })
        .collect()
}

pub async fn get_plan(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<dp_plan::Model>, DbErr> {
    dp_plan::Entity::find_by_id(id.to_string()).one(conn).await
}

pub async fn insert_plan(
    conn: &impl ConnectionTrait,
    plan: dp_plan::Model,
    version: dp_plan_version::Model,
) -> Result<(), DbErr> {
    dp_plan::Entity::insert(dp_plan::ActiveModel::from(plan))
        .exec_without_returning(conn)
        .await?;
    insert_version(conn, version).await
}

pub async fn insert_version(
    conn: &impl ConnectionTrait,
    version: dp_plan_version::Model,
) -> Result<(), DbErr> {
    dp_plan_version::Entity::insert(dp_plan_version::ActiveModel::from(version))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Every version of a plan, oldest first.
pub async fn versions(
    conn: &impl ConnectionTrait,
    plan_id: &str,
) -> Result<Vec<dp_plan_version::Model>, DbErr> {
    dp_plan_version::Entity::find()
        .filter(dp_plan_version::Column::PlanId.eq(plan_id))
        .order_by_asc(dp_plan_version::Column::Version)
        .all(conn)
        .await
}

/// The newest version of each of `plans`.
pub async fn latest_versions(
    conn: &impl ConnectionTrait,
    plans: &[dp_plan::Model],
) -> Result<Vec<dp_plan_version::Model>, DbErr> {
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    let mut cond = Condition::any();
    for p in plans {
        cond = cond.add(
            Condition::all()
                .add(dp_plan_version::Column::PlanId.eq(&p.id))
                .add(dp_plan_version::Column::Version.eq(p.latest_version)),
        );
    }
    dp_plan_version::Entity::find().filter(cond).all(conn).await
}

/// Moves a plan from `from` to `to` if no one else moved it first. Also takes the plan's row
/// lock on PostgreSQL, so concurrent writers to one plan queue here.
pub async fn advance_plan(
    conn: &impl ConnectionTrait,
    plan_id: &str,
    from: i32,
    to: i32,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    let res = dp_plan::Entity::update_many()
        .col_expr(dp_plan::Column::LatestVersion, Expr::value(to))
        .col_expr(dp_plan::Column::UpdatedAt, Expr::value(now))
        .filter(dp_plan::Column::Id.eq(plan_id))
        .filter(dp_plan::Column::LatestVersion.eq(from))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Takes the plan's row lock (PostgreSQL; SQLite writers are already serialised), so that two
/// pushes to one plan cannot both decide on the same held figures. A plan is locked before its
/// amendments and exceptions (see `almo_db::lock`).
pub async fn lock_plan(conn: &impl ConnectionTrait, plan_id: &str) -> Result<(), DbErr> {
    almo_db::lock::lock_row(conn, LockKind::Plan, plan_id).await?;
    Ok(())
}

/// Locks the amendment (after its plan) and reads it as it now stands.
pub async fn lock_amendment(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<dp_amendment::Model>, DbErr> {
    almo_db::lock::lock_row(conn, LockKind::Amendment, id).await?;
    get_amendment(conn, id).await
}

/// Locks the exception (after its plan) and reads it as it now stands.
pub async fn lock_exception(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<dp_exception::Model>, DbErr> {
    almo_db::lock::lock_row(conn, LockKind::Exception, id).await?;
    get_exception(conn, id).await
}

pub async fn list_plans(
    conn: &impl ConnectionTrait,
    vis: &Visibility,
    council_id: Option<&str>,
    almo_id: Option<&str>,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<dp_plan::Model>, DbErr> {
    let mut q = dp_plan::Entity::find().filter(vis.condition());
    if let Some(c) = council_id {
        q = q.filter(dp_plan::Column::CouncilId.eq(c));
    }
    if let Some(a) = almo_id {
        q = q.filter(dp_plan::Column::AlmoId.eq(a));
    }
    if let Some(after) = after {
        q = q.filter(dp_plan::Column::Id.gt(after));
    }
    q.order_by_asc(dp_plan::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn insert_amendment(
    conn: &impl ConnectionTrait,
    a: dp_amendment::Model,
) -> Result<(), DbErr> {
    dp_amendment::Entity::insert(dp_amendment::ActiveModel::from(a))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn get_amendment(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<dp_amendment::Model>, DbErr> {
    dp_amendment::Entity::find_by_id(id.to_string())
        .one(conn)
        .await
}

/// Writes the amendment if its row version is still `expected`.
pub async fn update_amendment_if(
    conn: &impl ConnectionTrait,
    a: &dp_amendment::Model,
    expected: i32,
) -> Result<bool, DbErr> {
    let res = dp_amendment::Entity::update_many()
        .col_expr(dp_amendment::Column::State, Expr::value(a.state.clone()))
        .col_expr(
            dp_amendment::Column::DecidedByOrganisationId,
            Expr::value(a.decided_by_organisation_id.clone()),
        )
        .col_expr(
            dp_amendment::Column::DecisionNote,
            Expr::value(a.decision_note.clone()),
        )
        .col_expr(
            dp_amendment::Column::ResultingVersion,
            Expr::value(a.resulting_version),
        )
        .col_expr(dp_amendment::Column::RowVersion, Expr::value(a.row_version))
        .col_expr(dp_amendment::Column::UpdatedAt, Expr::value(a.updated_at))
        .filter(dp_amendment::Column::Id.eq(&a.id))
        .filter(dp_amendment::Column::RowVersion.eq(expected))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// A plan's amendments, newest first.
pub async fn list_amendments(
    conn: &impl ConnectionTrait,
    plan_id: &str,
) -> Result<Vec<dp_amendment::Model>, DbErr> {
    dp_amendment::Entity::find()
        .filter(dp_amendment::Column::PlanId.eq(plan_id))
        .order_by_desc(dp_amendment::Column::CreatedAt)
        .order_by_desc(dp_amendment::Column::Id)
        .all(conn)
        .await
}

/// The current (not superseded) figures of a plan.
pub async fn current_variances(
    conn: &impl ConnectionTrait,
    plan_id: &str,
) -> Result<Vec<dp_variance::Model>, DbErr> {
    dp_variance::Entity::find()
        .filter(dp_variance::Column::PlanId.eq(plan_id))
        .filter(dp_variance::Column::Superseded.eq(false))
        .all(conn)
        .await
}

/// The current figures of a plan for the targets `codes` or under the record ids `ids`.
pub async fn current_variances_of(
    conn: &impl ConnectionTrait,
    plan_id: &str,
    codes: &std::collections::HashSet<String>,
    ids: &std::collections::HashSet<String>,
) -> Result<Vec<dp_variance::Model>, DbErr> {
    dp_variance::Entity::find()
        .filter(dp_variance::Column::PlanId.eq(plan_id))
        .filter(dp_variance::Column::Superseded.eq(false))
        .filter(
            Condition::any()
                .add(dp_variance::Column::TargetCode.is_in(codes.iter().cloned()))
                .add(dp_variance::Column::SenderRecordId.is_in(ids.iter().cloned())),
        )
        .all(conn)
        .await
}

/// Inserts figures in multi-row statements of [`CHUNK`] rows.
pub async fn insert_variances(
    conn: &impl ConnectionTrait,
    rows: Vec<dp_variance::ActiveModel>,
) -> Result<(), DbErr> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(CHUNK).collect();
        dp_variance::Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Marks figures as superseded by a correction.
pub async fn supersede(conn: &impl ConnectionTrait, ids: &[i64]) -> Result<(), DbErr> {
    for chunk in ids.chunks(CHUNK) {
        dp_variance::Entity::update_many()
            .col_expr(dp_variance::Column::Superseded, Expr::value(true))
            .filter(dp_variance::Column::Id.is_in(chunk.iter().copied()))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Every figure sent under one sender record id, oldest first.
pub async fn variance_history(
    conn: &impl ConnectionTrait,
    plan_id: &str,
    sender_record_id: &str,
) -> Result<Vec<dp_variance::Model>, DbErr> {
    dp_variance::Entity::find()
        .filter(dp_variance::Column::PlanId.eq(plan_id))
        .filter(dp_variance::Column::SenderRecordId.eq(sender_record_id))
        .order_by_asc(dp_variance::Column::Revision)
        .all(conn)
        .await
}

pub async fn open_exceptions(
    conn: &impl ConnectionTrait,
    plan_id: &str,
) -> Result<Vec<dp_exception::Model>, DbErr> {
    dp_exception::Entity::find()
        .filter(dp_exception::Column::PlanId.eq(plan_id))
        .filter(dp_exception::Column::OpenTarget.is_not_null())
        .order_by_asc(dp_exception::Column::Id)
        .all(conn)
        .await
}

pub async fn insert_exceptions(
    conn: &impl ConnectionTrait,
    rows: Vec<dp_exception::Model>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    dp_exception::Entity::insert_many(rows.into_iter().map(dp_exception::ActiveModel::from))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Moves an unresolved exception's run on to `run` (its report and decision, and so its etag,
/// are left as they are: the run is what the figures say, not something a party changes).
pub async fn extend_exception(
    conn: &impl ConnectionTrait,
    id: &str,
    run: &crate::domain::exception::OffTrackRun,
) -> Result<(), DbErr> {
    dp_exception::Entity::update_many()
        .col_expr(
            dp_exception::Column::ConsecutivePeriods,
            Expr::value(run.length as i32),
        )
        .col_expr(dp_exception::Column::FirstYear, Expr::value(run.first.year))
        .col_expr(
            dp_exception::Column::FirstNumber,
            Expr::value(run.first.number),
        )
        .col_expr(dp_exception::Column::LastYear, Expr::value(run.last.year))
        .col_expr(
            dp_exception::Column::LastNumber,
            Expr::value(run.last.number),
        )
        .filter(dp_exception::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn get_exception(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<dp_exception::Model>, DbErr> {
    dp_exception::Entity::find_by_id(id.to_string())
        .one(conn)
        .await
}

/// Writes the exception's report and decision if its row version is still `expected`.
pub async fn update_exception_if(
    conn: &impl ConnectionTrait,
    e: &dp_exception::Model,
    expected: i32,
) -> Result<bool, DbErr> {
    let res = dp_exception::Entity::update_many()
        .col_expr(dp_exception::Column::State, Expr::value(e.state.clone()))
        .col_expr(
            dp_exception::Column::OpenTarget,
            Expr::value(e.open_target.clone()),
        )
        .col_expr(
            dp_exception::Column::ReportCause,
            Expr::value(e.report_cause.clone()),
        )
        .col_expr(
            dp_exception::Column::ReportRecoveryAction,
            Expr::value(e.report_recovery_action.clone()),
        )
        .col_expr(
            dp_exception::Column::ReportRecoveryDate,
            Expr::value(e.report_recovery_date),
        )
        .col_expr(
            dp_exception::Column::ReportedBy,
            Expr::value(e.reported_by.clone()),
        )
        .col_expr(dp_exception::Column::ReportedAt, Expr::value(e.reported_at))
        .col_expr(
            dp_exception::Column::DecisionNote,
            Expr::value(e.decision_note.clone()),
        )
        .col_expr(
            dp_exception::Column::DecidedBy,
            Expr::value(e.decided_by.clone()),
        )
        .col_expr(dp_exception::Column::DecidedAt, Expr::value(e.decided_at))
        .col_expr(dp_exception::Column::RowVersion, Expr::value(e.row_version))
        .filter(dp_exception::Column::Id.eq(&e.id))
        .filter(dp_exception::Column::RowVersion.eq(expected))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Open exceptions on the plans `vis` allows, optionally of one plan, in id (raise) order.
pub async fn list_exceptions(
    conn: &impl ConnectionTrait,
    vis: &Visibility,
    plan_id: Option<&str>,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<dp_exception::Model>, DbErr> {
    let visible_plans = Query::select()
        .column(dp_plan::Column::Id)
        .from(dp_plan::Entity)
        .cond_where(vis.condition())
        .to_owned();
    let mut q = dp_exception::Entity::find()
        .filter(dp_exception::Column::PlanId.in_subquery(visible_plans))
        .filter(dp_exception::Column::OpenTarget.is_not_null());
    if let Some(id) = plan_id {
        q = q.filter(dp_exception::Column::PlanId.eq(id));
    }
    if let Some(after) = after {
        q = q.filter(dp_exception::Column::Id.gt(after));
    }
    q.order_by_asc(dp_exception::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

/// A new figure row; the id is assigned by the database.
#[allow(clippy::too_many_arguments)]
pub fn variance_row(
    plan_id: &str,
    sender_record_id: &str,
    revision: i32,
    figure: &crate::domain::status::Figure,
    recorded_by: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> dp_variance::ActiveModel {
    dp_variance::ActiveModel {
        id: Default::default(),
        plan_id: Set(plan_id.to_string()),
        sender_record_id: Set(sender_record_id.to_string()),
        revision: Set(revision),
        superseded: Set(false),
        target_code: Set(figure.target_code.clone()),
        year: Set(figure.period.year),
        period_kind: Set(figure.period.kind.as_str().to_string()),
        period_number: Set(figure.period.number),
        actual: Set(figure.actual),
        forecast: Set(figure.forecast),
        commentary: Set(figure.commentary.clone()),
        recorded_by: Set(recorded_by.to_string()),
        recorded_at: Set(now),
    }
}

/// A new open exception `id` on `plan_id`'s target `code`, off track for the periods of `run`.
pub fn open_exception(
    id: String,
    plan_id: &str,
    code: &str,
    run: &crate::domain::exception::OffTrackRun,
    raised_at: chrono::DateTime<chrono::Utc>,
) -> dp_exception::Model {
    dp_exception::Model {
        id,
        plan_id: plan_id.to_string(),
        target_code: code.to_string(),
        open_target: Some(code.to_string()),
        consecutive_periods: run.length as i32,
        period_kind: run.last.kind.as_str().into(),
        first_year: run.first.year,
        first_number: run.first.number,
        last_year: run.last.year,
        last_number: run.last.number,
        state: crate::domain::exception::ExceptionState::Open
            .as_str()
            .into(),
        raised_at,
        report_cause: String::new(),
        report_recovery_action: String::new(),
        report_recovery_date: None,
        reported_by: None,
        reported_at: None,
        decision_note: String::new(),
        decided_by: None,
        decided_at: None,
        row_version: 1,
    }
}

/// The wake-up topic of plan events (`almo_db::notify`); the key is the plan id.
pub const EVENTS_TOPIC: &str = "plan_events";

/// Appends events; the caller holds the plan's lock (see [`lock_plan`]) so that a plan's events
/// get their ids in commit order and a watcher never skips one. The watchers of each plan, on
/// every replica, are woken when the transaction commits.
pub async fn insert_events(
    conn: &impl ConnectionTrait,
    rows: Vec<dp_event::ActiveModel>,
) -> Result<(), DbErr> {
    let mut plans: Vec<String> = rows
        .iter()
        .filter_map(|r| match &r.plan_id {
            sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => Some(id.clone()),
            sea_orm::ActiveValue::NotSet => None,
        })
        .collect();
    plans.sort();
    plans.dedup();
    for plan in &plans {
        almo_db::notify::notify(conn, EVENTS_TOPIC, plan).await?;
    }
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(CHUNK).collect();
        dp_event::Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// The newest event id of a plan (0 when none).
pub async fn last_event_id(conn: &impl ConnectionTrait, plan_id: &str) -> Result<i64, DbErr> {
    let last: Option<i64> = dp_event::Entity::find()
        .select_only()
        .column(dp_event::Column::Id)
        .filter(dp_event::Column::PlanId.eq(plan_id))
        .order_by_desc(dp_event::Column::Id)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(last.unwrap_or(0))
}

/// A plan's events after `after`, oldest first.
pub async fn events_after(
    conn: &impl ConnectionTrait,
    plan_id: &str,
    after: i64,
    limit: u64,
) -> Result<Vec<dp_event::Model>, DbErr> {
    dp_event::Entity::find()
        .filter(dp_event::Column::PlanId.eq(plan_id))
        .filter(dp_event::Column::Id.gt(after))
        .order_by_asc(dp_event::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

/// A new event row.
pub fn event(
    plan_id: &str,
    kind: &str,
    subject_id: &str,
    summary: String,
    at: chrono::DateTime<chrono::Utc>,
) -> dp_event::ActiveModel {
    dp_event::ActiveModel {
        id: Default::default(),
        plan_id: Set(plan_id.to_string()),
        kind: Set(kind.to_string()),
        subject_id: Set(subject_id.to_string()),
        summary: Set(summary),
        at: Set(at),
    }
}

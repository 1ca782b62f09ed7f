//! `almo.pi_returns.v1.PiReturnsService`: decode -> check caller -> domain -> storage -> reply.

use std::collections::{BTreeMap, BTreeSet};

use almo_auth::{OrgKind, Role, policy};
use almo_db::Begun;
use almo_db::entity::{organisation, pi_return, pi_return_value};
use almo_proto::common;
use almo_proto::pi_returns::pi_returns_service_server::PiReturnsService;
use almo_proto::pi_returns::{
    self as pb, CombineAlmoReturnsRequest, CombineAlmoReturnsResponse, CreateReturnRequest,
    CreateReturnResponse, ExportReturnsRequest, ExportReturnsResponse, GetBenchmarkRequest,
    GetBenchmarkResponse, GetIndicatorRequest, GetIndicatorResponse, GetReturnRequest,
    GetReturnResponse, ImportCatalogueRequest, ImportCatalogueResponse, ListIndicatorsRequest,
    ListIndicatorsResponse, ListOutstandingReturnsRequest, ListOutstandingReturnsResponse,
    QueryReturnsRequest, QueryReturnsResponse, ReturnForCorrectionRequest,
    ReturnForCorrectionResponse, ReviseReturnRequest, ReviseReturnResponse, SetValuesRequest,
    SetValuesResponse, SignOffReturnRequest, SignOffReturnResponse, SubmitReturnRequest,
    SubmitReturnResponse,
};
use almo_server::access::scope_of_row;
use almo_server::{AppError, Principal, ServiceContext, Violations, paging};
use almo_server::{etag, timestamp as ts};
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tokio::sync::OnceCell;
use tonic::{Request, Response, Status};

use crate::domain::catalogue::{self, Combination, Definition, Direction, Frequency, Ratio, Unit};
use crate::domain::combination;
use crate::domain::period::{Period, PeriodKind};
use crate::domain::quartile;
use crate::domain::validation::{self, Entry};
use crate::domain::workflow::{self, Status as ReturnStatus, WorkflowError};
use crate::storage::{self, Group, Imported, NewValue, ReturnFilter, Visibility};

pub const SERVICE_NAME: &str = "almo.pi_returns.v1.PiReturnsService";

const AUTHORITY_TYPES: [&str; 4] = ["london_borough", "metropolitan", "unitary", "district"];

#[derive(Clone)]
pub struct PiReturns {
    ctx: ServiceContext,
    /// The shipped catalogue is loaded once per process, on first use (idempotent across
    /// replicas: existing definitions are left alone).
    seeded: std::sync::Arc<OnceCell<()>>,
}

/// The one mapping of workflow refusals into the service's errors.
impl From<WorkflowError> for AppError {
    fn from(e: WorkflowError) -> Self {
        AppError::FailedPrecondition {
            reason: e.reason(),
            message: e.to_string(),
        }
    }
}

impl From<WorkflowError> for Status {
    fn from(e: WorkflowError) -> Self {
        AppError::from(e).into()
    }
}

/// A database error as the reply's status (for `map_err`).
fn db(e: sea_orm::DbErr) -> AppError {
    AppError::from(e)
}

/// Returns per message of an export.
const EXPORT_BATCH: u64 = 500;

impl PiReturns {
    pub fn new(ctx: ServiceContext) -> Self {
        Self {
            ctx,
            seeded: std::sync::Arc::new(OnceCell::new()),
        }
    }

    async fn catalogue(&self) -> Result<Vec<Definition>, AppError> {
        self.seeded
            .get_or_try_init(|| async { storage::seed_catalogue(self.ctx.db.conn()).await })
            .await
            .map_err(db)?;
        storage::load_catalogue(self.ctx.db.conn())
            .await
            .map_err(db)
    }

    /// A return the caller may read: its organisation's own people and its council; the
    /// regulator and the inspectorate once it is no longer a draft; the operator.
    async fn readable_return(&self, p: &Principal, id: &str) -> Result<pi_return::Model, AppError> {
        let not_found = || AppError::NotFound(format!("no PI return {id:?}"));
        let row = storage::get_return(self.ctx.db.conn(), id)
            .await
            .map_err(db)?
            .ok_or_else(not_found)?;
        match p.org.kind {
            OrgKind::Operator => Ok(row),
            // A draft (or a return being reworked) is not yet a return as far as the regulator
            // is concerned.
            OrgKind::Regulator | OrgKind::Inspectorate => {
                if row.status == ReturnStatus::Submitted.as_str()
                    || row.status == ReturnStatus::SignedOff.as_str()
                {
                    Ok(row)
                } else {
                    Err(not_found())
                }
            }
            OrgKind::Council | OrgKind::Almo => {
                self.ctx
                    .access
                    .require_read(p, &row.organisation_id)
                    .await?;
                Ok(row)
            }
        }
    }

    async fn reply(
        &self,
        row: pi_return::Model,
        include_history: bool,
    ) -> Result<pb::PiReturn, AppError> {
        let conn = self.ctx.db.conn();
        let values = storage::current_values(conn, std::slice::from_ref(&row.id), None)
            .await
            .map_err(db)?;
        let history = if include_history {
            storage::history(conn, &row.id)
                .await
                .map_err(db)?
                .into_iter()
                .filter(|v| !v.current)
                .collect()
        } else {
            Vec::new()
        };
        Ok(return_to_proto(row, values, history))
    }

    /// Validates `inputs` against the definitions in force for the return's year; every refusal
    /// names its field as `values[i].field`.
    async fn validate_values(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        defs: &[Definition],
        ret: &pi_return::Model,
        inputs: &[pb::ValueInput],
        may_be_empty: bool,
    ) -> Result<Vec<NewValue>, AppError> {
        let period = period_of(ret)?;
        let last_year = storage::last_year_values(conn, &ret.organisation_id, &period)
            .await
            .map_err(db)?;
        let mut v = Violations::new();
        v.check(
            inputs.is_empty() && !may_be_empty,
            "values",
            "at least one value",
        );
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let code = input.indicator_code.trim();
            let Some(def) = catalogue::in_force(defs, code, period.year) else {
                v.add(
                    format!("values[{i}].indicator_code"),
                    format!("no indicator {code:?} is defined for {}", period.label()),
                );
                continue;
            };
            if !def.reported_in(period.kind == PeriodKind::Quarter) {
                v.add(
                    format!("values[{i}].indicator_code"),
                    format!("{code} is reported annually, not in quarterly returns"),
                );
                continue;
            }
            let split = input.split.trim().to_string();
            if !seen.insert((code.to_string(), split.clone())) {
                v.add(
                    format!("values[{i}]"),
                    format!("{code} {split:?} is given twice"),
                );
                continue;
            }
            let unit = match pb::Unit::try_from(input.unit) {
                Ok(pb::Unit::Unspecified) => None,
                Ok(u) => unit_from_proto(u),
                Err(_) => {
                    v.add(format!("values[{i}].unit"), "not a Unit");
                    continue;
                }
            };
            let entry = Entry {
                split: split.clone(),
                value: input.value,
                numerator: input.numerator,
                denominator: input.denominator,
                unit,
                explanation: input.explanation.clone(),
            };
            let prior = last_year.get(&(code.to_string(), split.clone())).copied();
            match validation::validate(def, &entry, prior) {
                Ok(accepted) => out.push(NewValue {
                    indicator_code: code.to_string(),
                    split,
                    accepted,
                }),
                Err(refusals) => {
                    for r in refusals {
                        v.add(format!("values[{i}].{}", r.field), r.reason);
                    }
                }
            }
        }
        v.into_result()?;
        Ok(out)
    }

    /// Opens the idempotent write, re-reads the return inside it and checks the etag.
    async fn begin_change<R: prost::Message + Default>(
        &self,
        p: &Principal,
        method: &str,
        request_id: &str,
        payload: &impl prost::Message,
        return_id: &str,
        etag_given: &str,
    ) -> Result<Result<(almo_db::PendingWrite, pi_return::Model), R>, AppError> {
        let ctx = p.call_context(SERVICE_NAME, method, request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, payload).await? {
            Begun::Replay(resp) => return Ok(Err(resp)),
            Begun::Fresh(w) => w,
        };
        let current = storage::get_return(write.txn(), return_id)
            .await
            .map_err(db)?
            .ok_or_else(|| AppError::NotFound(format!("no PI return {return_id:?}")))?;
        if etag(current.version) != etag_given.trim()
            || !storage::claim_version(write.txn(), return_id, current.version)
                .await
                .map_err(db)?
        {
            return Err(AppError::stale_etag(&format!("piReturns/{return_id}")));
        }
        Ok(Ok((write, current)))
    }

    /// Writes the changed return row (its version claimed by `begin_change`, so `row.version`
    /// is the stored one), then the audit row and reply.
    async fn finish_change<R: prost::Message>(
        &self,
        write: almo_db::PendingWrite,
        row: &pi_return::Model,
        make: impl FnOnce(pb::PiReturn) -> R,
    ) -> Result<R, AppError> {
        if !storage::update_return_if_version(write.txn(), row, row.version)
            .await
            .map_err(db)?
        {
            return Err(AppError::stale_etag(&format!("piReturns/{}", row.id)));
        }
        let values = storage::current_values(write.txn(), std::slice::from_ref(&row.id), None)
            .await
            .map_err(db)?;
        let resp = make(return_to_proto(row.clone(), values, Vec::new()));
        write
            .finish(&resp, &format!("piReturns/{}", row.id))
            .await
            .map_err(db)?;
        Ok(resp)
    }

    /// Checks the caller before a change: the organisation's own officers write its returns.
    async fn require_author(&self, p: &Principal, return_id: &str) -> Result<(), AppError> {
        let row = self.readable_return(p, return_id).await?;
        require_officer(p)?;
        if p.org.id != row.organisation_id {
            return Err(AppError::PermissionDenied(format!(
                "only {}'s own officers write its returns",
                row.organisation_id
            )));
        }
        Ok(())
    }

    /// Checks the caller before a certification: an officer of the organisation or of its
    /// council.
    async fn require_certifier(&self, p: &Principal, return_id: &str) -> Result<(), AppError> {
        let row = self.readable_return(p, return_id).await?;
        require_officer(p)?;
        let target = self
            .ctx
            .access
            .require_write(p, &row.organisation_id)
            .await?;
        let own = p.org.id == target.id;
        let its_council = target.council_id.as_deref() == Some(p.org.id.as_str());
        if !(own || its_council) {
            return Err(AppError::PermissionDenied(format!(
                "only {}'s own officers or its council's certify its returns",
                row.organisation_id
            )));
        }
        Ok(())
    }
}

fn require_officer(p: &Principal) -> Result<(), AppError> {
    match p.caller.role {
        Role::AlmoOfficer | Role::CouncilOfficer => Ok(()),
        other => Err(AppError::PermissionDenied(format!(
            "role {other} does not prepare or certify PI returns; an officer does"
        ))),
    }
}

fn visibility(p: &Principal) -> Visibility {
    match p.org.kind {
        OrgKind::Operator => Visibility::All,
        OrgKind::Regulator | OrgKind::Inspectorate => Visibility::AllButDrafts,
        OrgKind::Council => Visibility::CouncilAndAlmos(p.org.id.clone()),
        OrgKind::Almo => Visibility::Own(p.org.id.clone()),
    }
}

fn status_of(s: &str) -> Result<ReturnStatus, AppError> {
    ReturnStatus::parse(s).ok_or_else(|| AppError::Internal(format!("stored status {s:?}")))
}

fn period_of(r: &pi_return::Model) -> Result<Period, AppError> {
    let kind = PeriodKind::parse(&r.period_kind)
        .ok_or_else(|| AppError::Internal(format!("stored period kind {:?}", r.period_kind)))?;
    Period::new(r.year, kind, r.period_number).map_err(AppError::Internal)
}

fn return_id_of(org: &str, p: &Period) -> String {
    match p.kind {
        PeriodKind::Year => format!("{org}/{}/Y", p.year),
        PeriodKind::Quarter => format!("{org}/{}/Q{}", p.year, p.number),
    }
}

fn status_to_proto(s: &str) -> pb::ReturnStatus {
    match ReturnStatus::parse(s) {
        Some(ReturnStatus::Draft) => pb::ReturnStatus::Draft,
        Some(ReturnStatus::Submitted) => pb::ReturnStatus::Submitted,
        Some(ReturnStatus::SignedOff) => pb::ReturnStatus::SignedOff,
        Some(ReturnStatus::Returned) => pb::ReturnStatus::Returned,
        None => pb::ReturnStatus::Unspecified,
    }
}

fn value_to_proto(v: pi_return_value::Model) -> pb::ReturnValue {
    pb::ReturnValue {
        indicator_code: v.indicator_code,
        split: v.split,
        value: v.value,
        numerator: v.numerator,
        denominator: v.denominator,
        warnings: v
            .warnings
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        explanation: v.explanation,
        sequence: v.sequence,
        revision_reason: v.revision_reason,
        changed_by: v.changed_by,
        change_time: Some(ts(v.changed_at)),
        current: v.current,
    }
}

fn return_to_proto(
    r: pi_return::Model,
    values: Vec<pi_return_value::Model>,
    history: Vec<pi_return_value::Model>,
) -> pb::PiReturn {
    let kind = match r.period_kind.as_str() {
        "quarter" => common::PeriodKind::Quarter,
        _ => common::PeriodKind::Year,
    };
    pb::PiReturn {
        id: r.id,
        organisation_id: r.organisation_id,
        period: Some(common::Period {
            year: Some(common::FinancialYear { start_year: r.year }),
            kind: kind as i32,
            number: r.period_number,
        }),
        status: status_to_proto(&r.status) as i32,
        values: values.into_iter().map(value_to_proto).collect(),
        history: history.into_iter().map(value_to_proto).collect(),
        deadline_date: r.deadline_date.to_string(),
        late: r.late,
        submitted_by: r.submitted_by.unwrap_or_default(),
        submit_time: r.submitted_at.map(ts),
        signed_off_by: r.signed_off_by.unwrap_or_default(),
        sign_off_time: r.signed_off_at.map(ts),
        returned_reason: r.returned_reason.unwrap_or_default(),
        revision: r.revision,
        etag: etag(r.version),
        create_time: Some(ts(r.created_at)),
        update_time: Some(ts(r.updated_at)),
        survey: r.survey_sample_size.map(|n| pb::TenantSurvey {
            sample_size: n,
            method: survey_method_to_proto(r.survey_method.as_deref()) as i32,
        }),
    }
}

const SURVEY_METHODS: [(pb::SurveyMethod, &str); 5] = [
    (pb::SurveyMethod::Postal, "postal"),
    (pb::SurveyMethod::Telephone, "telephone"),
    (pb::SurveyMethod::Online, "online"),
    (pb::SurveyMethod::FaceToFace, "face_to_face"),
    (pb::SurveyMethod::Mixed, "mixed"),
];

fn survey_method_to_proto(s: Option<&str>) -> pb::SurveyMethod {
    SURVEY_METHODS
        .iter()
        .find(|(_, name)| Some(*name) == s)
        .map(|(m, _)| *m)
        .unwrap_or(pb::SurveyMethod::Unspecified)
}

/// The survey of a SetValues request as (sample size, method), or its bad fields.
fn parse_survey(v: &mut Violations, s: &pb::TenantSurvey) -> Option<(i32, &'static str)> {
    let method = SURVEY_METHODS
        .iter()
        .find(|(m, _)| *m as i32 == s.method)
        .map(|(_, name)| *name);
    if method.is_none() {
        v.add(
            "survey.method",
            "required: postal, telephone, online, face to face or mixed",
        );
    }
    let size_ok = (1..=1_000_000).contains(&s.sample_size);
    if !size_ok {
        v.add("survey.sample_size", "how many tenants answered: 1 or more");
    }
    Some((s.sample_size, method?)).filter(|_| size_ok)
}

// ---------------------------------------------------------------- catalogue <-> proto

fn unit_from_proto(u: pb::Unit) -> Option<Unit> {
    Some(match u {
        pb::Unit::Unspecified => return None,
        pb::Unit::Percent => Unit::Percent,
        pb::Unit::Days => Unit::Days,
        pb::Unit::SapPoints => Unit::SapPoints,
        pb::Unit::Pounds => Unit::Pounds,
        pb::Unit::Count => Unit::Count,
        pb::Unit::PerThousand => Unit::PerThousand,
        pb::Unit::YesNo => Unit::YesNo,
    })
}

fn unit_to_proto(u: Unit) -> pb::Unit {
    match u {
        Unit::Percent => pb::Unit::Percent,
        Unit::Days => pb::Unit::Days,
        Unit::SapPoints => pb::Unit::SapPoints,
        Unit::Pounds => pb::Unit::Pounds,
        Unit::Count => pb::Unit::Count,
        Unit::PerThousand => pb::Unit::PerThousand,
        Unit::YesNo => pb::Unit::YesNo,
    }
}

fn direction_to_proto(d: Direction) -> pb::Direction {
    match d {
        Direction::Higher => pb::Direction::Higher,
        Direction::Lower => pb::Direction::Lower,
        Direction::YesNo => pb::Direction::YesNo,
        Direction::Context => pb::Direction::Context,
    }
}

/// The contract form of a definition (the catalogue file's form is `Definition`).
pub fn definition_to_proto(d: &Definition) -> pb::IndicatorDefinition {
    pb::IndicatorDefinition {
        code: d.code.clone(),
        title: d.title.clone(),
        from_year: Some(common::FinancialYear {
            start_year: d.from_year,
        }),
        to_year: d.to_year.map(|y| common::FinancialYear { start_year: y }),
        unit: unit_to_proto(d.unit) as i32,
        direction: direction_to_proto(d.direction) as i32,
        precision: d.precision as i32,
        valid_min: d.valid_min,
        valid_max: d.valid_max,
        usual_min: d.usual_min,
        usual_max: d.usual_max,
        max_change_on_last_year: d.max_change_on_last_year,
        ratio: d.ratio.as_ref().map(|r| pb::RatioDefinition {
            numerator: r.numerator.clone(),
            denominator: r.denominator.clone(),
            scale: r.scale,
        }),
        splits: d.splits.clone(),
        frequency: match d.frequency {
            Frequency::Quarterly => pb::Frequency::Quarterly,
            Frequency::Annual => pb::Frequency::Annual,
        } as i32,
        combination: match d.combination {
            Combination::Sum => pb::Combination::Sum,
            Combination::Ratio => pb::Combination::Ratio,
            Combination::NotCombinable => pb::Combination::NotCombinable,
        } as i32,
        mandatory: d.mandatory,
        source: d.source.clone(),
        from_tenant_survey: d.from_tenant_survey,
    }
}

/// The domain form of an imported definition; bad fields are reported as `{prefix}.field`.
fn definition_from_proto(
    v: &mut Violations,
    prefix: &str,
    d: &pb::IndicatorDefinition,
) -> Option<Definition> {
    let mut bad = |field: &str, why: &str| v.add(format!("{prefix}.{field}"), why.to_string());
    let unit = pb::Unit::try_from(d.unit).ok().and_then(unit_from_proto);
    if unit.is_none() {
        bad("unit", "required: one of the Unit values");
    }
    let direction = match pb::Direction::try_from(d.direction) {
        Ok(pb::Direction::Higher) => Some(Direction::Higher),
        Ok(pb::Direction::Lower) => Some(Direction::Lower),
        Ok(pb::Direction::YesNo) => Some(Direction::YesNo),
        Ok(pb::Direction::Context) => Some(Direction::Context),
        _ => {
            bad("direction", "required: one of the Direction values");
            None
        }
    };
    let frequency = match pb::Frequency::try_from(d.frequency) {
        Ok(pb::Frequency::Quarterly) => Some(Frequency::Quarterly),
        Ok(pb::Frequency::Annual) => Some(Frequency::Annual),
        _ => {
            bad("frequency", "required: quarterly or annual");
            None
        }
    };
    let combination = match pb::Combination::try_from(d.combination) {
        Ok(pb::Combination::Sum) => Some(Combination::Sum),
        Ok(pb::Combination::Ratio) => Some(Combination::Ratio),
        Ok(pb::Combination::NotCombinable) => Some(Combination::NotCombinable),
        _ => {
            bad("combination", "required: sum, ratio or not combinable");
            None
        }
    };
    let from_year = d.from_year.as_ref().map(|y| y.start_year);
    if from_year.is_none() {
        bad("from_year", "required");
    }
    if d.precision < 0 {
        bad("precision", "must not be negative");
    }
    let def = Definition {
        code: d.code.trim().to_string(),
        title: d.title.trim().to_string(),
        from_year: from_year?,
        to_year: d.to_year.as_ref().map(|y| y.start_year),
        unit: unit?,
        direction: direction?,
        precision: u32::try_from(d.precision).ok()?,
        valid_min: d.valid_min,
        valid_max: d.valid_max,
        usual_min: d.usual_min,
        usual_max: d.usual_max,
        max_change_on_last_year: d.max_change_on_last_year,
        ratio: d.ratio.as_ref().map(|r| Ratio {
            numerator: r.numerator.clone(),
            denominator: r.denominator.clone(),
            scale: r.scale,
        }),
        splits: d.splits.iter().map(|s| s.trim().to_string()).collect(),
        frequency: frequency?,
        combination: combination?,
        mandatory: d.mandatory,
        from_tenant_survey: d.from_tenant_survey,
        source: d.source.trim().to_string(),
    };
    let problems = def.problems();
    for (field, why) in &problems {
        v.add(format!("{prefix}.{field}"), why.clone());
    }
    problems.is_empty().then_some(def)
}

fn parse_period(v: &mut Violations, p: Option<&common::Period>) -> Option<Period> {
    let Some(p) = p else {
        v.add("period", "required: a quarter or the financial year");
        return None;
    };
    let year = match &p.year {
        Some(y) => y.start_year,
        None => {
            v.add("period.year", "required");
            return None;
        }
    };
    let kind = match common::PeriodKind::try_from(p.kind) {
        Ok(common::PeriodKind::Quarter) => PeriodKind::Quarter,
        Ok(common::PeriodKind::Year) => PeriodKind::Year,
        _ => {
            v.add(
                "period.kind",
                "PI returns are quarterly or annual: PERIOD_KIND_QUARTER or PERIOD_KIND_YEAR",
            );
            return None;
        }
    };
    match Period::new(year, kind, p.number) {
        Ok(p) => Some(p),
        Err(e) => {
            v.add("period.number", e);
            None
        }
    }
}

fn required_year(v: &mut Violations, y: Option<&common::FinancialYear>) -> Option<i32> {
    match y {
        Some(y) if (1990..=2100).contains(&y.start_year) => Some(y.start_year),
        Some(_) => {
            v.add("year", "a financial year between 1990/91 and 2100/01");
            None
        }
        None => {
            v.add("year", "required");
            None
        }
    }
}

fn verdict_to_proto(v: quartile::Verdict) -> pb::Verdict {
    match v {
        quartile::Verdict::UpperQuartile => pb::Verdict::UpperQuartile,
        quartile::Verdict::AboveMedian => pb::Verdict::AboveMedian,
        quartile::Verdict::BelowMedian => pb::Verdict::BelowMedian,
        quartile::Verdict::LowerQuartile => pb::Verdict::LowerQuartile,
        quartile::Verdict::NotRanked => pb::Verdict::NotRanked,
    }
}

/// The filters of QueryReturns and ExportReturns.
fn parse_filter(v: &mut Violations, r: &QueryReturnsRequest) -> ReturnFilter {
    let period_kind = match common::PeriodKind::try_from(r.period_kind) {
        Ok(common::PeriodKind::Unspecified) => None,
        Ok(common::PeriodKind::Quarter) => Some(PeriodKind::Quarter.as_str()),
        Ok(common::PeriodKind::Year) => Some(PeriodKind::Year.as_str()),
        _ => {
            v.add("period_kind", "PERIOD_KIND_QUARTER or PERIOD_KIND_YEAR");
            None
        }
    };
    let period_number = match (period_kind, r.period_number) {
        (_, 0) => None,
        (Some("quarter"), n @ 1..=4) => Some(n),
        (Some("year"), 1) => Some(1),
        _ => {
            v.add(
                "period_number",
                "with period_kind: 1-4 for a quarter, 1 for the year",
            );
            None
        }
    };
    let status = match pb::ReturnStatus::try_from(r.status) {
        Ok(pb::ReturnStatus::Unspecified) => None,
        Ok(pb::ReturnStatus::Draft) => Some(ReturnStatus::Draft.as_str()),
        Ok(pb::ReturnStatus::Submitted) => Some(ReturnStatus::Submitted.as_str()),
        Ok(pb::ReturnStatus::SignedOff) => Some(ReturnStatus::SignedOff.as_str()),
        Ok(pb::ReturnStatus::Returned) => Some(ReturnStatus::Returned.as_str()),
        Err(_) => {
            v.add("status", "not a ReturnStatus");
            None
        }
    };
    let authority_type = Some(r.authority_type.trim()).filter(|t| !t.is_empty());
    if let Some(t) = authority_type {
        v.check(
            !AUTHORITY_TYPES.contains(&t),
            "authority_type",
            format!("one of {}", AUTHORITY_TYPES.join(", ")),
        );
    }
    ReturnFilter {
        indicator_code: Some(r.indicator_code.trim().to_string()).filter(|c| !c.is_empty()),
        year: r.year.as_ref().map(|y| y.start_year),
        period_kind,
        period_number,
        authority_type: authority_type.map(String::from),
        region: Some(r.region.trim().to_string()).filter(|c| !c.is_empty()),
        organisation_id: Some(r.organisation_id.trim().to_string()).filter(|c| !c.is_empty()),
        status,
    }
}

/// The values of `rows`, attached to their returns.
fn with_values(
    rows: Vec<pi_return::Model>,
    values: Vec<pi_return_value::Model>,
) -> Vec<pb::PiReturn> {
    let mut by_return: BTreeMap<String, Vec<pi_return_value::Model>> = BTreeMap::new();
    for v in values {
        by_return.entry(v.return_id.clone()).or_default().push(v);
    }
    rows.into_iter()
        .map(|r| {
            let vals = by_return.remove(&r.id).unwrap_or_default();
            return_to_proto(r, vals, Vec::new())
        })
        .collect()
}

/// The page key of a definition: code, then first year.
fn definition_key(d: &Definition) -> String {
    format!("{}\u{1f}{}", d.code, d.from_year)
}

fn split_definition_key(k: &str) -> Option<(String, i32)> {
    let (code, year) = k.rsplit_once('\u{1f}')?;
    Some((code.to_string(), year.parse().ok()?))
}

#[tonic::async_trait]
impl PiReturnsService for PiReturns {
    async fn list_indicators(
        &self,
        request: Request<ListIndicatorsRequest>,
    ) -> Result<Response<ListIndicatorsResponse>, Status> {
        let _p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let size = paging::page_size(r.page_size)?;
        let after = paging::decode_token(&r.page_token)?
            .map(|k| {
                split_definition_key(&k).ok_or_else(|| {
                    AppError::invalid("page_token", "not a token this server issued")
                })
            })
            .transpose()?;
        let defs = self.catalogue().await?;
        let mut chosen: Vec<&Definition> = match &r.year {
            Some(y) => catalogue::all_in_force(&defs, y.start_year),
            None => defs.iter().collect(),
        };
        chosen.sort_by(|a, b| (&a.code, a.from_year).cmp(&(&b.code, b.from_year)));
        if let Some((code, year)) = after {
            chosen.retain(|d| (&d.code, d.from_year) > (&code, year));
        }
        let more = chosen.len() as u64 > size;
        chosen.truncate(size as usize);
        let next_page_token = if more {
            chosen
                .last()
                .map(|d| paging::encode_token(&definition_key(d)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(ListIndicatorsResponse {
            indicators: chosen.into_iter().map(definition_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn get_indicator(
        &self,
        request: Request<GetIndicatorRequest>,
    ) -> Result<Response<GetIndicatorResponse>, Status> {
        let _p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.code.trim().is_empty(), "code", "required");
        let year = required_year(&mut v, r.year.as_ref());
        v.into_result()?;
        let year = year.expect("checked above");
        let defs = self.catalogue().await?;
        let def = catalogue::in_force(&defs, r.code.trim(), year).ok_or_else(|| {
            AppError::NotFound(format!(
                "no indicator {:?} is defined for {year}/{:02}",
                r.code.trim(),
                (year + 1) % 100
            ))
        })?;
        Ok(Response::new(GetIndicatorResponse {
            indicator: Some(definition_to_proto(def)),
        }))
    }

    async fn import_catalogue(
        &self,
        request: Request<ImportCatalogueRequest>,
    ) -> Result<Response<ImportCatalogueResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        if !p.is_operator() {
            return Err(AppError::PermissionDenied(format!(
                "only the operator imports indicator definitions; {} is a {}",
                p.org.id, p.org.kind
            ))
            .into());
        }
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(
            r.indicators.is_empty(),
            "indicators",
            "at least one definition",
        );
        let mut defs = Vec::new();
        let mut keys = BTreeSet::new();
        for (i, d) in r.indicators.iter().enumerate() {
            let prefix = format!("indicators[{i}]");
            if let Some(def) = definition_from_proto(&mut v, &prefix, d) {
                if !keys.insert((def.code.clone(), def.from_year)) {
                    v.add(prefix, "the same code and first year twice");
                }
                defs.push(def);
            }
        }
        v.into_result()?;
        // The shipped catalogue goes in first, so an import never shadows it by accident.
        self.catalogue().await?;
        let ctx = p.call_context(SERVICE_NAME, "ImportCatalogue", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let (mut added, mut unchanged) = (0, 0);
        for (i, d) in defs.iter().enumerate() {
            match storage::import_definition(write.txn(), d)
                .await
                .map_err(db)?
            {
                Imported::Added => added += 1,
                Imported::Unchanged => unchanged += 1,
                Imported::Conflicts => {
                    return Err(AppError::AlreadyExists(format!(
                        "indicators[{i}]: {} from {} is already defined differently; a \
                         published definition is never changed: import one from a later year",
                        d.code, d.from_year
                    ))
                    .into());
                }
            }
        }
        let resp = ImportCatalogueResponse { added, unchanged };
        write
            .finish(&resp, "piIndicators")
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn create_return(
        &self,
        request: Request<CreateReturnRequest>,
    ) -> Result<Response<CreateReturnResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let org_id = r.organisation_id.trim().to_string();
        v.check(org_id.is_empty(), "organisation_id", "required");
        let period = parse_period(&mut v, r.period.as_ref());
        v.into_result()?;
        let period = period.expect("checked above");
        let target = self.ctx.access.require_write(&p, &org_id).await?;
        require_officer(&p)?;
        if target.id != p.org.id {
            return Err(AppError::PermissionDenied(format!(
                "only {org_id}'s own officers open its returns"
            ))
            .into());
        }
        if !matches!(target.kind, OrgKind::Council | OrgKind::Almo) {
            return Err(AppError::invalid(
                "organisation_id",
                "PI returns are made by councils and ALMOs",
            )
            .into());
        }
        let ctx = p.call_context(SERVICE_NAME, "CreateReturn", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        if let Some(existing) = storage::find_return(write.txn(), &org_id, &period)
            .await
            .map_err(db)?
        {
            return Err(AppError::AlreadyExists(format!(
                "{org_id} already has a return for {}: {}",
                period.label(),
                existing.id
            ))
            .into());
        }
        let now = Utc::now();
        let row = pi_return::Model {
            id: return_id_of(&org_id, &period),
            organisation_id: org_id,
            year: period.year,
            period_kind: period.kind.as_str().into(),
            period_number: period.number,
            status: ReturnStatus::Draft.as_str().into(),
            deadline_date: period.deadline(),
            late: false,
            submitted_by: None,
            submitted_at: None,
            signed_off_by: None,
            signed_off_at: None,
            returned_reason: None,
            revision: 0,
            survey_sample_size: None,
            survey_method: None,
            created_by: p.caller.subject.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        storage::insert_return(write.txn(), row.clone())
            .await
            .map_err(|e| match e.sql_err() {
                // Another replica opened the same return between our check and our insert.
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                    AppError::AlreadyExists(format!(
                        "{} already has a return for {}",
                        row.organisation_id,
                        period.label()
                    ))
                }
                _ => db(e),
            })?;
        let resp = CreateReturnResponse {
            pi_return: Some(return_to_proto(row.clone(), vec![], vec![])),
        };
        write
            .finish(&resp, &format!("piReturns/{}", row.id))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn get_return(
        &self,
        request: Request<GetReturnRequest>,
    ) -> Result<Response<GetReturnResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        if r.return_id.trim().is_empty() {
            return Err(AppError::invalid("return_id", "required").into());
        }
        let row = self.readable_return(&p, r.return_id.trim()).await?;
        Ok(Response::new(GetReturnResponse {
            pi_return: Some(self.reply(row, r.include_history).await?),
        }))
    }

    async fn set_values(
        &self,
        request: Request<SetValuesRequest>,
    ) -> Result<Response<SetValuesResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.return_id.trim().is_empty(), "return_id", "required");
        v.require_etag(&r.etag, "the etag of the return as last read");
        v.into_result()?;
        self.require_author(&p, r.return_id.trim()).await?;
        // Read before the write transaction opens: on SQLite the first read may seed it.
        let defs = self.catalogue().await?;
        let (write, current) = match self
            .begin_change::<SetValuesResponse>(
                &p,
                "SetValues",
                &r.request_id,
                r,
                r.return_id.trim(),
                &r.etag,
            )
            .await?
        {
            Ok(w) => w,
            Err(replay) => return Ok(Response::new(replay)),
        };
        workflow::may_edit(status_of(&current.status)?)?;
        let mut v = Violations::new();
        let survey = r.survey.as_ref().map(|s| parse_survey(&mut v, s));
        v.into_result()?;
        let values = self
            .validate_values(write.txn(), &defs, &current, &r.values, survey.is_some())
            .await?;
        let now = Utc::now();
        storage::append_values(write.txn(), &current.id, values, &p.caller.subject, "", now)
            .await
            .map_err(db)?;
        let mut row = current.clone();
        if let Some(Some((size, method))) = survey {
            row.survey_sample_size = Some(size);
            row.survey_method = Some(method.to_string());
        }
        row.version += 1;
        row.updated_at = now;
        let resp = self
            .finish_change(write, &row, |pr| SetValuesResponse {
                pi_return: Some(pr),
            })
            .await?;
        Ok(Response::new(resp))
    }

    async fn submit_return(
        &self,
        request: Request<SubmitReturnRequest>,
    ) -> Result<Response<SubmitReturnResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.return_id.trim().is_empty(), "return_id", "required");
        v.require_etag(&r.etag, "the etag of the return as last read");
        v.into_result()?;
        self.require_author(&p, r.return_id.trim()).await?;
        let defs = self.catalogue().await?;
        let (write, current) = match self
            .begin_change::<SubmitReturnResponse>(
                &p,
                "SubmitReturn",
                &r.request_id,
                r,
                r.return_id.trim(),
                &r.etag,
            )
            .await?
        {
            Ok(w) => w,
            Err(replay) => return Ok(Response::new(replay)),
        };
        let period = period_of(&current)?;
        let now = Utc::now();
        if !period.window_open(now.date_naive()) {
            return Err(AppError::from(WorkflowError::WindowNotOpen {
                opens_after: period.end().to_string(),
            })
            .into());
        }
        let values = storage::current_values(write.txn(), std::slice::from_ref(&current.id), None)
            .await
            .map_err(db)?;
        let required = catalogue::all_in_force(&defs, period.year)
            .into_iter()
            .filter(|d| d.reported_in(period.kind == PeriodKind::Quarter));
        let next = workflow::submit(
            status_of(&current.status)?,
            required,
            &storage::codes_present(&values),
        )?;
        let unexplained: Vec<String> = storage::codes_present(&values)
            .iter()
            .filter_map(|code| {
                let def = catalogue::in_force(&defs, code, period.year)?;
                let given: Vec<(&str, &str)> = values
                    .iter()
                    .filter(|v| &v.indicator_code == code)
                    .map(|v| (v.split.as_str(), v.explanation.as_str()))
                    .collect();
                validation::unexplained_missing_splits(def, &given)
            })
            .collect();
        if !unexplained.is_empty() {
            return Err(AppError::failed_precondition(
                "MISSING_SPLITS_UNEXPLAINED",
                unexplained.join("; "),
            )
            .into());
        }
        // Perception measures come from a tenant survey whose sample size and method are
        // reported with them.
        let perception: Vec<&str> = storage::codes_present(&values)
            .iter()
            .filter_map(|code| catalogue::in_force(&defs, code, period.year))
            .filter(|d| d.from_tenant_survey)
            .map(|d| d.code.as_str())
            .collect();
        if !perception.is_empty() && current.survey_sample_size.is_none() {
            return Err(AppError::failed_precondition(
                "SURVEY_NOT_DESCRIBED",
                format!(
                    "{} come from a tenant survey: give its sample size and method (SetValues \
                     survey) before submitting",
                    perception.join(", ")
                ),
            )
            .into());
        }
        let mut row = current.clone();
        row.status = next.as_str().into();
        // Lateness is that of the first submission: a correction asked for by the certifier
        // does not make an on-time return late.
        if current.submitted_at.is_none() {
            row.late = period.late_on(now.date_naive());
        }
        row.submitted_by = Some(p.caller.subject.clone());
        row.submitted_at = Some(now);
        row.version += 1;
        row.updated_at = now;
        let resp = self
            .finish_change(write, &row, |pr| SubmitReturnResponse {
                pi_return: Some(pr),
            })
            .await?;
        Ok(Response::new(resp))
    }

    async fn sign_off_return(
        &self,
        request: Request<SignOffReturnRequest>,
    ) -> Result<Response<SignOffReturnResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.return_id.trim().is_empty(), "return_id", "required");
        v.require_etag(&r.etag, "the etag of the return as last read");
        v.into_result()?;
        self.require_certifier(&p, r.return_id.trim()).await?;
        let (write, current) = match self
            .begin_change::<SignOffReturnResponse>(
                &p,
                "SignOffReturn",
                &r.request_id,
                r,
                r.return_id.trim(),
                &r.etag,
            )
            .await?
        {
            Ok(w) => w,
            Err(replay) => return Ok(Response::new(replay)),
        };
        let next = workflow::sign_off(
            status_of(&current.status)?,
            current.submitted_by.as_deref().unwrap_or_default(),
            &p.caller.subject,
        )?;
        let now = Utc::now();
        let mut row = current.clone();
        row.status = next.as_str().into();
        row.signed_off_by = Some(p.caller.subject.clone());
        row.signed_off_at = Some(now);
        row.version += 1;
        row.updated_at = now;
        let resp = self
            .finish_change(write, &row, |pr| SignOffReturnResponse {
                pi_return: Some(pr),
            })
            .await?;
        Ok(Response::new(resp))
    }

    async fn return_for_correction(
        &self,
        request: Request<ReturnForCorrectionRequest>,
    ) -> Result<Response<ReturnForCorrectionResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.return_id.trim().is_empty(), "return_id", "required");
        v.require_etag(&r.etag, "the etag of the return as last read");
        v.check(
            r.reason.trim().chars().count() < 10,
            "reason",
            "say what must be corrected (at least 10 characters)",
        );
        v.into_result()?;
        self.require_certifier(&p, r.return_id.trim()).await?;
        let (write, current) = match self
            .begin_change::<ReturnForCorrectionResponse>(
                &p,
                "ReturnForCorrection",
                &r.request_id,
                r,
                r.return_id.trim(),
                &r.etag,
            )
            .await?
        {
            Ok(w) => w,
            Err(replay) => return Ok(Response::new(replay)),
        };
        let next = workflow::return_for_correction(
            status_of(&current.status)?,
            current.submitted_by.as_deref().unwrap_or_default(),
            &p.caller.subject,
        )?;
        let now = Utc::now();
        let mut row = current.clone();
        row.status = next.as_str().into();
        row.returned_reason = Some(r.reason.trim().to_string());
        row.version += 1;
        row.updated_at = now;
        let resp = self
            .finish_change(write, &row, |pr| ReturnForCorrectionResponse {
                pi_return: Some(pr),
            })
            .await?;
        Ok(Response::new(resp))
    }

    async fn revise_return(
        &self,
        request: Request<ReviseReturnRequest>,
    ) -> Result<Response<ReviseReturnResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.return_id.trim().is_empty(), "return_id", "required");
        v.require_etag(&r.etag, "the etag of the return as last read");
        v.check(
            r.reason.trim().chars().count() < 10,
            "reason",
            "a revision of a signed-off return needs its reason (at least 10 characters)",
        );
        v.into_result()?;
        self.require_author(&p, r.return_id.trim()).await?;
        let defs = self.catalogue().await?;
        let (write, current) = match self
            .begin_change::<ReviseReturnResponse>(
                &p,
                "ReviseReturn",
                &r.request_id,
                r,
                r.return_id.trim(),
                &r.etag,
            )
            .await?
        {
            Ok(w) => w,
            Err(replay) => return Ok(Response::new(replay)),
        };
        let next = workflow::revise(status_of(&current.status)?)?;
        let values = self
            .validate_values(write.txn(), &defs, &current, &r.values, false)
            .await?;
        let now = Utc::now();
        storage::append_values(
            write.txn(),
            &current.id,
            values,
            &p.caller.subject,
            r.reason.trim(),
            now,
        )
        .await
        .map_err(db)?;
        let mut row = current.clone();
        row.status = next.as_str().into();
        row.revision += 1;
        // The reviser is the submitter of the corrected return: someone else certifies it.
        row.submitted_by = Some(p.caller.subject.clone());
        row.submitted_at = Some(now);
        row.signed_off_by = None;
        row.signed_off_at = None;
        row.version += 1;
        row.updated_at = now;
        let resp = self
            .finish_change(write, &row, |pr| ReviseReturnResponse {
                pi_return: Some(pr),
            })
            .await?;
        Ok(Response::new(resp))
    }

    async fn query_returns(
        &self,
        request: Request<QueryReturnsRequest>,
    ) -> Result<Response<QueryReturnsResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let filter = parse_filter(&mut v, r);
        let size = v.take("page_size", paging::page_size(r.page_size));
        let after = v.take("page_token", paging::decode_token(&r.page_token));
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
        let conn = self.ctx.db.conn();
        let mut rows = storage::query_returns(conn, &visibility(&p), &filter, after, size + 1)
            .await
            .map_err(db)?;
        let next_page_token = if rows.len() as u64 > size {
            rows.truncate(size as usize);
            rows.last()
                .map(|r| paging::encode_token(&r.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let values = storage::current_values(conn, &ids, filter.indicator_code.as_deref())
            .await
            .map_err(db)?;
        Ok(Response::new(QueryReturnsResponse {
            pi_returns: with_values(rows, values),
            next_page_token,
        }))
    }

    async fn get_benchmark(
        &self,
        request: Request<GetBenchmarkRequest>,
    ) -> Result<Response<GetBenchmarkResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let code = r.indicator_code.trim();
        v.check(code.is_empty(), "indicator_code", "required");
        let year = required_year(&mut v, r.year.as_ref());
        let authority_type = r.authority_type.trim();
        let peer_group = r.peer_group_id.trim();
        match (authority_type.is_empty(), peer_group.is_empty()) {
            (true, true) | (false, false) => v.add(
                "authority_type",
                "give either an authority type or a peer group, not both",
            ),
            (false, true) => v.check(
                !AUTHORITY_TYPES.contains(&authority_type),
                "authority_type",
                format!("one of {}", AUTHORITY_TYPES.join(", ")),
            ),
            (true, false) => {}
        }
        v.into_result()?;
        let year = year.expect("checked above");
        let defs = self.catalogue().await?;
        let def = catalogue::in_force(&defs, code, year).ok_or_else(|| {
            AppError::invalid(
                "indicator_code",
                format!(
                    "no indicator {code:?} is defined for {year}/{:02}",
                    (year + 1) % 100
                ),
            )
        })?;
        let split = r.split.trim();
        if !split.is_empty() && !def.splits.iter().any(|s| s == split) {
            return Err(
                AppError::invalid("split", format!("{code} has no split {split:?}")).into(),
            );
        }
        let conn = self.ctx.db.conn();
        let group = if authority_type.is_empty() {
            let (owner, mut members) = storage::peer_group_members(conn, peer_group)
                .await
                .map_err(db)?
                .ok_or_else(|| AppError::NotFound(format!("no peer group {peer_group:?}")))?;
            // The owner is benchmarked among its peers.
            members.push(owner);
            Group::Organisations(members)
        } else {
            Group::AuthorityType(authority_type.to_string())
        };
        let values = storage::benchmark_values(conn, code, split, year, &group)
            .await
            .map_err(db)?;
        // Each authority counts once in an authority-type comparison: where a council has a
        // signed-off return of its own (its combined return, 003 §107), its ALMOs' figures are
        // represented by it; they are still positioned, as each ALMO benchmarks on its own.
        let represented: BTreeSet<String> = match &group {
            Group::AuthorityType(t) => {
                let with_values: BTreeSet<&str> = values.iter().map(|(o, _)| o.as_str()).collect();
                storage::almo_councils_of_type(conn, t)
                    .await
                    .map_err(db)?
                    .into_iter()
                    .filter(|(almo, council)| {
                        with_values.contains(almo.as_str())
                            && with_values.contains(council.as_str())
                    })
                    .map(|(almo, _)| almo)
                    .collect()
            }
            Group::Organisations(_) => BTreeSet::new(),
        };
        let figures: Vec<f64> = values
            .iter()
            .filter(|(o, _)| !represented.contains(o))
            .map(|(_, v)| *v)
            .collect();
        let q = quartile::quartiles(&figures)
            .map(|q| quartile::rounded(&q, def.precision + 1))
            .ok_or_else(|| {
                AppError::failed_precondition(
                    "NO_SIGNED_OFF_VALUES",
                    format!(
                        "no signed-off {code} values for {year}/{:02} in this group",
                        (year + 1) % 100
                    ),
                )
            })?;
        // Named positions only for organisations whose data the caller may read: an ALMO sees
        // itself, and everyone else only through the quartiles.
        // Who that is follows from the caller's own scope, so the (possibly very large) group
        // never has to be looked up organisation by organisation.
        let readable: BTreeSet<String> = if p.reads_everyone() {
            values.iter().map(|(o, _)| o.clone()).collect()
        } else {
            let mut own = BTreeSet::from([p.org.id.clone()]);
            if p.org.kind == OrgKind::Council {
                let rows = organisation::Entity::find()
                    .filter(organisation::Column::CouncilId.eq(p.org.id.clone()))
                    .all(conn)
                    .await
                    .map_err(db)?;
                for row in &rows {
                    if policy::may_read(&p.caller, &p.org, &scope_of_row(row)?) {
                        own.insert(row.id.clone());
                    }
                }
            }
            let in_group: BTreeSet<&String> = values.iter().map(|(o, _)| o).collect();
            own.retain(|o| in_group.contains(o));
            own
        };
        let prior: BTreeMap<String, f64> = if readable.is_empty() {
            BTreeMap::new()
        } else {
            let prior_group = if p.reads_everyone() {
                group.clone()
            } else {
                Group::Organisations(readable.iter().cloned().collect())
            };
            storage::benchmark_values(conn, code, split, year - 1, &prior_group)
                .await
                .map_err(db)?
                .into_iter()
                .collect()
        };
        let mut positions: Vec<pb::BenchmarkPosition> = values
            .iter()
            .filter(|(o, _)| readable.contains(o))
            .map(|(o, value)| {
                let before = prior.get(o).copied();
                pb::BenchmarkPosition {
                    organisation_id: o.clone(),
                    value: *value,
                    quartile_band: quartile::band(*value, &q),
                    verdict: verdict_to_proto(quartile::verdict(*value, &q, def.direction)) as i32,
                    prior_year_value: before,
                    change_on_prior_year: before
                        .map(|b| validation::round_to(*value - b, def.precision)),
                }
            })
            .collect();
        positions.sort_by(|a, b| a.organisation_id.cmp(&b.organisation_id));
        Ok(Response::new(GetBenchmarkResponse {
            indicator: Some(definition_to_proto(def)),
            count: figures.len() as i32,
            q1: q.q1,
            median: q.median,
            q3: q.q3,
            upper_quartile: quartile::upper_quartile(&q, def.direction),
            method: quartile::METHOD.to_string(),
            positions,
            almos_represented_by_their_council: represented.len() as i32,
        }))
    }

    async fn combine_almo_returns(
        &self,
        request: Request<CombineAlmoReturnsRequest>,
    ) -> Result<Response<CombineAlmoReturnsResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.return_id.trim().is_empty(), "return_id", "required");
        v.require_etag(&r.etag, "the etag of the return as last read");
        v.into_result()?;
        self.require_author(&p, r.return_id.trim()).await?;
        if p.org.kind != OrgKind::Council {
            return Err(AppError::invalid(
                "return_id",
                "combined figures are for a council's own return (003 §107)",
            )
            .into());
        }
        let defs = self.catalogue().await?;
        let (write, current) = match self
            .begin_change::<CombineAlmoReturnsResponse>(
                &p,
                "CombineAlmoReturns",
                &r.request_id,
                r,
                r.return_id.trim(),
                &r.etag,
            )
            .await?
        {
            Ok(w) => w,
            Err(replay) => return Ok(Response::new(replay)),
        };
        workflow::may_edit(status_of(&current.status)?)?;
        let period = period_of(&current)?;
        let almos = storage::almos_live_in(
            write.txn(),
            &current.organisation_id,
            period.start(),
            period.end(),
        )
        .await
        .map_err(db)?;
        if almos.is_empty() {
            return Err(AppError::failed_precondition(
                "NO_ALMOS",
                format!(
                    "{} had no ALMO managing its homes in {}",
                    current.organisation_id,
                    period.label()
                ),
            )
            .into());
        }
        let returns = storage::returns_for_period(write.txn(), &almos, &period)
            .await
            .map_err(db)?;
        let unsigned: Vec<&str> = almos
            .iter()
            .filter(|a| {
                !returns.iter().any(|r| {
                    &r.organisation_id == *a && r.status == ReturnStatus::SignedOff.as_str()
                })
            })
            .map(String::as_str)
            .collect();
        if !unsigned.is_empty() {
            return Err(AppError::failed_precondition(
                "ALMO_RETURNS_NOT_SIGNED_OFF",
                format!(
                    "combined figures need every ALMO's signed-off return for {}; not yet: {}",
                    period.label(),
                    unsigned.join(", ")
                ),
            )
            .into());
        }
        let return_ids: Vec<String> = returns.iter().map(|r| r.id.clone()).collect();
        let org_of: BTreeMap<&str, &str> = returns
            .iter()
            .map(|r| (r.id.as_str(), r.organisation_id.as_str()))
            .collect();
        let values = storage::current_values(write.txn(), &return_ids, None)
            .await
            .map_err(db)?;
        let last_year = storage::last_year_values(write.txn(), &current.organisation_id, &period)
            .await
            .map_err(db)?;
        let keys: BTreeSet<(String, String)> = values
            .iter()
            .map(|v| (v.indicator_code.clone(), v.split.clone()))
            .collect();
        let note = format!(
            "Combined from the signed-off returns of {} (003 §107)",
            almos.join(", ")
        );
        let mut combined = Vec::new();
        let mut not_combined = Vec::new();
        for (code, split) in keys {
            let Some(def) = catalogue::in_force(&defs, &code, period.year) else {
                continue;
            };
            let parts: Vec<(String, Option<combination::Part>)> = almos
                .iter()
                .map(|a| {
                    let part = values
                        .iter()
                        .find(|v| {
                            org_of.get(v.return_id.as_str()) == Some(&a.as_str())
                                && v.indicator_code == code
                                && v.split == split
                        })
                        .map(|v| combination::Part {
                            organisation_id: a.clone(),
                            value: v.value,
                            numerator: v.numerator,
                            denominator: v.denominator,
                        });
                    (a.clone(), part)
                })
                .collect();
            let outcome = combination::combine(def, &parts).and_then(|c| {
                // The combined figure is validated like any other; its warnings are explained by
                // the ALMOs' own signed-off explanations, which the note points to.
                let entry = Entry {
                    split: split.clone(),
                    value: Some(c.value),
                    numerator: c.numerator,
                    denominator: c.denominator,
                    unit: None,
                    explanation: note.clone(),
                };
                let prior = last_year.get(&(code.clone(), split.clone())).copied();
                validation::validate(def, &entry, prior).map_err(|refusals| {
                    refusals
                        .into_iter()
                        .map(|r| format!("{}: {}", r.field, r.reason))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            });
            match outcome {
                Ok(accepted) => combined.push(NewValue {
                    indicator_code: code,
                    split,
                    accepted,
                }),
                Err(reason) => not_combined.push(pb::NotCombined {
                    indicator_code: code,
                    split,
                    reason,
                }),
            }
        }
        let now = Utc::now();
        storage::append_values(
            write.txn(),
            &current.id,
            combined,
            &p.caller.subject,
            "",
            now,
        )
        .await
        .map_err(db)?;
        let mut row = current.clone();
        row.version += 1;
        row.updated_at = now;
        let resp = self
            .finish_change(write, &row, |pr| CombineAlmoReturnsResponse {
                pi_return: Some(pr),
                almo_return_ids: return_ids,
                not_combined,
            })
            .await?;
        Ok(Response::new(resp))
    }

    type ExportReturnsStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<ExportReturnsResponse, Status>> + Send>,
    >;

    async fn export_returns(
        &self,
        request: Request<ExportReturnsRequest>,
    ) -> Result<Response<Self::ExportReturnsStream>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let as_query = QueryReturnsRequest {
            indicator_code: r.indicator_code.clone(),
            year: r.year,
            period_kind: r.period_kind,
            period_number: r.period_number,
            authority_type: r.authority_type.clone(),
            region: r.region.clone(),
            organisation_id: r.organisation_id.clone(),
            status: r.status,
            page_size: 0,
            page_token: String::new(),
        };
        let mut v = Violations::new();
        let filter = parse_filter(&mut v, &as_query);
        v.into_result()?;
        let visible = visibility(&p);
        let total = storage::count_returns(self.ctx.db.conn(), &visible, &filter)
            .await
            .map_err(db)? as i64;
        let db = self.ctx.db.clone();
        // A few batches in flight: the database reads ahead while the client drains.
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let conn = db.conn();
            let mut after = None;
            loop {
                let batch = async {
                    let rows = storage::query_returns(
                        conn,
                        &visible,
                        &filter,
                        after.clone(),
                        EXPORT_BATCH,
                    )
                    .await?;
                    // The batch's own values, by id: a range of ids between the batch's first
                    // and last would also take the values of other years and periods of the same
                    // organisations, and PostgreSQL may scan the whole table to join them.
                    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                    let values =
                        storage::current_values(conn, &ids, filter.indicator_code.as_deref())
                            .await?;
                    Ok::<_, sea_orm::DbErr>((rows, values))
                }
                .await;
                let (rows, values) = match batch {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(AppError::from(e)))).await;
                        return;
                    }
                };
                let full = rows.len() as u64 == EXPORT_BATCH;
                after = rows.last().map(|r| r.id.clone());
                if rows.is_empty() {
                    return;
                }
                let msg = ExportReturnsResponse {
                    pi_returns: with_values(rows, values),
                    total_returns: total,
                };
                if tx.send(Ok(msg)).await.is_err() || !full {
                    // The client went away, or that was the last batch.
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn list_outstanding_returns(
        &self,
        request: Request<ListOutstandingReturnsRequest>,
    ) -> Result<Response<ListOutstandingReturnsResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let period = parse_period(&mut v, r.period.as_ref());
        let size = v.take("page_size", paging::page_size(r.page_size));
        let after = v.take("page_token", paging::decode_token(&r.page_token));
        v.into_result()?;
        let (Some(period), Some(size), Some(after)) = (period, size, after) else {
            unreachable!("violations were reported above")
        };
        let visible = visibility(&p);
        let conn = self.ctx.db.conn();
        let mut orgs = storage::expected_reporters(
            conn,
            &visible,
            period.start(),
            period.end(),
            after,
            size + 1,
        )
        .await
        .map_err(db)?;
        let next_page_token = if orgs.len() as u64 > size {
            orgs.truncate(size as usize);
            orgs.last()
                .map(|o| paging::encode_token(o))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let returns = storage::returns_for_period(conn, &orgs, &period)
            .await
            .map_err(db)?;
        let today = Utc::now().date_naive();
        let hides_drafts = matches!(visible, Visibility::AllButDrafts);
        let expected = orgs
            .into_iter()
            .map(|org| {
                let ret = returns.iter().find(|r| r.organisation_id == org);
                let status = ret.and_then(|r| ReturnStatus::parse(&r.status));
                let state = match status {
                    Some(ReturnStatus::Submitted) => pb::ReturnState::Submitted,
                    Some(ReturnStatus::SignedOff) => pb::ReturnState::SignedOff,
                    _ if period.late_on(today) => pb::ReturnState::Overdue,
                    _ => pb::ReturnState::Due,
                };
                let unsubmitted = matches!(state, pb::ReturnState::Due | pb::ReturnState::Overdue);
                pb::ExpectedReturn {
                    organisation_id: org,
                    // The regulator does not see drafts, not even their ids.
                    return_id: ret
                        .filter(|_| !(hides_drafts && unsubmitted))
                        .map(|r| r.id.clone())
                        .unwrap_or_default(),
                    state: state as i32,
                    late: ret.is_some_and(|r| r.late),
                    deadline_date: period.deadline().to_string(),
                }
            })
            .collect();
        Ok(Response::new(ListOutstandingReturnsResponse {
            expected,
            next_page_token,
        }))
    }
}

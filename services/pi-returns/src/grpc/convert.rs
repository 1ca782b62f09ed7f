//! The proto <-> domain forms of returns, values, periods, years and indicator definitions.

use std::collections::BTreeMap;

use almo_db::entity::{pi_return, pi_return_survey, pi_return_value};
use almo_fields as fields;
use almo_proto::common;
use almo_proto::pi_returns as pb;
use almo_server::timestamp as ts;
use almo_server::{AppError, Violations};

use crate::domain::catalogue::{
    Combination, Definition, Direction, Frequency, PartYear, Ratio, Unit,
};
use crate::domain::period::{Period, PeriodKind};
use crate::domain::quartile;
use crate::domain::survey::{self, Tenure};
use crate::domain::workflow::Status as ReturnStatus;
use chrono::NaiveDate;

/// The authority types a comparison or a query may name.
const AUTHORITY_TYPES: [&str; 4] = ["london_borough", "metropolitan", "unitary", "district"];

/// Records a violation of `authority_type` unless `t` is one of the authority types.
pub(super) fn check_authority_type(v: &mut Violations, t: &str) {
    v.check(
        !AUTHORITY_TYPES.contains(&t),
        "authority_type",
        format!("one of {}", AUTHORITY_TYPES.join(", ")),
    );
}

pub(super) fn status_of(s: &str) -> Result<ReturnStatus, AppError> {
    ReturnStatus::parse(s).ok_or_else(|| AppError::Internal(format!("stored status {s:?}")))
}

pub(super) fn period_of(r: &pi_return::Model) -> Result<Period, AppError> {
    let kind = PeriodKind::parse(&r.period_kind)
        .ok_or_else(|| AppError::Internal(format!("stored period kind {:?}", r.period_kind)))?;
    Period::new(r.year, kind, r.period_number).map_err(AppError::Internal)
}

pub(super) fn return_id_of(org: &str, p: &Period) -> String {
    match p.kind {
        PeriodKind::Year => format!("{org}/{}/Y", p.year),
        PeriodKind::Quarter => format!("{org}/{}/Q{}", p.year, p.number),
    }
}

pub(super) fn status_to_proto(s: &str) -> pb::ReturnStatus {
    match ReturnStatus::parse(s) {
        Some(ReturnStatus::Draft) => pb::ReturnStatus::Draft,
        Some(ReturnStatus::Submitted) => pb::ReturnStatus::Submitted,
        Some(ReturnStatus::SignedOff) => pb::ReturnStatus::SignedOff,
        Some(ReturnStatus::Returned) => pb::ReturnStatus::Returned,
        None => pb::ReturnStatus::Unspecified,
    }
}

pub(super) fn value_to_proto(v: pi_return_value::Model) -> pb::ReturnValue {
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

pub(super) fn return_to_proto(
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
        etag: fields::etag(r.version),
        create_time: Some(ts(r.created_at)),
        update_time: Some(ts(r.updated_at)),
        survey: r.survey_sample_size.map(|n| pb::TenantSurvey {
            sample_size: n,
            method: survey_method_to_proto(r.survey_method.as_deref()) as i32,
            ..Default::default()
        }),
        surveys: Vec::new(),
        covers_from: String::new(),
        covers_to: String::new(),
        authority_figures: Vec::new(),
        authority_not_combined: Vec::new(),
    }
}

pub(super) fn part_year_to_proto(p: PartYear) -> pb::PartYear {
    match p {
        PartYear::Add => pb::PartYear::Add,
        PartYear::AtStart => pb::PartYear::AtStart,
        PartYear::AtEnd => pb::PartYear::AtEnd,
        PartYear::OverEndStock => pb::PartYear::OverEndStock,
        PartYear::NotCombinable => pb::PartYear::NotCombinable,
    }
}

const SURVEY_METHODS: [(pb::SurveyMethod, &str); 5] = [
    (pb::SurveyMethod::Postal, "postal"),
    (pb::SurveyMethod::Telephone, "telephone"),
    (pb::SurveyMethod::Online, "online"),
    (pb::SurveyMethod::FaceToFace, "face_to_face"),
    (pb::SurveyMethod::Mixed, "mixed"),
];

pub(super) fn survey_method_to_proto(s: Option<&str>) -> pb::SurveyMethod {
    SURVEY_METHODS
        .iter()
        .find(|(_, name)| Some(*name) == s)
        .map(|(m, _)| *m)
        .unwrap_or(pb::SurveyMethod::Unspecified)
}

/// A tenant survey as given with SetValues.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SurveyInput {
    pub tenure: Tenure,
    pub responses: i32,
    pub method: &'static str,
    pub relevant_homes: Option<i32>,
    pub fieldwork_start: Option<NaiveDate>,
    pub fieldwork_end: Option<NaiveDate>,
    pub weighted: bool,
}

/// A survey of a SetValues request, or its bad fields named `{prefix}.field`.
pub(super) fn parse_survey(
    v: &mut Violations,
    prefix: &str,
    s: &pb::TenantSurvey,
) -> Option<SurveyInput> {
    let mut bad = Vec::<(String, String)>::new();
    let method = SURVEY_METHODS
        .iter()
        .find(|(m, _)| *m as i32 == s.method)
        .map(|(_, name)| *name);
    if method.is_none() {
        bad.push((
            "method".into(),
            "required: postal, telephone, online, face to face or mixed".into(),
        ));
    }
    if !(1..=1_000_000).contains(&s.sample_size) {
        bad.push((
            "sample_size".into(),
            "how many tenants answered: 1 or more".into(),
        ));
    }
    let tenure = match pb::Tenure::try_from(s.tenure) {
        Ok(pb::Tenure::Unspecified | pb::Tenure::LowCostRental) => Some(Tenure::LowCostRental),
        Ok(pb::Tenure::LowCostHomeOwnership) => Some(Tenure::LowCostHomeOwnership),
        Err(_) => {
            bad.push((
                "tenure".into(),
                "low-cost rental or low-cost home ownership".into(),
            ));
            None
        }
    };
    let relevant_homes = match s.relevant_homes {
        0 => None,
        n if (1..=10_000_000).contains(&n) => Some(n),
        _ => {
            bad.push((
                "relevant_homes".into(),
                "the homes surveyed from: 1 or more (0 when not given)".into(),
            ));
            None
        }
    };
    if let Some(homes) = relevant_homes
        && s.sample_size > homes
    {
        bad.push((
            "sample_size".into(),
            format!(
                "{} responses from {homes} relevant homes: more answers than homes",
                s.sample_size
            ),
        ));
    }
    let mut date = |field: &str, text: &str| -> Option<NaiveDate> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                bad.push((
                    field.into(),
                    format!("an ISO date (YYYY-MM-DD), not {}", fields::quote(text)),
                ));
                None
            }
        }
    };
    let fieldwork_start = date("fieldwork_start_date", &s.fieldwork_start_date);
    let fieldwork_end = date("fieldwork_end_date", &s.fieldwork_end_date);
    if let (Some(a), Some(b)) = (fieldwork_start, fieldwork_end)
        && b < a
    {
        bad.push((
            "fieldwork_end_date".into(),
            "not before fieldwork_start_date".into(),
        ));
    }
    if !bad.is_empty() {
        for (field, why) in bad {
            v.add(format!("{prefix}.{field}"), why);
        }
        return None;
    }
    Some(SurveyInput {
        tenure: tenure?,
        responses: s.sample_size,
        method: method?,
        relevant_homes,
        fieldwork_start,
        fieldwork_end,
        weighted: s.weighted,
    })
}

/// A stored survey as the contract shows it, with its achieved and required precision (once
/// its relevant homes are known).
pub(super) fn survey_to_proto(s: &pi_return_survey::Model) -> pb::TenantSurvey {
    let tenure = match Tenure::parse(&s.tenure) {
        Some(Tenure::LowCostHomeOwnership) => pb::Tenure::LowCostHomeOwnership,
        _ => pb::Tenure::LowCostRental,
    };
    let mut out = pb::TenantSurvey {
        sample_size: s.responses,
        method: survey_method_to_proto(Some(&s.method)) as i32,
        tenure: tenure as i32,
        relevant_homes: s.relevant_homes.unwrap_or(0),
        fieldwork_start_date: s.fieldwork_start.map(|d| d.to_string()).unwrap_or_default(),
        fieldwork_end_date: s.fieldwork_end.map(|d| d.to_string()).unwrap_or_default(),
        weighted: s.weighted,
        ..Default::default()
    };
    if let Some(homes) = s.relevant_homes {
        let sample = survey::Sample {
            relevant_homes: homes.max(0) as u32,
            responses: s.responses.max(0) as u32,
        };
        out.achieved_margin = survey::stated_margin(sample);
        out.required_margin = survey::required_margin(sample.relevant_homes);
        out.meets_required_precision = survey::meets_band(sample);
        out.responses_needed = survey::responses_needed(sample.relevant_homes) as i32;
    }
    out
}

// ---------------------------------------------------------------- catalogue <-> proto

pub(super) fn unit_from_proto(u: pb::Unit) -> Option<Unit> {
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

pub(super) fn unit_to_proto(u: Unit) -> pb::Unit {
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

pub(super) fn direction_to_proto(d: Direction) -> pb::Direction {
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
        min_homes_to_submit: d.min_homes_to_submit.map_or(0, |m| m as i32),
        part_year: d
            .part_year
            .map_or(pb::PartYear::Unspecified, part_year_to_proto) as i32,
    }
}

/// The domain form of an imported definition; bad fields are reported as `{prefix}.field`.
pub(super) fn definition_from_proto(
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
    let part_year = match pb::PartYear::try_from(d.part_year) {
        Ok(pb::PartYear::Unspecified) => None,
        Ok(pb::PartYear::Add) => Some(PartYear::Add),
        Ok(pb::PartYear::AtStart) => Some(PartYear::AtStart),
        Ok(pb::PartYear::AtEnd) => Some(PartYear::AtEnd),
        Ok(pb::PartYear::OverEndStock) => Some(PartYear::OverEndStock),
        Ok(pb::PartYear::NotCombinable) => Some(PartYear::NotCombinable),
        Err(_) => {
            bad("part_year", "one of the PartYear values, or unset");
            None
        }
    };
    if d.min_homes_to_submit < 0 {
        bad("min_homes_to_submit", "0 (everyone submits) or more");
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
        part_year,
        mandatory: d.mandatory,
        from_tenant_survey: d.from_tenant_survey,
        min_homes_to_submit: u32::try_from(d.min_homes_to_submit).ok().filter(|m| *m > 0),
        source: d.source.trim().to_string(),
    };
    let problems = def.problems();
    for (field, why) in &problems {
        v.add(format!("{prefix}.{field}"), why.clone());
    }
    problems.is_empty().then_some(def)
}

/// The period a return is for: a quarter or the financial year; bad parts reported as
/// `period.year`, `period.kind`, `period.number`.
pub(super) fn parse_period(v: &mut Violations, p: Option<&common::Period>) -> Option<Period> {
    let Some(p) = p else {
        v.add("period", "required: a quarter or the financial year");
        return None;
    };
    let year = v.field("period.year", start_year(p.year.as_ref()));
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
    let number = v.field(
        "period.number",
        fields::period_number(kind.into(), p.number),
    );
    match Period::new(year?, kind, number? as i32) {
        Ok(p) => Some(p),
        Err(e) => {
            v.add("period", e);
            None
        }
    }
}

/// A financial year a request must name, by its start year.
pub(super) fn start_year(y: Option<&common::FinancialYear>) -> Result<i32, String> {
    fields::start_year(y.ok_or("required")?.start_year)
}

pub(super) fn verdict_to_proto(v: quartile::Verdict) -> pb::Verdict {
    match v {
        quartile::Verdict::UpperQuartile => pb::Verdict::UpperQuartile,
        quartile::Verdict::AboveMedian => pb::Verdict::AboveMedian,
        quartile::Verdict::BelowMedian => pb::Verdict::BelowMedian,
        quartile::Verdict::LowerQuartile => pb::Verdict::LowerQuartile,
        quartile::Verdict::NotRanked => pb::Verdict::NotRanked,
    }
}

/// The values of `rows`, attached to their returns.
pub(super) fn with_values(
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

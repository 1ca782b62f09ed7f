//! Plan content, proto <-> domain: decoded field by field (every malformed field recorded),
//! then checked against the plan rules and the indicator catalogue.

use std::collections::{BTreeMap, HashSet};

use almo_fields as fields;
use almo_proto::common;
use almo_proto::delivery_plan::{self as pb};
use almo_server::{AppError, Violations};
use chrono::NaiveDate;

use super::{direction_to_proto, fy, year_of};
use crate::domain::catalogue::{self, PiDefinition, Stated};
use crate::domain::plan::{
    CapitalCategory, CapitalLine, DEFAULT_EXCEPTION_AFTER, DecentHomes, Direction, Milestone,
    PlanContent, Span, Target, TargetKind, Tolerance, ToleranceKind, Unit,
};

fn finite(v: &mut Violations, field: &str, x: f64) -> f64 {
    v.check(!x.is_finite(), field, "must be a finite number");
    x
}

pub(in crate::grpc) fn capital_category(c: i32) -> Option<CapitalCategory> {
    match pb::CapitalCategory::try_from(c) {
        Ok(pb::CapitalCategory::DecentHomes) => Some(CapitalCategory::DecentHomes),
        Ok(pb::CapitalCategory::Sustainability) => Some(CapitalCategory::Sustainability),
        Ok(pb::CapitalCategory::EstateImprovement) => Some(CapitalCategory::EstateImprovement),
        Ok(pb::CapitalCategory::Other) => Some(CapitalCategory::Other),
        _ => None,
    }
}

/// Decodes one target. A PI target may leave its unit and direction to the catalogue
/// ([`catalogue::resolve`]); `Stated` says which it gave.
fn target_from_proto(v: &mut Violations, f: &str, t: &pb::Target) -> (Target, Stated) {
    let kind = match pb::TargetKind::try_from(t.kind) {
        Ok(pb::TargetKind::Pi) => TargetKind::Pi,
        Ok(pb::TargetKind::Local) => TargetKind::Local,
        _ => {
            v.add(
                format!("{f}.kind"),
                "required: TARGET_KIND_PI or TARGET_KIND_LOCAL",
            );
            // Judge the code by the kind it looks like, so the one mistake is reported once.
            if crate::domain::plan::is_pi_code(t.code.trim()) {
                TargetKind::Pi
            } else {
                TargetKind::Local
            }
        }
    };
    let pi = t.kind == pb::TargetKind::Pi as i32;
    let stated = Stated {
        unit: t.unit != pb::Unit::Unspecified as i32,
        direction: t.direction != pb::Direction::Unspecified as i32,
    };
    let unit = match pb::Unit::try_from(t.unit) {
        Ok(pb::Unit::Unspecified) if pi => Unit::Ratio,
        Ok(pb::Unit::Percent) => Unit::Percent,
        Ok(pb::Unit::Count) => Unit::Count,
        Ok(pb::Unit::Days) => Unit::Days,
        Ok(pb::Unit::Ratio) => Unit::Ratio,
        _ => {
            v.add(
                format!("{f}.unit"),
                "required: UNIT_PERCENT, UNIT_COUNT, UNIT_DAYS or UNIT_RATIO",
            );
            Unit::Ratio
        }
    };
    let direction = match pb::Direction::try_from(t.direction) {
        Ok(pb::Direction::Unspecified) if pi => Direction::HigherIsBetter,
        Ok(pb::Direction::HigherIsBetter) => Direction::HigherIsBetter,
        Ok(pb::Direction::LowerIsBetter) => Direction::LowerIsBetter,
        _ => {
            v.add(
                format!("{f}.direction"),
                "required: DIRECTION_HIGHER_IS_BETTER or DIRECTION_LOWER_IS_BETTER",
            );
            Direction::HigherIsBetter
        }
    };
    let mut yearly = BTreeMap::new();
    for (j, y) in t.yearly_targets.iter().enumerate() {
        let field = format!("{f}.yearly_targets[{j}]");
        if let Some(year) = year_of(v, &format!("{field}.year"), y.year.as_ref())
            && yearly.insert(year, y.value).is_some()
        {
            v.add(format!("{field}.year"), format!("{year} has two targets"));
        }
    }
    let tolerance = match &t.tolerance {
        Some(tol) => Tolerance {
            kind: match pb::ToleranceKind::try_from(tol.kind) {
                Ok(pb::ToleranceKind::Absolute) => ToleranceKind::Absolute,
                Ok(pb::ToleranceKind::Relative) => ToleranceKind::Relative,
                _ => {
                    v.add(
                        format!("{f}.tolerance.kind"),
                        "required: TOLERANCE_KIND_ABSOLUTE or TOLERANCE_KIND_RELATIVE",
                    );
                    ToleranceKind::Absolute
                }
            },
            amber: tol.amber,
            red: tol.red,
        },
        None => {
            v.add(
                format!("{f}.tolerance"),
                "required: amber and red tolerances",
            );
            Tolerance {
                kind: ToleranceKind::Absolute,
                amber: 0.0,
                red: 0.0,
            }
        }
    };
    let mut milestones = Vec::with_capacity(t.milestones.len());
    for (j, m) in t.milestones.iter().enumerate() {
        let field = format!("{f}.milestones[{j}]");
        let value = finite(v, &format!("{field}.value"), m.value);
        // An undated milestone keeps its place, so later ones are reported by their own index;
        // its date is already refused.
        let date = v
            .field(&format!("{field}.date"), fields::date(&m.date))
            .unwrap_or(NaiveDate::MIN);
        milestones.push(Milestone { date, value });
    }
    let target = Target {
        code: t.code.trim().to_string(),
        kind,
        name: t.name.trim().to_string(),
        unit,
        direction,
        baseline: t.baseline,
        yearly,
        tolerance,
        milestones,
    };
    (target, stated)
}

fn decent_homes_from_proto(
    v: &mut Violations,
    f: &str,
    dh: &pb::DecentHomesProgramme,
) -> DecentHomes {
    let target_date = v
        .field(&format!("{f}.target_date"), fields::date(&dh.target_date))
        .unwrap_or_default();
    let mut planned = BTreeMap::new();
    for (j, y) in dh.planned_decent.iter().enumerate() {
        let field = format!("{f}.planned_decent[{j}].year");
        if let Some(year) = year_of(v, &field, y.year.as_ref())
            && planned.insert(year, y.count).is_some()
        {
            v.add(field, format!("{year} appears twice"));
        }
    }
    DecentHomes {
        non_decent_at_baseline: dh.non_decent_at_baseline,
        target_date,
        planned,
        progress_target_code: dh.progress_target_code.trim().to_string(),
    }
}

fn capital_line_from_proto(
    v: &mut Violations,
    f: &str,
    line: &pb::CapitalLine,
) -> Option<CapitalLine> {
    let year = year_of(v, &format!("{f}.year"), line.year.as_ref());
    let category = capital_category(line.category);
    if category.is_none() {
        v.add(format!("{f}.category"), "required: a CAPITAL_CATEGORY_...");
    }
    let pence = match &line.amount {
        Some(m) if m.currency_code.is_empty() || m.currency_code == "GBP" => Some(m.pence),
        Some(_) => {
            v.add(format!("{f}.amount.currency_code"), "must be GBP");
            None
        }
        None => {
            v.add(format!("{f}.amount"), "required");
            None
        }
    };
    Some(CapitalLine {
        year: year?,
        category: category?,
        pence: pence?,
    })
}

/// Decodes plan content, recording every malformed field; the plan rules are checked after.
fn content_from_proto(
    v: &mut Violations,
    prefix: &str,
    c: Option<&pb::PlanContent>,
) -> Option<(PlanContent, Vec<Stated>)> {
    let Some(c) = c else {
        v.add(
            prefix,
            "required: the plan's targets, programme, profile and delegations",
        );
        return None;
    };
    let (targets, stated): (Vec<Target>, Vec<Stated>) = c
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| target_from_proto(v, &format!("{prefix}.targets[{i}]"), t))
        .unzip();
    let decent_homes = c
        .decent_homes
        .as_ref()
        .map(|dh| decent_homes_from_proto(v, &format!("{prefix}.decent_homes"), dh));
    let mut capital = Vec::new();
    for (i, line) in c.capital_profile.iter().enumerate() {
        let f = format!("{prefix}.capital_profile[{i}]");
        capital.extend(capital_line_from_proto(v, &f, line));
    }
    let cost_effectiveness_percent = finite(
        v,
        &format!("{prefix}.annual_cost_effectiveness_percent"),
        c.annual_cost_effectiveness_percent,
    );
    let exception_after = match c.exception_after_periods {
        0 => DEFAULT_EXCEPTION_AFTER,
        n if n > 0 => n as u32,
        _ => {
            v.add(
                format!("{prefix}.exception_after_periods"),
                "must not be negative",
            );
            DEFAULT_EXCEPTION_AFTER
        }
    };
    let content = PlanContent {
        targets,
        decent_homes,
        capital,
        cost_effectiveness_percent,
        delegated_functions: c
            .delegated_functions
            .iter()
            .map(|d| d.trim().to_string())
            .collect(),
        exception_after,
    };
    Some((content, stated))
}

/// Decodes and checks plan content against the plan rules. A field that could not be decoded
/// is reported once, not again by the rules it then breaks.
pub(in crate::grpc) fn checked_content(
    v: &mut Violations,
    prefix: &str,
    c: Option<&pb::PlanContent>,
    span: Option<Span>,
    catalogue: &[PiDefinition],
) -> Option<PlanContent> {
    let mut decoding = Violations::new();
    let content = content_from_proto(&mut decoding, prefix, c);
    let mut reported = HashSet::new();
    if let Err(AppError::InvalidArgument { violations, .. }) = decoding.into_result() {
        for f in violations {
            reported.insert(f.field.clone());
            v.add(f.field, f.description);
        }
    }
    let (mut content, stated) = content?;
    if let Some(span) = span {
        for (i, (t, stated)) in content.targets.iter_mut().zip(stated).enumerate() {
            let field = format!("{prefix}.targets[{i}]");
            // A target of no stated kind is already refused; its code was only guessed at.
            if reported.contains(&format!("{field}.kind")) {
                continue;
            }
            for (field, reason) in catalogue::resolve(t, stated, span, catalogue, &field) {
                if reported.insert(field.clone()) {
                    v.add(field, reason);
                }
            }
        }
        for (field, reason) in crate::domain::plan::violations(&content, span, prefix) {
            if !reported.contains(&field) {
                v.add(field, reason);
            }
        }
    }
    Some(content)
}

fn target_to_proto(t: &Target) -> pb::Target {
    pb::Target {
        code: t.code.clone(),
        kind: match t.kind {
            TargetKind::Pi => pb::TargetKind::Pi,
            TargetKind::Local => pb::TargetKind::Local,
        } as i32,
        name: t.name.clone(),
        unit: match t.unit {
            Unit::Percent => pb::Unit::Percent,
            Unit::Count => pb::Unit::Count,
            Unit::Days => pb::Unit::Days,
            Unit::Ratio => pb::Unit::Ratio,
        } as i32,
        direction: direction_to_proto(t.direction) as i32,
        baseline: t.baseline,
        yearly_targets: t
            .yearly
            .iter()
            .map(|(y, value)| pb::YearTarget {
                year: fy(*y),
                value: *value,
            })
            .collect(),
        tolerance: Some(pb::Tolerance {
            kind: match t.tolerance.kind {
                ToleranceKind::Absolute => pb::ToleranceKind::Absolute,
                ToleranceKind::Relative => pb::ToleranceKind::Relative,
            } as i32,
            amber: t.tolerance.amber,
            red: t.tolerance.red,
        }),
        milestones: t
            .milestones
            .iter()
            .map(|m| pb::MilestoneTarget {
                date: m.date.to_string(),
                value: m.value,
            })
            .collect(),
    }
}

pub(in crate::grpc) fn content_to_proto(c: &PlanContent) -> pb::PlanContent {
    pb::PlanContent {
        targets: c.targets.iter().map(target_to_proto).collect(),
        decent_homes: c.decent_homes.as_ref().map(|dh| pb::DecentHomesProgramme {
            non_decent_at_baseline: dh.non_decent_at_baseline,
            target_date: dh.target_date.to_string(),
            planned_decent: dh
                .planned
                .iter()
                .map(|(y, n)| pb::YearCount {
                    year: fy(*y),
                    count: *n,
                })
                .collect(),
            progress_target_code: dh.progress_target_code.clone(),
        }),
        capital_profile: c
            .capital
            .iter()
            .map(|l| pb::CapitalLine {
                year: fy(l.year),
                category: match l.category {
                    CapitalCategory::DecentHomes => pb::CapitalCategory::DecentHomes,
                    CapitalCategory::Sustainability => pb::CapitalCategory::Sustainability,
                    CapitalCategory::EstateImprovement => pb::CapitalCategory::EstateImprovement,
                    CapitalCategory::Other => pb::CapitalCategory::Other,
                } as i32,
                amount: Some(common::Money {
                    pence: l.pence,
                    currency_code: "GBP".into(),
                }),
            })
            .collect(),
        annual_cost_effectiveness_percent: c.cost_effectiveness_percent,
        delegated_functions: c.delegated_functions.clone(),
        exception_after_periods: c.exception_after as i32,
    }
}

/// Content as stored (JSON in the version and amendment rows).
pub(in crate::grpc) fn decode_content(json: &str, what: &str) -> Result<PlanContent, AppError> {
    serde_json::from_str(json)
        .map_err(|e| AppError::Internal(format!("{what}: stored content: {e}")))
}

pub(in crate::grpc) fn encode_content(c: &PlanContent) -> String {
    serde_json::to_string(c).expect("plan content serialises")
}

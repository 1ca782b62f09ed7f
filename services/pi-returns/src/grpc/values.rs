//! A return's figures: set while it is a draft (or sent back), each validated against the
//! definition in force for its year (DOMAIN.md §3), with the tenant survey they come from.

use std::collections::BTreeSet;

use almo_db::entity::{pi_return, pi_return_survey};
use almo_proto::pi_returns as pb;
use almo_server::{AppError, Violations};
use chrono::Utc;
use tonic::Request;

use super::PiReturns;
use super::change::or_replay;
use super::convert::{parse_survey, period_of, status_of, unit_from_proto};
use crate::domain::catalogue::{self, Definition};
use crate::domain::period::PeriodKind;
use crate::domain::survey::Tenure;
use crate::domain::validation::{self, Entry};
use crate::domain::workflow;
use crate::storage::{self, NewValue};

impl PiReturns {
    pub(super) async fn set_values(
        &self,
        request: Request<pb::SetValuesRequest>,
    ) -> Result<pb::SetValuesResponse, AppError> {
        let c = or_replay!(self.begin_change(&request).await?);
        let r = request.get_ref();
        let mut row = c.row;
        workflow::may_edit(status_of(&row.status)?)?;
        let mut v = Violations::new();
        let given = r.survey.is_some();
        let survey = r
            .survey
            .as_ref()
            .and_then(|s| parse_survey(&mut v, "survey", s));
        v.into_result()?;
        let values = self
            .validate_values(c.write.txn(), &c.defs, &row, &r.values, given)
            .await?;
        let now = Utc::now();
        storage::append_values(c.write.txn(), &row.id, values, &c.p.caller.subject, "", now)
            .await?;
        if let Some(s) = survey {
            // The return's own columns keep the low-cost rental survey for older readers.
            if s.tenure == Tenure::LowCostRental {
                row.survey_sample_size = Some(s.responses);
                row.survey_method = Some(s.method.to_string());
            }
            storage::put_survey(
                c.write.txn(),
                pi_return_survey::Model {
                    return_id: row.id.clone(),
                    tenure: s.tenure.as_str().into(),
                    relevant_homes: s.relevant_homes,
                    responses: s.responses,
                    method: s.method.into(),
                    fieldwork_start: s.fieldwork_start,
                    fieldwork_end: s.fieldwork_end,
                    weighted: s.weighted,
                    updated_at: now,
                },
            )
            .await?;
        }
        self.finish_change(c.write, row, now, |pr| pb::SetValuesResponse {
            pi_return: Some(pr),
        })
        .await
    }

    /// Validates `inputs` against the definitions in force for the return's year; every refusal
    /// names its field as `values[i].field`.
    pub(super) async fn validate_values(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        defs: &[Definition],
        ret: &pi_return::Model,
        inputs: &[pb::ValueInput],
        may_be_empty: bool,
    ) -> Result<Vec<NewValue>, AppError> {
        let period = period_of(ret)?;
        let last_year = storage::last_year_values(conn, &ret.organisation_id, &period).await?;
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
}

//! A council's combined figures (003 §107): the council's own return carries its ALMOs'
//! signed-off figures combined, each validated like any other figure.

use std::collections::{BTreeMap, BTreeSet};

use almo_db::entity::{pi_return, pi_return_value};
use almo_proto::pi_returns as pb;
use almo_server::AppError;
use chrono::Utc;
use tonic::Request;

use super::PiReturns;
use super::change::or_replay;
use super::convert::{period_of, status_of};
use super::part_year::{combine_refusal, coverage_of};
use crate::domain::catalogue::{self, Definition};
use crate::domain::combination;
use crate::domain::validation::{self, Entry};
use crate::domain::workflow::{self, Status as ReturnStatus};
use crate::storage::{self, NewValue};

impl PiReturns {
    pub(super) async fn combine_almo_returns(
        &self,
        request: Request<pb::CombineAlmoReturnsRequest>,
    ) -> Result<pb::CombineAlmoReturnsResponse, AppError> {
        let c = or_replay!(self.begin_change(&request).await?);
        let (txn, current) = (c.write.txn(), &c.row);
        workflow::may_edit(status_of(&current.status)?)?;
        let period = period_of(current)?;
        let council = &current.organisation_id;
        let covered = coverage_of(txn, council, &period).await?;
        if !covered.covers.is_whole(&period) {
            return Err(combine_refusal(council, &period, &covered));
        }
        let almos = storage::almos_live_in(txn, council, period.start(), period.end()).await?;
        if almos.is_empty() {
            return Err(AppError::failed_precondition(
                "NO_ALMOS",
                format!(
                    "{council} had no ALMO managing its homes in {}",
                    period.label()
                ),
            ));
        }
        let returns = storage::returns_for_period(txn, &almos, &period).await?;
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
            ));
        }
        let return_ids: Vec<String> = returns.iter().map(|r| r.id.clone()).collect();
        let values = storage::current_values(txn, &return_ids, None).await?;
        let last_year = storage::last_year_values(txn, council, &period).await?;
        let Figures {
            combined,
            not_combined,
        } = combine(&c.defs, period.year, &almos, &returns, &values, &last_year);
        let now = Utc::now();
        storage::append_values(txn, &current.id, combined, &c.p.caller.subject, "", now).await?;
        self.finish_change(c.write, c.row, now, |pr| pb::CombineAlmoReturnsResponse {
            pi_return: Some(pr),
            almo_return_ids: return_ids,
            not_combined,
        })
        .await
    }
}

/// What combining the ALMOs' figures gave: the figures to record, and those that could not be
/// combined with why.
struct Figures {
    combined: Vec<NewValue>,
    not_combined: Vec<pb::NotCombined>,
}

/// Combines, indicator by indicator and split by split, the current values of the ALMOs'
/// `returns` for `year`; `last_year` is the council's own signed-off figures a year earlier.
fn combine(
    defs: &[Definition],
    year: i32,
    almos: &[String],
    returns: &[pi_return::Model],
    values: &[pi_return_value::Model],
    last_year: &BTreeMap<(String, String), f64>,
) -> Figures {
    let org_of: BTreeMap<&str, &str> = returns
        .iter()
        .map(|r| (r.id.as_str(), r.organisation_id.as_str()))
        .collect();
    let keys: BTreeSet<(String, String)> = values
        .iter()
        .map(|v| (v.indicator_code.clone(), v.split.clone()))
        .collect();
    let note = format!(
        "Combined from the signed-off returns of {} (003 §107)",
        almos.join(", ")
    );
    let mut out = Figures {
        combined: Vec::new(),
        not_combined: Vec::new(),
    };
    for (code, split) in keys {
        let Some(def) = catalogue::in_force(defs, &code, year) else {
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
            Ok(accepted) => out.combined.push(NewValue {
                indicator_code: code,
                split,
                accepted,
            }),
            Err(reason) => out.not_combined.push(pb::NotCombined {
                indicator_code: code,
                split,
                reason,
            }),
        }
    }
    out
}

//! `ImportReturns`: a predecessor system's signed-off history, loaded in bulk by the operator.
//!
//! The per-return calls (CreateReturn, SetValues, SubmitReturn, SignOffReturn) are four
//! transactions and a dozen queries a return; a national history is 200,000 returns. Here a
//! batch of returns is one transaction with a handful of set-based reads and multi-row inserts,
//! and each value still goes through the same validation as SetValues (`domain/validation.rs`,
//! the definition in force for its year, last year's signed-off figure), so the history obeys
//! the catalogue as a return made today does. What the predecessor's workflow already decided is
//! recorded as it was — who submitted, who signed off, when — with the sign-off rule (the
//! certifier is not the submitter) and the window (submitted after the period's end) checked.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use almo_db::Begun;
use almo_db::entity::{pi_return, pi_return_value};
use almo_proto::pi_returns as pb;
use almo_server::{AppError, Principal, Violations};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::Set;
use tonic::{Request, Streaming};

use super::PiReturns;
use super::convert::{parse_period, return_id_of, unit_from_proto};
use crate::domain::catalogue::{self, Definition};
use crate::domain::period::{Period, PeriodKind};
use crate::domain::validation::{self, Entry};
use crate::domain::workflow::Status as ReturnStatus;
use crate::storage::{self, import as store};

/// The audit target of an import batch.
const TARGET: &str = "piReturns:import";

/// A return of a batch, its fields read.
struct Incoming<'a> {
    index: usize,
    id: String,
    organisation_id: String,
    period: Period,
    submitted_by: String,
    submitted_at: DateTime<Utc>,
    signed_off_by: String,
    signed_off_at: DateTime<Utc>,
    values: &'a [pb::ValueInput],
}

impl PiReturns {
    pub(super) async fn import_returns(
        &self,
        request: Request<Streaming<pb::ImportReturnsRequest>>,
    ) -> Result<pb::ImportReturnsResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let mut stream = request.into_inner();
        // The first batch is read before the caller is checked, as a unary call's body is
        // decoded before its handler runs: bytes that are not the message are refused as such,
        // whoever sends them.
        let mut next = stream.message().await?;
        if !p.is_operator() {
            return Err(AppError::PermissionDenied(format!(
                "only the operator imports returns from a predecessor system; {} is {}",
                p.org.id,
                p.org.kind.a()
            )));
        }
        let defs = self.catalogue().await?;
        let mut total = pb::ImportReturnsResponse::default();
        while let Some(batch) = next {
            let done = self
                .import_batch(&p, &defs, &batch)
                .await
                .map_err(|e| in_batch(e, total.batches, &batch.request_id))?;
            total.batches += 1;
            total.batches_replayed += done.batches_replayed;
            total.returns_imported += done.returns_imported;
            total.values_imported += done.values_imported;
            next = stream.message().await?;
        }
        Ok(total)
    }

    /// One batch, one transaction: decoded, claimed by its request id, checked against the
    /// directory and what is already recorded, validated value by value, then inserted.
    async fn import_batch(
        &self,
        p: &Principal,
        defs: &[Definition],
        batch: &pb::ImportReturnsRequest,
    ) -> Result<pb::ImportReturnsResponse, AppError> {
        // The ALMOs' last days, for the window of a part-year (read again, with everything else
        // about the organisations, inside the batch's transaction).
        let org_ids: Vec<String> = batch
            .returns
            .iter()
            .map(|r| r.organisation_id.trim().to_string())
            .collect();
        let ends: HashMap<String, NaiveDate> = store::organisations(self.ctx.db.conn(), &org_ids)
            .await?
            .into_iter()
            .filter_map(|(id, o)| o.end_date.map(|e| (id, e)))
            .collect();
        let incoming = decode(batch, &ends, Utc::now())?;
        let write = match self
            .begin::<pb::ImportReturnsResponse>(p, "ImportReturns", &batch.request_id, batch)
            .await?
        {
            Begun::Replay(mut resp) => {
                resp.batches_replayed = 1;
                return Ok(resp);
            }
            Begun::Fresh(w) => w,
        };
        let txn = write.txn();
        let org_ids: Vec<String> = incoming
            .iter()
            .map(|r| r.organisation_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let orgs = store::organisations(txn, &org_ids).await?;
        let mut v = Violations::new();
        for r in &incoming {
            let field = format!("returns[{}].organisation_id", r.index);
            match orgs.get(&r.organisation_id) {
                None => v.add(
                    field,
                    format!(
                        "no organisation {} in the directory",
                        almo_fields::quote(&r.organisation_id)
                    ),
                ),
                Some(o) if !matches!(o.kind.as_str(), "council" | "almo") => {
                    v.add(field, "PI returns are made by councils and ALMOs")
                }
                Some(_) => {}
            }
        }
        v.into_result()?;
        for r in &incoming {
            let what = format!("a return for {}", r.period.label());
            almo_server::almo_end::refuse_after_end(
                &orgs[&r.organisation_id],
                r.period.start(),
                &what,
            )?;
        }
        let ids: Vec<String> = incoming.iter().map(|r| r.id.clone()).collect();
        if let Some(id) = store::existing_returns(txn, &ids).await?.first() {
            let r = incoming.iter().find(|r| &r.id == id).expect("asked for");
            return Err(AppError::AlreadyExists(format!(
                "returns[{}]: {} already has a return for {}: {id}",
                r.index,
                r.organisation_id,
                r.period.label()
            )));
        }
        let prior_ids: Vec<String> = incoming.iter().map(|r| prior_id(r)).collect();
        let stored_priors = store::signed_off_figures(txn, &prior_ids).await?;

        // Earlier years first, so a return's last year may be in the same batch.
        let mut order: Vec<&Incoming> = incoming.iter().collect();
        order.sort_by_key(|r| (r.period.year, r.index));
        let mut in_force: HashMap<(&str, i32), Option<&Definition>> = HashMap::new();
        let mut batch_figures: HashMap<&str, BTreeMap<(String, String), f64>> = HashMap::new();
        let mut returns = Vec::with_capacity(order.len());
        let mut values = Vec::new();
        let mut v = Violations::new();
        for r in order {
            let prior = prior_id(r);
            let mut figures = BTreeMap::new();
            let mut seen = BTreeSet::new();
            for (j, input) in r.values.iter().enumerate() {
                let field = |f: &str| format!("returns[{}].values[{j}]{f}", r.index);
                let code = input.indicator_code.trim();
                let def = *in_force
                    .entry((code, r.period.year))
                    .or_insert_with(|| catalogue::in_force(defs, code, r.period.year));
                let Some(def) = def else {
                    v.add(
                        field(".indicator_code"),
                        format!("no indicator {code:?} is defined for {}", r.period.label()),
                    );
                    continue;
                };
                if !def.reported_in(r.period.kind == PeriodKind::Quarter) {
                    v.add(
                        field(".indicator_code"),
                        format!("{code} is reported annually, not in quarterly returns"),
                    );
                    continue;
                }
                let split = input.split.trim().to_string();
                if !seen.insert((code.to_string(), split.clone())) {
                    v.add(field(""), format!("{code} {split:?} is given twice"));
                    continue;
                }
                let unit = match pb::Unit::try_from(input.unit) {
                    Ok(pb::Unit::Unspecified) => None,
                    Ok(u) => unit_from_proto(u),
                    Err(_) => {
                        v.add(field(".unit"), "not a Unit");
                        continue;
                    }
                };
                let key = (code.to_string(), split.clone());
                let last_year = batch_figures
                    .get(prior.as_str())
                    .and_then(|f| f.get(&key))
                    .or_else(|| stored_priors.get(&(prior.clone(), key.0.clone(), key.1.clone())))
                    .copied();
                let entry = Entry {
                    split: split.clone(),
                    value: input.value,
                    numerator: input.numerator,
                    denominator: input.denominator,
                    unit,
                    explanation: input.explanation.clone(),
                };
                match validation::validate(def, &entry, last_year) {
                    Ok(accepted) => {
                        figures.insert(key, accepted.value);
                        values.push(pi_return_value::ActiveModel {
                            return_id: Set(r.id.clone()),
                            indicator_code: Set(code.to_string()),
                            split: Set(split),
                            sequence: Set(1),
                            value: Set(accepted.value),
                            numerator: Set(accepted.numerator),
                            denominator: Set(accepted.denominator),
                            warnings: Set(accepted.warnings.join("\n")),
                            explanation: Set(accepted.explanation),
                            revision_reason: Set(String::new()),
                            changed_by: Set(r.submitted_by.clone()),
                            changed_at: Set(r.submitted_at),
                            current: Set(true),
                            ..Default::default()
                        });
                    }
                    Err(refusals) => {
                        for f in refusals {
                            v.add(field(&format!(".{}", f.field)), f.reason);
                        }
                    }
                }
            }
            batch_figures.insert(r.id.as_str(), figures);
            returns.push(pi_return::Model {
                id: r.id.clone(),
                organisation_id: r.organisation_id.clone(),
                year: r.period.year,
                period_kind: r.period.kind.as_str().into(),
                period_number: r.period.number,
                status: ReturnStatus::SignedOff.as_str().into(),
                deadline_date: r.period.deadline(),
                late: r.period.late_on(r.submitted_at.date_naive()),
                submitted_by: Some(r.submitted_by.clone()),
                submitted_at: Some(r.submitted_at),
                signed_off_by: Some(r.signed_off_by.clone()),
                signed_off_at: Some(r.signed_off_at),
                returned_reason: None,
                revision: 0,
                survey_sample_size: None,
                survey_method: None,
                created_by: p.caller.subject.clone(),
                version: 1,
                created_at: r.submitted_at,
                updated_at: r.signed_off_at,
            });
        }
        v.into_result()?;
        let resp = pb::ImportReturnsResponse {
            batches: 1,
            batches_replayed: 0,
            returns_imported: returns.len() as i32,
            values_imported: values.len() as i32,
        };
        store::insert_returns(txn, returns).await?;
        storage::insert_values(txn, values).await?;
        // Benchmarks read the signed-off figures from their points, kept in the same transaction.
        storage::benchmark_points::refresh_returns(txn, &ids).await?;
        almo_telemetry::metrics::returns_signed_off(resp.returns_imported as u64);
        write.finish(&resp, TARGET).await?;
        Ok(resp)
    }
}

/// The id of the return a year earlier for the same organisation and period.
fn prior_id(r: &Incoming) -> String {
    let prior = Period {
        year: r.period.year - 1,
        ..r.period
    };
    return_id_of(&r.organisation_id, &prior)
}

/// Reads each return's own fields; every bad one is reported at once as
/// `returns[i].<field>`.
fn decode<'a>(
    batch: &'a pb::ImportReturnsRequest,
    ends: &HashMap<String, NaiveDate>,
    now: DateTime<Utc>,
) -> Result<Vec<Incoming<'a>>, AppError> {
    let mut v = Violations::new();
    v.check(
        batch.request_id.trim().is_empty(),
        "request_id",
        "required: each batch's idempotency key, so a batch sent again is not written twice",
    );
    v.check(batch.returns.is_empty(), "returns", "at least one return");
    let mut out = Vec::with_capacity(batch.returns.len());
    let mut ids = BTreeSet::new();
    for (i, r) in batch.returns.iter().enumerate() {
        let at = |f: &str| format!("returns[{i}].{f}");
        let org = r.organisation_id.trim().to_string();
        v.check(org.is_empty(), &at("organisation_id"), "required");
        let mut pv = Violations::new();
        let period = parse_period(&mut pv, r.period.as_ref());
        if let Err(AppError::InvalidArgument { violations, .. }) = pv.into_result() {
            for f in violations {
                v.add(at(&f.field), f.description);
            }
        }
        let submitted_by = r.submitted_by.trim().to_string();
        let signed_off_by = r.signed_off_by.trim().to_string();
        v.check(submitted_by.is_empty(), &at("submitted_by"), "required");
        v.check(signed_off_by.is_empty(), &at("signed_off_by"), "required");
        v.check(
            !submitted_by.is_empty() && submitted_by == signed_off_by,
            &at("signed_off_by"),
            "the certifier must be someone other than the person who submitted the return",
        );
        let submitted_at = time(&mut v, &at("submit_time"), r.submit_time.as_ref());
        let signed_off_at = time(&mut v, &at("sign_off_time"), r.sign_off_time.as_ref());
        // Submitted once the days it covers are over: the period's, or an ended ALMO's days to
        // its last day in the period holding it (its part-year).
        if let (Some(period), Some(sub)) = (period, submitted_at) {
            let covers = period.almo_part(ends.get(&org).copied());
            if sub.date_naive() <= covers.to {
                v.add(
                    at("submit_time"),
                    format!(
                        "{} covers the days to {}: a return is submitted after them",
                        period.label(),
                        covers.to
                    ),
                );
            }
        }
        for (field, t) in [
            ("submit_time", submitted_at),
            ("sign_off_time", signed_off_at),
        ] {
            v.check(t.is_some_and(|t| t > now), &at(field), "in the future");
        }
        if let (Some(sub), Some(signed)) = (submitted_at, signed_off_at) {
            v.check(
                signed < sub,
                &at("sign_off_time"),
                "before the return was submitted",
            );
        }
        let (Some(period), Some(submitted_at), Some(signed_off_at)) =
            (period, submitted_at, signed_off_at)
        else {
            continue;
        };
        if org.is_empty() {
            continue;
        }
        let id = return_id_of(&org, &period);
        if !ids.insert(id.clone()) {
            v.add(
                format!("returns[{i}]"),
                format!("{org} {} is given twice in the batch", period.label()),
            );
            continue;
        }
        out.push(Incoming {
            index: i,
            id,
            organisation_id: org,
            period,
            submitted_by,
            submitted_at,
            signed_off_by,
            signed_off_at,
            values: &r.values,
        });
    }
    v.into_result()?;
    Ok(out)
}

fn time(
    v: &mut Violations,
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Option<DateTime<Utc>> {
    let Some(t) = t else {
        v.add(field, "required");
        return None;
    };
    let at = DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(u32::MAX));
    if at.is_none() {
        v.add(field, "not a time");
    }
    at
}

/// A refusal of the `n`th batch (0-based) says which batch, so the loader knows where the
/// stream stopped; the batches before it are written.
fn in_batch(e: AppError, n: i32, request_id: &str) -> AppError {
    let batch = format!(
        "batch {n} (request_id {}; the batches before it are written)",
        almo_fields::quote(request_id)
    );
    match e {
        AppError::NotFound(m) => AppError::NotFound(format!("{batch}: {m}")),
        AppError::AlreadyExists(m) => AppError::AlreadyExists(format!("{batch}: {m}")),
        AppError::FailedPrecondition { reason, message } => AppError::FailedPrecondition {
            reason,
            message: format!("{batch}: {message}"),
        },
        other => other,
    }
}

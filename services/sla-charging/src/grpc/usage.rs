//! Usage: one record, or a stream of them in one write. Records are checked against the active
//! terms of their agreements, repeats are recognised, corrections supersede what they correct,
//! and nothing lands in a period already invoiced.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use almo_db::entity::{sla_agreement, sla_usage};
use almo_fields as fields;
use almo_proto::sla_charging as pb;
use almo_server::{AppError, Principal, Violations};
use chrono::Utc;
use sea_orm::ConnectionTrait;
use tonic::{Request, Status, Streaming};

use super::SlaCharging;
use super::access::{denied, require_supplier, visibility};
use super::convert::{billing_period, parse_month_key, usage_to_proto};
use crate::billing;
use crate::domain::agreement::Terms;
use crate::domain::proration::DaySpan;
use crate::storage;

/// Usage quantities above this (a billion units) are a keying error.
const MAX_QUANTITY_MILLI: i64 = 1_000_000_000_000;

impl SlaCharging {
    pub(super) async fn record_usage(
        &self,
        request: Request<pb::RecordUsageRequest>,
    ) -> Result<pb::RecordUsageResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        visibility(&p)?;
        let r = request.get_ref();
        let Some(record) = &r.record else {
            return Err(AppError::invalid("record", "required"));
        };
        let prefix = |_| "record".to_string();
        let records = std::slice::from_ref(record);
        let batch = self
            .check_usage(self.ctx.db.conn(), &p, records, prefix)
            .await?;
        self.write(&p, "RecordUsage", &r.request_id, r, async |txn| {
            let (fresh, already) = store_usage(txn, batch, prefix).await?;
            let stored = match fresh.first() {
                Some(u) => u.clone(),
                None => storage::usage_by_record_ids(
                    txn,
                    record.agreement_id.trim(),
                    &[record.record_id.trim().to_string()],
                )
                .await?
                .pop()
                .ok_or_else(|| AppError::Internal("usage vanished".into()))?,
            };
            let resp = pb::RecordUsageResponse {
                record: Some(usage_to_proto(&stored)),
                already_recorded: already > 0,
            };
            let target = format!(
                "slaAgreements/{}/usage/{}",
                stored.agreement_id, stored.record_id
            );
            Ok((resp, target))
        })
        .await
    }

    /// The stream gathered by [`gather`]: the caller has been checked before it was read.
    pub(super) async fn bulk_record_usage(
        &self,
        p: &Principal,
        all: pb::BulkRecordUsageRequest,
    ) -> Result<pb::BulkRecordUsageResponse, AppError> {
        let prefix = |i: usize| format!("records[{i}]");
        let batch = self
            .check_usage(self.ctx.db.conn(), p, &all.records, prefix)
            .await?;
        self.write(p, "BulkRecordUsage", &all.request_id, &all, async |txn| {
            let (fresh, already) = store_usage(txn, batch, prefix).await?;
            let resp = pb::BulkRecordUsageResponse {
                recorded: fresh.len() as i64,
                already_recorded: already,
            };
            Ok((resp, format!("councils/{}/slaUsage", p.org.id)))
        })
        .await
    }
}

/// Reads a BulkRecordUsage stream into one request. The whole stream is one write: one
/// transaction, one idempotency key over every record.
pub(super) async fn gather(
    mut stream: Streaming<pb::BulkRecordUsageRequest>,
) -> Result<pb::BulkRecordUsageRequest, Status> {
    let mut all = pb::BulkRecordUsageRequest::default();
    while let Some(msg) = stream.message().await? {
        if all.request_id.is_empty() {
            all.request_id = msg.request_id.clone();
        } else if msg.request_id != all.request_id && !msg.request_id.is_empty() {
            return Err(AppError::invalid(
                "request_id",
                "the same request_id in every message of the stream",
            )
            .into());
        }
        all.records.extend(msg.records);
    }
    Ok(all)
}

/// Checked usage, ready to store.
struct UsageBatch {
    rows: Vec<sla_usage::Model>,
    /// Index in the request, for error messages.
    index: Vec<usize>,
    /// The supplying councils of the agreements touched.
    councils: Vec<String>,
}

impl SlaCharging {
    /// Checks usage records against their agreements (which must be the caller's council's),
    /// naming bad fields `{prefix}{i}.field`.
    async fn check_usage(
        &self,
        conn: &impl ConnectionTrait,
        p: &Principal,
        records: &[pb::UsageRecord],
        prefix: impl Fn(usize) -> String,
    ) -> Result<UsageBatch, AppError> {
        let vis = visibility(p)?;
        let mut v = Violations::new();
        let mut ends = almo_server::almo_end::Ends::default();
        let mut agreements: HashMap<String, Option<(sla_agreement::Model, Vec<Terms>)>> =
            HashMap::new();
        let now = Utc::now();
        let mut batch = UsageBatch {
            rows: Vec::with_capacity(records.len()),
            index: Vec::with_capacity(records.len()),
            councils: Vec::new(),
        };
        for (i, r) in records.iter().enumerate() {
            let f = |name: &str| format!("{}.{name}", prefix(i));
            let record_id = r.record_id.trim();
            v.check(
                record_id.is_empty() || record_id.len() > 100,
                &f("record_id"),
                "required: the sender's id for this record, at most 100 characters",
            );
            v.check(
                !(0..=MAX_QUANTITY_MILLI).contains(&r.quantity_milli),
                &f("quantity_milli"),
                "thousandths of a unit, from 0 to a billion units",
            );
            let corrects = Some(r.corrects_record_id.trim().to_string()).filter(|c| !c.is_empty());
            v.check(
                corrects.as_deref() == Some(record_id),
                &f("corrects_record_id"),
                "a record cannot correct itself",
            );
            let period = billing_period(&mut v, &f("period"), &r.period, true);
            let Some(agreement_id) = v.field(&f("agreement_id"), fields::id(&r.agreement_id))
            else {
                continue;
            };
            let agreement_id = agreement_id.to_string();
            if !agreements.contains_key(&agreement_id) {
                // One the caller may not see is refused as one that does not exist, before
                // anything about it (such as its council) is named.
                let found = match storage::get_agreement(conn, &agreement_id)
                    .await?
                    .filter(|(a, _)| vis.sees_agreement(a))
                {
                    Some((a, versions)) => {
                        require_supplier(p, &a.supplier_council_id)?;
                        batch.councils.push(a.supplier_council_id.clone());
                        let terms = billing::active_terms(&versions)?
                            .into_iter()
                            .map(|(_, t)| t)
                            .collect();
                        Some((a, terms))
                    }
                    None => None,
                };
                agreements.insert(agreement_id.clone(), found);
            }
            let Some((a, terms)) = agreements.get(&agreement_id).and_then(|x| x.as_ref()) else {
                // Not found: refuse like any agreement the caller may not see.
                return Err(denied(p, &format!("agreement {agreement_id:?}")));
            };
            let line = terms.iter().rev().find_map(|t| t.line(r.line_code.trim()));
            match line {
                None => v.add(
                    f("line_code"),
                    format!(
                        "{:?} is not a line of an active version of {}",
                        r.line_code, a.id
                    ),
                ),
                Some(l) if !l.basis.is_usage_based() => v.add(
                    f("line_code"),
                    format!("{} is a fixed annual fee: it takes no usage", l.code),
                ),
                Some(_) => {}
            }
            if let Some(period) = period {
                // Usage for a period starting after the customer ALMO's end: nobody can owe it.
                let what = || format!("usage for {} ({})", period.label(), f("period"));
                ends.refuse_after(conn, &a.customer_almo_id, period.start(), what)
                    .await?;
                let term = billing::term_of(a);
                let span = DaySpan::new(period.start(), period.end()).expect("period");
                v.check(
                    span.intersect(&term).is_none(),
                    &f("period"),
                    format!(
                        "outside the agreement's term {} to {}",
                        term.first, term.last
                    ),
                );
                batch.rows.push(sla_usage::Model {
                    id: 0,
                    agreement_id,
                    record_id: record_id.to_string(),
                    line_code: r.line_code.trim().to_string(),
                    period_key: period.key(),
                    quantity_milli: r.quantity_milli,
                    corrects_record_id: corrects,
                    superseded: false,
                    recorded_at: now,
                });
                batch.index.push(i);
            }
        }
        v.into_result()?;
        Ok(batch)
    }
}

/// Stores checked usage inside `txn`: repeats of stored records are skipped, a record id
/// reused for other usage is refused, corrections supersede what they correct, and usage
/// for a period already invoiced is refused. Returns (recorded, already recorded).
async fn store_usage(
    txn: &impl ConnectionTrait,
    batch: UsageBatch,
    prefix: impl Fn(usize) -> String,
) -> Result<(Vec<sla_usage::Model>, i64), AppError> {
    let mut v = Violations::new();
    let mut by_agreement: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (k, r) in batch.rows.iter().enumerate() {
        by_agreement
            .entry(r.agreement_id.clone())
            .or_default()
            .push(k);
    }
    let mut fresh = Vec::new();
    let mut already = 0;
    let councils: BTreeSet<&str> = batch.councils.iter().map(String::as_str).collect();
    for council in councils {
        storage::lock_council(txn, council).await?;
    }
    for (agreement_id, ks) in by_agreement {
        let ids: Vec<String> = ks
            .iter()
            .flat_map(|k| {
                let r = &batch.rows[*k];
                std::iter::once(r.record_id.clone()).chain(r.corrects_record_id.clone())
            })
            .collect();
        let mut stored: HashMap<String, sla_usage::Model> =
            storage::usage_by_record_ids(txn, &agreement_id, &ids)
                .await?
                .into_iter()
                .map(|u| (u.record_id.clone(), u))
                .collect();
        let mut invoiced: HashMap<String, bool> = HashMap::new();
        for k in ks {
            let r = &batch.rows[k];
            let f = |name: &str| format!("{}.{name}", prefix(batch.index[k]));
            if let Some(s) = stored.get(&r.record_id) {
                if s.line_code == r.line_code
                    && s.period_key == r.period_key
                    && s.quantity_milli == r.quantity_milli
                    && s.corrects_record_id == r.corrects_record_id
                {
                    already += 1;
                } else {
                    v.add(
                            f("record_id"),
                            format!("{} was already recorded with other usage; a change is a new record that corrects it", r.record_id),
                        );
                }
                continue;
            }
            if let Some(c) = &r.corrects_record_id {
                match stored.get(c) {
                    None => v.add(
                        f("corrects_record_id"),
                        format!("no usage record {c:?} on this agreement"),
                    ),
                    Some(old) if old.superseded => v.add(
                        f("corrects_record_id"),
                        format!("{c} has already been corrected; correct the latest record"),
                    ),
                    Some(old) if old.line_code != r.line_code || old.period_key != r.period_key => {
                        v.add(
                            f("corrects_record_id"),
                            "a correction is for the same line and month as the record it corrects",
                        )
                    }
                    Some(_) => {}
                }
            }
            if !invoiced.contains_key(&r.period_key) {
                let month = parse_month_key(&r.period_key);
                let keys = billing::overlapping_keys(&month);
                let issued = storage::invoices_for_periods(txn, &agreement_id, &keys)
                    .await?
                    .iter()
                    .any(|i| i.status == "issued");
                invoiced.insert(r.period_key.clone(), issued);
            }
            if invoiced[&r.period_key] {
                return Err(AppError::failed_precondition(
                    "PERIOD_INVOICED",
                    format!(
                        "{} has been invoiced to the ALMO for {}; correct the invoice with a credit note",
                        agreement_id, r.period_key
                    ),
                ));
            }
            // Mark what it corrects so a second correction of the same record in this
            // batch is refused like one in a later call.
            if let Some(c) = &r.corrects_record_id
                && let Some(old) = stored.get_mut(c)
            {
                old.superseded = true;
            }
            stored.insert(r.record_id.clone(), r.clone());
            fresh.push(r.clone());
        }
    }
    v.into_result()?;
    storage::insert_usage(txn, fresh.clone()).await?;
    Ok((fresh, already))
}

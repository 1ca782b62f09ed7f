//! Quartile benchmarking (DOMAIN.md §3): an indicator's signed-off annual figures compared across
//! an authority type or a peer group, with named positions only for those the caller may read.

use std::collections::{BTreeMap, BTreeSet};

use almo_auth::{OrgKind, policy};
use almo_fields as fields;
use almo_proto::pi_returns as pb;
use almo_server::access::scope_of_row;
use almo_server::{AppError, Principal, Violations};
use sea_orm::ConnectionTrait;
use tonic::Request;

use super::PiReturns;
use super::convert::{check_authority_type, definition_to_proto, start_year, verdict_to_proto};
use super::part_year::EndYear;
use crate::domain::catalogue;
use crate::domain::quartile;
use crate::domain::validation;
use crate::storage::{self, Group};

impl PiReturns {
    pub(super) async fn get_benchmark(
        &self,
        request: Request<pb::GetBenchmarkRequest>,
    ) -> Result<pb::GetBenchmarkResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let code = r.indicator_code.trim();
        v.check(code.is_empty(), "indicator_code", "required");
        let year = v.field("year", start_year(r.year.as_ref()));
        let authority_type = r.authority_type.trim();
        let peer_group = r.peer_group_id.trim();
        match (authority_type.is_empty(), peer_group.is_empty()) {
            (true, true) | (false, false) => v.add(
                "authority_type",
                "give either an authority type or a peer group, not both",
            ),
            (false, true) => check_authority_type(&mut v, authority_type),
            (true, false) => {}
        }
        v.into_result()?;
        let year = year.expect("checked above");
        let defs = self.catalogue().await?;
        let def = catalogue::in_force(&defs, code, year).ok_or_else(|| {
            AppError::invalid(
                "indicator_code",
                format!(
                    "no indicator {code:?} is defined for {}",
                    fields::financial_year_label(year)
                ),
            )
        })?;
        let split = r.split.trim();
        if !split.is_empty() && !def.splits.iter().any(|s| s == split) {
            return Err(AppError::invalid(
                "split",
                format!("{code} has no split {split:?}"),
            ));
        }
        let conn = self.ctx.read_db().conn();
        let group = if authority_type.is_empty() {
            let not_found = || AppError::NotFound(format!("no peer group {peer_group:?}"));
            let (owner, mut members) = storage::peer_group_members(conn, peer_group)
                .await?
                .ok_or_else(not_found)?;
            if !self.sees_peer_group(&p, &owner).await? {
                return Err(not_found());
            }
            // The owner is benchmarked among its peers.
            members.push(owner);
            Group::Organisations(members)
        } else {
            Group::AuthorityType(authority_type.to_string())
        };
        // In the year of an ALMO's end the authority stands on its whole-year figure.
        let end_year = EndYear::read(conn, &defs, year).await?;
        let values = end_year.apply(
            def,
            split,
            storage::benchmark_values(conn, code, split, year, &group).await?,
        );
        let represented = represented_by_council(conn, &group, &values).await?;
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
                        "no signed-off {code} values for {} in this group",
                        fields::financial_year_label(year)
                    ),
                )
            })?;
        let readable = readable_in(conn, &p, &values).await?;
        let prior: BTreeMap<String, f64> = if readable.is_empty() {
            BTreeMap::new()
        } else {
            let prior_group = if p.reads_everyone() {
                group.clone()
            } else {
                Group::Organisations(readable.iter().cloned().collect())
            };
            let prior_end_year = EndYear::read(conn, &defs, year - 1).await?;
            let prior_def = catalogue::in_force(&defs, code, year - 1).unwrap_or(def);
            prior_end_year
                .apply(
                    prior_def,
                    split,
                    storage::benchmark_values(conn, code, split, year - 1, &prior_group).await?,
                )
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
        Ok(pb::GetBenchmarkResponse {
            indicator: Some(definition_to_proto(def)),
            count: figures.len() as i32,
            q1: q.q1,
            median: q.median,
            q3: q.q3,
            upper_quartile: quartile::upper_quartile(&q, def.direction),
            method: quartile::METHOD.to_string(),
            positions,
            almos_represented_by_their_council: represented.len() as i32,
        })
    }
}

/// Each authority counts once in an authority-type comparison: where a council has a signed-off
/// return of its own (its combined return, 003 §107), its ALMOs' figures are represented by it;
/// they are still positioned, as each ALMO benchmarks on its own.
async fn represented_by_council(
    conn: &impl ConnectionTrait,
    group: &Group,
    values: &[(String, f64)],
) -> Result<BTreeSet<String>, AppError> {
    Ok(match group {
        Group::AuthorityType(t) => {
            let with_values: BTreeSet<&str> = values.iter().map(|(o, _)| o.as_str()).collect();
            storage::almo_councils_of_type(conn, t)
                .await?
                .into_iter()
                .filter(|(almo, council)| {
                    with_values.contains(almo.as_str()) && with_values.contains(council.as_str())
                })
                .map(|(almo, _)| almo)
                .collect()
        }
        Group::Organisations(_) => BTreeSet::new(),
    })
}

/// Named positions only for organisations whose data the caller may read: an ALMO sees itself,
/// and everyone else only through the quartiles. Who that is follows from the caller's own
/// scope, so the (possibly very large) group never has to be looked up organisation by
/// organisation.
async fn readable_in(
    conn: &impl ConnectionTrait,
    p: &Principal,
    values: &[(String, f64)],
) -> Result<BTreeSet<String>, AppError> {
    if p.reads_everyone() {
        return Ok(values.iter().map(|(o, _)| o.clone()).collect());
    }
    let mut own = BTreeSet::from([p.org.id.clone()]);
    if p.org.kind == OrgKind::Council {
        for row in &storage::organisations_of_council(conn, &p.org.id).await? {
            if policy::may_read(&p.caller, &p.org, &scope_of_row(row)?) {
                own.insert(row.id.clone());
            }
        }
    }
    let in_group: BTreeSet<&String> = values.iter().map(|(o, _)| o).collect();
    own.retain(|o| in_group.contains(o));
    Ok(own)
}

//! The indicator catalogue: definitions versioned by financial year (DOMAIN.md §3), listed,
//! looked up for a year, and imported by the operator.

use std::collections::BTreeSet;

use almo_db::Begun;
use almo_fields as fields;
use almo_proto::pi_returns as pb;
use almo_server::{AppError, Violations};
use tonic::Request;

use super::PiReturns;
use super::convert::{definition_from_proto, definition_to_proto, start_year};
use crate::domain::catalogue::{self, Definition};
use crate::storage::{self, Imported};

impl PiReturns {
    /// Every definition of every year, the shipped ones loaded first.
    pub(super) async fn catalogue(&self) -> Result<Vec<Definition>, AppError> {
        self.seeded
            .get_or_try_init(|| async { storage::seed_catalogue(self.ctx.db.conn()).await })
            .await?;
        Ok(storage::load_catalogue(self.ctx.db.conn()).await?)
    }

    pub(super) async fn list_indicators(
        &self,
        request: Request<pb::ListIndicatorsRequest>,
    ) -> Result<pb::ListIndicatorsResponse, AppError> {
        let _p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let size = v.field("page_size", fields::page_size(r.page_size));
        let after = v.field("page_token", page_key(&r.page_token));
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
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
                .map(|d| fields::next_page_token(&definition_key(d)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListIndicatorsResponse {
            indicators: chosen.into_iter().map(definition_to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) async fn get_indicator(
        &self,
        request: Request<pb::GetIndicatorRequest>,
    ) -> Result<pb::GetIndicatorResponse, AppError> {
        let _p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.code.trim().is_empty(), "code", "required");
        let year = v.field("year", start_year(r.year.as_ref()));
        v.into_result()?;
        let year = year.expect("checked above");
        let defs = self.catalogue().await?;
        let def = catalogue::in_force(&defs, r.code.trim(), year).ok_or_else(|| {
            AppError::NotFound(format!(
                "no indicator {:?} is defined for {}",
                r.code.trim(),
                fields::financial_year_label(year)
            ))
        })?;
        Ok(pb::GetIndicatorResponse {
            indicator: Some(definition_to_proto(def)),
        })
    }

    pub(super) async fn import_catalogue(
        &self,
        request: Request<pb::ImportCatalogueRequest>,
    ) -> Result<pb::ImportCatalogueResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        if !p.is_operator() {
            return Err(AppError::PermissionDenied(format!(
                "only the operator imports indicator definitions; {} is {}",
                p.org.id,
                p.org.kind.a()
            )));
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
        let write = match self.begin(&p, "ImportCatalogue", &r.request_id, r).await? {
            Begun::Replay(resp) => return Ok(resp),
            Begun::Fresh(w) => w,
        };
        let (mut added, mut unchanged) = (0, 0);
        for (i, d) in defs.iter().enumerate() {
            match storage::import_definition(write.txn(), d).await? {
                Imported::Added => added += 1,
                Imported::Unchanged => unchanged += 1,
                Imported::Conflicts => {
                    return Err(AppError::AlreadyExists(format!(
                        "indicators[{i}]: {} from {} is already defined differently; a \
                         published definition is never changed: import one from a later year",
                        d.code, d.from_year
                    )));
                }
            }
        }
        let resp = pb::ImportCatalogueResponse { added, unchanged };
        write.finish(&resp, "piIndicators").await?;
        Ok(resp)
    }
}

/// The page key of a definition: code, then first year.
fn definition_key(d: &Definition) -> String {
    format!("{}\u{1f}{}", d.code, d.from_year)
}

/// The definition a page token continues after: `None` for the first page.
fn page_key(token: &str) -> Result<Option<(String, i32)>, String> {
    let Some(key) = fields::page_token(token)? else {
        return Ok(None);
    };
    key.rsplit_once('\u{1f}')
        .and_then(|(code, year)| Some((code.to_string(), year.parse().ok()?)))
        .map(Some)
        .ok_or_else(|| "not a token this server issued".to_string())
}

//! The write path of the service, written once: every write is idempotent by request id
//! (AIP-155), and every change of a return is checked against the etag it was read at (AIP-154)
//! inside the write's transaction, then written with its audit row and the answer to replay.

use almo_db::entity::pi_return;
use almo_db::{Begun, PendingWrite};
use almo_fields as fields;
use almo_proto::pi_returns as pb;
use almo_server::{AppError, Principal, Violations};
use chrono::{DateTime, Utc};
use tonic::Request;

use super::access::Changer;
use super::convert::{return_to_proto, status_of, survey_to_proto};
use super::{PiReturns, SERVICE_NAME};
use crate::domain::catalogue::Definition;
use crate::domain::workflow::{Status as ReturnStatus, WorkflowError};
use crate::storage;

/// The shortest reason a change that needs one accepts.
const MIN_REASON_CHARS: usize = 10;

/// A request that changes one return: it names the return, the etag it was read at and its
/// request id; who may make it, and what else it needs, follow from the call.
pub(super) trait ReturnChange: prost::Message {
    const METHOD: &'static str;
    const CHANGER: Changer;
    /// The change validates figures, so the catalogue is read before the write opens (on SQLite
    /// the first read may seed it).
    const READS_CATALOGUE: bool;
    fn return_id(&self) -> &str;
    fn etag(&self) -> &str;
    fn request_id(&self) -> &str;
    /// The reason the change must give, with what to say when it is too short.
    fn reason(&self) -> Option<(&str, &'static str)> {
        None
    }
}

macro_rules! return_changes {
    ($($request:ident: $method:literal by $who:ident, catalogue $catalogue:literal
        $(, reason $why:literal)?;)*) => {$(
        impl ReturnChange for pb::$request {
            const METHOD: &'static str = $method;
            const CHANGER: Changer = Changer::$who;
            const READS_CATALOGUE: bool = $catalogue;
            fn return_id(&self) -> &str {
                self.return_id.trim()
            }
            fn etag(&self) -> &str {
                &self.etag
            }
            fn request_id(&self) -> &str {
                &self.request_id
            }
            $(fn reason(&self) -> Option<(&str, &'static str)> {
                Some((self.reason.trim(), $why))
            })?
        }
    )*};
}

return_changes! {
    SetValuesRequest: "SetValues" by Author, catalogue true;
    SubmitReturnRequest: "SubmitReturn" by Author, catalogue true;
    SignOffReturnRequest: "SignOffReturn" by Certifier, catalogue false;
    ReturnForCorrectionRequest: "ReturnForCorrection" by Certifier, catalogue false,
        reason "say what must be corrected (at least 10 characters)";
    ReviseReturnRequest: "ReviseReturn" by Author, catalogue true,
        reason "a revision of a signed-off return needs its reason (at least 10 characters)";
    CombineAlmoReturnsRequest: "CombineAlmoReturns" by Council, catalogue true;
}

/// An opened change: the answer already given to the same request, or the change to make.
#[expect(
    clippy::large_enum_variant,
    reason = "made once a call and taken apart at once"
)]
pub(super) enum Opened<R> {
    Replay(R),
    Fresh(Change),
}

/// A change under way: who makes it, the write transaction, the return as it stands inside it,
/// and the catalogue when the change reads it (empty otherwise).
pub(super) struct Change {
    pub p: Principal,
    pub write: PendingWrite,
    pub row: pi_return::Model,
    pub defs: Vec<Definition>,
}

/// The change `begin_change` opened; or, where the same request was answered before, the handler
/// returns that answer again.
macro_rules! or_replay {
    ($opened:expr) => {
        match $opened {
            $crate::grpc::change::Opened::Fresh(change) => change,
            $crate::grpc::change::Opened::Replay(answer) => return Ok(answer),
        }
    };
}
pub(super) use or_replay;

impl Change {
    /// The status a certifier's `decision` (sign-off, or return for correction) moves the
    /// return to: the certifier is not its submitter.
    pub fn certified(
        &self,
        decision: fn(ReturnStatus, &str, &str) -> Result<ReturnStatus, WorkflowError>,
    ) -> Result<ReturnStatus, AppError> {
        let submitter = self.row.submitted_by.as_deref().unwrap_or_default();
        Ok(decision(
            status_of(&self.row.status)?,
            submitter,
            &self.p.caller.subject,
        )?)
    }
}

/// The audit target of a return.
pub(super) fn target(return_id: &str) -> String {
    format!("piReturns/{return_id}")
}

impl PiReturns {
    /// Opens an idempotent write for `method`: the answer to replay, or the transaction.
    pub(super) async fn begin<R: prost::Message + Default>(
        &self,
        p: &Principal,
        method: &str,
        request_id: &str,
        payload: &impl prost::Message,
    ) -> Result<Begun<R>, AppError> {
        let ctx = p.call_context(SERVICE_NAME, method, request_id);
        Ok(self.ctx.db.begin_idempotent(&ctx, payload).await?)
    }

    /// Checks a change's fields (the return, the etag, a reason where one is needed) and that
    /// the caller may make it; reads the catalogue if the change needs it; opens the idempotent
    /// write, re-reads the return inside it and checks the etag, claiming the next version so a
    /// concurrent change of the same return is refused as stale.
    pub(super) async fn begin_change<Q: ReturnChange, R: prost::Message + Default>(
        &self,
        request: &Request<Q>,
    ) -> Result<Opened<R>, AppError> {
        let p = self.ctx.principal(request).await?;
        let r = request.get_ref();
        let id = r.return_id();
        let mut v = Violations::new();
        v.check(id.is_empty(), "return_id", "required");
        v.require_etag(r.etag(), "the etag of the return as last read");
        if let Some((reason, why)) = r.reason() {
            v.check(reason.chars().count() < MIN_REASON_CHARS, "reason", why);
        }
        v.into_result()?;
        self.require_changer(&p, id, Q::CHANGER).await?;
        let defs = if Q::READS_CATALOGUE {
            self.catalogue().await?
        } else {
            Vec::new()
        };
        let write = match self.begin(&p, Q::METHOD, r.request_id(), r).await? {
            Begun::Replay(resp) => return Ok(Opened::Replay(resp)),
            Begun::Fresh(w) => w,
        };
        let row = storage::get_return(write.txn(), id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no PI return {id:?}")))?;
        if fields::etag(row.version) != r.etag().trim()
            || !storage::claim_version(write.txn(), id, row.version).await?
        {
            return Err(AppError::stale_etag(&target(id)));
        }
        Ok(Opened::Fresh(Change {
            p,
            write,
            row,
            defs,
        }))
    }

    /// Writes the changed return row as of `now` (its version claimed by `begin_change`), then
    /// the audit row and the answer `make` builds from the return as it now stands.
    pub(super) async fn finish_change<R: prost::Message>(
        &self,
        write: PendingWrite,
        mut row: pi_return::Model,
        now: DateTime<Utc>,
        make: impl FnOnce(pb::PiReturn) -> R,
    ) -> Result<R, AppError> {
        row.version += 1;
        row.updated_at = now;
        if !storage::update_return_if_version(write.txn(), &row, row.version).await? {
            return Err(AppError::stale_etag(&target(&row.id)));
        }
        storage::benchmark_points::refresh_return(write.txn(), &row.id).await?;
        let values =
            storage::current_values(write.txn(), std::slice::from_ref(&row.id), None).await?;
        let surveys = storage::surveys_of(write.txn(), std::slice::from_ref(&row.id)).await?;
        let period = super::convert::period_of(&row)?;
        let covered =
            super::part_year::coverage_of(write.txn(), &row.organisation_id, &period).await?;
        let target = target(&row.id);
        let mut pr = return_to_proto(row, values, Vec::new());
        pr.surveys = surveys.iter().map(survey_to_proto).collect();
        super::part_year::set_covers(&mut pr, &covered.covers);
        let resp = make(pr);
        write.finish(&resp, &target).await?;
        Ok(resp)
    }
}

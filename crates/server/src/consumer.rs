//! A service's consumer of the directory's lifecycle events, run in the background of each
//! replica. The work is in the consumer's own function (cursor locked, effects and cursor moved in
//! one transaction, `almo_db::lifecycle`), so replicas may all run it: each event is applied once.

use std::future::Future;
use std::time::Duration;

use almo_db::Db;
use almo_db::sea_orm::DbErr;

use crate::ServiceContext;

/// How often a consumer looks for new events. A look is two point reads; the write lock is taken
/// only when there is something to apply.
pub const POLL: Duration = Duration::from_millis(500);

/// Runs `consume` every [`POLL`] until the server drains. A failure is logged and retried at the
/// next look; nothing is lost, since the cursor only moves with the effects.
pub fn spawn<F, Fut>(ctx: &ServiceContext, name: &'static str, consume: F)
where
    F: Fn(Db) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<usize, DbErr>> + Send + 'static,
{
    let ctx = ctx.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = ctx.draining() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
            match consume(ctx.db.clone()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(consumer = name, events = n, "lifecycle events applied"),
                // An operator must see a consumer that keeps failing (its service falls behind
                // the directory); each look retries, so this repeats until it succeeds.
                Err(e) => {
                    tracing::warn!(consumer = name, error = %e, "lifecycle events not applied yet; retrying")
                }
            }
        }
    });
}

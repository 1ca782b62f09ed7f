//! A service's consumer of the directory's lifecycle events, run in the background of each
//! replica. The work is in the consumer's own function (cursor locked, effects and cursor moved in
//! one transaction, `almo_db::lifecycle`), so replicas may all run it: each event is applied once.
//!
//! A consumer looks when an event commits on any replica — the directory's write notifies the
//! lifecycle topic (`almo_db::notify`; PostgreSQL), and the consumers of a server share one
//! listening connection for it — and every poll interval anyway: the fallback for a lost
//! notification, and the only wake-up on SQLite.

use std::future::Future;
use std::time::Duration;

use almo_db::Db;
use almo_db::lifecycle;
use almo_db::sea_orm::DbErr;

use crate::ServiceContext;

/// How often a consumer looks without a wake-up, unless `ALMO_CONSUMER_POLL_MS` says otherwise.
/// A look is two point reads; the write lock is taken only when there is something to apply.
pub const POLL: Duration = Duration::from_millis(500);

/// The poll interval of the lifecycle consumers: `ALMO_CONSUMER_POLL_MS` (milliseconds), [`POLL`]
/// by default. On SQLite it is how soon a service acts on an event; on PostgreSQL only how soon it
/// acts on one whose notification was lost.
pub fn poll_from_env() -> Duration {
    std::env::var("ALMO_CONSUMER_POLL_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(POLL, Duration::from_millis)
}

/// Runs `consume` at once, then on each lifecycle wake-up or every [`poll_from_env`], until the
/// server drains. A failure is logged and retried at the next poll; nothing is lost, since the
/// cursor only moves with the effects.
pub fn spawn<F, Fut>(ctx: &ServiceContext, name: &'static str, consume: F)
where
    F: Fn(Db) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<usize, DbErr>> + Send + 'static,
{
    spawn_polling(ctx, name, poll_from_env(), consume);
}

/// [`spawn`] with its own poll interval.
pub fn spawn_polling<F, Fut>(ctx: &ServiceContext, name: &'static str, poll: Duration, consume: F)
where
    F: Fn(Db) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<usize, DbErr>> + Send + 'static,
{
    let ctx = ctx.clone();
    let mut watch = ctx.lifecycle_watch(poll);
    tokio::spawn(async move {
        loop {
            let failed = match consume(ctx.db.clone()).await {
                Ok(0) => false,
                Ok(n) => {
                    tracing::info!(consumer = name, events = n, "lifecycle events applied");
                    false
                }
                // An operator must see a consumer that keeps failing (its service falls behind
                // the directory); each poll retries, so this repeats until it succeeds.
                Err(e) => {
                    tracing::warn!(consumer = name, error = %e, "lifecycle events not applied yet; retrying");
                    true
                }
            };
            // After a failure only the poll: a burst of wake-ups would not make it succeed.
            let next = async {
                if failed {
                    tokio::time::sleep(poll).await;
                } else {
                    watch.changed(lifecycle::KEY).await;
                }
            };
            tokio::select! {
                _ = ctx.draining() => return,
                _ = next => {}
            }
        }
    });
}

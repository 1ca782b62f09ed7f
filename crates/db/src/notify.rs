//! Wake-ups across replicas: a write says "something new for `key` under `topic`", and the
//! watchers of that key on every replica read it at once instead of at their next poll.
//!
//! The rows stay the truth: a wake-up carries no data, a watcher always reads what is new from
//! the table (from the last id it sent). So a lost wake-up delays an event, never loses it.
//!
//! ```text
//! // In the writing transaction, after inserting the event rows (PostgreSQL: NOTIFY, delivered
//! // only if and when the transaction commits; SQLite: nothing):
//! almo_db::notify::notify(write.txn(), "plan_events", &plan_id).await?;
//!
//! // Once per replica (e.g. in the service struct built at mount):
//! let wakeups = Arc::new(Wakeups::new("plan_events", poll_interval_from_env()));
//!
//! // In each watch:
//! let mut watch = wakeups.subscribe(&db);
//! loop {
//!     let rows = read_events_after(last_id).await?;      // send them, move last_id on
//!     if rows.is_empty() { watch.changed(&plan_id).await; } // a wake-up for the key, or the poll
//! }
//! ```
//!
//! On PostgreSQL each [`Wakeups`] holds one listening connection (taken from the pool on the
//! first subscribe, `LISTEN "almo:<schema>:<topic>"`) and fans each notification out to that
//! replica's watchers over a broadcast channel. If the connection drops it reconnects, and wakes
//! every watcher so they read what they may have missed; the poll ([`Watch::changed`] returns
//! after the poll interval anyway) covers any notification lost meanwhile. On SQLite there is no
//! listener: the poll is the only wake-up.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use tokio::sync::broadcast;

use crate::{Backend, Db};

/// How long a watch waits before it looks again without a wake-up: `ALMO_WATCH_POLL_MS`
/// (milliseconds), 250 by default. On SQLite it is how soon a watch sees a write; on PostgreSQL
/// only how soon it sees one whose notification was lost.
pub fn poll_interval_from_env() -> Duration {
    std::env::var("ALMO_WATCH_POLL_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(Duration::from_millis(250), Duration::from_millis)
}

/// Inside a write transaction: wakes the watchers of `key` under `topic` on every replica once
/// the transaction commits (nothing if it rolls back). PostgreSQL only; a no-op on SQLite.
pub async fn notify(conn: &impl ConnectionTrait, topic: &str, key: &str) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let stmt = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify('almo:' || current_schema() || ':' || $1, $2)",
        [topic.into(), key.into()],
    );
    conn.execute_raw(stmt).await?;
    Ok(())
}

/// What a wake-up names: one key, or every key (after the listener reconnected).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wake {
    Key(String),
    All,
}

/// One replica's wake-ups for one topic (see the module docs).
pub struct Wakeups {
    topic: &'static str,
    poll: Duration,
    tx: Arc<broadcast::Sender<Wake>>,
    started: Mutex<bool>,
}

impl std::fmt::Debug for Wakeups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wakeups")
            .field("topic", &self.topic)
            .field("poll", &self.poll)
            .finish()
    }
}

impl Wakeups {
    /// Wake-ups for `topic`, with watches polling every `poll` as the fallback.
    pub fn new(topic: &'static str, poll: Duration) -> Self {
        Self {
            topic,
            poll,
            tx: Arc::new(broadcast::channel(1024).0),
            started: Mutex::new(false),
        }
    }

    pub fn poll_interval(&self) -> Duration {
        self.poll
    }

    /// A watch on this replica's wake-ups; on PostgreSQL the first one starts the listener
    /// (which ends when this `Wakeups` is dropped).
    pub fn subscribe(&self, db: &Db) -> Watch {
        self.subscribe_polling(db, self.poll)
    }

    /// [`Wakeups::subscribe`], the watch polling every `poll` instead of this `Wakeups`' own
    /// interval: watchers of one topic with different fallbacks share the one listener.
    pub fn subscribe_polling(&self, db: &Db, poll: Duration) -> Watch {
        let rx = self.tx.subscribe();
        if db.backend() == Backend::Postgres {
            let mut started = self.started.lock().expect("not poisoned");
            if !*started {
                *started = true;
                tokio::spawn(listen(db.clone(), self.topic, Arc::downgrade(&self.tx)));
            }
        }
        Watch { rx, poll }
    }
}

/// One watcher's side of [`Wakeups`].
pub struct Watch {
    rx: broadcast::Receiver<Wake>,
    poll: Duration,
}

impl Watch {
    /// Returns when `key` may have something new: a wake-up for it (or for every key), or the
    /// poll interval has passed without one.
    pub async fn changed(&mut self, key: &str) {
        let wait = async {
            loop {
                match self.rx.recv().await {
                    Ok(Wake::Key(k)) if k == key => return,
                    Ok(Wake::All) => return,
                    Ok(Wake::Key(_)) => continue,
                    // Missed some: one of them may have been ours.
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    // No listener any more: only the poll is left.
                    Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
                }
            }
        };
        let _ = tokio::time::timeout(self.poll, wait).await;
    }
}

/// The listener of one replica: LISTEN on the topic's channel, fan out, reconnect when dropped.
async fn listen(db: Db, topic: &'static str, tx: Weak<broadcast::Sender<Wake>>) {
    use sea_orm::sqlx::postgres::PgListener;
    let pool = db.conn().get_postgres_connection_pool().clone();
    let mut listener: Option<PgListener> = None;
    let mut channel = String::new();
    loop {
        let Some(sender) = tx.upgrade() else {
            return;
        };
        if listener.is_none() {
            match connect(&pool, topic).await {
                Ok((l, c)) => {
                    listener = Some(l);
                    channel = c;
                    // Whatever was written while no one listened: every watcher reads again.
                    let _ = sender.send(Wake::All);
                }
                Err(e) => {
                    tracing::warn!(topic, error = %e, "listening for wake-ups failed; watches poll meanwhile");
                    drop(sender);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        let l = listener.as_mut().expect("connected above");
        // Bounded, so the task notices when its `Wakeups` is gone.
        match tokio::time::timeout(Duration::from_secs(5), l.try_recv()).await {
            Err(_) => {}
            Ok(Ok(Some(n))) if n.channel() == channel => {
                let _ = sender.send(Wake::Key(n.payload().to_string()));
            }
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) | Ok(Err(_)) => {
                tracing::info!(topic, "the wake-up connection dropped; reconnecting");
                listener = None;
            }
        }
    }
}

async fn connect(
    pool: &sea_orm::sqlx::PgPool,
    topic: &str,
) -> Result<(sea_orm::sqlx::postgres::PgListener, String), sea_orm::sqlx::Error> {
    let mut l = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
    let schema: (String,) = sea_orm::sqlx::query_as("SELECT current_schema()::text")
        .fetch_one(&mut l)
        .await?;
    let channel = format!("almo:{}:{topic}", schema.0);
    l.listen(&channel).await?;
    Ok((l, channel))
}

//! Cross-replica watch latency: two replicas of the delivery-plan service on one database; a
//! `WatchPlanEvents` open on replica B; amendments proposed one at a time through replica A. The
//! figure is the time from sending the write to its event arriving on B's watch, p50 and p99
//! over N events, beside the write's own reply time (the baseline: the event cannot come sooner
//! than the commit).
//!
//! On PostgreSQL the watches poll only every 30 s here, so the figure is NOTIFY's (aim: p99 under
//! 50 ms). On SQLite there is no NOTIFY: the figure is the poll's (`ALMO_WATCH_POLL_MS`, 250 ms
//! by default) and has no aim.

use std::time::{Duration, Instant};

use almo_auth::Role;
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{self as dp};
use almo_testkit::{TestApp, TestDb, authed, default_args, demo};

use crate::Opts;
use crate::load::ms;
use crate::report::{Aim, Record};

fn council<T>(m: T) -> tonic::Request<T> {
    authed(m, demo::LAMBETH, Role::CouncilOfficer)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Record>> {
    let events = if opts.quick { 50 } else { 300 };
    let first = TestDb::new().await?;
    almo_pi_returns::seed_catalogue(first.db.conn()).await?;
    almo_directory::demo::seed(&first.db).await?;
    almo_delivery_plan::demo::seed(&first.db).await?;
    let postgres = first.db.backend() == almo_db::Backend::Postgres;
    let poll = if postgres {
        Duration::from_secs(30)
    } else {
        almo_db::notify::poll_interval_from_env()
    };
    let second = first.another_pool().await?;
    let today = chrono::NaiveDate::from_ymd_opt(2027, 4, 15).expect("a date");
    let mounts = || {
        vec![
            almo_directory::mount(),
            almo_delivery_plan::mount_with_watch_poll(
                almo_delivery_plan::Clock::Fixed(today),
                poll,
            ),
        ]
    };
    let a = TestApp::spawn_on(default_args(), mounts(), first).await?;
    let b = TestApp::spawn_on(default_args(), mounts(), second).await?;
    eprintln!(
        "{events} amendments proposed through replica A, watched on replica B (watch poll {} ms)",
        poll.as_millis()
    );

    let plan_id = almo_delivery_plan::demo::PLAN_ID.to_string();
    // Each event's subject and when it arrived, read as they come. A watch ends cleanly after
    // its longest life (30 s); the reader then carries on from the last cursor, as a client does.
    let mut watcher = DeliveryPlanServiceClient::new(b.channel().await);
    let first_watch = watcher
        .watch_plan_events(council(dp::WatchPlanEventsRequest {
            plan_id: plan_id.clone(),
            after_cursor: String::new(),
        }))
        .await?
        .into_inner();
    let (tx, mut arrived) = tokio::sync::mpsc::unbounded_channel();
    let watched_plan = plan_id.clone();
    let reader = tokio::spawn(async move {
        let mut stream = first_watch;
        let mut cursor = String::new();
        loop {
            while let Ok(Some(m)) = stream.message().await {
                if let Some(e) = m.event {
                    cursor = e.cursor;
                    let _ = tx.send((e.subject_id, Instant::now()));
                }
            }
            match watcher
                .watch_plan_events(council(dp::WatchPlanEventsRequest {
                    plan_id: watched_plan.clone(),
                    after_cursor: cursor.clone(),
                }))
                .await
            {
                Ok(s) => stream = s.into_inner(),
                Err(_) => break,
            }
        }
    });

    let mut client = DeliveryPlanServiceClient::new(a.channel().await);
    let plan = client
        .get_plan(council(dp::GetPlanRequest {
            plan_id: plan_id.clone(),
            ..Default::default()
        }))
        .await?
        .into_inner()
        .plan
        .ok_or_else(|| anyhow::anyhow!("no plan"))?;
    let mut latencies = Vec::with_capacity(events);
    let mut writes = Vec::with_capacity(events);
    for i in 0..events {
        let request = authed(
            dp::ProposeAmendmentRequest {
                request_id: format!("watch-bench-{i}"),
                plan_id: plan_id.clone(),
                etag: plan.etag.clone(),
                reason: "Watch latency".into(),
                effective_date: plan.effective_date.clone(),
                content: plan.content.clone(),
            },
            demo::LAMBETH_LIVING,
            Role::AlmoOfficer,
        );
        let sent = Instant::now();
        let id = client
            .propose_amendment(request)
            .await?
            .into_inner()
            .amendment
            .ok_or_else(|| anyhow::anyhow!("no amendment"))?
            .amendment_id;
        writes.push(sent.elapsed());
        let seen = loop {
            let next = tokio::time::timeout(poll + Duration::from_secs(5), arrived.recv()).await;
            match next {
                Ok(Some((subject, at))) if subject == id => break at,
                Ok(Some(_)) => continue,
                Ok(None) => anyhow::bail!("the watch on replica B ended"),
                Err(_) => anyhow::bail!("event {i} never reached replica B"),
            }
        };
        latencies.push(seen.saturating_duration_since(sent));
    }
    reader.abort();
    latencies.sort();
    writes.sort();
    let (p50, p99) = (percentile(&latencies, 0.50), percentile(&latencies, 0.99));
    let (w50, w99) = (percentile(&writes, 0.50), percentile(&writes, 0.99));
    eprintln!(
        "cross-replica watch: p50 {:.2} ms  p99 {:.2} ms  (the write's reply: p50 {:.2} ms  p99 {:.2} ms)",
        ms(p50),
        ms(p99),
        ms(w50),
        ms(w99)
    );
    let name = |p: &str| {
        format!(
            "WatchPlanEvents across replicas, write sent -> event on the other, {p} ({events} events) / the write's reply"
        )
    };
    Ok(vec![
        Record::new(name("p50"), ms(p50), "ms").baseline(ms(w50)),
        Record::new(name("p99"), ms(p99), "ms")
            .baseline(ms(w99))
            .aim(if postgres {
                Aim::AtMost(50.0)
            } else {
                Aim::None
            }),
    ])
}

//! Load over loopback: closed loops as fast as the server answers ([`saturate`]), or calls at a
//! fixed rate ([`paced`]), each reporting the rate and latency percentiles.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tonic::transport::{Channel, Endpoint};

/// What one load run measured.
#[derive(Debug)]
pub struct Figures {
    pub requests: usize,
    pub errors: usize,
    /// Requests per second.
    pub rate: f64,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
}

impl Figures {
    fn from(mut latencies: Vec<Duration>, errors: usize, elapsed: f64) -> Self {
        latencies.sort();
        let pct = |p: f64| {
            latencies
                .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        Figures {
            requests: latencies.len(),
            errors,
            rate: latencies.len() as f64 / elapsed,
            p50: pct(0.50),
            p90: pct(0.90),
            p99: pct(0.99),
        }
    }

    /// One line for the console.
    pub fn print(&self, name: &str) {
        eprintln!(
            "{name:<44} {:>10.0} req/s  p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  ({} requests, {} errors)",
            self.rate,
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            self.requests,
            self.errors
        );
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `connections` channels to `addr`, with Nagle off as the servers have it.
pub async fn channels(
    addr: std::net::SocketAddr,
    connections: usize,
) -> anyhow::Result<Vec<Channel>> {
    let mut out = Vec::with_capacity(connections);
    for _ in 0..connections {
        out.push(
            Endpoint::from_shared(format!("http://{addr}"))?
                .tcp_nodelay(true)
                .connect()
                .await?,
        );
    }
    Ok(out)
}

/// Runs `call` from `channels.len()` x `in_flight` loops for `duration`, after a warm-up of
/// `warm_up`; each call's future answers whether it succeeded.
pub async fn saturate<C, F, Fut>(
    channels: &[Channel],
    in_flight: usize,
    warm_up: Duration,
    duration: Duration,
    make: impl Fn(Channel) -> C,
    call: F,
) -> Figures
where
    C: Clone + Send + 'static,
    F: Fn(C) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let call = Arc::new(call);
    let run = |duration: Duration| {
        let deadline = Instant::now() + duration;
        let mut tasks = Vec::new();
        for ch in channels {
            let client = make(ch.clone());
            for _ in 0..in_flight {
                let client = client.clone();
                let call = call.clone();
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(4096);
                    let mut errors = 0usize;
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let ok = call(client.clone()).await;
                        lat.push(t.elapsed());
                        if !ok {
                            errors += 1;
                        }
                    }
                    (lat, errors)
                }));
            }
        }
        tasks
    };
    for t in run(warm_up) {
        let _ = t.await;
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in run(duration) {
        let (lat, e) = t.await.expect("load task");
        all.extend(lat);
        errors += e;
    }
    Figures::from(all, errors, started.elapsed().as_secs_f64())
}

/// Calls at `rate` per second in all, spread over `channels.len()` x `in_flight` senders, each
/// sending on a fixed schedule (a late call does not push the next one back), for `duration`.
pub async fn paced<C, F, Fut>(
    channels: &[Channel],
    in_flight: usize,
    rate: f64,
    duration: Duration,
    make: impl Fn(Channel) -> C,
    call: F,
) -> Figures
where
    C: Clone + Send + 'static,
    F: Fn(C) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let call = Arc::new(call);
    let senders = (channels.len() * in_flight).max(1);
    let period = Duration::from_secs_f64(senders as f64 / rate.max(1.0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for (i, ch) in channels.iter().enumerate() {
        let client = make(ch.clone());
        for j in 0..in_flight {
            let client = client.clone();
            let call = call.clone();
            // Staggered so the senders do not fire together.
            let offset = period.mul_f64((i * in_flight + j) as f64 / senders as f64);
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval_at(
                    tokio::time::Instant::from_std(started + offset),
                    period,
                );
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut lat = Vec::new();
                let mut errors = 0usize;
                loop {
                    let scheduled = tick.tick().await.into_std();
                    if scheduled >= deadline {
                        break;
                    }
                    let ok = call(client.clone()).await;
                    // Measured from when the call was due, so a queue behind a slow call counts.
                    lat.push(scheduled.elapsed());
                    if !ok {
                        errors += 1;
                    }
                }
                (lat, errors)
            }));
        }
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.expect("paced task");
        all.extend(lat);
        errors += e;
    }
    Figures::from(all, errors, started.elapsed().as_secs_f64())
}

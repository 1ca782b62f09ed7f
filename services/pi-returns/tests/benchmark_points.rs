//! The figures benchmarking compares are kept as returns change (`pi_benchmark_points`), in the
//! transaction of the change: after any sequence of submissions, sign-offs, returns for
//! correction and revisions, `GetBenchmark` answers what a scan of every return gives, and a
//! reader never sees a change half made.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use almo_auth::Role;
use almo_proto::pi_returns::{
    self as pb, GetBenchmarkRequest, ReturnForCorrectionRequest, ReviseReturnRequest, ValueInput,
};
use almo_testkit::TestApp;
use proptest::prelude::*;
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use tonic::Code;

use common::*;

const TYPE: &str = "district";
const YEAR: i32 = 2004;

fn org(i: usize) -> String {
    format!("E07T{i:05}")
}

/// Who opens and submits `org`'s returns, and who certifies them.
fn ann(org: &str) -> String {
    format!("ann@{org}")
}
fn cath(org: &str) -> String {
    format!("cath@{org}")
}

/// The service on a fresh database with `n` district councils in the directory.
async fn sector(n: usize) -> (TestApp, Client) {
    let app = TestApp::spawn(vec![almo_pi_returns::mount()])
        .await
        .unwrap();
    almo_db::entity::organisation::Entity::insert_many(
        (0..n).map(|i| council_row(&org(i), &format!("Council {i}"), TYPE, None)),
    )
    .exec_without_returning(app.db.conn())
    .await
    .unwrap();
    let client = Client::new(app.channel().await);
    (app, client)
}

/// The two figures each return varies: rent collected (BVPI 66a, two places) and the BME
/// tenants' satisfaction (BVPI 74, split `bme`, whole percent).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Figures {
    rent: f64,
    bme: f64,
}

impl Figures {
    fn from_seed(seed: u32) -> Self {
        Figures {
            rent: 90.0 + f64::from(seed % 100) / 10.0,
            bme: f64::from(50 + seed % 50),
        }
    }

    fn inputs(self) -> Vec<ValueInput> {
        vec![
            value("BVPI 66a", self.rent),
            split("BVPI 74", "bme", self.bme),
        ]
    }

    fn complete(self) -> Vec<ValueInput> {
        let mut all = mandatory_2004();
        all.retain(|v| {
            !(v.indicator_code == "BVPI 66a" || v.indicator_code == "BVPI 74" && v.split == "bme")
        });
        all.extend(self.inputs());
        all
    }
}

/// A return as the test expects it: the service's last answer and the figures it holds.
struct Held {
    pi_return: pb::PiReturn,
    figures: Figures,
}

impl Held {
    fn status(&self) -> pb::ReturnStatus {
        pb::ReturnStatus::try_from(self.pi_return.status).unwrap()
    }
}

/// The figures that count, by organisation: those of signed-off returns.
fn signed_off(model: &BTreeMap<String, Held>) -> BTreeMap<String, Figures> {
    model
        .iter()
        .filter(|(_, h)| h.status() == pb::ReturnStatus::SignedOff)
        .map(|(o, h)| (o.clone(), h.figures))
        .collect()
}

/// PERCENTILE.INC, written apart from the service's code: 1-based position 1 + (n - 1) p.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let pos = 1.0 + (sorted.len() as f64 - 1.0) * p;
    let below = pos.trunc() as usize;
    if below >= sorted.len() {
        return sorted[sorted.len() - 1];
    }
    sorted[below - 1] + (pos - pos.trunc()) * (sorted[below] - sorted[below - 1])
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn request(code: &str, split: &str) -> GetBenchmarkRequest {
    GetBenchmarkRequest {
        split: split.into(),
        ..among(code, YEAR, TYPE)
    }
}

/// The benchmark `code`/`split` as the regulator reads it, against the figures expected to count
/// (`figures`, by organisation) and the indicator's precision.
async fn check_benchmark(
    client: &mut Client,
    code: &str,
    split: &str,
    precision: i32,
    figures: &BTreeMap<String, f64>,
) {
    let got = get_benchmark(client, request(code, split), AS_REGULATOR).await;
    if figures.is_empty() {
        let err = got.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{code} {split}");
        assert_eq!(reason(&err), "NO_SIGNED_OFF_VALUES");
        return;
    }
    let b = got.unwrap();
    let mut sorted: Vec<f64> = figures.values().copied().collect();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(b.count as usize, sorted.len(), "{code} {split} count");
    for (name, got, p) in [
        ("q1", b.q1, 0.25),
        ("median", b.median, 0.5),
        ("q3", b.q3, 0.75),
    ] {
        let want = round(percentile(&sorted, p), precision + 1);
        assert!(
            (got - want).abs() < 1e-9,
            "{code} {split} {name}: {got} against {want} from {sorted:?}"
        );
    }
    let positions: BTreeMap<String, f64> = b
        .positions
        .iter()
        .map(|p| (p.organisation_id.clone(), p.value))
        .collect();
    assert_eq!(&positions, figures, "{code} {split} positions");
}

/// Every benchmark point held, and the same computed by scanning every return and value, as
/// (indicator, split, year, organisation, value) in order.
async fn points_and_scan(
    conn: &impl ConnectionTrait,
) -> (
    Vec<(String, String, i32, String, f64)>,
    Vec<(String, String, i32, String, f64)>,
) {
    let read = |sql: &str| {
        let stmt = Statement::from_string(conn.get_database_backend(), sql.to_string());
        async move {
            conn.query_all_raw(stmt)
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r.try_get::<String>("", "indicator_code").unwrap(),
                        r.try_get::<String>("", "split").unwrap(),
                        r.try_get::<i32>("", "year").unwrap(),
                        r.try_get::<String>("", "organisation_id").unwrap(),
                        r.try_get::<f64>("", "value").unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let points = read(
        "SELECT indicator_code, split, year, organisation_id, value FROM pi_benchmark_points \
         ORDER BY indicator_code, split, year, organisation_id",
    )
    .await;
    let scan = read(
        "SELECT v.indicator_code, v.split, r.year, r.organisation_id, v.value \
         FROM pi_return_values v JOIN pi_returns r ON r.id = v.return_id \
         WHERE v.current AND r.status = 'signed_off' AND r.period_kind = 'year' \
         ORDER BY v.indicator_code, v.split, r.year, r.organisation_id",
    )
    .await;
    (points, scan)
}

/// The maintained answers equal the scanned ones, for both figures and for every point.
async fn check_all(app: &TestApp, client: &mut Client, model: &BTreeMap<String, Held>) {
    let counted = signed_off(model);
    let rent = counted.iter().map(|(o, f)| (o.clone(), f.rent)).collect();
    check_benchmark(client, "BVPI 66a", "", 2, &rent).await;
    let bme = counted.iter().map(|(o, f)| (o.clone(), f.bme)).collect();
    check_benchmark(client, "BVPI 74", "bme", 0, &bme).await;
    let (points, scan) = points_and_scan(app.db.conn()).await;
    assert_eq!(
        points, scan,
        "the points kept against a scan of every return"
    );
}

/// One step of a return's life, chosen by the sequence.
#[derive(Debug, Clone, Copy)]
struct Step {
    org: usize,
    /// Which way a submitted return goes (sign-off or back for correction), whether a signed-off
    /// one is revised.
    choice: u8,
    /// The figures the step records, if it records any.
    seed: u32,
}

/// Takes `org`'s return one step on its way; what the step is follows from where it stands.
async fn apply(client: &mut Client, model: &mut BTreeMap<String, Held>, step: Step, n: usize) {
    let org = org(step.org % n);
    let figures = Figures::from_seed(step.seed);
    let Some(held) = model.get(&org) else {
        let r = create(client, &org, &ann(&org), YEAR).await;
        let r = set(client, &r, &ann(&org), figures.complete())
            .await
            .unwrap();
        let r = submit(client, &r, &ann(&org)).await.unwrap();
        model.insert(
            org,
            Held {
                pi_return: r,
                figures,
            },
        );
        return;
    };
    let r = held.pi_return.clone();
    let (next, figures) = match held.status() {
        pb::ReturnStatus::Submitted if step.choice.is_multiple_of(2) => {
            let r = sign_off(client, &r, &org, Role::CouncilOfficer, &cath(&org))
                .await
                .unwrap();
            (r, held.figures)
        }
        pb::ReturnStatus::Submitted => {
            let r = client
                .return_for_correction(person(
                    ReturnForCorrectionRequest {
                        request_id: uuid::Uuid::new_v4().to_string(),
                        return_id: r.id.clone(),
                        etag: r.etag.clone(),
                        reason: "The rent figure leaves out garages.".into(),
                    },
                    &org,
                    Role::CouncilOfficer,
                    &cath(&org),
                ))
                .await
                .unwrap()
                .into_inner()
                .pi_return
                .unwrap();
            (r, held.figures)
        }
        pb::ReturnStatus::Returned => {
            let r = set(client, &r, &ann(&org), figures.inputs()).await.unwrap();
            (submit(client, &r, &ann(&org)).await.unwrap(), figures)
        }
        pb::ReturnStatus::SignedOff if step.choice % 3 != 2 => {
            let r = client
                .revise_return(person(
                    ReviseReturnRequest {
                        request_id: uuid::Uuid::new_v4().to_string(),
                        return_id: r.id.clone(),
                        etag: r.etag.clone(),
                        reason: "Audit found arrears counted twice.".into(),
                        values: figures.inputs(),
                    },
                    &org,
                    Role::CouncilOfficer,
                    &ann(&org),
                ))
                .await
                .unwrap()
                .into_inner()
                .pi_return
                .unwrap();
            (r, figures)
        }
        _ => return,
    };
    model.insert(
        org,
        Held {
            pi_return: next,
            figures,
        },
    );
}

async fn run_sequence(steps: Vec<Step>) {
    const N: usize = 5;
    let (app, mut client) = sector(N).await;
    let mut model = BTreeMap::new();
    for step in steps {
        apply(&mut client, &mut model, step, N).await;
        check_all(&app, &mut client, &model).await;
    }
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (0usize..5, any::<u8>(), any::<u32>()).prop_map(|(org, choice, seed)| Step {
            org,
            choice,
            seed,
        }),
        1..30,
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn benchmarks_equal_a_scan_of_every_return_after_any_sequence_of_changes(steps in steps()) {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run_sequence(steps));
    }
}

#[tokio::test]
async fn sign_off_revision_correction_and_sign_off_again_each_move_the_benchmark() {
    // The same life every time, so each rule is seen at least once whatever the random cases.
    let s = |org, choice, seed| Step { org, choice, seed };
    run_sequence(vec![
        s(0, 0, 31),
        s(1, 0, 67),
        s(2, 0, 5),
        s(0, 0, 0),  // signed off: counts
        s(1, 0, 0),  // signed off
        s(2, 1, 0),  // back for correction: does not count
        s(0, 0, 44), // revised: awaits a new sign-off, so no longer counts
        s(0, 0, 0),  // signed off again with the revised figures
        s(2, 0, 92), // corrected and resubmitted
        s(2, 0, 0),  // signed off
        s(1, 0, 13), // revised
        s(1, 1, 0),  // the revision sent back
    ])
    .await;
}

/// Quartiles of the first `k` of `figures`, as the service reports them (whole percent + 1).
fn expected_after(figures: &[f64], k: usize) -> Option<(f64, f64, f64)> {
    if k == 0 {
        return None;
    }
    let mut sorted = figures[..k].to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p| round(percentile(&sorted, p), 1);
    Some((q(0.25), q(0.5), q(0.75)))
}

#[tokio::test]
async fn a_reader_sees_each_sign_off_whole_and_from_its_commit_on() {
    const N: usize = 12;
    let (app, mut client) = sector(N).await;
    let mut submitted = Vec::new();
    let mut bme = Vec::new();
    for i in 0..N {
        let o = org(i);
        let figures = Figures::from_seed((i as u32 * 37 + 11) % 97);
        bme.push(figures.bme);
        let r = create(&mut client, &o, &ann(&o), YEAR).await;
        let r = set(&mut client, &r, &ann(&o), figures.complete())
            .await
            .unwrap();
        submitted.push(submit(&mut client, &r, &ann(&o)).await.unwrap());
    }
    // A reader on its own connection reads the benchmark over and over while returns are signed
    // off one by one.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let mut client = Client::new(app.channel().await);
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match get_benchmark(&mut client, request("BVPI 74", "bme"), AS_REGULATOR).await {
                    Ok(b) => seen.push((b.count as usize, Some((b.q1, b.median, b.q3)))),
                    Err(e) => {
                        assert_eq!(reason(&e), "NO_SIGNED_OFF_VALUES");
                        seen.push((0, None));
                    }
                }
            }
            seen
        })
    };
    for (k, r) in submitted.iter().enumerate() {
        let o = org(k);
        sign_off(&mut client, r, &o, Role::CouncilOfficer, &cath(&o))
            .await
            .unwrap();
        // From the sign-off's answer on, every read counts it.
        let b = get_benchmark(&mut client, request("BVPI 74", "bme"), AS_REGULATOR)
            .await
            .unwrap();
        assert_eq!(b.count as usize, k + 1);
        assert_eq!(
            Some((b.q1, b.median, b.q3)),
            expected_after(&bme, k + 1),
            "after {} sign-offs",
            k + 1
        );
    }
    stop.store(true, Ordering::Relaxed);
    let seen = reader.await.unwrap();
    assert!(!seen.is_empty());
    // Whatever the reader caught was a state between two commits: the first k sign-offs whole,
    // never a return counted with figures it did not have, and never going back.
    let mut last = 0;
    for (count, quartiles) in seen {
        assert!(count >= last, "a read went back from {last} to {count}");
        assert_eq!(quartiles, expected_after(&bme, count), "{count} counted");
        last = count;
    }
}

#[tokio::test]
async fn an_organisation_whose_authority_type_changes_is_compared_with_its_new_type_at_once() {
    let (app, mut client) = sector(3).await;
    let mut model = BTreeMap::new();
    for i in 0..3 {
        let s = Step {
            org: i,
            choice: 0,
            seed: 10 * i as u32,
        };
        apply(&mut client, &mut model, s, 3).await;
        apply(&mut client, &mut model, s, 3).await;
    }
    check_all(&app, &mut client, &model).await;
    // The directory reclassifies one council as a unitary authority.
    app.db
        .conn()
        .execute_unprepared(&format!(
            "UPDATE organisations SET authority_type = 'unitary' WHERE id = '{}'",
            org(0)
        ))
        .await
        .unwrap();
    let district = get_benchmark(&mut client, request("BVPI 66a", ""), AS_REGULATOR)
        .await
        .unwrap();
    assert_eq!(district.count, 2);
    assert!(
        district
            .positions
            .iter()
            .all(|p| p.organisation_id != org(0))
    );
    let unitary = get_benchmark(
        &mut client,
        among("BVPI 66a", YEAR, "unitary"),
        AS_REGULATOR,
    )
    .await
    .unwrap();
    assert_eq!(unitary.count, 1);
    assert_eq!(unitary.positions[0].organisation_id, org(0));
}

#[tokio::test]
async fn the_migration_fills_the_points_from_the_returns_already_signed_off() {
    // The demo's signed-off returns (2001/02 and 2024/25), loaded as an existing database has
    // them; the table is then made again by its migration, as on an upgrade.
    let (app, mut client) = app().await;
    let conn = app.db.conn();
    let (kept, scan) = points_and_scan(conn).await;
    assert!(!scan.is_empty());
    assert_eq!(kept, scan);
    let before = benchmark(&mut client, "BVPI 66a", "metropolitan").await;
    conn.execute_unprepared("DROP TABLE pi_benchmark_points")
        .await
        .unwrap();
    conn.execute_unprepared(
        "DELETE FROM seaql_migrations WHERE version = 'm20261201_120000_pi_benchmark_points'",
    )
    .await
    .unwrap();
    app.db.migrate().await.unwrap();
    let (filled, scan) = points_and_scan(conn).await;
    assert_eq!(filled, scan);
    assert_eq!(filled, kept);
    assert_eq!(
        benchmark(&mut client, "BVPI 66a", "metropolitan").await,
        before
    );
}

#[tokio::test]
async fn refreshing_many_returns_at_once_equals_a_scan_however_many_there_are() {
    // 1,200 returns (more than one statement's worth) written directly, as a loader does, then
    // their points in one call; then a third of them moved back to submitted, and refreshed again.
    let (app, _client) = sector(0).await;
    let conn = app.db.conn();
    let ids: Vec<String> = (0..1_200).map(org).collect();
    for chunk in ids.chunks(200) {
        almo_db::entity::organisation::Entity::insert_many(
            chunk.iter().map(|o| council_row(o, o, TYPE, None)),
        )
        .exec_without_returning(conn)
        .await
        .unwrap();
        almo_db::entity::pi_return::Entity::insert_many(
            chunk
                .iter()
                .map(|o| return_row(&format!("{o}/{YEAR}/Y"), o, YEAR, "signed_off")),
        )
        .exec_without_returning(conn)
        .await
        .unwrap();
        almo_db::entity::pi_return_value::Entity::insert_many(chunk.iter().enumerate().flat_map(
            |(i, o)| {
                let r = format!("{o}/{YEAR}/Y");
                [
                    value_row(&r, "BVPI 66a", 90.0 + (i % 10) as f64),
                    value_row(&r, "BVPI 63", 50.0 + (i % 7) as f64),
                ]
            },
        ))
        .exec_without_returning(conn)
        .await
        .unwrap();
    }
    let return_ids: Vec<String> = ids.iter().map(|o| format!("{o}/{YEAR}/Y")).collect();
    let (points, _) = points_and_scan(conn).await;
    assert!(points.is_empty(), "nothing kept before the refresh");
    almo_pi_returns::benchmark_points::refresh_returns(conn, &return_ids)
        .await
        .unwrap();
    let (points, scan) = points_and_scan(conn).await;
    assert_eq!(points.len(), 2 * 1_200);
    assert_eq!(points, scan);
    conn.execute_unprepared(&format!(
        "UPDATE pi_returns SET status = 'submitted' WHERE organisation_id < '{}'",
        org(400)
    ))
    .await
    .unwrap();
    almo_pi_returns::benchmark_points::refresh_returns(conn, &return_ids)
        .await
        .unwrap();
    let (points, scan) = points_and_scan(conn).await;
    assert_eq!(points.len(), 2 * 800);
    assert_eq!(points, scan);
}

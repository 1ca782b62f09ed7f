//! Benchmarking across a whole sector: 40 authorities of each type with signed-off returns, the
//! service's quartiles checked against an independent computation.

mod common;

use almo_db::entity::{organisation, pi_return, pi_return_value};
use almo_proto::pi_returns as pb;
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_testkit::TestApp;
use sea_orm::EntityTrait;

use common::{AS_REGULATOR, among, council_row, get_benchmark, return_row, value_row};

const TYPES: [(&str, &str); 4] = [
    ("E09", "london_borough"),
    ("E08", "metropolitan"),
    ("E06", "unitary"),
    ("E07", "district"),
];
const PER_TYPE: usize = 40;

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The p-th percentile as a spreadsheet computes PERCENTILE.INC: 1-based position
/// 1 + (n - 1) p, interpolated between its neighbours. Written apart from the service's code.
fn spreadsheet_percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pos = 1.0 + (v.len() as f64 - 1.0) * p;
    let below = pos.trunc() as usize;
    let frac = pos - pos.trunc();
    if below >= v.len() {
        return v[v.len() - 1];
    }
    v[below - 1] + frac * (v[below] - v[below - 1])
}

#[tokio::test]
async fn quartiles_of_forty_authorities_of_each_type_match_an_independent_computation() {
    let app = TestApp::spawn(vec![almo_pi_returns::mount()])
        .await
        .unwrap();
    let conn = app.db.conn();
    let mut rng = Lcg(2001);
    let mut orgs = Vec::new();
    let mut returns = Vec::new();
    let mut values = Vec::new();
    // type -> (organisation, 2005 value, 2004 value)
    let mut expected: Vec<Vec<(String, f64, f64)>> = vec![Vec::new(); 4];
    for (t, (prefix, ty)) in TYPES.iter().enumerate() {
        for i in 0..PER_TYPE {
            let id = format!("{prefix}9{i:05}");
            orgs.push(council_row(
                &id,
                &format!("Test council {id}"),
                ty,
                Some("London"),
            ));
            // Average relet days, whole days, with ties likely.
            let now_days = (10.0 + 60.0 * rng.next()).round();
            let before_days = (10.0 + 60.0 * rng.next()).round();
            for (year, v) in [(2005, now_days), (2004, before_days)] {
                let rid = format!("{id}/{year}/Y");
                returns.push(return_row(&rid, &id, year, "signed_off"));
                values.push(value_row(&rid, "old BVPI 68", v));
            }
            expected[t].push((id, now_days, before_days));
        }
        // One submitted but not signed-off return per type, with an extreme figure that would
        // move the quartiles if it counted.
        let id = format!("{prefix}8{:05}", 0);
        orgs.push(council_row(&id, "Unsigned", ty, None));
        let rid = format!("{id}/2005/Y");
        returns.push(return_row(&rid, &id, 2005, "submitted"));
        values.push(value_row(&rid, "old BVPI 68", 700.0));
    }
    organisation::Entity::insert_many(orgs)
        .exec_without_returning(conn)
        .await
        .unwrap();
    pi_return::Entity::insert_many(returns)
        .exec_without_returning(conn)
        .await
        .unwrap();
    pi_return_value::Entity::insert_many(values)
        .exec_without_returning(conn)
        .await
        .unwrap();
    // Rows written directly, not through the service: their benchmark points too.
    almo_pi_returns::benchmark_points::rebuild(conn)
        .await
        .unwrap();

    let mut client = PiReturnsServiceClient::new(app.channel().await);
    for (t, (_, ty)) in TYPES.iter().enumerate() {
        let b = get_benchmark(&mut client, among("old BVPI 68", 2005, ty), AS_REGULATOR)
            .await
            .unwrap();
        let figures: Vec<f64> = expected[t].iter().map(|(_, v, _)| *v).collect();
        assert_eq!(b.count as usize, PER_TYPE, "{ty}");
        // Relet days are whole days: the service reports quartiles to one decimal place more.
        let one_place = |v: f64| (v * 10.0).round() / 10.0;
        let close = |a: f64, b: f64| a == one_place(b);
        assert!(
            close(b.q1, spreadsheet_percentile(&figures, 0.25)),
            "{ty} q1"
        );
        assert!(
            close(b.median, spreadsheet_percentile(&figures, 0.5)),
            "{ty} median"
        );
        assert!(
            close(b.q3, spreadsheet_percentile(&figures, 0.75)),
            "{ty} q3"
        );
        // Relet days: lower is better, so the upper quartile is the 25th percentile.
        assert_eq!(b.upper_quartile, Some(b.q1));
        assert_eq!(b.positions.len(), PER_TYPE);
        for pos in &b.positions {
            let (_, now, before) = expected[t]
                .iter()
                .find(|(o, _, _)| *o == pos.organisation_id)
                .unwrap();
            assert_eq!(pos.value, *now);
            assert_eq!(pos.prior_year_value, Some(*before));
            assert_eq!(pos.change_on_prior_year, Some(now - before));
            let in_top = pos.verdict == pb::Verdict::UpperQuartile as i32;
            assert_eq!(in_top, *now <= b.q1, "{pos:?}");
        }
    }
}

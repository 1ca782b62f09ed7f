//! The PI returns service as a client sees it: a real server on 127.0.0.1:0, a real gRPC client,
//! a real database (SQLite, or PostgreSQL when ALMO_TEST_DATABASE_URL is set).

mod common;

use almo_auth::Role;
use almo_proto::common::PeriodKind;
use almo_proto::pi_returns::{
    self as pb, CreateReturnRequest, GetBenchmarkRequest, ImportCatalogueRequest,
    QueryReturnsRequest, ReturnForCorrectionRequest, ReviseReturnRequest, SetValuesRequest,
    ValueInput,
};
use almo_testkit::authed;
use tonic::Code;

use common::*;

#[tokio::test]
async fn demo_loads_once_however_often_it_runs() {
    let (app, _client) = app().await;
    use sea_orm::{EntityTrait, PaginatorTrait};
    let count = || async {
        (
            almo_db::entity::pi_return::Entity::find()
                .count(app.db.conn())
                .await
                .unwrap(),
            almo_db::entity::pi_return_value::Entity::find()
                .count(app.db.conn())
                .await
                .unwrap(),
        )
    };
    let before = count().await;
    // 2001/02: fifteen councils, nine figures each; Lambeth Living's 2024/25 draft with the 22
    // TSMs; 2024/25: fifteen councils with the 22 TSMs and cost per home.
    assert_eq!(before, (31, 15 * 9 + 22 + 15 * 23));
    almo_pi_returns::demo::seed(&app.db).await.unwrap();
    assert_eq!(count().await, before);
}

#[tokio::test]
async fn value_out_of_range_refused_with_the_field_named() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let err = set(
        &mut client,
        &r,
        ANN,
        vec![value("BVPI 66a", 97.0), value("BVPI 185", 104.0)],
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), vec!["values[1].value"]);
    assert!(err.message().contains("out of range"), "{}", err.message());
    // Nothing of the refused request was recorded.
    let got = get_return(&mut client, &r.id, true, AS_LAMBETH_LIVING)
        .await
        .unwrap();
    assert!(got.values.is_empty());
    assert_eq!(got.etag, r.etag);
}

#[tokio::test]
async fn unknown_indicator_and_wrong_unit_refused_with_the_field_named() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let mut relet = value("old BVPI 68", 30.0);
    relet.unit = pb::Unit::Percent as i32;
    let err = set(
        &mut client,
        &r,
        ANN,
        vec![value("TP01", 80.0), relet, value("BVPI 66a", 96.123)],
    )
    .await
    .unwrap_err();
    assert_eq!(
        fields(&err),
        vec![
            "values[0].indicator_code",
            "values[1].unit",
            "values[2].value"
        ]
    );
}

#[tokio::test]
async fn ratio_recomputed_from_numerator_and_denominator() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let rent = ValueInput {
        indicator_code: "BVPI 66a".into(),
        numerator: Some(96_540_000.0),
        denominator: Some(100_000_000.0),
        ..Default::default()
    };
    let r = set(&mut client, &r, ANN, vec![rent.clone()]).await.unwrap();
    assert_eq!(current(&r, "BVPI 66a"), 96.54);
    let v = &r.values[0];
    assert_eq!(v.numerator, Some(96_540_000.0));
    assert_eq!(v.denominator, Some(100_000_000.0));
    // A stated figure that does not match its parts is refused, naming the figure.
    let wrong = ValueInput {
        value: Some(97.54),
        ..rent
    };
    let err = set(&mut client, &r, ANN, vec![wrong]).await.unwrap_err();
    assert_eq!(fields(&err), vec!["values[0].value"]);
    assert!(err.message().contains("96.54"), "{}", err.message());
}

#[tokio::test]
async fn warning_without_explanation_refused_with_explanation_accepted() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let err = set(&mut client, &r, ANN, vec![value("BVPI 66a", 85.0)])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), vec!["values[0].explanation"]);
    let mut explained = value("BVPI 66a", 85.0);
    explained.explanation = "Housing benefit backlog at the council, cleared in April.".into();
    let r = set(&mut client, &r, ANN, vec![explained]).await.unwrap();
    let v = &r.values[0];
    assert_eq!(v.value, 85.0);
    assert_eq!(v.warnings.len(), 1);
    assert!(v.warnings[0].contains("usual range"));
    assert!(v.explanation.contains("backlog"));
}

#[tokio::test]
async fn mandatory_indicators_missing_block_submission() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let mut some = mandatory_2004();
    some.retain(|v| v.indicator_code != "BVPI 185" && v.indicator_code != "BVPI 74");
    let r = set(&mut client, &r, ANN, some).await.unwrap();
    let err = submit(&mut client, &r, ANN).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "MANDATORY_INDICATORS_MISSING");
    assert!(err.message().contains("BVPI 185") && err.message().contains("BVPI 74"));
    let r = set(
        &mut client,
        &r,
        ANN,
        vec![value("BVPI 185", 85.0), value("BVPI 74", 80.0)],
    )
    .await
    .unwrap();
    // Satisfaction without its BME / non-BME split is a warning that needs explaining.
    let err = submit(&mut client, &r, ANN).await.unwrap_err();
    assert_eq!(reason(&err), "MISSING_SPLITS_UNEXPLAINED");
    assert!(err.message().contains("bme"), "{}", err.message());
    let mut explained = value("BVPI 74", 80.0);
    explained.explanation = "The 2004 survey did not record ethnicity; fixed for 2005.".into();
    let r = set(&mut client, &r, ANN, vec![explained]).await.unwrap();
    let r = submit(&mut client, &r, ANN).await.unwrap();
    assert_eq!(r.status, pb::ReturnStatus::Submitted as i32);
    assert_eq!(r.submitted_by, ANN);
    // 2004/05 closed long ago: the submission is recorded as late.
    assert!(r.late);
    assert_eq!(r.deadline_date, "2005-06-30");
}

#[tokio::test]
async fn submitter_cannot_sign_off_their_own_return() {
    let (_app, mut client) = app().await;
    let r = submitted_2004(&mut client).await;
    let err = sign_off(&mut client, &r, LAMBETH_LIVING, Role::AlmoOfficer, ANN)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "CERTIFIER_IS_SUBMITTER");
    // A second person at the ALMO may certify it; so may its council.
    let signed = sign_off(
        &mut client,
        &r,
        LAMBETH,
        Role::CouncilOfficer,
        "cath@E09000022",
    )
    .await
    .unwrap();
    assert_eq!(signed.status, pb::ReturnStatus::SignedOff as i32);
    assert_eq!(signed.signed_off_by, "cath@E09000022");
    assert!(signed.sign_off_time.is_some());
    // Signed off means no more edits: corrections are revisions.
    let err = set(&mut client, &signed, ANN, vec![value("BVPI 66a", 98.0)])
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "WRONG_STATUS");
}

#[tokio::test]
async fn another_council_and_other_roles_cannot_certify() {
    let (_app, mut client) = app().await;
    let r = submitted_2004(&mut client).await;
    let err = sign_off(
        &mut client,
        &r,
        "E09000014",
        Role::CouncilOfficer,
        "x@E09000014",
    )
    .await
    .unwrap_err();
    // Another council's return answers as one that does not exist (tests/existence.rs).
    assert_eq!(err.code(), Code::NotFound);
    let err = sign_off(&mut client, &r, LAMBETH_LIVING, Role::AlmoFinance, BOB)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = sign_off(&mut client, &r, REGULATOR, Role::Regulator, "analyst@RSH")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn returned_for_correction_then_resubmitted_and_signed_off() {
    let (_app, mut client) = app().await;
    let r = submitted_2004(&mut client).await;
    let returned = client
        .return_for_correction(person(
            ReturnForCorrectionRequest {
                request_id: "back-1".into(),
                return_id: r.id.clone(),
                etag: r.etag.clone(),
                reason: "BVPI 66a excludes the garage rents; recompute it.".into(),
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
            BOB,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert_eq!(returned.status, pb::ReturnStatus::Returned as i32);
    assert!(returned.returned_reason.contains("garage"));
    // While it is being reworked the regulator does not see it.
    let err = get_return(&mut client, &r.id, false, AS_REGULATOR)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let fixed = set(&mut client, &returned, ANN, vec![value("BVPI 66a", 97.1)])
        .await
        .unwrap();
    let again = submit(&mut client, &fixed, ANN).await.unwrap();
    let signed = sign_off(&mut client, &again, LAMBETH_LIVING, Role::AlmoOfficer, BOB)
        .await
        .unwrap();
    assert_eq!(signed.status, pb::ReturnStatus::SignedOff as i32);
    assert_eq!(current(&signed, "BVPI 66a"), 97.1);
}

#[tokio::test]
async fn revision_keeps_the_earlier_value_visible() {
    let (_app, mut client) = app().await;
    let r = submitted_2004(&mut client).await;
    let signed = sign_off(&mut client, &r, LAMBETH_LIVING, Role::AlmoOfficer, BOB)
        .await
        .unwrap();
    // A revision needs its reason.
    let err = client
        .revise_return(person(
            ReviseReturnRequest {
                request_id: "rev-0".into(),
                return_id: signed.id.clone(),
                etag: signed.etag.clone(),
                reason: String::new(),
                values: vec![value("BVPI 66a", 96.9)],
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
            ANN,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["reason"]);
    let revised = client
        .revise_return(person(
            ReviseReturnRequest {
                request_id: "rev-1".into(),
                return_id: signed.id.clone(),
                etag: signed.etag.clone(),
                reason: "Audit found arrears written off twice".into(),
                values: vec![value("BVPI 66a", 96.9)],
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
            ANN,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert_eq!(revised.revision, 1);
    // The corrected return goes back to a certifier.
    assert_eq!(revised.status, pb::ReturnStatus::Submitted as i32);
    assert_eq!(current(&revised, "BVPI 66a"), 96.9);
    let full = get_return(&mut client, &signed.id, true, AS_LAMBETH)
        .await
        .unwrap();
    let earlier: Vec<_> = full
        .history
        .iter()
        .filter(|v| v.indicator_code == "BVPI 66a")
        .collect();
    assert_eq!(earlier.len(), 1);
    assert_eq!(earlier[0].value, 97.5);
    assert!(!earlier[0].current);
    assert_eq!(earlier[0].changed_by, ANN);
    assert_eq!(earlier[0].sequence, 1);
    assert!(earlier[0].change_time.is_some());
    let now = full
        .values
        .iter()
        .find(|v| v.indicator_code == "BVPI 66a")
        .unwrap();
    assert_eq!(now.sequence, 2);
    assert_eq!(now.revision_reason, "Audit found arrears written off twice");
    // The reviser cannot certify the revision; the other officer can.
    let err = sign_off(&mut client, &full, LAMBETH_LIVING, Role::AlmoOfficer, ANN)
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "CERTIFIER_IS_SUBMITTER");
    sign_off(&mut client, &full, LAMBETH_LIVING, Role::AlmoOfficer, BOB)
        .await
        .unwrap();
}

#[tokio::test]
async fn stale_etag_is_aborted_and_repeated_request_id_replays() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let req = SetValuesRequest {
        request_id: "same-id".into(),
        return_id: r.id.clone(),
        etag: r.etag.clone(),
        values: vec![value("BVPI 66a", 97.0)],
        survey: None,
    };
    let first = client
        .set_values(person(req.clone(), LAMBETH_LIVING, Role::AlmoOfficer, ANN))
        .await
        .unwrap()
        .into_inner();
    let again = client
        .set_values(person(req.clone(), LAMBETH_LIVING, Role::AlmoOfficer, ANN))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    // The replay wrote nothing: one entry only.
    let got = get_return(&mut client, &r.id, true, AS_LAMBETH_LIVING)
        .await
        .unwrap();
    assert_eq!(got.values.len(), 1);
    assert!(got.history.is_empty());
    // Same id, other payload: refused.
    let mut other = req.clone();
    other.values = vec![value("BVPI 66a", 98.0)];
    let err = client
        .set_values(person(other, LAMBETH_LIVING, Role::AlmoOfficer, ANN))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
    // The old etag is stale now.
    let mut stale = req;
    stale.request_id = "new-id".into();
    let err = client
        .set_values(person(stale, LAMBETH_LIVING, Role::AlmoOfficer, ANN))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(reason(&err), "STALE_ETAG");
}

#[tokio::test]
async fn only_the_organisations_own_officers_write_its_returns() {
    let (_app, mut client) = app().await;
    // Another council's ALMO, the parent council, finance staff and the regulator may not open
    // Lambeth Living's return.
    for (org, role) in [
        (HOMES_FOR_HARINGEY, Role::AlmoOfficer),
        (LAMBETH, Role::CouncilOfficer),
        (LAMBETH_LIVING, Role::AlmoFinance),
        (REGULATOR, Role::Regulator),
    ] {
        let err = client
            .create_return(authed(
                CreateReturnRequest {
                    request_id: format!("c-{org}-{role}"),
                    organisation_id: LAMBETH_LIVING.into(),
                    period: annual(2004),
                },
                org,
                role,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{org} {role}");
    }
    let err = client
        .create_return(authed(
            CreateReturnRequest {
                request_id: "bad".into(),
                organisation_id: LAMBETH_LIVING.into(),
                period: quarter(2004, 5),
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["period.number"]);
    // One return per organisation and period.
    create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let err = client
        .create_return(person(
            CreateReturnRequest {
                request_id: "second".into(),
                organisation_id: LAMBETH_LIVING.into(),
                period: annual(2004),
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
            ANN,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn drafts_invisible_to_the_regulator() {
    let (_app, mut client) = app().await;
    // The demo's Lambeth Living 2024/25 draft.
    let draft = "LAMBETH-LIVING/2024/Y";
    let err = get_return(&mut client, draft, false, AS_REGULATOR)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let listed = query(&mut client, returns_of(LAMBETH_LIVING), AS_REGULATOR)
        .await
        .unwrap();
    assert!(listed.pi_returns.is_empty());
    let drafts = query(
        &mut client,
        QueryReturnsRequest {
            status: pb::ReturnStatus::Draft as i32,
            ..Default::default()
        },
        AS_REGULATOR,
    )
    .await
    .unwrap();
    assert!(drafts.pi_returns.is_empty());
    // Its own council sees the draft, values and all.
    let seen_by_council = get_return(&mut client, draft, false, AS_LAMBETH)
        .await
        .unwrap();
    assert_eq!(seen_by_council.values.len(), 22);
    // Once submitted, the regulator reads it, values and all.
    let r = submitted_2004(&mut client).await;
    let seen = get_return(&mut client, &r.id, false, AS_REGULATOR)
        .await
        .unwrap();
    assert_eq!(current(&seen, "BVPI 66a"), 97.5);
}

#[tokio::test]
async fn almo_cannot_read_anothers_named_values() {
    let (_app, mut client) = app().await;
    let r = submitted_2004(&mut client).await;
    let err = get_return(&mut client, &r.id, false, AS_HOMES_FOR_HARINGEY)
        .await
        .unwrap_err();
    // As if it did not exist: predictable ids reveal nothing (tests/existence.rs).
    assert_eq!(err.code(), Code::NotFound);
    let listed = query(
        &mut client,
        returns_of(LAMBETH_LIVING),
        AS_HOMES_FOR_HARINGEY,
    )
    .await
    .unwrap();
    assert!(listed.pi_returns.is_empty());
    let everything = query(
        &mut client,
        QueryReturnsRequest::default(),
        AS_HOMES_FOR_HARINGEY,
    )
    .await
    .unwrap();
    assert!(everything.pi_returns.is_empty());
    // In benchmarking an ALMO sees the quartiles of everyone but no one's name.
    let bench = get_benchmark(
        &mut client,
        among("BVPI 66a", 2001, "london_borough"),
        AS_HOMES_FOR_HARINGEY,
    )
    .await
    .unwrap();
    assert_eq!(bench.count, 4);
    assert!(bench.positions.is_empty());
    // A council sees its own position only; the regulator every one.
    let council = get_benchmark(
        &mut client,
        among("BVPI 66a", 2001, "london_borough"),
        AS_LAMBETH,
    )
    .await
    .unwrap();
    let named: Vec<_> = council
        .positions
        .iter()
        .map(|p| p.organisation_id.as_str())
        .collect();
    assert_eq!(named, vec![LAMBETH]);
    let regulator = get_benchmark(
        &mut client,
        among("BVPI 66a", 2001, "london_borough"),
        AS_REGULATOR,
    )
    .await
    .unwrap();
    assert_eq!(regulator.positions.len(), 4);
}

#[tokio::test]
async fn demo_reproduces_the_table6_upper_quartiles() {
    let (_app, mut client) = app().await;
    // 003 Table 6, 2001/02 upper quartiles.
    let table6: [(&str, [f64; 4]); 5] = [
        ("BVPI 66a", [96.2, 96.8, 96.8, 98.6]),
        ("old BVPI 69", [1.4, 2.6, 1.3, 0.9]),
        ("old BVPI 68", [36.0, 43.0, 37.0, 26.0]),
        ("old BVPI 72", [95.0, 95.0, 96.0, 96.0]),
        ("old BVPI 73", [12.0, 17.0, 13.0, 13.0]),
    ];
    // The demo directory's councils: four London boroughs, four metropolitan, three unitary,
    // four districts.
    let types = [
        ("london_borough", 4),
        ("metropolitan", 4),
        ("unitary", 3),
        ("district", 4),
    ];
    for (code, uqs) in table6 {
        for ((ty, n), uq) in types.iter().zip(uqs) {
            let b = benchmark(&mut client, code, ty).await;
            assert_eq!(b.count, *n, "{code} {ty}");
            assert_eq!(b.upper_quartile, Some(uq), "{code} {ty}");
            assert!(b.method.contains("linear interpolation"));
        }
    }
}

#[tokio::test]
async fn lower_is_better_upper_quartile_is_the_25th_percentile() {
    let (_app, mut client) = app().await;
    let relets = benchmark(&mut client, "old BVPI 68", "metropolitan").await;
    assert_eq!(
        relets.indicator.unwrap().direction,
        pb::Direction::Lower as i32
    );
    assert_eq!(relets.upper_quartile, Some(relets.q1));
    assert_eq!(relets.q1, 43.0);
    assert!(relets.q3 > relets.q1);
    // Those at or under the 25th percentile are in the upper quartile; the highest are last.
    for p in &relets.positions {
        let expected = if p.value <= relets.q1 {
            pb::Verdict::UpperQuartile
        } else if p.value > relets.q3 {
            pb::Verdict::LowerQuartile
        } else if p.value < relets.median {
            pb::Verdict::AboveMedian
        } else {
            pb::Verdict::BelowMedian
        };
        assert_eq!(p.verdict, expected as i32, "{p:?}");
    }
    let rent = benchmark(&mut client, "BVPI 66a", "metropolitan").await;
    assert_eq!(rent.upper_quartile, Some(rent.q3));
}

#[tokio::test]
async fn only_signed_off_values_count_in_benchmarking() {
    let (_app, mut client) = app().await;
    // Nobody has a 2002/03 return yet. Lambeth Living is benchmarked among London boroughs (its
    // council's type), and Lambeth has no return of its own to stand for it.
    let bench = |client: &mut Client| {
        let mut c = client.clone();
        async move {
            let req = among("BVPI 66a", 2002, "london_borough");
            get_benchmark(&mut c, req, AS_REGULATOR).await
        }
    };
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2002).await;
    let r = set(&mut client, &r, ANN, mandatory_2004()).await.unwrap();
    let r = submit(&mut client, &r, ANN).await.unwrap();
    let err = bench(&mut client).await.unwrap_err();
    assert_eq!(reason(&err), "NO_SIGNED_OFF_VALUES");
    sign_off(&mut client, &r, LAMBETH_LIVING, Role::AlmoOfficer, BOB)
        .await
        .unwrap();
    let after = bench(&mut client).await.unwrap();
    assert_eq!(after.count, 1);
    assert_eq!(after.almos_represented_by_their_council, 0);
    let own = &after.positions[0];
    assert_eq!(own.organisation_id, LAMBETH_LIVING);
    assert_eq!(own.value, 97.5);
    assert_eq!(own.verdict, pb::Verdict::UpperQuartile as i32);
}

#[tokio::test]
async fn benchmark_by_peer_group_and_refusals() {
    let (_app, mut client) = app().await;
    let peers = get_benchmark(
        &mut client,
        GetBenchmarkRequest {
            indicator_code: "old BVPI 73".into(),
            year: year(2001),
            peer_group_id: "CIPFA-LAMBETH".into(),
            ..Default::default()
        },
        AS_LAMBETH,
    )
    .await
    .unwrap();
    // Lambeth and its three CIPFA nearest neighbours.
    assert_eq!(peers.count, 4);
    let err = get_benchmark(
        &mut client,
        among("old BVPI 73", 2001, "county"),
        AS_LAMBETH,
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&err), vec!["authority_type"]);
    let err = get_benchmark(&mut client, among("TP01", 2001, "district"), AS_LAMBETH)
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["indicator_code"]);
    // Context measures: quartiles, no verdict.
    let none = get_benchmark(&mut client, among("LIB076", 2004, "district"), AS_LAMBETH)
        .await
        .unwrap_err();
    assert_eq!(reason(&none), "NO_SIGNED_OFF_VALUES");
}

#[tokio::test]
async fn regulator_queries_by_type_year_and_status_paginated() {
    let (_app, mut client) = app().await;
    let mut ids = Vec::new();
    let signed_off_districts = QueryReturnsRequest {
        indicator_code: "old BVPI 68".into(),
        year: year(2001),
        period_kind: PeriodKind::Year as i32,
        authority_type: "district".into(),
        status: pb::ReturnStatus::SignedOff as i32,
        page_size: 3,
        ..Default::default()
    };
    for page in query_pages(&mut client, signed_off_districts, AS_REGULATOR).await {
        assert!(page.pi_returns.len() <= 3);
        for r in &page.pi_returns {
            assert!(r.organisation_id.starts_with("E07"));
            // Only the asked-for indicator's values.
            assert_eq!(r.values.len(), 1);
            assert_eq!(r.values[0].indicator_code, "old BVPI 68");
            ids.push(r.id.clone());
        }
    }
    assert_eq!(ids.len(), 4);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, ids);
    let london = query(
        &mut client,
        QueryReturnsRequest {
            region: "South West".into(),
            ..Default::default()
        },
        AS_REGULATOR,
    )
    .await
    .unwrap();
    let orgs: Vec<_> = london
        .pi_returns
        .iter()
        .map(|r| r.organisation_id.as_str())
        .collect();
    // Bristol's 2001/02 and 2024/25 returns.
    assert_eq!(orgs, vec!["E06000023", "E06000023"]);
    let err = query(
        &mut client,
        QueryReturnsRequest {
            authority_type: "shire".into(),
            page_size: -1,
            ..Default::default()
        },
        AS_REGULATOR,
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&err), vec!["authority_type", "page_size"]);
}

#[tokio::test]
async fn catalogue_lists_every_tsm_and_reads_the_definition_in_force() {
    let (_app, mut client) = app().await;
    let all = all_indicators(&mut client, 2024, 10, AS_HOMES_FOR_HARINGEY).await;
    // The 22 TSMs, submitted by landlords of 1,000 homes or more, and cost per home beside them.
    let tsms = all
        .iter()
        .filter(|d| d.min_homes_to_submit == 1_000)
        .count();
    assert_eq!(tsms, 22);
    assert_eq!(all.len(), 23);
    assert!(all.iter().any(|d| d.code == "VFM05"
        && d.direction == pb::Direction::Context as i32
        && d.unit == pb::Unit::Pounds as i32));
    assert!(all.iter().any(|d| d.code == "NM01"
        && d.direction == pb::Direction::Context as i32
        && d.splits == vec!["a_all", "b_hate_incidents"]));
    let relets = "old BVPI 68";
    let national = indicator(&mut client, relets, 2001, AS_LAMBETH)
        .await
        .unwrap();
    assert!(national.mandatory);
    let local = indicator(&mut client, relets, 2003, AS_LAMBETH)
        .await
        .unwrap();
    assert!(!local.mandatory);
    assert_eq!(local.combination, pb::Combination::Ratio as i32);
    let err = indicator(&mut client, relets, 2030, AS_LAMBETH)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn new_definitions_are_imported_as_data_by_the_operator_only() {
    let (_app, mut client) = app().await;
    let mut tp01 = indicator(&mut client, "TP01", 2024, AS_OPERATOR)
        .await
        .unwrap();
    tp01.from_year = year(2026);
    tp01.usual_min = 50.0;
    tp01.title = "Overall satisfaction (2026 definition)".into();
    let import = |request_id: &str, d: pb::IndicatorDefinition| ImportCatalogueRequest {
        request_id: request_id.into(),
        indicators: vec![d],
    };
    let err = client
        .import_catalogue(authed(
            import("i-0", tp01.clone()),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let done = client
        .import_catalogue(authed(import("i-1", tp01.clone()), OPERATOR, Role::Admin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((done.added, done.unchanged), (1, 0));
    let old = indicator(&mut client, "TP01", 2025, AS_LAMBETH)
        .await
        .unwrap();
    assert_eq!(old.usual_min, 30.0);
    let new = indicator(&mut client, "TP01", 2026, AS_LAMBETH)
        .await
        .unwrap();
    assert_eq!(new.usual_min, 50.0);
    // The same definition again is left alone; a different one for the same year is refused.
    let again = client
        .import_catalogue(authed(import("i-2", tp01.clone()), OPERATOR, Role::Admin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.added, again.unchanged), (0, 1));
    let mut changed = tp01.clone();
    changed.usual_min = 60.0;
    let err = client
        .import_catalogue(authed(import("i-3", changed), OPERATOR, Role::Admin))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    let mut bad = tp01;
    bad.unit = pb::Unit::Unspecified as i32;
    bad.valid_max = -1.0;
    let err = client
        .import_catalogue(authed(import("i-4", bad), OPERATOR, Role::Admin))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["indicators[0].unit"]);
}

#[tokio::test]
async fn combined_return_equals_the_combination_rule_applied_to_the_almos_signed_off_figures() {
    let (_app, mut client) = app().await;
    let leeds = "E08000035";
    let ene = almo_2007(
        &mut client,
        "LEEDS-ENE-HOMES",
        (95_000_000.0, 100_000_000.0),
    )
    .await;
    let wnw = almo_2007(&mut client, "LEEDS-WNW-HOMES", (9_900_000.0, 10_000_000.0)).await;
    sign_off(
        &mut client,
        &ene,
        leeds,
        Role::CouncilOfficer,
        "carol@E08000035",
    )
    .await
    .unwrap();
    let council = create(&mut client, leeds, "dan@E08000035", 2007).await;
    let combine = |r: &pb::PiReturn, id: &str| {
        person(
            pb::CombineAlmoReturnsRequest {
                request_id: id.into(),
                return_id: r.id.clone(),
                etag: r.etag.clone(),
            },
            leeds,
            Role::CouncilOfficer,
            "dan@E08000035",
        )
    };
    // Not until every ALMO's return is signed off.
    let err = client
        .combine_almo_returns(combine(&council, "comb-1"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ALMO_RETURNS_NOT_SIGNED_OFF");
    assert!(err.message().contains("LEEDS-WNW-HOMES"));
    sign_off(
        &mut client,
        &wnw,
        leeds,
        Role::CouncilOfficer,
        "carol@E08000035",
    )
    .await
    .unwrap();
    let out = client
        .combine_almo_returns(combine(&council, "comb-2"))
        .await
        .unwrap()
        .into_inner();
    let combined = out.pi_return.unwrap();
    assert_eq!(out.almo_return_ids.len(), 2);
    // Rent collected: (95.0m + 9.9m) / (100m + 10m) = 95.36%, not the 97% average of the two.
    assert_eq!(current(&combined, "BVPI 66a"), 95.36);
    let rent = combined
        .values
        .iter()
        .find(|v| v.indicator_code == "BVPI 66a")
        .unwrap();
    assert_eq!(rent.numerator, Some(104_900_000.0));
    assert_eq!(rent.denominator, Some(110_000_000.0));
    assert_eq!(current(&combined, "BVPI 185"), 80.0);
    let left: Vec<&str> = out
        .not_combined
        .iter()
        .map(|n| n.indicator_code.as_str())
        .collect();
    // Not combinable, or given without numerator and denominator: the council reports them.
    for code in ["BVPI 164", "BVPI 184b", "BVPI 63"] {
        assert!(left.contains(&code), "{code} in {left:?}");
    }
    assert!(!left.contains(&"BVPI 66a"));
    // The council completes what it reports itself, submits, and another officer signs off.
    let mut own = mandatory_2004();
    own.retain(|v| v.indicator_code != "BVPI 66a" && v.indicator_code != "BVPI 185");
    let complete = set(&mut client, &combined, "dan@E08000035", own)
        .await
        .unwrap();
    let submitted = submit(&mut client, &complete, "dan@E08000035")
        .await
        .unwrap();
    sign_off(
        &mut client,
        &submitted,
        leeds,
        Role::CouncilOfficer,
        "carol@E08000035",
    )
    .await
    .unwrap();
    // Leeds counts once among metropolitan authorities; each ALMO is still positioned.
    let b = get_benchmark(
        &mut client,
        among("BVPI 66a", 2007, "metropolitan"),
        AS_REGULATOR,
    )
    .await
    .unwrap();
    assert_eq!(b.count, 1);
    assert_eq!(b.almos_represented_by_their_council, 2);
    assert_eq!(b.q3, 95.36);
    assert_eq!(b.positions.len(), 3);
    // An ALMO has no combined return.
    let err = client
        .combine_almo_returns(person(
            pb::CombineAlmoReturnsRequest {
                request_id: "comb-almo".into(),
                return_id: ene.id.clone(),
                etag: ene.etag.clone(),
            },
            "LEEDS-ENE-HOMES",
            Role::AlmoOfficer,
            "ann@LEEDS-ENE-HOMES",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn export_streams_only_what_the_caller_may_see() {
    let (_app, mut client) = app().await;
    let everything = export(
        &mut client,
        pb::ExportReturnsRequest::default(),
        AS_REGULATOR,
    )
    .await;
    // The 15 signed-off 2001/02 returns and the 15 of 2024/25; not Lambeth Living's draft.
    assert_eq!(everything.len(), 30);
    let year_of = |r: &pb::PiReturn| r.period.as_ref().unwrap().year.unwrap().start_year;
    assert!(
        everything
            .iter()
            .all(|r| r.values.len() == if year_of(r) == 2001 { 9 } else { 23 })
    );
    assert!(
        !everything
            .iter()
            .any(|r| r.organisation_id == LAMBETH_LIVING)
    );
    let relets = export(
        &mut client,
        pb::ExportReturnsRequest {
            indicator_code: "old BVPI 68".into(),
            authority_type: "unitary".into(),
            ..Default::default()
        },
        AS_REGULATOR,
    )
    .await;
    assert_eq!(relets.len(), 3);
    assert!(relets.iter().all(|r| r.values.len() == 1));
    let mine = export(
        &mut client,
        pb::ExportReturnsRequest::default(),
        AS_HOMES_FOR_HARINGEY,
    )
    .await;
    assert!(mine.is_empty());
    let err = client
        .export_returns(authed(
            pb::ExportReturnsRequest {
                status: 99,
                ..Default::default()
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["status"]);
}

#[tokio::test]
async fn outstanding_and_late_returns_for_a_period() {
    let (_app, mut client) = app().await;
    // 2001/02: every council reported, and no ALMO was live yet.
    let y2001 = expected(&mut client, 2001, AS_REGULATOR).await;
    assert_eq!(y2001.len(), 15);
    assert!(
        y2001
            .iter()
            .all(|e| e.state == pb::ReturnState::SignedOff as i32 && !e.late)
    );
    // 2008/09: Lambeth Living went live in April 2008; nothing is in, all overdue.
    let lambeth = expected(&mut client, 2008, AS_LAMBETH).await;
    let orgs: Vec<&str> = lambeth.iter().map(|e| e.organisation_id.as_str()).collect();
    assert_eq!(orgs, vec![LAMBETH, LAMBETH_LIVING]);
    assert!(
        lambeth
            .iter()
            .all(|e| e.state == pb::ReturnState::Overdue as i32)
    );
    let draft = create(&mut client, LAMBETH_LIVING, ANN, 2008).await;
    let council_view = expected(&mut client, 2008, AS_LAMBETH).await;
    assert_eq!(council_view[1].return_id, draft.id);
    let regulator_view = expected(&mut client, 2008, AS_REGULATOR).await;
    let ll = regulator_view
        .iter()
        .find(|e| e.organisation_id == LAMBETH_LIVING)
        .unwrap();
    assert_eq!(ll.state, pb::ReturnState::Overdue as i32);
    assert!(ll.return_id.is_empty(), "the regulator does not see drafts");
    // An ALMO sees only itself.
    let own = expected(&mut client, 2008, AS_HOMES_FOR_HARINGEY).await;
    assert_eq!(own.len(), 1);
}

#[tokio::test]
async fn quarterly_return_carries_the_quarterly_indicators_only() {
    let (_app, mut client) = app().await;
    let q1 = client
        .create_return(person(
            CreateReturnRequest {
                request_id: "q1".into(),
                organisation_id: LAMBETH_LIVING.into(),
                period: quarter(2004, 1),
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
            ANN,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert_eq!(q1.id, "LAMBETH-LIVING/2004/Q1");
    // Q1 (April to June 2004) is due by the end of July.
    assert_eq!(q1.deadline_date, "2004-07-31");
    let err = set(&mut client, &q1, ANN, vec![value("BVPI 63", 60.0)])
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["values[0].indicator_code"]);
    assert!(err.message().contains("annually"), "{}", err.message());
    let q1 = set(&mut client, &q1, ANN, vec![value("BVPI 66a", 96.0)])
        .await
        .unwrap();
    let err = submit(&mut client, &q1, ANN).await.unwrap_err();
    assert_eq!(reason(&err), "MANDATORY_INDICATORS_MISSING");
    assert!(err.message().contains("BVPI 185"));
    assert!(!err.message().contains("BVPI 63"), "{}", err.message());
    let q1 = set(&mut client, &q1, ANN, vec![value("BVPI 185", 84.0)])
        .await
        .unwrap();
    let q1 = submit(&mut client, &q1, ANN).await.unwrap();
    assert_eq!(q1.status, pb::ReturnStatus::Submitted as i32);
}

#[tokio::test]
async fn perception_measures_need_their_tenant_survey_described() {
    let (_app, mut client) = app().await;
    let tsms = all_indicators(&mut client, 2024, 0, AS_HOMES_FOR_HARINGEY).await;
    assert_eq!(tsms.iter().filter(|d| d.from_tenant_survey).count(), 12);
    let r = create(
        &mut client,
        HOMES_FOR_HARINGEY,
        "hal@HOMES-FOR-HARINGEY",
        2024,
    )
    .await;
    // Every TSM, each at the middle of its usual range; the landlord has no low-cost home
    // ownership and keeps no (a)/(b) split, which it explains.
    let values = tsms
        .iter()
        .map(|d| ValueInput {
            indicator_code: d.code.clone(),
            value: Some(((d.usual_min + d.usual_max) / 2.0).round()),
            explanation: "Low-cost rental only; no separate (a)/(b) or LCHO figures kept.".into(),
            ..Default::default()
        })
        .collect();
    let r = set(&mut client, &r, "hal@HOMES-FOR-HARINGEY", values)
        .await
        .unwrap();
    let err = submit(&mut client, &r, "hal@HOMES-FOR-HARINGEY")
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "SURVEY_NOT_DESCRIBED");
    assert!(err.message().contains("TP01"), "{}", err.message());
    // A survey with no method and no answers is refused, naming both fields.
    let bad = client
        .set_values(person(
            SetValuesRequest {
                request_id: "survey-bad".into(),
                return_id: r.id.clone(),
                etag: r.etag.clone(),
                values: vec![],
                survey: Some(pb::TenantSurvey {
                    sample_size: 0,
                    method: 0,
                    ..Default::default()
                }),
            },
            HOMES_FOR_HARINGEY,
            Role::AlmoOfficer,
            "hal@HOMES-FOR-HARINGEY",
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&bad), vec!["survey.method", "survey.sample_size"]);
    let r = client
        .set_values(person(
            SetValuesRequest {
                request_id: "survey".into(),
                return_id: r.id.clone(),
                etag: r.etag.clone(),
                values: vec![],
                survey: Some(pb::TenantSurvey {
                    sample_size: 1_250,
                    method: pb::SurveyMethod::Mixed as i32,
                    relevant_homes: 16_000,
                    ..Default::default()
                }),
            },
            HOMES_FOR_HARINGEY,
            Role::AlmoOfficer,
            "hal@HOMES-FOR-HARINGEY",
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert_eq!(r.survey.as_ref().unwrap().sample_size, 1_250);
    let r = submit(&mut client, &r, "hal@HOMES-FOR-HARINGEY")
        .await
        .unwrap();
    assert_eq!(r.status, pb::ReturnStatus::Submitted as i32);
    assert_eq!(r.survey.unwrap().method, pb::SurveyMethod::Mixed as i32);
}

/// `n` councils `{prefix}{i:05}` with a return each for 2010/11 in `status`: every third with no
/// value, the others with two (stored in reverse order of code), and an earlier year's return
/// whose values must not leak into the export.
async fn bulk_returns(db: &almo_db::Db, prefix: &str, range: std::ops::Range<usize>, status: &str) {
    use almo_db::entity::{organisation, pi_return, pi_return_value};
    use sea_orm::{EntityTrait, Set};
    let ids: Vec<String> = range.map(|i| format!("{prefix}{i:05}")).collect();
    for chunk in ids.chunks(200) {
        organisation::Entity::insert_many(
            chunk
                .iter()
                .map(|id| council_row(id, &format!("Bulk {id}"), "district", None)),
        )
        .exec_without_returning(db.conn())
        .await
        .unwrap();
        // Every fourth with a survey, a reason and a time before 2000 (PostgreSQL counts from
        // 2000-01-01): the export reads them as QueryReturns does.
        let ret = |id: &String, year: i32| {
            let row = return_row(&format!("{id}/{year}/Y"), id, year, status);
            if id[prefix.len()..].parse::<usize>().unwrap() % 4 != 1 {
                return row;
            }
            let before_2000 = chrono::DateTime::from_timestamp(946_684_799, 250_000_000).unwrap();
            pi_return::ActiveModel {
                survey_sample_size: Set(Some(1_250)),
                survey_method: Set(Some("mixed".into())),
                returned_reason: Set(Some("figures to check".into())),
                submitted_at: Set(Some(before_2000)),
                ..row
            }
        };
        pi_return::Entity::insert_many(chunk.iter().flat_map(|id| [ret(id, 2009), ret(id, 2010)]))
            .exec_without_returning(db.conn())
            .await
            .unwrap();
        let value = |return_id: String, code: &str, v: f64| pi_return_value::ActiveModel {
            warnings: Set("above the usual range\n".into()),
            ..value_row(&return_id, code, v)
        };
        pi_return_value::Entity::insert_many(
            chunk
                .iter()
                .map(|id| (id[prefix.len()..].parse::<usize>().unwrap(), id))
                .filter(|(i, _)| i % 3 != 0)
                .flat_map(|(i, id)| {
                    [
                        value(format!("{id}/2010/Y"), "old BVPI 68", 20.0 + i as f64),
                        value(format!("{id}/2010/Y"), "BVPI 66a", 97.0),
                        value(format!("{id}/2009/Y"), "BVPI 63", 55.0),
                    ]
                }),
        )
        .exec_without_returning(db.conn())
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn export_across_pages_sends_each_return_once_in_order_while_returns_are_added() {
    let (app, mut client) = app().await;
    bulk_returns(&app.db, "E07M", 0..1200, "submitted").await;
    // Drafts: never exported to the regulator.
    bulk_returns(&app.db, "E07D", 0..30, "draft").await;
    let req = pb::ExportReturnsRequest {
        year: year(2010),
        ..Default::default()
    };
    let mut stream = client
        .export_returns(authed(req.clone(), REGULATOR, Role::Regulator))
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert_eq!(first.total_returns, 1200);
    assert_eq!(first.pi_returns.len(), 500);
    // Returns added while the export runs, before the cursor and after it: the export reads
    // ahead of the client, so the later ones may or may not be sent; nothing is sent twice and
    // nothing there at the start is missed.
    bulk_returns(&app.db, "E07A", 0..10, "submitted").await;
    bulk_returns(&app.db, "E07Z", 0..10, "submitted").await;
    let mut sizes = vec![first.pi_returns.len()];
    let mut all = first.pi_returns;
    while let Some(batch) = stream.message().await.unwrap() {
        assert_eq!(batch.total_returns, 1200);
        sizes.push(batch.pi_returns.len());
        all.extend(batch.pi_returns);
    }
    assert!(
        sizes[..sizes.len() - 1].iter().all(|n| *n == 500),
        "{sizes:?}"
    );
    let ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in id order, once each"
    );
    let expected: Vec<String> = (0..1200).map(|i| format!("E07M{i:05}/2010/Y")).collect();
    assert_eq!(ids[..1200], expected);
    assert!(
        ids[1200..].iter().all(|id| id.starts_with("E07Z")),
        "{:?}",
        &ids[1200..]
    );
    all.truncate(1200);
    // Values: the 2010 return's own, by indicator code; none of the earlier year's.
    for (i, r) in all.iter().enumerate() {
        let codes: Vec<&str> = r.values.iter().map(|v| v.indicator_code.as_str()).collect();
        if i % 3 == 0 {
            assert!(codes.is_empty(), "{}: {codes:?}", r.id);
        } else {
            assert_eq!(codes, ["BVPI 66a", "old BVPI 68"], "{}", r.id);
            assert_eq!(r.values[0].warnings, ["above the usual range"]);
        }
    }
    // The same messages as QueryReturns gives, page by page.
    let year_2010 = QueryReturnsRequest {
        year: year(2010),
        page_size: 100,
        ..Default::default()
    };
    let queried: Vec<_> = query_pages(&mut client, year_2010, AS_REGULATOR)
        .await
        .into_iter()
        .flat_map(|page| page.pi_returns)
        .filter(|r| r.id.starts_with("E07M"))
        .collect();
    assert_eq!(all, queried);
    // An indicator filter: only the returns carrying it, and only that value.
    let relets = export(
        &mut client,
        pb::ExportReturnsRequest {
            indicator_code: "old BVPI 68".into(),
            ..req
        },
        AS_REGULATOR,
    )
    .await;
    assert_eq!(relets.len(), 800 + 20 - 4 - 4);
    assert!(
        relets
            .iter()
            .all(|r| r.values.len() == 1 && r.values[0].indicator_code == "old BVPI 68")
    );
}

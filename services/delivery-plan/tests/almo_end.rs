//! An actual for a period starting after the plan's ALMO ended is refused, naming the end date
//! (DOMAIN.md "An ALMO's life"): the end date is the ALMO's last day; the council reports for
//! the homes from the next.

use almo_auth::Role;
use almo_proto::delivery_plan as pb;
use almo_testkit::authed;
use almo_testkit::demo::*;
use tonic::Code;

mod common;

use almo_testkit::end_almo;
use common::*;

#[tokio::test]
async fn an_actual_for_a_period_after_the_almos_end_is_refused_naming_the_end() {
    let (app, mut c) = app().await;
    let plan = create(&mut c).await;
    end_almo(&app.db, LAMBETH_LIVING, "2027-10-16").await;
    // October 2027 starts before the end: its actual is the ALMO's.
    record(
        &mut c,
        &plan.plan_id,
        "oct",
        rec("oct", "LOCAL-RELET", month_in(2027, 7), 27.0),
    )
    .await;
    let err = c
        .record_variance(authed(
            pb::RecordVarianceRequest {
                request_id: "nov".into(),
                plan_id: plan.plan_id.clone(),
                record: Some(rec("nov", "LOCAL-RELET", month_in(2027, 8), 26.0)),
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(
        err.message().contains("ended on 2027-10-16"),
        "{}",
        err.message()
    );
    // A push carrying one such record is refused whole, naming the record; nothing is written.
    let err = push(
        &mut c,
        &plan.plan_id,
        "push",
        vec![
            rec("sep", "LOCAL-RELET", month_in(2027, 6), 27.5),
            rec("q4", "LOCAL-RELET", quarter_in(2027, 4), 25.0),
        ],
        1,
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(err.message().contains("records[1]"), "{}", err.message());
}

fn quarter_in(year: i32, n: i32) -> Option<almo_proto::common::Period> {
    Some(almo_proto::common::Period {
        year: fy(year),
        kind: almo_proto::common::PeriodKind::Quarter as i32,
        number: n,
    })
}

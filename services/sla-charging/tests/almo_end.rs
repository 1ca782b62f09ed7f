//! Usage for a period starting after the customer ALMO's end is refused, naming the end date
//! (DOMAIN.md "An ALMO's life"): the end date is the ALMO's last day; the council manages from
//! the next.

use almo_auth::Role;
use almo_testkit::authed;
use almo_testkit::demo::*;
use tonic::Code;

mod common;

use almo_testkit::end_almo;
use common::*;

#[tokio::test]
async fn usage_for_a_month_after_the_almos_end_is_refused_naming_the_end() {
    let (app, mut c) = app().await;
    let a = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    end_almo(&app.db, LAMBETH_LIVING, "2026-10-16").await;
    // October starts before the end: the ALMO's first sixteen days are still its own.
    record_for_lambeth(&mut c, usage("oct", &a.agreement_id, "LEGAL", 7, 12_000)).await;
    let err = c
        .record_usage(authed(
            usage("nov", &a.agreement_id, "LEGAL", 8, 3_000),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(
        err.message().contains("ended on 2026-10-16"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("record.period"), "{}", err.message());
}

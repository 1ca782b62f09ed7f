//! An ALMO's officers cannot open a return for a year or quarter starting after the ALMO's end;
//! the refusal names the end date (DOMAIN.md "An ALMO's life": the council reports for the homes
//! from then on). The year of the end itself is still the ALMO's to open.

use almo_proto::pi_returns::CreateReturnRequest;
use tonic::Code;

mod common;

use almo_testkit::end_almo;
use common::*;

#[tokio::test]
async fn a_return_for_a_year_after_the_almos_end_is_refused_naming_the_end() {
    let (app, mut c) = app().await;
    end_almo(&app.db, LAMBETH_LIVING, "2016-10-16").await;
    // 2016/17 holds the end: the ALMO's part-year is its to report.
    create(&mut c, LAMBETH_LIVING, "officer", 2016).await;
    let open = |period| CreateReturnRequest {
        request_id: "after".into(),
        organisation_id: LAMBETH_LIVING.into(),
        period,
    };
    for period in [annual(2017), quarter(2017, 1)] {
        let err = c
            .create_return(by(open(period), AS_LAMBETH_LIVING))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(reason(&err), "ALMO_ENDED");
        assert!(
            err.message().contains("ended on 2016-10-16"),
            "{}",
            err.message()
        );
    }
    // The council opens its own return for the year after.
    create(&mut c, LAMBETH, "officer", 2017).await;
}

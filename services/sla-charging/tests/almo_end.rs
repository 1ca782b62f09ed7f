//! Usage for a period starting after the customer ALMO's end is refused, naming the end date
//! (DOMAIN.md "An ALMO's life"): the end date is the ALMO's last day; the council manages from
//! the next.

use almo_auth::Role;
use almo_db::entity::organisation;
use almo_testkit::authed;
use almo_testkit::demo::*;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tonic::Code;

mod common;

use common::*;

/// The directory's end date for `almo`, as a hand-back records it.
async fn end_almo(db: &almo_db::Db, almo: &str, end: &str) {
    let end: chrono::NaiveDate = end.parse().unwrap();
    organisation::Entity::update_many()
        .col_expr(organisation::Column::EndDate, Expr::value(Some(end)))
        .filter(organisation::Column::Id.eq(almo))
        .exec(db.conn())
        .await
        .unwrap();
}

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

//! The cancellations migration on a database that already holds bookings (SQLite, or PostgreSQL
//! when ALMO_TEST_DATABASE_URL is set): every existing inspection reads as booked, and the
//! migration goes down and up again.

use almo_db::Migrator;
use almo_db::entity::insp_inspection;
use almo_testkit::TestDb;
use almo_testkit::demo::{LEEDS, LEEDS_ENE};
use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ConnectionTrait, EntityTrait};
use sea_orm_migration::MigratorTrait;

#[tokio::test]
async fn bookings_made_before_the_cancellations_migration_read_as_booked() {
    let t = TestDb::with_demo().await.unwrap();
    let conn = t.db.conn();
    // Back to before the cancellations (and the SLA tables after them).
    let applied = Migrator::get_applied_migrations(conn).await.unwrap();
    let after = applied
        .iter()
        .skip_while(|m| m.name() != "m20261123_310000_inspection_cancellations")
        .count();
    assert!(
        after >= 1,
        "{:?}",
        applied.iter().map(|m| m.name()).collect::<Vec<_>>()
    );
    Migrator::down(conn, Some(after as u32)).await.unwrap();

    // A booking as the service stored it before.
    let now = Utc::now();
    let id = format!("{LEEDS_ENE}-2007-10-22");
    let insert = Query::insert()
        .into_table(Alias::new("insp_inspections"))
        .columns(
            [
                "id",
                "almo_id",
                "council_id",
                "open_almo_id",
                "on_site_date",
                "span_weeks",
                "fee_pence",
                "version",
                "created_at",
                "updated_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            id.clone().into(),
            LEEDS_ENE.into(),
            LEEDS.into(),
            LEEDS_ENE.into(),
            NaiveDate::from_ymd_opt(2007, 10, 22).unwrap().into(),
            13.into(),
            2_500_000i64.into(),
            1i64.into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    conn.execute(&insert).await.unwrap();

    Migrator::up(conn, None).await.unwrap();
    let row = insp_inspection::Entity::find_by_id(id)
        .one(conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "booked");
    assert_eq!(row.open_almo_id.as_deref(), Some(LEEDS_ENE));
    assert_eq!(
        (
            row.cancel_reason,
            row.cancelled_by,
            row.cancelled_by_org,
            row.cancelled_at
        ),
        (None, None, None, None)
    );
}

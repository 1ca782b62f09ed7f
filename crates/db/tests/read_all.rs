//! `Db::read_all`, the one-statement reads on every call's path: on a SQLite file they run on the
//! calling task on a read-only connection of their own, on in-memory SQLite on connections held
//! out of the pool. Either way each read sees every write committed before it, and the rows
//! decode to what was written.

use almo_db::connect::{ReadRow, organisation_of};
use almo_db::entity::organisation;
use almo_db::{ConnectConfig, Db};
use chrono::{NaiveDate, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, DbBackend, EntityTrait, Set, Statement};

fn almo(id: &str, council: &str) -> organisation::Model {
    organisation::Model {
        id: id.into(),
        name: "Lambeth Living".into(),
        kind: "almo".into(),
        authority_type: Some("london_borough".into()),
        region: None,
        council_id: Some(council.into()),
        section27_consent_date: NaiveDate::from_ymd_opt(2007, 4, 1),
        go_live_date: None,
        agreement_end_date: NaiveDate::from_ymd_opt(2027, 3, 31),
        end_date: None,
        stock_size: Some(33_000),
        version: 7,
        created_at: Utc.with_ymd_and_hms(2026, 11, 30, 9, 15, 2).unwrap()
            + chrono::Duration::nanoseconds(123_456_789),
        updated_at: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
    }
}

async fn read(db: &Db, id: &str) -> Vec<ReadRow> {
    db.read_all(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "SELECT * FROM \"organisations\" WHERE \"id\" IN (?, ?)",
        [id.into(), "nobody".into()],
    ))
    .await
    .unwrap()
}

/// Writes a row, reads it back, moves it to another council and reads again at once.
async fn reads_the_database_as_it_is(db: &Db) {
    for council in ["E09000022", "E09000033"] {
        let mut row = almo(council, "");
        row.kind = "council".into();
        row.council_id = None;
        organisation::Entity::insert(organisation::ActiveModel::from(row))
            .exec_without_returning(db.conn())
            .await
            .unwrap();
    }
    let written = almo("LAMBETH-LIVING", "E09000022");
    organisation::Entity::insert(organisation::ActiveModel::from(written.clone()))
        .exec_without_returning(db.conn())
        .await
        .unwrap();
    let rows = read(db, "LAMBETH-LIVING").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(organisation_of(&rows[0]).unwrap(), written);

    let txn = db.begin_write().await.unwrap();
    let mut moved: organisation::ActiveModel = written.clone().into();
    moved.council_id = Set(Some("E09000033".into()));
    moved.stock_size = Set(None);
    moved.update(&txn).await.unwrap();
    txn.commit().await.unwrap();

    let rows = read(db, "LAMBETH-LIVING").await;
    let now = organisation_of(&rows[0]).unwrap();
    assert_eq!(now.council_id.as_deref(), Some("E09000033"));
    assert_eq!(now.stock_size, None);
    assert_eq!(rows[0].get::<Option<i32>>("stock_size").unwrap(), None);
    assert!(
        rows[0].get::<String>("no_such_column").is_err(),
        "a column the statement does not read is an error"
    );
}

#[tokio::test]
async fn a_read_on_a_sqlite_file_sees_each_write_as_soon_as_it_commits() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
    let db = almo_db::connect_and_migrate(&ConnectConfig::new(url))
        .await
        .unwrap();
    reads_the_database_as_it_is(&db).await;
    db.close().await.unwrap();
}

#[tokio::test]
async fn a_read_on_in_memory_sqlite_sees_each_write_as_soon_as_it_commits() {
    let db = almo_db::connect_and_migrate(&ConnectConfig::new("sqlite::memory:"))
        .await
        .unwrap();
    reads_the_database_as_it_is(&db).await;
    db.close().await.unwrap();
}

#[tokio::test]
async fn a_read_that_fails_says_why_and_the_next_one_works() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display());
    let db = almo_db::connect_and_migrate(&ConnectConfig::new(url))
        .await
        .unwrap();
    let bad = db
        .read_all(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT * FROM \"no_such_table\"",
        ))
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("no_such_table"), "{bad}");
    assert!(read(&db, "nobody").await.is_empty());
    db.close().await.unwrap();
}

//! `almo migrate`, as the deployment's one-shot job runs it: the schema and the shipped reference
//! data a standalone service needs, idempotently.

use std::process::Command;

use almo_db::entity::pi_indicator_definition;
use sea_orm::{EntityTrait, PaginatorTrait};

fn migrate(url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_almo"))
        .arg("migrate")
        .env("ALMO_DATABASE_URL", url)
        .output()
        .unwrap()
}

#[tokio::test]
async fn migrate_loads_the_indicator_catalogue_once_so_standalone_plans_can_name_pis() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("almo.db").display());

    let first = migrate(&url);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let conn = almo_db::connect(&almo_db::ConnectConfig::new(url.clone()))
        .await
        .unwrap();
    assert!(conn.is_migrated().await.unwrap());
    let loaded = pi_indicator_definition::Entity::find()
        .count(conn.conn())
        .await
        .unwrap();
    assert_eq!(
        loaded as usize,
        almo_pi_returns::domain::catalogue::seed().len(),
        "every shipped definition is loaded"
    );

    // The next release's job runs it again: nothing changes, nothing fails.
    let second = migrate(&url);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        pi_indicator_definition::Entity::find()
            .count(conn.conn())
            .await
            .unwrap(),
        loaded
    );
    conn.close().await.unwrap();
}

#[test]
fn help_never_prints_the_database_password() {
    for command in [["up", "--help"], ["migrate", "--help"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_almo"))
            .args(command)
            .env(
                "ALMO_DATABASE_URL",
                "postgres://almo:s3cret-pw@db.internal/almo",
            )
            .output()
            .unwrap();
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("ALMO_DATABASE_URL"), "{help}");
        assert!(
            !help.contains("s3cret-pw"),
            "`almo {}` printed the password:\n{help}",
            command.join(" ")
        );
    }
}

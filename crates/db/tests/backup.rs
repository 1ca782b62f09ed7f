//! Backup and restore of the SQLite database, at the library's level: a consistent backup while
//! audited writes stream in, a restore that migrates an older backup, and the refusals (a
//! database in use, a newer database, a backup from a newer release, an existing output).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use almo_db::backup::{self, BackupError, Snapshot};
use almo_db::{Begun, CallContext, ConnectConfig, Db, InUseLock, Migrator};
use sea_orm::ConnectionTrait;
use sea_orm_migration::MigratorTrait;

fn url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

fn config(path: &Path) -> ConnectConfig {
    ConnectConfig::new(url(path))
}

async fn migrated(path: &Path) -> Db {
    almo_db::connect_and_migrate(&config(path)).await.unwrap()
}

/// One idempotent audited write, as every RPC that changes something makes.
async fn audited_write(db: &Db, request_id: &str) {
    let ctx = CallContext {
        subject: "admin@E09000022".into(),
        organisation_id: "E09000022".into(),
        role: "admin".into(),
        method: "/almo.test.v1.TestService/Write".into(),
        request_id: request_id.into(),
    };
    match db
        .begin_idempotent::<()>(&ctx, &request_id.to_string())
        .await
        .unwrap()
    {
        Begun::Fresh(write) => write
            .finish(&(), &format!("things/{request_id}"))
            .await
            .unwrap(),
        Begun::Replay(()) => panic!("{request_id} was written before"),
    }
}

async fn audit_request_ids(path: &Path) -> Vec<String> {
    let db = almo_db::connect(&config(path)).await.unwrap();
    let rows = db
        .conn()
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT request_id FROM audit_log ORDER BY id",
        ))
        .await
        .unwrap();
    db.close().await.unwrap();
    rows.iter()
        .map(|r| r.try_get::<String>("", "request_id").unwrap())
        .collect()
}

async fn take_backup(path: &Path, output: &Path) -> backup::BackupReport {
    backup::backup(&config(path), output, false, |_| {})
        .await
        .unwrap()
}

#[tokio::test]
async fn a_backup_taken_while_writes_stream_in_holds_every_write_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live/almo.db");
    let db = migrated(&live).await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (db, acknowledged, stop) = (db.clone(), acknowledged.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let id = format!("w-{i}");
                audited_write(&db, &id).await;
                acknowledged.lock().unwrap().push(id);
                i += 1;
            }
        })
    };
    while acknowledged.lock().unwrap().len() < 200 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let before: Vec<String> = acknowledged.lock().unwrap().clone();
    let output = dir.path().join("backups/almo-1.db");
    let report = take_backup(&live, &output).await;
    let during = acknowledged.lock().unwrap().len();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.unwrap();
    let after = acknowledged.lock().unwrap().len();
    assert!(
        after > before.len(),
        "writes went on while the backup was taken"
    );
    db.close().await.unwrap();

    // The backup is one self-contained file: nothing beside it.
    let mut wal = output.clone().into_os_string();
    wal.push("-wal");
    assert!(!PathBuf::from(wal).exists());
    let audited = report.contents.rows("audit_log").unwrap() as usize;
    assert!(
        (before.len()..=during).contains(&audited),
        "{audited} audit rows: at least the {} acknowledged before, at most the {during} by its end",
        before.len()
    );
    assert_eq!(
        report.contents.migration_level(),
        backup::known_migrations().last().map(String::as_str)
    );

    let fresh = dir.path().join("restored/almo.db");
    let restored = backup::restore(&output, &url(&fresh), false, |_| {})
        .await
        .unwrap();
    assert!(restored.migrated.is_empty());
    assert!(!restored.replaced);
    let ids = audit_request_ids(&fresh).await;
    for id in &before {
        assert!(
            ids.contains(id),
            "{id} was acknowledged before the backup and is missing"
        );
    }
    // A prefix of the writes, in order: a snapshot, not a torn copy.
    assert_eq!(ids, acknowledged.lock().unwrap()[..ids.len()]);
    let mut check = Snapshot::read(&fresh).await.unwrap();
    assert!(check.integrity_problems().await.unwrap().is_empty());
    check.close().await.unwrap();
}

#[tokio::test]
async fn a_backup_from_an_older_migration_level_restores_and_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    let known = backup::known_migrations();
    assert!(known.len() > 3);
    let db = almo_db::connect(&config(&old)).await.unwrap();
    Migrator::up(db.conn(), Some(3)).await.unwrap();
    audited_write(&db, "from-the-old-release").await;
    db.close().await.unwrap();
    let output = dir.path().join("old-backup.db");
    let report = take_backup(&old, &output).await;
    assert_eq!(report.contents.migrations, known[..3]);

    let target = dir.path().join("new/almo.db");
    let restored = backup::restore(&output, &url(&target), false, |_| {})
        .await
        .unwrap();
    assert_eq!(restored.backup_level.as_deref(), Some(known[2].as_str()));
    assert_eq!(restored.migrated, known[3..]);
    assert_eq!(restored.contents.migrations, known);
    let db = almo_db::connect(&config(&target)).await.unwrap();
    assert!(db.is_migrated().await.unwrap());
    db.close().await.unwrap();
    assert_eq!(
        audit_request_ids(&target).await,
        ["from-the-old-release"],
        "the data came through the migration"
    );
    // Nothing of the work is left beside the target.
    let leftovers: Vec<String> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_backup_made_by_a_newer_almo_is_refused_and_the_target_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("almo.db");
    let db = migrated(&live).await;
    db.close().await.unwrap();
    let output = dir.path().join("newer.db");
    take_backup(&live, &output).await;
    // The next release's migration, applied to the backup.
    let newer = sea_orm::Database::connect(format!("sqlite://{}?mode=rw", output.display()))
        .await
        .unwrap();
    newer
        .execute_unprepared(
            "INSERT INTO seaql_migrations (version, applied_at) \
             VALUES ('m29990101_000000_from_the_future', 0)",
        )
        .await
        .unwrap();
    newer.close().await.unwrap();

    let target = dir.path().join("target/almo.db");
    let err = backup::restore(&output, &url(&target), true, |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BackupError::NewerBackup { unknown } if unknown == &["m29990101_000000_from_the_future"]),
        "{err}"
    );
    assert!(err.to_string().contains("made by a newer almo"), "{err}");
    assert!(!target.exists());
}

#[tokio::test]
async fn a_restore_over_a_database_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("almo.db");
    let db = migrated(&live).await;
    audited_write(&db, "before").await;
    let output = dir.path().join("backup.db");
    take_backup(&live, &output).await;
    // A clone shares the lock: it is held until the last one goes.
    let serving = db.clone();
    let err = backup::restore(&output, &url(&live), true, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::InUse { .. }), "{err}");
    assert!(err.to_string().contains("is in use"), "{err}");
    drop(serving);
    let err = backup::restore(&output, &url(&live), true, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::InUse { .. }), "{err}");
    db.close().await.unwrap();
    backup::restore(&output, &url(&live), true, |_| {})
        .await
        .unwrap();
}

#[tokio::test]
async fn a_database_being_restored_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("almo.db");
    let lock = InUseLock::exclusive(&live).unwrap().expect("nobody has it");
    let err = almo_db::connect(&config(&live)).await.unwrap_err();
    assert!(err.to_string().contains("is being restored"), "{err}");
    drop(lock);
    let db = almo_db::connect(&config(&live)).await.unwrap();
    assert!(
        InUseLock::exclusive(&live).unwrap().is_none(),
        "an open database holds the lock"
    );
    db.close().await.unwrap();
}

#[tokio::test]
async fn a_restore_over_a_newer_database_is_refused_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("almo.db");
    let db = migrated(&live).await;
    audited_write(&db, "in-the-backup").await;
    let output = dir.path().join("backup.db");
    take_backup(&live, &output).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    audited_write(&db, "after-the-backup").await;
    db.close().await.unwrap();

    let err = backup::restore(&output, &url(&live), false, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::TargetNewer { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(
        audit_request_ids(&live).await,
        ["in-the-backup", "after-the-backup"],
        "the refused restore changed nothing"
    );

    let restored = backup::restore(&output, &url(&live), true, |_| {})
        .await
        .unwrap();
    assert!(restored.replaced);
    assert_eq!(audit_request_ids(&live).await, ["in-the-backup"]);
    // Restoring the same backup again is not "newer": no --force needed.
    backup::restore(&output, &url(&live), false, |_| {})
        .await
        .unwrap();
}

#[tokio::test]
async fn a_backup_never_replaces_an_existing_file_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("almo.db");
    migrated(&live).await.close().await.unwrap();
    let output = dir.path().join("backup.db");
    std::fs::write(&output, b"yesterday's backup").unwrap();
    let err = backup::backup(&config(&live), &output, false, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::OutputExists(_)), "{err}");
    assert_eq!(std::fs::read(&output).unwrap(), b"yesterday's backup");
    let report = backup::backup(&config(&live), &output, true, |_| {})
        .await
        .unwrap();
    assert!(report.bytes > 0);
    // No database there: refused, and none created.
    let missing = dir.path().join("missing.db");
    let err = backup::backup(&config(&missing), &dir.path().join("b2.db"), false, |_| {})
        .await
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    assert!(!missing.exists());
}

#[tokio::test]
async fn a_backup_of_postgresql_is_refused_with_the_tools_to_use_instead() {
    let mut urls = vec!["postgres://almo:secret@127.0.0.1:1/almo".to_string()];
    if let Ok(url) = std::env::var("ALMO_TEST_DATABASE_URL")
        && !url.is_empty()
    {
        urls.push(url);
    }
    let dir = tempfile::tempdir().unwrap();
    for url in urls {
        let output = dir.path().join("pg.db");
        let err = backup::backup(&ConnectConfig::new(url.clone()), &output, false, |_| {})
            .await
            .unwrap_err();
        assert!(matches!(err, BackupError::NotSqlite), "{err}");
        assert!(err.to_string().contains("pg_dump"), "{err}");
        assert!(!output.exists());
        let err = backup::restore(&output, &url, false, |_| {})
            .await
            .unwrap_err();
        assert!(matches!(err, BackupError::NotSqlite), "{err}");
    }
}

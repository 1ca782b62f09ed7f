//! Migrations on a shared database: several processes start at once (replicas in apply mode, a
//! migration job run again) and services in wait mode poll while the job runs. On SQLite by
//! default, PostgreSQL when ALMO_TEST_DATABASE_URL is set.

use almo_testkit::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_migrating_one_database_at_once_take_turns() {
    let first = TestDb::unmigrated().await.unwrap();
    let mut pools = vec![first.db.clone()];
    for _ in 0..3 {
        pools.push(first.another_pool().await.unwrap().db);
    }
    let runs: Vec<_> = pools
        .iter()
        .cloned()
        .map(|db| tokio::spawn(async move { db.migrate().await }))
        .collect();
    for (i, run) in runs.into_iter().enumerate() {
        run.await
            .unwrap()
            .unwrap_or_else(|e| panic!("migration run {i} failed: {e}"));
    }
    for db in &pools {
        assert!(db.is_migrated().await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waiting_for_migrations_never_gets_in_the_migrations_way() {
    let job = TestDb::unmigrated().await.unwrap();
    let waiter = job.another_pool().await.unwrap().db;
    assert!(!waiter.is_migrated().await.unwrap());
    // A service in wait mode polls as fast as it can while the job migrates.
    let polling = tokio::spawn(async move {
        let mut polls = 0u32;
        loop {
            polls += 1;
            match waiter.is_migrated().await {
                Ok(true) => return Ok(polls),
                Ok(false) => tokio::task::yield_now().await,
                Err(e) => return Err(format!("poll {polls}: {e}")),
            }
        }
    });
    job.db
        .migrate()
        .await
        .expect("the job migrates while a service polls");
    let polls = tokio::time::timeout(std::time::Duration::from_secs(30), polling)
        .await
        .expect("the waiting service sees the migration done")
        .unwrap()
        .unwrap();
    assert!(polls >= 1);
}

//! `almo backup` and `almo restore` as an operator runs them, against the real services: a backup
//! taken while variances and invoices are written through the gRPC API holds every acknowledged
//! write and the restored suite answers the same; an older backup is migrated; a database in use
//! or newer is not overwritten; PostgreSQL is sent to its own tools.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use almo_auth::Role;
use almo_db::Db;
use almo_db::sea_orm_migration::MigratorTrait;
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{RecordVarianceRequest, VarianceRecord};
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::{
    GetInvoiceRequest, Invoice, InvoiceStatus, IssueInvoiceRequest, RunBillingRequest,
};
use almo_server::{Running, ServiceContext};
use almo_testkit::authed;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use tonic::transport::{Channel, Endpoint};

const LAMBETH: &str = "E09000022";
const PLAN: &str = "LAMBETH-LIVING-2026-2028";

fn url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

fn almo(args: &[&str], database: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_almo"))
        .args(args)
        .env("ALMO_DATABASE_URL", database)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The suite as `almo up --demo` runs it, in this process, on 127.0.0.1:0.
struct Suite {
    db: Db,
    running: Running,
}

impl Suite {
    async fn start(database: &Path, demo: bool) -> Self {
        let db = almo_db::connect(&almo_db::ConnectConfig::new(url(database)))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        almo_pi_returns::seed_catalogue(db.conn()).await.unwrap();
        if demo {
            almo_directory::demo::seed(&db).await.unwrap();
            almo_delivery_plan::demo::seed(&db).await.unwrap();
            almo_pi_returns::demo::seed(&db).await.unwrap();
            almo_inspection_scheduling::demo::seed(&db).await.unwrap();
            almo_sla_charging::demo::seed(&db).await.unwrap();
        }
        let args = almo_testkit::default_args();
        let ctx = ServiceContext::new(
            db.clone(),
            args.auth.verifier().unwrap(),
            args.max_request_bytes,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mounts = vec![
            almo_directory::mount(),
            almo_delivery_plan::mount(),
            almo_sla_charging::mount(),
            almo_pi_returns::mount(),
            almo_inspection_scheduling::mount(),
        ];
        let running = almo_server::start(&args, ctx, mounts, listener)
            .await
            .unwrap();
        for _ in 0..500 {
            if running.is_ready() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(running.is_ready());
        Self { db, running }
    }

    async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.running.addr))
            .unwrap()
            .tcp_nodelay(true)
            .connect()
            .await
            .unwrap()
    }

    /// Stops serving and closes the database: no process holds it any more.
    async fn stop(self) {
        self.running.shutdown().await.unwrap();
        self.db.close().await.unwrap();
    }
}

fn month(year: i32, n: i32) -> Option<Period> {
    Some(Period {
        year: Some(FinancialYear { start_year: year }),
        kind: PeriodKind::Month as i32,
        number: n,
    })
}

async fn issue(c: &mut SlaChargingServiceClient<Channel>, draft: &Invoice) -> Invoice {
    try_issue(c, draft).await.unwrap()
}

async fn try_issue(
    c: &mut SlaChargingServiceClient<Channel>,
    draft: &Invoice,
) -> Result<Invoice, tonic::Status> {
    c.issue_invoice(authed(
        IssueInvoiceRequest {
            request_id: format!("issue-{}", draft.invoice_id),
            invoice_id: draft.invoice_id.clone(),
            etag: draft.etag.clone(),
        },
        LAMBETH,
        Role::CouncilFinance,
    ))
    .await
    .map(|r| r.into_inner().invoice.unwrap())
}

async fn get_invoice(c: &mut SlaChargingServiceClient<Channel>, id: &str) -> Invoice {
    c.get_invoice(authed(
        GetInvoiceRequest {
            invoice_id: id.into(),
        },
        LAMBETH,
        Role::CouncilFinance,
    ))
    .await
    .unwrap()
    .into_inner()
    .invoice
    .unwrap()
}

async fn audit_request_ids(db: &Db) -> Vec<String> {
    db.conn()
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT request_id FROM audit_log",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "request_id").unwrap())
        .collect()
}

/// What the writers have had acknowledged so far.
#[derive(Default)]
struct Acknowledged {
    variances: Vec<String>,
    invoices: Vec<Invoice>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_variances_and_invoices_stream_in_restores_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live/almo.db");
    let suite = Suite::start(&live, true).await;
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let stop = Arc::new(AtomicBool::new(false));

    // Variances for the demo plan, one RecordVariance each, as fast as they are acknowledged:
    // corrections of the figures the demo reported for its three local targets in the months of
    // 2026/27 that have ended, a new figure each round (each one a write: revision after revision).
    let variances = {
        let (mut c, acked, stop) = (
            DeliveryPlanServiceClient::new(suite.channel().await),
            acked.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let codes = ["LOCAL-RENT", "LOCAL-RELET", "LOCAL-DECENT"];
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let request_id = format!("variance-{i}");
                c.record_variance(authed(
                    RecordVarianceRequest {
                        request_id: request_id.clone(),
                        plan_id: PLAN.into(),
                        record: Some(VarianceRecord {
                            sender_record_id: format!(
                                "LBH-2026-M{:02}-{}",
                                i % 21 / 3 + 1,
                                codes[i % 3]
                            ),
                            target_code: codes[i % 3].into(),
                            period: month(2026, (i % 21 / 3) as i32 + 1),
                            actual: 50.0 + (i / 21 % 40) as f64,
                            forecast: None,
                            commentary: String::new(),
                        }),
                    },
                    LAMBETH,
                    Role::CouncilOfficer,
                ))
                .await
                .unwrap();
                acked.lock().unwrap().variances.push(request_id);
                i += 1;
            }
        })
    };
    // Invoices: the demo's June draft issued, then a billing run and an issue per month.
    let invoices = {
        let mut c = SlaChargingServiceClient::new(suite.channel().await);
        let june = almo_db::entity::sla_invoice::Entity::find()
            .filter(almo_db::entity::sla_invoice::Column::Status.eq("draft"))
            .one(suite.db.conn())
            .await
            .unwrap()
            .expect("the demo's June draft");
        let (acked, stop) = (acked.clone(), stop.clone());
        tokio::spawn(async move {
            let draft = get_invoice(&mut c, &june.id).await;
            let issued = issue(&mut c, &draft).await;
            acked.lock().unwrap().invoices.push(issued);
            // Later months as far as the agreement bills them: each run and issue acknowledged
            // is a write the backup must hold if it came before it.
            for m in 4..=12 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(run) = c
                    .run_billing(authed(
                        RunBillingRequest {
                            request_id: format!("billing-2026-{m}"),
                            supplier_council_id: LAMBETH.into(),
                            period: month(2026, m),
                        },
                        LAMBETH,
                        Role::CouncilFinance,
                    ))
                    .await
                else {
                    break;
                };
                for draft in run.into_inner().invoices {
                    let Ok(issued) = try_issue(&mut c, &draft).await else {
                        continue;
                    };
                    acked.lock().unwrap().invoices.push(issued);
                }
            }
        })
    };

    // The backup starts once both writers have had writes acknowledged, and runs while they go on.
    for waited in 0.. {
        {
            let a = acked.lock().unwrap();
            if a.variances.len() >= 40 && !a.invoices.is_empty() {
                break;
            }
        }
        assert!(
            !variances.is_finished() && waited < 6000,
            "the writers stopped before the backup"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (variances_before, invoices_before) = {
        let a = acked.lock().unwrap();
        (a.variances.clone(), a.invoices.clone())
    };
    let output = dir.path().join("backups/almo-nightly.db");
    let backup = {
        let (output, database) = (output.clone(), url(&live));
        tokio::task::spawn_blocking(move || {
            almo(&["backup", "--output", output.to_str().unwrap()], &database)
        })
        .await
        .unwrap()
    };
    let variances_by_the_end = acked.lock().unwrap().variances.len();
    stop.store(true, Ordering::Relaxed);
    variances.await.unwrap();
    invoices.await.unwrap();
    assert!(backup.status.success(), "{}", text(&backup));
    let stdout = String::from_utf8_lossy(&backup.stdout);
    assert!(stdout.contains("integrity_check: ok"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "migration level: {}",
            almo_db::backup::known_migrations().last().unwrap()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("sla_invoices"), "{stdout}");
    assert!(
        acked.lock().unwrap().variances.len() > variances_before.len(),
        "writes went on while the backup was taken"
    );
    suite.stop().await;

    let fresh = dir.path().join("restored/almo.db");
    let restore = almo(&["restore", output.to_str().unwrap()], &url(&fresh));
    assert!(restore.status.success(), "{}", text(&restore));
    assert!(
        String::from_utf8_lossy(&restore.stdout).contains("integrity_check: ok"),
        "{}",
        text(&restore)
    );

    // The restored suite: every write acknowledged before the backup began is there, and it
    // answers as the live one did.
    let restored = Suite::start(&fresh, false).await;
    let ids = audit_request_ids(&restored.db).await;
    for id in &variances_before {
        assert!(
            ids.contains(id),
            "{id} acknowledged before the backup, missing"
        );
    }
    let restored_variances = ids.iter().filter(|i| i.starts_with("variance-")).count();
    assert!(
        (variances_before.len()..=variances_by_the_end).contains(&restored_variances),
        "{restored_variances} variances: at least the {} acknowledged before the backup, at most \
         the {variances_by_the_end} by its end",
        variances_before.len()
    );
    let mut c = SlaChargingServiceClient::new(restored.channel().await);
    for issued in &invoices_before {
        let now = get_invoice(&mut c, &issued.invoice_id).await;
        assert_eq!(now.status, InvoiceStatus::Issued as i32);
        assert_eq!(
            &now, issued,
            "the restored suite answers as the live one did"
        );
    }
    restored.stop().await;
}

#[tokio::test]
async fn a_restore_over_a_running_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("almo.db");
    let suite = Suite::start(&live, true).await;
    let output = dir.path().join("backup.db");
    let backup = almo(
        &["backup", "--output", output.to_str().unwrap()],
        &url(&live),
    );
    assert!(backup.status.success(), "{}", text(&backup));

    let refused = almo(
        &["restore", output.to_str().unwrap(), "--force"],
        &url(&live),
    );
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is in use"),
        "{}",
        text(&refused)
    );
    // Still serving, on its own database.
    let mut c = SlaChargingServiceClient::new(suite.channel().await);
    let june = almo_db::entity::sla_invoice::Entity::find()
        .filter(almo_db::entity::sla_invoice::Column::Status.eq("draft"))
        .one(suite.db.conn())
        .await
        .unwrap()
        .unwrap();
    get_invoice(&mut c, &june.id).await;

    // Stopped, the database is free: the same restore goes through.
    suite.stop().await;
    let restored = almo(
        &["restore", output.to_str().unwrap(), "--force"],
        &url(&live),
    );
    assert!(restored.status.success(), "{}", text(&restored));
}

#[tokio::test]
async fn a_restore_over_a_newer_database_is_refused_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("almo.db");
    let suite = Suite::start(&live, true).await;
    let output = dir.path().join("backup.db");
    let backup = almo(
        &["backup", "--output", output.to_str().unwrap()],
        &url(&live),
    );
    assert!(backup.status.success(), "{}", text(&backup));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut c = SlaChargingServiceClient::new(suite.channel().await);
    let june = almo_db::entity::sla_invoice::Entity::find()
        .filter(almo_db::entity::sla_invoice::Column::Status.eq("draft"))
        .one(suite.db.conn())
        .await
        .unwrap()
        .unwrap();
    let draft = get_invoice(&mut c, &june.id).await;
    issue(&mut c, &draft).await;
    suite.stop().await;

    let refused = almo(&["restore", output.to_str().unwrap()], &url(&live));
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("newer than the backup") && stderr.contains("--force"),
        "{stderr}"
    );

    let forced = almo(
        &["restore", output.to_str().unwrap(), "--force"],
        &url(&live),
    );
    assert!(forced.status.success(), "{}", text(&forced));
    let suite = Suite::start(&live, false).await;
    let mut c = SlaChargingServiceClient::new(suite.channel().await);
    assert_eq!(
        get_invoice(&mut c, &june.id).await.status,
        InvoiceStatus::Draft as i32,
        "the database is the backup's again: June not yet issued"
    );
    suite.stop().await;
}

#[tokio::test]
async fn a_backup_from_an_older_migration_level_restores_and_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    let db = almo_db::connect(&almo_db::ConnectConfig::new(url(&old)))
        .await
        .unwrap();
    almo_db::Migrator::up(db.conn(), Some(2)).await.unwrap();
    db.close().await.unwrap();
    let output = dir.path().join("old-backup.db");
    let backup = almo(
        &["backup", "--output", output.to_str().unwrap()],
        &url(&old),
    );
    assert!(backup.status.success(), "{}", text(&backup));
    let known = almo_db::backup::known_migrations();
    assert!(
        String::from_utf8_lossy(&backup.stdout).contains(&format!(
            "migration level: {} (2 of the {} migrations this almo knows)",
            known[1],
            known.len()
        )),
        "{}",
        text(&backup)
    );

    let target = dir.path().join("new/almo.db");
    let restore = almo(&["restore", output.to_str().unwrap()], &url(&target));
    assert!(restore.status.success(), "{}", text(&restore));
    let stdout = String::from_utf8_lossy(&restore.stdout);
    assert!(
        stdout.contains(&format!(
            "made by an older almo (migration level {}): applied {} migrations",
            known[1],
            known.len() - 2
        )),
        "{stdout}"
    );
    // Migrated, with the reference data `almo migrate` loads: a suite starts on it and serves.
    let suite = Suite::start(&target, false).await;
    assert!(suite.db.is_migrated().await.unwrap());
    suite.stop().await;
}

#[test]
fn a_backup_never_replaces_a_file_and_needs_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("backup.db");
    std::fs::write(&output, "yesterday").unwrap();
    let missing = url(&dir.path().join("missing.db"));
    let out = almo(&["backup", "--output", output.to_str().unwrap()], &missing);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!dir.path().join("missing.db").exists());

    let live: PathBuf = dir.path().join("almo.db");
    let migrate = almo(&["migrate"], &url(&live));
    assert!(migrate.status.success(), "{}", text(&migrate));
    let out = almo(
        &["backup", "--output", output.to_str().unwrap()],
        &url(&live),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--force"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "yesterday");
    let out = almo(
        &["backup", "--output", output.to_str().unwrap(), "--force"],
        &url(&live),
    );
    assert!(out.status.success(), "{}", text(&out));
    // The flag the brief's examples use works as well as the environment.
    let again = dir.path().join("again.db");
    let out = Command::new(env!("CARGO_BIN_EXE_almo"))
        .args(["backup", "--output", again.to_str().unwrap()])
        .args(["--database", &url(&live)])
        .env_remove("ALMO_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_backup_of_postgresql_exits_non_zero_with_the_tools_to_use_instead() {
    let mut urls = vec!["postgres://almo:s3cret-pw@127.0.0.1:1/almo".to_string()];
    if let Ok(url) = std::env::var("ALMO_TEST_DATABASE_URL")
        && !url.is_empty()
    {
        urls.push(url);
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("pg.db");
    for database in urls {
        for args in [
            vec!["backup", "--output", output.to_str().unwrap()],
            vec!["restore", output.to_str().unwrap()],
        ] {
            let out = almo(&args, &database);
            assert_eq!(out.status.code(), Some(1), "{}", text(&out));
            let stderr = String::from_utf8_lossy(&out.stderr);
            for expected in [
                "pg_dump",
                "point-in-time recovery",
                "\"Backup and restore\"",
            ] {
                assert!(stderr.contains(expected), "{expected} in {stderr}");
            }
            assert!(!stderr.contains("s3cret-pw"), "{stderr}");
            assert!(!output.exists());
        }
    }
}

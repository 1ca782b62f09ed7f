//! PostgreSQL over TLS, as every managed PostgreSQL requires: `sslmode=verify-full` with the
//! server's CA in `sslrootcert` gives an encrypted session that migrations and writes run on,
//! and a server certificate from another authority is refused before any query is sent.
//!
//! Runs when `ALMO_TEST_DATABASE_TLS_URL` names a server with TLS and carries `sslrootcert`
//! (`eval "$(scripts/postgres.sh start)"` exports one); skipped, with a line saying so, otherwise.

use almo_db::sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use almo_db::{Backend, ConnectConfig};

const TLS_URL_ENV: &str = "ALMO_TEST_DATABASE_TLS_URL";

/// A CA certificate (its key thrown away) that signs no server certificate.
const ANOTHER_AUTHORITY_CA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/another-authority-ca.crt"
);

fn tls_url(test: &str) -> Option<String> {
    let url = std::env::var(TLS_URL_ENV).ok().filter(|s| !s.is_empty());
    if url.is_none() {
        eprintln!("{test}: skipped, {TLS_URL_ENV} is not set (scripts/postgres.sh start sets it)");
    }
    url
}

/// `url` with the query parameter `key` set to `value`, replacing any value it had.
fn with_param(url: &str, key: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(key))
        .map(str::to_string)
        .collect();
    pairs.push(format!("{key}={value}"));
    format!("{base}?{}", pairs.join("&"))
}

/// `url` naming the database `name` instead, its query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let slash = base.rfind('/').expect("a database URL has a path");
    format!("{}/{name}{query}", &base[..slash])
}

#[tokio::test]
async fn database_connection_is_encrypted_when_the_url_asks_for_it() {
    let Some(server) = tls_url("database_connection_is_encrypted_when_the_url_asks_for_it") else {
        return;
    };
    let server = with_param(&server, "sslmode", "verify-full");
    assert!(
        server.contains("sslrootcert="),
        "{TLS_URL_ENV} must name the server's CA in sslrootcert: {}",
        almo_db::redact(&server)
    );

    let name = format!("almo_tls_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(server.as_str())
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", almo_db::redact(&server)));
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();

    let mut config = ConnectConfig::new(with_database(&server, &name));
    config.max_connections = 4;
    let db = almo_db::connect_and_migrate(&config)
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", almo_db::redact(&config.url)));
    assert_eq!(db.backend(), Backend::Postgres);
    assert!(db.is_migrated().await.unwrap());

    // The server's word: this session is encrypted.
    let row = db
        .conn()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ))
        .await
        .unwrap()
        .expect("pg_stat_ssl has a row for every backend");
    let ssl: bool = row.try_get("", "ssl").unwrap();
    let version: Option<String> = row.try_get("", "version").unwrap();
    assert!(ssl, "the session is not encrypted");
    eprintln!("session encrypted with {}", version.unwrap_or_default());

    // And every session the pool opened on the fresh database (those the migrations ran on
    // included) is encrypted: not one plain connection.
    let row = db
        .conn()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT count(*) AS sessions, count(*) FILTER (WHERE NOT s.ssl) AS plain \
                 FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid \
                 WHERE a.datname = '{name}'"
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    let sessions: i64 = row.try_get("", "sessions").unwrap();
    let plain: i64 = row.try_get("", "plain").unwrap();
    assert!(sessions >= 1);
    assert_eq!(plain, 0, "{plain} of {sessions} sessions are not encrypted");

    db.close().await.unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
    admin.close().await.unwrap();
}

#[tokio::test]
async fn database_certificate_from_another_authority_is_refused() {
    let Some(server) = tls_url("database_certificate_from_another_authority_is_refused") else {
        return;
    };
    let url = with_param(
        &with_param(&server, "sslmode", "verify-full"),
        "sslrootcert",
        ANOTHER_AUTHORITY_CA,
    );
    let started = std::time::Instant::now();
    let err = almo_db::connect(&ConnectConfig::new(url.clone()))
        .await
        .expect_err("a server certificate no trusted authority signed must be refused");
    let message = err.to_string();
    eprintln!("refused in {:?}: {message}", started.elapsed());
    assert!(
        message.contains("invalid peer certificate: UnknownIssuer")
            && message.contains("sslrootcert"),
        "the error must say the certificate's issuer is unknown and what to check: {message}"
    );
}

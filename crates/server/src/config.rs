//! Typed configuration from flags and `ALMO_*` environment variables, with defaults that run on a
//! laptop: SQLite in `./data`, HS256 with the development secret, `127.0.0.1:50051`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use almo_auth::{KeySet, Verifier, VerifierConfig};
use almo_db::ConnectConfig;
use almo_telemetry::LogFormat;
use anyhow::{Context, bail};
use jsonwebtoken::Algorithm;

/// The development HS256 secret used when none is configured. Tokens signed with it are
/// worthless outside a developer's machine; production configures public keys instead.
pub const DEV_SECRET: &str = "almo-exchange-development-secret-not-for-production";
/// The issuer of development tokens.
pub const DEV_ISSUER: &str = "almo-dev";

/// Where the data lives.
#[derive(clap::Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// `sqlite://data/almo.db?mode=rwc` (default: a file under ./data) or `postgres://...`.
    #[arg(
        long,
        env = "ALMO_DATABASE_URL",
        // It may carry a password: `--help` must not print it.
        hide_env_values = true,
        default_value = "sqlite://data/almo.db?mode=rwc"
    )]
    pub database_url: String,
    /// Connections in the pool.
    #[arg(long, env = "ALMO_DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,
    /// `postgres://...` of a streaming replica of the primary: reads that may lag a little (the
    /// regulator's queries and exports, the invoice export, Flight datasets, benchmarks) go
    /// there, through a pool of its own whose transactions are read-only. Writes and the reads
    /// that must see them never do. Unset, or with a SQLite primary: every read goes to the
    /// primary.
    #[arg(long, env = "ALMO_DATABASE_READ_URL", hide_env_values = true)]
    pub database_read_url: Option<String>,
}

impl DatabaseArgs {
    pub fn connect_config(&self) -> ConnectConfig {
        let mut c = ConnectConfig::new(self.database_url.clone());
        c.max_connections = self.database_max_connections;
        c
    }

    /// How to open the read replica, when one is configured: read-only, the pool's size.
    pub fn read_connect_config(&self) -> Option<ConnectConfig> {
        let url = self.database_read_url.as_deref()?.trim();
        if url.is_empty() {
            return None;
        }
        let mut c = ConnectConfig::new(url);
        c.max_connections = self.database_max_connections;
        c.read_only = true;
        Some(c)
    }
}

/// How tokens are verified.
#[derive(clap::Args, Debug, Clone)]
pub struct AuthArgs {
    /// HS256 (development, shared secret), RS256, ES256 or EdDSA (public keys by kid).
    #[arg(long, env = "ALMO_JWT_ALGORITHM", default_value = "HS256")]
    pub jwt_algorithm: String,
    /// Expected `iss`.
    #[arg(long, env = "ALMO_JWT_ISSUER", default_value = DEV_ISSUER)]
    pub jwt_issuer: String,
    /// Expected `aud`.
    #[arg(long, env = "ALMO_JWT_AUDIENCE", default_value = "almo-exchange")]
    pub jwt_audience: String,
    /// HS256 secret (at least 32 bytes). Unset: the built-in development secret.
    #[arg(long, env = "ALMO_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Public keys as `kid=path.pem,kid2=path2.pem` (RS256, ES256, EdDSA).
    #[arg(long, env = "ALMO_JWT_PUBLIC_KEYS")]
    pub jwt_public_keys: Option<String>,
    /// A JWKS file with the public keys, each with its kid.
    #[arg(long, env = "ALMO_JWT_JWKS_FILE")]
    pub jwt_jwks_file: Option<PathBuf>,
    /// Clock skew tolerated on exp/nbf, seconds.
    #[arg(long, env = "ALMO_JWT_LEEWAY_SECS", default_value_t = 30)]
    pub jwt_leeway_secs: u64,
    /// Verified tokens remembered (until each one's `exp`), so a client's repeated token is
    /// checked in full once. 0: every call checks its token in full.
    #[arg(long, env = "ALMO_JWT_CACHE_ENTRIES", default_value_t = almo_auth::DEFAULT_TOKEN_CACHE_ENTRIES)]
    pub jwt_cache_entries: usize,
}

impl AuthArgs {
    pub fn algorithm(&self) -> anyhow::Result<Algorithm> {
        Ok(match self.jwt_algorithm.to_ascii_uppercase().as_str() {
            "HS256" => Algorithm::HS256,
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            "EDDSA" => Algorithm::EdDSA,
            other => bail!("ALMO_JWT_ALGORITHM {other:?}: use HS256, RS256, ES256 or EdDSA"),
        })
    }

    /// The HS256 secret in force (configured or the development default), if HS256 is in use.
    pub fn hs256_secret(&self) -> anyhow::Result<Option<Vec<u8>>> {
        if self.algorithm()? != Algorithm::HS256 {
            return Ok(None);
        }
        Ok(Some(
            self.jwt_secret
                .clone()
                .unwrap_or_else(|| DEV_SECRET.to_string())
                .into_bytes(),
        ))
    }

    pub fn using_dev_secret(&self) -> bool {
        self.jwt_secret.is_none() && self.algorithm().ok() == Some(Algorithm::HS256)
    }

    pub fn verifier(&self) -> anyhow::Result<Verifier> {
        let algorithm = self.algorithm()?;
        let keys = if let Some(secret) = self.hs256_secret()? {
            KeySet::Secret(secret)
        } else if let Some(path) = &self.jwt_jwks_file {
            KeySet::from_jwks_file(path).map_err(anyhow::Error::msg)?
        } else if let Some(list) = &self.jwt_public_keys {
            let mut files = Vec::new();
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let (kid, path) = item.split_once('=').with_context(|| {
                    format!("ALMO_JWT_PUBLIC_KEYS item {item:?}: expected kid=path")
                })?;
                files.push((kid.trim().to_string(), PathBuf::from(path.trim())));
            }
            KeySet::from_pem_files(algorithm, &files).map_err(anyhow::Error::msg)?
        } else {
            bail!("{algorithm:?} needs ALMO_JWT_JWKS_FILE or ALMO_JWT_PUBLIC_KEYS");
        };
        Verifier::new(VerifierConfig {
            algorithm,
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            keys,
            leeway_secs: self.jwt_leeway_secs,
        })
        .map(|v| v.with_token_cache(self.jwt_cache_entries))
        .map_err(anyhow::Error::msg)
    }
}

/// Whether a server applies migrations itself or waits for a migration job.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateMode {
    /// Apply pending migrations at start (the single-machine default).
    Apply,
    /// Stay NOT_SERVING until someone else (`almo migrate`, a Job) has applied them.
    Wait,
}

/// Whether a client certificate must name the organisation of the token it carries.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientOrganisation {
    /// Any certificate the client CA signed goes with any valid token.
    #[default]
    Off,
    /// The certificate's subject common name is the token's organisation id.
    Cn,
    /// A subject alternative name is the organisation id: a DNS name (any case) or the URI
    /// `urn:almo-exchange:organisation:<id>`.
    San,
}

/// TLS on the listening port: plaintext unless a certificate and key are given.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TlsArgs {
    /// PEM certificate chain, leaf first. With ALMO_TLS_KEY the port speaks TLS (1.2 and 1.3,
    /// ALPN h2) and nothing else. Re-read while serving: see ALMO_TLS_RELOAD_SECS.
    #[arg(long, env = "ALMO_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "ALMO_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// PEM bundle of the authorities whose client certificates are accepted. Set: every client
    /// must present a certificate they signed (mutual TLS), and still a token.
    #[arg(long, env = "ALMO_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// With mutual TLS, whether the client certificate must name the token's organisation
    /// (`cn` or `san`), so a stolen token alone is not enough; `off` accepts any.
    #[arg(
        long,
        env = "ALMO_TLS_CLIENT_ORGANISATION",
        value_enum,
        default_value = "off"
    )]
    pub tls_client_organisation: ClientOrganisation,
    /// Look at the certificate, key and client CA files this often, seconds, and serve new
    /// connections with them once they change (SIGHUP: at once). Connections already open keep
    /// the certificate they began with. 0: only on SIGHUP.
    #[arg(long, env = "ALMO_TLS_RELOAD_SECS", default_value_t = 10)]
    pub tls_reload_secs: u64,
}

impl TlsArgs {
    pub fn enabled(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }

    /// Settings that cannot work together, said before anything starts.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            bail!("ALMO_TLS_CERT and ALMO_TLS_KEY go together: set both, or neither");
        }
        if self.tls_client_ca.is_some() && !self.enabled() {
            bail!("ALMO_TLS_CLIENT_CA needs ALMO_TLS_CERT and ALMO_TLS_KEY");
        }
        if self.tls_client_organisation != ClientOrganisation::Off && self.tls_client_ca.is_none() {
            bail!(
                "ALMO_TLS_CLIENT_ORGANISATION binds client certificates to organisations: it \
                 needs ALMO_TLS_CLIENT_CA"
            );
        }
        Ok(())
    }
}

/// Everything a service process needs.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "ALMO_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Apply migrations at start, or wait for them.
    #[arg(long, env = "ALMO_MIGRATE", value_enum, default_value = "apply")]
    pub migrate: MigrateMode,
    /// Largest request message accepted, bytes.
    #[arg(long, env = "ALMO_MAX_REQUEST_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_request_bytes: usize,
    /// Per-request time limit, seconds (streams included).
    #[arg(long, env = "ALMO_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub request_timeout_secs: u64,
    /// Requests in flight at once across all connections; more are answered RESOURCE_EXHAUSTED.
    #[arg(long, env = "ALMO_MAX_CONCURRENT_REQUESTS", default_value_t = 1024)]
    pub max_concurrent_requests: usize,
    /// Streaming calls open at once (watches, exports, pushes), held for the stream's whole
    /// life; more are answered RESOURCE_EXHAUSTED at once.
    #[arg(long, env = "ALMO_MAX_OPEN_STREAMS", default_value_t = 256)]
    pub max_open_streams: usize,
    /// Streaming calls open at once with one token (one caller).
    #[arg(long, env = "ALMO_MAX_STREAMS_PER_CALLER", default_value_t = 16)]
    pub max_streams_per_caller: usize,
    /// On SIGTERM, report NOT_SERVING this long before refusing new calls (load balancers
    /// need to notice), then drain in-flight calls.
    #[arg(long, env = "ALMO_SHUTDOWN_DELAY_SECS", default_value_t = 0)]
    pub shutdown_delay_secs: u64,
    /// Once draining, wait this long at most for calls still open (a watch stream, a slow
    /// export), then stop without them; their clients see the connection close and retry.
    #[arg(long, env = "ALMO_DRAIN_TIMEOUT_SECS", default_value_t = 30)]
    pub drain_timeout_secs: u64,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Also answer the gRPC health protocol, and nothing else, in plaintext on this address:
    /// for probes that cannot speak TLS (Kubernetes' native gRPC probes). Unset: none.
    #[arg(long, env = "ALMO_HEALTH_LISTEN")]
    pub health_listen: Option<SocketAddr>,
    /// Close each connection this long after it opened (HTTP/2 GOAWAY: calls in flight finish,
    /// the client reconnects, perhaps to another replica), seconds. 0: connections live on.
    #[arg(long, env = "ALMO_MAX_CONNECTION_AGE_SECS", default_value_t = 0)]
    pub max_connection_age_secs: u64,
    /// After the GOAWAY, calls still open on the old connection get this long, seconds, before
    /// it is closed under them.
    #[arg(long, env = "ALMO_MAX_CONNECTION_AGE_GRACE_SECS", default_value_t = 30)]
    pub max_connection_age_grace_secs: u64,
    /// Ping each connection when it has been idle this long, seconds (HTTP/2 keep-alive), and
    /// close it if the ping is not answered: a peer gone away is noticed. 0: no pings.
    #[arg(long, env = "ALMO_HTTP2_KEEPALIVE_SECS", default_value_t = 60)]
    pub http2_keepalive_secs: u64,
    /// How long a keep-alive ping may go unanswered, seconds.
    #[arg(long, env = "ALMO_HTTP2_KEEPALIVE_TIMEOUT_SECS", default_value_t = 20)]
    pub http2_keepalive_timeout_secs: u64,
    /// Log format: text or json.
    #[arg(long, env = "ALMO_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

impl ServerArgs {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// The maximum connection age, if any.
    pub fn max_connection_age(&self) -> Option<Duration> {
        (self.max_connection_age_secs > 0)
            .then(|| Duration::from_secs(self.max_connection_age_secs))
    }

    /// How the port is served, in words for a start-up banner: `plaintext (loopback only)`,
    /// `TLS`, `mutual TLS`.
    pub fn transport(&self) -> String {
        if !self.tls.enabled() {
            if self.listen.ip().is_loopback() {
                "plaintext, loopback only (set ALMO_TLS_CERT and ALMO_TLS_KEY for TLS)".into()
            } else {
                "plaintext on a non-loopback address: tokens cross the network in clear \
                 (set ALMO_TLS_CERT and ALMO_TLS_KEY)"
                    .into()
            }
        } else if self.tls.tls_client_ca.is_some() {
            "mutual TLS".into()
        } else {
            "TLS".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DatabaseArgs;

    fn args(read: Option<&str>) -> DatabaseArgs {
        DatabaseArgs {
            database_url: "postgres://almo@primary/almo".into(),
            database_max_connections: 12,
            database_read_url: read.map(String::from),
        }
    }

    #[test]
    fn a_read_url_opens_a_read_only_pool_of_the_same_size() {
        let c = args(Some(" postgres://almo@replica/almo ")).read_connect_config();
        let c = c.expect("a read URL gives a read pool");
        assert_eq!(c.url, "postgres://almo@replica/almo");
        assert!(c.read_only);
        assert_eq!(c.max_connections, 12);
        assert!(
            !args(None).connect_config().read_only,
            "the primary's pool writes"
        );
    }

    #[test]
    fn no_read_url_or_a_blank_one_means_every_read_goes_to_the_primary() {
        assert!(args(None).read_connect_config().is_none());
        assert!(args(Some("  ")).read_connect_config().is_none());
    }
}

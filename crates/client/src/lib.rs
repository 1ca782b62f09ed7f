//! What every command-line client of the suite shares, so `almo plan`, `almo variances`,
//! `almo invoices`, `almo pi` and `almo inspections` speak one dialect: the server and token
//! flags, the connection (plaintext or TLS, with a client certificate for mutual TLS), how a refusal is printed, the exit codes (0 done, 1 refused, 2 bad
//! input), CSV files as Excel writes them, and progress on a terminal.

pub mod csv;
mod progress;
mod refusal;

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context, bail};
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

pub use progress::progress;
pub use refusal::{BadInput, Refused, exit_code, refusal};

/// Default server address of every client command: the suite's `almo up`.
pub const DEFAULT_ADDR: &str = "http://127.0.0.1:50051";

/// Which server to call and as whom: `--addr`/`ALMO_ADDR` and `--token`/`ALMO_TOKEN`, and how
/// to reach it over TLS.
#[derive(clap::Args, Clone, Debug)]
pub struct Target {
    /// The server: host:port, http://host:port, or https://host:port (TLS).
    #[arg(long, env = "ALMO_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: String,
    /// Bearer token (a JWT) identifying the caller and their organisation.
    #[arg(long, env = "ALMO_TOKEN", hide_env_values = true)]
    pub token: String,
    #[command(flatten)]
    pub tls: Tls,
}

/// TLS to the server: on with `--tls`, an `https://` address, `--ca` or `--cert`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Tls {
    /// Speak TLS to a host:port address (as an https:// address does).
    #[arg(long = "tls", env = "ALMO_TLS")]
    pub enabled: bool,
    /// PEM bundle of the authority that signed the server's certificate. Unset: the system's
    /// trusted roots and the public (Mozilla) roots.
    #[arg(long = "ca", env = "ALMO_TLS_CA")]
    pub ca: Option<PathBuf>,
    /// PEM client certificate, for a server that requires mutual TLS (with --key).
    #[arg(long = "cert", env = "ALMO_TLS_CLIENT_CERT", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long = "key", env = "ALMO_TLS_CLIENT_KEY", requires = "cert")]
    pub key: Option<PathBuf>,
    /// The name the server's certificate must carry, when the address does not say it (an IP
    /// address, a port-forward to localhost).
    #[arg(long = "tls-server-name", env = "ALMO_TLS_SERVER_NAME")]
    pub server_name: Option<String>,
}

impl Tls {
    /// Whether anything asks for TLS besides the address's scheme.
    fn requested(&self) -> bool {
        self.enabled || self.ca.is_some() || self.cert.is_some() || self.server_name.is_some()
    }

    /// rustls settings for a TLS connection: these roots, this identity, ALPN h2.
    pub fn client_config(&self) -> anyhow::Result<ClientTlsConfig> {
        let mut config = ClientTlsConfig::new();
        config = match &self.ca {
            Some(path) => config.ca_certificate(Certificate::from_pem(
                std::fs::read(path)
                    .with_context(|| format!("--ca {}: cannot read it", path.display()))?,
            )),
            None => config.with_enabled_roots(),
        };
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let cert_pem = std::fs::read(cert)
                    .with_context(|| format!("--cert {}: cannot read it", cert.display()))?;
                let key_pem = std::fs::read(key)
                    .with_context(|| format!("--key {}: cannot read it", key.display()))?;
                config = config.identity(Identity::from_pem(cert_pem, key_pem));
            }
            (None, None) => {}
            _ => bail!("--cert and --key go together"),
        }
        if let Some(name) = &self.server_name {
            config = config.domain_name(name.clone());
        }
        Ok(config)
    }
}

impl Target {
    /// `addr` as `token`, with TLS only if `addr` is `https://`.
    pub fn new(addr: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            addr: addr.into(),
            token: token.into(),
            tls: Tls::default(),
        }
    }

    /// The endpoint this target names, with its TLS settings.
    pub fn endpoint(&self) -> anyhow::Result<Endpoint> {
        endpoint_with(&self.addr, &self.tls)
    }

    /// A connection to the server.
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        self.endpoint()?
            .connect()
            .await
            .with_context(|| format!("cannot reach the server at {}", self.addr))
    }

    /// `msg` with this target's bearer token.
    pub fn request<T>(&self, msg: T) -> anyhow::Result<tonic::Request<T>> {
        authorised(msg, &self.token)
    }
}

/// The endpoint `addr` names: `host:port` or `http://host:port` (plaintext), `https://host:port`
/// (TLS, trusting the system's and the public roots).
pub fn endpoint(addr: &str) -> anyhow::Result<Endpoint> {
    endpoint_with(addr, &Tls::default())
}

/// The endpoint `addr` names, over TLS when `https://` or `tls` says so. An `http://` address
/// with TLS settings is refused rather than guessed at: one of the two is a mistake.
pub fn endpoint_with(addr: &str, tls: &Tls) -> anyhow::Result<Endpoint> {
    let addr = addr.trim();
    let (scheme, rest) = match addr.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, addr),
    };
    let secure = match scheme.as_deref() {
        Some("https") => true,
        Some("http") if tls.requested() => bail!(
            "server address {addr:?} is plaintext http:// but TLS was asked for (--tls, --ca, \
             --cert or --tls-server-name): use https://"
        ),
        Some("http") => false,
        None => tls.requested(),
        Some(other) => bail!(
            "server address {addr:?}: {other}:// is not a scheme this client speaks; use \
             host:port, http:// or https://"
        ),
    };
    let uri = format!("{}://{rest}", if secure { "https" } else { "http" });
    let mut endpoint = Endpoint::from_str(&uri)
        .with_context(|| {
            format!("server address {addr:?} is not host:port or http(s)://host:port")
        })?
        .tcp_nodelay(true);
    if secure {
        endpoint = endpoint
            .tls_config(tls.client_config()?)
            .with_context(|| format!("TLS settings for {addr}"))?;
    }
    Ok(endpoint)
}

/// Connects to the server at `addr`.
pub async fn connect(addr: &str) -> anyhow::Result<Channel> {
    endpoint(addr)?
        .connect()
        .await
        .with_context(|| format!("cannot reach the server at {addr}"))
}

/// `msg` with `authorization: Bearer <token>`.
pub fn authorised<T>(msg: T, token: &str) -> anyhow::Result<tonic::Request<T>> {
    let mut req = tonic::Request::new(msg);
    let value = MetadataValue::try_from(format!("Bearer {}", token.trim()))
        .context("the token has characters a header cannot carry")?;
    req.metadata_mut().insert("authorization", value);
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_or_without_a_scheme_name_the_same_server() {
        let a = endpoint("127.0.0.1:50051").unwrap();
        let b = endpoint("http://127.0.0.1:50051").unwrap();
        assert_eq!(a.uri(), b.uri());
        assert!(endpoint("ftp://x").is_err());
    }

    #[test]
    fn https_or_a_tls_flag_means_tls_and_http_with_tls_flags_is_a_mistake() {
        assert_eq!(
            endpoint("https://almo.example:443")
                .unwrap()
                .uri()
                .scheme_str(),
            Some("https")
        );
        let tls = Tls {
            enabled: true,
            ..Tls::default()
        };
        let e = endpoint_with("almo.example:443", &tls).unwrap();
        assert_eq!(e.uri().scheme_str(), Some("https"));
        assert_eq!(e.uri().host(), Some("almo.example"));
        assert!(endpoint_with("http://almo.example:443", &tls).is_err());
        let missing_ca = Tls {
            ca: Some("/nonexistent/ca.pem".into()),
            ..Tls::default()
        };
        let e = endpoint_with("almo.example:443", &missing_ca).unwrap_err();
        assert!(
            format!("{e:#}").contains("--ca /nonexistent/ca.pem"),
            "{e:#}"
        );
    }

    #[test]
    fn target_flags_and_environment_name_the_tls_settings() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            target: Target,
        }
        let cli = Cli::try_parse_from([
            "almo",
            "--addr",
            "almo.example:443",
            "--token",
            "t",
            "--ca",
            "ca.pem",
            "--cert",
            "c.pem",
            "--key",
            "k.pem",
        ])
        .unwrap();
        assert_eq!(cli.target.tls.ca, Some("ca.pem".into()));
        assert!(cli.target.tls.requested());
        assert!(Cli::try_parse_from(["almo", "--token", "t", "--cert", "c.pem"]).is_err());
        let plain = Cli::try_parse_from(["almo", "--token", "t"]).unwrap();
        assert!(!plain.target.tls.requested());
        assert_eq!(
            plain.target.endpoint().unwrap().uri().scheme_str(),
            Some("http")
        );
    }

    #[test]
    fn requests_carry_the_bearer_token() {
        let r = authorised((), " abc ").unwrap();
        assert_eq!(r.metadata().get("authorization").unwrap(), "Bearer abc");
        assert!(authorised((), "a\nb").is_err());
    }
}

//! What every command-line client of the suite shares, so `almo plan`, `almo variances`,
//! `almo invoices`, `almo pi` and `almo inspections` speak one dialect: the server and token
//! flags, the connection, how a refusal is printed, the exit codes (0 done, 1 refused, 2 bad
//! input), CSV files as Excel writes them, and progress on a terminal.

pub mod csv;
mod progress;
mod refusal;

use std::str::FromStr;

use anyhow::Context;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

pub use progress::progress;
pub use refusal::{BadInput, Refused, exit_code, refusal};

/// Default server address of every client command: the suite's `almo up`.
pub const DEFAULT_ADDR: &str = "http://127.0.0.1:50051";

/// Which server to call and as whom: `--addr`/`ALMO_ADDR` and `--token`/`ALMO_TOKEN`.
#[derive(clap::Args, Clone, Debug)]
pub struct Target {
    /// The server: host:port, with or without http://.
    #[arg(long, env = "ALMO_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: String,
    /// Bearer token (a JWT) identifying the caller and their organisation.
    #[arg(long, env = "ALMO_TOKEN", hide_env_values = true)]
    pub token: String,
}

impl Target {
    pub fn new(addr: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            addr: addr.into(),
            token: token.into(),
        }
    }

    /// A connection to the server.
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        connect(&self.addr).await
    }

    /// `msg` with this target's bearer token.
    pub fn request<T>(&self, msg: T) -> anyhow::Result<tonic::Request<T>> {
        authorised(msg, &self.token)
    }
}

/// The endpoint `addr` names: `host:port`, `http://host:port`; `https://` is refused until the
/// client carries TLS, rather than silently sending the token in clear.
pub fn endpoint(addr: &str) -> anyhow::Result<Endpoint> {
    let addr = addr.trim();
    let uri = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    };
    if !uri.starts_with("http://") {
        anyhow::bail!(
            "server address {addr:?}: only plaintext http:// (or host:port) is supported by this client"
        );
    }
    Ok(Endpoint::from_str(&uri)
        .with_context(|| format!("server address {addr:?} is not host:port or http://host:port"))?
        .tcp_nodelay(true))
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
        assert!(endpoint("https://example:443").is_err());
    }

    #[test]
    fn requests_carry_the_bearer_token() {
        let r = authorised((), " abc ").unwrap();
        assert_eq!(r.metadata().get("authorization").unwrap(), "Bearer abc");
        assert!(authorised((), "a\nb").is_err());
    }
}

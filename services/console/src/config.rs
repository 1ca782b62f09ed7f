//! The console's settings: flags or `ALMO_CONSOLE_*` environment variables, with defaults that
//! run on a laptop beside `almo up`.

use std::net::SocketAddr;

/// The suite's built-in development secret (`almo_server::DEV_SECRET`; a test keeps them equal).
/// The development sign-in mints tokens with it and nothing else, so it only ever works against
/// services that accept development tokens.
pub const DEV_SECRET: &str = "almo-exchange-development-secret-not-for-production";
/// The issuer of development tokens (`almo_server::DEV_ISSUER`).
pub const DEV_ISSUER: &str = "almo-dev";
/// The audience the services require by default.
pub const DEV_AUDIENCE: &str = "almo-exchange";

/// How the console runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the console listens.
    pub listen: SocketAddr,
    /// The gRPC suite, e.g. `http://127.0.0.1:50051` (`almo up` serves every service there).
    pub backend: String,
    /// Services served elsewhere (one container each): (service, address).
    pub service_addrs: Vec<(Service, String)>,
    /// The request header carrying the user's access token from the sign-in proxy
    /// (oauth2-proxy's `X-Forwarded-Access-Token`), lower case.
    pub token_header: String,
    /// Whether the development sign-in page is offered (development tokens only).
    pub dev_sign_in: bool,
    /// Whether cookies are `Secure` (always, except on a loopback address).
    pub secure_cookies: bool,
    /// For `https://` services: the CA (PEM) their certificates chain to; none: the public roots.
    pub tls_ca: Option<std::path::PathBuf>,
    /// For `https://` services: the name their certificates carry, when not the address's host.
    pub tls_server_name: Option<String>,
}

impl Config {
    /// Defaults for a console on `listen` in front of `backend`.
    pub fn new(listen: SocketAddr, backend: impl Into<String>, dev_sign_in: bool) -> Self {
        Self {
            listen,
            backend: backend.into(),
            service_addrs: vec![],
            token_header: "x-forwarded-access-token".into(),
            dev_sign_in,
            secure_cookies: !listen.ip().is_loopback(),
            tls_ca: None,
            tls_server_name: None,
        }
    }
}

/// The services the console calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Directory,
    DeliveryPlan,
    SlaCharging,
    PiReturns,
    Inspection,
}

impl Config {
    /// Where `service` is served.
    pub fn address_of(&self, service: Service) -> &str {
        self.service_addrs
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, a)| a.as_str())
            .unwrap_or(&self.backend)
    }
}

fn with_scheme(addr: &str) -> String {
    if addr.contains("://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    }
}

/// The console's command line (`almo-console`).
#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleArgs {
    /// Listening address for the web console.
    #[arg(long, env = "ALMO_CONSOLE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The gRPC suite the console calls.
    #[arg(
        long,
        env = "ALMO_CONSOLE_BACKEND",
        default_value = "http://127.0.0.1:50051"
    )]
    pub backend: String,
    /// The header in which the sign-in proxy forwards the user's access token.
    #[arg(
        long,
        env = "ALMO_CONSOLE_TOKEN_HEADER",
        default_value = "X-Forwarded-Access-Token"
    )]
    pub token_header: String,
    /// Offer the development sign-in page (pick a demo organisation and role; tokens signed
    /// with the built-in development secret, which only a development suite accepts).
    #[arg(long, env = "ALMO_CONSOLE_DEV_SIGN_IN", default_value_t = false)]
    pub dev_sign_in: bool,
    /// The directory, when not at --backend (each service in its own container).
    #[arg(long, env = "ALMO_CONSOLE_DIRECTORY_ADDR")]
    pub directory_addr: Option<String>,
    /// Delivery plans, when not at --backend.
    #[arg(long, env = "ALMO_CONSOLE_DELIVERY_PLAN_ADDR")]
    pub delivery_plan_addr: Option<String>,
    /// SLA charging, when not at --backend.
    #[arg(long, env = "ALMO_CONSOLE_SLA_CHARGING_ADDR")]
    pub sla_charging_addr: Option<String>,
    /// PI returns, when not at --backend.
    #[arg(long, env = "ALMO_CONSOLE_PI_RETURNS_ADDR")]
    pub pi_returns_addr: Option<String>,
    /// Inspection scheduling, when not at --backend.
    #[arg(long, env = "ALMO_CONSOLE_INSPECTION_ADDR")]
    pub inspection_addr: Option<String>,
    /// The CA (PEM file) the services' TLS certificates chain to, for https:// addresses;
    /// unset: the public (webpki) roots.
    #[arg(long, env = "ALMO_CONSOLE_TLS_CA")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// The name the services' certificates carry, when not the address's host.
    #[arg(long, env = "ALMO_CONSOLE_TLS_SERVER_NAME")]
    pub tls_server_name: Option<String>,
    /// Mark cookies `Secure`; default: yes unless listening on loopback.
    #[arg(long, env = "ALMO_CONSOLE_SECURE_COOKIES")]
    pub secure_cookies: Option<bool>,
}

impl ConsoleArgs {
    pub fn config(&self) -> Config {
        let mut c = Config::new(self.listen, self.backend.clone(), self.dev_sign_in);
        c.token_header = self.token_header.to_ascii_lowercase();
        if let Some(secure) = self.secure_cookies {
            c.secure_cookies = secure;
        }
        c.backend = with_scheme(&c.backend);
        c.tls_ca = self.tls_ca.clone();
        c.tls_server_name = self
            .tls_server_name
            .clone()
            .filter(|n| !n.trim().is_empty());
        for (service, addr) in [
            (Service::Directory, &self.directory_addr),
            (Service::DeliveryPlan, &self.delivery_plan_addr),
            (Service::SlaCharging, &self.sla_charging_addr),
            (Service::PiReturns, &self.pi_returns_addr),
            (Service::Inspection, &self.inspection_addr),
        ] {
            if let Some(a) = addr.as_deref().filter(|a| !a.trim().is_empty()) {
                c.service_addrs.push((service, with_scheme(a.trim())));
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        console: ConsoleArgs,
    }

    #[test]
    fn cookies_are_secure_unless_the_console_listens_on_loopback() {
        let local = Config::new("127.0.0.1:8080".parse().unwrap(), "http://x:1", false);
        assert!(!local.secure_cookies);
        let open = Config::new("0.0.0.0:8080".parse().unwrap(), "http://x:1", false);
        assert!(open.secure_cookies);
    }

    #[test]
    fn each_service_has_its_address_or_the_backend() {
        let c = Cli::parse_from([
            "almo-console",
            "--backend",
            "suite:50051",
            "--delivery-plan-addr",
            "plans:50051",
            "--token-header",
            "X-Auth-Request-Access-Token",
        ])
        .console
        .config();
        assert_eq!(c.address_of(Service::DeliveryPlan), "http://plans:50051");
        assert_eq!(c.address_of(Service::Directory), "http://suite:50051");
        assert_eq!(c.token_header, "x-auth-request-access-token");
        assert!(!c.dev_sign_in, "development sign-in only when asked for");
    }
}

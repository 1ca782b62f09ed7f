//! The almo-exchange console: server-rendered pages (GOV.UK Design System patterns, no
//! JavaScript) for council and ALMO officers, finance, the regulator and the inspectorate.
//!
//! A backend-for-frontend: every page is one or a few gRPC calls to the suite, made with the
//! signed-in user's own token, so what a page shows is exactly what the services let that token
//! read. The console holds no database and nothing a second replica would need: the session is
//! the token itself (a development cookie, or the header the sign-in proxy forwards on every
//! request) and the CSRF token is a double-submit cookie.

pub mod api;
pub mod charts;
pub mod config;
mod layout;
mod pages;
pub mod session;
pub mod variance_csv;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

pub use config::{Config, ConsoleArgs, DEV_AUDIENCE, DEV_ISSUER, DEV_SECRET, Service};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: Config,
    pub channels: api::Channels,
}

impl AppState {
    /// The console for `config`; the connection to the services is made on first use.
    pub fn new(config: Config) -> anyhow::Result<Self> {
        let ca = match &config.tls_ca {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                anyhow::anyhow!(
                    "ALMO_CONSOLE_TLS_CA {}: cannot read it: {e}",
                    path.display()
                )
            })?),
            None => None,
        };
        let channel = |service| -> anyhow::Result<Channel> {
            let addr = config.address_of(service).to_string();
            let mut endpoint = Endpoint::from_shared(addr.clone())?
                .tcp_nodelay(true)
                .connect_timeout(std::time::Duration::from_secs(5))
                .timeout(std::time::Duration::from_secs(60));
            if addr.starts_with("https://") {
                let mut tls = ClientTlsConfig::new();
                tls = match &ca {
                    Some(pem) => tls.ca_certificate(Certificate::from_pem(pem)),
                    None => tls.with_webpki_roots(),
                };
                if let Some(name) = &config.tls_server_name {
                    tls = tls.domain_name(name.clone());
                }
                endpoint = endpoint.tls_config(tls)?;
            }
            Ok(endpoint.connect_lazy())
        };
        let channels = api::Channels {
            directory: channel(config::Service::Directory)?,
            delivery_plan: channel(config::Service::DeliveryPlan)?,
            sla_charging: channel(config::Service::SlaCharging)?,
            pi_returns: channel(config::Service::PiReturns)?,
            inspection: channel(config::Service::Inspection)?,
        };
        Ok(Self {
            inner: Arc::new(Inner { config, channels }),
        })
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }
}

/// Every page of the console.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home::home))
        .route("/static/console.css", get(layout::stylesheet))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/sign-in",
            get(pages::sign_in::form).post(pages::sign_in::submit),
        )
        .route("/sign-out", post(pages::sign_in::sign_out))
        .route("/plans", get(pages::plans::list))
        .route("/plans/{plan_id}", get(pages::plans::dashboard))
        .route(
            "/plans/{plan_id}/exceptions/{exception_id}/report",
            post(pages::plans::report_exception),
        )
        .route(
            "/plans/{plan_id}/exceptions/{exception_id}/decision",
            post(pages::plans::decide_exception),
        )
        .route("/plans/{plan_id}/amendments", get(pages::amendments::list))
        .route(
            "/plans/{plan_id}/amendments/{amendment_id}/{decision}",
            post(pages::amendments::decide),
        )
        .route(
            "/plans/{plan_id}/variances",
            get(pages::variances::form).post(pages::variances::upload),
        )
        .route("/invoices", get(pages::finance::list))
        .route("/invoices/{invoice_id}", get(pages::finance::detail))
        .route("/benchmark", get(pages::regulator::benchmark))
        .route("/returns/outstanding", get(pages::regulator::outstanding))
        .route(
            "/management-models",
            get(pages::management_models::management_models),
        )
        .route("/return", get(pages::regulator::return_page))
        .route("/calendar", get(pages::inspectorate::calendar))
        .route("/slots", get(pages::inspectorate::slots))
        .route(
            "/inspections/{inspection_id}",
            get(pages::inspectorate::inspection),
        )
        .route("/invoices.csv", get(pages::finance::feed_csv))
        .route("/agreements", get(pages::finance::agreements))
        .fallback(pages::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(
            session::MAX_UPLOAD_BYTES,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::protect,
        ))
        .with_state(state)
}

/// Serves the console on `listener` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(AppState::new(config)?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

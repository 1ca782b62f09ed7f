//! `almo-delivery-plan`: the delivery-plan service on its own, for its container.

use std::net::SocketAddr;
use std::process::ExitCode;

use almo_server::ServerArgs;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "almo-delivery-plan",
    about = "almo.delivery_plan.v1.DeliveryPlanService",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Exit 0 when the server at ADDR reports SERVING (the container's health check).
    Healthcheck {
        #[arg(long, env = "ALMO_HEALTHCHECK_ADDR", default_value = "127.0.0.1:50051")]
        addr: SocketAddr,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    if let Some(Command::Healthcheck { addr }) = cli.command {
        return Ok(almo_server::healthcheck(addr, almo_delivery_plan::SERVICE_NAME.into()).await);
    }
    let _telemetry = almo_telemetry::init("almo-delivery-plan", cli.server.log_format)?;
    let ctx = almo_server::connect_context(&cli.server).await?;
    almo_server::run_until_signal(&cli.server, ctx, vec![almo_delivery_plan::mount()]).await?;
    Ok(ExitCode::SUCCESS)
}

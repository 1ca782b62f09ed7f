//! `almo-pi-returns`: the PI returns service on its own, for its container.

use almo_server::ServerArgs;
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "almo-pi-returns",
    about = "almo.pi_returns.v1.PiReturnsService",
    version
)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = almo_telemetry::init("almo-pi-returns", cli.server.log_format)?;
    let ctx = almo_server::connect_context(&cli.server).await?;
    almo_server::run_until_signal(&cli.server, ctx, vec![almo_pi_returns::mount()]).await
}

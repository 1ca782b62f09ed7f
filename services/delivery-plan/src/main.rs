//! `almo-delivery-plan`: the delivery-plan service on its own, for its container.

use almo_server::ServerArgs;
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "almo-delivery-plan",
    about = "almo.delivery_plan.v1.DeliveryPlanService",
    version
)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = almo_telemetry::init("almo-delivery-plan", cli.server.log_format)?;
    let ctx = almo_server::connect_context(&cli.server).await?;
    almo_server::run_until_signal(&cli.server, ctx, vec![almo_delivery_plan::mount()]).await
}

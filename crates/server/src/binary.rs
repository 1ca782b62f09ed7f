//! The `main` of every single-service binary (`almo-directory`, `almo-delivery-plan`, ...): the
//! same flags, the container's health check, telemetry, and the server until a signal.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::{ServerArgs, ServiceMount};

#[derive(Parser)]
#[command(version)]
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

/// Runs the binary `binary` serving the one service that `mount` adds; its `--help` names the
/// service.
pub fn service_main(binary: &'static str, mount: fn() -> ServiceMount) -> ExitCode {
    service_main_with(binary, move || vec![mount()])
}

/// As [`service_main`], serving the service of the first of `mounts` with the others beside it
/// on the same port (its Flight datasets): the first is the one `--help` and the health check
/// name.
pub fn service_main_with(
    binary: &'static str,
    mounts: impl Fn() -> Vec<ServiceMount> + Send + 'static,
) -> ExitCode {
    let service = mounts()
        .first()
        .map(|m| m.name)
        .expect("a service binary mounts at least one service");
    let matches = Cli::command().name(binary).about(service).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{binary}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        if let Some(Command::Healthcheck { addr }) = cli.command {
            return Ok(crate::healthcheck(addr, service.into()).await);
        }
        let _telemetry = almo_telemetry::init(binary, cli.server.log_format)?;
        let ctx = crate::connect_context(&cli.server).await?;
        crate::run_until_signal(&cli.server, ctx, mounts()).await?;
        anyhow::Ok(ExitCode::SUCCESS)
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:?}");
            ExitCode::FAILURE
        }
    }
}

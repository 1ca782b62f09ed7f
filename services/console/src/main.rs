//! `almo-console`: the web console, a client of the gRPC suite (see the crate's docs).
//! `almo-console healthcheck` is the container probe: exit 0 when the console answers.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser)]
#[command(name = "almo-console", version, about = "almo-exchange web console")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    console: almo_console::ConsoleArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Exit 0 when the console at ADDR answers /healthz, 1 otherwise.
    Healthcheck {
        #[arg(
            long,
            env = "ALMO_CONSOLE_HEALTHCHECK_ADDR",
            default_value = "127.0.0.1:8080"
        )]
        addr: SocketAddr,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Healthcheck { addr }) = cli.command {
        return match healthcheck(addr).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("almo-console healthcheck: {e}");
                ExitCode::FAILURE
            }
        };
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli.console.config()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("almo-console: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: almo_console::Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    eprintln!(
        "almo-console on http://{} (services: {}{})",
        listener.local_addr()?,
        config.backend,
        if config.dev_sign_in {
            ", development sign-in"
        } else {
            ""
        }
    );
    almo_console::serve(config, listener, shutdown_signal()).await
}

async fn healthcheck(addr: SocketAddr) -> anyhow::Result<()> {
    let check = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut head = vec![];
        s.read_to_end(&mut head).await?;
        anyhow::Ok(head)
    };
    let head = tokio::time::timeout(std::time::Duration::from_secs(5), check).await??;
    if head.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        anyhow::bail!("{addr} did not answer 200")
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

//! `almo`: the suite binary. `almo up` runs every built service in one process on the embedded
//! SQLite default; `almo migrate` prepares a production database; `almo token` mints development
//! tokens; `almo healthcheck` is the container probe.

use std::net::SocketAddr;
use std::process::ExitCode;

use almo_auth::{Minter, Role, TokenRequest};
use almo_server::{AuthArgs, DatabaseArgs, ServerArgs, ServiceMount};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

mod backup;
mod bulk;
mod flight;
mod pi;

#[derive(Parser)]
#[command(
    name = "almo",
    version,
    about = "almo-exchange: councils and ALMOs exchanging their data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of `Up`'s server settings costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run every service in one process (default 127.0.0.1:50051, SQLite under ./data).
    Up {
        /// Load the demo directory and the demo data of each service.
        #[arg(long)]
        demo: bool,
        /// Where the web console listens (`off`: no console). It signs in with development
        /// tokens only while the suite runs with the built-in development secret.
        #[arg(long, env = "ALMO_CONSOLE_LISTEN", default_value = "127.0.0.1:8080")]
        console_listen: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Apply pending database migrations and load the shipped reference data (the PI indicator
    /// catalogue, which delivery plans check PI targets against), then exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Mint a development token (HS256 with the configured development secret only).
    Token {
        /// The organisation's directory id, e.g. E09000022 or LAMBETH-LIVING.
        #[arg(long)]
        org: String,
        /// council_officer, council_finance, almo_officer, almo_finance, regulator,
        /// inspectorate or admin.
        #[arg(long)]
        role: String,
        /// The person or system (default: ROLE@ORG).
        #[arg(long)]
        subject: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 8 * 3600)]
        ttl_secs: u64,
        #[command(flatten)]
        auth: AuthArgs,
    },
    /// Inspection scheduling, as a client of a running server.
    Inspections {
        #[command(subcommand)]
        command: InspectionsCommand,
    },
    /// PI returns: export a year's returns to CSV, submit a return from CSV.
    Pi {
        #[command(subcommand)]
        command: pi::PiCommand,
    },
    /// The PI indicator catalogue: import new definitions from a file.
    Catalogue {
        #[command(subcommand)]
        command: pi::CatalogueCommand,
    },
    /// Delivery-plan variances: `almo variances push FILE.csv --plan PLAN` (format in its help).
    Variances {
        #[command(subcommand)]
        command: almo_delivery_plan::cli::VariancesCommand,
    },
    /// Delivery plans: `almo plan status --plan PLAN`, `almo plan amend --plan PLAN --target ...`.
    Plan {
        #[command(subcommand)]
        command: almo_delivery_plan::cli::PlanCommand,
    },
    /// SLA invoices for ALMO finance.
    Invoices {
        #[command(subcommand)]
        command: InvoicesCommand,
    },
    /// Back up the SQLite database while the suite serves: a consistent copy (VACUUM INTO),
    /// checked (integrity, rows per table, migration level). PostgreSQL: use pg_dump or WAL
    /// archiving (README, "Backup and restore").
    Backup(backup::BackupArgs),
    /// Restore a backup made by `almo backup` into a SQLite database no process is using; a
    /// backup from an older almo is migrated.
    Restore(backup::RestoreArgs),
    /// Exit 0 when the server at ADDR reports SERVING (gRPC health protocol), 1 otherwise.
    Healthcheck {
        #[arg(long, env = "ALMO_HEALTHCHECK_ADDR", default_value = "127.0.0.1:50051")]
        addr: SocketAddr,
        /// One service's health; empty for the whole server.
        #[arg(long, default_value = "")]
        service: String,
    },
}

#[derive(Subcommand)]
enum InspectionsCommand {
    /// Print an iCalendar (RFC 5545) file of one ALMO's or one inspector's inspections.
    Calendar {
        /// The ALMO, e.g. LAMBETH-LIVING.
        #[arg(
            long,
            required_unless_present = "inspector",
            conflicts_with = "inspector"
        )]
        almo: Option<String>,
        /// The inspector, e.g. LEAD-HUGHES (inspectorate tokens only).
        #[arg(long)]
        inspector: Option<String>,
        #[command(flatten)]
        target: almo_client::Target,
    },
    /// Move a booking not yet on site to another week, with its team or a new one.
    Move {
        /// The inspection, e.g. LEEDS-ENE-HOMES-2007-10-22.
        inspection: String,
        /// The new Monday the team arrives (YYYY-MM-DD).
        #[arg(long)]
        week: String,
        /// The team for the new week, comma-separated; omitted to keep the team as booked.
        #[arg(long, value_delimiter = ',')]
        team: Vec<String>,
        #[command(flatten)]
        write: InspectionWriteArgs,
    },
    /// Cancel a booking not yet on site; it is kept, cancelled, with the reason.
    Cancel {
        /// The inspection.
        inspection: String,
        /// Why (required, at most 500 characters).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        write: InspectionWriteArgs,
    },
    /// Replace one member of a booking's team for the same week.
    ReplaceMember {
        /// The inspection.
        inspection: String,
        /// The inspector leaving the team.
        #[arg(long)]
        leaving: String,
        /// The inspector joining in their place.
        #[arg(long)]
        joining: String,
        #[command(flatten)]
        write: InspectionWriteArgs,
    },
}

/// What every change to a booking needs: the server, a token, the etag, a request id.
#[derive(clap::Args)]
struct InspectionWriteArgs {
    /// The server and an inspectorate token (see `almo token`).
    #[command(flatten)]
    target: almo_client::Target,
    /// The inspection's etag as last read; omitted to use its current one.
    #[arg(long)]
    etag: Option<String>,
    /// Idempotency key: the same key again replays the first answer. Omitted: a new one.
    #[arg(long)]
    request_id: Option<String>,
}

impl InspectionWriteArgs {
    fn server(&self) -> almo_inspection_scheduling::cli::Server {
        self.target.clone()
    }

    fn request_id(&self) -> String {
        self.request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    }
}

#[derive(Subcommand)]
enum InvoicesCommand {
    /// Pull every invoice issued or credited since a watermark into a CSV or JSON Lines file
    /// (one row per invoice line; amounts in integer pence; credit-note lines negative). Prints the watermark to pass as
    /// --since next time.
    Pull {
        /// The server and a token for ALMO (or council) finance, e.g. from `almo token`.
        #[command(flatten)]
        target: almo_client::Target,
        /// The watermark printed by the last pull; empty for everything.
        #[arg(long, default_value = "")]
        since: String,
        /// Only this ALMO's invoices (a council pulling for one of its ALMOs).
        #[arg(long, default_value = "")]
        almo: String,
        /// csv, json (JSON Lines) or parquet (the Flight dataset sla.invoice_lines' schema).
        #[arg(long, default_value = "csv")]
        format: almo_sla_charging::pull::Format,
        /// The file to write.
        #[arg(long)]
        output: std::path::PathBuf,
    },
}

/// The services this build carries. Services not built yet are simply not mounted.
fn mounts() -> Vec<ServiceMount> {
    vec![
        almo_directory::mount(),
        almo_delivery_plan::mount(),
        almo_sla_charging::mount(),
        almo_pi_returns::mount(),
        almo_inspection_scheduling::mount(),
        flight::mount(),
    ]
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("almo: {e:#}");
            // 2 for bad input (a file's line, a flag), 1 for a refusal or anything else.
            almo_client::exit_code(&e)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Up {
            demo,
            console_listen,
            server,
        } => {
            let _telemetry = almo_telemetry::init("almo", server.log_format)?;
            let ctx = almo_server::connect_context(&server).await?;
            ctx.db.migrate().await.context("applying migrations")?;
            // Delivery plans check PI targets against the indicator catalogue, which must be
            // there before the first plan is created, not only once PI returns is first called.
            almo_pi_returns::seed_catalogue(ctx.db.conn())
                .await
                .context("loading the indicator catalogue")?;
            if demo {
                almo_directory::demo::seed(&ctx.db)
                    .await
                    .context("loading the demo directory")?;
                almo_delivery_plan::demo::seed(&ctx.db)
                    .await
                    .context("loading the demo delivery plan")?;
                almo_pi_returns::demo::seed(&ctx.db)
                    .await
                    .context("loading the PI returns demo")?;
                almo_inspection_scheduling::demo::seed(&ctx.db)
                    .await
                    .context("loading the inspection scheduling demo")?;
                almo_sla_charging::demo::seed(&ctx.db)
                    .await
                    .context("loading the demo SLA agreements and invoices")?;
                tracing::info!("demo data loaded");
            }
            print_welcome(&server, demo);
            start_console(&server, &console_listen).await?;
            almo_server::run_until_signal(&server, ctx, mounts()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { database } => {
            let _telemetry = almo_telemetry::init("almo", Default::default())?;
            let db = almo_db::connect(&database.connect_config())
                .await
                .with_context(|| {
                    format!("cannot open {}", almo_db::redact(&database.database_url))
                })?;
            db.migrate().await.context("applying migrations")?;
            // The standalone delivery-plan service checks PI targets against the catalogue:
            // load it here, with the schema, not only when PI returns is first called.
            almo_pi_returns::seed_catalogue(db.conn())
                .await
                .context("loading the indicator catalogue")?;
            eprintln!(
                "migrations applied and indicator catalogue loaded: {}",
                almo_db::redact(&database.database_url)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            org,
            role,
            subject,
            ttl_secs,
            auth,
        } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let Some(secret) = auth.hs256_secret()? else {
                bail!(
                    "almo token mints development tokens only, and this configuration verifies \
                     {} tokens from an identity provider",
                    auth.jwt_algorithm
                );
            };
            let minter = Minter::new(&secret, &auth.jwt_issuer, &auth.jwt_audience);
            println!(
                "{}",
                minter.mint(&TokenRequest {
                    subject: subject.unwrap_or_else(|| format!("{role}@{org}")),
                    organisation_id: org,
                    role,
                    ttl_secs,
                })
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspections { command } => {
            print!("{}", run_inspections(command).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Pi { command } => {
            pi::run(command).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Variances { command } => almo_delivery_plan::cli::run(command).await,
        Command::Plan { command } => almo_delivery_plan::cli::run_plan(command).await,
        Command::Catalogue { command } => {
            pi::run_catalogue(command).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Invoices {
            command:
                InvoicesCommand::Pull {
                    target,
                    since,
                    almo,
                    format,
                    output,
                },
        } => {
            let file = std::fs::File::create(&output)
                .with_context(|| format!("cannot write {}", output.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let bar = almo_client::progress(None, "invoice events");
            let pulled = almo_sla_charging::pull::pull_from(
                &target,
                &since,
                &almo,
                format,
                &mut out,
                |events| bar.set_position(events),
            )
            .await?;
            bar.finish_and_clear();
            eprintln!(
                "{} events, {} rows written to {}; next time: --since {}",
                pulled.events,
                pulled.rows,
                output.display(),
                pulled.watermark
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup(args) => backup::run_backup(args).await,
        Command::Restore(args) => backup::run_restore(args).await,
        Command::Healthcheck { addr, service } => Ok(almo_server::healthcheck(addr, service).await),
    }
}

/// `almo inspections ...`: what to print (an iCalendar file, or one line saying what changed).
async fn run_inspections(command: InspectionsCommand) -> anyhow::Result<String> {
    use almo_inspection_scheduling::cli;
    let changed = match command {
        InspectionsCommand::Calendar {
            almo,
            inspector,
            target,
        } => {
            let owner = match (almo, inspector) {
                (Some(a), _) => cli::CalendarOwner::Almo(a),
                (None, Some(i)) => cli::CalendarOwner::Inspector(i),
                (None, None) => bail!("--almo or --inspector"),
            };
            return cli::export_calendar(&target, owner).await;
        }
        InspectionsCommand::Move {
            inspection,
            week,
            team,
            write,
        } => {
            let etag = write.etag.as_deref();
            cli::move_inspection(
                &write.server(),
                &inspection,
                &week,
                &team,
                etag,
                &write.request_id(),
            )
            .await?
        }
        InspectionsCommand::Cancel {
            inspection,
            reason,
            write,
        } => {
            let etag = write.etag.as_deref();
            cli::cancel_inspection(
                &write.server(),
                &inspection,
                &reason,
                etag,
                &write.request_id(),
            )
            .await?
        }
        InspectionsCommand::ReplaceMember {
            inspection,
            leaving,
            joining,
            write,
        } => {
            let (server, etag) = (write.server(), write.etag.as_deref());
            cli::replace_team_member(
                &server,
                &inspection,
                &leaving,
                &joining,
                etag,
                &write.request_id(),
            )
            .await?
        }
    };
    Ok(format!("{changed}\n"))
}

/// Starts the web console beside the services, as a client of them on their address. A port
/// already in use is reported, not fatal: the services are what `almo up` is for.
async fn start_console(server: &ServerArgs, listen: &str) -> anyhow::Result<()> {
    if listen.trim() == "off" {
        return Ok(());
    }
    let listen: SocketAddr = listen
        .trim()
        .parse()
        .with_context(|| format!("ALMO_CONSOLE_LISTEN {listen:?} is not an address"))?;
    if server.tls.tls_cert.is_some() {
        // The console would need the CA of the suite's certificate: run almo-console with
        // ALMO_CONSOLE_TLS_CA instead.
        eprintln!(
            "  console: not started: the suite serves TLS; run almo-console with \
             ALMO_CONSOLE_BACKEND=https://... and ALMO_CONSOLE_TLS_CA"
        );
        return Ok(());
    }
    let mut backend = server.listen;
    if backend.ip().is_unspecified() {
        backend.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let dev_sign_in = server.auth.using_dev_secret()
        && server.auth.jwt_issuer == almo_console::DEV_ISSUER
        && server.auth.jwt_audience == almo_console::DEV_AUDIENCE;
    let config = almo_console::Config::new(listen, format!("http://{backend}"), dev_sign_in);
    match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => {
            eprintln!("  console: http://{}", listener.local_addr()?);
            tokio::spawn(async move {
                if let Err(e) = almo_console::serve(config, listener, std::future::pending()).await
                {
                    tracing::error!(error = %e, "the console stopped");
                }
            });
        }
        Err(e) => eprintln!("  console: not started, cannot listen on {listen}: {e}"),
    }
    Ok(())
}

fn print_welcome(server: &ServerArgs, demo: bool) {
    let addr = server.listen;
    eprintln!(
        "almo-exchange is starting on {addr}, {}",
        server.transport()
    );
    eprintln!(
        "  services: {}",
        mounts()
            .iter()
            .map(|m| m.name)
            .collect::<Vec<_>>()
            .join(", ")
    );
    eprintln!(
        "  database: {}",
        almo_db::redact(&server.database.database_url)
    );
    if demo {
        eprintln!("  try:");
        eprintln!(
            "    TOKEN=$(cargo run -q -p almo -- token --org E09000022 --role council_officer)"
        );
        eprintln!(
            "    grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" {addr} \
             almo.directory.v1.DirectoryService/WhoAmI"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn inspections_move_reads_the_team_as_a_comma_separated_list() {
        let cli = Cli::try_parse_from([
            "almo",
            "inspections",
            "move",
            "LEEDS-ENE-HOMES-2007-10-22",
            "--week",
            "2007-10-29",
            "--team",
            "LEAD-PATEL,INSP-WALSH",
            "--token",
            "t",
        ])
        .unwrap();
        let Command::Inspections {
            command:
                InspectionsCommand::Move {
                    inspection,
                    week,
                    team,
                    write,
                },
        } = cli.command
        else {
            panic!("not inspections move");
        };
        assert_eq!(inspection, "LEEDS-ENE-HOMES-2007-10-22");
        assert_eq!(week, "2007-10-29");
        assert_eq!(team, ["LEAD-PATEL", "INSP-WALSH"]);
        assert_eq!(write.etag, None);
        // A fresh idempotency key each time unless one is given.
        assert_ne!(write.request_id(), write.request_id());
    }

    #[test]
    fn inspections_cancel_needs_a_reason() {
        let without = Cli::try_parse_from(["almo", "inspections", "cancel", "X", "--token", "t"]);
        assert!(without.is_err());
        let with = Cli::try_parse_from([
            "almo",
            "inspections",
            "cancel",
            "X",
            "--reason",
            "postponed",
            "--request-id",
            "k-1",
            "--etag",
            "v3",
            "--token",
            "t",
        ])
        .unwrap();
        let Command::Inspections {
            command: InspectionsCommand::Cancel { reason, write, .. },
        } = with.command
        else {
            panic!("not inspections cancel");
        };
        assert_eq!(reason, "postponed");
        assert_eq!(write.request_id(), "k-1");
        assert_eq!(write.etag.as_deref(), Some("v3"));
    }
}

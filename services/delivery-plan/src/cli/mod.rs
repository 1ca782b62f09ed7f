//! The delivery-plan commands of the `almo` binary: `almo variances push` (a CSV file of
//! figures, [`variance_file`]; the push, [`variances`]) and `almo plan ...` ([`plan`]). Every
//! command names the server and the caller with `--addr`/`ALMO_ADDR` and `--token`/`ALMO_TOKEN`
//! ([`almo_client::Target`]), prints a refusal with the server's reason and fields, and exits 0
//! done, 1 refused, 2 bad input.

pub mod plan;
pub mod variance_file;
pub mod variances;

use std::process::ExitCode;

use almo_client::Target;

pub use plan::{
    decide_amendment, list_amendments, propose_target_change, render_amendments, render_status,
};
pub use variance_file::{BadRow, HEADER, NumberedRecords, parse_csv};
pub use variances::{PushReport, push_file};

/// The `almo variances ...` commands.
#[derive(clap::Subcommand, Debug)]
pub enum VariancesCommand {
    /// Push a CSV file of variance figures for one plan (see the format in `almo variances push --help`).
    ///
    /// Columns: sender_record_id,target_code,year,period,actual,forecast,commentary; year 2026 or
    /// 2026/27; period M1..M12 (April = M1) or Q1..Q4; forecast and commentary may be empty.
    Push {
        /// The CSV file.
        file: std::path::PathBuf,
        /// The plan, e.g. LAMBETH-LIVING-2026-2028.
        #[arg(long)]
        plan: String,
        /// The server, and a bearer token for a council officer (see `almo token`).
        #[command(flatten)]
        target: Target,
        /// Records per stream message.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// Write the variance history (every revision) of the plans you may see as Parquet: the
    /// Flight dataset delivery_plan.variances, read over Flight.
    Export {
        /// Only this plan, e.g. LAMBETH-LIVING-2026-2028.
        #[arg(long)]
        plan: Option<String>,
        /// Only this financial year: 2026/27 or 2026.
        #[arg(long)]
        year: Option<String>,
        /// The file format (parquet).
        #[arg(long, value_enum, default_value_t = ExportFormat::Parquet)]
        format: ExportFormat,
        /// The file to write.
        #[arg(long)]
        output: std::path::PathBuf,
        /// The server, and a bearer token for a council or ALMO officer.
        #[command(flatten)]
        target: Target,
    },
}

/// The file formats of `almo variances export`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    Parquet,
}

/// The `almo plan ...` commands.
#[derive(clap::Subcommand, Debug)]
pub enum PlanCommand {
    /// Create a plan (version 1) from a JSON file: council officers only. The file's format is
    /// in services/delivery-plan/README.md; the server names any field at fault.
    Create {
        /// The plan file.
        #[arg(long)]
        file: std::path::PathBuf,
        /// The server, and a bearer token for a council officer (see `almo token`).
        #[command(flatten)]
        target: Target,
    },
    /// Print a plan's dashboard: every target's latest status and trend, open exceptions and the
    /// Decent Homes countdown.
    Status {
        /// The plan, e.g. LAMBETH-LIVING-2026-2028.
        #[arg(long)]
        plan: String,
        /// The server, and a bearer token (see `almo token`).
        #[command(flatten)]
        target: Target,
    },
    /// Propose an amendment changing one target's figure for one year; the other party agrees
    /// or rejects it (AgreeAmendment / RejectAmendment).
    Amend {
        /// The plan, e.g. LAMBETH-LIVING-2026-2028.
        #[arg(long)]
        plan: String,
        /// The target's code, e.g. LOCAL-RELET.
        #[arg(long)]
        target: String,
        /// The financial year (2026 or 2026/27).
        #[arg(long)]
        year: String,
        /// The new target for that year.
        #[arg(long)]
        value: f64,
        /// When the change takes effect (ISO date).
        #[arg(long)]
        effective: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The server, and a bearer token for a council or ALMO officer (see `almo token`).
        #[command(flatten)]
        server: Target,
    },
    /// List a plan's amendments, newest first: id, state, who proposed it, against which version,
    /// when it takes effect and why.
    Amendments {
        /// The plan, e.g. LAMBETH-LIVING-2026-2028.
        #[arg(long)]
        plan: String,
        /// The server, and a bearer token (see `almo token`).
        #[command(flatten)]
        target: Target,
    },
    /// Agree the other party's amendment: the plan's next version comes into force.
    Agree(DecideArgs),
    /// Reject the other party's amendment (`--note` says why; required).
    Reject(DecideArgs),
    /// Withdraw your own amendment.
    Withdraw(DecideArgs),
}

/// Which amendment to decide, and how.
#[derive(clap::Args, Debug, Clone)]
pub struct DecideArgs {
    /// The plan, e.g. LAMBETH-LIVING-2026-2028.
    #[arg(long)]
    pub plan: String,
    /// The amendment's id (see `almo plan amendments`).
    #[arg(long)]
    pub amendment: String,
    /// A note; why, when rejecting.
    #[arg(long, default_value = "")]
    pub note: String,
    /// The amendment's etag as last read; read now when not given.
    #[arg(long)]
    pub etag: Option<String>,
    /// Idempotency key: send the same one to retry without acting twice. A new one when not given.
    #[arg(long)]
    pub request_id: Option<String>,
    /// The server, and a bearer token for the deciding party's officer (see `almo token`).
    #[command(flatten)]
    pub target: Target,
}

/// What to do with an amendment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Agree,
    Reject,
    Withdraw,
}

/// Runs an `almo variances ...` command; the exit code is 0 when every row was taken, 2 when
/// some were refused or unreadable.
pub async fn run(cmd: VariancesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        VariancesCommand::Push {
            file,
            plan,
            target,
            batch,
        } => {
            let mut err = std::io::stderr();
            let report = push_file(&target, &plan, &file, batch, &mut err).await?;
            Ok(variances::print_report(&report))
        }
        VariancesCommand::Export {
            plan,
            year,
            format: ExportFormat::Parquet,
            output,
            target,
        } => {
            let mut ticket = almo_flight::Ticket::new("delivery_plan.variances");
            for (key, value) in [("plan", plan), ("year", year)] {
                if let Some(v) = value {
                    ticket = ticket.with(key, v);
                }
            }
            let (bytes, rows) =
                almo_flight::parquet_of(target.channel().await?, &target.token, &ticket)
                    .await
                    .map_err(almo_client::refusal)?;
            std::fs::write(&output, bytes)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
            eprintln!("{rows} variance rows written to {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs an `almo plan ...` command.
pub async fn run_plan(cmd: PlanCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PlanCommand::Create { file, target } => plan::create_plan(&file, &target).await,
        PlanCommand::Status { plan, target } => {
            print!(
                "{}",
                render_status(&plan::plan_status(plan, &target).await?)
            );
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Amend {
            plan,
            target,
            year,
            value,
            effective,
            reason,
            server,
        } => {
            let a =
                propose_target_change(&server, &plan, &target, &year, value, &effective, &reason)
                    .await?;
            println!(
                "amendment {} proposed against version {} (etag {}); the other party agrees or rejects it",
                a.amendment_id, a.base_version, a.etag
            );
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Amendments { plan, target } => {
            let amendments = list_amendments(&target, &plan).await?;
            print!("{}", render_amendments(&amendments));
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Agree(args) => {
            let a = decide_amendment(Decision::Agree, &args).await?;
            println!(
                "amendment {} agreed: version {} of {} in force from {}",
                a.amendment_id, a.resulting_version, a.plan_id, a.effective_date
            );
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Reject(args) => {
            let a = decide_amendment(Decision::Reject, &args).await?;
            println!("amendment {} rejected: {}", a.amendment_id, a.decision_note);
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Withdraw(args) => {
            let a = decide_amendment(Decision::Withdraw, &args).await?;
            println!("amendment {} withdrawn", a.amendment_id);
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Parser, Debug)]
    enum Almo {
        Variances {
            #[command(subcommand)]
            command: VariancesCommand,
        },
        Plan {
            #[command(subcommand)]
            command: PlanCommand,
        },
    }

    #[test]
    fn the_flags_keep_their_names_and_the_target_comes_from_addr_and_token() {
        Almo::command().debug_assert();
        let cli = Almo::try_parse_from([
            "almo",
            "plan",
            "amend",
            "--plan",
            "P",
            "--target",
            "LOCAL-RELET",
            "--year",
            "2026/27",
            "--value",
            "35",
            "--effective",
            "2026-12-01",
            "--reason",
            "why",
            "--addr",
            "127.0.0.1:9",
            "--token",
            "t",
        ])
        .unwrap();
        let Almo::Plan {
            command: PlanCommand::Amend { target, server, .. },
        } = cli
        else {
            panic!("{cli:?}")
        };
        assert_eq!(target, "LOCAL-RELET");
        assert_eq!(
            (server.addr.as_str(), server.token.as_str()),
            ("127.0.0.1:9", "t")
        );
        let cli = Almo::try_parse_from([
            "almo",
            "variances",
            "push",
            "f.csv",
            "--plan",
            "P",
            "--token",
            "t",
            "--batch",
            "5",
        ])
        .unwrap();
        let Almo::Variances {
            command: VariancesCommand::Push { target, batch, .. },
        } = cli
        else {
            panic!("{cli:?}")
        };
        assert_eq!((target.token.as_str(), batch), ("t", 5));
        let cli = Almo::try_parse_from([
            "almo",
            "plan",
            "agree",
            "--plan",
            "P",
            "--amendment",
            "A",
            "--token",
            "t",
        ])
        .unwrap();
        let Almo::Plan {
            command: PlanCommand::Agree(args),
        } = cli
        else {
            panic!("{cli:?}")
        };
        assert_eq!(
            (args.amendment.as_str(), args.target.token.as_str()),
            ("A", "t")
        );
    }
}

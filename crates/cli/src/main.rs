//! `trailscan`: parses the command line and dispatches; each subcommand lives in `cmd/`.

use std::process::ExitCode;

use clap::Parser;

mod cmd;
mod exit_codes;
mod flags;
mod progress;
mod render;
mod settings;
mod shard_results;
mod summary;

use flags::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::LookupEvents(args) => cmd::lookup_events::run(args),
        Command::ValidateLogs(args) => cmd::validate_logs::run(args),
        Command::Acquire(args) => cmd::acquire::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Merge(args) => cmd::merge::run(args),
    };
    result.unwrap_or_else(|e| exit_codes::fatal(&e))
}

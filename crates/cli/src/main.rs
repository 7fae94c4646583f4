//! `trailscan`: parses the command line, turns it into the command's settings, and
//! dispatches; each subcommand lives in `cmd/`.

use std::process::ExitCode;

use clap::Parser;

mod cmd;
mod exit_codes;
mod flags;
mod generate;
mod print;
mod progress;
mod settings;
mod summary;

use flags::{Cli, Command};
use settings::{
    AcquireSettings, ExportSettings, HuntSettings, IndexSettings, LookupSettings, MergeSettings,
    SummarySettings, TraceSettings, ValidateSettings,
};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return exit_codes::command_line(&e),
    };
    if cli.debug {
        // Read where errors are worded (the storage seam), far from the flags.
        std::env::set_var("TRAILSCAN_DEBUG", "1");
    }
    if let Some(what) = &cli.generate {
        return generate::print(what).unwrap_or_else(|e| exit_codes::fatal(&e));
    }
    let Some(command) = &cli.command else {
        // Only --debug: what is there to do.
        let _ = <Cli as clap::CommandFactory>::command().print_help();
        return ExitCode::from(exit_codes::USAGE);
    };
    let result = match command {
        Command::LookupEvents(args) => {
            LookupSettings::new(args).and_then(|s| cmd::lookup_events::run(&s))
        }
        Command::ValidateLogs(args) => {
            ValidateSettings::new(args).and_then(|s| cmd::validate_logs::run(&s))
        }
        Command::Acquire(args) => AcquireSettings::new(args).and_then(|s| cmd::acquire::run(&s)),
        Command::Export(args) => ExportSettings::new(args).and_then(|s| cmd::export::run(&s)),
        Command::Merge(args) => MergeSettings::new(args).and_then(|s| cmd::merge::run(&s)),
        Command::Index(args) => IndexSettings::new(args).and_then(|s| cmd::index::run(&s)),
        Command::Trace(args) => TraceSettings::new(args).and_then(|s| cmd::trace::run(&s)),
        Command::Summary(args) => SummarySettings::new(args).and_then(|s| cmd::summary::run(&s)),
        Command::Hunt(args) => HuntSettings::new(args).and_then(|s| cmd::hunt::run(&s)),
    };
    result.unwrap_or_else(|e| exit_codes::fatal(&e))
}

//! Exit codes, in one table (documented in the README).
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | the scan completed and every log file was read |
//! | 1    | the scan completed, but some log files or records could not be read (each named on stderr); the results cover the rest |
//! | 2    | the command line does not parse (clap, as argparse in the AWS CLI) |
//! | 255  | unusable argument values, an unreadable source, or output that could not be written (as the AWS CLI's 255) |
//!
//! validate-logs uses the AWS CLI's codes: 0 all valid, 1 something INVALID, 2 command line,
//! 255 fatal.

use std::process::ExitCode;

use trailscan_layout::printable::printable_lines;

/// Completed, nothing wrong.
pub const SUCCESS: u8 = 0;
/// Completed with problems in some objects.
pub const PARTIAL: u8 = 1;
/// Could not run.
pub const FATAL: u8 = 255;

/// The code for a completed scan.
pub fn completed(problems: u64) -> ExitCode {
    ExitCode::from(if problems == 0 { SUCCESS } else { PARTIAL })
}

/// The command line parses but asks for something that does not exist (as argparse's
/// "Invalid choice" in the AWS CLI): exit 2.
pub const USAGE: u8 = 2;

/// An argument the AWS CLI's parser would reject.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A fatal error worded and printed as the AWS CLI prints it (`\nMESSAGE\n` on stderr, exit
/// 255), for validate-logs' parity mode.
#[derive(Debug)]
pub struct AwsCliError(pub String);

impl std::fmt::Display for AwsCliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AwsCliError {}

/// An [`AwsCliError`] as the error a command returns.
pub fn aws_cli_error(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(AwsCliError(message.into()))
}

/// Prints clap's answer to a command line it did not take, in trailscan's style
/// (`trailscan: error: ...`, then clap's usage and hint), and returns its code (2); help and
/// the version are printed as clap prints them, on stdout, exit 0.
pub fn command_line(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(USAGE));
    }
    let text = error.render().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    eprint!("{}", printable_lines(&format!("trailscan: error: {text}")));
    ExitCode::from(USAGE)
}

/// Prints a fatal error and returns its code.
pub fn fatal(error: &anyhow::Error) -> ExitCode {
    if let Some(AwsCliError(message)) = error.downcast_ref::<AwsCliError>() {
        eprint!("\n{}\n", printable_lines(message));
        return ExitCode::from(FATAL);
    }
    // An error may quote a key or a record: control characters escaped, lines kept.
    eprintln!(
        "{}",
        printable_lines(&format!("trailscan: error: {error:#}"))
    );
    if error.downcast_ref::<UsageError>().is_some() {
        ExitCode::from(USAGE)
    } else {
        ExitCode::from(FATAL)
    }
}

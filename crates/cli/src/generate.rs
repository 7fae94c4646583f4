//! `trailscan --generate`: shell completions and the man page, from the flags' own
//! definitions (clap_complete, clap_mangen), so that they never drift from `--help`.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::flags::Cli;

/// Prints `what` (one of [`crate::flags::GENERATED`]) on stdout.
pub fn print(what: &str) -> Result<ExitCode> {
    let mut command = Cli::command();
    // Written whole, then printed: clap_complete panics on a write that fails, and a closed
    // pipe (`| head`) is the reader's choice, not an error.
    let mut out = Vec::new();
    let shell = match what {
        "complete-bash" => Some(Shell::Bash),
        "complete-zsh" => Some(Shell::Zsh),
        "complete-fish" => Some(Shell::Fish),
        "complete-powershell" => Some(Shell::PowerShell),
        _ => None,
    };
    match shell {
        Some(shell) => clap_complete::generate(shell, &mut command, "trailscan", &mut out),
        // `man`, the one other value clap lets through.
        None => clap_mangen::Man::new(command)
            .render(&mut out)
            .context("cannot write the man page")?,
    }
    let mut stdout = io::stdout().lock();
    match stdout.write_all(&out).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e).context("cannot write to stdout"),
        _ => Ok(ExitCode::SUCCESS),
    }
}

//! One module per subcommand, each `run(&args) -> Result<ExitCode>`.

pub mod acquire;
pub mod export;
pub mod lookup_events;
pub mod merge;
pub mod validate_logs;

//! One module per subcommand, each `run(&args) -> Result<ExitCode>`.

pub mod acquire;
pub mod lookup_events;
pub mod validate_logs;

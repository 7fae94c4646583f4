//! One module per subcommand, each `run(&Settings) -> Result<ExitCode>`.

pub mod acquire;
pub mod export;
pub mod hunt;
pub mod index;
pub mod index_print;
pub mod lookup_events;
pub mod merge;
pub mod merged;
pub mod summary;
pub mod trace;
pub mod validate_logs;
pub mod validate_shard;
pub mod validate_state;

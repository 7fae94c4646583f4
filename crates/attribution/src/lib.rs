//! Credential attribution over CloudTrail records (`trailscan trace`): which event issued an
//! access key, who called it, and, hop by hop, the identity at the origin of the chain.
//!
//! The rules are those of the reference (`shared/reference/attribution.md`), checked against
//! real samples:
//! - a key is linked to its issuing event by key equality (`exact`): the event's
//!   `responseElements.credentials.accessKeyId` (or `.accessKey.accessKeyId` for
//!   CreateAccessKey) is the key, the event has no `errorCode`, and it comes before the key's
//!   use (a temporary key lives at most 36 hours);
//! - failing that, an assumed-role session is linked by its session tuple (role, session name,
//!   creation time to the second): `heuristic(session-tuple)`, and only when exactly one
//!   issuing event matches;
//! - cross-account, the caller's copy of an issuing event (same `sharedEventID`) names the
//!   caller; the role account's copy names only an `AWSAccount`;
//! - the chain ends at a terminal identity (IAM user, root, AWS service, SAML or web-identity
//!   user, Identity Center user) or where the next issuing event is not in the archive, which
//!   the trace says, with where it would be.
//!
//! [`Summary`] counts what a principal did, with the origin of each key it used.
//!
//! Nothing here reads files: [`Planner`] decides which records each round of reading needs
//! (a [`Round`] at a time), an [`Executor`] of the engine's reads them and hands them
//! to [`Interest::keep`] (or [`Summary::add`]), then [`trace`] walks.

mod evidence;
mod identity;
mod rounds;
mod summary;
mod trace;

pub use evidence::{Evidence, Issuance, KeyUses, Wanted, ISSUING_EVENTS};
pub use identity::{is_temporary_key, made_by, Identity};
pub use rounds::{
    first_round, follow_chains, gather, Executor, Gathered, Interest, Needles, Planner, Round,
    Traced, Window, MAX_ROUNDS,
};
pub use summary::{is_sensitive, Subject, Summary, SENSITIVE_S3_CALLS, SENSITIVE_SOURCES};
pub use trace::{trace, Hop, Link, Origin, Trace, MAX_TEMPORARY_KEY_LIFE_SECS};

//! One object of an `acquire`: what the copy already holds of it, and its copy once fetched.
//! A copy is never overwritten: a file that differs from the object is reported, and a key
//! that could lead outside the copy's folder is refused.

use trailscan_archive::digest::sha256_hex;
use trailscan_archive::{
    Fetched, LocalFolder, ObjectRef, ObjectStore, Problem, StoreError, WriteMode,
};
use trailscan_layout::key::ObjectKind;

use crate::manifest::ManifestEntry;

/// What happened to one object.
pub enum Outcome {
    /// Copied now.
    Copied(ManifestEntry),
    /// Already in the copy, as the manifest recorded it.
    Present(ManifestEntry),
    /// The copy holds other bytes under its key: not overwritten.
    Differs(String),
    /// Not read, or not written.
    Failed(String),
    /// A key or path the copy refuses to hold (it could lead outside DIR).
    Refused(String),
    /// A write after which no write to the copy can succeed (a full disk, a read-only
    /// filesystem): the run stops.
    CopyUnwritable(StoreError),
}

/// The outcome of a key or path the copy refuses to hold (it could lead outside DIR): an
/// unsafe key, or a symbolic link on the way; `None` for any other failure.
fn refused(e: &StoreError) -> Option<Outcome> {
    match e.problem {
        Problem::UnsafeKey => Some(Outcome::Refused("unsafe key, not copied".to_string())),
        Problem::LinkInPath => Some(Outcome::Refused(format!("{e}; not copied"))),
        _ => None,
    }
}

/// What the copy holds of an object before any fetching: `Err` with the outcome when that
/// settles it (kept, or refused), else the size and SHA-256 of the bytes there to compare
/// with the object's, if any.
pub fn in_the_copy(
    copy: &LocalFolder,
    object: &ObjectRef,
    known: Option<&str>,
) -> Result<Option<ManifestEntry>, Outcome> {
    let mut existing = Vec::new();
    let existing = match copy.read(&object.key, &mut existing) {
        Ok(_) => existing,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(refused(&e).unwrap_or_else(|| Outcome::Failed(e.to_string()))),
    };
    let there = ManifestEntry {
        size: existing.len() as u64,
        sha256: sha256_hex(&existing),
        ..ManifestEntry::as_listed(object)
    };
    // Resume: the same size as listed and the hash the manifest recorded.
    match known {
        Some(hash) if there.size == object.size && there.sha256 == hash => {
            Err(Outcome::Present(there))
        }
        _ => Ok(Some(there)),
    }
}

/// Copies a fetched object, unless the copy holds other bytes under its key.
pub fn copy_fetched(
    copy: &LocalFolder,
    object: &ObjectRef,
    existing: Option<&ManifestEntry>,
    fetched: Result<Fetched, StoreError>,
) -> Outcome {
    let Fetched { body, metadata, .. } = match fetched {
        Ok(fetched) => fetched,
        Err(e) => return Outcome::Failed(e.problem.to_string()),
    };
    let sha256 = sha256_hex(&body);
    if let Some(there) = existing {
        return if there.sha256 == sha256 {
            Outcome::Present(there.clone())
        } else {
            Outcome::Differs(format!(
                "{} differs from the object (SHA-256 {sha256}); not overwritten",
                copy.display_key(&object.key)
            ))
        };
    }
    // A digest's signature is in its metadata, which the copy keeps in a sidecar.
    let metadata = metadata.filter(|_| object.layout.kind == ObjectKind::Digest);
    if let Err(e) = copy.write(&object.key, &body, metadata.as_ref(), WriteMode::CreateNew) {
        return match refused(&e) {
            Some(outcome) => outcome,
            None if e.ends_writing() => Outcome::CopyUnwritable(e),
            None => Outcome::Failed(e.to_string()),
        };
    }
    Outcome::Copied(ManifestEntry {
        size: body.len() as u64,
        sha256,
        ..ManifestEntry::as_listed(object)
    })
}

//! `trailscan acquire s3://bucket[/prefix] DIR`: a forensic copy for offline work.
//!
//! Every CloudTrail object of the window (log, Insights and digest files) is downloaded in
//! parallel to `DIR/KEY`, so the copy is laid out as the bucket is; each digest's S3 metadata
//! (its signature) goes to the sidecar `KEY.s3meta.json` that validate-logs reads; and
//! `DIR/trailscan-manifest.json` records the size and SHA-256 of every object. Re-running
//! resumes: a file already there with the listed size and the manifest's hash is kept; a file
//! that differs from the object is reported and never overwritten.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use trailscan_archive::key::ObjectKind;
use trailscan_archive::s3::S3Archive;
use trailscan_archive::{ObjectRef, Selection};
use trailscan_integrity::manifest::{Manifest, ManifestEntry, MANIFEST_FILE};
use trailscan_integrity::store::{SIDECAR_FORMAT, SIDECAR_SUFFIX};

use crate::exit_codes;
use crate::flags::AcquireArgs;
use crate::progress::{Meter, Progress};

/// What happened to one object.
enum Outcome {
    Copied(ManifestEntry),
    Present(ManifestEntry),
    Differs(String),
    Failed(String),
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `bytes` to `path` through a temporary file, so that a copy is never half-written.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = PathBuf::from(format!("{}.partial", path.display()));
    fs::File::create(&tmp)?.write_all(bytes)?;
    fs::rename(&tmp, path)
}

fn copy_one(archive: &S3Archive, dir: &Path, object: &ObjectRef, known: Option<&str>) -> Outcome {
    let path = dir.join(&object.key);
    let existing = fs::read(&path).ok();
    // Resume: the same size as listed and the hash the manifest recorded.
    if let (Some(bytes), Some(hash)) = (&existing, known) {
        if bytes.len() as u64 == object.size && sha256_hex(bytes) == hash {
            return Outcome::Present(ManifestEntry {
                size: object.size,
                sha256: hash.to_string(),
            });
        }
    }
    let mut body = Vec::new();
    let metadata = match archive.fetch_with_metadata(archive.bucket(), &object.key, &mut body) {
        Ok(m) => m,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let sha256 = sha256_hex(&body);
    if let Some(bytes) = existing {
        return if sha256_hex(&bytes) == sha256 {
            Outcome::Present(ManifestEntry {
                size: bytes.len() as u64,
                sha256,
            })
        } else {
            Outcome::Differs(format!(
                "{} differs from the object (SHA-256 {sha256}); not overwritten",
                path.display()
            ))
        };
    }
    if let Err(e) = write_atomically(&path, &body) {
        return Outcome::Failed(format!("cannot write {}: {e}", path.display()));
    }
    if object.layout.kind == ObjectKind::Digest {
        let sidecar = json!({"format": SIDECAR_FORMAT, "bucket": archive.bucket(), "key": object.key, "metadata": metadata});
        let text = serde_json::to_string_pretty(&sidecar).unwrap_or_default();
        let sidecar_path = PathBuf::from(format!("{}{SIDECAR_SUFFIX}", path.display()));
        if let Err(e) = write_atomically(&sidecar_path, text.as_bytes()) {
            return Outcome::Failed(format!("cannot write {}: {e}", sidecar_path.display()));
        }
    }
    Outcome::Copied(ManifestEntry {
        size: body.len() as u64,
        sha256,
    })
}

/// The manifest of an earlier run, or an empty one. One that does not read is refused: writing
/// a new one over it would drop the hashes of everything copied before.
fn read_manifest(path: &Path) -> Result<Manifest> {
    match fs::read_to_string(path) {
        Ok(text) => Manifest::parse(&text).with_context(|| {
            format!(
                "{}: cannot resume this copy (move the file away to start a new manifest)",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Runs an acquisition.
pub fn run(args: &AcquireArgs) -> Result<ExitCode> {
    let options = args.s3.options(&args.regions);
    let archive = S3Archive::open(&args.source, &options)?;
    let time = |v: &Option<String>| {
        v.as_deref()
            .map(trailscan_query::parse_time_arg)
            .transpose()
    };
    let (start, end) = (
        time(&args.start_time)?.map(|t| t.secs),
        time(&args.end_time)?.map(|t| t.secs.saturating_add(1)),
    );
    fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let manifest_path = args.dir.join(MANIFEST_FILE);
    let mut manifest = read_manifest(&manifest_path)?;
    manifest.source = archive.url();
    let progress = Progress::on_stderr(args.no_progress, false);
    progress.listing(&archive.url());
    let mut objects = Vec::new();
    for kind in [ObjectKind::Log, ObjectKind::Insight, ObjectKind::Digest] {
        let selection = Selection {
            kind,
            accounts: args.account_ids.clone(),
            regions: args.regions.clone(),
            start,
            end,
            ..Selection::default()
        };
        let listing = archive.list(&selection)?;
        for problem in &listing.problems {
            progress.eprintln(format_args!("trailscan: {problem}"));
        }
        objects.extend(listing.objects);
    }
    let listed_bytes = objects.iter().map(|o| o.size).sum();
    progress.start(Meter::Download, objects.len() as u64, listed_bytes);
    let threads = match args.threads {
        0 => trailscan_archive::default_threads(true),
        n => n,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    let known: BTreeMap<String, String> = manifest
        .objects
        .iter()
        .map(|(k, v)| (k.clone(), v.sha256.clone()))
        .collect();
    let results = Mutex::new(Vec::new());
    pool.install(|| {
        objects.par_iter().with_max_len(1).for_each(|object| {
            let outcome = copy_one(
                &archive,
                &args.dir,
                object,
                known.get(&object.key).map(String::as_str),
            );
            progress.object_done(object.size, 0, 0);
            results
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((object.key.clone(), outcome));
        })
    });
    progress.finish();
    let mut results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut copied, mut bytes, mut present, mut problems) = (0u64, 0u64, 0u64, 0u64);
    for (key, outcome) in results {
        match outcome {
            Outcome::Copied(entry) => {
                copied += 1;
                bytes += entry.size;
                manifest.objects.insert(key, entry);
            }
            Outcome::Present(entry) => {
                present += 1;
                manifest.objects.insert(key, entry);
            }
            Outcome::Differs(message) | Outcome::Failed(message) => {
                problems += 1;
                eprintln!("trailscan: s3://{}/{key}: {message}", archive.bucket());
            }
        }
    }
    write_atomically(&manifest_path, manifest.to_text().as_bytes())
        .with_context(|| format!("cannot write {}", manifest_path.display()))?;
    eprintln!(
        "trailscan: {} objects listed in {}: {copied} copied ({:.1} MB), {present} already present, {problems} with problems; manifest {}",
        objects.len(),
        archive.url(),
        bytes as f64 / 1e6,
        manifest_path.display()
    );
    Ok(exit_codes::completed(problems))
}

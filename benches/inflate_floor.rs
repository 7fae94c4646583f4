//! `inflate-floor DIR [--sha256]`: inflates every log file under DIR with trailscan's own
//! backend (flate2 on zlib-rs, through `trailscan_archive::inflate`) on all cores, and
//! nothing else (with `--sha256`, also hashes each inflated file, as validation must): the
//! floors that `benches/compare.py` holds lookups and validation against, beside the same
//! floors with stock zlib and hashlib. Prints seconds, files and inflated bytes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use trailscan_archive::inflate::inflate_gzip;

/// Every `.json.gz` log file under `dir` (digests left out), sorted.
fn log_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            log_files(&path, out)?;
        } else if path.to_string_lossy().ends_with(".json.gz")
            && !path.to_string_lossy().contains("CloudTrail-Digest")
        {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().context("usage: inflate-floor DIR [--sha256]")?);
    let sha256 = args.next().as_deref() == Some("--sha256");
    let mut files = Vec::new();
    log_files(&dir, &mut files)?;
    files.sort();
    let started = Instant::now();
    let inflated: u64 = files
        .par_iter()
        .map_init(Vec::new, |out, path| {
            let compressed = std::fs::read(path).expect("log file readable");
            inflate_gzip(&compressed, out, u64::MAX).expect("log file inflates");
            if sha256 {
                std::hint::black_box(Sha256::digest(&out[..]));
            }
            out.len() as u64
        })
        .sum();
    println!(
        "{:.3} s, {} files, {} bytes inflated",
        started.elapsed().as_secs_f64(),
        files.len(),
        inflated
    );
    Ok(())
}

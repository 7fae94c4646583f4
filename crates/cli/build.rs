//! The version `--version` prints: the crate's, and the commit it was built from, so that a
//! report or an answer can be tied to the exact code (`unknown` outside a git checkout).

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    let version = env!("CARGO_PKG_VERSION");
    println!("cargo:rustc-env=TRAILSCAN_VERSION={version} (commit {commit})");
    // A new commit (or branch) changes the HEAD file or a ref below refs/.
    for path in [
        "../../.git/HEAD",
        "../../.git/refs",
        "../../.git/packed-refs",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
}

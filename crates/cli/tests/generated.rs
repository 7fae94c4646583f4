//! `trailscan --generate`: shell completions and the man page, generated from the flags and
//! parsed by the tools that read them (bash, groff) where the machine has them.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::trailscan;

const SUBCOMMANDS: [&str; 8] = [
    "lookup-events",
    "validate-logs",
    "acquire",
    "export",
    "merge",
    "index",
    "trace",
    "summary",
];

fn generated(what: &str) -> String {
    let out = trailscan(&["--generate", what]);
    assert_eq!(out.status.code(), Some(0), "{what}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Feeds `text` to `program args` and returns its exit status and stderr, or `None` where
/// the program is not installed.
fn read_by(program: &str, args: &[&str], text: &str) -> Option<(bool, String)> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(text.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn completions_for_every_shell_name_every_command() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = generated(&format!("complete-{shell}"));
        for command in SUBCOMMANDS {
            assert!(script.contains(command), "{shell}: no {command}");
        }
        assert!(script.contains("lookup-attributes"), "{shell}");
    }
    let bash = generated("complete-bash");
    match read_by("bash", &["-n"], &bash) {
        Some((ok, err)) => assert!(ok, "bash -n: {err}"),
        None => eprintln!("NOTICE: no bash; the completion script was not parsed"),
    }
}

#[test]
fn the_man_page_renders_without_warnings() {
    let page = generated("man");
    assert!(
        page.contains(".TH trailscan 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    for command in SUBCOMMANDS {
        // groff's hyphen, as the page writes it.
        let named = format!("trailscan\\-{}", command.replace('-', "\\-"));
        assert!(page.contains(&named), "no {named} in the man page");
    }
    match read_by("groff", &["-man", "-Tutf8", "-ww", "-z"], &page) {
        Some((ok, err)) => assert!(ok && err.is_empty(), "groff: {err}"),
        None => eprintln!("NOTICE: no groff; the man page was not rendered"),
    }
    let refused = trailscan(&["--generate", "complete-tcsh"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("possible values: complete-bash"));
}

/// `--version` names the commit the binary was built from, for the records an auditor files.
#[test]
fn the_version_names_the_commit() {
    let out = trailscan(&["--version"]);
    let version = String::from_utf8(out.stdout).unwrap();
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let expected = format!(
        "trailscan {} (commit {})",
        env!("CARGO_PKG_VERSION"),
        head.as_deref().unwrap_or("unknown")
    );
    assert_eq!(version.trim(), expected);
}

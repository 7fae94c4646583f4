//! The progress display, under a real pseudo-terminal (util-linux `script`): drawn on stderr
//! when it is a terminal, cleared before the summary, never on stdout, and absent with
//! `--no-progress` or when stderr is not a terminal.

mod common;

use std::path::{Path, PathBuf};

use common::{sample_archive, trailscan};

fn on_a_terminal(args: &[&str]) -> Option<(String, Vec<u8>, i32)> {
    common::on_a_terminal(args, &[])
}

fn source() -> PathBuf {
    sample_archive()
}

fn lookup_args(source: &Path) -> Vec<String> {
    [
        "lookup-events",
        "--source",
        source.to_str().unwrap(),
        "--start-time",
        "2024-01-01",
        "--end-time",
        "2024-01-03",
        "--lookup-attributes",
        "AttributeKey=EventSource,AttributeValue=sts.amazonaws.com",
    ]
    .map(String::from)
    .to_vec()
}

/// The text after the last "erase line" sequence, without the cursor moves that follow it:
/// what is written after the bar was cleared.
fn after_last_frame(terminal: &str) -> String {
    let rest = &terminal[terminal.rfind("\x1b[2K").expect("a cleared frame") + 4..];
    without_cursor_moves(rest)
}

/// `text` without its CSI sequences (`ESC [ digits letter`).
fn without_cursor_moves(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            while chars.next().is_some_and(|c| !c.is_ascii_alphabetic()) {}
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn lookup_draws_a_bar_on_stderr_and_leaves_stdout_clean() {
    let args = lookup_args(&source());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some((terminal, stdout, code)) = on_a_terminal(&args) else {
        return;
    };
    assert_eq!(code, 0, "{terminal}");
    // The same answer, byte for byte, as without a terminal.
    let plain = trailscan(&args);
    assert_eq!(stdout, plain.stdout, "stdout differs under a terminal");
    assert!(!stdout.contains(&0x1b), "an escape sequence reached stdout");
    // The spinner while listing, then the bar, whose last frame has every object done.
    assert!(terminal.contains("listing "), "{terminal}");
    let summary = String::from_utf8_lossy(&plain.stderr);
    let listed: u64 = summary.split(" log files listed").next().unwrap()["trailscan: ".len()..]
        .parse()
        .unwrap();
    assert!(
        terminal.contains(&format!(" in {listed}/{listed} files")),
        "no final frame with {listed}/{listed} files:\n{terminal}"
    );
    assert!(terminal.contains("100%") && terminal.contains("elapsed, ETA"));
    let matched = summary.split(" matched").next().unwrap();
    let matched = matched.rsplit(' ').next().unwrap();
    assert!(
        terminal.contains(&format!(", {matched} matches")),
        "the bar's matches differ from the summary's {matched}:\n{terminal}"
    );
    // The bar is cleared, and the summary (the same as without a terminal) follows it.
    let rest = after_last_frame(&terminal).replace("\r\n", "\n");
    assert!(rest.starts_with("trailscan: "), "{rest:?}");
    assert!(!rest.contains("ETA"), "the bar was left on the screen");
    let without_timing = |s: &str| s.lines().take(3).collect::<Vec<_>>().join("\n");
    assert_eq!(without_timing(&rest), without_timing(&summary));
}

#[test]
fn no_progress_and_a_non_terminal_show_no_bar_but_the_summary() {
    let mut args = lookup_args(&source());
    args.push("--no-progress".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some((terminal, _, code)) = on_a_terminal(&args) else {
        return;
    };
    assert_eq!(code, 0);
    assert!(
        !terminal.contains("ETA") && !terminal.contains("\x1b["),
        "{terminal}"
    );
    assert!(terminal.contains(" log files listed"), "{terminal}");
    // Piped stderr: no bar either.
    let plain = trailscan(&args[..args.len() - 1]);
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert!(
        !stderr.contains("ETA") && !stderr.contains('\x1b'),
        "{stderr}"
    );
    assert!(stderr.contains(" log files listed"), "{stderr}");
    // --quiet: no summary and no bar.
    let mut quiet = args[..args.len() - 1].to_vec();
    quiet.push("--quiet");
    let (terminal, _, _) = on_a_terminal(&quiet).unwrap();
    assert!(
        !terminal.contains("ETA") && !terminal.contains("listed"),
        "{terminal}"
    );
}

#[test]
fn problems_are_printed_above_the_bar() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&source(), dir.path());
    let broken = trailscan_fixtures::files_under(dir.path())
        .unwrap()
        .into_iter()
        .find(|p| {
            p.to_str()
                .unwrap()
                .contains("/CloudTrail/eu-west-1/2024/01/01/")
        })
        .unwrap();
    std::fs::write(&broken, b"not gzip").unwrap();
    let args = lookup_args(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (terminal, stdout, code) = on_a_terminal(&args).unwrap();
    assert_eq!(code, 1, "a broken file is a problem");
    assert!(serde_json::from_slice::<serde_json::Value>(&stdout).is_ok());
    let name = broken.file_name().unwrap().to_str().unwrap();
    let line = terminal
        .split(['\r', '\n'])
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("{name} not reported:\n{terminal}"));
    // The problem is a whole line of its own: the bar was lifted, not written over.
    let line = without_cursor_moves(line);
    assert!(
        line.starts_with("trailscan: ") && line.ends_with("file skipped"),
        "{line:?}"
    );
}

#[test]
fn validate_logs_counts_chains() {
    let keys = sample_archive().join("../sample-archive-public-keys.json");
    let source = source();
    let args = [
        "validate-logs",
        "--source",
        source.to_str().unwrap(),
        "--public-keys",
        keys.to_str().unwrap(),
        "--start-time",
        "2024-01-01T00:00:00Z",
        "--end-time",
        "2024-01-03T00:00:00Z",
    ];
    let Some((terminal, stdout, code)) = on_a_terminal(&args) else {
        return;
    };
    let plain = trailscan(&args);
    assert_eq!(Some(code), plain.status.code());
    assert_eq!(stdout, plain.stdout);
    let chains = String::from_utf8_lossy(&plain.stdout)
        .matches("Results requested for")
        .count();
    assert!(chains > 1, "{}", String::from_utf8_lossy(&plain.stdout));
    assert!(
        terminal.contains(&format!("] {chains}/{chains} digest chains")),
        "{terminal}"
    );
    assert!(terminal.contains("digests and log files checked"));
    assert!(!after_last_frame(&terminal).contains("digest chains"));
}

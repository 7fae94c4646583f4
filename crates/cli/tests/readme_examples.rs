//! The README's examples run, in its order, as a reader following along would (a fresh
//! folder holding the repository's `fixtures/`), and print what the README shows: every line
//! it shows appears in the output, in order (a shortened example shows only some; `...` in a
//! line stands for any text; times and rates are compared as numbers of their kind). Examples
//! that need what a fresh clone does not have (a bucket, AWS, DuckDB, the benchmark archive)
//! are left out.

use std::fs;
use std::path::Path;
use std::process::Command;

/// A README example: its commands (each `$ ` line with its continuation lines) and, after
/// each, the lines the README shows it printing.
struct Example {
    line: usize,
    steps: Vec<(String, Vec<String>)>,
}

fn examples(readme: &str) -> Vec<Example> {
    let mut found = Vec::new();
    let mut block: Option<(usize, Vec<&str>)> = None;
    for (n, line) in readme.lines().enumerate() {
        if line.starts_with("```") {
            match block.take() {
                Some((start, lines)) => found.push((start, lines)),
                None => block = Some((n + 1, Vec::new())),
            }
        } else if let Some((_, lines)) = &mut block {
            lines.push(line);
        }
    }
    found
        .into_iter()
        .filter(|(_, lines)| lines.first().is_some_and(|l| l.starts_with("$ ")))
        .map(|(line, lines)| {
            let mut steps: Vec<(String, Vec<String>)> = Vec::new();
            let mut continued = false;
            for l in lines {
                if let Some(command) = l.strip_prefix("$ ") {
                    steps.push((command.to_string(), Vec::new()));
                } else if continued {
                    let last = steps.last_mut().unwrap();
                    last.0.push('\n');
                    last.0.push_str(l);
                } else if let Some(last) = steps.last_mut() {
                    last.1.push(l.to_string());
                }
                // A command goes on while its last line ends with `\` and nothing is printed.
                continued = steps
                    .last()
                    .is_some_and(|(command, shown)| command.ends_with('\\') && shown.is_empty());
            }
            Example { line, steps }
        })
        .collect()
}

/// Whether an example can run from a fresh clone.
fn runs_here(example: &Example) -> bool {
    let needs = [
        "s3://",
        "aws ",
        "python3",
        "bench-data",
        "./evidence",
        " keys.json",
    ];
    example
        .steps
        .iter()
        .all(|(command, _)| !needs.iter().any(|n| command.contains(n)))
}

/// A line as compared: times, rates and sizes of a run become their kind.
fn normalized(line: &str) -> String {
    let mut out = String::new();
    let words: Vec<&str> = line.split(' ').collect();
    for (i, word) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().unwrap_or("");
        let number = |w: &str| {
            let w = w.trim_start_matches('(');
            !w.is_empty() && w.chars().all(|c| c.is_ascii_digit() || c == '.')
        };
        let unit = next.trim_end_matches([';', ')', ',', ':']);
        let timed = number(word) && ["s", "ms", "MB/s", "events/s"].contains(&unit);
        if i > 0 {
            out.push(' ');
        }
        match timed {
            true => out.push_str(if word.starts_with('(') { "(N" } else { "N" }),
            false => out.push_str(word),
        }
    }
    out
}

/// Whether `actual` matches `expected`, where `...` stands for any text.
fn matches(expected: &str, actual: &str) -> bool {
    // A shortened JSON text reads `..., ... ,...`: the spaces around the dots are the README's.
    let expected = expected.replace(" ... ", "...");
    let parts: Vec<&str> = expected.split("...").collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let parts: Vec<&str> = parts.into_iter().collect();
    let mut rest = actual;
    for (i, part) in parts.iter().enumerate() {
        match i {
            0 => match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            },
            _ if i == parts.len() - 1 => return rest.ends_with(part),
            _ => match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            },
        }
    }
    true
}

#[test]
fn the_readme_examples_print_what_the_readme_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let here = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        fs::canonicalize(root.join("fixtures")).unwrap(),
        here.path().join("fixtures"),
    )
    .unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_trailscan")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for example in examples(&readme).iter().filter(|e| runs_here(e)) {
        // One shell for the example, as a reader types it (`export` holds to its end); a mark
        // between its commands' outputs, each stdout then stderr, as the README shows them.
        const MARK: &str = "@@trailscan-readme-step@@";
        let script: String = (example.steps.iter())
            .map(|(command, _)| format!("echo {MARK}\n{command} 2>.stderr\ncat .stderr\n"))
            .collect();
        let out = Command::new("bash")
            .args(["-c", &script])
            .current_dir(here.path())
            .env("PATH", &path)
            .env_remove("TRAILSCAN_SOURCE")
            .env_remove("TRAILSCAN_INDEX")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let outputs: Vec<&str> = text.split(&format!("{MARK}\n")).skip(1).collect();
        assert_eq!(
            outputs.len(),
            example.steps.len(),
            "README.md:{}: the example's shell stopped before its last command:\n{}",
            example.line,
            String::from_utf8_lossy(&out.stderr)
        );
        for ((command, shown), output) in example.steps.iter().zip(outputs) {
            let printed: Vec<String> = output.lines().map(normalized).collect();
            let mut at = 0;
            for line in shown.iter().filter(|l| l.trim() != "...") {
                let want = normalized(line);
                match printed[at..].iter().position(|got| matches(&want, got)) {
                    Some(i) => at += i + 1,
                    None => panic!(
                        "README.md:{}: `{command}` does not print, in this order:\n{want}\nit printed:\n{}",
                        example.line,
                        printed.join("\n")
                    ),
                }
            }
            ran += 1;
        }
    }
    // 24 when this test was written: examples may be added, none silently lost.
    assert!(ran >= 24, "{ran} example commands ran");
}

//! trailscan's json, text and table output equal the AWS CLI's own formatter's, byte for
//! byte, for the same events. `tests/awscli/render.py` feeds trailscan's JSON answer through
//! `awscli.formatter` (with botocore's real paginator for auto-paginated answers); the AWS
//! CLI comes from `make pydeps` (.venv), and these tests skip with a notice without it.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::sample_archive;

/// The Python with awscli: `$TRAILSCAN_AWSCLI_PYTHON` (set by `make test`), else `.venv`.
fn aws_python() -> Option<PathBuf> {
    let from_env = std::env::var_os("TRAILSCAN_AWSCLI_PYTHON").map(PathBuf::from);
    let required = from_env.is_some();
    let python = from_env
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"));
    let works = Command::new(&python)
        .args(["-c", "import awscli"])
        .output()
        .is_ok_and(|o| o.status.success());
    match (works, required) {
        (true, _) => Some(python),
        (false, true) => panic!(
            "{} cannot import awscli: run `make pydeps`",
            python.display()
        ),
        (false, false) => {
            eprintln!("NOTICE: no AWS CLI in .venv (run `make pydeps`); skipping the comparison with its formatters");
            None
        }
    }
}

fn trailscan(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_trailscan"))
        .args(["lookup-events", "-q"])
        .args(args)
        .env("TRAILSCAN_SOURCE", sample_archive())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The value of `--flag` in `args`.
fn flag<'a>(args: &[&'a str], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| *a == name)
        .and_then(|i| args.get(i + 1).copied())
}

/// What the AWS CLI prints for the events of `args` (a trailscan command line).
fn aws_cli(python: &Path, args: &[&str]) -> Vec<u8> {
    // The same selection and pages, as JSON without a query: the events both sides render.
    let mut plain: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if matches!(args[i], "--query" | "--output") {
            i += 2;
            continue;
        }
        plain.push(args[i]);
        i += 1;
    }
    let answer = trailscan(&plain);
    let mut render = Command::new(python);
    render.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/awscli/render.py"));
    render.args(["--output", flag(args, "--output").unwrap_or("json")]);
    if let Some(q) = flag(args, "--query") {
        render.args(["--query", q]);
    }
    let single = args.contains(&"--max-results") || args.contains(&"--no-paginate");
    let page_size = flag(args, "--page-size").unwrap_or("50");
    if !single {
        render.args(["--pages", page_size]);
    }
    let mut child = render
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&answer).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "render.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn same_as_aws_cli(python: &Path, args: &[&str]) {
    let ours = trailscan(args);
    let theirs = aws_cli(python, args);
    if ours != theirs {
        let (a, b) = (
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
        );
        let line = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(a.lines().count().min(b.lines().count()));
        panic!(
            "{args:?}: output differs from the AWS CLI's at line {}\n--- trailscan\n{}\n--- aws cli\n{}",
            line + 1,
            a.lines().nth(line).unwrap_or("<end>"),
            b.lines().nth(line).unwrap_or("<end>")
        );
    }
}

/// The lookup-events patterns of AWS documentation and runbooks, verbatim.
#[test]
fn documented_commands_print_what_the_aws_cli_prints() {
    let Some(python) = aws_python() else { return };
    let commands: [&[&str]; 8] = [
        &[
            "--max-results",
            "20",
            "--query",
            "Events[*].[EventTime,EventName,Username,EventSource]",
            "--output",
            "table",
        ],
        &[
            "--lookup-attributes",
            "AttributeKey=Username,AttributeValue=alice",
            "--max-results",
            "20",
            "--query",
            "Events[*].[EventTime,EventName,EventSource]",
            "--output",
            "table",
        ],
        &[
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=RunInstances",
            "--max-results",
            "10",
        ],
        &[
            "--lookup-attributes",
            "AttributeKey=ResourceName,AttributeValue=sg-0abc1234",
            "--query",
            "Events[*].[EventTime,EventName,Username,sourceIPAddress]",
            "--output",
            "table",
        ],
        &[
            "--lookup-attributes",
            "AttributeKey=EventSource,AttributeValue=s3.amazonaws.com",
            "--start-time",
            "2024-01-01T00:00:00Z",
            "--end-time",
            "2024-01-02T00:00:00Z",
        ],
        &[
            "--lookup-attributes",
            "AttributeKey=AccessKeyId,AttributeValue=AKIAIOSFODNN7EXAMPLE",
        ],
        &[
            "--lookup-attributes",
            "AttributeKey=ReadOnly,AttributeValue=false",
            "--max-results",
            "20",
            "--query",
            "Events[*].[EventTime,EventName,Username]",
            "--output",
            "table",
        ],
        &[
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=ConsoleLogin",
            "--max-results",
            "20",
            "--query",
            "Events[*].[EventTime,Username,CloudTrailEvent]",
            "--output",
            "text",
        ],
    ];
    for args in commands {
        same_as_aws_cli(&python, args);
    }
    // Not vacuous: the tables and texts above have rows.
    let table = trailscan(commands[6]);
    assert!(String::from_utf8_lossy(&table).lines().count() > 20);
}

/// The jq pipeline of the ninth pattern gives the same records from both.
#[test]
fn jq_pipeline_over_json_output() {
    let Some(python) = aws_python() else { return };
    let args = [
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=ConsoleLogin",
        "--start-time",
        "2024-01-01T00:00:00Z",
        "--max-results",
        "50",
    ];
    let filter =
        r#".Events[] | select(.CloudTrailEvent | fromjson | .errorCode == "AccessDenied")"#;
    let shell = format!(
        "{} lookup-events -q {} | jq '{filter}'",
        env!("CARGO_BIN_EXE_trailscan"),
        args.join(" ")
    );
    let ours = Command::new("sh")
        .args(["-c", &shell])
        .env("TRAILSCAN_SOURCE", sample_archive())
        .output()
        .unwrap();
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let mut jq = Command::new("jq")
        .arg(filter)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    jq.stdin
        .take()
        .unwrap()
        .write_all(&aws_cli(&python, &args))
        .unwrap();
    let theirs = jq.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout)
    );
    assert!(
        ours.stdout.windows(12).any(|w| w == b"AccessDenied"),
        "the sample has failed sign-ins"
    );
}

/// Pages, per-page queries, nested and vertical tables, tokens, key order.
#[test]
fn formats_pages_and_queries_match_the_aws_cli() {
    let Some(python) = aws_python() else { return };
    let cases: [&[&str]; 14] = [
        // Nested Resources sections and the NextToken row; wide cells turn the table vertical.
        &[
            "--max-results",
            "3",
            "--include-data-events",
            "--output",
            "table",
        ],
        &["--max-results", "1", "--output", "table"],
        // Text pages, each with its own columns.
        &[
            "--lookup-attributes",
            "AttributeKey=Username,AttributeValue=alice",
            "--page-size",
            "7",
            "--output",
            "text",
        ],
        // A query per page: one count per page of 50.
        &["--query", "length(Events)", "--output", "text"],
        &["--query", "length(Events)", "--output", "json"],
        // --max-items: the NEXTTOKEN line and the NextToken member.
        &["--max-items", "12", "--page-size", "5", "--output", "text"],
        &[
            "--max-items",
            "5",
            "--query",
            "Events[].EventName",
            "--output",
            "text",
        ],
        &["--max-items", "4", "--output", "table"],
        &[
            "--no-paginate",
            "--query",
            "Events[].EventId",
            "--output",
            "text",
        ],
        // Multiselect hashes: sorted headers in tables, expression order in JSON.
        &[
            "--max-results",
            "5",
            "--query",
            "Events[].{Id:EventId,Name:EventName,User:Username,Time:EventTime}",
            "--output",
            "table",
        ],
        &[
            "--max-results",
            "3",
            "--query",
            "Events[].{Time:EventTime,Name:EventName,Id:EventId}",
        ],
        &["--max-results", "2", "--query", "Events[0]"],
        // Insights events have no user or key.
        &[
            "--event-category",
            "insight",
            "--max-results",
            "4",
            "--query",
            "Events[*].[EventTime,EventName,EventSource,Username]",
            "--output",
            "table",
        ],
        // Nothing found: the AWS CLI prints nothing for an empty table.
        &[
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=NoSuchCall",
            "--output",
            "table",
        ],
    ];
    for args in cases {
        same_as_aws_cli(&python, args);
    }
}

//! `trailscan export` read by a real SQL engine: DuckDB (PyPI, in .venv from `make pydeps`)
//! reads the Parquet export with Hive partitioning and must find exactly the events that
//! `trailscan lookup-events` finds, for a dozen lookups over a generated archive of a million
//! events; the Parquet files carry bloom filters on the lookup columns; the printed Athena
//! DDL (parsed by sqlglot) declares exactly the files' columns and types. Skips with a notice
//! when the Python packages are absent (`cargo test` alone).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{sample_archive, trailscan};
use serde_json::Value;

/// The Python with duckdb and sqlglot (`$TRAILSCAN_AWSCLI_PYTHON`, set by `make test`).
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("TRAILSCAN_AWSCLI_PYTHON").map(PathBuf::from);
    let usable = python.as_ref().is_some_and(|p| {
        Command::new(p)
            .args(["-c", "import duckdb, sqlglot"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !usable {
        eprintln!("NOTICE: no Python with duckdb and sqlglot (run `make test`); skipping the SQL engine tests");
        return None;
    }
    python
}

fn check(python: &Path, args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/export_check.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "export_check.py {:?}:\n{}{}",
        &args[..1],
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn run_ok(args: &[&str]) -> Vec<u8> {
    let out = trailscan(args);
    assert!(
        out.status.success(),
        "trailscan {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The SQL a user writes for lookup-events' `Username` (the rules of cloudtrail-spec.md 4).
const USERNAME_SQL: &str = "CASE useridentity.type WHEN 'Root' THEN 'root' WHEN 'AWSService' THEN NULL \
    WHEN 'AssumedRole' THEN coalesce(nullif(regexp_extract(useridentity.arn, '/([^/]*)$', 1), ''), nullif(split_part(useridentity.principalid, ':', 2), ''), nullif(useridentity.username, '')) \
    WHEN 'FederatedUser' THEN coalesce(nullif(regexp_extract(useridentity.arn, '/([^/]*)$', 1), ''), nullif(split_part(useridentity.principalid, ':', 2), ''), nullif(useridentity.username, '')) \
    WHEN 'IdentityCenterUser' THEN coalesce(nullif(useridentity.username, ''), nullif(useridentity.onbehalfof.userid, '')) \
    ELSE nullif(useridentity.username, '') END";

#[test]
fn duckdb_finds_in_the_export_what_lookup_events_finds() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    trailscan_fixtures::generate(
        &trailscan_fixtures::ArchiveSpec::bench(1_000_000, 11),
        &archive,
    )
    .unwrap();
    let archive = archive.to_str().unwrap();
    let export = tmp.path().join("export");
    let export = export.to_str().unwrap();
    let out = trailscan(&[
        "export",
        "--source",
        archive,
        "--out",
        export,
        "--include-data-events",
    ]);
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{summary}");
    eprintln!("{summary}");

    let v = check(&python, &["pick", export]);
    let s = |k: &str| v[k].as_str().unwrap().to_string();
    let attr = |k: &str, value: &str| format!("AttributeKey={k},AttributeValue={value}");
    let day = s("day");
    let (from, to) = (format!("{day}T06:00:00Z"), format!("{day}T07:30:00Z"));
    let sql_window = format!(
        "event_ts BETWEEN TIMESTAMPTZ '{day} 06:00:00+00' AND TIMESTAMPTZ '{day} 07:30:00+00'"
    );
    let resource = |field: &str, value: &str| {
        format!("list_contains(list_transform(resources, r -> r.{field}), '{value}')")
    };
    // (lookup-events flags, the same question in SQL)
    let lookups: Vec<(Vec<String>, String)> = vec![
        (
            vec![attr("EventId", &s("needle"))],
            format!("eventid = '{}'", s("needle")),
        ),
        (
            vec![attr("AccessKeyId", &s("rare_key"))],
            format!("useridentity.accesskeyid = '{}'", s("rare_key")),
        ),
        (
            vec![attr("EventSource", &s("common_source"))],
            format!("eventsource = '{}'", s("common_source")),
        ),
        (
            vec![attr("EventName", &s("name"))],
            format!("eventname = '{}'", s("name")),
        ),
        (
            vec![attr("Username", &s("user"))],
            format!("{USERNAME_SQL} = '{}'", s("user")),
        ),
        (
            vec![attr("Username", "root")],
            format!("{USERNAME_SQL} = 'root'"),
        ),
        (
            vec![attr("ResourceName", &s("arn"))],
            resource("arn", &s("arn")),
        ),
        (
            vec![
                attr("ResourceType", &s("rtype")),
                "--start-time".into(),
                from.clone(),
                "--end-time".into(),
                to.clone(),
            ],
            format!("{} AND {sql_window}", resource("type", &s("rtype"))),
        ),
        (
            vec![
                attr("ReadOnly", "false"),
                "--start-time".into(),
                from.clone(),
                "--end-time".into(),
                to.clone(),
            ],
            format!("readonly = 'false' AND {sql_window}"),
        ),
        (
            vec![
                attr("EventSource", &s("common_source")),
                "--account-id".into(),
                s("account"),
                "--region".into(),
                s("region"),
                "--start-time".into(),
                from.clone(),
                "--end-time".into(),
                to.clone(),
            ],
            format!(
                "eventsource = '{}' AND account = '{}' AND region = '{}' AND {sql_window}",
                s("common_source"),
                s("account"),
                s("region")
            ),
        ),
        (
            vec![attr("EventName", &s("name")), attr("ReadOnly", "true")],
            format!("eventname = '{}' AND readonly = 'true'", s("name")),
        ),
        (
            vec![attr("EventId", "00000000-0000-0000-0000-000000000000")],
            "eventid = '00000000-0000-0000-0000-000000000000'".into(),
        ),
    ];
    let wheres: Vec<&str> = lookups.iter().map(|(_, w)| w.as_str()).collect();
    let mut args = vec!["ids", export];
    args.extend(wheres);
    let duck = check(&python, &args);
    let mut nonempty = 0;
    for (i, (flags, sql)) in lookups.iter().enumerate() {
        let mut args = vec![
            "lookup-events",
            "--source",
            archive,
            "--include-data-events",
            "-q",
        ];
        args.extend(["--lookup-attributes"]);
        args.extend(
            flags
                .iter()
                .take_while(|f| f.starts_with("AttributeKey"))
                .map(String::as_str),
        );
        args.extend(
            flags
                .iter()
                .skip_while(|f| f.starts_with("AttributeKey"))
                .map(String::as_str),
        );
        args.extend(["--query", "Events[].EventId"]);
        let answer: Value = serde_json::from_slice(&run_ok(&args)).unwrap();
        let mut ids: Vec<String> = answer
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().to_string())
            .collect();
        ids.sort();
        let sql_ids: Vec<String> = serde_json::from_value(duck[i].clone()).unwrap();
        assert!(
            ids == sql_ids,
            "lookup {flags:?}: trailscan found {}, DuckDB `{sql}` found {}",
            ids.len(),
            sql_ids.len()
        );
        nonempty += usize::from(!ids.is_empty());
    }
    assert!(
        nonempty >= 10,
        "the lookups are not all empty: {nonempty} of 12 found events"
    );

    // Bloom filters on the lookup columns, in every file.
    let file = trailscan_fixtures::files_under(Path::new(export))
        .unwrap()
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let bloom = check(&python, &["bloom", file.to_str().unwrap()]);
    assert_eq!(
        bloom,
        serde_json::json!([
            "eventid",
            "eventname",
            "eventsource",
            "resources, list, element, arn",
            "useridentity, accesskeyid",
            "useridentity, username"
        ])
    );
}

#[test]
fn the_printed_ddl_declares_the_files_columns() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export");
    let sample = sample_archive();
    run_ok(&[
        "export",
        "--source",
        sample.to_str().unwrap(),
        "--out",
        export.to_str().unwrap(),
    ]);
    let ddl = run_ok(&[
        "export",
        "--print-ddl",
        "athena",
        "--out",
        export.to_str().unwrap(),
    ]);
    let ddl_text = String::from_utf8(ddl).unwrap();
    assert!(
        ddl_text.contains("'projection.region.values'='eu-west-1,us-east-1'"),
        "{ddl_text}"
    );
    let ddl_file = tmp.path().join("table.sql");
    std::fs::write(&ddl_file, &ddl_text).unwrap();
    let result = check(
        &python,
        &["ddl", ddl_file.to_str().unwrap(), export.to_str().unwrap()],
    );
    assert_eq!(result["columns"], 36, "{result}");
}

/// The files under `dir`, by their paths below it (sorted), with their bytes.
fn files_with_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = trailscan_fixtures::files_under(dir)
        .unwrap()
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p.strip_prefix(dir).unwrap().to_path_buf(), bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn export_is_deterministic_and_names_broken_files() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("copy");
    common::copy_tree(&sample_archive(), &copy);
    let broken = copy.join(
        "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/01/123456789012_CloudTrail_us-east-1_20240101T0000Z_broken0000000000.json.gz",
    );
    std::fs::write(&broken, b"\x1f\x8b\x08\x00 not really gzip").unwrap();
    let out = tmp.path().join("out");
    let export = |format: &str| {
        let out = match format {
            "parquet" => out.clone(),
            // Another table: another folder.
            _ => tmp.path().join(format),
        };
        trailscan(&[
            "export",
            "--source",
            copy.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--format",
            format,
        ])
    };
    let first = export("parquet");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&broken.display().to_string()),
        "the broken file is named: {stderr}"
    );
    assert!(
        stderr.contains("exported 654 events"),
        "the rest is exported: {stderr}"
    );
    let before = files_with_bytes(&out);
    let tables = before.iter().filter(|(p, _)| p.starts_with("v1")).count();
    assert_eq!(tables, 13, "one file per account, region and day");
    // A re-run replaces its own files with the same bytes.
    assert_eq!(export("parquet").status.code(), Some(1));
    assert!(
        files_with_bytes(&out) == before,
        "a re-run changed the export"
    );
    // JSON lines: the same rows, newest last within a file (sorted by event time).
    export("jsonl");
    let mut rows = 0;
    for (path, bytes) in files_with_bytes(&tmp.path().join("jsonl"))
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "jsonl"))
    {
        let times: Vec<String> = String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| {
                let row: Value = serde_json::from_str(l).unwrap();
                assert!(path
                    .to_string_lossy()
                    .contains(&format!("day={}", &row["event_ts"].as_str().unwrap()[..10])));
                row["event_ts"].as_str().unwrap().to_string()
            })
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "{} is sorted by event time",
            path.display()
        );
        rows += times.len();
    }
    assert_eq!(rows, 654);
}

/// The flag reaches the writer, the summary says what it did, and a run again writes the
/// same bytes (that the rows stay the same in shorter row groups is the writer's own test).
#[test]
fn a_memory_budget_writes_rows_early_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let export = export_into;
    let (roomy, tight) = (tmp.path().join("roomy"), tmp.path().join("tight"));
    let stderr = export(&roomy, &[]);
    assert!(!stderr.contains("written early"), "{stderr}");
    let stderr = export(&tight, &["--memory-budget", "1K"]);
    assert!(stderr.contains("exported 654 events"), "{stderr}");
    assert!(
        stderr.contains("memory: a partition's rows written early")
            && stderr.contains("within --memory-budget (1 KiB)"),
        "{stderr}"
    );
    let names = |files: Vec<(PathBuf, Vec<u8>)>| files.into_iter().map(|f| f.0).collect::<Vec<_>>();
    let first = files_with_bytes(&tight);
    assert_eq!(names(files_with_bytes(&roomy)), names(first.clone()));
    export(&tight, &["--memory-budget", "1K"]);
    assert!(
        files_with_bytes(&tight) == first,
        "a re-run under the same budget changed the export"
    );
}

/// An export of the sample into `out` with `flags`; its exit code 0.
fn export_into(out: &Path, flags: &[&str]) -> String {
    let source = sample_archive();
    let mut args = vec![
        "export",
        "--source",
        source.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(flags);
    let output = trailscan(&args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{flags:?}: {stderr}");
    stderr
}

/// Any sequence of exports into one folder leaves the table DuckDB reads holding each event of
/// the delivery days they read exactly once: a window cut through a day, then another window
/// overlapping it, a re-run, a wider and a narrower window, another run id. (Before the model,
/// the second window replaced the first's files of 2024-01-02 and 168 of 654 rows were lost.)
#[test]
fn exports_into_one_folder_hold_each_event_of_their_windows_once() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    export_into(&whole, &[]);
    let expected = check(&python, &["counts", whole.to_str().unwrap()]);
    assert_eq!(expected["rows"], 654, "{expected}");
    assert_eq!(expected["records"], 654, "each record of the sample once");

    let out = tmp.path().join("out");
    let counts = || check(&python, &["counts", out.to_str().unwrap()]);
    let stderr = export_into(&out, &["--end-time", "2024-01-02T21:00:00Z"]);
    assert!(stderr.contains("each exported whole"), "{stderr}");
    export_into(&out, &["--start-time", "2024-01-02T12:00:00Z"]);
    assert_eq!(
        counts(),
        expected,
        "two overlapping windows: their union, once"
    );
    let tree = files_with_bytes(&out);
    assert!(
        files_with_bytes(&whole) == tree,
        "the same files as one export of everything"
    );

    for flags in [
        &["--start-time", "2024-01-02T12:00:00Z"][..],
        &[],
        &[
            "--start-time",
            "2024-01-02T03:00:00Z",
            "--end-time",
            "2024-01-02T04:00:00Z",
        ],
        &["--run-id", "another", "--end-time", "2024-01-01T12:00:00Z"],
    ] {
        export_into(&out, flags);
        assert_eq!(counts(), expected, "after {flags:?}");
        assert!(
            files_with_bytes(&out) == tree,
            "{flags:?} changed the files"
        );
    }

    // A narrower window alone holds the whole delivery days it touches, and only those.
    let narrow = tmp.path().join("narrow");
    let stderr = export_into(&narrow, &["--start-time", "2024-01-02T12:00:00Z"]);
    assert!(stderr.contains("from 2024-01-02 to 2024-01-02"), "{stderr}");
    let files = files_with_bytes(&narrow);
    assert!(files
        .iter()
        .all(|(p, _)| !p.to_string_lossy().contains("delivered-2024-01-01")));
    assert!(files
        .iter()
        .all(|(p, bytes)| tree.iter().any(|(q, b)| q == p && b == bytes)));
}

/// An export of another definition (attributes, data events, format) into a folder is
/// refused, naming both: its rows would be another table.
#[test]
fn an_export_of_other_rows_into_the_same_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    export_into(
        &out,
        &[
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=ConsoleLogin",
        ],
    );
    let source = sample_archive();
    let refused = trailscan(&[
        "export",
        "--source",
        source.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--include-data-events",
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(255), "{stderr}");
    assert!(
        stderr.contains("trailscan-export.json: this folder holds an export of parquet, EventName=ConsoleLogin, from ")
            && stderr.contains("and this one asks for parquet, every event, data events included, from "),
        "{stderr}"
    );
    // Another source (a copy) is another table: its files would replace these.
    let copy = tmp.path().join("copy");
    common::copy_tree(&source, &copy);
    let other = trailscan(&[
        "export",
        "--source",
        copy.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=ConsoleLogin",
    ]);
    assert_eq!(other.status.code(), Some(255), "{other:?}");
}

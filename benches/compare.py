#!/usr/bin/env python3
"""`make bench`: trailscan side by side with what users run today, in one run, as ratios.

On a generated archive (about 900,000 events of about 1 KB in about 4,500 gzip files, some
800+ MB of JSON) it times, each as the median of --runs runs of the whole command (process
start included), with the peak RSS of the process tree:

- the floor: inflating every log file and nothing else, on all cores, with stock zlib
  (Python's zlib, one process per core) and with trailscan's own backend (inflate-floor);
- DuckDB (`read_json` + `unnest(Records)` + the filter) and `zcat | jq` (the filter), for the
  same three lookups as trailscan: a needle (one EventId), a rare value (one AccessKeyId) and
  a common one (an EventSource, output to /dev/null);
- trailscan lookup-events for those, and the needle on one thread;
- validate-logs against the AWS CLI's validate-logs on the S3 test server (SeaweedFS), over
  the six digest chains of the archive's two standalone accounts: the AWS CLI one chain per
  invocation as it must, trailscan all at once; one chain in parity mode is also compared
  byte for byte;
- peak RSS of trailscan at a second, smaller archive, to show memory does not grow with size;
- the S3 server a round trip away (benches/latency_proxy.rs at 0, 20 and 80 ms): lookup,
  validate-logs (the AWS CLI's too) and acquire (`--latency-only` runs just this part);
- the lookup index (`trailscan index`): build, size, an update after 1 % new files, and the
  needle, a rare AccessKeyId and a Username via the index beside the scan, on this archive and
  on one ten times its size (`--index-only` runs just this part);
- export: every event into Hive-partitioned Parquet (and JSON lines) beside DuckDB's own
  conversion of the same files (`COPY ... TO ... (FORMAT parquet, PARTITION_BY ...)`), and
  the peak RSS of the export of the archive ten times the size (`--export-only`).

It writes BENCHMARKS.md. A benchmark, not a test: nothing here asserts a time.
"""
import argparse
import calendar
import concurrent.futures
import gzip
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Cargo's output folder, as the Makefile passes it ($CARGO_TARGET_DIR, else target/).
TARGET = Path(os.environ.get("TRAILSCAN_TARGET_DIR") or ROOT / "target")
BIN = TARGET / "release/trailscan"
FLOOR = TARGET / "release/inflate-floor"
GEN = TARGET / "release/trailscan-fixtures"
PROXY = TARGET / "release/latency-proxy"
# Round trips added by the latency proxy: none (the server beside trailscan), EC2 to S3 in a
# region (about 20 ms with the server's own time), and a laptop far from the bucket.
ROUND_TRIPS_MS = (0, 20, 80)
LATENCY_MARK = "<!-- latency -->"
INDEX_MARK = "<!-- index -->"
TRACE_MARK = "<!-- trace -->"
EXPORT_MARK = "<!-- export -->"
HUNT_MARK = "<!-- hunt -->"
MEMORY_MARK = "<!-- memory -->"
# rsigma's CLI, the peer of `hunt` (`make benchdeps` installs it with cargo).
RSIGMA = TARGET / "peers/bin/rsigma"
VENV = ROOT / ".venv/bin"
PLUGIN_DIR = ROOT / "crates/cli/tests/awscli"
BUCKET = "bench-bucket"
INDEX_BUCKET = "bench-index"


def run_once(cmd, env=None, keep_stderr=False):
    """Wall seconds and peak RSS (MiB) of `cmd` and its children (and its stderr, with
    `keep_stderr`). The RSS comes from GNU time around the command: a child forked from this
    Python process would count Python's pages."""
    with tempfile.NamedTemporaryFile("r") as rss_file:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file.name, *map(str, cmd)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"failed ({done.returncode}): {shlex.join(map(str, cmd))}\n{done.stderr.decode(errors='replace')}")
        rss = int(rss_file.read().split()[-1]) / 1024
        if keep_stderr:
            return elapsed, rss, done.stderr.decode(errors="replace")
        return elapsed, rss


def measure(name, cmd, runs, env=None):
    times, rss = [], 0.0
    for _ in range(runs):
        t, r = run_once(cmd, env)
        times.append(t)
        rss = max(rss, r)
    median = statistics.median(times)
    print(f"  {name}: {median:.3f} s (runs: {', '.join(f'{t:.2f}' for t in times)}), peak RSS {rss:.0f} MiB", flush=True)
    return {"name": name, "seconds": median, "runs": times, "rss_mib": rss}


def measure_side_by_side(runs, *commands):
    """`measure` of (name, command) pairs, their runs taking turns: a machine that slows down
    or speeds up during the run (a shared host does) moves them alike, and their ratios hold."""
    times = {name: [] for name, _ in commands}
    rss = {name: 0.0 for name, _ in commands}
    for _ in range(runs):
        for name, cmd in commands:
            t, r = run_once(cmd)
            times[name].append(t)
            rss[name] = max(rss[name], r)
    results = []
    for name, _ in commands:
        median = statistics.median(times[name])
        print(f"  {name}: {median:.3f} s (runs: {', '.join(f'{t:.2f}' for t in times[name])}), peak RSS {rss[name]:.0f} MiB", flush=True)
        results.append({"name": name, "seconds": median, "runs": times[name], "rss_mib": rss[name]})
    return tuple(results)


def log_files(archive):
    return sorted(
        str(p) for p in archive.rglob("*.json.gz") if "CloudTrail-Digest" not in str(p)
    )


def generate(archive, events):
    if not (archive / "AWSLogs").is_dir():
        print(f"generating {archive} ({events} events) ...", flush=True)
        subprocess.run([GEN, "bench", archive, "--events", str(events), "--seed", "1"], check=True)
        subprocess.run([GEN, "sign", archive, "--bucket", BUCKET], check=True)


def pick_values(archive):
    """A needle EventId, a rare AccessKeyId and a common EventSource, from the archive."""
    files = log_files(archive)
    records = json.load(gzip.open(files[len(files) * 2 // 3]))["Records"]
    needle = records[len(records) // 2]["eventID"]
    keys = {}
    sources = {}
    for f in files[:: max(1, len(files) // 200)]:
        for r in json.load(gzip.open(f))["Records"]:
            k = r.get("userIdentity", {}).get("accessKeyId")
            if k:
                keys[k] = keys.get(k, 0) + 1
            sources[r["eventSource"]] = sources.get(r["eventSource"], 0) + 1
    rare = min(keys, key=lambda k: (keys[k], k))
    common = max(sources, key=lambda s: (sources[s], s))
    return needle, rare, common


FLOOR_PY = """
import hashlib, sys, zlib
from multiprocessing import Pool
def inflate(path):
    with open(path, "rb") as f:
        data = zlib.decompress(f.read(), zlib.MAX_WBITS | 16)
    if sys.argv[3] == "sha256":
        hashlib.sha256(data).hexdigest()
    return len(data)
files = [l.rstrip("\\n") for l in open(sys.argv[1])]
with Pool(int(sys.argv[2])) as p:
    print(sum(p.map(inflate, files, chunksize=16)))
"""

DUCKDB_PY = """
import sys, duckdb
files = [l.rstrip("\\n") for l in open(sys.argv[1])]
column, value = sys.argv[2], sys.argv[3]
con = duckdb.connect()
rows = con.execute(
    f"SELECT r.eventID, r.eventTime FROM (SELECT unnest(Records) AS r FROM read_json(?, format='auto', maximum_object_size=1073741824)) WHERE {column} = ?",
    [files, value],
).fetchall()
print(len(rows))
"""


def lookups(archive, needle, rare, common):
    return [
        ("needle (EventId)", "EventId", needle, "r.eventID", ".eventID"),
        ("rare (AccessKeyId)", "AccessKeyId", rare, "r.userIdentity.accessKeyId", ".userIdentity.accessKeyId"),
        ("common (EventSource)", "EventSource", common, "r.eventSource", ".eventSource"),
    ]


def lookup_benchmarks(archive, runs, cores, python, file_list):
    needle, rare, common = pick_values(archive)
    print(f"values: needle {needle}, rare {rare}, common {common}", flush=True)
    rows = {}
    rows["floor_zlib"] = measure(f"stock zlib inflate floor ({cores} processes)", [python, "-c", FLOOR_PY, file_list, str(cores), "-"], runs)
    rows["floor_ours"] = measure("trailscan's inflate (zlib-rs) floor", [FLOOR, archive], runs)
    rows["floor_zlib_sha"] = measure(f"stock zlib inflate + hashlib SHA-256 floor ({cores} processes)", [python, "-c", FLOOR_PY, file_list, str(cores), "sha256"], runs)
    rows["floor_ours_sha"] = measure("trailscan's inflate + SHA-256 floor", [FLOOR, archive, "--sha256"], runs)
    for label, key, value, duck_col, jq_path in lookups(archive, needle, rare, common):
        ts = [BIN, "lookup-events", "-q", "--source", archive, "--lookup-attributes", f"AttributeKey={key},AttributeValue={value}", "--output", "json"]
        rows[f"ts {label}"] = measure(f"trailscan {label}", ts, runs)
        if key == "EventId":
            rows["ts needle 1 thread"] = measure("trailscan needle, 1 thread", ts + ["--threads", "1"], runs)
        rows[f"duckdb {label}"] = measure(f"DuckDB {label}", [python, "-c", DUCKDB_PY, file_list, duck_col, value], runs)
        jq = f"xargs -a {shlex.quote(file_list)} zcat | jq -c '.Records[] | select({jq_path} == \"{value}\")' > /dev/null"
        rows[f"jq {label}"] = measure(f"zcat | jq {label}", ["bash", "-o", "pipefail", "-c", jq], runs)
    return rows


def upload(archive, endpoint, env):
    """The two standalone accounts' objects into the bucket, digests with their signature
    metadata (from the sidecars), 16 at a time, through botocore."""
    code = """
import json, os, sys, concurrent.futures
import botocore.session
root, bucket = sys.argv[1], sys.argv[2]
s3 = botocore.session.get_session().create_client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
try:
    s3.create_bucket(Bucket=bucket)
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass
files = []
for d, _, names in os.walk(os.path.join(root, "AWSLogs")):
    files += [os.path.join(d, n) for n in names if n.endswith(".json.gz")]
def put(path):
    key = os.path.relpath(path, root)
    meta = {}
    if os.path.exists(path + ".s3meta.json"):
        meta = json.load(open(path + ".s3meta.json"))["metadata"]
    with open(path, "rb") as f:
        s3.put_object(Bucket=bucket, Key=key, Body=f.read(), Metadata=meta)
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    list(pool.map(put, files))
print(len(files))
"""
    out = subprocess.run([VENV / "python", "-c", code, archive, BUCKET], env=env, check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def validate_benchmarks(archive, runs, python, needle, latency_only=False):
    server_dir = Path(tempfile.mkdtemp(prefix="trailscan-bench-s3-"))
    subprocess.run([ROOT / "scripts/s3-test-server.sh", "start", server_dir], check=True, stdout=subprocess.DEVNULL)
    try:
        server = dict(l.split("=", 1) for l in (server_dir / "s3.env").read_text().split())
        env = {**os.environ, **server}
        print("uploading the standalone accounts to the S3 server ...", flush=True)
        objects = upload(archive, server["AWS_ENDPOINT_URL"], env)
        keys = archive.parent / f"{archive.name}-public-keys.json"
        config = server_dir / "aws-config"
        config.write_text("[default]\nregion = us-east-1\n[plugins]\ntrailscan_public_keys = trailscan_public_keys\n")
        aws_env = {**env, "AWS_ENDPOINT_URL_S3": server["AWS_ENDPOINT_URL"], "AWS_CONFIG_FILE": str(config),
                   "PYTHONPATH": str(PLUGIN_DIR), "TRAILSCAN_PUBLIC_KEYS": str(keys)}
        aws_env.pop("AWS_ENDPOINT_URL")
        start, end = "2024-02-29T00:00:00Z", "2024-04-01T00:00:00Z"
        chains = [(a, r) for a in ("123456789012", "234567890123") for r in ("us-east-1", "eu-west-1", "ap-southeast-2")]

        def aws_args(account, region):
            # Each chain of the generated archive is its own region's trail (home region = region).
            return ["cloudtrail", "validate-logs", "--trail-arn", f"arn:aws:cloudtrail:{region}:{account}:trail/bench",
                    "--start-time", start, "--end-time", end, "--s3-bucket", BUCKET]

        # Parity: one chain, both tools, byte for byte.
        account, region = chains[0]
        aws_one = subprocess.run([VENV / "aws", *aws_args(account, region)], env=aws_env, capture_output=True)
        ts_one = subprocess.run([BIN, "validate-logs", "--source", f"s3://{BUCKET}", "--endpoint-url", server["AWS_ENDPOINT_URL"],
                                 "--public-keys", keys, *aws_args(account, region)[2:]], env=env, capture_output=True)
        identical = (aws_one.stdout, aws_one.stderr, aws_one.returncode) == (ts_one.stdout, ts_one.stderr, ts_one.returncode)
        summary = aws_one.stdout.decode().strip().splitlines()[-2:]
        print(f"  one chain, parity: identical output {identical}; AWS CLI says {summary}", flush=True)
        weed = int((server_dir / "weed.pid").read_text())

        def server_cpu():
            fields = Path(f"/proc/{weed}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        def measure_with_server(name, cmd, env):
            before = server_cpu()
            row = measure(name, cmd, runs, env)
            row["server_cpu"] = (server_cpu() - before) / runs
            return row

        aws_all = ["bash", "-c", " && ".join(shlex.join([str(VENV / "aws"), *aws_args(a, r)]) + " > /dev/null" for a, r in chains)]
        ts_s3 = [BIN, "validate-logs", "--source", f"s3://{BUCKET}", "--endpoint-url", server["AWS_ENDPOINT_URL"], "--public-keys", keys]
        logs = sum(1 for p in (archive / "AWSLogs").rglob("*.json.gz") if "CloudTrail-Digest" not in str(p))
        info = {"objects": objects, "logs": logs, "identical": identical, "summary": summary}
        latency = latency_benchmarks(runs, server, env, aws_env, ts_s3, [VENV / "aws", *aws_args(account, region)],
                                     ["--start-time", start, "--end-time", end], needle, acquire_destination())
        if latency_only:
            return None, info, latency
        rows = {
            "aws validate": measure_with_server("AWS CLI validate-logs, 6 chains one after another", aws_all, aws_env),
            "ts validate": measure_with_server("trailscan validate-logs, the 6 chains at once", [*ts_s3, "--start-time", start, "--end-time", end], env),
            "aws validate one": measure_with_server("AWS CLI validate-logs, one chain", [VENV / "aws", *aws_args(account, region)], aws_env),
            "ts validate one": measure_with_server("trailscan validate-logs, the same chain (parity mode)", [*ts_s3, *aws_args(account, region)[2:]], env),
        }
        return rows, info, latency
    finally:
        subprocess.run([ROOT / "scripts/s3-test-server.sh", "stop", server_dir], stdout=subprocess.DEVNULL)


def acquire_destination():
    """Where the latency runs acquire to: memory (tmpfs) where there is one. On ext4, creating
    3,218 files right after the last run deleted as many costs seconds of kernel CPU hunting
    free inodes (ext4's recently_deleted), which hides the network the runs are there to
    measure and varies from run to run."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return base / f"trailscan-bench-acquired-{os.getpid()}"


def latency_benchmarks(runs, server, env, aws_env, ts_s3, aws_one, window, needle, acquire_dir):
    """The same work with the S3 server a round trip away (the latency proxy in front of it):
    a needle lookup, validate-logs over the 6 chains (and the AWS CLI's over one, once: it
    takes minutes at 80 ms), and an acquire of the whole bucket into an empty folder."""
    upstream = server["AWS_ENDPOINT_URL"].removeprefix("http://")
    rows = {}
    # An index of the bucket, kept in the same S3: a needle through it reads a few segments and
    # the candidate objects, so its time is the round trips' more than the server's.
    index = f"s3://{INDEX_BUCKET}/index"
    subprocess.run([VENV / "aws", "s3api", "create-bucket", "--bucket", INDEX_BUCKET], env=env, capture_output=True)
    subprocess.run([BIN, "index", "-q", "--source", f"s3://{BUCKET}", "--endpoint-url", server["AWS_ENDPOINT_URL"], "--index", index],
                   env=env, check=True, capture_output=True)
    # The server itself, no proxy: what the proxy's own CPU (on the cores trailscan and the
    # server share) adds to every row, the 0 ms one included.
    direct = server["AWS_ENDPOINT_URL"]
    copy = f"rm -rf {shlex.quote(str(acquire_dir))} && {shlex.quote(str(BIN))} acquire s3://{BUCKET} {shlex.quote(str(acquire_dir))} --endpoint-url {direct}"
    rows["direct"] = {
        "lookup": measure("needle lookup, no proxy", [BIN, "lookup-events", "-q", "--source", f"s3://{BUCKET}", "--endpoint-url", direct,
                                                      "--lookup-attributes", f"AttributeKey=EventId,AttributeValue={needle}"], runs, env),
        "validate": measure("validate-logs, 6 chains, no proxy", [*ts_s3, *window], runs, env),
        "acquire": measure("acquire, no proxy", ["bash", "-c", copy], runs, env),
    }
    for ms in ROUND_TRIPS_MS:
        proxy = subprocess.Popen([PROXY, upstream, str(ms)], stdout=subprocess.PIPE, text=True)
        try:
            url = proxy.stdout.readline().strip()
            swap = lambda cmd: [url if str(a) == server["AWS_ENDPOINT_URL"] else a for a in cmd]
            print(f"round trip + {ms} ms ({url}):", flush=True)
            lookup = [BIN, "lookup-events", "-q", "--source", f"s3://{BUCKET}", "--endpoint-url", url,
                      "--lookup-attributes", f"AttributeKey=EventId,AttributeValue={needle}"]
            copy = f"rm -rf {shlex.quote(str(acquire_dir))} && {shlex.quote(str(BIN))} acquire s3://{BUCKET} {shlex.quote(str(acquire_dir))} --endpoint-url {url}"
            rows[ms] = {
                "lookup": measure(f"needle lookup, +{ms} ms", lookup, runs, env),
                "indexed": measure(f"needle lookup, index in S3, +{ms} ms", [*lookup, "--index", index], runs, env),
                "validate": measure(f"validate-logs, 6 chains, +{ms} ms", [*swap(ts_s3), *window], runs, env),
                "acquire": measure(f"acquire, +{ms} ms", ["bash", "-c", copy], runs, env),
                "aws": measure(f"AWS CLI validate-logs, one chain, +{ms} ms", aws_one, 1, {**aws_env, "AWS_ENDPOINT_URL_S3": url}),
                "ts one": measure(f"validate-logs, the same chain, +{ms} ms", [*swap(ts_s3), *aws_one[3:]], runs, env),
            }
        finally:
            proxy.kill()
    shutil.rmtree(acquire_dir, ignore_errors=True)
    return rows


def latency_section(rows, vinfo):
    base = rows[ROUND_TRIPS_MS[0]]
    direct = rows.pop("direct")
    lines = [
        LATENCY_MARK,
        "## S3 across a network",
        "",
        f"Measured on {time.strftime('%Y-%m-%d')}, trailscan {version(['git', '-C', str(ROOT), 'describe', '--always', '--dirty'])}: "
        f"the S3 server behind `latency-proxy` (benches/), which holds every request the round trip given before",
        f"passing it on; the two standalone accounts ({vinfo['logs']} log files, {vinfo['objects']} objects). "
        "trailscan sizes its requests in flight for the round trip it measures (`--max-concurrent-requests` overrides). "
        "acquire copies the bucket into memory (tmpfs), so that the disk's own costs stay out of a table about the network. "
        "The needle is also looked up through an index of the bucket kept in the same S3 (`--index s3://...`), which the lookup reads beside its listing.",
        "",
        "| round trip added | needle lookup | the same, index in S3 | validate-logs, 6 chains | acquire | AWS CLI validate-logs, 1 chain (1 run) | trailscan, same chain | AWS CLI / trailscan | peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for ms, r in rows.items():
        ratio = lambda k: f"{r[k]['seconds']:.2f} s ({r[k]['seconds'] / base[k]['seconds']:.2f}x)"
        rss = max(r[k]["rss_mib"] for k in ("lookup", "indexed", "validate", "acquire", "ts one"))
        lines.append(f"| {ms} ms | {ratio('lookup')} | {r['indexed']['seconds']:.2f} s | {ratio('validate')} | {ratio('acquire')} | "
                     f"{r['aws']['seconds']:.1f} s | {r['ts one']['seconds']:.2f} s | "
                     f"{r['aws']['seconds'] / r['ts one']['seconds']:.1f}x | {rss:.0f} MiB |")
    d = lambda k: f"{direct[k]['seconds']:.2f} s ({direct[k]['seconds'] / base[k]['seconds']:.2f}x the 0 ms row)"
    lines += ["", "In parentheses: the time against the server a round trip away over the time against it beside trailscan.",
              f"Straight to the server, without the proxy: needle lookup {d('lookup')}, validate-logs {d('validate')}, acquire {d('acquire')}; "
              "the proxy's own CPU shares the two cores with trailscan and the server (a real network takes none of it).",
              LATENCY_MARK]
    return lines


def pick_username(archive):
    """The user name (an IAM user's) in the fewest of a sample of the archive's files."""
    files = log_files(archive)
    users = {}
    for f in files[:: max(1, len(files) // 200)]:
        for r in json.load(gzip.open(f))["Records"]:
            name = r.get("userIdentity", {}).get("userName")
            if name and r.get("userIdentity", {}).get("type") == "IAMUser":
                users[name] = users.get(name, 0) + 1
    return min(users, key=lambda u: (users[u], u))


DUCKDB_EXPORT_PY = """
import sys, duckdb
files = [l.rstrip("\\n") for l in open(sys.argv[1])]
con = duckdb.connect()
con.execute(
    f"COPY (SELECT *, recipientAccountId AS account, awsRegion AS region, CAST(eventTime AS DATE) AS day"
    f" FROM (SELECT unnest(Records, max_depth := 2) FROM read_json(?, format='auto', maximum_object_size=1073741824)))"
    f" TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (account, region, day), OVERWRITE_OR_IGNORE)",
    [files],
)
"""


BUSY_EVENTS = 3_000_000
BUSY_FILES_PER_DAY = 1000
EVENTS_PER_FILE = 200  # what `trailscan-fixtures bench` writes
BUDGETS = ("512M", "256M", "128M")  # the first is the CLI's default


def budget_benchmarks(out):
    """Exports of an archive of busy partitions (200,000 events a day per account and region,
    so that row groups fill to 128 Ki rows) under each of `BUDGETS`, once each: time, peak
    RSS, and the row groups written early to keep within the budget."""
    busy = ROOT / f"bench-data/archive-busy-{BUSY_EVENTS}-{BUSY_FILES_PER_DAY}"
    if not (busy / "AWSLogs").is_dir():
        print(f"generating {busy} ...", flush=True)
        subprocess.run([GEN, "bench", busy, "--events", str(BUSY_EVENTS), "--seed", "1",
                        "--files-per-day", str(BUSY_FILES_PER_DAY)], check=True)
    results = []
    for budget in BUDGETS:
        subprocess.run(["rm", "-rf", out], check=True)
        t, rss, stderr = run_once([BIN, "export", "--source", busy, "--include-data-events", "--out", out,
                                   "--memory-budget", budget], keep_stderr=True)
        early = re.search(r"memory: a partition's rows written early (\d+) times", stderr)
        results.append({"budget": budget, "seconds": t, "rss_mib": rss, "early": int(early[1]) if early else 0})
        print(f"  busy partitions, --memory-budget {budget}: {t:.1f} s, peak RSS {rss:.0f} MiB", flush=True)
    return results


def export_benchmarks(archive, runs, events, python, tenx):
    """trailscan export (Parquet, JSON lines) and DuckDB's conversion of the same files into
    partitioned Parquet, each from scratch, median of `runs`; the export's own time split from
    one run; the export of the archive ten times the size once, for its peak RSS; the busy
    partitions under memory budgets."""
    work = Path(tempfile.mkdtemp(prefix="trailscan-bench-export-"))
    try:
        list_file = work / "files"
        list_file.write_text("\n".join(log_files(archive)) + "\n")
        out = work / "out"
        def fresh(cmd):
            return ["sh", "-c", 'rm -rf "$0" && exec "$@"', out, *map(str, cmd)]
        ts = [BIN, "export", "--source", archive, "--include-data-events", "--out", out]
        parquet, jsonl, duck = measure_side_by_side(
            runs,
            ("trailscan export, Parquet", fresh(ts)),
            ("trailscan export, JSON lines", fresh(ts + ["--format", "jsonl"])),
            ("DuckDB COPY to partitioned Parquet", fresh([python, "-c", DUCKDB_EXPORT_PY, list_file, out])),
        )
        subprocess.run(["rm", "-rf", out], check=True)
        split = subprocess.run(ts, capture_output=True, text=True, check=True).stderr
        split = next((l.strip() for l in split.splitlines() if l.strip().startswith("time:")), "")
        big = None
        if tenx:
            subprocess.run(["rm", "-rf", out], check=True)
            t, rss = run_once(ts[:3] + [tenx[0]] + ts[4:])
            big = {"events": tenx[1], "seconds": t, "rss_mib": rss}
            print(f"  trailscan export of {tenx[1]} events: {t:.1f} s, peak RSS {rss:.0f} MiB", flush=True)
        budgets = budget_benchmarks(out)
        return {"events": events, "parquet": parquet, "jsonl": jsonl, "duckdb": duck, "split": split, "big": big,
                "budgets": budgets}
    finally:
        subprocess.run(["rm", "-rf", work], check=False)


def export_section(result):
    events, duck = result["events"], result["duckdb"]["seconds"]
    def row(label, r):
        return (f"| {label} | {r['seconds']:.2f} s | {events / r['seconds']:,.0f} | "
                f"{duck / r['seconds']:.1f}x | {r['rss_mib']:.0f} MiB |")
    lines = [
        EXPORT_MARK,
        "## export: every event into partitioned Parquet",
        "",
        f"Measured on {time.strftime('%Y-%m-%d')}, trailscan {version(['git', '-C', str(ROOT), 'describe', '--always', '--dirty'])}: "
        f"all {events:,} events of the archive above (`--include-data-events`), from scratch into a new folder, whole process, "
        "median, the three commands' runs taking turns; DuckDB converts the same files into Parquet partitioned by account, region and day "
        "(`COPY (SELECT unnest(Records, max_depth := 2) ...) TO ... (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (...))`), "
        "on all cores as trailscan.",
        "",
        "| export | time | events/s | faster than DuckDB | peak RSS |",
        "|---|---:|---:|---:|---:|",
        row("trailscan, Parquet (zstd, statistics, bloom filters)", result["parquet"]),
        row("trailscan, JSON lines", result["jsonl"]),
        row("DuckDB, Parquet (zstd)", result["duckdb"]),
        "",
        f"Where trailscan's time goes (its own summary, one run): `{result['split']}`.",
    ]
    if result["big"]:
        big = result["big"]
        lines += ["", f"The archive ten times the size ({big['events']:,} events): {big['seconds']:.1f} s "
                  f"({big['events'] / big['seconds']:,.0f} events/s), peak RSS {big['rss_mib']:.0f} MiB."]
    lines += ["", f"Busy partitions: a generated archive of {BUSY_EVENTS:,} events, {BUSY_FILES_PER_DAY * EVENTS_PER_FILE:,} a day per "
              "account and region, so that row groups fill to 128 Ki rows, exported once under each `--memory-budget`:", "",
              "| --memory-budget | time | peak RSS | rows written early (times) |", "|---|---:|---:|---:|"]
    for b in result["budgets"]:
        default = " (default)" if b["budget"] == BUDGETS[0] else ""
        lines.append(f"| {b['budget']}{default} | {b['seconds']:.1f} s | {b['rss_mib']:.0f} MiB | {b['early']} |")
    return lines + ["", EXPORT_MARK]


def tree_bytes(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def index_benchmarks(archive, runs, events, sharded=True):
    """Build (from scratch, median of 3), size, the update after 1 % new log files, and three
    lookups via the index beside the same lookups scanning, all in this run."""
    needle, rare, _ = pick_values(archive)
    user = pick_username(archive)
    work = Path(tempfile.mkdtemp(prefix="trailscan-bench-index-"))
    try:
        index = work / "index"
        builds = []
        for _ in range(3):
            subprocess.run(["rm", "-rf", index], check=True)
            builds.append(run_once([BIN, "index", "-q", "--source", archive, "--index", index]))
        build = {"seconds": statistics.median(t for t, _ in builds), "runs": [t for t, _ in builds],
                 "rss_mib": max(r for _, r in builds)}
        print(f"  index build: {build['seconds']:.3f} s (runs: {', '.join(f'{t:.2f}' for t in build['runs'])}), peak RSS {build['rss_mib']:.0f} MiB", flush=True)
        size = tree_bytes(index)
        sharded = sharded_builds(archive, work) if sharded else None
        lookups = {}
        for label, key, value in (("needle (EventId)", "EventId", needle), ("rare (AccessKeyId)", "AccessKeyId", rare), ("Username", "Username", user)):
            ts = [BIN, "lookup-events", "-q", "--source", archive, "--lookup-attributes", f"AttributeKey={key},AttributeValue={value}", "--output", "json"]
            lookups[label] = measure_side_by_side(runs, (f"scan {label}", ts), (f"via the index {label}", ts + ["--index", index]))
        # An update after 1 % new files: the index of a copy (hard links) without the newest
        # 1 % of log files, then those files back, then `trailscan index` again.
        copy = work / "copy"
        subprocess.run(["cp", "-al", archive, copy], check=True)
        logs = sorted(Path(f) for f in log_files(copy))
        newest = sorted(logs, key=lambda p: p.name.split("_")[3])[-max(1, len(logs) // 100):]
        aside = work / "aside"
        for i, f in enumerate(newest):
            (aside / str(i)).parent.mkdir(parents=True, exist_ok=True)
            f.rename(aside / str(i))
        partial = work / "partial-index"
        # As delivery goes on: the newest files' days (and the day before) stay open, the
        # older ones are sealed.
        first_new = min(int(f.parent.parent.parent.name) * 10000 + int(f.parent.parent.name) * 100 + int(f.parent.name) for f in newest)
        day_start = calendar.timegm(time.strptime(str(first_new), "%Y%m%d"))
        seal = ["--seal-after", f"{int(time.time()) - day_start + 3600}s"]
        subprocess.run([BIN, "index", "-q", "--source", copy, "--index", partial, *seal], check=True)
        for i, f in enumerate(newest):
            (aside / str(i)).rename(f)
        update_t, update_rss = run_once([BIN, "index", "-q", "--source", copy, "--index", partial, *seal])
        print(f"  index update after {len(newest)} new files (1 %): {update_t:.3f} s", flush=True)
        return {"build": build, "sharded": sharded, "size": size, "events": events, "lookups": lookups,
                "update": {"seconds": update_t, "rss_mib": update_rss, "files": len(newest)}}
    finally:
        subprocess.run(["rm", "-rf", work], check=False)


def run_together(cmds):
    """Wall seconds until every one of `cmds`, started at once, has finished; and the largest
    peak RSS among them."""
    start = time.perf_counter()
    rss_files = [tempfile.NamedTemporaryFile("r") for _ in cmds]
    procs = [subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", f.name, *map(str, cmd)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for f, cmd in zip(rss_files, cmds)]
    for proc, cmd in zip(procs, cmds):
        _, err = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"failed ({proc.returncode}): {shlex.join(map(str, cmd))}\n{err.decode(errors='replace')}")
    elapsed = time.perf_counter() - start
    rss = max(int(f.read().split()[-1]) / 1024 for f in rss_files)
    for f in rss_files:
        f.close()
    return elapsed, rss


def sharded_builds(archive, work):
    """The index built as a batch array job builds it (`index --shard K/N --run-id`): one shard
    of one (the sharded path's own cost), two shards at once on this machine (the last to
    finish publishes), and one shard of two alone (what each of two machines does). Medians
    of 3, each from an empty index."""
    index = work / "sharded-index"

    def shard(k, n, run):
        return [BIN, "index", "-q", "--source", archive, "--index", index, "--shard", f"{k}/{n}", "--run-id", run]

    results = {}
    for label, make in (("one shard of one", lambda r: [shard(0, 1, r)]),
                        ("two shards at once", lambda r: [shard(0, 2, r), shard(1, 2, r)]),
                        ("one shard of two, alone", lambda r: [shard(0, 2, r)])):
        runs = []
        for i in range(3):
            subprocess.run(["rm", "-rf", index], check=True)
            runs.append(run_together(make(f"bench-{i}")))
        results[label] = {"seconds": statistics.median(t for t, _ in runs), "runs": [t for t, _ in runs],
                          "rss_mib": max(r for _, r in runs)}
        print(f"  index build, {label}: {results[label]['seconds']:.3f} s (runs: {', '.join(f'{t:.2f}' for t, _ in runs)}), "
              f"peak RSS {results[label]['rss_mib']:.0f} MiB", flush=True)
    subprocess.run(["rm", "-rf", index], check=True)
    return results


def index_section(large, tenx):
    build, scan_needle = large["build"], large["lookups"]["needle (EventId)"][0]["seconds"]
    lines = [
        INDEX_MARK,
        "## Repeated lookups: the index",
        "",
        f"Measured on {time.strftime('%Y-%m-%d')}, trailscan {version(['git', '-C', str(ROOT), 'describe', '--always', '--dirty'])}: "
        f"`trailscan index` over the archive above ({large['events']:,} events), then lookups with `--index` beside the same lookups scanning, in one run "
        "(their runs taking turns; whole process, median; page cache warm). The archive's days are all sealed (`--index-check sealed`, the default): "
        "a lookup lists no day folder, rules segments out by the one summary bucket each probe needs, decodes the survivors, and reads only the candidate files, "
        "each checked against its row as it is read.",
        "",
        "| lookup | scan | via the index | faster by | peak RSS (index) |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, (scan, via) in large["lookups"].items():
        lines.append(f"| {label} | {scan['seconds']:.3f} s | {via['seconds'] * 1000:.1f} ms | {scan['seconds'] / via['seconds']:.0f}x | {via['rss_mib']:.0f} MiB |")
    mb_per_m = large["size"] / 1e6 / (large["events"] / 1e6)
    lines += [
        "",
        "The generated archive's few user names act in every file, so a Username lookup reads every file with or without the index: "
        "it shows what the index costs where it cannot prune.",
        "",
        f"- index size: {large['size'] / 1e6:.1f} MB, {mb_per_m:.1f} MB per million events",
        f"- build: {build['seconds']:.2f} s ({build['seconds'] / scan_needle:.1f}x a needle scan; every record parsed, every file hashed), peak RSS {build['rss_mib']:.0f} MiB",
        f"- update after {large['update']['files']} new log files (1 %, in open days; every sealed day re-checked against its seal): {large['update']['seconds']:.3f} s ({large['update']['seconds'] / build['seconds'] * 100:.1f} % of a build)",
    ]
    sharded = large.get("sharded")
    if sharded:
        one, two, half = (sharded[k] for k in ("one shard of one", "two shards at once", "one shard of two, alone"))
        lines += [
            f"- built as a batch array job builds it (`index --shard K/N --run-id ID`, the last shard publishing): one shard of one {one['seconds']:.2f} s "
            f"({one['seconds'] / build['seconds']:.2f}x the unsharded build); two shards at once on this {os.cpu_count()}-core machine {two['seconds']:.2f} s "
            f"({two['seconds'] / build['seconds']:.2f}x: they share its cores); one shard of two alone, what each of two machines does, {half['seconds']:.2f} s "
            f"({half['seconds'] / build['seconds']:.2f}x), peak RSS {half['rss_mib']:.0f} MiB",
        ]
    if tenx:
        t_scan, t_via = tenx["lookups"]["needle (EventId)"]
        lines += [
            f"- ten times the archive ({tenx['events']:,} events): needle scan {t_scan['seconds']:.2f} s, via the index {t_via['seconds'] * 1000:.1f} ms "
            f"({t_scan['seconds'] / t_via['seconds']:.0f}x); build {tenx['build']['seconds']:.1f} s (peak RSS {tenx['build']['rss_mib']:.0f} MiB), "
            f"lookup peak RSS {t_via['rss_mib']:.0f} MiB, index {tenx['size'] / 1e6:.1f} MB",
            f"- the needle via the index at ten times the archive takes {t_via['seconds'] / large['lookups']['needle (EventId)'][1]['seconds']:.2f}x its time at one time "
            "(targets: >= 50x the scan at one time, >= 200x at ten times, <= 1.5x from one to ten times, <= 64 MiB peak RSS at ten times)",
        ]
    lines += [INDEX_MARK]
    return lines


def chain_records(account, day):
    """A chain of three AssumeRole calls on `day` ("YYYY-MM-DD"): an IAM user into role R1,
    R1's session into R2, R2's into R3, then a call with R3's key."""
    def user():
        return {"type": "IAMUser", "principalId": "AIDABENCHUSER", "arn": f"arn:aws:iam::{account}:user/bench-user",
                "accountId": account, "accessKeyId": "AKIABENCHUSER0000001", "userName": "bench-user"}

    def session(role, name, key, created):
        return {"type": "AssumedRole", "principalId": f"AROA{role.upper()}:{name}",
                "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{name}", "accountId": account, "accessKeyId": key,
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{account}:role/{role}"},
                                   "attributes": {"creationDate": created, "mfaAuthenticated": "false"}}}

    def assume(i, time_, caller, role, key):
        return {"eventVersion": "1.08", "eventID": f"bench-chain-{i}", "eventName": "AssumeRole", "eventTime": time_,
                "eventSource": "sts.amazonaws.com", "awsRegion": "us-east-1", "recipientAccountId": account,
                "userIdentity": caller, "sourceIPAddress": "203.0.113.10", "userAgent": "bench", "readOnly": True,
                "eventType": "AwsApiCall", "managementEvent": True, "eventCategory": "Management",
                "requestParameters": {"roleArn": f"arn:aws:iam::{account}:role/{role}", "roleSessionName": f"s{i}"},
                "responseElements": {"credentials": {"accessKeyId": key, "expiration": "Jan 1, 2024, 2:00:00 AM"}}}

    t = [f"{day}T00:5{i}:00Z" for i in range(4)]
    return [
        assume(1, t[0], user(), "R1", "ASIABENCHKEY00000001"),
        assume(2, t[1], session("R1", "s1", "ASIABENCHKEY00000001", t[0]), "R2", "ASIABENCHKEY00000002"),
        assume(3, t[2], session("R2", "s2", "ASIABENCHKEY00000002", t[1]), "R3", "ASIABENCHKEY00000003"),
        {"eventVersion": "1.08", "eventID": "bench-chain-use", "eventName": "ListBuckets", "eventTime": t[3],
         "eventSource": "s3.amazonaws.com", "awsRegion": "us-east-1", "recipientAccountId": account,
         "userIdentity": session("R3", "s3", "ASIABENCHKEY00000003", t[2]), "readOnly": True,
         "eventType": "AwsApiCall", "managementEvent": True, "eventCategory": "Management"},
    ]


def trace_benchmarks(archive, runs, events):
    """A three-hop chain written into a copy of the archive (hard links, one file more), then
    `trailscan trace` of its last key scanning and with the index, in one run."""
    work = Path(tempfile.mkdtemp(prefix="trailscan-bench-trace-"))
    try:
        copy = work / "copy"
        subprocess.run(["cp", "-al", archive, copy], check=True)
        first = min(log_files(copy))
        y, m, d = Path(first).parts[-4:-1]
        account = "999999999999"
        folder = copy / f"AWSLogs/{account}/CloudTrail/us-east-1/{y}/{m}/{d}"
        folder.mkdir(parents=True)
        body = json.dumps({"Records": chain_records(account, f"{y}-{m}-{d}")}).encode()
        (folder / f"{account}_CloudTrail_us-east-1_{y}{m}{d}T0100Z_benchchain000001.json.gz").write_bytes(gzip.compress(body))
        index = work / "index"
        subprocess.run([BIN, "index", "-q", "--source", copy, "--index", index], check=True)
        cmd = [BIN, "trace", "-q", "--source", copy, "--access-key", "ASIABENCHKEY00000003"]
        answer = json.loads(subprocess.run(cmd + ["--index", index], capture_output=True, check=True).stdout)
        hops = [h["EventId"] for h in answer["Hops"]]
        if hops != ["bench-chain-3", "bench-chain-2", "bench-chain-1"] or answer["Origin"]["Type"] != "IAMUser":
            sys.exit(f"the bench chain did not trace: {json.dumps(answer)}")
        return {"events": events, "scan": measure("trace, 3 hops, scanning", cmd, runs),
                "index": measure("trace, 3 hops, with the index", cmd + ["--index", index], runs)}
    finally:
        subprocess.run(["rm", "-rf", work], check=False)


def trace_section(result):
    scan, via = result["scan"], result["index"]
    return [
        TRACE_MARK,
        "## trace: a three-hop chain",
        "",
        f"Measured on {time.strftime('%Y-%m-%d')}, trailscan {version(['git', '-C', str(ROOT), 'describe', '--always', '--dirty'])}: "
        f"the archive above ({result['events']:,} events) with one log file more, holding a chain (an IAM user assumes R1, "
        "R1's session assumes R2, R2's assumes R3, R3's key is used); `trailscan trace --access-key` of R3's key, whole process, median. "
        "Scanning, a first round reads every record of the window (and the 36 hours before it), then each hop only the 36 hours "
        "before its key's use; with the index, each round is a probe of the used-key and issued-key hashes and reads only the "
        "files that may hold them.",
        "",
        "| trace | median | peak RSS |",
        "|---|---:|---:|",
        f"| scanning | {scan['seconds']:.3f} s | {scan['rss_mib']:.0f} MiB |",
        f"| with the index | {via['seconds'] * 1000:.1f} ms | {via['rss_mib']:.0f} MiB |",
        f"| faster by | {scan['seconds'] / via['seconds']:.0f}x | |",
        "",
        TRACE_MARK,
    ]


def hunt_benchmarks(archive, runs, events, sigma_rules):
    """`trailscan hunt` with SigmaHQ's CloudTrail rules, all of them and one selective rule,
    scanning and with the index, beside the needle lookup (the scan's floor) and rsigma's CLI
    fed NDJSON by `zcat | jq -c '.Records[]'` and from a file, in one run."""
    if not sigma_rules or not Path(sigma_rules).is_dir():
        print("NOTICE: no --sigma-rules (or SIGMA_RULES, SigmaHQ's rules/cloud/aws/cloudtrail): the hunt section is left as it is", flush=True)
        return None
    rules = Path(sigma_rules)
    selective = rules / "aws_cloudtrail_disable_logging.yml"
    count = len(list(rules.glob("*.yml")))
    work = Path(tempfile.mkdtemp(prefix="trailscan-bench-hunt-"))
    try:
        index = work / "index"
        subprocess.run([BIN, "index", "-q", "--source", archive, "--index", index], check=True)
        needle = pick_values(archive)[0]
        hunt = [BIN, "hunt", "-q", "--output", "jsonl", "--source", archive, "--rules"]
        results = measure_side_by_side(
            runs,
            ("needle lookup (EventId)", [BIN, "lookup-events", "-q", "--source", archive, "--lookup-attributes", f"AttributeKey=EventId,AttributeValue={needle}"]),
            (f"hunt, SigmaHQ's {count} rules", hunt + [rules]),
            ("hunt, one rule (CloudTrail logging disabled)", hunt + [selective]),
            ("hunt, one rule, with the index", hunt + [selective, "--index", index]),
        )
        detections = subprocess.run(hunt + [rules], capture_output=True, check=True).stdout.count(b"\n")
        peers = {}
        if RSIGMA.exists():
            files = work / "files"
            files.write_text("\n".join(log_files(archive)) + "\n")
            ndjson = work / "events.ndjson"
            subprocess.run(f"xargs zcat < {shlex.quote(str(files))} | jq -c '.Records[]' > {shlex.quote(str(ndjson))}", shell=True, check=True)
            pipeline = f"xargs zcat < {shlex.quote(str(files))} | jq -c '.Records[]' | {RSIGMA} engine eval -r {shlex.quote(str(rules))} > /dev/null"
            peers = dict(zip(["pipeline", "alone"], measure_side_by_side(
                max(1, runs // 2),
                ("rsigma fed by zcat | jq -c", ["sh", "-c", pipeline]),
                ("rsigma alone, NDJSON on disk", ["sh", "-c", f"{RSIGMA} engine eval -r {shlex.quote(str(rules))} < {shlex.quote(str(ndjson))} > /dev/null"]),
            )))
        return {"events": events, "rules": count, "detections": detections, "results": results, "peers": peers,
                "rsigma": version([RSIGMA, "--version"]) if RSIGMA.exists() else None,
                "routine": routine_hunt(archive, runs, events, rules, work)}
    finally:
        subprocess.run(["rm", "-rf", work], check=False)


# Management events drawn from the whole mix this many times in a million in the routine
# archive; the others are reads, service role sessions and KMS calls, as in production.
NOTABLE_PER_MILLION = 100


def routine_hunt(archive, runs, events, rules, work):
    """The same rules over an archive of routine calls (generated once beside `archive`), where
    detections are rare as in production: all of them, and all but `AWS STS AssumeRole Misuse`,
    which matches every call of an assumed role, beside the needle lookup."""
    routine = archive.parent / f"{archive.name}-routine"
    if not (routine / "AWSLogs").is_dir():
        subprocess.run([GEN, "bench", routine, "--events", str(events), "--seed", "1",
                        "--notable-per-million", str(NOTABLE_PER_MILLION)], check=True)
    subprocess.run(["find", routine, "-name", "*.json.gz", "-exec", "cat", "{}", "+"], stdout=subprocess.DEVNULL, check=False)
    without = work / "rules-without-assumerole-misuse"
    without.mkdir()
    for rule in rules.glob("*.yml"):
        if rule.name != "aws_sts_assumerole_misuse.yml":
            shutil.copy(rule, without / rule.name)
    count = len(list(without.glob("*.yml")))
    hunt = [BIN, "hunt", "-q", "--output", "jsonl", "--source", routine, "--rules"]
    needle = pick_values(routine)[0]
    results = measure_side_by_side(
        runs,
        ("needle lookup (EventId)", [BIN, "lookup-events", "-q", "--source", routine, "--lookup-attributes", f"AttributeKey=EventId,AttributeValue={needle}"]),
        (f"hunt, SigmaHQ's {count + 1} rules", hunt + [rules]),
        (f"hunt, the {count} others (without AssumeRole Misuse)", hunt + [without]),
    )
    detections = [subprocess.run(hunt + [r], capture_output=True, check=True).stdout.count(b"\n") for r in (rules, without)]
    return {"results": results, "detections": detections, "notable": NOTABLE_PER_MILLION}


def hunt_section(result):
    if result is None:
        return None
    needle, full, one, indexed = result["results"]
    events = result["events"]
    rate = lambda r: f"{events / r['seconds'] / 1000:,.0f}k"
    lines = [
        HUNT_MARK,
        "## hunt: Sigma rules",
        "",
        f"Measured on {time.strftime('%Y-%m-%d')}, trailscan {version(['git', '-C', str(ROOT), 'describe', '--always', '--dirty'])}, "
        f"the archive above ({events:,} events), whole process, median, side by side in one run. SigmaHQ's {result['rules']} "
        f"CloudTrail rules (a snapshot of SigmaHQ/sigma) find {result['detections']:,} detections here: the generated archive's "
        "events are mostly assumed-role calls, which `AWS STS AssumeRole Misuse` (level low) matches, so most records are parsed "
        "and evaluated and half of them printed. One selective rule (`aws_cloudtrail_disable_logging`, event names no file holds) "
        "is ruled out file by file before any parsing, and with the index no file is read.",
        "",
        "| command | median | events/s | vs the needle lookup | peak RSS |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in (needle, full, one, indexed):
        lines.append(f"| {r['name']} | {r['seconds']:.3f} s | {rate(r)} | {r['seconds'] / needle['seconds']:.2f}x | {r['rss_mib']:.0f} MiB |")
    lines += ["", f"With the index, the selective rule runs {one['seconds'] / indexed['seconds']:.1f}x faster than without."]
    routine = result.get("routine")
    if routine:
        needle_r, all_r, others_r = routine["results"]
        everything, rest = routine["detections"]
        lines += [
            "",
            f"The same rules over an archive of routine calls ({events:,} events: management events from the whole mix "
            f"{routine['notable']} times in a million, the others reads, service role sessions and KMS calls; generated once by "
            "`trailscan-fixtures bench --notable-per-million`), where detections are rare as in production: the "
            f"{result['rules'] - 1} rules other than AssumeRole Misuse find {rest:,}, all {result['rules']} find {everything:,} (that rule matches every call of "
            "an assumed role, a role session of a person or a service: most of any real archive). The prefilter rules a record "
            "out unless, for some rule, it holds a value of each of the rule's clauses (`ConsoleLogin` and `Success`; TruffleHog's "
            "user agent beside `GetCallerIdentity`): each `eventName` member is read and looked up among the rules' event names, "
            "the other values are searched for with aho-corasick's SIMD search over a lowercased copy (a rule's only where its "
            "event names are), and an exact value in its quotes (`\"Root\"`); a record it lets through is evaluated against the "
            "rules whose every clause it holds, not all of them.",
            "",
            "| command | median | events/s | vs the needle lookup | peak RSS |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in (needle_r, all_r, others_r):
            lines.append(f"| {r['name']} | {r['seconds']:.3f} s | {rate(r)} | {r['seconds'] / needle_r['seconds']:.2f}x | {r['rss_mib']:.0f} MiB |")
    peers = result["peers"]
    if peers:
        lines += [
            "",
            f"rsigma's CLI ({result['rsigma']}) with the same {result['rules']} rules reads NDJSON, so the archive is piped "
            "through `zcat | jq -c '.Records[]'` (or converted once beforehand):",
            "",
            "| pipeline | median | events/s | trailscan hunt is faster by |",
            "|---|---:|---:|---:|",
        ]
        for r in peers.values():
            name = r["name"].replace("|", "\\|")
            lines.append(f"| {name} | {r['seconds']:.1f} s | {rate(r)} | {r['seconds'] / full['seconds']:.1f}x |")
    lines += ["", HUNT_MARK]
    return lines


def memory_commands(archive, work):
    """Each command as a user runs it over the whole archive, by name: what the memory table
    compares at one and ten times the archive."""
    keys = archive.parent / f"{archive.name}-public-keys.json"
    needle = ["--lookup-attributes", f"AttributeKey=EventId,AttributeValue={pick_values(archive)[0]}"]
    index = work / "index"
    return [
        ("lookup-events, needle", [BIN, "lookup-events", "-q", "--source", archive, *needle], None),
        ("lookup-events, needle, with the index", [BIN, "lookup-events", "-q", "--source", archive, *needle, "--index", index],
         [BIN, "index", "-q", "--source", archive, "--index", index]),
        ("index (build)", [BIN, "index", "-q", "--source", archive, "--index", work / "built"], None),
        ("validate-logs (all chains)", [BIN, "validate-logs", "-q", "--source", archive, "--public-keys", keys], None),
        ("acquire (disk to disk)", [BIN, "acquire", "-q", "--no-progress", archive, work / "copy"], None),
        ("hunt, one rule (logging stopped)", [BIN, "hunt", "-q", "--output", "jsonl", "--source", archive, "--rules", selective_rule(work)], None),
        ("hunt, fixtures/sigma-rules (a detection per 13 events here)", [BIN, "hunt", "-q", "--output", "jsonl", "--source", archive, "--rules", ROOT / "fixtures/sigma-rules"], None),
        ("export (Parquet)", [BIN, "export", "-q", "--source", archive, "--out", work / "export"], None),
    ]


def selective_rule(work):
    """A Sigma rule for the few events that stop or delete a trail, written into `work`."""
    rule = work / "logging_stopped.yml"
    rule.write_text("""title: CloudTrail Logging Stopped
id: 5b8a3c1e-6f0d-4a8e-9c3b-0d2f7e1a9b42
status: test
author: trailscan benchmarks
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: cloudtrail.amazonaws.com
    eventName:
      - StopLogging
      - DeleteTrail
  condition: selection
level: high
""")
    return rule


def memory_benchmarks(archives):
    """Peak RSS of every command over the whole archive, at each of `archives` ((path,
    events)), one run each: what grows with the archive."""
    table = {}
    for archive, events in archives:
        work = Path(tempfile.mkdtemp(prefix="trailscan-bench-memory-", dir=ROOT / "bench-data"))
        try:
            for name, cmd, before in memory_commands(archive, work):
                if before:
                    subprocess.run(before, check=True)
                seconds, rss = run_once(cmd)
                print(f"  {name}, {events:,} events: {seconds:.2f} s, peak RSS {rss:.0f} MiB", flush=True)
                table.setdefault(name, {})[events] = {"seconds": seconds, "rss_mib": rss}
        finally:
            subprocess.run(["rm", "-rf", work], check=False)
    return {"sizes": [events for _, events in archives], "table": table,
            "objects": {events: len(log_files(archive)) for archive, events in archives}}


def memory_section(result, million=None):
    one, ten = result["sizes"]
    lines = [MEMORY_MARK, "## Memory as the archive grows", "",
             f"Each command over the whole archive, at {one:,} events ({result['objects'][one]:,} log files) and ten times that "
             f"({ten:,} events, {result['objects'][ten]:,} log files), one run each (`--memory-only`). Target: peak RSS at ten times "
             "<= 1.2x its value at one time.", "",
             f"| command | peak RSS, {one:,} events | peak RSS, {ten:,} events | ten times / one time | time at ten times |",
             "|---|---:|---:|---:|---:|"]
    for name, at in result["table"].items():
        a, b = at[one], at[ten]
        lines.append(f"| {name} | {a['rss_mib']:.0f} MiB | {b['rss_mib']:.0f} MiB | {b['rss_mib'] / a['rss_mib']:.2f}x | {b['seconds']:.2f} s |")
    lines += ["",
              "Lookups and hunts without an index list the archive as they read it (a folder's objects at a time, through a bounded queue), "
              "so their memory does not follow the archive; through the index, only the days it has not sealed are listed. "
              "validate-logs gathers the chains as it lists the digests (none kept), walks each chain a batch of 4,096 log files at a time "
              "(hashed, printed, let go) and checks its coverage a few days of listings at a time; what it still holds per chain is the "
              "chain's digest listing, a key an hour. acquire copies as the listing finds objects, 1,024 at a time, and writes its manifest "
              "through sorted runs on disk: its peak heap is 3.7 MiB at ten times (heaptrack); its allocations of 32 KiB or more (each "
              "object's body) are mapped on their own, so that they leave no holes in the heap between the small allocations the run "
              "keeps. The index build and export find the day folders first, without listing them, then list a month of a region "
              "folder at a time, in order, two months ahead of the work: the index build compares each month with its rows and seals "
              "and indexes what is new before the next month is held; export exports in key order as it lists. Its peak heap is 16 MiB "
              "at one time and 24 MiB at ten times (heaptrack): a batch's rows and summaries, a batch being whole months of a region, which "
              "hold three times as many log files in the large archive (930 against 300). Export's writer holds three batches of log "
              "files' rows at a time (scanned, waiting, written); a batch is at most half a MiB of gzip a thread (and 256 files), so "
              "its rows are about the same whatever the archive and whatever its files' size (batches of 256 files, whatever their "
              "size, took it from 182 MiB to 263 MiB at ten times; mimalloc instead of glibc's allocator, tried before: worse). A hunt holds its detections up to its `--memory-budget` (64 MiB), "
              "past it in sorted runs on disk that are merged back as they are printed, and prints each correlation as it fires, so its "
              "memory does not follow its answer either: the fixtures' rules match one event in 13 of this generated archive, and their "
              "correlations fire with up to 10,000 members each.",
              ""]
    if million:
        [events] = million["sizes"]
        objects = million["objects"][events]
        lines += ["### A listing of a million objects", "",
                  f"The same commands over {objects:,} log files of one event each (every 5 minutes in each of 15 account and region "
                  "folders, signed: a listing of that many objects, generated once), one run each. Target: every command under 256 MiB. "
                  "None holds the listing: a month of one region is the most any of them lists ahead (before this, the index build and "
                  "export held it whole, about 1 KB an object with the allocator's overhead: 969 and 845 MiB).", "",
                  "| command | peak RSS | time | under 256 MiB |", "|---|---:|---:|---|"]
        for name, at in million["table"].items():
            r = at[events]
            lines.append(f"| {name} | {r['rss_mib']:.0f} MiB | {r['seconds']:.2f} s | {'yes' if r['rss_mib'] < 256 else '**no**'} |")
        lines.append("")
    lines.append(MEMORY_MARK)
    return lines


def rss_at(archive, runs, needle_value, keys):
    return {
        "lookup": measure(f"trailscan needle lookup on {archive.name}", [BIN, "lookup-events", "-q", "--source", archive, "--lookup-attributes", f"AttributeKey=EventId,AttributeValue={needle_value}"], runs),
        "validate": measure(f"trailscan validate-logs on {archive.name} (disk)", [BIN, "validate-logs", "--source", archive, "--public-keys", keys, "--end-time", "2024-04-01T00:00:00Z"], runs),
    }


def micro_table():
    """The criterion micro-benchmarks `make bench` ran first (target/criterion), if any."""
    found = []
    for bench in sorted((TARGET / "criterion").glob("**/new/benchmark.json")):
        meta = json.loads(bench.read_text())
        median_ns = json.loads((bench.parent / "estimates.json").read_text())["median"]["point_estimate"]
        size = (meta.get("throughput") or {}).get("Bytes")
        rate = f"{size / (median_ns / 1e9) / 2**20:,.0f} MiB/s" if size else ""
        found.append(f"| {meta['full_id']} | {median_ns / 1000:,.1f} µs | {rate} |")
    if not found:
        return []
    return ["", "## Micro-benchmarks (criterion, one log file of 200 events, one core)", "",
            "| step | median | throughput (of the inflated JSON) |", "|---|---:|---:|", *found]


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    return f"{os.cpu_count()} cores ({cpu}), {mem / 1024 / 1024:.0f} GiB RAM, Linux {platform.release()}"


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return "?"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=900_000)
    parser.add_argument("--small-events", type=int, default=180_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--latency-only", action="store_true",
                        help="only the S3-across-a-network section, rewritten in place in --out")
    parser.add_argument("--index-only", action="store_true",
                        help="only the index section, rewritten in place in --out")
    parser.add_argument("--trace-only", action="store_true",
                        help="only the trace section, rewritten in place in --out")
    parser.add_argument("--export-only", action="store_true",
                        help="only the export section, rewritten in place in --out")
    parser.add_argument("--hunt-only", action="store_true",
                        help="only the hunt section, rewritten in place in --out")
    parser.add_argument("--no-million-objects", dest="million_objects", action="store_false",
                        help="leave out the memory table over a listing of a million objects (4 GB generated once, minutes per run)")
    parser.add_argument("--memory-only", action="store_true",
                        help="only the memory section (every command at one and ten times the archive), rewritten in place in --out")
    parser.add_argument("--sigma-rules", default=os.environ.get("SIGMA_RULES"),
                        help="SigmaHQ's rules/cloud/aws/cloudtrail folder (a snapshot of SigmaHQ/sigma), for hunt")
    parser.add_argument("--tenx-events", type=int, default=9_000_000,
                        help="events of the archive ten times the size, for the index (0: none)")
    args = parser.parse_args()
    python = str(VENV / "python")
    cores = os.cpu_count()
    large = ROOT / f"bench-data/archive-{args.events}"
    small = ROOT / f"bench-data/archive-{args.small_events}"
    generate(large, args.events)
    if args.latency_only:
        _, vinfo, latency = validate_benchmarks(large, args.runs, python, pick_values(large)[0], latency_only=True)
        section = "\n".join(latency_section(latency, vinfo))
        text = Path(args.out).read_text()
        parts = text.split(LATENCY_MARK)
        text = parts[0] + section + parts[2] if len(parts) == 3 else text.rstrip("\n") + "\n\n" + section + "\n"
        Path(args.out).write_text(text)
        print(section)
        return
    if args.index_only:
        replace_section(args.out, INDEX_MARK, run_index_benchmarks(args, large))
        return
    if args.trace_only:
        replace_section(args.out, TRACE_MARK, trace_section(trace_benchmarks(large, args.runs, args.events)))
        return
    if args.export_only:
        replace_section(args.out, EXPORT_MARK, run_export_benchmarks(args, large, python))
        return
    if args.memory_only:
        replace_section(args.out, MEMORY_MARK, run_memory_benchmarks(args, large))
        return
    if args.hunt_only:
        replace_section(args.out, HUNT_MARK, hunt_section(hunt_benchmarks(large, args.runs, args.events, args.sigma_rules)))
        return
    generate(small, args.small_events)
    files = log_files(large)
    list_file = ROOT / "bench-data" / f"archive-{args.events}.files"
    list_file.write_text("\n".join(files) + "\n")
    raw = sum(int(x) for x in subprocess.run([FLOOR, large], capture_output=True, text=True, check=True).stdout.split()[4:5])
    events = args.events
    subprocess.run(["find", large, "-name", "*.json.gz", "-exec", "cat", "{}", "+"], stdout=subprocess.DEVNULL, check=False)
    print(f"archive: {len(files)} log files, {raw / 1e6:.0f} MB of JSON, {events} events; {machine()}", flush=True)

    rows = lookup_benchmarks(large, args.runs, cores, python, str(list_file))
    needle = pick_values(large)[0]
    small_needle = pick_values(small)[0]
    rss_large = rss_at(large, args.runs, needle, large.parent / f"{large.name}-public-keys.json")
    rss_small = rss_at(small, args.runs, small_needle, small.parent / f"{small.name}-public-keys.json")
    validate, vinfo, latency = validate_benchmarks(large, args.runs, python, needle)
    write_report(args, rows, validate, vinfo, rss_small, rss_large, len(files), raw, events, cores, latency)
    replace_section(args.out, INDEX_MARK, run_index_benchmarks(args, large))
    replace_section(args.out, TRACE_MARK, trace_section(trace_benchmarks(large, args.runs, args.events)))
    replace_section(args.out, EXPORT_MARK, run_export_benchmarks(args, large, python))
    replace_section(args.out, HUNT_MARK, hunt_section(hunt_benchmarks(large, args.runs, args.events, args.sigma_rules)))
    replace_section(args.out, MEMORY_MARK, run_memory_benchmarks(args, large))


def run_memory_benchmarks(args, large):
    print("memory ...", flush=True)
    archives = [(large, args.events)]
    if args.tenx_events:
        big = ROOT / f"bench-data/archive-{args.tenx_events}"
        generate(big, args.tenx_events)
        archives.append((big, args.tenx_events))
    else:
        return None
    million = None
    if args.million_objects:
        archive = ROOT / "bench-data/archive-million-objects"
        generate_objects(archive, MILLION_OBJECTS)
        print("memory, a million objects ...", flush=True)
        million = memory_benchmarks([(archive, MILLION_OBJECTS)])
    return memory_section(memory_benchmarks(archives), million)


# The listing the memory benchmark's last table is made of: this many log files of one event.
MILLION_OBJECTS = 1_000_000


def generate_objects(archive, objects):
    """An archive of about `objects` log files of one event each, delivered every 5 minutes
    (288 a day) in each account and region as CloudTrail does, signed: a listing of that many
    objects in a few GB."""
    if not (archive / "AWSLogs").is_dir():
        print(f"generating {archive} ({objects} objects) ...", flush=True)
        subprocess.run([GEN, "bench", archive, "--events", str(objects), "--events-per-file", "1",
                        "--files-per-day", "288", "--seed", "1"], check=True)
        subprocess.run([GEN, "sign", archive, "--bucket", BUCKET], check=True)


def run_export_benchmarks(args, large, python):
    print("export ...", flush=True)
    tenx = None
    if args.tenx_events:
        big = ROOT / f"bench-data/archive-{args.tenx_events}"
        generate(big, args.tenx_events)
        tenx = (big, args.tenx_events)
    return export_section(export_benchmarks(large, args.runs, args.events, python, tenx))


def run_index_benchmarks(args, large):
    print("index ...", flush=True)
    ours = index_benchmarks(large, args.runs, args.events)
    tenx = None
    if args.tenx_events:
        big = ROOT / f"bench-data/archive-{args.tenx_events}"
        generate(big, args.tenx_events)
        print(f"index, {args.tenx_events} events ...", flush=True)
        tenx = index_benchmarks(big, 3, args.tenx_events, sharded=False)
    return index_section(ours, tenx)


def replace_section(out, mark, lines):
    """Writes `lines` (which begin and end with `mark`) in place of that section of `out`, or
    at its end; `None` leaves it as it is."""
    if lines is None:
        return
    section = "\n".join(lines)
    text = Path(out).read_text()
    parts = text.split(mark)
    text = parts[0] + section + parts[2] if len(parts) == 3 else text.rstrip("\n") + "\n\n" + section + "\n"
    Path(out).write_text(text)
    print(section)


def write_report(args, rows, validate, vinfo, rss_small, rss_large, files, raw, events, cores, latency):
    floor = rows["floor_zlib"]["seconds"]
    needle = rows["ts needle (EventId)"]["seconds"]
    py = str(VENV / "python")
    versions = ", ".join([
        "trailscan " + version(["git", "-C", str(ROOT), "describe", "--always", "--dirty"]),
        version([py, "-c", "import duckdb; print('DuckDB', duckdb.__version__)"]),
        version(["jq", "--version"]),
        version([str(VENV / "aws"), "--version"]),
        "Python zlib " + version([py, "-c", "import zlib; print(zlib.ZLIB_RUNTIME_VERSION)"]),
    ])
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`benches/compare.py`) on {time.strftime('%Y-%m-%d')}: {machine()}.",
        versions + ".",
        "",
        f"Archive: {files} log files, {raw / 1e6:.0f} MB of JSON, {events:,} events (generated, `trailscan-fixtures bench`). "
        f"Each figure is the median of {args.runs} runs of the whole command, page cache warm; RSS is the peak of the process tree.",
        "",
        "## Lookups (local disk)",
        "",
        "| what | median | runs | peak RSS | vs stock-zlib floor | trailscan is faster by |",
        "|---|---:|---|---:|---:|---:|",
    ]

    def row(r, ours=None):
        runs = ", ".join(f"{t:.2f}" for t in r["runs"])
        faster = f"{r['seconds'] / ours:.1f}x" if ours else ""
        return f"| {r['name']} | {r['seconds']:.3f} s | {runs} | {r['rss_mib']:.0f} MiB | {r['seconds'] / floor:.2f}x | {faster} |"

    lines += [row(rows["floor_zlib"]), row(rows["floor_ours"])]
    for label in ("needle (EventId)", "rare (AccessKeyId)", "common (EventSource)"):
        ours = rows[f"ts {label}"]["seconds"]
        lines += [row(rows[f"ts {label}"]), row(rows[f"duckdb {label}"], ours), row(rows[f"jq {label}"], ours)]
    one = rows["ts needle 1 thread"]
    lines += [row(one), ""]
    lines += [
        "## validate-logs on the S3 test server (SeaweedFS on loopback)",
        "",
        f"The two standalone accounts: 6 digest chains, {vinfo['logs']} log files, {vinfo['objects']} objects. "
        f"The AWS CLI validates one chain per invocation; trailscan all chains in one. One chain in parity mode: "
        f"output identical to the AWS CLI's: **{vinfo['identical']}** ({' / '.join(vinfo['summary'])}).",
        "",
        "| what | median | runs | peak RSS | S3 server CPU per run | trailscan is faster by |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for aws_key, ts_key in (("aws validate", "ts validate"), ("aws validate one", "ts validate one")):
        a, t = validate[aws_key], validate[ts_key]
        for r, faster in ((a, f"{a['seconds'] / t['seconds']:.1f}x"), (t, "")):
            runs = ", ".join(f"{x:.2f}" for x in r["runs"])
            lines.append(f"| {r['name']} | {r['seconds']:.3f} s | {runs} | {r['rss_mib']:.0f} MiB | {r['server_cpu']:.2f} s | {faster} |")
    lines += [
        "",
        "The S3 server runs on the same two cores and spends about a millisecond of CPU per request;",
        "its CPU time per run (last column) bounds what any client can reach on this machine.",
        "",
        *latency_section(latency, vinfo),
        "",
        "## validate-logs on local disk",
        "",
        "| what | median | peak RSS | vs trailscan |",
        "|---|---:|---:|---:|",
    ]
    local = rss_large["validate"]["seconds"]
    for r in (rows["floor_zlib_sha"], rows["floor_ours_sha"], rss_large["validate"]):
        lines.append(f"| {r['name']} | {r['seconds']:.3f} s | {r['rss_mib']:.0f} MiB | {r['seconds'] / local:.2f}x |")
    lines += [
        "",
        "The whole archive: every digest chain (all accounts and regions), every digest's signature, every log file inflated and hashed.",
    ]
    lines += micro_table()
    lines += [
        "",
        "## Memory at two archive sizes",
        "",
        "| archive | needle lookup peak RSS | validate-logs (disk) peak RSS | validate-logs time |",
        "|---|---:|---:|---:|",
        f"| {args.small_events:,} events | {rss_small['lookup']['rss_mib']:.0f} MiB | {rss_small['validate']['rss_mib']:.0f} MiB | {rss_small['validate']['seconds']:.2f} s |",
        f"| {args.events:,} events | {rss_large['lookup']['rss_mib']:.0f} MiB | {rss_large['validate']['rss_mib']:.0f} MiB | {rss_large['validate']['seconds']:.2f} s |",
        "",
        "## Headline ratios",
        "",
        f"- needle lookup: {needle / floor:.2f}x the time of the stock-zlib inflate floor; "
        f"{rows['duckdb needle (EventId)']['seconds'] / needle:.1f}x faster than DuckDB, "
        f"{rows['jq needle (EventId)']['seconds'] / needle:.1f}x faster than zcat | jq",
        f"- {cores} threads: {one['seconds'] / needle:.2f}x one thread (needle lookup)",
        f"- validate-logs on S3: {validate['aws validate']['seconds'] / validate['ts validate']['seconds']:.1f}x faster than the AWS CLI over 6 chains, "
        f"{validate['aws validate one']['seconds'] / validate['ts validate one']['seconds']:.1f}x on one chain",
        f"- validate-logs on disk, whole archive: {local:.2f} s, {rows['floor_zlib_sha']['seconds'] / local:.1f}x faster than inflate + SHA-256 with stock zlib and hashlib, "
        f"{local / rows['floor_ours_sha']['seconds']:.2f}x the time of trailscan's own inflate + SHA-256",
        f"- peak RSS: at most {max(r['rss_mib'] for d in (rss_small, rss_large) for r in d.values()):.0f} MiB at both archive sizes",
        *(f"- S3 {ms} ms away: validate-logs {latency[ms]['aws']['seconds'] / latency[ms]['ts one']['seconds']:.1f}x faster than the AWS CLI (one chain); "
          f"lookup {latency[ms]['lookup']['seconds'] / latency[0]['lookup']['seconds']:.2f}x, validate-logs {latency[ms]['validate']['seconds'] / latency[0]['validate']['seconds']:.2f}x, "
          f"acquire {latency[ms]['acquire']['seconds'] / latency[0]['acquire']['seconds']:.2f}x their time with the server beside them"
          for ms in ROUND_TRIPS_MS[1:]),
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

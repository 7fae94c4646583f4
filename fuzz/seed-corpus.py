#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into fuzz/seeds/TARGET/, from the repository's
fixtures and, where present, the real public samples in ../shared/samples (skipped with a
notice where absent). Run it before a first fuzzing session; the committed corpus
(fuzz/corpus/) is what the fuzzer grew from these seeds, minimized."""
import gzip
import hashlib
import json
import os
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
SHARED = ROOT.parent / "shared" / "samples"
OUT = FUZZ / "seeds"


def put(target, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def files(root, pattern):
    return sorted(p for p in root.rglob(pattern) if p.is_file()) if root.exists() else []


# The attributes in AttributeKey::ALL's order, with the field that holds each one's value in
# a plain record (None: derived, left to the fuzzer).
ATTRIBUTES = ["eventID", "eventName", "readOnly", None, None, None, "eventSource", "accessKeyId"]
SEEDED_RECORDS = set()


def seed_records(text):
    """Seeds of the record targets from one inflated log file: a few records alone, a small
    file of them, and prefilter inputs whose value is the record's own (each attribute)."""
    try:
        records = json.loads(text)["Records"]
    except (ValueError, KeyError, TypeError):
        return
    small = records[:3]
    put("record_splitter", json.dumps({"Records": small}))
    put("record_splitter", json.dumps({"Records": small}, indent=1).replace("/", "\\/"))
    for record in records[:5]:
        raw = json.dumps(record, separators=(",", ":"))
        if raw in SEEDED_RECORDS or len(SEEDED_RECORDS) > 400:
            continue
        SEEDED_RECORDS.add(raw)
        put("record_fields", raw)
        for pick, field in enumerate(ATTRIBUTES):
            value = record.get(field) if field else None
            if field == "accessKeyId":
                value = (record.get("userIdentity") or {}).get("accessKeyId")
            if isinstance(value, bool):
                value = "true" if value else "false"
            if isinstance(value, str):
                put("prefilter", bytes([pick]) + value.encode() + b"\n" + raw.encode())
                escaped = raw.replace(value[:1], "\\u%04x" % ord(value[0]), 1) if value else raw
                put("prefilter", bytes([pick]) + value.encode() + b"\n" + escaped.encode())


def seed_index():
    """Seeds of the index targets: the files of an index of the fixture archive, built by
    the release binary where it is there (`make build`), else skipped with a notice."""
    binary = ROOT / "target" / "release" / "trailscan"
    if not binary.exists():
        print(f"notice: {binary} is absent (make build); no index seeds", file=sys.stderr)
        return
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        subprocess.run([str(binary), "index", "--source", str(ROOT / "fixtures" / "sample-archive"),
                        "--index", str(index), "-q"], check=True)
        for p in files(index / "snapshots", "*.json"):
            put("index_snapshot", p.read_bytes())
            put("index_snapshot", p.read_bytes() + b"\x00" + (index / "current.json").read_bytes())
        for p in files(index / "segments", "*.parquet"):
            put("index_segment", p.read_bytes())
        for p in files(index / "segments", "*.summary"):
            put("index_filter", b"\x00" + p.read_bytes())
        # Filters as segments hold them: built here from hashes, in both forms.
        for n in [0, 1, 5, 32, 33, 200, 1000]:
            hashes = b"".join(((i * 0x9E3779B97F4A7C15) % 2**64).to_bytes(8, "little") for i in range(n))
            put("index_filter", b"\x01" + hashes)


def main():
    archives = [ROOT / "fixtures" / "sample-archive"]
    if SHARED.exists():
        archives.append(SHARED / "real")
    else:
        print(f"notice: {SHARED} is absent; seeding from fixtures/ only", file=sys.stderr)
    for root in archives:
        for p in files(root, "*.json.gz"):
            key = p.relative_to(root).as_posix()
            put("object_key", key)
            body = p.read_bytes()
            if "CloudTrail-Digest" in key:
                put("digest_file", b"\x00" + body)
                put("digest_file", b"\x01" + gzip.decompress(body))
                put("digest_json", gzip.decompress(body))
            else:
                put("log_file", body)
                put("log_file", gzip.decompress(body))
                seed_records(gzip.decompress(body))
        for p in files(root, "*.s3meta.json"):
            put("sidecar_manifest", p.read_bytes())
    # A manifest as acquire writes it, for the fixture archive's first files.
    root = archives[0]
    objects = {
        p.relative_to(root).as_posix(): {
            "size": p.stat().st_size,
            "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
        }
        for p in files(root, "*.json.gz")[:3]
    }
    put("sidecar_manifest", json.dumps({"source": "s3://example-trail-bucket", "objects": objects}, indent=2) + "\n")
    keys = [ROOT / "fixtures" / "sample-archive-public-keys.json"]
    keys += files(SHARED / "integrity", "list-public-keys*.json")
    for p in keys:
        put("public_keys", p.read_bytes())
    for p in files(SHARED / "integrity", "*.json"):
        if "digest" in p.name.lower() or "CloudTrail-Digest" in p.name:
            put("digest_file", b"\x01" + p.read_bytes())
            put("digest_json", p.read_bytes())
    token = (FUZZ / "seed-token.txt").read_text().strip()
    for attrs, start, end in [
        ("AttributeKey=EventName,AttributeValue=ConsoleLogin", "2024-01-01", "2024-01-03"),
        ("AttributeKey=Username,AttributeValue=root", "2024-01-01T00:00:00Z", "1704240000"),
        ("AttributeKey=ReadOnly,AttributeValue=false", "01/02/2024 10:30", "2024-01-02T23:59:59+02:00"),
        ("AttributeKey=ResourceName,AttributeValue=\"arn:aws:s3:::a,b\"", "2024-01-02 03:04:05", ""),
        ('[{"AttributeKey":"AccessKeyId","AttributeValue":"AKIAIOSFODNN7EXAMPLE"}]', "", ""),
        ('{"AttributeKey":"EventSource","AttributeValue":"s3.amazonaws.com"}', "Jan 2 2024", ""),
        ("AttributeKey=EventId,AttributeValue=a\\,b", "2024-01-02T03:04:05.123Z", ""),
        ("AttributeKey=ResourceType,AttributeValue='AWS::S3::Bucket'", "", ""),
    ]:
        put("lookup_args", f"{attrs}\n{start}\n{end}\n{token}")
        put("lookup_args", f"{attrs}\n{start}\n{end}")
    seed_index()
    for target in sorted(os.listdir(OUT)):
        print(f"{target}: {len(os.listdir(OUT / target))} seeds")


if __name__ == "__main__":
    main()

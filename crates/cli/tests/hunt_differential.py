"""An independent Sigma evaluator for `trailscan hunt`'s differential test: pySigma turns
each rule into SQL (its SQLite backend) over the archive's events, one column per dotted
field path the rules name (reference/sigma.md, "An independent evaluator").

    python hunt_differential.py ARCHIVE RULE_FILE...

Prints a JSON object: "pairs", the (rule id, eventID) of every match, and "skipped", the
rules pySigma could not convert (with why). Events are read as trailscan reads them: every
`*.json.gz` log and Insights file (not digests), in key order, each (eventID, eventTime) once.

Where the two differ by design (the README's "Hunting with Sigma rules"): an array in the
middle of a path is not walked here (pySigma has no such column), and keywords are not
converted by this backend.
"""

import gzip
import json
import re
import sqlite3
import sys
from pathlib import Path

import yaml
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.rule import SigmaDetection, SigmaDetectionItem
from sigma.types import SigmaFieldReference


def events(archive):
    files = sorted(
        p for p in archive.rglob("*.json.gz") if "CloudTrail-Digest" not in str(p)
    )
    seen = set()
    for f in files:
        for record in json.load(gzip.open(f)).get("Records", []):
            identity = (record.get("eventID"), record.get("eventTime"))
            if identity[0] is not None:
                if identity in seen:
                    continue
                seen.add(identity)
            yield record


def fields_of(detection, out):
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            fields_of(item, out)
        elif isinstance(item, SigmaDetectionItem) and item.field:
            out.add(item.field)
            # `fieldref` names a second column.
            out.update(v.field for v in item.value if isinstance(v, SigmaFieldReference))


def text(value):
    """A value as the column holds it: objects and arrays as compact JSON (serde_json's
    spelling), booleans as true/false, numbers as their text, null as NULL."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def resolve(record, path):
    value = record
    if path in record:
        return record[path]
    for step in path.split("."):
        if not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    return value


def main():
    archive = Path(sys.argv[1])
    backend = sqliteBackend()
    queries, skipped, fields = [], [], set()
    for rule_file in sys.argv[2:]:
        source = Path(rule_file).read_text()
        try:
            collection = SigmaCollection.from_yaml(source)
        except Exception as e:  # noqa: BLE001 - a rule pySigma refuses is a skip
            rule_id = str(yaml.safe_load(source).get("id"))
            skipped.append([rule_id, f"{type(e).__name__}: {e}"])
            continue
        for rule in collection.rules:
            try:
                sql = backend.convert_rule(rule)
            except Exception as e:  # noqa: BLE001 - any conversion failure is a skip
                skipped.append([str(rule.id), f"{type(e).__name__}: {e}"])
                continue
            for detection in rule.detection.detections.values():
                fields_of(detection, fields)
            queries.extend((str(rule.id), q) for q in sql)
    columns = sorted(fields | {"eventID"}, key=str.lower)
    db = sqlite3.connect(":memory:")
    db.create_function(
        "REGEXP", 2, lambda p, v: v is not None and re.search(p, v) is not None
    )
    # NUMERIC affinity: numbers compare as numbers (`|gt: 100`), text as text (any case).
    decl = ", ".join(f'"{c}" NUMERIC COLLATE NOCASE' for c in columns)
    db.execute(f"CREATE TABLE logs ({decl})")
    marks = ", ".join("?" for _ in columns)
    db.executemany(
        f"INSERT INTO logs VALUES ({marks})",
        ([text(resolve(r, c)) for c in columns] for r in events(archive)),
    )
    pairs = []
    for rule_id, sql in queries:
        sql = sql.replace("SELECT * FROM", 'SELECT "eventID" FROM', 1)
        try:
            rows = db.execute(sql).fetchall()
        except sqlite3.OperationalError as e:
            if "no such column" in str(e):
                continue
            raise
        pairs.extend([rule_id, row[0]] for row in rows)
    print(json.dumps({"pairs": sorted(pairs, key=str), "skipped": skipped}))


if __name__ == "__main__":
    main()

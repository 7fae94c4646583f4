"""What SQL engines see in a trailscan export, for crates/cli/tests/export.rs.

  export_check.py pick EXPORT          values to look up, chosen from the data (JSON)
  export_check.py ids EXPORT WHERE...  distinct eventid of the rows matching each WHERE (JSON list of lists)
  export_check.py bloom FILE           columns with a bloom filter in a Parquet file (JSON)
  export_check.py ddl DDL EXPORT       compares the DDL's columns (parsed by sqlglot) with the files' schema
  export_check.py counts EXPORT        rows, distinct (log file, record) and distinct eventid (JSON)

DuckDB reads the export as the reference (scale-out.md) says engines do: hive partitioning,
account as VARCHAR (not BIGINT, which would drop leading zeros).
"""
import json
import sys

import duckdb
import sqlglot
from sqlglot import exp


def table(export):
    return (
        f"read_parquet('{export}/v1/**/*.parquet', hive_partitioning = true, "
        "hive_types = {'account': 'VARCHAR', 'region': 'VARCHAR', 'day': 'VARCHAR'})"
    )


def connect():
    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    return con


def pick(export):
    con = connect()
    t = table(export)
    one = lambda sql: con.sql(sql).fetchone()
    needle = one(f"SELECT eventid FROM {t} ORDER BY eventid LIMIT 1 OFFSET 1000")[0]
    rare_key = one(
        f"SELECT useridentity.accesskeyid k FROM {t} WHERE k IS NOT NULL GROUP BY k ORDER BY count(*), k LIMIT 1"
    )[0]
    common_source = one(f"SELECT eventsource FROM {t} GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")[0]
    name = one(f"SELECT eventname FROM {t} GROUP BY 1 ORDER BY count(*), 1 LIMIT 1 OFFSET 3")[0]
    user = one(
        f"SELECT useridentity.username FROM {t} WHERE useridentity.type = 'IAMUser' GROUP BY 1 ORDER BY count(*), 1 LIMIT 1"
    )[0]
    arn, rtype = one(
        f"SELECT r.arn, r.type FROM (SELECT unnest(resources) r FROM {t}) GROUP BY 1, 2 ORDER BY count(*), 1 LIMIT 1"
    )
    account, region, day = one(f"SELECT account, region, day FROM {t} GROUP BY ALL ORDER BY count(*) DESC, 1, 2, 3 LIMIT 1")
    print(json.dumps({
        "needle": needle, "rare_key": rare_key, "common_source": common_source, "name": name,
        "user": user, "arn": arn, "rtype": rtype, "account": account, "region": region, "day": day,
    }))


def ids(export, wheres):
    con = connect()
    t = table(export)
    out = []
    for where in wheres:
        rows = con.sql(f"SELECT DISTINCT eventid FROM {t} WHERE {where} ORDER BY 1").fetchall()
        out.append([r[0] for r in rows])
    print(json.dumps(out))


def bloom(path):
    con = connect()
    rows = con.sql(
        f"SELECT DISTINCT path_in_schema FROM parquet_metadata('{path}') WHERE bloom_filter_offset IS NOT NULL ORDER BY 1"
    ).fetchall()
    print(json.dumps([r[0] for r in rows]))


def ddl(ddl_path, export):
    """The DDL's columns and partition keys, transpiled to DuckDB types by sqlglot and then
    normalized by DuckDB itself, against what DuckDB reads from the files."""
    text = open(ddl_path).read()
    create = sqlglot.parse_one(text, read="hive")
    assert isinstance(create, exp.Create), type(create)
    columns = [c for c in create.this.expressions if isinstance(c, exp.ColumnDef)]
    partitioned = create.find(exp.PartitionedByProperty)
    partition_columns = [c for c in partitioned.this.expressions if isinstance(c, exp.ColumnDef)]
    defs = ", ".join(
        f'"{c.name}" {c.args["kind"].sql(dialect="duckdb")}' for c in columns + partition_columns
    )
    con = connect()
    con.sql(f"CREATE TABLE declared ({defs})")
    declared = [(r[0], r[1]) for r in con.sql("DESCRIBE declared").fetchall()]
    files = [(r[0], r[1]) for r in con.sql(f"DESCRIBE SELECT * FROM {table(export)}").fetchall()]
    # Athena's TIMESTAMP is read from Parquet's UTC-adjusted INT64 millis; DuckDB names the
    # same column TIMESTAMP WITH TIME ZONE.
    files = [(n, t.replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMP")) for n, t in files]
    # Columns in order; the partition keys (last) in whatever order DuckDB lists them.
    k = len(partition_columns)
    declared = declared[:-k] + sorted(declared[-k:])
    files = files[:-k] + sorted(files[-k:])
    if declared != files:
        for d, f in zip(declared, files):
            if d != f:
                print(f"DDL  {d}\nfile {f}")
        print(f"{len(declared)} declared, {len(files)} in the files")
        sys.exit(1)
    location = create.find(exp.LocationProperty)
    print(json.dumps({"columns": len(declared), "location": location.this.name if location else None}))


def counts(export):
    con = connect()
    row = con.sql(
        f"SELECT count(*), count(DISTINCT (source_key, record_index)), count(DISTINCT eventid) FROM {table(export)}"
    ).fetchone()
    print(json.dumps({"rows": row[0], "records": row[1], "events": row[2]}))


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    modes = {"pick": pick, "ids": lambda e, *w: ids(e, w), "bloom": bloom, "ddl": ddl, "counts": counts}
    modes[mode](*args)

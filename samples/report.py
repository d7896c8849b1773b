#!/usr/bin/env python3
"""Summarise and check what the das-partitioner delivered to a local copy of the S3 bucket.

    report.py --s3 DIR --truth FILE [--events DIR] [--response FILE ...]
              [--excluded-users rdsadmin,rdsa,...]

DIR mirrors the bucket: DIR/das/activity_class=.../resource_id=.../year=.../month=.../day=.../
hour=.../<objects> (JSON lines, optionally .gz) and DIR/das-errors/processing-failed/...
(Firehose error records). FILE is das_stream.py's ground-truth.jsonl; --events defaults to the
events/ directory next to it. --response takes the Lambda's Firehose responses.

A DuckDB view `das_events` stands in for the Athena table: its columns are read from
infra/athena/create_table.sql, and every named query of infra/athena runs unchanged on it.
The report prints record results, the named queries' output and a CHECK against the ground
truth; it exits 0 only if the check passes.

Mixed JSON types: exitCode, statementId, sessionId and friends are numbers for some engines and
strings for others. Schema inference would pick one type per column and fail or null the rest,
so the view declares the columns (as the Athena DDL does): a VARCHAR column keeps a JSON number
as its text ("0", "1045"), exactly like the Hive JSON SerDe's string columns.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import gzip
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

ATHENA_DIR = Path(__file__).resolve().parent.parent / "infra" / "athena"
QUERY_ORDER = ("events_by_class", "objects_by_partition", "failed_logins_by_user", "latest_ddl",
               "errors_by_user")
HIVE_TO_DUCKDB = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER",
                  "array<string>": "VARCHAR[]"}
MAX_MISMATCHES = 20
MAX_CELL = 60


# The das_events view ---------------------------------------------------------------------------


def athena_columns(ddl: str) -> tuple[dict[str, str], dict[str, str]]:
    """(data columns, partition columns) of create_table.sql, as DuckDB types."""
    match = re.search(r"CREATE EXTERNAL TABLE[^(]*\((.*?)\)\s*PARTITIONED BY\s*\((.*?)\)",
                      ddl, re.S)
    if not match:
        sys.exit("report: cannot find the column lists in create_table.sql")

    def parse(block: str) -> dict[str, str]:
        return {name: HIVE_TO_DUCKDB[kind.lower()]
                for name, kind in re.findall(r"^\s*(\w+)\s+([\w<>]+)", block, re.M)}

    return parse(match.group(1)), parse(match.group(2))


def sql_map(mapping: dict[str, str]) -> str:
    """A DuckDB struct literal {'k': 'v', ...}."""
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in mapping.items()) + "}"


def open_das_events(s3: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a `das_events` view over s3/das/** (an empty table if none).

    The view adds "$path", the object's path, as Athena's hidden column of that name.
    """
    columns, partitions = athena_columns((ATHENA_DIR / "create_table.sql").read_text())
    con = duckdb.connect()
    if any(p.is_file() for p in (s3 / "das").rglob("*")):
        pattern = str(s3 / "das" / "**").replace("'", "''")
        con.execute(
            f"""CREATE VIEW das_events AS
                SELECT * EXCLUDE (filename), filename AS "$path"
                FROM read_json('{pattern}', format = 'newline_delimited', filename = true,
                               hive_partitioning = true, columns = {sql_map(columns)},
                               hive_types = {sql_map(partitions)})"""
        )
    else:
        typed = {**columns, **partitions, "$path": "VARCHAR"}
        con.execute("CREATE TABLE das_events AS SELECT "
                    + ", ".join(f'NULL::{t} AS "{c}"' for c, t in typed.items()) + " LIMIT 0")
    return con


def named_queries() -> list[Path]:
    """infra/athena/*.sql except the DDL, in report order."""
    queries = [p for p in ATHENA_DIR.glob("*.sql") if p.stem != "create_table"]
    rank = {name: i for i, name in enumerate(QUERY_ORDER)}
    return sorted(queries, key=lambda p: (rank.get(p.stem, len(rank)), p.stem))


def query_title(sql: str, fallback: str) -> str:
    """The text of the query's first comment up to its first colon."""
    first = sql.lstrip().splitlines()[0]
    return first.removeprefix("--").split(":")[0].strip() if first.startswith("--") else fallback


# Printing ------------------------------------------------------------------------------------


def cell(value) -> str:
    """A value shortened to one line for a table cell."""
    text = "" if value is None else str(value).replace("\r", "").replace("\n", "\\n")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def print_table(title: str, header: list[str], rows: list[tuple]) -> None:
    """A titled, left-aligned text table."""
    print(f"\n== {title}")
    if not rows:
        print("(no rows)")
        return
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    for line in [header, *cells]:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip())


def run_named_queries(con: duckdb.DuckDBPyConnection) -> None:
    """Run and print every named query."""
    for path in named_queries():
        sql = path.read_text()
        result = con.execute(sql)
        header = [d[0] for d in result.description]
        print_table(f"{query_title(sql, path.stem)} ({path.name})", header, result.fetchall())


# Expectations ----------------------------------------------------------------------------------


@dataclass
class ExpectedRecord:
    """What the Lambda must do with one Kinesis record, excluded users taken into account."""

    engine: str
    resource_id: str
    truth_result: str
    events: list[dict] = field(default_factory=list)  # kept ground-truth event lines
    excluded: dict[str, str] = field(default_factory=dict)  # eventId -> excluded dbUserName

    @property
    def result(self) -> str:
        """Ok with kept events; Dropped without (heartbeats only, or only excluded users)."""
        if self.truth_result == "ProcessingFailed":
            return "ProcessingFailed"
        return "Ok" if self.events else "Dropped"

    @property
    def partition(self) -> str:
        """The activity_class prefix of the record: its events' single class, or MIXED."""
        classes = {e["class"] for e in self.events}
        return classes.pop() if len(classes) == 1 else "MIXED"

    @property
    def hours(self) -> set[str]:
        """The UTC hours of the kept events: the record's hour prefix must be one of them."""
        return {e["hour"] for e in self.events}


def load_expectations(truth_file: Path, excluded: set[str]) -> dict[str, ExpectedRecord]:
    """recordId -> ExpectedRecord, from the ground truth."""
    records: dict[str, ExpectedRecord] = {}
    for line in truth_file.read_text().splitlines():
        t = json.loads(line)
        rec = records.setdefault(
            t["recordId"], ExpectedRecord(t["engine"], t["resourceId"], t["recordResult"])
        )
        if not t["class"]:
            continue
        if (t["dbUserName"] or "").lower() in excluded:
            rec.excluded[t["eventId"]] = t["dbUserName"]
        else:
            rec.events.append(t)
    return records


@dataclass
class EventsIndex:
    """What the Firehose event files tell about each input record."""

    by_data: dict[bytes, str] = field(default_factory=dict)  # record data -> recordId
    by_sequence: dict[str, str] = field(default_factory=dict)  # "<seq>-<subseq>" -> recordId


def load_events_index(events_dir: Path) -> EventsIndex:
    """Index the input records of every events/*.json."""
    index = EventsIndex()
    for path in sorted(events_dir.glob("*.json")):
        for r in json.loads(path.read_text())["records"]:
            meta = r["kinesisRecordMetadata"]
            sequence = f"{meta['sequenceNumber']}-{meta['subsequenceNumber']}"
            index.by_data[base64.b64decode(r["data"])] = r["recordId"]
            index.by_sequence[sequence] = r["recordId"]
    return index


def read_lines(path: Path) -> list[str]:
    """The text lines of a file, gunzipped when it starts with the gzip magic."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return [line for line in data.decode().splitlines() if line.strip()]


def processing_failed(s3: Path, index: EventsIndex) -> tuple[Counter, int]:
    """(recordId -> times found under das-errors/processing-failed/, unidentifiable lines).

    Each line's rawData is the base64 of the original record data, matched to the input.
    """
    found: Counter = Counter()
    unknown = 0
    for path in sorted((s3 / "das-errors" / "processing-failed").rglob("*")):
        if not path.is_file():
            continue
        for line in read_lines(path):
            try:
                raw = base64.b64decode(json.loads(line)["rawData"], validate=True)
            except (ValueError, KeyError, binascii.Error):
                raw = None
            if raw in index.by_data:
                found[index.by_data[raw]] += 1
            else:
                unknown += 1
    return found, unknown


def load_responses(files: list[Path]) -> tuple[dict[str, str], list[str]]:
    """(recordId -> result, recordIds answered more than once) of Firehose responses."""
    results: dict[str, str] = {}
    repeated = []
    for path in files:
        for r in json.loads(path.read_text())["records"]:
            if r["recordId"] in results:
                repeated.append(r["recordId"])
            results[r["recordId"]] = r["result"]
    return results, repeated


# The check -------------------------------------------------------------------------------------


TALLIES = ("events", "processing-failed", "responses")


@dataclass
class Check:
    """Mismatches, and per (engine, tally) how many expectations held out of how many."""

    mismatches: list[str] = field(default_factory=list)
    expected: Counter = field(default_factory=Counter)
    agreed: Counter = field(default_factory=Counter)

    def tally(self, engine: str, kind: str, ok: bool, problem: str) -> None:
        """Count one expectation of `engine`; record `problem` if it failed."""
        self.expected[engine, kind] += 1
        if ok:
            self.agreed[engine, kind] += 1
        else:
            self.mismatches.append(f"{engine}: {problem}")


def check_rows(con: duckdb.DuckDBPyConnection, records: dict[str, ExpectedRecord],
               index: EventsIndex, check: Check) -> None:
    """Every kept event lands exactly once, with its class, under its record's prefix (its class
    or MIXED), resource and hour; no other row exists (heartbeats, excluded users, dropped or
    failed records)."""
    rows = defaultdict(list)  # eventId -> [(activityClass, activity_class, resource_id, hour)]
    for event_id, activity, prefix_class, resource, hour in con.execute(
        "SELECT eventId, activityClass, activity_class, resource_id, "
        "format('{}-{:02d}-{:02d}-{:02d}', year, month, day, hour) FROM das_events"
    ).fetchall():
        rows[event_id].append((activity, prefix_class, resource, hour))
    expected_ids = set()
    for record_id, rec in records.items():
        if rec.result != "Ok":
            continue
        for event in rec.events:
            expected_ids.add(event["eventId"])
            want = (event["class"], rec.partition, rec.resource_id)
            got = rows.get(event["eventId"], [])
            ok = len(got) == 1 and got[0][:3] == want and got[0][3] in rec.hours
            check.tally(rec.engine, "events", ok,
                        f"event {event['eventId']} (record {record_id}): expected "
                        f"activityClass={want[0]} under activity_class={want[1]}/resource_id="
                        f"{want[2]}/hour {sorted(rec.hours)}, found {describe(got)}")
    for event_id in sorted(set(rows) - expected_ids, key=str):
        record_id = index.by_sequence.get(str(event_id).rsplit("-", 1)[0])
        rec = records.get(record_id) if record_id else None
        check.mismatches.append(f"{rec.engine if rec else '?'}: extra row eventId={event_id} "
                                f"({why_unexpected(event_id, record_id, rec)}): "
                                f"{describe(rows[event_id])}")


def why_unexpected(event_id: str, record_id: str | None, rec: ExpectedRecord | None) -> str:
    """Why no row with this eventId should exist."""
    if rec is None:
        return "no such input record"
    if event_id in rec.excluded:
        return f"event of excluded user {rec.excluded[event_id]}"
    if rec.result == "Ok":
        return f"not an activity event of record {record_id}"
    return f"record {record_id} is expected {rec.result}"


def describe(rows: list[tuple]) -> str:
    """Where an event's rows landed."""
    if not rows:
        return "nothing"
    return "; ".join(f"activityClass={a} under activity_class={p}/resource_id={r}/hour {h}"
                     for a, p, r, h in rows)


def check_failed(found: Counter, unknown: int, records: dict[str, ExpectedRecord],
                 check: Check) -> None:
    """processing-failed holds each corrupted record once and nothing else."""
    for record_id, rec in records.items():
        if rec.result == "ProcessingFailed":
            n = found.get(record_id, 0)
            check.tally(rec.engine, "processing-failed", n == 1,
                        f"corrupted record {record_id} is in processing-failed {n} times "
                        "(expected once)")
        elif record_id in found:
            check.mismatches.append(f"{rec.engine}: record {record_id} (expected {rec.result}) is "
                                    "in processing-failed")
    if unknown:
        check.mismatches.append(f"?: {unknown} processing-failed lines match no input record")


def check_responses(results: dict[str, str], repeated: list[str],
                    records: dict[str, ExpectedRecord], check: Check) -> None:
    """Each answered record has the expected result."""
    for record_id, result in results.items():
        rec = records.get(record_id)
        if rec is None:
            check.mismatches.append(f"?: response for unknown recordId {record_id}")
        else:
            check.tally(rec.engine, "responses", result == rec.result,
                        f"record {record_id}: response {result}, expected {rec.result}")
    check.mismatches += [f"?: recordId {r} answered more than once" for r in repeated]


# Main --------------------------------------------------------------------------------------------


def print_results(results: dict[str, str], records: dict[str, ExpectedRecord]) -> None:
    """Records by result: from the responses if any, next to the expected counts."""
    expected = Counter(rec.result for rec in records.values())
    got = Counter(results.values())
    header = ["result", "responses", "expected"] if results else ["result", "expected"]
    rows = [(name, got[name], expected[name]) if results else (name, expected[name])
            for name in ("Ok", "Dropped", "ProcessingFailed")]
    print_table("Records by result", header, rows)


def print_agreement(check: Check) -> None:
    """Per engine: events placed right, corrupted records failed right, responses right."""
    rows = []
    for engine in sorted({engine for engine, _ in check.expected}):
        counts = [(check.agreed[engine, k], check.expected[engine, k]) for k in TALLIES]
        agreed, expected = (sum(c) for c in zip(*counts))
        rows.append((engine, *(f"{a}/{n}" if n else "-" for a, n in counts),
                     f"{100 * agreed / expected:.1f}%"))
    print_table("Agreement per engine", ["engine", *TALLIES, "agreement"], rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--s3", type=Path, required=True, metavar="DIR",
                        help="local copy of the bucket")
    parser.add_argument("--truth", type=Path, required=True, metavar="FILE",
                        help="das_stream.py's ground-truth.jsonl")
    parser.add_argument("--events", type=Path, metavar="DIR",
                        help="Firehose events (default: events/ next to --truth)")
    parser.add_argument("--response", type=Path, nargs="+", action="extend", default=[],
                        metavar="FILE", help="Firehose responses of the Lambda")
    parser.add_argument("--excluded-users", default="", metavar="LIST",
                        help="comma-separated dbUserNames the Lambda drops (case-insensitive)")
    args = parser.parse_args(argv)
    args.events = args.events or args.truth.parent / "events"
    args.excluded = {u.strip().lower() for u in args.excluded_users.split(",") if u.strip()}
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    records = load_expectations(args.truth, args.excluded)
    index = load_events_index(args.events)
    results, repeated = load_responses(args.response)
    con = open_das_events(args.s3)

    print_results(results, records)
    run_named_queries(con)

    check = Check()
    check_rows(con, records, index, check)
    found, unknown = processing_failed(args.s3, index)
    check_failed(found, unknown, records, check)
    check_responses(results, repeated, records, check)
    print_agreement(check)

    print(f"\n== CHECK {'PASSED' if not check.mismatches else 'FAILED'}: "
          f"{len(check.mismatches)} mismatches")
    for line in check.mismatches[:MAX_MISMATCHES]:
        print(f"  {line}")
    if len(check.mismatches) > MAX_MISMATCHES:
        print(f"  ... and {len(check.mismatches) - MAX_MISMATCHES} more")
    return 0 if not check.mismatches else 1


if __name__ == "__main__":
    sys.exit(main())

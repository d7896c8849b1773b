#!/usr/bin/env python3
"""Check that the Python reference does the whole job: on a generated stream (four engines,
corrupted records included) its Ok / Dropped / ProcessingFailed result for every record must be
the generator's ground truth, every expected event must come out under its eventId, nothing else
may come out, and (looser, since the reference's rules are not das-partitioner's) at least
--min-class-agreement of the events must get the ground truth's class.

    check_reference.py [--out-dir DIR] [--records N] [--corrupt K] [--kms]

Static keys by default (keys.json, no KMS). With --kms (under scripts/with-moto.sh) the stream
gets KMS data keys and the check runs twice, without and with the data-key cache, and also checks
the number of KMS calls: one per record that reaches KMS without the cache, one per data key
with it. Exit status 0 when every check passes.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import reference  # noqa: E402  pylint: disable=wrong-import-position

# Corruptions that fail before the KMS call (the envelope cannot be read).
BEFORE_KMS = {"bad-base64", "not-json", "unknown-type"}


def check(out: Path, cache: bool, static: bool, min_agreement: float) -> list[str]:
    """Run the handler over every event of `out`; the list of problems (empty: pass)."""
    truth = [json.loads(line) for line in (out / "ground-truth.jsonl").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())
    expected_result = {t["recordId"]: t["recordResult"] for t in truth}
    expected_events = {t["eventId"]: t for t in truth if t["eventId"]}
    keys = reference.configure(cache_keys=cache,
                               static_keys=str(out / "keys.json") if static else "")
    problems: list[str] = []
    got_result: dict[str, str] = {}
    got_class: dict[str, str] = {}
    records = 0
    for path in sorted((out / "events").glob("*.json")):
        event = json.loads(path.read_text())
        response = reference.handler(event, None)
        ids_in = [r["recordId"] for r in event["records"]]
        ids_out = [r["recordId"] for r in response["records"]]
        records += len(ids_in)
        if ids_in != ids_out:
            problems.append(f"{path.name}: response recordIds differ from the event's")
        for entry in response["records"]:
            got_result[entry["recordId"]] = entry["result"]
            if entry["result"] != "Ok":
                continue
            keys_ = entry["metadata"]["partitionKeys"]
            lines = base64.b64decode(entry["data"]).decode().splitlines()
            classes = set()
            for line in lines:
                row = json.loads(line)
                if row["eventId"] in got_class:
                    problems.append(f"event {row['eventId']} output twice")
                got_class[row["eventId"]] = row["activityClass"]
                classes.add(row["activityClass"])
            want = classes.pop() if len(classes) == 1 else "MIXED"
            if keys_["activity_class"] != want:
                problems.append(f"record {entry['recordId']}: activity_class "
                                f"{keys_['activity_class']} for event classes {classes}")
    for record_id, want in expected_result.items():
        if got_result.get(record_id) != want:
            problems.append(f"record {record_id}: {got_result.get(record_id)}, expected {want}")
    missing = set(expected_events) - set(got_class)
    extra = set(got_class) - set(expected_events)
    if missing:
        problems.append(f"{len(missing)} expected events missing, e.g. {sorted(missing)[:3]}")
    if extra:
        problems.append(f"{len(extra)} unexpected events output, e.g. {sorted(extra)[:3]}")
    agree = sum(got_class.get(i) == t["class"] for i, t in expected_events.items())
    share = agree / len(expected_events) if expected_events else 1.0
    confusion = Counter((t["class"], got_class.get(i)) for i, t in expected_events.items()
                        if got_class.get(i) != t["class"])
    if share < min_agreement:
        problems.append(f"class agreement {share:.1%} < {min_agreement:.0%}: {confusion}")

    # Data-key look-ups: every record that reaches the key step, or one per distinct key.
    corrupted = {c["recordId"]: c["kind"] for c in summary["corrupted"]}
    reaching = records - sum(1 for k in corrupted.values() if k in BEFORE_KMS)
    distinct = len({json.loads(base64.b64decode(r["data"]))["key"]
                    for p in (out / "events").glob("*.json")
                    for r in json.loads(p.read_text())["records"]
                    if corrupted.get(r["recordId"]) not in BEFORE_KMS})
    want_calls = distinct if cache else reaching
    if keys.calls != want_calls:
        problems.append(f"{keys.calls} data-key look-ups, expected {want_calls}")
    mode = f"{'static keys' if static else 'KMS'}, {'cached' if cache else 'uncached'}"
    print(f"check_reference ({mode}): {records} records {dict(Counter(got_result.values()))}, "
          f"{len(expected_events)} events, class agreement {share:.1%}, "
          f"{keys.calls} data-key look-ups: {'FAIL' if problems else 'ok'}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, metavar="DIR",
                        help="where to generate the stream (default: a temporary directory)")
    parser.add_argument("--records", type=int, default=400)
    parser.add_argument("--corrupt", type=int, default=10)
    parser.add_argument("--min-class-agreement", type=float, default=0.95)
    parser.add_argument("--kms", action="store_true",
                        help="KMS data keys (run under scripts/with-moto.sh), cached and not")
    args = parser.parse_args(argv)
    logging.getLogger("aws_encryption_sdk").setLevel(logging.CRITICAL)  # bad records' tracebacks

    with tempfile.TemporaryDirectory(prefix="check-reference-") as tmp:
        out = args.out_dir or Path(tmp)
        cmd = [sys.executable, str(ROOT / "samples/das_stream.py"), "--out-dir", str(out),
               "--records", str(args.records), "--corrupt", str(args.corrupt), "--seed", "7",
               "--start", "2026-01-01T10:00:00", "--batch-size", "60"]
        if args.kms:
            if not os.environ.get("MOTO_KMS_KEY_ID"):
                sys.exit("check_reference: --kms needs scripts/with-moto.sh")
            cmd += ["--kms-key-id", os.environ["MOTO_KMS_KEY_ID"]]
        else:
            cmd += ["--static-keys"]
        subprocess.run(cmd, check=True)
        problems = []
        for cache in (False, True):
            problems += check(out, cache, not args.kms, args.min_class_agreement)
    for p in problems[:20]:
        print(f"  {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

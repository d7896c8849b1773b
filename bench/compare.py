"""Per-record margins of several `dasp` builds on the same batches, side by side in one run.

    .venv/bin/python bench/compare.py --dasp BUILD_A,BUILD_B[,...] --batch out/bench/postgresql-e1 \
        [--batch out/bench/mysql-e1 ...] [--runs 21]

What an optimisation bought, on this noisy shared machine: every build runs on the batch and on
the batch doubled (`single.json`, `doubled.json` and `keys.json` of a `make bench` batch folder),
interleaved so that machine noise hits every build alike, all the runs in one shuffled order
(seeded, so a comparison repeats): a process runs a few per cent slower after some processes
than after others, and in a fixed order the same build always came after the same one (two
copies of one binary differed by 4% at fifty events, the first named always ahead), one core
(`RAYON_NUM_THREADS=1`), keys from the generator's file. Prints, per build and batch, the median
wall-clock margin (T2 - T1) / records and the same for CPU time (user + system of the child),
which is less disturbed by other load.

    .venv/bin/python bench/compare.py --instructions --dasp BUILD_A,BUILD_B --batch ...

counts instructions instead (valgrind's callgrind, one run per build and batch): the margin in
instructions per record, the same on every run whatever else the machine does. It leaves out
what instructions do not show (page faults, cache misses, and the crypto's SHA and AES
instructions, which valgrind runs on its own fallback paths), so read it beside the times.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path


def run_once(dasp: str, event: Path, keys: Path, env: dict) -> tuple[float, float]:
    """Wall and CPU seconds of one `dasp transform` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([dasp, "transform", "--event", str(event), "--data-keys", str(keys),
                    "--out", os.devnull], env=env, check=True, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu


def instructions_once(dasp: str, event: Path, keys: Path, env: dict) -> int:
    """Instructions one `dasp transform` process executes, counted by valgrind's callgrind."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                           dasp, "transform", "--event", str(event), "--data-keys", str(keys),
                           "--out", os.devnull], env=env, check=True, capture_output=True, text=True)
    match = re.search(r"Collected : ([0-9]+)", done.stderr)
    if match is None:
        raise SystemExit(f"no instruction count from valgrind for {dasp}:\n{done.stderr[-2000:]}")
    return int(match.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dasp", required=True, help="comma-separated dasp binaries")
    parser.add_argument("--batch", action="append", required=True, type=Path,
                        help="a make-bench batch folder (repeatable)")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions with valgrind's callgrind instead of timing")
    args = parser.parse_args(argv)
    builds = args.dasp.split(",")
    env = dict(os.environ, RAYON_NUM_THREADS="1", RUST_LOG="error",
               AWS_REGION=os.environ.get("AWS_REGION", "us-east-1"))
    if args.instructions:
        print("| batch | build | instructions a record at the margin |")
        print("|---|---|---|")
        for batch in args.batch:
            records = len(json.loads((batch / "single.json").read_text())["records"])
            for build in builds:
                one, two = (instructions_once(build, batch / f"{which}.json", batch / "keys.json", env)
                            for which in ("single", "doubled"))
                print(f"| {batch.name} | {build} | {(two - one) / records:,.0f} |")
        return 0
    print("| batch | build | margin, wall | margin, CPU |")
    print("|---|---|---|---|")
    for batch in args.batch:
        records = len(json.loads((batch / "single.json").read_text())["records"])
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        plan = [(build, which) for build in builds for which in ("single", "doubled")] * args.runs
        random.Random(f"{batch.name} {args.runs}").shuffle(plan)
        for build, which in plan:
            times.setdefault((build, which), []).append(
                run_once(build, batch / f"{which}.json", batch / "keys.json", env))
        for build in builds:
            def margin(index: int) -> float:
                one = statistics.median(t[index] for t in times[(build, "single")])
                two = statistics.median(t[index] for t in times[(build, "doubled")])
                return (two - one) / records * 1e6
            print(f"| {batch.name} | {build} | {margin(0):,.1f} µs | {margin(1):,.1f} µs |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

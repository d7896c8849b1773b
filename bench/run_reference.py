#!/usr/bin/env python3
"""Run the Python reference handler (bench/reference.py) over Firehose invocation events and
print timings as JSON.

    run_reference.py --event FILE [--event FILE ...] [--repeat N] [--cache-keys]
                     [--static-keys keys.json] [--out FILE]

Each event file is read and parsed once, before timing (the Lambda runtime hands the handler a
parsed event). Then every event is passed to `handler` in turn, `--repeat` times over; each
call's response is serialized to JSON (as the runtime does). The cache, when on, lives for the
whole process: across records, events and repeats, like a warm Lambda container.

Data keys: `--static-keys` resolves blobs from the generator's keys.json (no KMS: the
per-record CPU cost alone); otherwise boto3 KMS (AWS chain, AWS_ENDPOINT_URL_KMS: works under
scripts/with-moto.sh). `--cache-keys` (or REF_CACHE_KEYS=1) caches plaintext data keys by
(encryption context, blob); without it KMS is called once per record, as the AWS samples do.

Output (stdout, one JSON object): records, invocations, seconds (handler + response
serialization, all repeats), us_per_record, key_lookups (KMS calls or keys.json look-ups),
cache_hits, results (count by result), first_call_s (the first invocation alone, which pays
lazy imports and OpenSSL set-up), and process_s (since the interpreter started).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference  # noqa: E402  pylint: disable=wrong-import-position


def process_seconds() -> float:
    """Wall time since this process started (Linux: /proc/self/stat start time)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--event", action="append", required=True, type=Path, metavar="FILE",
                        help="a Firehose invocation event (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run all events N times (default 1)")
    parser.add_argument("--cache-keys", action="store_true",
                        default=os.environ.get("REF_CACHE_KEYS", "") not in ("", "0"),
                        help="cache decrypted data keys (also REF_CACHE_KEYS=1)")
    parser.add_argument("--static-keys", type=Path, metavar="KEYS_JSON",
                        default=os.environ.get("REF_STATIC_KEYS") or None,
                        help="keys.json of das_stream.py --static-keys instead of KMS")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="write the last response of the last event here")
    parser.add_argument("--quiet-esdk", action="store_true",
                        help="silence the ESDK's own error logging (tracebacks of bad records)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if args.quiet_esdk:
        logging.getLogger("aws_encryption_sdk").setLevel(logging.CRITICAL)

    events = [json.loads(path.read_bytes()) for path in args.event]
    keys = reference.configure(
        cache_keys=args.cache_keys,
        static_keys=str(args.static_keys) if args.static_keys else "",
    )

    results: Counter = Counter()
    records = 0
    calls = 0
    first_call = None
    text = ""
    began = time.perf_counter()
    for _ in range(args.repeat):
        for event in events:
            t = time.perf_counter()
            response = reference.handler(event, None)
            text = json.dumps(response)
            if first_call is None:
                first_call = time.perf_counter() - t
            calls += 1
            records += len(event["records"])
            results.update(r["result"] for r in response["records"])
    seconds = time.perf_counter() - began
    if args.out:
        args.out.write_text(text + "\n")

    print(json.dumps({
        "records": records,
        "invocations": calls,
        "seconds": round(seconds, 6),
        "us_per_record": round(seconds / records * 1e6, 1) if records else None,
        "cache_keys": bool(args.cache_keys),
        "keys": "static" if args.static_keys else "kms",
        "key_lookups": keys.calls,
        "cache_hits": getattr(keys, "hits", 0),
        "results": dict(results),
        "first_call_s": round(first_call or 0.0, 6),
        "process_s": round(process_seconds(), 3),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

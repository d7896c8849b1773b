#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from the repository's fixtures (standard library only).

Writes fuzz/corpus/<target>/ (not committed; `make fuzz-smoke` rebuilds it):
- envelope: the envelope JSON inside every record of the Firehose fixtures and the sample;
- esdk_message: every official-SDK fixture message, prefixed with its key's index in cases.json;
- inflate: the fixtures' gzip plaintexts (bomb and not-gzip cases included);
- event_classify: every event text of the ground truth, all four engines;
- sql_lexer: the SQL text of those events;
- record: each record's events as a DAS payload (mode byte 0, version by engine) and as an
  event list (mode byte 1);
- handler: the Firehose fixture invocations (one per engine) and the committed sample;
- p384_point: both compressed forms of x = the generator's x, 0–3, p−2, p−1 (some with a
  point, some without), p, p+1 and 2^384−1, and the uncompressed form of each point among them;
- p384_check: signatures the target's fixed key makes, unchanged and with a byte of the
  signature or of the key changed (mode byte odd), and DER signatures with r or s zero, n or
  all ones (mode byte even).
"""

import base64
import hashlib
import json
import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MAX_SEED = 256 * 1024
# record target: mode byte = kind + 3 * version index (None, 1.0, 1.1, 1.2, 1.3, 1.4).
VERSION_INDEX = {"postgresql": 2, "mysql": 3, "oracle": 4, "sqlserver": 5}


def main() -> int:
    out = ROOT / "fuzz" / "corpus"
    seeds: dict[str, list[bytes]] = {t: [] for t in
                                     ("envelope", "esdk_message", "inflate", "event_classify",
                                      "sql_lexer", "record", "handler", "p384_point",
                                      "p384_check")}

    invocations = sorted((FIXTURES / "firehose" / "events").glob("*.json"))
    invocations += sorted((ROOT / "samples" / "events").glob("firehose-*.json"))
    for path in invocations:
        if not path.name.endswith(".keys.json"):
            seeds["handler"].append(path.read_bytes())
            for record in json.loads(path.read_text())["records"]:
                try:
                    seeds["envelope"].append(base64.b64decode(record["data"]))
                except (KeyError, ValueError):
                    pass

    cases = json.loads((FIXTURES / "esdk" / "cases.json").read_text())
    for index, case in enumerate(cases):
        seeds["esdk_message"].append(bytes([index]) + (FIXTURES / "esdk" / case["message"]).read_bytes())
        seeds["inflate"].append((FIXTURES / "esdk" / case["plaintext"]).read_bytes())

    by_record: dict[str, list[str]] = {}
    engine_of: dict[str, str] = {}
    for line in (FIXTURES / "firehose" / "ground-truth.jsonl").read_text().splitlines():
        truth = json.loads(line)
        text = truth.get("eventText")
        if text is None:
            continue
        seeds["event_classify"].append(text.encode())
        by_record.setdefault(truth["recordId"], []).append(text)
        engine_of[truth["recordId"]] = truth["engine"]
        event = json.loads(text)
        for field in ("commandText", "statement", "sqlText"):
            if isinstance(event.get(field), str) and event[field].strip():
                seeds["sql_lexer"].append(event[field].encode())
    for record_id, events in by_record.items():
        version = VERSION_INDEX.get(engine_of[record_id], 0)
        payload = ('{"type":"DatabaseActivityMonitoringRecord","clusterId":"cluster-FUZZ",'
                   '"instanceId":"db-FUZZ","databaseActivityEventList":[' + ",".join(events) + "]}")
        seeds["record"].append(bytes([3 * version]) + payload.encode())
        seeds["record"].append(bytes([1 + 3 * version]) + ",".join(events).encode())

    seeds["p384_point"] = p384_points()
    seeds["p384_check"] = p384_checks()

    total = 0
    for target, items in seeds.items():
        directory = out / target
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        for item in items:
            if len(item) <= MAX_SEED:
                (directory / hashlib.sha1(item).hexdigest()).write_bytes(item)
        count = len(list(directory.iterdir()))
        if count == 0:
            print(f"fuzz/seeds.py: no seeds for {target}", file=sys.stderr)
            return 1
        total += count
    print(f"fuzz/seeds.py: {total} seeds in {out.relative_to(ROOT)}/ for {len(seeds)} targets")
    return 0


# P-384 (FIPS 186-5 / SP 800-186 §3.2.1.4): y² = x³ − 3x + b over GF(p).
P384_P = 2**384 - 2**128 - 2**96 + 2**32 - 1
P384_B = int("b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875a"
             "c656398d8a2ed19d2a85c8edd3ec2aef", 16)
P384_GX = int("aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a38"
              "5502f25dbf55296c3a545e3872760ab7", 16)


def p384_points() -> list[bytes]:
    """Compressed points and near misses for the p384_point target."""
    def coordinate(n: int) -> bytes:
        return n.to_bytes(48, "big")

    seeds = []
    for x in (P384_GX, 0, 1, 2, 3, P384_P - 1, P384_P - 2, P384_P, P384_P + 1, 2**384 - 1):
        seeds += [bytes([prefix]) + coordinate(x) for prefix in (2, 3)]
        if x < P384_P:
            rhs = (x**3 - 3 * x + P384_B) % P384_P
            y = pow(rhs, (P384_P + 1) // 4, P384_P)
            if y * y % P384_P == rhs:
                seeds.append(b"\x04" + coordinate(x) + coordinate(y))
    return seeds


P384_N = int("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf"
             "581a0db248b0a77aecec196accc52973", 16)


def p384_checks() -> list[bytes]:
    """Inputs of the p384_check target: mode byte, then its fields (the target's doc)."""
    def der_integer(n: int) -> bytes:
        body = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big")
        return b"\x02" + bytes([len(body)]) + body

    def der_signature(r: int, s: int) -> bytes:
        body = der_integer(r) + der_integer(s)
        return b"\x30" + bytes([len(body)]) + body

    digest = hashlib.sha384(b"p384_check").digest()
    seeds = [b"\x01" + bytes(4) + digest,            # valid, unchanged
             b"\x01" + bytes([7, 1, 0, 0]) + digest,  # a signature byte changed
             b"\x01" + bytes([0, 0, 60, 2]) + digest]  # a key byte changed
    for r, s in ((0, 1), (1, 0), (P384_N, 1), (1, P384_N), (2**384 - 1, 1), (1, 1)):
        seeds.append(b"\x00" + digest + der_signature(r, s))
    return seeds


if __name__ == "__main__":
    sys.exit(main())

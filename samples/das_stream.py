#!/usr/bin/env python3
"""Generate sample Database Activity Streams traffic as Firehose transformation events.

    das_stream.py --out-dir DIR [--records N] [--seed S]
                  [--engines postgresql,mysql,oracle,sqlserver] [--batch-size B] [--corrupt K]
                  [--start ISO-8601-UTC] [--kms-key-id ID | --static-keys]
                  [--events-per-record N]

Writes into DIR:
  events/<engine>-<n>.json  Firehose invocation events (Kinesis source), one stream per engine
  ground-truth.jsonl        the expected outcome of every activity event / empty or bad record
  summary.json              counts by engine, class and result, and the corrupted records
  keys.json                 --static-keys only: the data keys, to decrypt without KMS

Each DAS record is built like the real thing (das-records.md §1-4): decrypted payload JSON ->
gzip -> AWS Encryption SDK message (raw AES keyring "BC"/"DataKey" wrapped with the 32-byte
data key) -> base64 in the envelope, next to the KMS ciphertext of the data key. One data key
serves ~50 consecutive records, as DAS reuses them. Output is deterministic for a given
--seed and --start, except for the ESDK's random IVs and data keys and for KMS's data keys.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aws_encryption_sdk
import boto3
from aws_encryption_sdk.identifiers import (
    Algorithm,
    CommitmentPolicy,
    EncryptionKeyType,
    WrappingAlgorithm,
)
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.internal.formatting.deserialize import deserialize_header
from aws_encryption_sdk.key_providers.raw import RawMasterKey

from das_engines import ENGINES, Engine
from das_workload import PlannedRecord, Workload

SPAN = timedelta(minutes=150)  # default --start is now - SPAN: at least two UTC hours
KEY_REUSE = 50  # records per data key
MAX_EVENT_BYTES = 6_291_456  # synchronous Lambda request limit
DELIVERY_STREAM_ARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/das-demo"
KINESIS_STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/aws-rds-das-{}"

# ESDK algorithm suite and frame length per engine (das-records.md §3: PostgreSQL and MySQL
# as seen in real records; Oracle and SQL Server are UNVERIFIED, one of each here).
SUITES = {
    "postgresql": (Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA256, 4096),
    "mysql": (Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384, 262144),
    "oracle": (Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384, 262144),
    "sqlserver": (Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA256, 4096),
}
# Envelope whitespace varies in the wild: Oracle's envelopes get spaces, the others none.
ENVELOPE_SEPARATORS = {"oracle": (", ", ": ")}
HEADER_AUTH_LEN = 12 + 16  # ESDK v1 header authentication: IV + tag


# Data keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataKey:
    """A 32-byte data key and the opaque blob the envelope carries as `key`."""

    plaintext: bytes
    blob: bytes


class KmsDataKeys:
    """Data keys from KMS GenerateDataKey (boto3 honours AWS_ENDPOINT_URL_KMS)."""

    def __init__(self, key_id: str) -> None:
        self.kms = boto3.client("kms")
        self.key_id = key_id

    def new(self, resource_id: str, context: dict[str, str]) -> DataKey:
        """A fresh data key bound to the resource's encryption context."""
        reply = self.kms.generate_data_key(
            KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=context
        )
        return DataKey(reply["Plaintext"], reply["CiphertextBlob"])


class StaticDataKeys:
    """Fixed-seed data keys with fake blobs, for fixtures decrypted without KMS (keys.json)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.issued: list[dict] = []

    def new(self, resource_id: str, context: dict[str, str]) -> DataKey:
        """The n-th key of `resource_id`; its blob is b"static-key:<resource id>:<n>"."""
        n = sum(1 for k in self.issued if k["resourceId"] == resource_id)
        key = DataKey(
            random.Random(f"{self.seed}:key:{resource_id}:{n}").randbytes(32),
            f"static-key:{resource_id}:{n}".encode(),
        )
        self.issued.append({
            "resourceId": resource_id,
            "encryptionContext": context,
            "blob": b64(key.blob),
            "plaintext": b64(key.plaintext),
        })
        return key


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode()


# Sealing records ------------------------------------------------------------------------------


class Sealer:
    """gzip + ESDK encryption of decrypted DAS payloads, with the official Python ESDK."""

    def __init__(self) -> None:
        # DAS messages use non-committing suites: the default policy refuses them.
        self.client = aws_encryption_sdk.EncryptionSDKClient(
            commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
        )

    def seal(self, payload: dict, key: DataKey, engine: str) -> bytes:
        """The ESDK message carrying the gzipped payload."""
        suite, frame_length = SUITES[engine]
        master_key = RawMasterKey(
            provider_id="BC",
            key_id=b"DataKey",
            wrapping_key=WrappingKey(
                wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
                wrapping_key=key.plaintext,
                wrapping_key_type=EncryptionKeyType.SYMMETRIC,
            ),
        )
        plaintext = gzip.compress(json.dumps(payload, separators=(",", ":")).encode(), mtime=0)
        message, _ = self.client.encrypt(
            source=plaintext, key_provider=master_key, algorithm=suite, frame_length=frame_length
        )
        return message


@dataclass
class StreamRecord:
    """One Kinesis record of a DAS stream and what we know about it."""

    engine: str
    resource_id: str
    record_id: str
    sequence_number: str
    partition_key: str
    arrival_ms: int
    planned: PlannedRecord
    envelope: dict
    message: bytes
    data: bytes
    payload: dict
    corruption: str | None = None


def envelope_bytes(engine: str, envelope: dict) -> bytes:
    """The Kinesis record data: the envelope as JSON."""
    return json.dumps(envelope, separators=ENVELOPE_SEPARATORS.get(engine, (",", ":"))).encode()


class KinesisIds:
    """Increasing 56-digit sequence numbers and Firehose record ids of one stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.sequence = int("4959" + "".join(rng.choices("0123456789", k=52)))
        self.record = int("4954" + "".join(rng.choices("0123456789", k=52)))

    def next(self) -> tuple[str, str, str]:
        """(sequenceNumber, recordId, partitionKey) of the next record."""
        self.sequence += self.rng.randint(10**17, 10**18)
        self.record += self.rng.randint(10**17, 10**18)
        return str(self.sequence), str(self.record), f"{self.rng.getrandbits(128):032x}"


@dataclass
class Stream:
    """The Kinesis stream of one database."""

    engine: Engine
    records: list[StreamRecord]


def build_stream(name: str, count: int, seed: int, start: datetime,
                 keys: KmsDataKeys | StaticDataKeys, sealer: Sealer,
                 events_per_record: int | None = None) -> Stream:
    """Plan, seal and number `count` records of engine `name`."""
    rng = random.Random(f"{seed}:{name}")
    engine = ENGINES[name](rng)
    ids = KinesisIds(rng)
    context = {engine.context_key: engine.resource_id}
    records = []
    workload = Workload(engine, rng, events_per_record)
    for i, planned in enumerate(workload.plan(count, start, SPAN)):
        if i % KEY_REUSE == 0:
            key = keys.new(engine.resource_id, context)
        payload = engine.payload(planned.instance, [e.event for e in planned.events])
        message = sealer.seal(payload, key, name)
        envelope = {
            "type": "DatabaseActivityMonitoringRecords",
            "version": engine.version,
            "databaseActivityEvents": b64(message),
            "key": b64(key.blob),
        }
        sequence_number, record_id, partition_key = ids.next()
        arrival_ms = int(planned.events[-1].at.timestamp() * 1000) + rng.randint(50, 900)
        records.append(StreamRecord(
            name, engine.resource_id, record_id, sequence_number, partition_key, arrival_ms,
            planned, envelope, message, envelope_bytes(name, envelope), payload,
        ))
    return Stream(engine, records)


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` split into `parts` shares differing by at most one, larger shares first."""
    return [total // parts + (i < total % parts) for i in range(parts)]


# Corruption -----------------------------------------------------------------------------------


def flip_body_byte(rec: StreamRecord) -> bytes:
    """Flip one bit of ciphertext 40 bytes into the ESDK body (the first frame's content)."""
    _, raw_header = deserialize_header(io.BytesIO(rec.message))
    message = bytearray(rec.message)
    message[len(raw_header) + HEADER_AUTH_LEN + 40] ^= 0x01
    return envelope_bytes(rec.engine, rec.envelope | {"databaseActivityEvents": b64(message)})


def truncate_message(rec: StreamRecord) -> bytes:
    """Cut the ESDK message to two thirds of its length."""
    short = rec.message[: len(rec.message) * 2 // 3]
    return envelope_bytes(rec.engine, rec.envelope | {"databaseActivityEvents": b64(short)})


def break_base64(rec: StreamRecord) -> bytes:
    """Replace databaseActivityEvents with text that is not base64."""
    broken = rec.envelope | {"databaseActivityEvents": "*** not base64 ***"}
    return envelope_bytes(rec.engine, broken)


def break_json(rec: StreamRecord) -> bytes:
    """Keep only the first half of the envelope's JSON."""
    return rec.data[: len(rec.data) // 2]


def unknown_type(rec: StreamRecord) -> bytes:
    """An otherwise valid envelope whose `type` is not DatabaseActivityMonitoringRecords."""
    return envelope_bytes(rec.engine, rec.envelope | {"type": "DatabaseActivityMonitoringReport"})


CORRUPTIONS = {
    "flip-body-byte": flip_body_byte,
    "truncated-message": truncate_message,
    "bad-base64": break_base64,
    "not-json": break_json,
    "unknown-type": unknown_type,
}


def corrupt(streams: list[Stream], count: int) -> None:
    """Corrupt `count` records, spread evenly over the streams and over the corruption kinds.

    Records and corruptions are split across streams alike, so no stream gets more corruptions
    than records when `count` <= the number of records.
    """
    kinds = list(CORRUPTIONS)
    done = 0
    for stream, share in zip(streams, split_evenly(count, len(streams))):
        n = len(stream.records)
        for m in range(share):
            rec = stream.records[int((m + 0.5) * n / share)]
            rec.corruption = kinds[done % len(kinds)]
            rec.data = CORRUPTIONS[rec.corruption](rec)
            done += 1


# Output ---------------------------------------------------------------------------------------


def firehose_events(stream: Stream, batch_size: int, seed: int) -> list[dict]:
    """Firehose transformation invocations over the stream, `batch_size` records at most each."""
    rng = random.Random(f"{seed}:{stream.engine.name}:firehose")
    events = []
    for first in range(0, len(stream.records), batch_size):
        events.append({
            "invocationId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "deliveryStreamArn": DELIVERY_STREAM_ARN,
            "sourceKinesisStreamArn": KINESIS_STREAM_ARN.format(stream.engine.resource_id),
            "region": "us-east-1",
            "records": [firehose_record(r) for r in stream.records[first:first + batch_size]],
        })
    return events


def firehose_record(rec: StreamRecord) -> dict:
    """One input record of a Firehose invocation with a Kinesis source."""
    return {
        "recordId": rec.record_id,
        "approximateArrivalTimestamp": rec.arrival_ms,
        "data": b64(rec.data),
        "kinesisRecordMetadata": {
            "sequenceNumber": rec.sequence_number,
            "subsequenceNumber": 0,
            "partitionKey": rec.partition_key,
            "shardId": "shardId-000000000000",
            "approximateArrivalTimestamp": rec.arrival_ms,
        },
    }


def utc_hour(at: datetime) -> str:
    """"YYYY-MM-DD-HH" in UTC."""
    return at.strftime("%Y-%m-%d-%H")


def truth_lines(rec: StreamRecord) -> list[dict]:
    """Ground truth of a record: one line per activity event, or one line for a record that must
    give no event (heartbeat-only: Dropped; corrupted: ProcessingFailed). Event lines carry the
    event's JSON text exactly as it was encrypted (`eventText`), and the payload fields the
    output lines repeat (`clusterId`, `instanceId`, `dasVersion`), so a consumer can check every
    output line against what went in."""
    base = {"engine": rec.engine, "resourceId": rec.resource_id, "recordId": rec.record_id}
    if rec.corruption or rec.planned.heartbeat_only:
        return [base | {
            "eventIndex": None,
            "eventId": None,
            "class": None,
            "dbUserName": None,
            "recordResult": "ProcessingFailed" if rec.corruption else "Dropped",
            "hour": utc_hour(rec.planned.at),
        }]
    return [
        base | {
            "eventIndex": i,
            "eventId": f"{rec.sequence_number}-0-{i}",
            "class": e.label,
            "dbUserName": e.event.get("dbUserName"),
            "recordResult": "Ok",
            "hour": utc_hour(e.at),
            "clusterId": rec.payload.get("clusterId"),
            "instanceId": rec.payload.get("instanceId"),
            "dasVersion": rec.envelope["version"],
            "eventText": json.dumps(e.event, separators=(",", ":")),
        }
        for i, e in enumerate(rec.planned.events)
        if e.label is not None
    ]


def summary(streams: list[Stream], truth: list[dict], seed: int, start: datetime,
            keys: str) -> dict:
    """Counts by engine, class and result, plus the corrupted records."""
    records = [r for s in streams for r in s.records]
    results = {line["recordId"]: line["recordResult"] for line in truth}
    events = [line for line in truth if line["class"]]
    by_engine_class: dict[str, Counter] = {s.engine.name: Counter() for s in streams}
    for line in events:
        by_engine_class[line["engine"]][line["class"]] += 1
    return {
        "seed": seed,
        "start": start.isoformat(),
        "keys": keys,
        "resourceIds": {s.engine.name: s.engine.resource_id for s in streams},
        "records": {
            "total": len(records),
            "byEngine": dict(Counter(r.engine for r in records)),
            "byResult": dict(Counter(results[r.record_id] for r in records)),
        },
        "events": {
            "total": len(events),
            "byClass": dict(Counter(line["class"] for line in events)),
            "byEngine": {name: dict(c) for name, c in by_engine_class.items()},
        },
        "corrupted": [
            {"engine": r.engine, "recordId": r.record_id, "kind": r.corruption}
            for r in records if r.corruption
        ],
    }


def write_json(path: Path, value) -> None:
    """Write `value` as JSON."""
    path.write_text(json.dumps(value, indent=1) + "\n")


def write_events(out: Path, streams: list[Stream], batch_size: int, seed: int) -> int:
    """Write events/<engine>-<n>.json (replacing older ones); returns the number of files."""
    events_dir = out / "events"
    events_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for stream in streams:
        for old in events_dir.glob(f"{stream.engine.name}-*.json"):
            old.unlink()
        for n, event in enumerate(firehose_events(stream, batch_size, seed), start=1):
            text = json.dumps(event, separators=(",", ":"))
            if len(text) > MAX_EVENT_BYTES:
                sys.exit(f"das_stream: {batch_size} records make an event over 6 MB: "
                         "lower --batch-size")
            (events_dir / f"{stream.engine.name}-{n}.json").write_text(text + "\n")
            written += 1
    return written


# CLI ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, required=True, metavar="DIR")
    parser.add_argument("--records", type=int, default=400, metavar="N",
                        help="total across engines (default 400)")
    parser.add_argument("--seed", type=int, default=1, metavar="S")
    parser.add_argument("--engines", default=",".join(ENGINES), metavar="LIST",
                        help=f"comma-separated, from {','.join(ENGINES)} (default: all)")
    parser.add_argument("--batch-size", type=int, default=250, metavar="B",
                        help="records per Firehose event (default 250)")
    parser.add_argument("--corrupt", type=int, default=0, metavar="K",
                        help="records to corrupt (default 0)")
    parser.add_argument("--start", type=datetime.fromisoformat, metavar="ISO",
                        help="UTC time of the first record (default: now - 150 min)")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--kms-key-id", default=os.environ.get("MOTO_KMS_KEY_ID"), metavar="ID",
                      help="KMS key for GenerateDataKey (default: $MOTO_KMS_KEY_ID)")
    keys.add_argument("--static-keys", action="store_true",
                      help="fixed-seed data keys, no KMS; writes keys.json")
    parser.add_argument("--events-per-record", type=int, metavar="N",
                        help="exactly N events in every record (benchmarks; default: 1 to ~12, "
                             "as the record's shape gives)")
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(args.engines) - set(ENGINES))
    if unknown or not args.engines:
        parser.error(f"--engines: unknown {unknown}; choose from {','.join(ENGINES)}")
    if args.records < len(args.engines) or args.batch_size < 1 or args.corrupt < 0:
        parser.error("need --records >= number of engines, --batch-size >= 1, --corrupt >= 0")
    if args.corrupt > args.records:
        parser.error("--corrupt cannot exceed --records")
    if args.events_per_record is not None and args.events_per_record < 1:
        parser.error("--events-per-record must be >= 1")
    if not args.static_keys and not args.kms_key_id:
        parser.error("give --kms-key-id (or run under scripts/with-moto.sh) or --static-keys")
    return args


def start_time(args: argparse.Namespace) -> datetime:
    """--start as an aware UTC datetime, or now - SPAN to the second."""
    if args.start is None:
        return (datetime.now(timezone.utc) - SPAN).replace(microsecond=0)
    if args.start.tzinfo is None:
        return args.start.replace(tzinfo=timezone.utc)
    return args.start.astimezone(timezone.utc)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    began = time.monotonic()
    start = start_time(args)
    keys = StaticDataKeys(args.seed) if args.static_keys else KmsDataKeys(args.kms_key_id)
    sealer = Sealer()
    streams = [build_stream(name, n, args.seed, start, keys, sealer, args.events_per_record)
               for name, n in zip(args.engines, split_evenly(args.records, len(args.engines)))]
    corrupt(streams, args.corrupt)

    out = args.out_dir
    files = write_events(out, streams, args.batch_size, args.seed)
    truth = [line for s in streams for r in s.records for line in truth_lines(r)]
    (out / "ground-truth.jsonl").write_text("".join(json.dumps(t) + "\n" for t in truth))
    facts = summary(streams, truth, args.seed, start, "static" if args.static_keys else "kms")
    write_json(out / "summary.json", facts)
    if args.static_keys:
        write_json(out / "keys.json", keys.issued)
    print(f"das_stream: {facts['records']['total']} records, {facts['events']['total']} events, "
          f"{files} Firehose events in {out} ({time.monotonic() - began:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()

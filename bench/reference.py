"""A Python reference for das-partitioner: the Firehose transformation Lambda as the AWS sample
Lambdas write it, doing the same work as ours, to compare per-record costs.

Like aws-samples/decrypt-das-aws-rds (rds-das-decrypt-kinesis-firehose.py) and
aws-samples/aurora-das-processing (lambda_function.py), both described in
/work/shared/design/das-records.md §6, for every record it:

1. base64-decodes the Firehose record and parses the DAS envelope (JSON);
2. decrypts the envelope's `key` with boto3 KMS `Decrypt`, encryption context
   {"aws:rds:dbc-id": id} (Aurora clusters) or {"aws:rds:db-id": id} (RDS instances);
3. decrypts `databaseActivityEvents` with the official `aws-encryption-sdk` through a
   RawMasterKeyProvider subclass (provider "BC", key "DataKey", AES-256-GCM wrapping with the
   KMS plaintext), commitment policy REQUIRE_ENCRYPT_ALLOW_DECRYPT;
4. gunzips it with `zlib.decompress(data, zlib.MAX_WBITS + 16)` and parses the payload JSON;
5. drops heartbeats and classifies every other event (DDL, DML, READ, CONNECT, DISCONNECT,
   ERROR, AUTH_FAILURE, OTHER) with a small rule set after das-records.md §5;
6. returns one response entry per recordId: `Ok` with base64 NDJSON (the event plus
   activityClass, clusterId, instanceId, eventId, dasVersion) and partition keys, `Dropped` when
   no event is left, `ProcessingFailed` when that record alone fails.

Where it differs from the samples, it is to do the same work as das-partitioner, not less: no
S3 PutObject per event (the samples' aurora-das-processing does one), no double decryption (the
decrypt-das-aws-rds sample decrypts every record twice), per-record failures instead of failing
the batch, any resource id instead of an environment constant. `max_encrypted_data_keys=1`: a
DAS message carries exactly one encrypted data key.

Data keys: without caching (the samples' way) KMS is called once per record. With caching
(`REF_CACHE_KEYS=1`, or `configure(cache_keys=True)`) plaintext keys are kept in a dict keyed
by (encryption context, blob) for the life of the process, across records and invocations. DAS
reuses one data key over many consecutive records, so that saves most KMS calls.
`REF_STATIC_KEYS=keys.json` (or `configure(static_keys=...)`) resolves blobs from the keys.json
of `samples/das_stream.py --static-keys` instead of KMS, to measure the CPU cost alone.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import zlib
from datetime import datetime, timezone

import aws_encryption_sdk
from aws_encryption_sdk import CommitmentPolicy
from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider
from aws_encryption_sdk.materials_managers.default import DefaultCryptoMaterialsManager

ENVELOPE_TYPE = "DatabaseActivityMonitoringRecords"
STREAM_PREFIX = "aws-rds-das-"

# DAS messages use non-committing suites (0x0178, 0x0378): decrypting them needs a policy that
# allows them; REQUIRE_ENCRYPT_ALLOW_DECRYPT is what the AWS samples set.
ESDK = aws_encryption_sdk.EncryptionSDKClient(
    commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT,
    max_encrypted_data_keys=1,
)


class DasKeyProvider(RawMasterKeyProvider):
    """The raw AES "master key" DAS wraps its ESDK data key with: provider "BC", key "DataKey",
    AES-256-GCM with the 32-byte plaintext of the envelope's KMS blob (the samples' pattern)."""

    provider_id = "BC"

    def __new__(cls, *args, **kwargs):  # pylint: disable=unused-argument
        # MasterKeyProvider.__new__ takes only config keywords; the plaintext key goes to __init__.
        return super().__new__(cls)

    def __init__(self, plain_key: bytes) -> None:  # pylint: disable=super-init-not-called
        self.wrapping_key = WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=plain_key,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        )

    def _get_raw_key(self, key_id):
        return self.wrapping_key


def esdk_decrypt(message: bytes, plain_key: bytes) -> bytes:
    """Plaintext of a DAS ESDK message (header auth, frames, signature checked by the ESDK)."""
    provider = DasKeyProvider(plain_key)
    provider.add_master_key("DataKey")
    plaintext, _header = ESDK.decrypt(
        source=message,
        materials_manager=DefaultCryptoMaterialsManager(master_key_provider=provider),
    )
    return plaintext


# Data keys ------------------------------------------------------------------------------------


class TransientKmsError(Exception):
    """KMS throttled or unreachable: the whole invocation fails, so Firehose retries it."""


class KmsKeys:
    """Data keys from boto3 KMS Decrypt (honours AWS_ENDPOINT_URL_KMS and the AWS chain)."""

    TRANSIENT = {"ThrottlingException", "KMSInternalException", "DependencyTimeoutException",
                 "LimitExceededException", "ServiceUnavailableException", "InternalFailure"}

    def __init__(self) -> None:
        import boto3  # pylint: disable=import-outside-toplevel
        import botocore.exceptions  # pylint: disable=import-outside-toplevel

        self.kms = boto3.client("kms")
        self.errors = botocore.exceptions
        self.calls = 0

    def get(self, context: dict[str, str], blob: bytes) -> bytes:
        self.calls += 1
        try:
            return self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"]
        except self.errors.ClientError as err:
            if err.response.get("Error", {}).get("Code") in self.TRANSIENT:
                raise TransientKmsError(str(err)) from err
            raise
        except (self.errors.EndpointConnectionError, self.errors.ConnectTimeoutError,
                self.errors.ReadTimeoutError) as err:
            raise TransientKmsError(str(err)) from err


class StaticKeys:
    """Data keys from the generator's keys.json (no KMS): [{encryptionContext, blob, plaintext}]."""

    def __init__(self, path: str) -> None:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
        self.keys = {
            (context_id(e["encryptionContext"]), base64.b64decode(e["blob"])):
                base64.b64decode(e["plaintext"])
            for e in entries
        }
        self.calls = 0

    def get(self, context: dict[str, str], blob: bytes) -> bytes:
        self.calls += 1
        try:
            return self.keys[(context_id(context), blob)]
        except KeyError:
            raise ValueError("unknown data key blob (as KMS: InvalidCiphertextException)") from None


class CachedKeys:
    """Plaintext data keys kept by (encryption context, blob) across records and invocations."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.cache: dict[tuple, bytes] = {}
        self.hits = 0

    @property
    def calls(self) -> int:
        return self.inner.calls

    def get(self, context: dict[str, str], blob: bytes) -> bytes:
        k = (context_id(context), blob)
        key = self.cache.get(k)
        if key is None:
            key = self.cache[k] = self.inner.get(context, blob)
        else:
            self.hits += 1
        return key


def context_id(context: dict[str, str]) -> tuple:
    """A hashable form of an encryption context."""
    return tuple(sorted(context.items()))


_KEYS = None


def configure(cache_keys: bool | None = None, static_keys: str | None = None):
    """Choose where data keys come from (default: environment REF_CACHE_KEYS, REF_STATIC_KEYS)
    and return the key source, which counts `calls` (KMS or keys.json look-ups)."""
    global _KEYS  # pylint: disable=global-statement
    if cache_keys is None:
        cache_keys = os.environ.get("REF_CACHE_KEYS", "") not in ("", "0")
    if static_keys is None:
        static_keys = os.environ.get("REF_STATIC_KEYS") or None
    source = StaticKeys(static_keys) if static_keys else KmsKeys()
    _KEYS = CachedKeys(source) if cache_keys else source
    return _KEYS


# Classification (das-records.md §5, first match wins) -----------------------------------------

_SQL_NOISE = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
_WORD = re.compile(r"[A-Za-z_]+")
DDL_WORDS = {"CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME", "COMMENT", "GRANT", "REVOKE"}
DML_WORDS = {"INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "UPSERT", "LOAD"}
READ_WORDS = {"SELECT", "SHOW", "DESCRIBE", "DESC", "VALUES", "TABLE"}


def classify_sql(text: str | None) -> str:
    """The class of a statement from its text: comments skipped, WITH … looked through, EXPLAIN
    ANALYZE classified as its statement, COPY by direction."""
    if not text:
        return "OTHER"
    pos = _SQL_NOISE.match(text).end()
    m = _WORD.match(text, pos)
    if not m:
        return "OTHER"
    word = m.group().upper()
    if word == "WITH":
        # The main statement is the first DML/SELECT keyword outside the CTEs' parentheses.
        depth = 0
        for tok in re.finditer(r"[()]|[A-Za-z_]+", text[m.end():]):
            t = tok.group()
            if t == "(":
                depth += 1
            elif t == ")":
                depth -= 1
            elif depth == 0:
                up = t.upper()
                if up in DML_WORDS:
                    return "DML"
                if up == "SELECT":
                    return "READ"
        return "OTHER"
    if word == "EXPLAIN":
        rest = text[m.end():]
        m2 = _WORD.match(rest, _SQL_NOISE.match(rest).end())
        if m2 and m2.group().upper() == "ANALYZE":
            return classify_sql(rest[m2.end():])
        return "READ"
    if word == "COPY":
        return "DML" if re.search(r"\bFROM\b", text, re.I) and not re.search(
            r"\bTO\b", text, re.I) else "READ"
    if word in DDL_WORDS:
        return "DDL"
    if word in DML_WORDS:
        return "DML"
    if word in READ_WORDS:
        return "READ"
    return "OTHER"


def classify(ev: dict) -> str:
    """The activity class of a non-heartbeat event."""
    server = (ev.get("serverType") or "").lower()
    command = (ev.get("command") or "").upper()
    code = ev.get("exitCode")
    if server == "postgresql":
        if command == "AUTH FAILURE":
            return "AUTH_FAILURE"
        if ev.get("errorMessage"):
            return "ERROR"
        if command in ("CONNECT", "DISCONNECT"):
            return command
        engine_class = (ev.get("class") or "").upper()
        if engine_class in ("DDL", "ROLE"):
            return "DDL"
        if engine_class == "WRITE":
            return "DML"
        if engine_class == "READ":
            return "READ"
        return classify_sql(ev.get("commandText"))
    if server == "mysql":
        failed = code not in (None, "", "0", 0)
        if command in ("FAILED_CONNECT", "CHANGEUSER_FAILED") or (
                command == "CONNECT" and (failed or ev.get("errorMessage"))):
            return "AUTH_FAILURE"
        if failed:
            return "ERROR"
        if command in ("CONNECT", "DISCONNECT"):
            return command
        if (ev.get("class") or "").upper() == "AUX":
            if command == "READ":
                return "READ"
            if command in ("WRITE", "DELETE"):
                return "DML"
            if command in ("CREATE", "DROP", "RENAME", "ALTER"):
                return "DDL"
            return "OTHER"
        return classify_sql(ev.get("commandText"))
    if server == "oracle":
        failed = code not in (None, 0, "0", "")
        if command == "LOGON":
            return "AUTH_FAILURE" if failed else "CONNECT"
        if failed:
            return "ERROR"
        if command.startswith("LOGOFF"):
            return "DISCONNECT"
        return classify_sql(ev.get("commandText") or command)
    if server == "sqlserver":
        failed = code in (0, "0")
        if command == "LOGIN FAILED" or ((ev.get("class") or "").upper() == "LOGIN" and failed):
            return "AUTH_FAILURE"
        if failed:
            return "ERROR"
        if command == "LOGIN SUCCEEDED":
            return "CONNECT"
        if command == "LOGOUT":
            return "DISCONNECT"
        return classify_sql(ev.get("commandText") or command)
    return classify_sql(ev.get("commandText"))


# Handler --------------------------------------------------------------------------------------


def encryption_context(resource_id: str) -> dict[str, str]:
    """The KMS encryption context DAS binds the data key to."""
    if resource_id.startswith("cluster-"):
        return {"aws:rds:dbc-id": resource_id}
    return {"aws:rds:db-id": resource_id}


def resource_id_of(event: dict) -> str:
    """REF_RESOURCE_ID, or the stream name after `aws-rds-das-`."""
    fixed = os.environ.get("REF_RESOURCE_ID")
    if fixed:
        return fixed
    stream = (event.get("sourceKinesisStreamArn") or "").rsplit("/", 1)[-1]
    if not stream.startswith(STREAM_PREFIX):
        raise ValueError("no sourceKinesisStreamArn aws-rds-das-<id>: set REF_RESOURCE_ID")
    return stream[len(STREAM_PREFIX):]


def hour_keys(log_time: str | None, arrival_ms) -> dict[str, str]:
    """year/month/day/hour of "YYYY-MM-DD HH:…" (UTC in every DAS engine), else of the arrival."""
    if log_time and len(log_time) >= 13 and log_time[4] == "-" and log_time[10] == " " \
            and log_time[:4].isdigit() and log_time[11:13].isdigit():
        return {"year": log_time[:4], "month": log_time[5:7], "day": log_time[8:10],
                "hour": log_time[11:13]}
    at = datetime.fromtimestamp((arrival_ms or 0) / 1000, timezone.utc)
    return {"year": f"{at.year:04d}", "month": f"{at.month:02d}", "day": f"{at.day:02d}",
            "hour": f"{at.hour:02d}"}


def transform_record(record: dict, resource_id: str, context: dict[str, str]) -> dict:
    """The response entry of one record; raises on any failure of the record."""
    envelope = json.loads(base64.b64decode(record["data"], validate=True))
    if envelope.get("type") != ENVELOPE_TYPE:
        raise ValueError(f"unknown envelope type {envelope.get('type')!r}")
    message = base64.b64decode(envelope["databaseActivityEvents"], validate=True)
    blob = base64.b64decode(envelope["key"], validate=True)
    data_key = _KEYS.get(context, blob)
    payload = json.loads(zlib.decompress(esdk_decrypt(message, data_key), zlib.MAX_WBITS + 16))

    meta = record.get("kinesisRecordMetadata") or {}
    if "sequenceNumber" in meta:
        id_prefix = f"{meta['sequenceNumber']}-{meta.get('subsequenceNumber', 0)}-"
    else:
        id_prefix = f"{record['recordId']}-"
    cluster_id = payload.get("clusterId")
    instance_id = payload.get("instanceId")
    version = envelope.get("version")
    lines = []
    classes = set()
    earliest = None
    for i, ev in enumerate(payload["databaseActivityEventList"]):
        if ev.get("type") == "heartbeat":
            continue
        activity = classify(ev)
        classes.add(activity)
        log_time = ev.get("logTime")
        if isinstance(log_time, str) and (earliest is None or log_time < earliest):
            earliest = log_time
        out = dict(ev)
        out["activityClass"] = activity
        out["clusterId"] = cluster_id
        out["instanceId"] = instance_id
        out["eventId"] = f"{id_prefix}{i}"
        out["dasVersion"] = version
        lines.append(json.dumps(out, separators=(",", ":"), ensure_ascii=False))
    if not lines:
        return {"recordId": record["recordId"], "result": "Dropped", "data": ""}
    keys = {"activity_class": classes.pop() if len(classes) == 1 else "MIXED",
            "resource_id": resource_id}
    keys.update(hour_keys(earliest, record.get("approximateArrivalTimestamp")))
    data = ("\n".join(lines) + "\n").encode()
    return {
        "recordId": record["recordId"],
        "result": "Ok",
        "data": base64.b64encode(data).decode(),
        "metadata": {"partitionKeys": keys},
    }


def handler(event: dict, context) -> dict:  # pylint: disable=unused-argument
    """The Firehose transformation Lambda: one response entry per input record."""
    if _KEYS is None:
        configure()
    resource_id = resource_id_of(event)
    enc_context = encryption_context(resource_id)
    out = []
    transient = 0
    for record in event["records"]:
        try:
            entry = transform_record(record, resource_id, enc_context)
        except TransientKmsError as err:
            transient += 1
            print(f"reference: record {record.get('recordId')}: KMS unavailable: {err}",
                  file=sys.stderr)
            entry = {"recordId": record["recordId"], "result": "ProcessingFailed",
                     "data": record.get("data", "")}
        except Exception as err:  # pylint: disable=broad-except
            # One record's failure (bad base64/JSON, envelope type, KMS refusal, ESDK or
            # signature error, gzip error): that record alone, never its plaintext in the log.
            print(f"reference: record {record.get('recordId')}: {type(err).__name__}",
                  file=sys.stderr)
            entry = {"recordId": record["recordId"], "result": "ProcessingFailed",
                     "data": record.get("data", "")}
        out.append(entry)
    if out and transient == len(out):
        raise TransientKmsError("KMS unavailable for every record: let Firehose retry the batch")
    return {"records": out}

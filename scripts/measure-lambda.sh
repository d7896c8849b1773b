#!/usr/bin/env bash
# Measures what the deployment's sizing relies on (README "Deploy" > "Sizing"), on this machine:
# the release Lambda binary under a local Runtime API stand-in (scripts/lambda-bench.py) with a
# local KMS emulator, on Firehose invocations of generated DAS traffic (all four engines).
#   MEASURE_RECORDS (default 2400)  MEASURE_BATCH (records per invocation, default 600)
#   MEASURE_OUT (default target/measure)
# Prints: start-to-ready (cold start), per-invocation ms cold and warm, peak RSS, CPU per MiB,
# the Ok records' output/input expansion, request/response sizes, gzip ratio of the delivered
# NDJSON, and ten more cold starts (min/median/max).
# Run it through `make measure`, which builds the release binaries and the venv first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${MEASURE_OUT:-target/measure}
py=.venv/bin/python
bootstrap=${CARGO_TARGET_DIR:-target}/release/das-partitioner

if [ "${1:-}" != "--with-kms" ]; then
  [ -x "$bootstrap" ] || { echo "measure: $bootstrap missing: run 'make measure'" >&2; exit 2; }
  rm -rf "$out"
  mkdir -p "$out"
  exec scripts/with-moto.sh "$0" --with-kms
fi

$py samples/das_stream.py --out-dir "$out/stream" --records "${MEASURE_RECORDS:-2400}" \
  --batch-size "${MEASURE_BATCH:-600}" --kms-key-id "$MOTO_KMS_KEY_ID" >/dev/null
# Each event twice: the first decrypts data keys through KMS (cold cache), the repeat hits the
# key cache like a warm sandbox.
$py scripts/lambda-bench.py "$bootstrap" "$out"/stream/events/*.json --repeat 2 \
  --responses "$out/responses" >"$out/bench.json"
$py - "$out" <<'PY'
import gzip, json, sys
from pathlib import Path
out = Path(sys.argv[1])
bench = json.loads((out / "bench.json").read_text())
runs = bench["invocations"]
half = len(runs) // 2
cold, warm = runs[:half], runs[half:]
summary = json.loads((out / "stream" / "summary.json").read_text())
data_in = sum(r["data_in_bytes"] for r in cold)
data_out = sum(r["data_out_bytes"] for r in cold)
events = summary["events"]["total"]
records = summary["records"]["total"]
# Gzip ratio of what Firehose compresses: the Lambda's NDJSON output, as whole objects.
import base64
ndjson = b"".join(
    base64.b64decode(r["data"])
    for path in sorted((out / "responses").glob("*.json"))[:half]
    for r in json.loads(path.read_text())["records"] if r["result"] == "Ok")
packed = len(gzip.compress(ndjson, 6))
print(f"binary:            {bench['bootstrap_bytes']} bytes")
print(f"start to ready:    {bench['start_to_ready_ms']} ms (process start to first GET /next)")
print(f"peak RSS:          {bench['peak_rss_kb']} KiB")
total_in = sum(r["data_in_bytes"] for r in runs)
print(f"CPU time:          {bench['cpu_ms_total']:.0f} ms for {len(runs)} invocations, "
      f"{total_in/1e6:.1f} MB of record data: {bench['cpu_ms_total']/(total_in/2**20):.0f} ms per MiB")
for name, group in (("cold keys", cold), ("warm keys", warm)):
    ms = [r["ms"] for r in group]
    print(f"invocation {name}: " + ", ".join(f"{m:.1f}" for m in ms) + " ms")
print("per invocation:    " + "; ".join(
    f"{r['request_bytes']/1e6:.2f} MB in, {r['response_bytes']/1e6:.2f} MB out, "
    f"records {r['results']}, Ok expansion {r['ok_expansion']}x" for r in cold))
print(f"records:           {records} ({events} events, {events/records:.2f} events/record)")
print(f"record data:       {data_in} bytes in, {data_out} bytes out: {data_out/data_in:.2f}x")
print(f"request/response:  {sum(r['request_bytes'] for r in cold)} / "
      f"{sum(r['response_bytes'] for r in cold)} bytes: "
      f"{sum(r['response_bytes'] for r in cold)/sum(r['request_bytes'] for r in cold):.2f}x")
print(f"bytes per event:   {data_in/events:.0f} in (Kinesis), {data_out/events:.0f} out (NDJSON), "
      f"{packed/events:.0f} gzipped in S3 (gzip -6: {len(ndjson)/packed:.1f}x)")
PY
# Cold start alone, ten times: a fresh process each, on the committed sample event (its static
# test keys fail KMS with InvalidCiphertext: every record ProcessingFailed, one KMS call per key).
for _ in $(seq 1 10); do
  $py scripts/lambda-bench.py "$bootstrap" samples/events/firehose-aurora-postgresql.json --repeat 1 \
    | $py -c 'import json, sys; print(json.load(sys.stdin)["start_to_ready_ms"])'
done | sort -n | $py -c '
import sys
ms = [float(x) for x in sys.stdin]
print(f"cold start x{len(ms)}: min {ms[0]:.1f}, median {ms[len(ms) // 2]:.1f}, max {ms[-1]:.1f} ms")'

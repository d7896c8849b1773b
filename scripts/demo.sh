#!/usr/bin/env bash
# The local demo: realistic DAS traffic for four engines → the Lambda's handler (`dasp
# transform`, real KMS client against a local KMS emulator) → an S3 layout on disk → the
# project's Athena queries run by DuckDB, checked against the generator's ground truth.
#   DEMO_RECORDS (default 1200)  DEMO_OUT (default out)  DASP_EXCLUDED_USERS (default rdsadmin)
# Run it through `make demo`, which builds dasp and the Python venv first. Re-runnable: each run
# starts from an empty $DEMO_OUT.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${DEMO_OUT:-out}
records=${DEMO_RECORDS:-1200}
corrupt=${DEMO_CORRUPT:-$(( records / 100 + 2 ))}
export DASP_EXCLUDED_USERS=${DASP_EXCLUDED_USERS-rdsadmin}
# Corrupted records are logged one warning each; the report lists them anyway.
export RUST_LOG=${RUST_LOG:-error}
py=.venv/bin/python
dasp=${CARGO_TARGET_DIR:-target}/release/dasp
step() { printf '\n==> %s\n' "$*" >&2; }

if [ "${1:-}" != "--with-kms" ]; then
  [ -x "$dasp" ] || { echo "demo: $dasp missing: run 'make demo'" >&2; exit 2; }
  rm -rf "$out"
  mkdir -p "$out"
  step "starting a local KMS emulator (moto) on a free loopback port"
  scripts/with-moto.sh "$0" --with-kms
  step "querying the archive like Athena (DuckDB over $out/s3, queries from infra/athena/)"
  excluded_args=()
  [ -n "$DASP_EXCLUDED_USERS" ] && excluded_args=(--excluded-users "$DASP_EXCLUDED_USERS")
  $py samples/report.py --s3 "$out/s3" --truth "$out/stream/ground-truth.jsonl" \
    --response "$out"/responses/*.json "${excluded_args[@]}"
  step "done: S3 layout in $out/s3, Firehose responses in $out/responses, generated events in $out/stream"
  exit 0
fi

# From here on, inside scripts/with-moto.sh: AWS_ENDPOINT_URL_KMS and MOTO_KMS_KEY_ID are set.
step "generating $records DAS records across four engines ($corrupt corrupted), data keys from KMS"
$py samples/das_stream.py --out-dir "$out/stream" --records "$records" --corrupt "$corrupt" \
  --kms-key-id "$MOTO_KMS_KEY_ID"

mkdir -p "$out/responses" "$out/s3"
events=("$out"/stream/events/*.json)
step "running the Lambda handler (dasp transform) on ${#events[@]} Firehose invocations"
n=0
for event in "${events[@]}"; do
  n=$((n + 1))
  name=$(basename "$event" .json)
  printf '  [%d/%d] %s: ' "$n" "${#events[@]}" "$name" >&2
  $dasp transform --event "$event" --out "$out/responses/$name.json" --s3-layout "$out/s3"
done

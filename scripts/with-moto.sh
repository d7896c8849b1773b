#!/usr/bin/env bash
# Runs a command with a local KMS and Kinesis emulator (moto's server, pinned in
# requirements.txt) on a free loopback port, and stops the emulator afterwards, whether the
# command passes or fails.
#   scripts/with-moto.sh CMD [ARGS...]
# The command sees AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL_KINESIS and AWS_ENDPOINT_URL_S3 (the
# same server serves every service), dummy credentials, and MOTO_KMS_KEY_ID: a symmetric key
# created for it. Exit status is the command's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py="$root/.venv/bin/python"
[ -x "$py" ] || { echo "with-moto: no venv at $root/.venv (run 'make venv')" >&2; exit 2; }

port=$("$py" - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
)
log=$(mktemp -t moto.XXXXXX.log)
"$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
cleanup() {
  kill "$moto_pid" 2>/dev/null || true
  wait "$moto_pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT INT TERM

export AWS_ENDPOINT_URL_KMS="http://127.0.0.1:$port"
export AWS_ENDPOINT_URL_KINESIS="http://127.0.0.1:$port" AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_ENDPOINT_URL

for _ in $(seq 1 100); do
  if "$py" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1] + '/moto-api/', timeout=1)" \
      "$AWS_ENDPOINT_URL_KMS" >/dev/null 2>&1; then
    break
  fi
  kill -0 "$moto_pid" 2>/dev/null || { echo "with-moto: moto_server exited:" >&2; cat "$log" >&2; exit 2; }
  sleep 0.2
done

MOTO_KMS_KEY_ID=$("$py" -c "import boto3; print(boto3.client('kms').create_key(Description='das-partitioner local key')['KeyMetadata']['KeyId'])")
export MOTO_KMS_KEY_ID
echo "with-moto: KMS and Kinesis emulator at $AWS_ENDPOINT_URL_KMS, key $MOTO_KMS_KEY_ID" >&2
set +e
"$@"
status=$?
set -e
exit "$status"

#!/usr/bin/env bash
# Runs a command with the KMS fault stand-in (scripts/kms-faults.py) in front of the emulator
# that scripts/with-moto.sh started, and stops the stand-in afterwards:
#   scripts/with-moto.sh scripts/with-kms-faults.sh CMD [ARGS...]
# The command sees KMS_FAULTS_ENDPOINT (the stand-in, on a free loopback port) next to
# AWS_ENDPOINT_URL_KMS (the emulator itself, for setting up keys). Extra arguments for the
# stand-in (e.g. --rules FILE) go in KMS_FAULTS_ARGS. Exit status is the command's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py="$root/.venv/bin/python"
[ -x "$py" ] || py=python3
: "${AWS_ENDPOINT_URL_KMS:?with-kms-faults: AWS_ENDPOINT_URL_KMS unset: run under scripts/with-moto.sh}"

dir=$(mktemp -d -t kms-faults.XXXXXX)
# shellcheck disable=SC2086 # KMS_FAULTS_ARGS is a word list on purpose
"$py" "$root/scripts/kms-faults.py" --upstream "$AWS_ENDPOINT_URL_KMS" --port-file "$dir/port" \
  ${KMS_FAULTS_ARGS:-} 2>"$dir/log" &
faults_pid=$!
cleanup() {
  kill "$faults_pid" 2>/dev/null || true
  wait "$faults_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 100); do
  [ -s "$dir/port" ] && break
  kill -0 "$faults_pid" 2>/dev/null || { echo "with-kms-faults: kms-faults.py exited:" >&2; cat "$dir/log" >&2; exit 2; }
  sleep 0.1
done
[ -s "$dir/port" ] || { echo "with-kms-faults: kms-faults.py did not start" >&2; exit 2; }
export KMS_FAULTS_ENDPOINT="http://127.0.0.1:$(cat "$dir/port")"
echo "with-kms-faults: fault stand-in at $KMS_FAULTS_ENDPOINT in front of $AWS_ENDPOINT_URL_KMS" >&2
set +e
"$@"
status=$?
set -e
exit "$status"

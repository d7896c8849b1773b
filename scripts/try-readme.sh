#!/usr/bin/env bash
# Runs every command of the fenced sh blocks in README.md's "## Try it" section (up to its first
# subsection), as a reader would paste them, from the repository root, and fails on the first
# command that fails (a pipeline by its last command, as in an interactive shell). `cargo build`
# lines are skipped when the binaries are already built (make builds them first). Through
# `make test-readme`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
commands=$(python3 - <<'PY'
import re, sys
text = open("README.md", encoding="utf-8").read()
section = re.search(r"^## Try it\n(.*?)(?=^##)", text, re.S | re.M)
if not section:
    sys.exit("try-readme: README.md has no '## Try it' section")
blocks = re.findall(r"^```sh\n(.*?)^```", section.group(1), re.S | re.M)
if not blocks:
    sys.exit("try-readme: the 'Try it' section has no sh block")
for block in blocks:
    print(re.sub(r"\\\n\s*", "", block).strip())
PY
)
[ -n "$commands" ] || exit 1
rm -rf out/try
count=0
while IFS= read -r cmd; do
  [ -n "$cmd" ] || continue
  if [[ $cmd == "cargo build"* ]] && [ -x target/release/dasp ]; then
    echo "try-readme: skip (built): $cmd" >&2
    continue
  fi
  echo "try-readme: \$ $cmd" >&2
  bash -c "$cmd" >/dev/null || { echo "try-readme: FAILED: $cmd" >&2; exit 1; }
  count=$((count + 1))
done <<< "$commands"
# What the commands were meant to produce.
test -s out/try/response.json
find out/try/s3/das -type f | grep -q .
test -s out/try/kms/response.json
find out/try/kms/s3/das -type f | grep -q .
echo "try-readme: $count README commands ran" >&2

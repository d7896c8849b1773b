#!/usr/bin/env bash
# Whole `dasp transform` runs (the Lambda's handler) on a ~1 MB batch of 500 Aurora MySQL records
# (suite 0x0378, ECDSA P-384, one event each), with 1 and then 2 worker threads, best of 5, twice.
# Needs the KMS emulator and a release build:
#   make build && scripts/with-moto.sh scripts/bench-threads.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d -t dasp-threads.XXXXXX)
.venv/bin/python samples/das_stream.py --out-dir $out --engines mysql --records 500 --batch-size 500 \
  --seed 1 --start 2026-01-01T10:00:00 --events-per-record 1 >/dev/null
ev=$out/events/mysql-1.json
ls -la $ev | awk '{print "batch bytes:", $5}'
for threads in 1 2 1 2; do
  best=999
  for i in 1 2 3 4 5; do
    s=$(date +%s.%N)
    RAYON_NUM_THREADS=$threads target/release/dasp transform --event $ev --out $out/response.json 2>$out/stderr
    e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc)
    best=$(echo "if ($t < $best) $t else $best" | bc)
  done
  echo "threads=$threads best_of_5=${best}s $(tail -1 $out/stderr)"
done

#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) for FUZZ_SECONDS each on its seed corpus
# (fuzz/seeds.py), then prints one line per target: executions, executions per second, the
# coverage libFuzzer reached (edges "cov", features "ft") and the corpus size. Any crash, hang
# (an input over FUZZ_TIMEOUT seconds) or memory blow-up (over FUZZ_RSS_MB) fails the run and
# leaves the input in fuzz/artifacts/<target>/. FUZZ_TARGETS picks targets (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
timeout=${FUZZ_TIMEOUT:-10}
rss=${FUZZ_RSS_MB:-2048}
bin=fuzz/target/x86_64-unknown-linux-gnu/release
targets=${FUZZ_TARGETS:-$(cd fuzz/fuzz_targets && ls -- *.rs | sed 's/\.rs$//')}

# Inputs of the whole-record and handler targets hold Firehose batches of ~100 KB.
max_len() {
    case $1 in
        record | handler | esdk_message) echo 262144 ;;
        *) echo 65536 ;;
    esac
}

summary=()
failed=0
for target in $targets; do
    mkdir -p "fuzz/artifacts/$target" "fuzz/corpus/$target"
    log="fuzz/artifacts/$target/last-run.log"
    echo "fuzz: $target for ${seconds}s" >&2
    # Committed regression inputs (every past finding) run first, then the fuzzing.
    if compgen -G "fuzz/regressions/$target/*" > /dev/null; then
        "$bin/$target" -runs=0 "fuzz/regressions/$target"/* > "$log.regressions" 2>&1 ||
            { cat "$log.regressions" >&2; echo "fuzz: $target: a regression input fails again" >&2; failed=1; }
    fi
    if ! "$bin/$target" "fuzz/corpus/$target" -max_total_time="$seconds" -timeout="$timeout" \
        -rss_limit_mb="$rss" -max_len="$(max_len "$target")" -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$target/" > "$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "fuzz: $target FAILED (input saved under fuzz/artifacts/$target/)" >&2
        failed=1
        continue
    fi
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<< "$last")
    peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    # Every instrumented edge of the target's binary (the crate and its dependencies).
    edges=$(sed -n 's/^INFO: Loaded 1 modules *(\([0-9]*\) inline 8-bit counters.*/\1/p' "$log" | head -n 1)
    share=$(awk -v c="${cov:-0}" -v e="${edges:-0}" 'BEGIN { if (e > 0) printf "%.0f%%", 100 * c / e; else print "?" }')
    summary+=("$(printf '%-15s %10s runs %8s exec/s  cov %6s of %6s edges (%4s)  ft %6s  corpus %5s  peak %5s MB' \
        "$target" "$runs" "$rate" "$cov" "$edges" "$share" "$ft" "$corp" "$peak")")
done

echo "fuzz-smoke: ${seconds}s per target, $(nproc) CPUs"
printf '%s\n' "${summary[@]}"
exit $failed

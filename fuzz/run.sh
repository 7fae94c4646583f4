#!/usr/bin/env bash
# Fuzzes one target (or every target) for SECONDS each, or until RUNS executions, with
# libFuzzer (cargo-fuzz, nightly), growing fuzz/corpus/TARGET from it and from the seeds
# (fuzz/seed-corpus.py). Crashes land in fuzz/artifacts/TARGET/; libFuzzer's final statistics
# (executions, time) end its output.
#   fuzz/run.sh [TARGET|all] [SECONDS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")"
target=${1:-all}
seconds=${2:-600}
runs=${3:--1}
[ -d seeds ] || python3 seed-corpus.py
targets=$target
[ "$target" = all ] && targets=$(cargo +nightly fuzz list)
for t in $targets; do
    mkdir -p "corpus/$t"
    echo "== $t: ${seconds}s"
    # -rss_limit_mb: the targets cap inflation at 1 MiB, so anything near 2 GB is a finding.
    cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done

#!/bin/sh
# Run every libFuzzer target in BUILD_DIR (default build-fuzz) for SECONDS each
# (default 20), seeded from tests/fuzz/corpus/NAME when present. Fails on the
# first crash, leak or timeout, leaving the reproducer in tests/fuzz/corpus-run/.
set -eu
BUILD_DIR=$(cd "${1:-build-fuzz}" && pwd)
SECONDS_EACH=${FUZZ_SECONDS:-20}
top=$(cd "$(dirname "$0")/.." && pwd)
run="$top/tests/fuzz/corpus-run"
mkdir -p "$run"
n=0
for f in "$BUILD_DIR"/tests/fuzz_*; do
    [ -f "$f" ] && [ -x "$f" ] || continue
    name=$(basename "$f" | sed 's/^fuzz_//')
    mkdir -p "$run/$name"
    seeds="$top/tests/fuzz/corpus/$name"
    [ -d "$seeds" ] || seeds=""
    echo "fuzz: $name for ${SECONDS_EACH}s"
    (cd "$run" && "$f" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=0 "$run/$name" $seeds >"$run/$name.log" 2>&1) || {
        echo "fuzz: $name FAILED; log follows" >&2
        tail -n 60 "$run/$name.log" >&2
        exit 1
    }
    n=$((n + 1))
done
echo "fuzz: $n targets ran clean"

#!/bin/sh
# Runs every built libFuzzer target for FUZZ_SECONDS (default 60) with its own
# corpus directory (kept between runs under build/fuzz/corpus/) and the seeds
# in test/fuzz/seeds/<target>/ when present.  Exits non-zero if any target
# found a crash, a leak or a timeout; the reproducer is left in build/fuzz/.
set -u
dir=$(cd "${1:?usage: run.sh FUZZDIR}" && pwd)
secs=${FUZZ_SECONDS:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
status=0
for t in "$dir"/fuzz_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    corpus=$dir/corpus/$name
    mkdir -p "$corpus"
    seeds=$top/test/fuzz/seeds/$name
    [ -d "$seeds" ] || seeds=
    printf 'fuzz %-24s %ss ... ' "$name" "$secs"
    if (cd "$dir" && "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 "$corpus" $seeds >"$dir/$name.log" 2>&1); then
        echo "ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$dir/$name.log" | grep -o '[0-9]*$') runs)"
    else
        echo "FAILED: see $dir/$name.log"
        grep -E 'ERROR|SUMMARY|Test unit written' "$dir/$name.log" | head -5
        status=1
    fi
done
exit $status

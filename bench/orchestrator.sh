#!/bin/bash
# bench/orchestrator.sh: the orchestrator under load on loopback (driver:
# bench/orch_bench.py, Python's ssl as the client).  Idle mutual-TLS
# connections held open with the orchestrator's RSS from /proc, enrollments
# per second, acknowledged (fsync'd) events per second, job dispatch latency
# (admin submit -> the agent's parked long-poll returns).  Prints a markdown
# table with the machine and writes bench/results-orchestrator.md.  Never a
# test: nothing is asserted.  Bounded: about 4 minutes.
#
# The full run uses orchestrator.workers=auto (one event loop per CPU); a
# second, shorter run with workers=1 (BENCH_COMPARE_IDLE idle connections)
# gives the one-loop figures next to it, so the effect of the loops shows.
#
#   BUILD=build bench/orchestrator.sh
#
# Environment: BUILD (default build), BENCH_IDLE_CONNS (default 10000),
# BENCH_SECONDS (per throughput phase, default 8), BENCH_COMPARE_IDLE
# (idle connections of the workers=1 run, default 2000; 0 = no such run).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
STAVILY=$BUILD/stavily
if [ ! -x "$STAVILY" ]; then
    echo "bench/orchestrator.sh: $STAVILY missing (make BUILD=... first)" >&2
    exit 0
fi
idle=${BENCH_IDLE_CONNS:-10000}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
# the client holds every connection too, and the server needs one fd each:
# raise the soft limit to the hard one (the orchestrator inherits it)
want=$((idle * 2 + 1000))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
    ulimit -Hn "$want" 2>/dev/null && hard=$want
fi
if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then ulimit -n "$want"; else ulimit -n "$hard"; fi
if [ "$(ulimit -n)" -lt $((idle + 500)) ]; then
    idle=$(( $(ulimit -n) - 500 ))
    echo "# descriptor limit $(ulimit -n): idle connections lowered to $idle" >&2
fi

json=$(STAVILY=$STAVILY BENCH_IDLE_CONNS=$idle BENCH_WORKERS=auto timeout 300 python3 "$top/bench/orch_bench.py")
if [ -z "$json" ]; then
    echo "bench/orchestrator.sh: driver produced nothing" >&2
    exit 1
fi
if echo "$json" | jq -e '.error' >/dev/null 2>&1; then
    echo "bench/orchestrator.sh: driver error: $(echo "$json" | jq -r .error)" >&2
fi
cmp_idle=${BENCH_COMPARE_IDLE:-2000}
json1=
if [ "$cmp_idle" -gt 0 ]; then
    json1=$(STAVILY=$STAVILY BENCH_IDLE_CONNS=$cmp_idle BENCH_WORKERS=1 timeout 300 python3 "$top/bench/orch_bench.py")
    if echo "$json1" | jq -e '.error' >/dev/null 2>&1; then
        echo "bench/orchestrator.sh: driver error (workers=1): $(echo "$json1" | jq -r .error)" >&2
    fi
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
machine="$(nproc) x $cpu, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), load average before the run $load0"
fs=$(df -T /tmp | awk 'NR==2 {print $2}')
j() { echo "$json" | jq -r "$1"; }
j1() { if [ -n "$json1" ]; then echo "$json1" | jq -r "$1"; else echo "-"; fi; }
workers=$(j .workers)
per_loop=$(echo "$json" | jq -r '[.loops[]? | "\(.accepted)/\(.requests)"] | join(", ")')
mib() { awk -v k="$1" 'BEGIN { if (k == "null" || k == "") print "?"; else printf "%.1f", k / 1024 }'; }

table=$(cat <<EOF
| Measure (workers=$workers) | Result | Notes |
|---|---|---|
| Event loops (orchestrator.workers=auto) | $workers | per loop, connections accepted / requests answered: $per_loop |
| Idle mutual-TLS connections held | $(j .idle.alive) of $(j .idle.target) (opened $(j .idle.opened), failed $(j .idle.failures)) | opened in $(j .idle.open_seconds) s = $(j .idle.handshakes_per_second) full handshakes/s, 4 client threads |
| Orchestrator RSS with them open | $(mib "$(j .idle.rss_kib)") MiB (peak $(mib "$(j .idle.hwm_kib)") MiB; $(mib "$(j .rss_start_kib)") MiB at start) | $(j .idle.kib_per_conn) KiB per connection; target 10,000 within 512 MiB |
| Enrollments per second | $(j .enroll.per_second) | $(j .enroll.ok) in $(j .enroll.seconds) s, $(j .enroll.clients) clients, keep-alive; errors $(j .enroll.errors) |
| Acknowledged events per second, batch 1 | $(j .events_batch_1.per_second) | $(j .events_batch_1.agents) agents, fsync before each 200; errors $(j .events_batch_1.errors) |
| Acknowledged events per second, batch 100 | $(j .events_batch_100.per_second) | $(j .events_batch_100.agents) agents, fsync before each 200; errors $(j .events_batch_100.errors) |
| Job dispatch latency p50 / p95 / max | $(j .dispatch.p50_ms) / $(j .dispatch.p95_ms) / $(j .dispatch.max_ms) ms | $(j .dispatch.rounds) jobs: admin-socket submit -> parked long-poll returns |
EOF
)

cmp_table=
if [ -n "$json1" ]; then
    cmp_table=$(cat <<EOF
| Measure | workers=1 | workers=$workers |
|---|---|---|
| Full TLS handshakes per second, 4 openssl s_time clients (enroll listener) | $(j1 .handshakes.per_second) | $(j .handshakes.per_second) |
| ... orchestrator CPU meanwhile, per thread (s) | $(j1 '.handshakes.server_cpu_seconds_per_thread | join(", ")') = $(j1 .handshakes.server_cpu_percent) % | $(j '.handshakes.server_cpu_seconds_per_thread | join(", ")') = $(j .handshakes.server_cpu_percent) % |
| Full mutual-TLS handshakes per second, 4 Python client threads | $(j1 .idle.handshakes_per_second) ($(j1 .idle.opened) connections) | $(j .idle.handshakes_per_second) ($(j .idle.opened) connections) |
| Enrollments per second | $(j1 .enroll.per_second) | $(j .enroll.per_second) |
| Acknowledged events per second, batch 1 | $(j1 .events_batch_1.per_second) | $(j .events_batch_1.per_second) |
| Acknowledged events per second, batch 100 | $(j1 .events_batch_100.per_second) | $(j .events_batch_100.per_second) |
| Job dispatch latency p50 / p95 ms | $(j1 .dispatch.p50_ms) / $(j1 .dispatch.p95_ms) | $(j .dispatch.p50_ms) / $(j .dispatch.p95_ms) |
EOF
)
fi

{
    echo "# Orchestrator benchmark"
    echo
    echo "Machine: $machine; state directory on $fs. Run $(date -u +%Y-%m-%dT%H:%MZ) by bench/orchestrator.sh"
    echo "(client: Python $(python3 -c 'import sys; print(sys.version.split()[0])') ssl on the same machine, so client and"
    echo "server share the 2 cores; figures are indicative, never asserted)."
    echo
    echo "$table"
    echo
    if [ -n "$cmp_table" ]; then
        echo "One event loop against one per CPU (a second, shorter run with orchestrator.workers=1,"
        echo "right after the first: compare the two columns, not with runs on a machine under another"
        echo "load; the CPU row shows whether the handshakes were spread over the loops' threads):"
        echo
        echo "$cmp_table"
        echo
    fi
    echo "Raw: \`$json\`"
    [ -n "$json1" ] && echo && echo "Raw (workers=1): \`$json1\`"
} >"$top/bench/results-orchestrator.md"
echo "Machine: $machine"
echo "$table"
[ -n "$cmp_table" ] && echo && echo "$cmp_table"
true

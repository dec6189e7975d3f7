#!/bin/bash
# bench/orchestrator.sh: the orchestrator under load on loopback (driver:
# bench/orch_bench.py, Python's ssl as the client).  Idle mutual-TLS
# connections held open with the orchestrator's RSS from /proc, enrollments
# per second, acknowledged (fsync'd) events per second, job dispatch latency
# (admin submit -> the agent's parked long-poll returns).  Prints a markdown
# table with the machine and writes bench/results-orchestrator.md.  Never a
# test: nothing is asserted.  Bounded: about 2 minutes.
#
#   BUILD=build bench/orchestrator.sh
#
# Environment: BUILD (default build), BENCH_IDLE_CONNS (default 10000),
# BENCH_SECONDS (per throughput phase, default 8).
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

json=$(STAVILY=$STAVILY BENCH_IDLE_CONNS=$idle timeout 300 python3 "$top/bench/orch_bench.py")
if [ -z "$json" ]; then
    echo "bench/orchestrator.sh: driver produced nothing" >&2
    exit 1
fi
if echo "$json" | jq -e '.error' >/dev/null 2>&1; then
    echo "bench/orchestrator.sh: driver error: $(echo "$json" | jq -r .error)" >&2
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
machine="$(nproc) x $cpu, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
fs=$(df -T /tmp | awk 'NR==2 {print $2}')
j() { echo "$json" | jq -r "$1"; }
mib() { awk -v k="$1" 'BEGIN { if (k == "null" || k == "") print "?"; else printf "%.1f", k / 1024 }'; }

table=$(cat <<EOF
| Measure | Result | Notes |
|---|---|---|
| Idle mutual-TLS connections held | $(j .idle.alive) of $(j .idle.target) (opened $(j .idle.opened), failed $(j .idle.failures)) | opened in $(j .idle.open_seconds) s = $(j .idle.handshakes_per_second) full handshakes/s, 4 client threads |
| Orchestrator RSS with them open | $(mib "$(j .idle.rss_kib)") MiB (peak $(mib "$(j .idle.hwm_kib)") MiB; $(mib "$(j .rss_start_kib)") MiB at start) | $(j .idle.kib_per_conn) KiB per connection; target 10,000 within 512 MiB |
| Enrollments per second | $(j .enroll.per_second) | $(j .enroll.ok) in $(j .enroll.seconds) s, $(j .enroll.clients) clients, keep-alive; errors $(j .enroll.errors) |
| Acknowledged events per second, batch 1 | $(j .events_batch_1.per_second) | $(j .events_batch_1.agents) agents, fsync before each 200; errors $(j .events_batch_1.errors) |
| Acknowledged events per second, batch 100 | $(j .events_batch_100.per_second) | $(j .events_batch_100.agents) agents, fsync before each 200; errors $(j .events_batch_100.errors) |
| Job dispatch latency p50 / p95 / max | $(j .dispatch.p50_ms) / $(j .dispatch.p95_ms) / $(j .dispatch.max_ms) ms | $(j .dispatch.rounds) jobs: admin-socket submit -> parked long-poll returns |
EOF
)

{
    echo "# Orchestrator benchmark"
    echo
    echo "Machine: $machine; state directory on $fs. Run $(date -u +%Y-%m-%dT%H:%MZ) by bench/orchestrator.sh"
    echo "(client: Python $(python3 -c 'import sys; print(sys.version.split()[0])') ssl on the same machine, so client and"
    echo "server share the 2 cores; figures are indicative, never asserted)."
    echo
    echo "$table"
    echo
    echo "Raw: \`$json\`"
} >"$top/bench/results-orchestrator.md"
echo "Machine: $machine"
echo "$table"

# Resource limits of `stavily sandbox run` (issue 3): memory, CPU share, wall
# time, output, file size, processes, descriptors.  Each limit hit must stop
# the plugin AND emit resource_limit_exceeded naming the limit, as root and
# unprivileged.  These runs use the denylist policy (`allowed_syscalls=`) so
# that the limit under test, not the brief's syscall allowlist, is what stops
# the plugin; the brief's limits themselves (256MB, cpu 0.5, 1MB output, 64
# descriptors) are the defaults being tested.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_sandbox.sh"

WT="--set wall_timeout=10s"

limit_ok() { # WHO LABEL LIMIT: the event and the result's limits_hit
    if ev_has "$SB_EV" "$(ev_limit "$3")"; then ok "$2: resource_limit_exceeded $3 [$1]"
    else fail "$2: resource_limit_exceeded $3 [$1]" "$(sb_context)"; fi
    if json_true "$SB_RES" ".limits_hit | any(.[]; . == \"$3\")"; then ok "$2: result limits_hit has $3 [$1]"
    else fail "$2: result limits_hit has $3 [$1]" "$(head -c 400 "$SB_RES" 2>/dev/null)"; fi
}

for who in root nobody; do
    # memory: 300MB under the default 256MB fails, 200MB works
    sb_run "$who" mem300 $DENYLIST $WT -- "$HOSTILE" alloc 300
    if ! grep -q 'allocated and touched' "$SB_OUT" && { [ "$SB_RC" = 5 ] || [ "$SB_RC" -gt 128 ]; }; then
        ok "memory: touching 300MB under 256MB fails [$who]"
    else fail "memory: touching 300MB under 256MB fails [$who]" "$(sb_context)"; fi
    limit_ok "$who" "memory 300MB" memory
    sb_run "$who" mem200 $DENYLIST $WT -- "$HOSTILE" alloc 200
    if [ "$SB_RC" = 0 ] && grep -q '^alloc: 200 MB allocated and touched' "$SB_OUT"; then ok "memory: 200MB under 256MB works [$who]"
    else fail "memory: 200MB under 256MB works [$who]" "$(sb_context)"; fi
    # the same, under the brief's own allowlist (mmap must be part of @default)
    sb_run "$who" mem200-default $WT -- "$HOSTILE" alloc 200
    if [ "$SB_RC" = 0 ] && grep -q '^alloc: 200 MB allocated and touched' "$SB_OUT"; then ok "memory: 200MB works under the brief's allowlist too [$who]"
    else fail "memory: 200MB works under the brief's allowlist too [$who]" "$(sb_context)"; fi

    # wall time: a spinning plugin is ended at wall_timeout
    sb_run "$who" wall $DENYLIST --set wall_timeout=1s -- "$HOSTILE" spin
    w=$(res_get "$SB_RES" .wall_ms)
    if [ "$SB_RC" -gt 128 ] && [ "$w" != missing ] && [ "${w%.*}" -ge 900 ] 2>/dev/null && [ "${w%.*}" -le 5000 ]; then
        ok "wall_timeout=1s ends a spinning plugin (wall ${w}ms) [$who]"
    else fail "wall_timeout=1s ends a spinning plugin [$who]" "wall_ms=$w;$(sb_context)"; fi
    limit_ok "$who" "wall_timeout" wall_time

    # output: flooding stdout past max_output
    sb_run "$who" flood $DENYLIST --set max_output=64KB $WT -- "$HOSTILE" flood 16
    n=$(wc -c <"$SB_OUT")
    if [ "$n" -le 65536 ] && [ "$n" -gt 0 ] && ! grep -q 'wrote everything' "$SB_ERR"; then
        ok "max_output=64KB: at most 64KB relayed, flood stopped ($n bytes) [$who]"
    else fail "max_output=64KB: at most 64KB relayed, flood stopped [$who]" "$n bytes relayed;$(sb_context)"; fi
    limit_ok "$who" "max_output" output

    # file size: writing past max_file_size
    sb_run "$who" fsize $DENYLIST --set max_file_size=1MB $WT -- "$HOSTILE" bigfile 4 "/tmp/sb-bigfile-$who"
    rm -f "/tmp/sb-bigfile-$who"   # left behind when SIGXFSZ ends the plugin (no private /tmp)
    if ! grep -q '^bigfile: wrote' "$SB_OUT" && { [ "$SB_RC" = 5 ] || [ "$SB_RC" = 153 ]; }; then
        ok "max_file_size=1MB: a 4MB file is cut off (EFBIG or SIGXFSZ) [$who]"
    else fail "max_file_size=1MB: a 4MB file is cut off (EFBIG or SIGXFSZ) [$who]" "$(sb_context)"; fi
    limit_ok "$who" "max_file_size" file_size

    # processes: a fork bomb under a policy that allows fork
    sb_run "$who" forkbomb $DENYLIST --set blocked_syscalls=exec,socket,bind --set max_processes=16 $WT -- "$HOSTILE" forkbomb
    n=$(sed -n 's/^forkbomb: \([0-9]*\) processes created, then .*/\1/p' "$SB_OUT")
    if [ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -le 16 ]; then ok "max_processes=16: fork bomb stopped after $n forks, fork itself allowed [$who]"
    elif [ -z "$n" ] && [ "$SB_RC" -gt 128 ] && ! grep -q 'never stopped' "$SB_OUT"; then ok "max_processes=16: fork bomb killed [$who]"
    else fail "max_processes=16: fork bomb stopped [$who]" "forks=$n;$(sb_context)"; fi
    limit_ok "$who" "max_processes" processes

    # descriptors: dup until failure under the default max_open_files 64
    sb_run "$who" fds $DENYLIST $WT -- "$HOSTILE" fds
    n=$(sed -n 's/^fds: \([0-9]*\) descriptors opened, then EMFILE/\1/p' "$SB_OUT")
    if [ -n "$n" ] && [ "$n" -le 61 ] && [ "$n" -ge 1 ]; then ok "max_open_files=64: EMFILE after $n descriptors [$who]"
    else fail "max_open_files=64: EMFILE after <= 61 descriptors [$who]" "n=$n;$(sb_context)"; fi
    limit_ok "$who" "max_open_files" open_files

    # CPU share: a spinning plugin under the default cpu_limit 0.5 over 4 s
    sb_run "$who" cpu $DENYLIST --set wall_timeout=4s -- "$HOSTILE" spin
    c=$(res_get "$SB_RES" .cpu_ms); w=$(res_get "$SB_RES" .wall_ms)
    share=$(awk -v c="$c" -v w="$w" 'BEGIN { if (w + 0 > 0) printf "%.3f", c / w; else print "none" }')
    if [ "$w" != missing ] && awk -v c="$c" -v w="$w" 'BEGIN { exit !(w >= 3000 && c / w >= 0.45 && c / w <= 0.55) }'; then
        ok "cpu_limit=0.5: spinning plugin used $share of a core over ${w}ms [$who]"
    else fail "cpu_limit=0.5: spinning plugin uses 0.45..0.55 of a core over >= 3s [$who]" "cpu_ms=$c wall_ms=$w share=$share;$(sb_context)"; fi
    m=$(res_get "$SB_RES" .layers.cpu_limit_method)
    if [ "$m" = duty_cycle ] || [ "$m" = cgroup ]; then ok "cpu_limit_method reported ($m) [$who]"
    else fail "cpu_limit_method reported [$who]" "cpu_limit_method=$m"; fi
done

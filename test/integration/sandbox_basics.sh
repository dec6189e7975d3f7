# `stavily sandbox probe` and `stavily sandbox run` basics (issue 3): the
# probe tells the truth on this machine, the plugin's view of its own
# confinement (capabilities, no_new_privs, seccomp, descriptors, environment),
# well-behaved plugins still work, the result JSON, and the exit statuses.
# Everything as root and as an unprivileged user.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_sandbox.sh"

WT="--set wall_timeout=5s"
export STAVILY_SB_CANARY="canary-$$-do-not-leak"

# The kernel's own answer: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
abi=$(python3 -c 'import ctypes, os; l = ctypes.CDLL(None, use_errno=True); r = l.syscall(444, None, 0, 1); print(r if r > 0 else 0)')

for who in root nobody; do
    # --- probe ------------------------------------------------------------------
    if [ $who = root ]; then "$STAVILY" sandbox probe >"$TMP/probe.$who" 2>"$TMP/probe.$who.err"; rc=$?
    else as_nobody "$STAVILY" sandbox probe >"$TMP/probe.$who" 2>"$TMP/probe.$who.err"; rc=$?; fi
    pf=$TMP/probe.$who
    if [ $rc = 0 ] && json_true "$pf" 'type == "object"'; then ok "probe: exit 0, one JSON object [$who]"
    else fail "probe: exit 0, one JSON object [$who]" "rc=$rc $(head -c 300 "$pf") $(head -c 200 "$pf.err")"; fi
    for k in seccomp seccomp_user_notif user_namespaces namespaces no_new_privs root; do
        if json_true "$pf" ".$k | type == \"boolean\""; then ok "probe: $k is a boolean [$who]"
        else fail "probe: $k is a boolean [$who]" "$(head -c 300 "$pf")"; fi
    done
    if json_true "$pf" '(.cgroup_v2 | type) == "object" and (.cgroup_v2.mounted | type) == "boolean" and (.cgroup_v2.writable | type) == "boolean" and (.cgroup_v2.controllers | type) == "array"'
    then ok "probe: cgroup_v2 {mounted, writable, controllers} [$who]"
    else fail "probe: cgroup_v2 {mounted, writable, controllers} [$who]" "$(head -c 300 "$pf")"; fi
    # the truth on this machine (kernel 6.18: seccomp with user notification,
    # Landlock ABI 7, user namespaces; hybrid cgroups without cpu/memory)
    for k in seccomp seccomp_user_notif no_new_privs user_namespaces; do
        if json_true "$pf" ".$k == true"; then ok "probe: $k true on this machine [$who]"
        else fail "probe: $k true on this machine [$who]" "$(head -c 300 "$pf")"; fi
    done
    if json_true "$pf" '.landlock_abi | type == "number" and . >= 1' &&
       [ "$(jq '.landlock_abi' "$pf")" = "$abi" ]; then ok "probe: landlock_abi = $abi [$who]"
    else fail "probe: landlock_abi = $abi [$who]" "$(head -c 300 "$pf")"; fi
    if [ $who = root ]; then want=true; else want=false; fi
    if json_true "$pf" ".root == $want"; then ok "probe: root == $want [$who]"
    else fail "probe: root == $want [$who]" "$(head -c 300 "$pf")"; fi
    if json_true "$pf" '.cgroup_v2.controllers | all(.[]; . != "cpu" and . != "memory")' ||
       json_true "$pf" '.cgroup_v2.writable == false'; then
        ok "probe: no usable cpu/memory cgroup here [$who]"
    else fail "probe: no usable cpu/memory cgroup here [$who]" "$(head -c 300 "$pf")"; fi

    # --- the plugin's own view ------------------------------------------------------
    # denylist policy: the reporter needs capget/prctl/fcntl, outside the brief's allowlist
    # the caller's HOME/SHELL/TERM/LANG get values no sandbox would pick itself
    (export HOME=/canary-home SHELL=/canary/sh TERM=canary-term LANG=xx_CANARY.UTF-8
     sb_run "$who" status $DENYLIST $WT -- "$PLUGINS/status"; echo "$SB_RC" >"$TMP/$who/status.rc")
    SB_OUT=$TMP/$who/status.out; SB_ERR=$TMP/$who/status.err; SB_EV=$TMP/$who/status.ev; SB_RES=$TMP/$who/status.res
    SB_RC=$(cat "$TMP/$who/status.rc")
    s=$SB_OUT
    if [ "$SB_RC" = 0 ]; then ok "status reporter runs [$who]"; else fail "status reporter runs [$who]" "$(sb_context)"; fi
    for c in CapEff CapPrm CapBnd CapAmb; do
        check_grep "$c is 0 inside the sandbox [$who]" "^$c:[[:space:]]+0000000000000000\$" "$s"
    done
    check_grep "NoNewPrivs is 1 [$who]" '^NoNewPrivs:[[:space:]]+1$' "$s"
    check_grep "Seccomp is 2 (filter) [$who]" '^Seccomp:[[:space:]]+2$' "$s"
    if [ $who = root ]; then
        # started as root: the plugin runs as `user` (default 65534:65534), no supplementary group
        if grep -qx 'uid: 65534 65534 65534' "$s" && grep -qx 'gid: 65534 65534 65534' "$s" && grep -qx 'groups: 0' "$s"; then
            ok "started as root: plugin runs as 65534:65534 without supplementary groups"
        else fail "started as root: plugin runs as 65534:65534 without supplementary groups" "$(grep -E '^(uid|gid|groups):' "$s" | tr '\n' ' ')"; fi
    elif grep -qx 'groups: 0' "$s"; then ok "no supplementary groups [$who]"
    else fail "no supplementary groups [$who]" "$(grep -E '^groups:' "$s")"; fi
    fds=$(grep '^fd: ' "$s" | tr '\n' ' ')
    if [ "$fds" = "fd: 0 fd: 1 fd: 2 " ]; then ok "only descriptors 0-2 are open [$who]"
    else fail "only descriptors 0-2 are open [$who]" "open: $fds"; fi
    if grep -Eq "canary-$$|^env: (STAVILY|PLUGINS|STAVILY_TOP|STAVILY_SB_CANARY)=" "$s"; then
        fail "no variable of the parent's environment leaks [$who]" "$(grep '^env: ' "$s" | head -c 400)"
    elif [ "$SB_RC" = 0 ]; then ok "no variable of the parent's environment leaks [$who]"
    else fail "no variable of the parent's environment leaks [$who]" "reporter did not run"; fi
    # HOME, SHELL, TERM, LANG of the caller are not passed either: the plugin gets a minimal environment
    leaked=$(grep -E 'canary-home|/canary/sh|canary-term|xx_CANARY' "$s" | tr '\n' ' ')
    if [ -z "$leaked" ] && [ "$SB_RC" = 0 ]; then ok "caller's HOME/SHELL/TERM/LANG not passed [$who]"
    else fail "caller's HOME/SHELL/TERM/LANG not passed [$who]" "leaked: $leaked"; fi

    # --- well-behaved plugins -----------------------------------------------------------
    printf 'input for the well-behaved plugin\n' >"$TMP/in.$who"
    SB_STDIN=$TMP/in.$who sb_run "$who" good $WT -- "$PLUGINS/good"
    if [ "$SB_RC" = 0 ] && json_true "$SB_OUT" '.ok == true and .bytes == 34'; then
        ok "well-behaved static plugin reads stdin and writes /tmp under the default policy [$who]"
    else fail "well-behaved static plugin reads stdin and writes /tmp under the default policy [$who]" "$(sb_context)"; fi
    rm -f /tmp/good-plugin.out   # left on the host when the run had no private /tmp
    if [ "$SB_RC" = 0 ] && [ "$(ev_count "$SB_EV" 'true')" = 0 ]; then ok "well-behaved plugin: no event [$who]"
    else fail "well-behaved plugin: no event [$who]" "$(head -c 400 "$SB_EV")"; fi

    SHPOL="--set filesystem_access=/tmp,/bin:ro,/usr:ro,/lib:ro,/lib64:ro --set allowed_syscalls= --set blocked_syscalls=socket,bind"
    # shellcheck disable=SC2086
    sb_run "$who" sh $SHPOL $WT -- /bin/sh -c 'echo hello-from-sh; echo data-$$ >/tmp/sh-test && cat /tmp/sh-test && rm /tmp/sh-test'
    if [ "$SB_RC" = 0 ] && grep -qx 'hello-from-sh' "$SB_OUT" && grep -Eqx 'data-[0-9]+' "$SB_OUT"; then
        ok "/bin/sh -c under /bin:ro,/usr:ro,/lib:ro works [$who]"
    else fail "/bin/sh -c under /bin:ro,/usr:ro,/lib:ro works [$who]" "$(sb_context)"; fi
    printf '#!/bin/sh\necho "script args: $*"\nls /bin/sh && echo ls-ok\n' >"$TMP/script-$who.sh"
    chmod 755 "$TMP/script-$who.sh"
    # shellcheck disable=SC2086
    sb_run "$who" script $SHPOL $WT -- "$TMP/script-$who.sh" a b
    if [ "$SB_RC" = 0 ] && grep -qx 'script args: a b' "$SB_OUT" && grep -qx 'ls-ok' "$SB_OUT"; then
        ok "a /bin/sh script file under /bin:ro,/usr:ro,/lib:ro works [$who]"
    else fail "a /bin/sh script file under /bin:ro,/usr:ro,/lib:ro works [$who]" "$(sb_context)"; fi
    # the same script must not read outside its policy
    # shellcheck disable=SC2086
    sb_run "$who" sh-out $SHPOL $WT -- /bin/sh -c "echo started; cat $OUTSIDE/secret"
    if [ "$SB_RC" != 0 ] && grep -qx started "$SB_OUT" && ! grep -q secret-outside-data "$SB_OUT"; then ok "/bin/sh cannot cat outside its policy [$who]"
    else fail "/bin/sh cannot cat outside its policy [$who]" "$(sb_context)"; fi

    # --- result JSON -----------------------------------------------------------------------
    sb_run "$who" hello $WT -- "$PLUGINS/hello"
    if [ "$SB_RC" = 0 ] && grep -qx hello "$SB_OUT"; then ok "hello runs under the default policy [$who]"
    else fail "hello runs under the default policy [$who]" "$(sb_context)"; fi
    r=$SB_RES
    if json_true "$r" '.exit_code == 0 and .signal == null and (.wall_ms | type) == "number" and (.cpu_ms | type) == "number" and (.peak_rss_kb | type) == "number" and (.limits_hit | type) == "array" and .violations == 0'
    then ok "result: exit_code 0, signal null, wall/cpu/rss numbers, no limit, no violation [$who]"
    else fail "result: exit_code 0, signal null, wall/cpu/rss numbers, no limit, no violation [$who]" "$(head -c 600 "$r" 2>/dev/null)"; fi
    if json_true "$r" '.layers.seccomp == true and .layers.seccomp_user_notif == true and .layers.landlock >= 1 and .layers.no_new_privs == true and .layers.capabilities_dropped == true and .layers.rlimits == true and (.layers.namespaces | type) == "array" and (.layers.cgroup | type) == "boolean" and (.layers.cpu_limit_method | IN("cgroup", "duty_cycle"))'
    then ok "result: layers seccomp+notif, landlock, nnp, caps, rlimits, cpu method [$who]"
    else fail "result: layers seccomp+notif, landlock, nnp, caps, rlimits, cpu method [$who]" "$(head -c 600 "$r" 2>/dev/null)"; fi
    if [ $who = root ]; then
        # root can always build namespaces; net must be among them (restricted = loopback only)
        if json_true "$r" '.layers.namespaces | any(.[]; . == "net") and any(.[]; . == "mnt" or . == "mount") and any(.[]; . == "pid")'
        then ok "result: namespaces mount, pid, net applied as root (namespaces auto)"
        else fail "result: namespaces mount, pid, net applied as root (namespaces auto)" "$(jq -c .layers "$r" 2>/dev/null)"; fi
    fi
    sb_run "$who" hello-nons --set namespaces=off $WT -- "$PLUGINS/hello"
    if [ "$SB_RC" = 0 ] && json_true "$SB_RES" '.layers.namespaces == [] and .layers.landlock >= 1 and .layers.seccomp == true'
    then ok "namespaces=off: runs on Landlock + seccomp, result lists no namespace [$who]"
    else fail "namespaces=off: runs on Landlock + seccomp, result lists no namespace [$who]" "$(sb_context) $(head -c 300 "$SB_RES" 2>/dev/null)"; fi

    # --- exit statuses ------------------------------------------------------------------------
    sb_run "$who" exit42 $WT -- "$HOSTILE" exit 42
    if [ "$SB_RC" = 42 ] && json_true "$SB_RES" '.exit_code == 42'; then ok "exit status of the program passed through (42) [$who]"
    else fail "exit status of the program passed through (42) [$who]" "$(sb_context)"; fi
    sb_run "$who" segv $DENYLIST $WT -- "$HOSTILE" segv
    if [ "$SB_RC" = 139 ] && json_true "$SB_RES" '.signal == 11 and .exit_code == null'; then ok "killed by SIGSEGV: 128+11, result signal 11 [$who]"
    else fail "killed by SIGSEGV: 128+11, result signal 11 [$who]" "$(sb_context) $(head -c 200 "$SB_RES" 2>/dev/null)"; fi
    sb_run "$who" notfound $WT -- "$TMP/does-not-exist"
    if [ "$SB_RC" = 127 ]; then ok "program not found: 127 [$who]"; else fail "program not found: 127 [$who]" "$(sb_context)"; fi
    rc=$(cd "$TMP/$who" && sb_run "$who" nopath $WT -- hello; echo $SB_RC)
    if [ "$rc" = 127 ]; then ok "PROGRAM without '/' is not searched in PATH: 127 [$who]"
    else fail "PROGRAM without '/' is not searched in PATH: 127 [$who]" "rc=$rc"; fi
    printf 'not a program\n' >"$TMP/notexec-$who"; chmod 644 "$TMP/notexec-$who"
    sb_run "$who" notexec $WT -- "$TMP/notexec-$who"
    if [ "$SB_RC" = 126 ]; then ok "program not executable: 126 [$who]"; else fail "program not executable: 126 [$who]" "$(sb_context)"; fi
    # a required layer that this machine lacks (no writable delegated cgroup)
    sb_run "$who" require --set require=seccomp,landlock,cgroup $WT -- "$PLUGINS/hello"
    if [ "$SB_RC" = 125 ] && ! grep -qx hello "$SB_OUT" && [ -s "$SB_ERR" ]; then ok "required layer missing (cgroup): 125 with a message, plugin not run [$who]"
    else fail "required layer missing (cgroup): 125 with a message, plugin not run [$who]" "$(sb_context)"; fi
    sb_run "$who" require-ok --set require=seccomp,landlock $WT -- "$PLUGINS/hello"
    if [ "$SB_RC" = 0 ] && grep -qx hello "$SB_OUT"; then ok "required layers present: runs [$who]"
    else fail "required layers present: runs [$who]" "$(sb_context)"; fi
done

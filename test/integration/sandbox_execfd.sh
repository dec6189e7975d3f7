# The plugin is started by execveat(1000, "", ..., AT_EMPTY_PATH) from a
# descriptor the parent opened (docs/sandbox.md "Starting the plugin by
# descriptor"): the plugin's own start works with and without seccomp user
# notification, every later exec is denied (and reported where notification
# exists), the plugin can never get a descriptor numbered 1000 nor raise its
# RLIMIT_NOFILE above it, and what runs is what the descriptor reads.  As
# root and as an unprivileged user.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_sandbox.sh"

WT="--set wall_timeout=10s"
EXECFD=$PLUGINS/hostile_execfd

for who in root nobody; do
    # the test/diagnostic switch: behave as on a kernel without user notification
    printf 'sandbox:\n  user_notification: off\n' >"$TMP/$who/un-off.yaml"
    printf 'sandbox:\n  user_notification: on\n' >"$TMP/$who/un-on.yaml"
    chmod 644 "$TMP/$who"/un-*.yaml
    [ "$who" = nobody ] && chown 65534:65534 "$TMP/$who"/un-*.yaml
    for mech in on off; do
        want_mech=user_notif; [ $mech = off ] && want_mech=errno_log
        for pol in allow deny; do
            P=""; [ $pol = deny ] && P=$DENYLIST
            tag="execfd-$mech-$pol"
            # shellcheck disable=SC2086
            sb_run "$who" "$tag" -c "$TMP/$who/un-$mech.yaml" $P $WT -- "$EXECFD"
            name="hostile exec plugin, user_notification=$mech, ${pol}list [$who]"
            if [ "$SB_RC" = 0 ] && grep -qx started "$SB_OUT" && ! grep -q SUCCEEDED "$SB_OUT"; then
                ok "$name: started by descriptor, every later attempt failed"
            else
                fail "$name: started by descriptor, every later attempt failed" "$(sb_context)"
            fi
            # the start descriptor is gone and cannot be recreated
            want_dup=EBADF; [ $pol = allow ] && want_dup='(EBADF|EPERM)'
            if grep -qx 'fcntl-getfd-1000: EBADF' "$SB_OUT" &&
                grep -Eqx "dup2-1000: $want_dup" "$SB_OUT" && grep -Eqx "dup3-1000: $want_dup" "$SB_OUT" &&
                grep -qx 'fcntl-dupfd-1000: EINVAL' "$SB_OUT" &&
                grep -qx 'execveat-1000: EBADF' "$SB_OUT"; then
                ok "$name: no descriptor 1000 (closed on exec; dup2/dup3/F_DUPFD refused)"
            else
                fail "$name: no descriptor 1000 (closed on exec; dup2/dup3/F_DUPFD refused)" "$(sb_context)"
            fi
            if grep -qx 'setrlimit-nofile: EPERM' "$SB_OUT" && grep -qx 'prlimit-nofile: EPERM' "$SB_OUT" &&
                grep -qx 'nofile-hard: <=1000' "$SB_OUT"; then
                ok "$name: RLIMIT_NOFILE stays <= 1000 (hard limit too)"
            else
                fail "$name: RLIMIT_NOFILE stays <= 1000 (hard limit too)" "$(sb_context)"
            fi
            if grep -qx 'execveat-fd: EPERM' "$SB_OUT" && grep -qx 'execveat-1000-path: EPERM' "$SB_OUT" &&
                grep -qx 'execveat-cwd: EPERM' "$SB_OUT" && grep -qx 'execve: EPERM' "$SB_OUT"; then
                ok "$name: every other exec shape is denied with EPERM"
            else
                fail "$name: every other exec shape is denied with EPERM" "$(sb_context)"
            fi
            if [ "$(res_get "$SB_RES" '.layers.seccomp_mechanism')" = "$want_mech" ] &&
                [ "$(res_get "$SB_RES" '.layers.exec_start')" = execveat_fd ]; then
                ok "$name: the result says $want_mech and execveat_fd"
            else
                fail "$name: the result says $want_mech and execveat_fd" "$(sb_context)"
            fi
            n_exec=$(ev_count "$SB_EV" '.event == "blocked_syscall_attempt" and (.details.syscall == "execve" or .details.syscall == "execveat")')
            if [ $mech = on ] && [ "$n_exec" = 4 ]; then
                ok "$name: the 4 denied execs are reported"
            elif [ $mech = off ] && [ "$n_exec" = 0 ]; then
                ok "$name: fallback: nothing reported (the kernel logs instead)"
            else
                fail "$name: exec reports" "n=$n_exec;$(sb_context)"
            fi
        done
    done

    # max_open_files: 0 means the maximum (1000), above it is refused
    sb_run "$who" nofile0 $DENYLIST --set max_open_files=0 $WT -- "$EXECFD"
    if [ "$SB_RC" = 0 ] && grep -qx 'nofile-hard: <=1000' "$SB_OUT" && grep -qx 'dup2-1000: EBADF' "$SB_OUT"; then
        ok "max_open_files=0: RLIMIT_NOFILE is 1000, not unlimited [$who]"
    else
        fail "max_open_files=0: RLIMIT_NOFILE is 1000, not unlimited [$who]" "$(sb_context)"
    fi
    sb_run "$who" nofile1001 --set max_open_files=1001 -- "$PLUGINS/hello"
    if [ "$SB_RC" = 78 ] && grep -q 'max_open_files: at most 1000' "$SB_ERR"; then
        ok "max_open_files=1001 is a policy error (exit 78) [$who]"
    else
        fail "max_open_files=1001 is a policy error (exit 78) [$who]" "$(sb_context)"
    fi

    # what runs is what the descriptor reads: open, then replace the file
    d=$TMP/$who/swap; mkdir -p "$d"; [ "$who" = nobody ] && chown 65534:65534 "$d"
    cp "$PLUGINS/hello" "$d/prog"; cp "$PLUGINS/status" "$d/other"; chmod 755 "$d/prog" "$d/other"
    exec 3<"$d/prog"
    mv -f "$d/other" "$d/prog"
    sb_run "$who" swap --exec-fd 3 $WT -- "$d/prog"
    exec 3<&-
    if [ "$SB_RC" = 0 ] && [ "$(cat "$SB_OUT")" = hello ]; then
        ok "--exec-fd: the opened file runs, not the one that replaced it on disk [$who]"
    else
        fail "--exec-fd: the opened file runs, not the one that replaced it on disk [$who]" "$(sb_context)"
    fi
    # a #! script from a verified descriptor is refused (its interpreter
    # would read it again by path); by path it runs as its interpreter
    printf '#!/bin/sh\necho script-ran\n' >"$d/s.sh"; chmod 755 "$d/s.sh"
    exec 3<"$d/s.sh"
    sb_run "$who" script-fd --exec-fd 3 $WT -- "$d/s.sh"
    exec 3<&-
    if [ "$SB_RC" = 126 ] && grep -q 'cannot be started from a verified descriptor' "$SB_ERR" &&
        ! grep -q script-ran "$SB_OUT"; then
        ok "--exec-fd of a #! script: refused with 126 [$who]"
    else
        fail "--exec-fd of a #! script: refused with 126 [$who]" "$(sb_context)"
    fi
    printf '#!/nonexistent/interp\necho x\n' >"$d/bad.sh"; chmod 755 "$d/bad.sh"
    sb_run "$who" script-noint $WT -- "$d/bad.sh"
    if [ "$SB_RC" = 127 ] && grep -q 'interpreter /nonexistent/interp' "$SB_ERR"; then
        ok "a #! script whose interpreter is missing: 127 naming it [$who]"
    else
        fail "a #! script whose interpreter is missing: 127 naming it [$who]" "$(sb_context)"
    fi
done

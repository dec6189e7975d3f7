# Hostile plugins under `stavily sandbox run` (issue 3, "Tests"): every
# attempt must fail inside the plugin AND be reported with the right event,
# as root and as an unprivileged user, under the brief's default policy and
# (for the always-denied set) under a denylist-only policy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_sandbox.sh"

# Bounded runs: no hostile mode needs more than a few milliseconds.
WT="--set wall_timeout=5s"

for who in root nobody; do
    for pol in default denylist; do
        if [ $pol = default ]; then P=""; else P=$DENYLIST; fi
        # shellcheck disable=SC2086  # $P and $WT are option lists
        t() { # TAG MODE-ARGS... ; runs the hostile plugin under this policy
            tag=$1; shift
            sb_run "$who" "$pol-$tag" $P $WT -- "$HOSTILE" "$@"
        }

        # exec after start: the one exec that starts the plugin is ours, every later one is denied
        t exec-sh exec-sh
        expect_blocked "$who" "$pol: execve of /bin/sh" '^execve: EPERM' "$(ev_syscall execve)"
        t exec-memfd exec-memfd
        expect_blocked "$who" "$pol: execveat of a memfd" '^execveat: EPERM' "$(ev_syscall execveat)"

        # process creation
        for m in fork vfork clone; do
            t "$m" "$m"
            expect_blocked "$who" "$pol: $m" "^$m: E" "$(ev_syscall "$m")"
        done
        t clone3 clone3
        expect_blocked "$who" "$pol: clone3 (ENOSYS or EPERM)" '^clone3: (ENOSYS|EPERM)' "$(ev_syscall clone3)"

        # network: socket() of every family, bind
        t socket-all socket all
        nfam=$(grep -c '^socket(' "$SB_OUT")
        nperm=$(grep -c '^socket(.*): EPERM$' "$SB_OUT")
        nev=$(ev_count "$SB_EV" "$(ev_syscall socket)")
        if [ "$SB_RC" = 0 ] && [ "$nfam" -ge 20 ] && [ "$nperm" = "$nfam" ]; then
            ok "$pol: socket() of every family fails with EPERM [$who]"
        else
            fail "$pol: socket() of every family fails with EPERM [$who]" "$nperm of $nfam EPERM;$(sb_context)"
        fi
        if [ "$nev" = "$nfam" ] && [ "$nfam" -ge 20 ]; then
            ok "$pol: socket() of every family reported once each [$who]"
        else
            fail "$pol: socket() of every family reported once each [$who]" "$nev events for $nfam attempts"
        fi
        t bind bind
        expect_blocked "$who" "$pol: bind" '^bind: EPERM' "$(ev_syscall bind)"

        # always denied, whatever the policy says
        for m in io_uring:io_uring_setup ptrace-traceme:ptrace ptrace-attach:ptrace \
                 pvm-read:process_vm_readv pvm-write:process_vm_writev \
                 mount:mount unshare:unshare setns:setns chroot:chroot \
                 bpf:bpf perf_event_open:perf_event_open userfaultfd:userfaultfd \
                 keyctl:keyctl kexec_load:kexec_load init_module:init_module \
                 personality:personality modify_ldt:modify_ldt \
                 seccomp:seccomp prctl-seccomp:prctl; do
            mode=${m%%:*}; sc=${m#*:}
            t "$mode" "$mode"
            expect_blocked "$who" "$pol: $mode" ': E[A-Z]+$' "$(ev_syscall "$sc")"
        done

        # i386 and x32 entry points: killed (SIGSYS from the filter, or
        # SIGKILL from the supervisor), and reported
        for m in int80 x32; do
            t "$m" "$m"
            expect_blocked "$who" "$pol: $m killed" "^$m: calling" \
                '.event == "blocked_syscall_attempt"' '159|137'
        done

        # files outside the allowed paths
        t shadow read /etc/shadow
        expect_blocked "$who" "$pol: read /etc/shadow" '^read open\(/etc/shadow\): E' "$(ev_fs '^/etc/shadow$')"
        t outside read "$OUTSIDE/secret"
        expect_blocked "$who" "$pol: read a file outside filesystem_access" '^read open\(.*\): E' \
            "$(ev_fs "^$OUTSIDE/secret\$")"
        t write-outside write "$OUTSIDE/written-$who-$pol"
        expect_blocked "$who" "$pol: write outside filesystem_access" '^write open\(.*\): E' \
            "$(ev_fs "^$OUTSIDE/written-$who-$pol\$")"
        if [ -e "$OUTSIDE/written-$who-$pol" ] || ! grep -q '^write open(' "$SB_OUT"; then
            fail "$pol: nothing written outside [$who]" "plugin did not run or $OUTSIDE/written-$who-$pol exists"
        else
            ok "$pol: nothing written outside [$who]"
        fi
        # links from /tmp to /etc/passwd: reading through them must fail and
        # be reported as /etc/passwd (the path is resolved in the plugin's
        # own root, also inside its private /tmp); under the default
        # allowlist creating the link may itself be the blocked syscall,
        # reported as such
        for m in symlink hardlink; do
            t "$m" "$m" /tmp
            if [ $pol = default ]; then
                cond="($(ev_fs '^/etc/passwd$')) or (.event == \"blocked_syscall_attempt\" and (.details.syscall | test(\"^(sym)?link(at)?\$\")))"
            else
                cond=$(ev_fs '^/etc/passwd$')
            fi
            expect_blocked "$who" "$pol: read /etc/passwd through a $m in /tmp" "^via $m (open|read)\(.*\): E" "$cond"
        done

        # the supervisor: signals (its host pid given on the command line,
        # as a plugin could guess it) and its /proc files
        if [ "$who" = nobody ]; then run_as="setpriv --reuid=65534 --regid=65534 --clear-groups"; else run_as=""; fi
        d=$TMP/$who; SB_EV=$d/$pol-kill.ev; SB_OUT=$d/$pol-kill.out; SB_ERR=$d/$pol-kill.err; SB_RES=$d/$pol-kill.res
        # shellcheck disable=SC2016,SC2086
        timeout -k 5 "$SB_TIMEOUT" $run_as sh -c 'exec "$0" sandbox run --events "$1" --result "$2" $3 -- "$4" kill $$' \
            "$STAVILY" "$SB_EV" "$SB_RES" "$P $WT" "$HOSTILE" </dev/null >"$SB_OUT" 2>"$SB_ERR"
        SB_RC=$?; [ -f "$SB_EV" ] || : >"$SB_EV"
        if [ "$SB_RC" = 0 ] && [ -s "$SB_RES" ] && grep -Eq '^kill\([0-9]+, SIGKILL\): E' "$SB_OUT" && ! grep -q SUCCEEDED "$SB_OUT"; then
            ok "$pol: signalling the supervisor fails, supervisor survives [$who]"
        else
            fail "$pol: signalling the supervisor fails, supervisor survives [$who]" "$(sb_context)"
        fi
        if [ $pol = default ]; then
            # kill is outside the brief's allowlist: reported as a blocked syscall
            if ev_has "$SB_EV" "$(ev_syscall kill)"; then ok "$pol: signalling the supervisor reported [$who]"
            else fail "$pol: signalling the supervisor reported [$who]" "$(sb_context)"; fi
        fi

        d=$TMP/$who; SB_EV=$d/$pol-pproc.ev; SB_OUT=$d/$pol-pproc.out; SB_ERR=$d/$pol-pproc.err; SB_RES=$d/$pol-pproc.res
        # shellcheck disable=SC2016,SC2086
        timeout -k 5 "$SB_TIMEOUT" $run_as sh -c 'exec "$0" sandbox run --events "$1" --result "$2" $3 -- "$4" parent-proc $$' \
            "$STAVILY" "$SB_EV" "$SB_RES" "$P $WT" "$HOSTILE" </dev/null >"$SB_OUT" 2>"$SB_ERR"
        SB_RC=$?; [ -f "$SB_EV" ] || : >"$SB_EV"
        expect_blocked "$who" "$pol: read environ/cmdline/maps of the supervisor" \
            '^parent open\(/proc/[0-9]+/environ\): E' "$(ev_fs '^/proc/[0-9]+/(environ|cmdline|maps)$')"

        # TIOCSTI on an inherited terminal: run inside a pty (script(1))
        d=$TMP/$who; SB_EV=$d/$pol-tty.ev; SB_OUT=$d/$pol-tty.out; SB_ERR=$d/$pol-tty.err; SB_RES=$d/$pol-tty.res
        rm -f "$SB_EV"
        cmd="$run_as $STAVILY sandbox run --events $SB_EV --result $SB_RES $P $WT -- $HOSTILE tiocsti"
        timeout -k 5 "$SB_TIMEOUT" script -qec "$cmd" /dev/null </dev/null >"$SB_OUT" 2>"$SB_ERR"
        SB_RC=$?; [ -f "$SB_EV" ] || : >"$SB_EV"
        tr -d '\r' <"$SB_OUT" >"$SB_OUT.txt"; mv "$SB_OUT.txt" "$SB_OUT"
        expect_blocked "$who" "$pol: TIOCSTI on the inherited terminal" '^ioctl\(0, TIOCSTI\): E' \
            "$(ev_syscall ioctl)"
    done

    # on_violation=kill: the first blocked exec kills the plugin, reported with action kill
    sb_run "$who" onkill --set on_violation=kill $WT -- "$HOSTILE" exec-sh
    if [ "$SB_RC" -gt 128 ] && ! grep -Eq 'SUCCEEDED|ESCAPED|^execve: ' "$SB_OUT"; then
        ok "on_violation=kill: plugin killed at the blocked execve [$who]"
    else
        fail "on_violation=kill: plugin killed at the blocked execve [$who]" "$(sb_context)"
    fi
    if ev_has "$SB_EV" "$(ev_syscall execve kill)"; then ok "on_violation=kill: reported with action kill [$who]"
    else fail "on_violation=kill: reported with action kill [$who]" "$(sb_context)"; fi

    # max_violations: the sixth blocked socket() is not reached
    sb_run "$who" maxviol --set max_violations=5 $WT -- "$HOSTILE" socket all
    n=$(grep -c '^socket(' "$SB_OUT")
    if [ "$SB_RC" -gt 128 ] && [ "$n" -le 5 ]; then
        ok "max_violations=5: plugin killed after 5 attempts [$who]"
    else
        fail "max_violations=5: plugin killed after 5 attempts [$who]" "$n attempts;$(sb_context)"
    fi
    if ev_has "$SB_EV" "$(ev_limit violations)"; then ok "max_violations=5: reported [$who]"
    else fail "max_violations=5: reported [$who]" "$(sb_context)"; fi
done

# Every line of every events file is one JSON event of the documented shape.
shape='(.timestamp | type) == "string" and (.level | type) == "string" and (.event | type) == "string" and (.details | type) == "object"'
bad=0; nfiles=0
for f in "$TMP"/root/*.ev "$TMP"/nobody/*.ev; do
    [ -s "$f" ] || continue
    nfiles=$((nfiles + 1))
    good=$(ev_count "$f" "$shape")
    total=$(wc -l <"$f")
    if [ "$good" != "$total" ]; then
        bad=$((bad + 1)); echo "  malformed events in $f ($good of $total good): $(head -c 300 "$f")"
    fi
done
if [ "$bad" = 0 ] && [ "$nfiles" -gt 0 ]; then ok "events files: one well-formed JSON event a line ($nfiles files)"
else fail "events files: one well-formed JSON event a line" "$bad malformed of $nfiles non-empty files"; fi

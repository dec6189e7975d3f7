#!/bin/bash
# sandbox_cgroup.sh: cgroup v2 limits and their fallbacks (issue 3, "Limits"; docs/sandbox.md
# "cgroup v2").  On this machine cgroup v2 has no memory/cpu/pids controller and our own cgroup
# is not delegated to us, so:
#   - probe tells where cgroup2 is mounted, our cgroup, its controllers, and why no directory
#     is used (root and nobody);
#   - a run falls back per limit (rlimit, duty cycle, seccomp) and the result says which
#     mechanism applied and why (root and nobody); `sandbox.cgroup: off` says so;
#   - `require: [cgroup]` fails with 125 naming what is missing;
#   - the real path as far as this machine allows: the test creates ITS OWN directory under the
#     cgroup2 mount (never touching an existing cgroup), points sandbox.cgroup at it, and the
#     plugin runs in a per-run child that is removed afterwards; as nobody, with the directory
#     delegated (chowned) to 65534, the kernel refuses the move and the run falls back, saying so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_sandbox.sh"

CGSELF=$PLUGINS/cgroup_self
MNT=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") print $5; break } }' \
    /proc/self/mountinfo | head -1)
SELF=$(sed -n 's/^0:://p' /proc/self/cgroup)
TESTCG= DELEG=
# jt [JQ OPTIONS...] EXPR FILE: FILE holds exactly one JSON value and EXPR on it is true
# (jq -e alone passes on an empty file).
jt() {
    local f=${*: -1} e=${*: -2:1}
    [ "$(jq -s -c "${@:1:$#-2}" "if length == 1 then (.[0] | $e) else false end" "$f" 2>/dev/null)" = true ]
}
cleanup_cg() {
    # our own directories only: children first (bounded), then themselves
    for top in "$TESTCG" "$DELEG"; do
        if [ -n "$top" ] && [ -d "$top" ]; then
            for d in "$top"/*/; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
            rmdir "$top" 2>/dev/null
        fi
    done
    rm -rf "$TMP" "$OUTSIDE"
}
trap cleanup_cg EXIT INT TERM

# ---- probe ----------------------------------------------------------------------------------
for who in root nobody; do
    if [ "$who" = root ]; then "$STAVILY" sandbox probe >"$TMP/probe.$who" 2>&1
    else as_nobody "$STAVILY" sandbox probe >"$TMP/probe.$who" 2>&1; fi
    ctl=$(cat "$MNT$([ "$SELF" = / ] || echo "$SELF")/cgroup.controllers" 2>/dev/null | tr ' ' '\n' |
        grep . | jq -R . | jq -sc .)
    check "probe [$who]: cgroup_v2 mounted at $MNT, our cgroup $SELF, its controllers $ctl" \
        jt --arg m "$MNT" --arg s "$SELF" --argjson c "$ctl" \
        '.cgroup_v2 | .mounted == true and .mount == $m and .self == $s and .controllers == $c' \
        "$TMP/probe.$who"
    # The machine's cgroups are not delegated to us: no directory, and the reason.
    check "probe [$who]: no delegated directory here (dir null, delegated false) and why" \
        jt '.cgroup_v2 | .dir == null and .delegated == false and (.why | length) > 10' \
        "$TMP/probe.$who"
    check "probe [$who]: per-limit fallback for the default policy (rlimit, duty_cycle, rlimit)" \
        jt '.cgroup_v2.limits | .memory.by == "rlimit" and .cpu.by == "duty_cycle" and
            .processes.by == "rlimit" and (.memory.why | startswith("no cgroup: "))' "$TMP/probe.$who"
done
if [ "$SELF" = / ]; then
    check_grep "probe: the reason names the root of the hierarchy" \
        '"why":"our cgroup is the root of the cgroup v2 hierarchy at' "$TMP/probe.root"
    check_grep "probe [nobody]: same reason" '"why":"our cgroup is the root of the cgroup v2 hierarchy' \
        "$TMP/probe.nobody"
fi

# ---- fallback (sandbox.cgroup: auto, the default) -------------------------------------------
for who in root nobody; do
    sb_run "$who" auto -- "$PLUGINS/hello"
    if [ "$SB_RC" = 0 ]; then ok "auto [$who]: the run works"; else fail "auto [$who]: the run works" "$(sb_context)"; fi
    check "auto [$who]: limits.memory by rlimit, cpu by duty_cycle, processes by seccomp (fork blocked)" \
        jt '.limits | .memory.by == "rlimit" and .cpu.by == "duty_cycle" and .processes.by == "seccomp"' "$SB_RES"
    check "auto [$who]: each reason says why no cgroup (the probe's reason)" \
        jt --slurpfile p "$TMP/probe.$who" '.limits | (.memory.why == "no cgroup: " + $p[0].cgroup_v2.why)
            and (.cpu.why == .memory.why) and (.processes.why | startswith("fork is blocked by the seccomp filter; no cgroup: "))' "$SB_RES"
    check "auto [$who]: layers.cgroup false, cgroup null, cpu_limit_method duty_cycle" \
        jt '.layers.cgroup == false and .cgroup == null and .layers.cpu_limit_method == "duty_cycle"' "$SB_RES"
    # fork allowed: processes fall back to RLIMIT_NPROC
    sb_run "$who" autofork --set allowed_syscalls= --set blocked_syscalls=exec -- "$PLUGINS/hello"
    check "auto [$who], fork allowed: processes by rlimit" jt '.limits.processes.by == "rlimit"' "$SB_RES"
done

# ---- sandbox.cgroup: off ----------------------------------------------------------------------
printf 'sandbox:\n  cgroup: "off"\n' >"$TMP/off.yaml"
chmod 644 "$TMP/off.yaml"
for who in root nobody; do
    sb_run "$who" off -c "$TMP/off.yaml" -- "$PLUGINS/hello"
    check "off [$who]: runs, every limit says sandbox.cgroup is off" \
        jt '.exit_code == 0 and ([.limits[].why] | all(. == "sandbox.cgroup is off" or
            . == "fork is blocked by the seccomp filter; sandbox.cgroup is off")) and .layers.cgroup == false' "$SB_RES"
done

# ---- sandbox.cgroup at the hierarchy's root: refused (its subtree_control is the machine's) ----
printf 'sandbox:\n  cgroup: %s\n' "$MNT" >"$TMP/rootcg.yaml"
chmod 644 "$TMP/rootcg.yaml"
before=$(cat "$MNT/cgroup.subtree_control")
sb_run root rootcg -c "$TMP/rootcg.yaml" -- "$PLUGINS/hello"
check "cgroup = the cgroup2 mount itself: not used, says it is the root of the hierarchy" \
    jt --arg m "$MNT" '.exit_code == 0 and .layers.cgroup == false and
        .limits.memory.why == "no cgroup: " + $m + " is the root of the cgroup v2 hierarchy: give a delegated directory below it"' "$SB_RES"
check "the root's cgroup.subtree_control is unchanged, no stavily-* child there" \
    sh -c '[ "$(cat "$0/cgroup.subtree_control")" = "$1" ] && ! ls -d "$0"/stavily-[0-9]* >/dev/null 2>&1' "$MNT" "$before"

# ---- require: [cgroup] ------------------------------------------------------------------------
for who in root nobody; do
    sb_run "$who" req --set require=cgroup -- "$PLUGINS/hello"
    if [ "$SB_RC" = 125 ] && grep -q 'required layer missing: cgroup (' "$SB_ERR"; then
        ok "require cgroup [$who]: exit 125 with the reason"
    else fail "require cgroup [$who]: exit 125 with the reason" "$(sb_context)"; fi
    check "require cgroup [$who]: the result carries the error" \
        jt '.exit_code == null and (.error | startswith("required layer missing: cgroup"))' "$SB_RES"
done
printf 'sandbox:\n  cgroup: "off"\n  require: [cgroup]\n' >"$TMP/offreq.yaml"
chmod 644 "$TMP/offreq.yaml"
sb_run root offreq -c "$TMP/offreq.yaml" -- "$PLUGINS/hello"
if [ "$SB_RC" = 125 ] && grep -q 'required layer missing: cgroup (sandbox.cgroup is off)' "$SB_ERR"; then
    ok "require cgroup with cgroup off: 125, says off"
else fail "require cgroup with cgroup off: 125, says off" "$(sb_context)"; fi

# ---- a real cgroup: our own fresh directory under the cgroup2 mount -----------------------------
TESTCG=$MNT/stavily-test-$$
if [ -n "$MNT" ] && mkdir "$TESTCG" 2>"$TMP/mkdir.err"; then
    ok "test cgroup $TESTCG created"
else
    fail "test cgroup under the cgroup2 mount created (we are root)" "$(cat "$TMP/mkdir.err" 2>/dev/null)"
    exit 0
fi
REL=${TESTCG#"$MNT"}
printf 'sandbox:\n  cgroup: %s\n  filesystem_access: ["/proc:ro", /tmp]\n' "$TESTCG" >"$TMP/cg.yaml"
printf 'sandbox:\n  cgroup: %s\n  filesystem_access: ["/proc:ro", /tmp]\n  require: [cgroup]\n' \
    "$TESTCG" >"$TMP/cgreq.yaml"
printf 'sandbox:\n  cgroup: %s\n  filesystem_access: ["/proc:ro", /tmp]\n  require: [cgroup]\n  memory_limit: 0\n  cpu_limit: 0\n  max_processes: 0\n' \
    "$TESTCG" >"$TMP/cgreq0.yaml"
chmod 644 "$TMP"/*.yaml

for ns in auto off; do
    sb_run root "real-$ns" -c "$TMP/cg.yaml" --set namespaces=$ns -- "$CGSELF"
    if [ "$SB_RC" = 0 ] && grep -Eq "^cgroup: $REL/stavily-[0-9]+-[0-9]+\$" "$SB_OUT"; then
        ok "real cgroup [root, namespaces $ns]: the plugin ran inside a per-run child of the test cgroup"
    else fail "real cgroup [root, namespaces $ns]: the plugin ran inside a per-run child of the test cgroup" "$(sb_context)"; fi
    child=$(sed -n 's/^cgroup: //p' "$SB_OUT")
    check "real cgroup [root, namespaces $ns]: result cgroup.path is that child, layers.cgroup true, cpu.stat read" \
        jt --arg p "$MNT$child" '.cgroup.path == $p and .layers.cgroup == true and (.cgroup.cpu_usage_usec | type) == "number"' "$SB_RES"
    check "real cgroup [root, namespaces $ns]: the per-run child is removed after the run" \
        test -n "$child" -a ! -e "$MNT$child"
    # This machine's cgroup2 offers no memory/cpu/pids controller, even to a fresh child.
    check "real cgroup [root, namespaces $ns]: every limit falls back, naming the missing controller" \
        jt --arg d "$TESTCG" '.limits | .memory.by == "rlimit" and .memory.why == "cgroup v2 has no memory controller in " + $d
            and .cpu.by == "duty_cycle" and .cpu.why == "cgroup v2 has no cpu controller in " + $d
            and .processes.by == "seccomp"' "$SB_RES"
done
check "real cgroup: nothing left in the test cgroup (no stavily-* child, no process)" \
    sh -c '! ls -d "$0"/stavily-* >/dev/null 2>&1 && [ -z "$(cat "$0/cgroup.procs")" ]' "$TESTCG"
# Our directory only: the test cgroup's subtree_control was only ever asked for what its
# cgroup.controllers offers (here nothing), and its parent was never written.
check "real cgroup: the test cgroup enables nothing (nothing available)" \
    test -z "$(cat "$TESTCG/cgroup.subtree_control")"

sb_run root realreq -c "$TMP/cgreq.yaml" -- "$CGSELF"
if [ "$SB_RC" = 125 ] && grep -q "required layer missing: cgroup (no memory controller: cgroup v2 has no memory controller in $TESTCG)" "$SB_ERR"; then
    ok "real cgroup + require cgroup: 125, names the missing memory controller"
else fail "real cgroup + require cgroup: 125, names the missing memory controller" "$(sb_context)"; fi
check "real cgroup + require cgroup: no child left behind" sh -c '! ls -d "$0"/stavily-* >/dev/null 2>&1' "$TESTCG"
# With no limit configured, require: [cgroup] only needs the run's own cgroup, which works.
sb_run root realreq0 -c "$TMP/cgreq0.yaml" -- "$CGSELF"
if [ "$SB_RC" = 0 ] && grep -Eq "^cgroup: $REL/stavily-" "$SB_OUT"; then
    ok "real cgroup + require cgroup, no limits configured: runs inside its cgroup"
else fail "real cgroup + require cgroup, no limits configured: runs inside its cgroup" "$(sb_context)"; fi

# nobody, directory not writable by it: fallback with the reason
sb_run nobody realnb -c "$TMP/cg.yaml" -- "$CGSELF"
check "real cgroup [nobody, not writable]: runs outside, says the directory is not writable by 65534" \
    jt --arg d "$TESTCG" '.exit_code == 0 and .layers.cgroup == false and
        .limits.memory.why == "no cgroup: " + $d + " is not writable by uid 65534"' "$SB_RES"
# nobody, directory delegated to it (chown as systemd does): the kernel still refuses to move a
# process from the root cgroup into it (cgroup.procs of the common ancestor is root's), so the
# run falls back and names the clone3 refusal; the child it created is removed.
chown 65534:65534 "$TESTCG" "$TESTCG/cgroup.procs" "$TESTCG/cgroup.subtree_control" "$TESTCG/cgroup.threads"
sb_run nobody realdeleg -c "$TMP/cg.yaml" -- "$CGSELF"
if [ "$SB_RC" = 0 ] && [ "$(cat "$SB_OUT")" = "cgroup: $SELF" ]; then
    ok "real cgroup [nobody, delegated dir]: the plugin runs (in our own cgroup)"
else fail "real cgroup [nobody, delegated dir]: the plugin runs (in our own cgroup)" "$(sb_context)"; fi
if [ "$SELF" = / ]; then
    check "real cgroup [nobody, delegated dir]: fallback names the refused clone3 into the run's child" \
        jt --arg d "$TESTCG" '.layers.cgroup == false and (.limits.memory.why | test("^clone3 into " + $d + "/stavily-[0-9]+-[0-9]+: Permission denied$"))' "$SB_RES"
fi
check "real cgroup [nobody, delegated dir]: no child left behind" sh -c '! ls -d "$0"/stavily-* >/dev/null 2>&1' "$TESTCG"

# ---- sandbox.cgroup: auto inside a delegated cgroup ----------------------------------------------
# Our own fresh directory plays the service cgroup systemd gives a Delegate=yes unit: marked with
# trusted.delegate=1 for root, owned by the uid for nobody.  The runner moves itself into it
# (as root, before dropping to nobody), then auto must pick it and put each run in a child.
DELEG=$MNT/stavily-test-$$-deleg
printf 'sandbox:\n  filesystem_access: ["/proc:ro", /tmp]\n' >"$TMP/auto.yaml"
chmod 644 "$TMP/auto.yaml"
in_deleg() { # WHO TAG: run cgroup_self under auto from inside $DELEG
    local who=$1 tag=$2 pre=()
    [ "$who" = nobody ] && pre=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    SB_RES=$TMP/$who/$tag.res SB_OUT=$TMP/$who/$tag.out SB_ERR=$TMP/$who/$tag.err
    timeout -k 5 "$SB_TIMEOUT" sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$DELEG" "${pre[@]}" \
        "$STAVILY" sandbox run -c "$TMP/auto.yaml" --result "$SB_RES" -- "$CGSELF" >"$SB_OUT" 2>"$SB_ERR"
    SB_RC=$? SB_EV=/dev/null
}
if mkdir "$DELEG" && python3 -c 'import os,sys; os.setxattr(sys.argv[1], "trusted.delegate", b"1")' "$DELEG"; then
    ok "delegated test cgroup $DELEG created (trusted.delegate=1)"
else fail "delegated test cgroup created (trusted.delegate=1)"; fi
RELD=${DELEG#"$MNT"}
in_deleg root deleg
if [ "$SB_RC" = 0 ] && grep -Eq "^cgroup: $RELD/stavily-[0-9]+-[0-9]+\$" "$SB_OUT"; then
    ok "auto [root, delegated by xattr]: the plugin ran in a per-run child of our own cgroup"
else fail "auto [root, delegated by xattr]: the plugin ran in a per-run child of our own cgroup" "$(sb_context)"; fi
check "auto [root, delegated by xattr]: child removed, limits name the missing controllers of our cgroup" \
    jt --arg d "$DELEG" '.layers.cgroup == true and .limits.memory.why == "cgroup v2 has no memory controller in " + $d' "$SB_RES"
python3 -c 'import os,sys; os.removexattr(sys.argv[1], "trusted.delegate")' "$DELEG"
in_deleg root undeleg
check "auto [root, same cgroup without the mark]: not used, says not delegated" \
    jt --arg d "$DELEG" '.exit_code == 0 and .layers.cgroup == false and
        (.limits.memory.why == "no cgroup: our cgroup " + $d + " is not delegated to us (no trusted.delegate/user.delegate mark, not owned by our uid)")' "$SB_RES"
chown 65534:65534 "$DELEG" "$DELEG/cgroup.procs" "$DELEG/cgroup.subtree_control" "$DELEG/cgroup.threads"
in_deleg nobody deleg
if [ "$SB_RC" = 0 ] && grep -Eq "^cgroup: $RELD/stavily-[0-9]+-[0-9]+\$" "$SB_OUT"; then
    ok "auto [nobody, delegated by ownership]: the plugin ran in a per-run child of our own cgroup"
else fail "auto [nobody, delegated by ownership]: the plugin ran in a per-run child of our own cgroup" "$(sb_context)"; fi
check "auto [nobody, delegated by ownership]: layers.cgroup true, result names the child" \
    jt --arg d "$DELEG" '.layers.cgroup == true and (.cgroup.path | startswith($d + "/stavily-"))' "$SB_RES"
check "delegated test cgroup: every per-run child removed" sh -c '! ls -d "$0"/stavily-* >/dev/null 2>&1' "$DELEG"

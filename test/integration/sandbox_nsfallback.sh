#!/bin/bash
# sandbox_nsfallback.sh: namespaces: auto falls back under a container's /proc masks (issue 7
# item; docs/sandbox.md "Namespaces").  Container runtimes (podman's default) bind-mount over
# parts of /proc; an unprivileged user namespace may then not mount a fresh proc (the kernel's
# mnt_too_revealing check: EPERM), which the sandbox's pid namespace needs.  Emulated here
# without a container: a private mount namespace with /dev/null bound over a /proc file, then
# the sandbox as nobody.  Expected: probe says namespaces false; a run with namespaces: auto
# works without namespaces (Landlock + seccomp + rlimits), its result says why
# (layers.namespaces_fallback) and a sandbox_layer_unavailable event is logged; namespaces:
# required fails with 125 and the reason.  Root (initial user namespace) is not subject to the
# check: its namespaces still apply under the same mask.  test/integration/image_podman.sh
# checks the same inside a real podman container.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_sandbox.sh"

MASK=
for f in /proc/timer_list /proc/keys /proc/sched_debug /proc/kcore; do
    [ -f "$f" ] && { MASK=$f; break; }
done
[ -n "$MASK" ] || { fail "a /proc file to mask exists (timer_list, keys, sched_debug, kcore)"; exit 0; }

# masked WHO OUTFILE CMD...: run CMD as WHO inside a mount namespace where $MASK is covered
masked() {
    local who=$1 out=$2; shift 2
    local pre=()
    [ "$who" = nobody ] && pre=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    timeout -k 5 "$SB_TIMEOUT" unshare --mount --propagation private --fork \
        sh -c 'mount --bind /dev/null "$0" && exec "$@"' "$MASK" "${pre[@]}" "$@" >"$out" 2>"$out.err"
}
jt() {
    local f=${*: -1} e=${*: -2:1}
    [ "$(jq -s -c "${@:1:$#-2}" "if length == 1 then (.[0] | $e) else false end" "$f" 2>/dev/null)" = true ]
}

# The unmasked baseline, so that a pass below is the mask's doing.
as_nobody "$STAVILY" sandbox probe >"$TMP/probe.plain" 2>&1
check "probe [nobody], no mask: namespaces true" jt '.namespaces == true' "$TMP/probe.plain"

masked nobody "$TMP/probe.masked" "$STAVILY" sandbox probe
check "probe [nobody] under a /proc mask: namespaces false (tries the fresh proc mount)" \
    jt '.namespaces == false and .user_namespaces == true' "$TMP/probe.masked"

D=$TMP/nobody
masked nobody "$D/auto.out" "$STAVILY" sandbox run --events "$D/auto.ev" --result "$D/auto.res" -- "$PLUGINS/hello"
rc=$?
if [ "$rc" = 0 ] && grep -qx hello "$D/auto.out"; then ok "auto [nobody] under a /proc mask: the plugin runs"
else fail "auto [nobody] under a /proc mask: the plugin runs" "rc=$rc $(head -c 300 "$D/auto.out.err")"; fi
check "auto [nobody] under a /proc mask: no namespaces; seccomp, Landlock, NNP, rlimits still applied" \
    jt '.layers | .namespaces == [] and .seccomp == true and .landlock >= 1 and .no_new_privs == true and .rlimits == true' "$D/auto.res"
check "auto [nobody] under a /proc mask: layers.namespaces_fallback says why" \
    jt '.layers.namespaces_fallback == "sandbox setup failed at minimal root (mounts): Operation not permitted"' "$D/auto.res"
check "auto [nobody] under a /proc mask: sandbox_layer_unavailable event (namespaces, reason)" \
    ev_has "$D/auto.ev" '.event == "sandbox_layer_unavailable" and .level == "WARN" and .details.layer == "namespaces" and (.details.reason | test("minimal root"))'

masked nobody "$D/req.out" "$STAVILY" sandbox run --set namespaces=required --result "$D/req.res" -- "$PLUGINS/hello"
rc=$?
if [ "$rc" = 125 ] && grep -q 'sandbox setup failed at minimal root (mounts): Operation not permitted' "$D/req.out.err"; then
    ok "required [nobody] under a /proc mask: 125 with the reason"
else fail "required [nobody] under a /proc mask: 125 with the reason" "rc=$rc $(head -c 300 "$D/req.out.err")"; fi

# Without the mask nothing falls back.
sb_run nobody plain -- "$PLUGINS/hello"
check "auto [nobody], no mask: namespaces applied, no fallback field, no event" \
    jt '(.layers.namespaces | index("pid")) != null and (.layers | has("namespaces_fallback") | not)' "$SB_RES"
if ev_has "$SB_EV" '.event == "sandbox_layer_unavailable"'; then fail "no mask: no sandbox_layer_unavailable event"
else ok "no mask: no sandbox_layer_unavailable event"; fi

# Root is in the initial user namespace: the mask does not stop its proc mount.
R=$TMP/root
masked root "$R/auto.out" "$STAVILY" sandbox run --result "$R/auto.res" -- "$PLUGINS/hello"
check "auto [root] under a /proc mask: mount+pid namespaces still applied" \
    jt '(.layers.namespaces | index("pid")) != null and (.layers.namespaces | index("mount")) != null and (.layers | has("namespaces_fallback") | not)' "$R/auto.res"

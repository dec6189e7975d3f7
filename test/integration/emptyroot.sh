#!/bin/bash
# emptyroot.sh: the air-gapped / initramfs proof (issue 7).  The agent runs in an empty root:
# a fresh mount namespace, chroot into a directory holding only the binary, its config, the
# orchestrator CA pin, one plugin and an empty state directory (no /proc, no /dev, no /etc/passwd,
# no /tmp, no shell), as uid 65532.  It shares the host's network namespace, so it reaches an
# orchestrator on loopback: it must register, run a job, report it, and stop on SIGTERM, all
# without /dev (no /dev/null is created: the worker keeps fds 0-2 valid with an empty pipe and
# says so).  Everything absent must degrade with a message, never crash.  Every wait is bounded.
. "$(dirname "$0")/lib.sh"

ORCH=$TMP/orch
ROOT=$TMP/root
OPID= APID=
cleanup() {
    for p in $APID $OPID; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] && { echo "# kept $TMP"; return; }; rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
EPORT=$(free_port); APORT=$(free_port)
ctl() { "$STAVILY" ctl -S "$ORCH/admin.sock" --json "$@"; }
# wait_until SECONDS CMD...: poll CMD every 0.1 s, bounded
wait_until() {
    local n=$(( $1 * 10 )); shift
    while [ "$n" -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d.get(k, {}) if isinstance(d, dict) else {}
print(d if not isinstance(d,(dict,list)) else json.dumps(d))' "$1"; }

pin=$("$STAVILY" orchestrator init -d "$ORCH" --name localhost --san 127.0.0.1 2>"$TMP/init.err")
check "orchestrator init" test -n "$pin"
"$STAVILY" orchestrator run -c "$ORCH/orchestrator.yaml" \
    --set "orchestrator.listen_enroll=127.0.0.1:$EPORT" --set "orchestrator.listen_agent=127.0.0.1:$APORT" \
    --set "logging.file=$TMP/orch-events.log" >"$TMP/orch.out" 2>&1 &
OPID=$!
check "orchestrator up" wait_until 15 test -S "$ORCH/admin.sock"
ctl tenant add acme >/dev/null
token=$(ctl token create --tenant acme --uses 2 | jget token)

# ---- the empty root: only what the agent needs -------------------------------------------
mkdir -p "$ROOT/etc/stavily" "$ROOT/plugins" "$ROOT/state"
cp "$STAVILY" "$ROOT/stavily"
cp "$PLUGINS/agent_echo" "$ROOT/plugins/echo"
sum=$(sha256sum "$ROOT/plugins/echo" | cut -d' ' -f1)
printf '{"name":"echo","version":"1.0","type":"action","executable":"echo","sha256":"%s"}\n' "$sum" \
    >"$ROOT/plugins/echo.json"
cat >"$ROOT/etc/stavily/agent.yaml" <<EOF
agent:
  type: action
  id: er1
  tenant: acme
  state_dir: /state
  plugins_dir: /plugins
  enroll_url: https://127.0.0.1:$EPORT
  orchestrator_url: https://127.0.0.1:$APORT
  server_name: localhost
  heartbeat_interval: 1s
  ca_pins: [$pin]
logging:
  file: /state/events.log
EOF
printf '%s' "$token" >"$ROOT/etc/stavily/token"
chown -R 0:0 "$ROOT"; chmod 755 "$ROOT" "$ROOT/etc" "$ROOT/etc/stavily" "$ROOT/plugins"
chmod 644 "$ROOT/etc/stavily/agent.yaml" "$ROOT/plugins/echo.json"; chmod 755 "$ROOT/stavily" "$ROOT/plugins/echo"
chown 65532:65532 "$ROOT/state" "$ROOT/etc/stavily/token"; chmod 700 "$ROOT/state"; chmod 600 "$ROOT/etc/stavily/token"
# check the premise: nothing else is in there
inv=$(cd "$ROOT" && find . -mindepth 1 | sort | tr '\n' ' ')
check "the root holds only binary, config, token, plugin, empty state dir" \
    test "$inv" = "./etc ./etc/stavily ./etc/stavily/agent.yaml ./etc/stavily/token ./plugins ./plugins/echo ./plugins/echo.json ./state ./stavily "

# in_root CMD...: run /stavily CMD in a new mount namespace (root dir bind-mounted private,
# read-only), chrooted, as 65532:65532 without groups; host network namespace kept
in_root() {
    exec unshare -m --propagation private sh -c '
        mount --bind "$1" "$1" && mount --bind "$1/state" "$1/state" &&
        if [ -e "$1/dev/null" ]; then mount --bind /dev/null "$1/dev/null" || exit 99; fi &&
        mount -o remount,bind,ro "$1" && shift &&
        exec chroot --userspec=65532:65532 --groups= "$R" "$@"' sh "$ROOT" "$@"
}
export R=$ROOT

# no /proc, /dev in the root, confirmed from inside (the binary itself reports it)
(in_root /stavily sandbox probe >"$TMP/probe.json" 2>"$TMP/probe.err")
rc=$?
check "sandbox probe in the empty root does not crash (exit 0)" test "$rc" -eq 0
check "probe in the empty root: JSON output" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/probe.json"
echo "# probe in empty root: $(head -c 400 "$TMP/probe.json" | tr '\n' ' ') stderr: $(head -c 300 "$TMP/probe.err")"

# ---- register, run ------------------------------------------------------------------------
(in_root /stavily agent register -c /etc/stavily/agent.yaml --token-file /etc/stavily/token \
    >"$TMP/reg.out" 2>&1)
rc=$?
check "register from the empty root as uid 65532 (exit 0)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || echo "# register: $(head -c 600 "$TMP/reg.out")"
check "identity stored in the empty state dir, owned by 65532" \
    test "$(stat -c %u "$ROOT/state/identity.pem" 2>/dev/null)" = 65532

in_root /stavily agent run -c /etc/stavily/agent.yaml >"$TMP/run.out" 2>&1 &
APID=$!
check "agent run in the truly empty root (no /dev): agent_started" \
    wait_until 15 grep -q '"agent_started"' "$ROOT/state/events.log"
# Without /dev the worker cannot open /dev/null: it makes fds 0-2 valid with an empty pipe
# instead (privsep.c std_fds_valid) and says so; it used to exit 125 silently here.
check "the worker says /dev/null is missing and what it uses instead" \
    wait_until 10 grep -q 'stdin is an empty pipe instead' "$TMP/run.out"
check "still no /dev in the root" test ! -e "$ROOT/dev"
jid=$(ctl job submit --agent acme/er1 --plugin echo --args '{"from":"emptyroot"}' | jget id)
wait_until 25 sh -c '[ "$("$STAVILY" ctl -S "$0" --json job get "$1" | python3 -c "import json,sys; print(json.load(sys.stdin).get(\"state\"))")" = done ]' \
    "$ORCH/admin.sock" "$jid"
ctl job get "$jid" >"$TMP/job.json" 2>&1
check "job from the empty root: succeeded with the plugin's output" python3 -c '
import json, sys
j = json.load(open(sys.argv[1])); r = j.get("result") or {}
sys.exit(not (j.get("state") == "done" and r.get("status") == "succeeded"
              and r.get("stdout") == {"echo": {"from": "emptyroot"}}))' "$TMP/job.json"
echo "# job result layers: $(jget result.layers <"$TMP/job.json" | head -c 600)"
check "job result reports sandbox layers (seccomp, landlock, no_new_privs)" python3 -c '
import json, sys
l = (json.load(open(sys.argv[1])).get("result") or {}).get("layers") or {}
ll = l.get("landlock")
sys.exit(not (l.get("seccomp") is True and (ll is True or (type(ll) is int and ll >= 1))
              and l.get("no_new_privs") is True))' "$TMP/job.json"

n0=$(grep -c '"agent_stopped"' "$ROOT/state/events.log")
kill -TERM "$APID" 2>/dev/null
rc=timeout
for _ in $(seq 1 150); do kill -0 "$APID" 2>/dev/null || { wait "$APID"; rc=$?; break; }; sleep 0.1; done
APID=
check "SIGTERM: the agent stops with exit 0" test "$rc" = 0
check "the worker never ended early (no 'network worker ended')" sh -c '! grep -q "network worker ended" "$0"' "$TMP/run.out"
check "agent_stopped logged" test "$(grep -c '"agent_stopped"' "$ROOT/state/events.log")" -gt "$n0"
all="$TMP/run.out $TMP/reg.out $TMP/probe.err"
if grep -Eqi 'segmentation|core dumped|abort|assert' $all; then
    fail "no crash anywhere in the empty root" "$(grep -Ehi 'segmentation|core dumped|abort|assert' $all | head -5)"
else ok "no crash anywhere in the empty root"; fi
echo "# agent messages in the empty root: $(head -c 700 "$TMP/run.out" | tr '\n' '|')"

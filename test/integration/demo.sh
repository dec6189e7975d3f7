# `stavily demo`: the whole flow (orchestrator, tenant and token, action agent,
# sensor agent with its own token, job, hostile plugin, sensor events stored
# with a field pseudonymized and one redacted, the blocked_syscall_attempt
# stored by the orchestrator, security events, rotation, audit chain) must
# really succeed, as root and unprivileged, and leave nothing behind: no
# files in /tmp, no processes.
. "$(dirname "$0")/lib.sh"

for who in root nobody; do
    if [ $who = root ]; then run=""; else run=as_nobody; fi
    t0=$(date +%s)
    $run timeout 60 "$STAVILY" demo --json >"$TMP/demo.$who.json" 2>"$TMP/demo.$who.err"
    rc=$?
    t1=$(date +%s)
    if [ $rc = 0 ]; then ok "demo exits 0 ($who)"; else fail "demo exits 0 ($who)" "rc=$rc $(head -c 600 "$TMP/demo.$who.err")"; fi
    if [ $((t1 - t0)) -le 20 ]; then ok "demo takes at most 20 s ($who)"; else fail "demo takes at most 20 s ($who)" "$((t1 - t0)) s"; fi
    check "demo --json: every step ok ($who)" python3 - "$TMP/demo.$who.json" "$who" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
who = sys.argv[2]
assert d["failures"] == 0, d
steps = ("config_brief", "config_insecure", "orchestrator_init", "orchestrator_run", "tenant_token",
         "plugin_install", "agent_register", "agent_run", "sensor_agent_run", "job_result",
         "hostile_blocked", "sensor_events", "rotation", "security_events", "audit_intact",
         "audit_tampered", "shutdown")
for k in steps:
    assert d[k]["ok"] is True, (k, d[k])
bad = [k for k, v in d.items() if isinstance(v, dict) and "ok" in v and v["ok"] is not True]
assert not bad, bad
# the worker never runs as root; unprivileged, the spawner is not root either
assert d["agent_run"]["worker_uid"] == 65534, d["agent_run"]
assert d["agent_run"]["spawner_uid"] == (0 if who == "root" else 65534), d["agent_run"]
r = d["job"]["result"]
assert r["status"] == "succeeded" and r["stdout"] == {"echo": {"mode": "echo", "hello": "world"}}, r
h = d["hostile_job"]["result"]
assert h["violations"] >= 3 and h["stdout"]["execve"] == "denied" and "ALLOWED" not in json.dumps(h["stdout"]), h
assert d["rotation"]["old_serial"] != d["rotation"]["new_serial"], d["rotation"]
# the sensor agent's readings, as the orchestrator stored them: each once, enriched,
# user.email pseudonymized and session.token redacted by the agent
evs = d["sensor_events"]["events"]
assert len(evs) == 3 and sorted(e["reading"] for e in evs) == [1, 2, 3], evs
assert len(set(e["id"] for e in evs)) == 3, evs
for e in evs:
    assert e["event"] == "demo_sensor_reading" and e["agent_id"] == "demo-sensor-1", e
    assert e["tenant"] == "acme" and e["plugin"] == "stavily-demo-sensor", e
    assert e["user"]["email"].startswith("hmac-sha256:") and e["session"]["token"] == "[REDACTED]", e
assert "alice@example.com" not in json.dumps(d) and "s3cr3t" not in json.dumps(d)
# the hostile job's blocked_syscall_attempt reached the orchestrator (not only the agent's log)
assert d["security_events"]["blocked_syscall_attempt_stored"] is True, d["security_events"]
PY
    dir=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("dir",""))' "$TMP/demo.$who.json" 2>/dev/null)
    # (its own directory only: other demos may run on this machine meanwhile)
    case "$dir" in /tmp/stavily-demo-??????) good=1 ;; *) good=0 ;; esac
    if [ $good = 1 ] && [ ! -e "$dir" ]; then ok "demo removes its directory ($who)"
    else fail "demo removes its directory ($who)" "dir=$dir"; fi
    if [ -n "$dir" ] && ! pgrep -f "$dir" >/dev/null; then ok "demo leaves no process behind ($who)"
    else fail "demo leaves no process behind ($who)" "$(pgrep -af "${dir:-none}")"; fi
done
timeout 60 "$STAVILY" demo >"$TMP/demo.txt" 2>&1
check_grep "human output: numbered steps" '^\[14\] Shut down' "$TMP/demo.txt"
check_grep "human output shows the blocked exec" '"execve":"denied"' "$TMP/demo.txt"
check_grep "human output shows the event" '"event":"blocked_syscall_attempt"' "$TMP/demo.txt"
check_grep "human output shows the new serial" 'new serial   [0-9a-f]' "$TMP/demo.txt"
check_grep "human output: the sensor agent runs" '^\[7\] Sensor agent' "$TMP/demo.txt"
check_grep "human output: a table of stored sensor events, e-mail pseudonymized, token redacted" \
    '^    [0-9] +demo-sensor-1 +stavily-demo-sensor .*hmac-sha256:.*\[REDACTED\]' "$TMP/demo.txt"
check_grep "human output shows the stored blocked_syscall_attempt" 'stored by the orchestrator .*first blocked_syscall_attempt' "$TMP/demo.txt"
if grep -q 'NOT STORED' "$TMP/demo.txt"; then fail "human output: nothing reported missing" "$(grep -A2 'NOT STORED' "$TMP/demo.txt")"
else ok "human output: nothing reported missing"; fi
check_grep "human output: demo done" '^demo done: 0 step' "$TMP/demo.txt"

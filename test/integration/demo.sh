# `stavily demo`: every step it shows must really succeed, as root and
# unprivileged, and it must leave nothing behind.
. "$(dirname "$0")/lib.sh"

for who in root nobody; do
    if [ $who = root ]; then run=""; else run=as_nobody; fi
    before=$(ls -d /tmp/stavily-demo-* 2>/dev/null | wc -l)
    $run "$STAVILY" demo --json >"$TMP/demo.$who.json" 2>"$TMP/demo.$who.err"
    rc=$?
    if [ $rc = 0 ]; then ok "demo exits 0 ($who)"; else fail "demo exits 0 ($who)" "rc=$rc $(head -c 600 "$TMP/demo.$who.err")"; fi
    check "demo --json: every step ok ($who)" python3 - "$TMP/demo.$who.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["failures"] == 0, d
for k in ("config_brief", "config_insecure", "sandbox_hostile", "sandbox_good", "audit_intact", "audit_tampered"):
    assert d[k]["ok"], (k, d[k])
assert d["hostile_result"]["violations"] >= 3, d["hostile_result"]
assert d["probe"]["seccomp"] is True
PY
    after=$(ls -d /tmp/stavily-demo-* 2>/dev/null | wc -l)
    if [ "$before" = "$after" ]; then ok "demo cleans up ($who)"; else fail "demo cleans up ($who)" "$before -> $after"; fi
done
"$STAVILY" demo >"$TMP/demo.txt" 2>&1
check_grep "human output shows the blocked exec" 'execve: denied' "$TMP/demo.txt"
check_grep "human output shows the event" '"event":"blocked_syscall_attempt"' "$TMP/demo.txt"

# Network policy of `stavily sandbox run` (issue 3): with socket() allowed,
# `restricted` and `none` must not reach the host's network (a listener on
# the host's loopback stands for it: net namespace with its own loopback,
# Landlock TCP connect rules), while `full` reaches it (the positive control
# that shows the check can tell the difference).  As root and unprivileged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_sandbox.sh"

WT="--set wall_timeout=5s"
# socket/connect allowed: only the network policy can stop the connection
NETPOL="--set allowed_syscalls= --set blocked_syscalls=exec,fork"

# A listener on the host's loopback that counts accepted connections into a
# file; it ends by itself after 60 s (bounded) and is stopped at the end.
python3 - "$TMP/accepted" "$TMP/port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16); s.settimeout(0.5)
open(sys.argv[2] + ".tmp", "w").write(str(s.getsockname()[1])); __import__("os").rename(sys.argv[2] + ".tmp", sys.argv[2])
n = 0; end = time.time() + 60
open(sys.argv[1], "w").write("0")
while time.time() < end:
    try:
        c, _ = s.accept(); n += 1; open(sys.argv[1], "w").write(str(n)); c.close()
    except socket.timeout:
        pass
PY
listener=$!
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
port=$(cat "$TMP/port" 2>/dev/null)
[ -n "$port" ] || { fail "host loopback listener started"; kill "$listener"; exit 0; }
accepted() { cat "$TMP/accepted"; }

for who in root nobody; do
    for net in restricted none; do
        before=$(accepted)
        # shellcheck disable=SC2086
        sb_run "$who" "net-$net" $NETPOL --set network_access=$net $WT -- "$HOSTILE" connect 127.0.0.1 "$port"
        if [ "$SB_RC" = 0 ] && grep -Eq "^connect\(127.0.0.1:$port\): E" "$SB_OUT" && [ "$(accepted)" = "$before" ]; then
            ok "network_access=$net: the host's loopback is unreachable [$who]"
        else fail "network_access=$net: the host's loopback is unreachable [$who]" "accepted $before -> $(accepted);$(sb_context)"; fi
    done
    before=$(accepted)
    # shellcheck disable=SC2086
    sb_run "$who" net-full $NETPOL --set network_access=full $WT -- "$HOSTILE" connect 127.0.0.1 "$port"
    # the listener counts after accept(): give it up to 2 s
    for _ in $(seq 20); do [ "$(accepted)" -gt "$before" ] && break; sleep 0.1; done
    if grep -q "^connect(127.0.0.1:$port): SUCCEEDED" "$SB_OUT" && [ "$(accepted)" -gt "$before" ]; then
        ok "network_access=full: the host's loopback is reachable (control) [$who]"
    else fail "network_access=full: the host's loopback is reachable (control) [$who]" "accepted $before -> $(accepted);$(sb_context)"; fi
done
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null
true  # the listener ended by our kill: not a failure of the test

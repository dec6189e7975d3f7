#!/bin/bash
# ship_initramfs.sh: the initramfs proof (issue 7; docs/operations.md "Initramfs").  No VM can be
# booted here, so this proves what can be proven without a kernel: release/initramfs.sh writes a
# well-formed, reproducible cpio "newc" archive (read back by an independent reader written here
# from the kernel's format description, which also unpacks it, device nodes included), and the
# unpacked tree works as a root: /init (the binary, argv[0] "/init", environment as the kernel
# gives it) prints its version, `sandbox probe` degrades without /proc, `agent register` enrolls
# with an orchestrator on loopback, and `agent run` as PID 1 of a fresh PID namespace runs a job
# and stops on SIGTERM.  Nothing is mounted in the tree (no /proc, /sys, devtmpfs) but a tmpfs on
# its state directory, as the initramfs root is memory.
. "$(dirname "$0")/lib.sh"
TOP=${STAVILY_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
MK=$TOP/release/initramfs.sh
ORCH=$TMP/orch
ROOT=$TMP/root
OPID= APID= UPID= STATE_MNT=
cleanup() {
    for p in $APID $UPID $OPID; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "$STATE_MNT" ] && umount -l "$STATE_MNT" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
EPORT=$(free_port); APORT=$(free_port)
ctl() { "$STAVILY" ctl -S "$ORCH/admin.sock" --json "$@"; }
wait_until() {  # SECONDS CMD...: poll every 0.1 s, bounded
    local n=$(( $1 * 10 )); shift
    while [ "$n" -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d.get(k, {}) if isinstance(d, dict) else {}
print(d if not isinstance(d,(dict,list)) else json.dumps(d))' "$1"; }

# ---- an orchestrator on loopback, a tenant, a token -------------------------------------------
pin=$("$STAVILY" orchestrator init -d "$ORCH" --name localhost --san 127.0.0.1 2>"$TMP/init.err")
"$STAVILY" orchestrator run -c "$ORCH/orchestrator.yaml" \
    --set "orchestrator.listen_enroll=127.0.0.1:$EPORT" --set "orchestrator.listen_agent=127.0.0.1:$APORT" \
    --set "logging.file=$TMP/orch-events.log" >"$TMP/orch.out" 2>&1 &
OPID=$!
check "orchestrator up" wait_until 15 test -S "$ORCH/admin.sock"
ctl tenant add acme >/dev/null
ctl token create --tenant acme --uses 1 | jget token | tr -d '\n' >"$TMP/token"

# ---- build the initramfs ----------------------------------------------------------------------
mkdir -p "$TMP/plugins"
cp "$PLUGINS/agent_echo" "$TMP/plugins/echo"
sum=$(sha256sum "$TMP/plugins/echo" | cut -d' ' -f1)
printf '{"name":"echo","version":"1.0","type":"action","executable":"echo","sha256":"%s"}\n' "$sum" \
    >"$TMP/plugins/echo.json"
cat >"$TMP/agent.yaml" <<EOF
agent:
  type: action
  id: ir1
  tenant: acme
  state_dir: /var/lib/stavily/agent
  plugins_dir: /usr/lib/stavily/plugins
  enroll_url: https://127.0.0.1:$EPORT
  orchestrator_url: https://127.0.0.1:$APORT
  server_name: localhost
  token_file: /etc/stavily/token
  heartbeat_interval: 1s
  ca_pins: [$pin]
logging:
  file: /var/lib/stavily/events.log
EOF
check "the agent configuration for the image is valid" "$STAVILY" config check "$TMP/agent.yaml"
cp "$ORCH/ca.pem" "$TMP/ca.pem"
# mk OUT [EPOCH]: build with SOURCE_DATE_EPOCH=EPOCH, or unset (make exports one for releases)
mk() { env -u SOURCE_DATE_EPOCH ${2:+SOURCE_DATE_EPOCH=$2} "$MK" -o "$1" --binary "$STAVILY" \
    --config "$TMP/agent.yaml" --token-file "$TMP/token" --plugins "$TMP/plugins" \
    --file "$TMP/ca.pem:orchestrator-ca.pem"; }
check "release/initramfs.sh builds the archive" mk "$TMP/a.cpio"
mkdir "$TMP/elsewhere" && (cd "$TMP/elsewhere" && mk "$TMP/b.cpio" >/dev/null 2>&1)
check "reproducible: a second build (other directory) is byte-identical" cmp "$TMP/a.cpio" "$TMP/b.cpio"
mk "$TMP/c.cpio" 1700000000 >/dev/null 2>&1
check "SOURCE_DATE_EPOCH sets the times (and so the bytes)" sh -c '! cmp -s "$0" "$1"' "$TMP/a.cpio" "$TMP/c.cpio"
mkdir "$TMP/nobody" && chown 65534:65534 "$TMP/nobody" && cp "$TMP/agent.yaml" "$TMP/nobody/" && chmod 644 "$TMP/nobody/agent.yaml"
check "building needs no root (as uid 65534: device nodes are only archive entries)" \
    as_nobody "$MK" -o "$TMP/nobody/n.cpio" --binary "$STAVILY" --config "$TMP/nobody/agent.yaml"
check_exit "a dynamically linked binary is refused" 1 "$MK" -o "$TMP/d.cpio" --binary /bin/true --config "$TMP/agent.yaml"
check_exit "usage errors exit 64" 64 "$MK" -o "$TMP/d.cpio"

# ---- read it back: an independent newc reader, which also unpacks it -------------------------
mkdir "$ROOT"
python3 - "$TMP/a.cpio" "$ROOT" "$STAVILY" >"$TMP/read.out" 2>&1 <<'EOF'
import os, stat, sys
data = open(sys.argv[1], "rb").read(); root = sys.argv[2]; binary = open(sys.argv[3], "rb").read()
pos, seen, errors = 0, {}, []
def need(c, msg):
    if not c: errors.append(msg)
while True:
    if data[pos:pos + 6] != b"070701":
        sys.exit(f"bad magic at {pos}: {data[pos:pos+6]!r}")
    f = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
    ino, mode, uid, gid, nlink, mtime, size, _, _, rmaj, rmin, namesize, chk = f
    name = data[pos + 110: pos + 110 + namesize - 1].decode()
    need(data[pos + 110 + namesize - 1] == 0, f"{name}: name not NUL-terminated")
    pos = (pos + 110 + namesize + 3) & ~3
    body = data[pos: pos + size]
    pos = (pos + size + 3) & ~3
    if name == "TRAILER!!!":
        break
    need(uid == 0 and gid == 0 and chk == 0, f"{name}: owner {uid}:{gid} check {chk}")
    need(not name.startswith("/") and ".." not in name.split("/"), f"{name}: unsafe name")
    need(name not in seen, f"{name}: twice")
    need(os.path.dirname(name) in seen or "/" not in name, f"{name}: before its directory")
    seen[name] = (mode, body, (rmaj, rmin), mtime)
    p = os.path.join(root, name)
    if stat.S_ISDIR(mode):
        os.mkdir(p)
    elif stat.S_ISREG(mode):
        with open(p, "wb") as o: o.write(body)
    elif stat.S_ISLNK(mode):
        os.symlink(body.decode(), p)
    elif stat.S_ISCHR(mode):
        os.mknod(p, mode, os.makedev(rmaj, rmin))
    else:
        errors.append(f"{name}: unexpected type {oct(mode)}")
    if not stat.S_ISLNK(mode):
        os.chmod(p, stat.S_IMODE(mode))
need(all(b == 0 for b in data[pos:]) and len(data) % 512 == 0, "padding after the trailer")
want = {"init": (stat.S_IFLNK, b"stavily"), "stavily": (stat.S_IFREG | 0o755, binary),
        "etc/stavily/token": (stat.S_IFREG | 0o600, None), "dev/console": (stat.S_IFCHR | 0o600, None),
        "dev/null": (stat.S_IFCHR | 0o666, None), "tmp": (stat.S_IFDIR | 0o1777, None),
        "etc/stavily/orchestrator-ca.pem": (stat.S_IFREG | 0o644, None),
        "usr/lib/stavily/plugins/echo": (stat.S_IFREG | 0o755, None)}
for n, (m, body) in want.items():
    got = seen.get(n)
    need(got is not None and (got[0] == m or (m == stat.S_IFLNK and stat.S_ISLNK(got[0])))
         and (body is None or got[1] == body), f"{n}: {got and (oct(got[0]), got[1][:20])}")
need(seen.get("dev/console", (0, 0, None))[2] == (5, 1) and seen.get("dev/null", (0, 0, None))[2] == (1, 3),
     "device numbers")
need({m for _, _, _, m in seen.values()} == {0}, "mtime 0 without SOURCE_DATE_EPOCH")
print("entries:", " ".join(sorted(seen)))
if errors:
    print("ERRORS:", "; ".join(errors)); sys.exit(1)
EOF
rc=$?
check "newc archive well-formed, unpacked: /init -> stavily, the binary, config, token 0600, CA, plugin, /dev/console and /dev/null, /tmp 1777, owner 0:0, mtime 0" test "$rc" = 0
[ "$rc" = 0 ] || echo "# $(head -c 1500 "$TMP/read.out")"
inv=$(cd "$ROOT" && find . -mindepth 1 | sort | tr '\n' ' ')
check "nothing else is in it" test "$inv" = "./dev ./dev/console ./dev/null ./etc ./etc/stavily ./etc/stavily/agent.yaml ./etc/stavily/orchestrator-ca.pem ./etc/stavily/token ./init ./proc ./run ./stavily ./sys ./tmp ./usr ./usr/lib ./usr/lib/stavily ./usr/lib/stavily/plugins ./usr/lib/stavily/plugins/echo ./usr/lib/stavily/plugins/echo.json ./var ./var/lib ./var/lib/stavily "

# as_init CMD...: run /init CMD in the unpacked root with the kernel's environment for init
# (HOME=/ TERM=linux, no PATH), as root, in a fresh PID namespace (so `agent run` is PID 1),
# sharing the host's network namespace to reach the orchestrator on loopback
UNSHARE=$(command -v unshare) CHROOT=$(command -v chroot)
as_init() { env -i HOME=/ TERM=linux "$UNSHARE" --pid --fork --kill-child "$CHROOT" "$ROOT" /init "$@"; }

out=$(as_init --version 2>&1)
check "/init --version runs from the unpacked root" sh -c 'printf "%s" "$0" | grep -q "^stavily "' "$out"
as_init sandbox probe >"$TMP/probe.json" 2>"$TMP/probe.err"
rc=$?
check "sandbox probe without /proc: exit 0" test "$rc" -eq 0
check "sandbox probe without /proc: JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/probe.json"
echo "# probe in the initramfs root: $(head -c 300 "$TMP/probe.json" | tr '\n' ' ') stderr: $(head -c 300 "$TMP/probe.err" | tr '\n' ' ')"

# The initramfs root is memory: put the state directory on a tmpfs, as it is there.
mount -t tmpfs -o mode=0755,size=16m stavily-initramfs-state "$ROOT/var/lib/stavily" && STATE_MNT=$ROOT/var/lib/stavily
check "state directory on a tmpfs" test "$(stat -f -c %T "$ROOT/var/lib/stavily")" = tmpfs
as_init agent register -c /etc/stavily/agent.yaml >"$TMP/reg.out" 2>&1
rc=$?
check "agent register from the initramfs root against the loopback orchestrator (exit 0)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || echo "# register: $(head -c 600 "$TMP/reg.out")"
check "identity stored in the image's state directory (0700)" \
    test "$(stat -c %a "$ROOT/var/lib/stavily/agent" 2>/dev/null)" = 700 -a -s "$ROOT/var/lib/stavily/agent/identity.pem"

# (started without the function so that $! is unshare itself and its one child is /init)
env -i HOME=/ TERM=linux "$UNSHARE" --pid --fork --kill-child "$CHROOT" "$ROOT" /init \
    agent run -c /etc/stavily/agent.yaml >"$TMP/run.out" 2>&1 &
UPID=$!
check "agent run as PID 1 of its namespace: agent_started" \
    wait_until 15 grep -q '"agent_started"' "$ROOT/var/lib/stavily/events.log"
APID=$(pgrep -P "$UPID" | head -1)
check "... and it is PID 1 there" sh -c 'grep -q "^NSpid:.*[[:space:]]1$" "/proc/$0/status"' "${APID:-0}"
jid=$(ctl job submit --agent acme/ir1 --plugin echo --args '{"from":"initramfs"}' | jget id)
wait_until 25 sh -c '[ "$("$STAVILY" ctl -S "$0" --json job get "$1" | python3 -c "import json,sys; print(json.load(sys.stdin).get(\"state\"))")" = done ]' \
    "$ORCH/admin.sock" "$jid"
ctl job get "$jid" >"$TMP/job.json" 2>&1
check "a job runs in the initramfs agent's sandbox and its result comes back" python3 -c '
import json, sys
j = json.load(open(sys.argv[1])); r = j.get("result") or {}
sys.exit(not (r.get("status") == "succeeded" and r.get("stdout") == {"echo": {"from": "initramfs"}}
              and (r.get("layers") or {}).get("seccomp") is True))' "$TMP/job.json"
echo "# job result layers in the initramfs root: $(jget result.layers <"$TMP/job.json" | head -c 400)"
kill -TERM "${APID:-0}" 2>/dev/null
rc=timeout
for _ in $(seq 1 150); do kill -0 "$UPID" 2>/dev/null || { wait "$UPID"; rc=$?; break; }; sleep 0.1; done
check "SIGTERM to PID 1: the agent stops with exit 0" test "$rc" = 0
APID= UPID=
check "agent_stopped logged" grep -q '"agent_stopped"' "$ROOT/var/lib/stavily/events.log"
if grep -Eqi 'segmentation|core dumped|abort' "$TMP/run.out" "$TMP/reg.out" "$TMP/probe.err"; then
    fail "no crash in the initramfs root" "$(grep -Ehi 'segmentation|core dumped|abort' "$TMP/run.out" | head -3)"
else ok "no crash in the initramfs root"; fi

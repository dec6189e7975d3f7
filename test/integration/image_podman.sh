#!/bin/bash
# image_podman.sh: the FROM scratch image (issue 7).  Builds the image from the top-level
# Dockerfile with podman (runc, cgroupfs) and runs the agent in it against an orchestrator on
# the host's loopback (--network=host): it registers, runs a job in its sandbox, and the layers
# it reports from inside the container include seccomp and Landlock.  The container has a
# read-only root, no /etc/passwd (--passwd=false), no /etc/resolv.conf or /etc/hosts
# (--dns=none --no-hosts), /dev/urandom masked, and no shell (scratch); checked through
# /proc/PID/root of the running agent.  podman missing = FAIL (.ci/run installs it).
. "$(dirname "$0")/lib.sh"

ORCH=$TMP/orch
ROOT=$TMP/root
OPID= APID=
TAG=localhost/stavily-test:$$
CNAME=stavily-test-$$
POD() { timeout 60 podman --runtime runc --cgroup-manager=cgroupfs "$@"; }
cleanup() {
    POD rm -f -t 0 "$CNAME" >/dev/null 2>&1
    POD rmi -f "$TAG" >/dev/null 2>&1
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

if ! command -v podman >/dev/null; then
    fail "podman is installed (.ci/run must install podman and runc)"; exit 0
fi
ok "podman is installed"
STRIPPED=$(dirname "$STAVILY")/stavily.stripped
[ -x "$STRIPPED" ] || STRIPPED=$STAVILY
mkdir -p "$TMP/ctx"; cp "$STRIPPED" "$TMP/ctx/stavily"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
check "podman build of the FROM scratch Dockerfile" \
    POD build --pull=never --layers=false -q -f "$TOP/Dockerfile" -t "$TAG" "$TMP/ctx"
POD image inspect "$TAG" --format '{{json .Config}}' >"$TMP/config.json" 2>&1
check "image config: USER 65532, ENTRYPOINT /stavily, CMD agent run, OCI labels" python3 -c '
import json, sys
c = json.load(open(sys.argv[1])); l = c.get("Labels") or {}
sys.exit(not (c.get("User") == "65532:65532" and c.get("Entrypoint") == ["/stavily"]
              and c.get("Cmd") == ["agent", "run", "-c", "/etc/stavily/agent.yaml"]
              and l.get("org.opencontainers.image.title") == "stavily"
              and "org.opencontainers.image.version" in l))' "$TMP/config.json"
POD image inspect "$TAG" --format '{{len .RootFS.Layers}}' >"$TMP/layers" 2>&1
check "image: one layer (the binary only)" test "$(cat "$TMP/layers")" = 1

pin=$("$STAVILY" orchestrator init -d "$ORCH" --name localhost --san 127.0.0.1 2>"$TMP/init.err")
check "orchestrator init" test -n "$pin"
"$STAVILY" orchestrator run -c "$ORCH/orchestrator.yaml" \
    --set "orchestrator.listen_enroll=127.0.0.1:$EPORT" --set "orchestrator.listen_agent=127.0.0.1:$APORT" \
    --set "logging.file=$TMP/orch-events.log" >"$TMP/orch.out" 2>&1 &
OPID=$!
check "orchestrator up" wait_until 15 test -S "$ORCH/admin.sock"
ctl tenant add acme >/dev/null
token=$(ctl token create --tenant acme --uses 2 | jget token)

# ---- what the container gets: config, plugins (read-only) and a state volume ---------------
mkdir -p "$ROOT/etc" "$ROOT/plugins" "$ROOT/state"
cp "$PLUGINS/agent_echo" "$ROOT/plugins/echo"
sum=$(sha256sum "$ROOT/plugins/echo" | cut -d' ' -f1)
printf '{"name":"echo","version":"1.0","type":"action","executable":"echo","sha256":"%s"}\n' "$sum" \
    >"$ROOT/plugins/echo.json"
cat >"$ROOT/etc/agent.yaml" <<EOF
agent:
  type: action
  id: img1
  tenant: acme
  state_dir: /var/lib/stavily
  plugins_dir: /plugins
  enroll_url: https://127.0.0.1:$EPORT
  orchestrator_url: https://127.0.0.1:$APORT
  server_name: localhost
  heartbeat_interval: 1s
  ca_pins: [$pin]
logging:
  file: /var/lib/stavily/events.log
EOF
chmod 755 "$ROOT" "$ROOT/etc" "$ROOT/plugins"; chmod 644 "$ROOT/etc/agent.yaml" "$ROOT/plugins/echo.json"
chmod 755 "$ROOT/plugins/echo"; chown 65532:65532 "$ROOT/state"; chmod 700 "$ROOT/state"

# start_container NAME PODMAN-OPTS... -- CMD...: the image, hardened: host network, read-only root,
# no passwd/group entries, no resolv.conf/hosts, /dev/urandom masked, explicit ulimits
start_container() {
    local name=$1; shift
    local opts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    POD run -d --name "$name" --network=host --read-only --dns=none --no-hosts --passwd=false \
        --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --security-opt mask=/dev/urandom \
        -e STAVILY_INSTALLATION_TOKEN="$token" "${opts[@]}" \
        -v "$ROOT/etc:/etc/stavily:ro" -v "$ROOT/plugins:/plugins:ro" -v "$ROOT/state:/var/lib/stavily" \
        "$TAG" "$@"
}
# run_job TAG: submit an echo job to acme/img1, wait (bounded), leave the job in $TMP/job-TAG.json
run_job() {
    local jid
    jid=$(ctl job submit --agent acme/img1 --plugin echo --args "{\"from\":\"$1\"}" | jget id)
    wait_until 25 sh -c '[ "$("$STAVILY" ctl -S "$0" --json job get "$1" | python3 -c "import json,sys; print(json.load(sys.stdin).get(\"state\"))")" = done ]' \
        "$ORCH/admin.sock" "$jid"
    ctl job get "$jid" >"$TMP/job-$1.json" 2>&1
    echo "# job $1: result layers $(jget result.layers <"$TMP/job-$1.json" | head -c 400); error: $(jget result.error <"$TMP/job-$1.json" | head -c 200)"
}
# job_ok TAG PYTHON-CONDITION-ON-l(layers): the job succeeded, with its output, and l satisfies
job_ok() {
    python3 -c '
import json, sys
j = json.load(open(sys.argv[1])); r = j.get("result") or {}; l = r.get("layers") or {}
ll = l.get("landlock")
base = (l.get("seccomp") is True and (ll is True or (type(ll) is int and ll >= 1)) and l.get("no_new_privs") is True)
sys.exit(not (j.get("state") == "done" and r.get("status") == "succeeded"
              and r.get("stdout") == {"echo": {"from": sys.argv[2]}} and base and eval(sys.argv[3])))' \
        "$TMP/job-$1.json" "$1" "$2"
}
stop_container() {
    POD stop -t 15 "$1" >/dev/null 2>&1
    POD inspect "$1" --format '{{.State.ExitCode}}' 2>&1
}

# ---- A: the image's default CMD (agent run -c /etc/stavily/agent.yaml); token from the env;
# podman's default /proc masks kept.  The kernel refuses a fresh proc mount for the plugin's
# pid namespace while parts of /proc are over-mounted (mnt_too_revealing), so namespaces: auto
# must fall back to a run without namespaces (seccomp + Landlock + rlimits), say why in the
# result's layers and in a sandbox_layer_unavailable event, and probe must not claim them.
start_container "$CNAME" -- >"$TMP/run.id" 2>&1
check "podman run of the image (--network=host, --read-only, explicit ulimits)" \
    grep -Eq '^[0-9a-f]{64}$' "$TMP/run.id"
check "agent in the container registered and started" \
    wait_until 20 grep -q '"agent_started"' "$ROOT/state/events.log"
check "registered identity stored on the state volume, owned by 65532" \
    test "$(stat -c %u "$ROOT/state/identity.pem" 2>/dev/null)" = 65532

# the container as the agent sees it, through /proc/PID/root of its spawner
cpid=$(POD inspect "$CNAME" --format '{{.State.Pid}}' 2>/dev/null)
croot=/proc/${cpid:-0}/root
check "agent process in the container runs as uid 65532" \
    grep -Eq '^Uid:[[:space:]]+65532[[:space:]]+65532' "/proc/${cpid:-0}/status"
present=""
for f in etc/passwd etc/group etc/resolv.conf etc/hosts bin/sh bin usr lib; do
    [ -e "$croot/$f" ] && present="$present $f"
done
if [ -d "$croot/etc" ] && [ -z "$present" ]; then ok "inside: no /etc/passwd, /etc/resolv.conf, /etc/hosts, no shell, no libc"
else fail "inside: no /etc/passwd, /etc/resolv.conf, /etc/hosts, no shell, no libc" "present:$present"; fi
check "inside: /dev/urandom masked (not the random device 1:9)" \
    test "$(stat -c %t:%T "$croot/dev/urandom" 2>/dev/null)" != 1:9
check "inside: the root filesystem is mounted read-only" \
    awk '$5 == "/" { split($6, o, ","); if (o[1] == "ro") f = 1 } END { exit !f }' "/proc/${cpid:-0}/mountinfo"
POD exec "$CNAME" /stavily sandbox probe >"$TMP/probe.json" 2>&1
echo "# probe inside the container: $(head -c 400 "$TMP/probe.json")"

check "probe inside the masked container: namespaces false (a fresh proc cannot be mounted)" \
    python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])).get("namespaces") is not False)' "$TMP/probe.json"

run_job container
check "job under default /proc masks (namespaces: auto): succeeded without namespaces; seccomp, Landlock, NNP; namespaces_fallback names the minimal root" \
    job_ok container 'not l.get("namespaces") and "minimal root" in (l.get("namespaces_fallback") or "")'
check "sandbox_layer_unavailable (namespaces) event logged by the agent" \
    grep -q '"sandbox_layer_unavailable".*"namespaces"' "$ROOT/state/events.log"
check "podman stop (SIGTERM): the agent exits 0" test "$(stop_container "$CNAME")" = 0
check "agent_stopped logged" grep -q '"agent_stopped"' "$ROOT/state/events.log"
POD logs "$CNAME" >"$TMP/logs" 2>&1
echo "# container output: $(head -c 500 "$TMP/logs" | tr '\n' '|')"
POD rm -f -t 0 "$CNAME" >/dev/null 2>&1

# ---- B: /proc unmasked (--security-opt unmask=/proc/*): the namespaces work in the container
# (the agent runs as 65532 without capabilities, so the unmasked files are unreadable to it).
start_container "$CNAME" --security-opt 'unmask=/proc/*' -- >"$TMP/run2.id" 2>&1
check "second container (/proc unmasked): agent started with its stored identity" \
    wait_until 20 sh -c '[ "$(grep -c "\"agent_started\"" "$0")" -ge 2 ]' "$ROOT/state/events.log"
run_job unmasked
check "job with /proc unmasked: succeeded; layers include seccomp, Landlock, NNP, mount+pid+user namespaces, no fallback" \
    job_ok unmasked '{"mount", "pid", "user"} <= set(l.get("namespaces") or []) and "namespaces_fallback" not in l'
check "second container: podman stop exits 0" test "$(stop_container "$CNAME")" = 0

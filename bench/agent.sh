#!/bin/bash
# bench/agent.sh: the agent's figures of issue 6, on loopback against a real
# orchestrator: idle memory of a running action agent (PSS from
# /proc/PID/smaps_rollup summed over spawner and worker, RSS of each), job
# round trip (`ctl job submit --wait` until the stored result, trivial
# plugin; p50/p99), and sensor events per second end to end (plugin stdout
# -> sensor controls -> fsync'd spool -> POST /v1/agent/events -> stored).
# Prints a markdown table and writes bench/results-agent.md.  Never a test:
# nothing is asserted.  Bounded (about a minute).
#
#   BUILD=build bench/agent.sh        (what `make bench` runs)
#
# Environment: BUILD (default build), BENCH_JOBS (round trips, default 100),
# BENCH_EVENTS (sensor events, default 20000 = one
# plugin's rate-limit burst: more would be dropped as event_rate by design).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
if [ ! -x "$BUILD/stavily" ] || [ ! -x "$BUILD/plugins/agent_echo" ] || [ ! -x "$BUILD/plugins/agent_events" ]; then
    echo "bench/agent.sh: $BUILD/stavily or its test plugins missing (make BUILD=... first)" >&2
    exit 0
fi
export STAVILY=$BUILD/stavily PLUGINS=$BUILD/plugins BENCH_OUT=$top/bench/results-agent.md
exec timeout -k 5 150 python3 - <<'EOF'
import hashlib, json, os, shutil, signal, socket, subprocess, tempfile, time

STAVILY, PLUGINS = os.environ["STAVILY"], os.environ["PLUGINS"]
JOBS = int(os.environ.get("BENCH_JOBS", "100"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
TMP = tempfile.mkdtemp(prefix="stavily-bench-agent.")
ORCH = os.path.join(TMP, "orch")
SOCK = os.path.join(ORCH, "admin.sock")
procs = []


def port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(*a):
    e = dict(os.environ)
    e.pop("STAVILY_INSTALLATION_TOKEN", None)
    return subprocess.run(list(a), capture_output=True, text=True, timeout=60, env=e)


def ctl(*a):
    r = run(STAVILY, "ctl", "-S", SOCK, "--json", *a)
    if r.returncode != 0:
        raise RuntimeError("ctl %s: %s" % (a, r.stderr))
    return json.loads(r.stdout)


def wait_for(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def mem(pid):
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Pss", "Rss"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def plugin(pdir, name, src, kind):
    exe = os.path.join(pdir, name)
    shutil.copy(os.path.join(PLUGINS, src), exe)
    os.chmod(exe, 0o755)
    with open(os.path.join(pdir, name + ".json"), "w") as f:
        json.dump({"name": name, "version": "1.0", "type": kind, "executable": name,
                   "sha256": hashlib.sha256(open(exe, "rb").read()).hexdigest()}, f)


def agent(name, kind, pdir, hb, extra=""):
    d = os.path.join(TMP, name)
    os.makedirs(d)
    conf = os.path.join(d, "agent.yaml")
    with open(conf, "w") as f:
        f.write("agent:\n  type: %s\n  id: %s\n  tenant: acme\n  state_dir: %s\n  plugins_dir: %s\n"
                "  enroll_url: https://127.0.0.1:%d\n  orchestrator_url: https://127.0.0.1:%d\n"
                "  server_name: localhost\n  heartbeat_interval: %s\n  ca_pins: [%s]\n"
                "logging:\n  file: %s\n%s" % (kind, name, os.path.join(d, "state"), pdir, EPORT, APORT,
                                             hb, PIN, os.path.join(d, "events.log"), extra))
    tok = ctl("token", "create", "--tenant", "acme", "--uses", "1")["token"]
    tf = os.path.join(d, "token")
    with open(tf, "w") as f:
        f.write(tok)
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tf)
    if r.returncode != 0:
        raise RuntimeError("register: " + r.stderr)
    p = subprocess.Popen([STAVILY, "agent", "run", "-c", conf], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(d, "run.stderr"), "w"), start_new_session=True)
    procs.append(p)
    return p, d


def started(d):
    try:
        return "agent_started" in open(os.path.join(d, "events.log")).read()
    except OSError:
        return False


rows = []
try:
    EPORT, APORT = port(), port()
    r = run(STAVILY, "orchestrator", "init", "-d", ORCH, "--name", "localhost", "--san", "127.0.0.1")
    PIN = r.stdout.strip()
    srv = subprocess.Popen([STAVILY, "orchestrator", "run", "-c", os.path.join(ORCH, "orchestrator.yaml"),
                            "--set", "orchestrator.listen_enroll=127.0.0.1:%d" % EPORT,
                            "--set", "orchestrator.listen_agent=127.0.0.1:%d" % APORT,
                            "--set", "logging.file=" + os.path.join(TMP, "orch.log")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(srv)
    wait_for(lambda: os.path.exists(SOCK), 10)
    ctl("tenant", "add", "acme")
    os.chmod(TMP, 0o755)
    pdir = os.path.join(TMP, "plugins")
    os.makedirs(pdir, mode=0o755)
    plugin(pdir, "echo", "agent_echo", "action")

    # 1. idle memory of a running action agent
    a, d = agent("bench-action", "action", pdir, "30s")
    wait_for(lambda: started(d), 15)
    time.sleep(2)
    kids = children(a.pid)
    sp, wk = mem(a.pid), (mem(kids[0]) if kids else {})
    pss = sp.get("Pss", 0) + wk.get("Pss", 0)
    rows.append(("idle agent PSS, spawner + worker", "%.2f MiB" % (pss / 1024), "<= 2 MiB"))
    rows.append(("idle agent RSS, spawner / worker", "%.2f / %.2f MiB" % (sp.get("Rss", 0) / 1024,
                 wk.get("Rss", 0) / 1024), "-"))

    # 2. job round trip: the admin API directly (submit, then a long-poll
    # GET /v1/admin/jobs/ID?wait=5 answered when the result is stored), and
    # `ctl job submit --wait` as a whole process (the same long-poll)
    def admin(method, path, body=None):
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(10)
        c.connect(SOCK)
        data = json.dumps(body).encode() if body is not None else b""
        c.sendall(("%s %s HTTP/1.1\r\nHost: admin\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\nConnection: close\r\n\r\n" % (method, path, len(data))).encode() + data)
        buf = b""
        while True:
            x = c.recv(65536)
            if not x:
                break
            buf += x
        c.close()
        return json.loads(buf.partition(b"\r\n\r\n")[2] or b"{}")

    api = []
    for i in range(JOBS):
        t = time.monotonic()
        jid = admin("POST", "/v1/admin/jobs", {"tenant": "acme", "agent_id": "bench-action",
                                               "plugin": "echo", "args": {"i": i}}).get("id")
        end = t + 10
        while jid and time.monotonic() < end:
            # long-poll: answered as soon as the result is stored
            if admin("GET", "/v1/admin/jobs/" + jid + "?wait=5").get("state") == "done":
                api.append((time.monotonic() - t) * 1000)
                break
    api.sort()
    if api:
        rows.append(("job round trip p50 / p99 (%d jobs, admin API, long-poll)" % len(api),
                     "%.1f / %.1f ms" % (api[len(api) // 2], api[min(len(api) - 1, int(len(api) * 0.99))]),
                     "p50 <= 5 ms"))
    lat = []
    for i in range(JOBS):   # the issue's measure: a whole `ctl` process per job
        t = time.monotonic()
        r = run(STAVILY, "ctl", "-S", SOCK, "--json", "job", "submit", "--agent", "acme/bench-action",
                "--plugin", "echo", "--args", '{"i":%d}' % i, "--wait")
        if r.returncode == 0:
            lat.append((time.monotonic() - t) * 1000)
    lat.sort()
    if lat:
        p50 = lat[len(lat) // 2]
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        rows.append(("job round trip p50 / p99 (%d jobs, ctl job submit --wait)"
                     % len(lat), "%.1f / %.1f ms" % (p50, p99), "p50 <= 5 ms"))
    else:
        rows.append(("job round trip", "no job succeeded", "p50 <= 5 ms"))
    os.killpg(a.pid, signal.SIGTERM)
    a.wait(timeout=20)

    # 3. sensor events per second, end to end
    spdir = os.path.join(TMP, "sensors")
    os.makedirs(spdir, mode=0o755)
    plugin(spdir, "ev%d" % EVENTS, "agent_events", "sensor")
    s, d = agent("bench-sensor", "sensor", spdir, "60s",
                 extra="sensor:\n  sandbox:\n    max_output: 64MB\n")
    wait_for(lambda: started(d), 15)
    t0 = time.monotonic()

    def last_n():   # the plugin numbers its events; the spool keeps their order
        try:
            evs = ctl("events", "tail", "--tenant", "acme", "--event", "sensor_test",
                      "--limit", "1").get("events", [])
        except RuntimeError:
            return -1
        return evs[-1].get("n", -1) if evs else -1
    end = time.monotonic() + 60
    while time.monotonic() < end and last_n() < EVENTS - 1:
        time.sleep(0.25)   # each query scans the journal: do not load the orchestrator
    dt = time.monotonic() - t0
    try:
        n = len(ctl("events", "query", "--tenant", "acme", "--event", "sensor_test",
                    "--limit", "100000").get("events", []))
    except RuntimeError:
        n = 0
    rows.append(("sensor events/s end to end (%d events stored, spool fsync'd; from agent_started)" % n,
                 "%.0f /s" % (n / dt if dt > 0 else 0), ">= 20,000 /s"))
finally:
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL) if p is not procs[0] else p.kill()
        except OSError:
            pass
        try:
            p.wait(timeout=5)
        except Exception:
            pass
    shutil.rmtree(TMP, ignore_errors=True)

out = ["| agent (bench/agent.sh) | measured | target |", "|---|---|---|"]
out += ["| %s | %s | %s |" % r for r in rows]
text = "\n".join(out)
print(text)
with open(os.environ["BENCH_OUT"], "w") as f:
    # the load average says how much else ran: the round trip is mostly
    # process creation and scheduling, so a busy machine inflates it
    f.write("# Agent benchmark (bench/agent.sh)\n\n%s, %s, %d cores, load average %.2f at the end; "
            "loopback, one run, not a test.\n\n"
            % (time.strftime("%Y-%m-%d"), os.uname().release, os.cpu_count(), os.getloadavg()[0])
            + text + "\n")
EOF

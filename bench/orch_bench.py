#!/usr/bin/env python3
"""bench/orch_bench.py: the orchestrator under load, measured from outside.

Driven by bench/orchestrator.sh (which raises the descriptor limit first).
Python's ssl is the client; the orchestrator is the real `stavily
orchestrator run` on loopback with a fresh state directory.  Figures:

  idle      N mutual-TLS connections handshaken and held open, the
            orchestrator's VmRSS/VmHWM read from /proc/PID/status
  enroll    POST /v1/enroll per second (CSR check, certificate signed,
            journal fsync'd before 201), a few client threads
  events    acknowledged events per second (POST /v1/agent/events: the
            200 comes after fsync), batches of 1 and of 100
  dispatch  job submit on the admin socket -> the parked long-poll of the
            agent returns the job: latency percentiles
  handshakes full TLS handshakes per second on the enrollment listener with
            4 `openssl s_time -new` processes as the client (C, so that
            the client is not the bottleneck it is with Python), and the
            CPU time each orchestrator thread spent meanwhile (/proc/PID/
            task/*/stat): with several event loops it is spread over them

BENCH_WORKERS (default auto) is the orchestrator's `orchestrator.workers`
(event loops); the loops the server reports are in "workers" and, per
loop, in "loops" (GET /v1/admin/status at the end).

Each phase is bounded by a wall-clock budget; nothing is asserted (this is
a benchmark, not a test).  Output: JSON on stdout for orchestrator.sh.
"""
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

STAVILY = os.environ["STAVILY"]
IDLE_TARGET = int(os.environ.get("BENCH_IDLE_CONNS", "10000"))
PHASE_SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
WORKERS = os.environ.get("BENCH_WORKERS", "auto")
TMP = tempfile.mkdtemp(prefix="stavily-bench-orch.")
STATE = os.path.join(TMP, "state")
CONF = os.path.join(STATE, "orchestrator.yaml")
SOCK = os.path.join(STATE, "admin.sock")
CA = os.path.join(STATE, "ca.pem")
server = None
out = {}


def log(msg):
    print("# " + msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


EPORT, APORT = free_port(), free_port()


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


def admin(method, path, body=None):
    c = UnixHTTP(SOCK)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else {})
    finally:
        c.close()


def rss():
    vals = {}
    with open("/proc/%d/status" % server.pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                vals[k] = int(v.split()[0])
    return vals


def start():
    global server
    errf = open(os.path.join(TMP, "server.stderr"), "a")
    server = subprocess.Popen([STAVILY, "orchestrator", "run", "-c", CONF,
                               "--set", "orchestrator.listen_enroll=127.0.0.1:%d" % EPORT,
                               "--set", "orchestrator.listen_agent=127.0.0.1:%d" % APORT,
                               "--set", "orchestrator.max_connections=%d" % (IDLE_TARGET + 200),
                               "--set", "orchestrator.max_connections_per_source=%d" % (IDLE_TARGET + 200),
                               "--set", "orchestrator.workers=" + WORKERS,
                               "--set", "logging.file=" + os.path.join(TMP, "events.log")],
                              stdout=errf, stderr=errf)
    end = time.monotonic() + 15
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", APORT), timeout=0.5).close()
            socket.create_connection(("127.0.0.1", EPORT), timeout=0.5).close()
            if os.path.exists(SOCK):
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def make_csr():
    key = os.path.join(TMP, "agent.key")
    csr = os.path.join(TMP, "agent.csr")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-subj", "/CN=bench", "-out", csr],
                   check=True, capture_output=True, timeout=30)
    return open(csr).read(), key


def enroll_conn():
    ctx = ssl.create_default_context(cafile=CA)
    return http.client.HTTPSConnection("localhost", EPORT, context=ctx, timeout=30)


def enroll_one(c, auth, csr, agent_id):
    c.request("POST", "/v1/enroll", body=json.dumps({"csr": csr, "agent_id": agent_id}),
              headers={"Authorization": auth, "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.will_close:
        c.close()
    return r.status, data


def agent_ctx(cert, key):
    ctx = ssl.create_default_context(cafile=CA)
    ctx.load_cert_chain(cert, key)
    return ctx


def phase_enroll(token, csr):
    auth = "Basic " + base64.b64encode(("bench:" + token).encode()).decode()
    counts, errors = [0, 0], []
    stop_at = time.monotonic() + PHASE_SECONDS
    lock = threading.Lock()

    def worker(w):
        c = enroll_conn()
        n = 0
        while time.monotonic() < stop_at:
            st, data = enroll_one(c, auth, csr, "e%d-%d" % (w, n))
            n += 1
            with lock:
                if st == 201:
                    counts[0] += 1
                else:
                    counts[1] += 1
                    if len(errors) < 3:
                        errors.append((st, data[:200]))
        c.close()

    t0 = time.monotonic()
    ths = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(PHASE_SECONDS + 60)
    dt = time.monotonic() - t0
    out["enroll"] = {"ok": counts[0], "errors": counts[1], "seconds": round(dt, 2),
                     "per_second": round(counts[0] / dt, 1), "clients": 4, "sample_errors": repr(errors)}
    log("enroll: %s" % out["enroll"])


def phase_events(certs, batch):
    counts, errors = [0, 0], []
    stop_at = time.monotonic() + PHASE_SECONDS
    lock = threading.Lock()

    def worker(w):
        cert, key = certs[w]
        c = http.client.HTTPSConnection("localhost", APORT, context=agent_ctx(cert, key), timeout=30)
        seq = 0
        while time.monotonic() < stop_at:
            evs = [{"id": "b%d-%d-%d" % (batch, w, seq + i), "level": "INFO", "component": "bench",
                    "event": "bench_event", "details": {"n": seq + i}} for i in range(batch)]
            seq += batch
            c.request("POST", "/v1/agent/events", body=json.dumps({"events": evs}),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            with lock:
                if r.status == 200:
                    counts[0] += len(json.loads(data).get("acked", []))
                else:
                    counts[1] += 1
                    if len(errors) < 3:
                        errors.append((r.status, data[:200]))
            if r.will_close:
                c.close()
        c.close()

    t0 = time.monotonic()
    ths = [threading.Thread(target=worker, args=(w,)) for w in range(len(certs))]
    for t in ths:
        t.start()
    for t in ths:
        t.join(PHASE_SECONDS + 60)
    dt = time.monotonic() - t0
    r = {"acked": counts[0], "errors": counts[1], "seconds": round(dt, 2), "batch": batch,
         "agents": len(certs), "per_second": round(counts[0] / dt, 1), "sample_errors": repr(errors)}
    out["events_batch_%d" % batch] = r
    log("events: %s" % r)


def phase_dispatch(cert, key, agent_id, rounds=40):
    lat, errors = [], []
    got = threading.Event()
    recv_at = [0.0]
    c = http.client.HTTPSConnection("localhost", APORT, context=agent_ctx(cert, key), timeout=60)
    c.connect()
    stop_at = time.monotonic() + PHASE_SECONDS * 2

    def poller(result):
        try:
            c.request("GET", "/v1/agent/jobs?wait=20")
            r = c.getresponse()
            data = r.read()
            recv_at[0] = time.monotonic()
            result.append((r.status, data))
        except Exception as e:  # reported, never raised out of the thread
            result.append(("exc", repr(e)))
        got.set()

    for i in range(rounds):
        if time.monotonic() > stop_at:
            break
        got.clear()
        res = []
        th = threading.Thread(target=poller, args=(res,))
        th.start()
        time.sleep(0.05)          # let the long-poll park
        t0 = time.monotonic()
        st, j = admin("POST", "/v1/admin/jobs", {"tenant": "bench", "agent_id": agent_id,
                                                 "plugin": "status", "args": {"i": i}})
        if st != 201:
            errors.append(("submit", st, j))
            th.join(25)
            continue
        th.join(25)
        if res and res[0][0] == 200 and json.loads(res[0][1])["jobs"][0]["id"] == j["id"]:
            lat.append((recv_at[0] - t0) * 1000.0)
        else:
            errors.append(("poll", res[:1]))
    c.close()
    lat.sort()

    def pct(p):
        return round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None
    out["dispatch"] = {"rounds": len(lat), "p50_ms": pct(0.5), "p95_ms": pct(0.95),
                       "max_ms": round(lat[-1], 2) if lat else None, "errors": repr(errors[:3])}
    log("dispatch: %s" % out["dispatch"])


def thread_cpu():
    """CPU seconds (user + system) per thread of the orchestrator."""
    tck = os.sysconf("SC_CLK_TCK")
    res = {}
    for tid in os.listdir("/proc/%d/task" % server.pid):
        try:
            with open("/proc/%d/task/%s/stat" % (server.pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            res[tid] = (int(fields[11]) + int(fields[12])) / tck
        except (OSError, IndexError, ValueError):
            pass
    return res


def phase_handshakes():
    if not shutil.which("openssl"):
        out["handshakes"] = {"error": "no openssl"}
        return
    before = thread_cpu()
    t0 = time.monotonic()
    procs = [subprocess.Popen(["openssl", "s_time", "-connect", "127.0.0.1:%d" % EPORT, "-new",
                               "-time", str(int(PHASE_SECONDS)), "-CAfile", CA],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for _ in range(4)]
    n = 0
    for p in procs:
        try:
            o, _ = p.communicate(timeout=PHASE_SECONDS + 30)
        except subprocess.TimeoutExpired:
            p.kill()
            o, _ = p.communicate()
        for line in o.splitlines():
            if "connections in" in line and "real seconds" in line:
                n += int(line.split()[0])
    dt = time.monotonic() - t0
    after = thread_cpu()
    per = sorted((round(after[t] - before.get(t, 0.0), 2) for t in after), reverse=True)
    out["handshakes"] = {"connections": n, "seconds": round(dt, 1),
                         "per_second": round(n / dt, 1) if dt else None,
                         "server_cpu_seconds_per_thread": per,
                         "server_cpu_percent": round(100 * sum(per) / dt, 1) if dt else None}
    log("handshakes: %s" % out["handshakes"])


def phase_idle(cert, key):
    ctx = agent_ctx(cert, key)
    held, errors = [], []
    lock = threading.Lock()
    base = rss()
    deadline = time.monotonic() + float(os.environ.get("BENCH_IDLE_SECONDS", "50"))
    nthreads = 4
    per = (IDLE_TARGET + nthreads - 1) // nthreads

    def worker():
        mine = []
        for _ in range(per):
            if time.monotonic() > deadline:
                break
            try:
                s = socket.create_connection(("127.0.0.1", APORT), timeout=15)
                t = ctx.wrap_socket(s, server_hostname="localhost")
                mine.append(t)
            except (OSError, ssl.SSLError) as e:
                with lock:
                    if len(errors) < 3:
                        errors.append(repr(e))
                    errors.append(None)
        with lock:
            held.extend(mine)

    t0 = time.monotonic()
    ths = [threading.Thread(target=worker) for _ in range(nthreads)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(120)
    dt = time.monotonic() - t0
    held = held[:IDLE_TARGET]
    time.sleep(1.0)
    now = rss()
    # still open? a cheap probe: the server has not closed them (no EOF pending)
    alive = 0
    for t in held:
        try:
            t.setblocking(False)
            try:
                d = t.recv(1)
                if d:
                    alive += 1
            except ssl.SSLWantReadError:
                alive += 1
        except (OSError, ssl.SSLError):
            pass
    out["idle"] = {"target": IDLE_TARGET, "opened": len(held), "alive": alive,
                   "failures": sum(1 for e in errors if e is None), "open_seconds": round(dt, 1),
                   "handshakes_per_second": round(len(held) / dt, 1) if dt else None,
                   "rss_before_kib": base["VmRSS"], "rss_kib": now["VmRSS"], "hwm_kib": now["VmHWM"],
                   "threads": now.get("Threads"),
                   "kib_per_conn": round((now["VmRSS"] - base["VmRSS"]) / len(held), 1) if held else None,
                   "sample_errors": repr([e for e in errors if e][:3])}
    log("idle: %s" % out["idle"])
    for t in held:
        try:
            t.close()
        except OSError:
            pass


def main():
    subprocess.run([STAVILY, "orchestrator", "init", "-d", STATE, "--name", "localhost",
                    "--trust-domain", "bench.example"], check=True, capture_output=True, timeout=60)
    if not start():
        raise RuntimeError("orchestrator did not start: " + open(os.path.join(TMP, "server.stderr")).read())
    out["rss_start_kib"] = rss()["VmRSS"]
    st, _ = admin("POST", "/v1/admin/tenants", {"name": "bench"})
    st, tok = admin("POST", "/v1/admin/tokens", {"tenant": "bench", "uses": 1000000})
    if st not in (200, 201):
        raise RuntimeError("token create: %s %s" % (st, tok))
    csr, key = make_csr()
    auth = "Basic " + base64.b64encode(("bench:" + tok["token"]).encode()).decode()
    certs = []
    c = enroll_conn()
    for i in range(4):
        st, data = enroll_one(c, auth, csr, "agent%d" % i)
        if st != 201:
            raise RuntimeError("enroll: %s %s" % (st, data))
        p = os.path.join(TMP, "agent%d.pem" % i)
        with open(p, "w") as f:
            f.write(json.loads(data)["certificate"])
        certs.append((p, key))
    c.close()
    phase_enroll(tok["token"], csr)
    phase_events(certs, 1)
    phase_events(certs, 100)
    phase_dispatch(certs[0][0], key, "agent0")
    phase_handshakes()
    phase_idle(certs[1][0], key)
    out["rss_end_kib"] = rss()["VmRSS"]
    st, status = admin("GET", "/v1/admin/status")
    if st == 200:
        out["workers"] = status["workers"]
        out["loops"] = [{"accepted": lp["accepted"], "requests": lp["requests"]} for lp in status["loops"]]
    server.send_signal(signal.SIGTERM)
    try:
        out["exit"] = server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        out["exit"] = "timeout"


try:
    main()
except Exception as e:
    out["error"] = repr(e)
finally:
    if server is not None and server.poll() is None:
        server.kill()
        server.wait(timeout=10)
    shutil.rmtree(TMP, ignore_errors=True)
    print(json.dumps(out))

#!/usr/bin/env python3
"""orch_loops.py: the orchestrator with one event loop per worker thread
(orchestrator.workers: 4, issue 5 "one event loop per core"), black-box.

(a) many concurrent clients (enrollments, event batches, long-polls at once)
    are all answered, and the connections were served by more than one loop
    (GET /v1/admin/status per-loop counters, and orchestrator_stopped);
(b) max_connections and max_connections_per_source hold over all loops
    together (raw TCP connections from several 127.0.0.x sources);
(c) a job submitted over the admin socket (loop 0) wakes long-polls parked
    in the other loops at once;
(d) kill -9 under a load of concurrent event streams, restart: no
    acknowledged event lost, none stored twice.
Every wait is bounded; the server is killed at the end whatever happens.
"""
import base64
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from lib_orch import install
from lib_agent import wait_for

STAVILY = os.environ["STAVILY"]
WORKERS = 4
MAX_CONNS, MAX_PER_SOURCE = 40, 6
install(globals(), STAVILY, "stavily-orchloops.", trust_domain=None, start_timeout=20,
        extra=["--set", "orchestrator.workers=%d" % WORKERS,
               "--set", "orchestrator.max_connections=%d" % MAX_CONNS,
               "--set", "orchestrator.max_connections_per_source=%d" % MAX_PER_SOURCE])


def admin(method, path, body=None):
    """One request on the admin socket: (status, json)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(SOCK)
    data = json.dumps(body).encode() if body is not None else b""
    s.sendall(("%s %s HTTP/1.1\r\nHost: admin\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
               % (method, path, len(data))).encode() + data)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    head, _, payload = out.partition(b"\r\n\r\n")
    return int(head.split()[1]), (json.loads(payload) if payload else {})


def status():
    st, j = admin("GET", "/v1/admin/status")
    if st != 200:
        raise RuntimeError("status: %s %s" % (st, j))
    return j


def call(cert, key, method, path, body=None, timeout=20, source="127.0.0.1"):
    """One request on a NEW mTLS connection (so that requests spread over
    the loops): (status, json) or ("refused", why)."""
    try:
        return agent_call(path, cert, key, body, method=method, timeout=timeout, source=source)
    except http.client.HTTPException as e:
        return "refused", repr(e)


def raw_conns(source, n):
    """n plain TCP connections to the enrollment listener from `source`
    (no TLS: they wait in the handshake phase, 10 s)."""
    out = []
    for _ in range(n):
        s = socket.socket()
        s.bind((source, 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", EPORT))
        out.append(s)
    return out


def still_open(socks, settle=1.0):
    """How many of `socks` the server did not close (after `settle` s)."""
    time.sleep(settle)
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1):
                n += 1   # not expected: the server says nothing first
        except BlockingIOError:
            n += 1       # nothing to read, no EOF: still open
        except OSError:
            pass         # reset: closed
    return n


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


try:
    r = init()
    check("init", r.returncode == 0, r.stderr)
    check("server up with workers: %d" % WORKERS, start())
    wait_for(lambda: events("orchestrator_started"), 10)
    st0 = events("orchestrator_started")
    check("orchestrator_started says workers: %d" % WORKERS,
          len(st0) == 1 and st0[0]["details"].get("workers") == WORKERS, st0)
    s = status()
    check("admin status: %d loops" % WORKERS, s.get("workers") == WORKERS and len(s.get("loops", [])) == WORKERS, s)
    # SO_REUSEPORT must not let a second orchestrator share the ports
    st2 = os.path.join(TMP, "state2")
    r = run(STAVILY, "orchestrator", "init", "-d", st2, "--name", "localhost")
    r2 = subprocess.run([STAVILY, "orchestrator", "run", "-c", os.path.join(st2, "orchestrator.yaml"),
                         "--set", "orchestrator.listen_enroll=127.0.0.1:%d" % EPORT,
                         "--set", "orchestrator.listen_agent=127.0.0.1:%d" % APORT,
                         "--set", "orchestrator.workers=%d" % WORKERS],
                        capture_output=True, text=True, timeout=30)
    check("a second orchestrator on the same ports refuses to start (exit 1, address in use)",
          r.returncode == 0 and r2.returncode == 1 and "in use" in r2.stderr.lower(), (r2.returncode, r2.stderr))
    check("... and the first one still serves", status().get("workers") == WORKERS)
    ctl_json("tenant", "add", "acme")
    NCLI = 16
    tok = ctl_json("token", "create", "--tenant", "acme", "--uses", str(NCLI + 2))["token"]

    # ---- (a) concurrent enrollments, event batches and long-polls ----------------------
    results = {}
    t_a = time.monotonic()

    def client(k):
        # one source address per client: max_connections_per_source (6)
        # is not what this phase is about
        res = results.setdefault(k, {})
        src = "127.0.1.%d" % (k + 1)
        try:
            st, _, cert, key = enroll("acme", tok, "c%02d" % k, source=src, timeout=20)
            res["enroll"] = st
            if st != 201:
                return
            res["cert"] = (cert, key)
            res["events"] = []
            for b in range(3):
                ev = [{"id": "a%02d-%d-%d" % (k, b, i), "event": "loop_test"} for i in range(10)]
                res["events"].append(call(cert, key, "POST", "/v1/agent/events", {"events": ev}, source=src)[0])
            res["poll"] = call(cert, key, "GET", "/v1/agent/jobs?wait=1", source=src)[0]
        except Exception as e:  # noqa: BLE001
            res["error"] = repr(e)
    ths = [threading.Thread(target=client, args=(k,)) for k in range(NCLI)]
    [t.start() for t in ths]
    [t.join(90) for t in ths]
    el_a = time.monotonic() - t_a
    check("%d concurrent clients: all enrolled (201)" % NCLI,
          all(results.get(k, {}).get("enroll") == 201 for k in range(NCLI)), results)
    check("all their event batches acknowledged (200)",
          all(results.get(k, {}).get("events") == [200, 200, 200] for k in range(NCLI)),
          {k: results.get(k, {}).get("events") for k in range(NCLI)})
    check("all their long-polls answered (204, no job)",
          all(results.get(k, {}).get("poll") == 204 for k in range(NCLI)),
          {k: results.get(k, {}).get("poll") for k in range(NCLI)})
    check("the concurrent phase took a bounded time (%.1f s)" % el_a, el_a < 60, el_a)
    q = ctl_json("events", "query", "--tenant", "acme", "--event", "loop_test")["events"]
    check("every event of the phase stored once", len(q) == NCLI * 30 and len({e["id"] for e in q}) == NCLI * 30,
          len(q))
    s = status()
    acc = [lp["accepted"] for lp in s["loops"]]
    req = [lp["requests"] for lp in s["loops"]]
    check("(a) connections were accepted by more than one loop", sum(1 for a in acc if a > 0) >= 2, s)
    check("(a) requests were answered by more than one loop", sum(1 for x in req if x > 0) >= 2, s)

    # ---- (b) caps over all loops --------------------------------------------------------
    wait_for(lambda: status()["network_connections"] == 0, 10)
    a = raw_conns("127.0.0.2", MAX_PER_SOURCE + 4)
    n_a = still_open(a)
    check("(b) max_connections_per_source=%d holds over the loops (%d of %d open)"
          % (MAX_PER_SOURCE, n_a, len(a)), n_a == MAX_PER_SOURCE, n_a)
    more = []
    for i in range(3, 3 + (MAX_CONNS // MAX_PER_SOURCE) + 2):
        more += raw_conns("127.0.0.%d" % i, MAX_PER_SOURCE)
    n_m = still_open(more)
    check("(b) max_connections=%d holds over the loops (%d + %d open)" % (MAX_CONNS, n_a, n_m),
          n_a + n_m == MAX_CONNS and status()["network_connections"] == MAX_CONNS, (n_a, n_m, status()))
    s = status()
    check("(b) the %d connections sit in more than one loop" % MAX_CONNS,
          sum(1 for lp in s["loops"] if lp["connections"] > 0) >= 2, s)
    refused = events("connection_refused")
    check("(b) refusals reported for both caps",
          sum(1 for e in refused if e["details"].get("cap") == "per_source") >= 4
          and sum(1 for e in refused if e["details"].get("cap") == "total") >= 1,
          [e["details"] for e in refused][:10])
    close_all(a + more)
    check("(b) the slots are given back when connections close",
          wait_for(lambda: status()["network_connections"] == 0, 10), status())
    a = raw_conns("127.0.0.2", MAX_PER_SOURCE)
    n_a = still_open(a)
    close_all(a)
    check("(b) the same source gets its %d connections again" % MAX_PER_SOURCE, n_a == MAX_PER_SOURCE, n_a)
    wait_for(lambda: status()["network_connections"] == 0, 10)

    # ---- (c) a job from the admin socket wakes long-polls parked in other loops ----------
    NPOLL = 8
    got = {}

    def poll(k):
        cert, key = results[k]["cert"]
        t = time.monotonic()
        got[k] = (call(cert, key, "GET", "/v1/agent/jobs?wait=20", timeout=30, source="127.0.2.%d" % (k + 1)),
                  time.monotonic(), t)
    pths = [threading.Thread(target=poll, args=(k,)) for k in range(NPOLL)]
    [t.start() for t in pths]
    wait_for(lambda: status()["parked"] == NPOLL, 10)
    s = status()
    parked_in = [lp["parked"] for lp in s["loops"]]
    check("(c) %d long-polls parked, in loops other than 0 too" % NPOLL,
          sum(parked_in) == NPOLL and sum(parked_in[1:]) > 0, parked_in)
    jobs, tsub = {}, {}
    for k in range(NPOLL):
        # the admin socket is served by loop 0; submit over it directly
        # (no ctl process start-up in the measured time)
        tsub[k] = time.monotonic()
        st, j = admin("POST", "/v1/admin/jobs", {"tenant": "acme", "agent_id": "c%02d" % k, "plugin": "uptime"})
        jobs[k] = (st, j.get("id"))
    [t.join(35) for t in pths]
    lat = []
    good = True
    for k in range(NPOLL):
        (st, j), tdone, _ = got.get(k, ((None, None), 0, 0))
        if not (jobs[k][0] == 201 and st == 200 and [x["id"] for x in j.get("jobs", [])] == [jobs[k][1]]):
            good = False
        lat.append(tdone - tsub[k])
    check("(c) every parked long-poll got its job", good, (jobs, got))
    check("(c) ... at once (slowest %.0f ms after its submission)" % (max(lat) * 1000), max(lat) < 1.0, lat)

    # ---- (d) kill -9 under load, restart: no acknowledged event lost -----------------------
    NSTREAM = 6
    acked, stop_flag = [], [False]
    lock = threading.Lock()

    def stream(k):
        cert, key = results[k]["cert"]
        n = 0
        for b in range(500):
            if stop_flag[0]:
                break
            ev = [{"id": "d%d-%d" % (k, n + i), "event": "kill_test"} for i in range(10)]
            n += 10
            st, j = call(cert, key, "POST", "/v1/agent/events", {"events": ev}, timeout=5,
                         source="127.0.3.%d" % (k + 1))
            if st != 200:
                break
            with lock:
                acked.extend(j["acked"])
    sths = [threading.Thread(target=stream, args=(k,)) for k in range(NSTREAM)]
    [t.start() for t in sths]
    wait_for(lambda: len(acked) >= 300, 30)
    server.kill()
    server.wait(timeout=10)
    stop_flag[0] = True
    [t.join(30) for t in sths]
    check("(d) concurrent streams acknowledged events before kill -9", len(acked) >= 300, len(acked))
    check("(d) restart after kill -9", start())
    q = ctl_json("events", "query", "--tenant", "acme", "--event", "kill_test")["events"]
    ids = [e["id"] for e in q]
    check("(d) every acknowledged event present after kill -9", set(acked) <= set(ids),
          (len(acked), len(ids), sorted(set(acked) - set(ids))[:5]))
    check("(d) no event stored twice", len(ids) == len(set(ids)), len(ids) - len(set(ids)))

    # ---- a token's use count holds under concurrent enrollments in several loops -----------
    # (the CSR check and signing run outside the app lock; the token is
    # checked again after them)
    ctl_json("tenant", "add", "beta")
    tb = ctl_json("token", "create", "--tenant", "beta", "--uses", "3")["token"]
    csrs = [make_csr("u%d" % k) for k in range(8)]
    got_u = {}

    def use(k):
        csr, _ = csrs[k]
        ctx = ssl.create_default_context(cafile=CA)
        c = http.client.HTTPSConnection("localhost", EPORT, context=ctx, timeout=20,
                                        source_address=("127.0.4.%d" % (k + 1), 0))
        auth = base64.b64encode(("beta:" + tb).encode()).decode()
        try:
            c.request("POST", "/v1/enroll", body=json.dumps({"csr": csr, "agent_id": "u%d" % k}),
                      headers={"Authorization": "Basic " + auth})
            got_u[k] = c.getresponse().status
        except (OSError, ssl.SSLError, http.client.HTTPException) as e:
            got_u[k] = repr(e)
        finally:
            c.close()
    uths = [threading.Thread(target=use, args=(k,)) for k in range(8)]
    [t.start() for t in uths]
    [t.join(60) for t in uths]
    sts = sorted(str(x) for x in got_u.values())
    check("a 3-use token, 8 concurrent enrollments: exactly 3 enrolled, 5 refused (401)",
          sts == ["201"] * 3 + ["401"] * 5, got_u)
    agents_b = [a for a in ctl_json("agent", "list")["agents"] if a.get("tenant") == "beta"]
    check("... and exactly 3 agents in the registry", len(agents_b) == 3, agents_b)

    # ---- SIGHUP with several loops: the log is reopened once ------------------------------
    os.rename(EVENTS, EVENTS + ".1")
    server.send_signal(signal.SIGHUP)
    wait_for(lambda: events("logs_reopened"), 10)
    time.sleep(1.5)
    check("SIGHUP with %d loops: the event log reopened once" % WORKERS,
          len(events("logs_reopened")) == 1, events("logs_reopened"))

    # ---- clean stop: orchestrator_stopped carries the per-loop counters --------------------
    for k in range(4):
        cert, key = results[k]["cert"]
        call(cert, key, "POST", "/v1/agent/heartbeat", {"status": "ok"})
    rc = stop(timeout=20)
    check("SIGTERM: exit 0 with %d loops" % WORKERS, rc == 0, rc)
    sp = events("orchestrator_stopped")
    loops = sp[-1]["details"].get("loops", []) if sp else []
    check("(a) orchestrator_stopped lists %d loops, more than one of which accepted connections" % WORKERS,
          len(loops) == WORKERS and sum(1 for lp in loops if lp.get("accepted", 0) > 0) >= 2
          and sp[-1]["details"].get("result") == "ok", sp[-1:] if sp else None)
    check("admin socket removed at exit", not os.path.exists(SOCK))
except Exception as e:  # noqa: BLE001
    fail("unexpected exception", repr(e))
finally:
    finish()
T.exit()

#!/usr/bin/env python3
"""orch_restore.py: what survives a restart, and backup/restore of the state
directory as docs/operations.md section 4 describes it.

Independent clients (Python ssl, openssl keys) for agents a1 (tenant acme)
and b1 (tenant beta).
  * last_seen survives a clean restart (last_seen.json snapshot);
  * a delivered job without a result is not handed out again after a
    restart, clean or kill -9 (the delivery is journaled: a lease);
  * backup with `tar` while the orchestrator runs (events streaming in) and
    while it is stopped; each backup restored into a NEW directory and
    started: the orchestrator_started counts match, a1 and b1 still
    authenticate, the events acknowledged before the copy are all there,
    once each, and `audit verify` passes (with --head for the stopped copy).
Every wait is bounded; every process is killed at the end.
"""
import os
import signal
import tarfile
import threading
import time
from lib_agent import Checks, Stack, run, wait_for

STAVILY = os.environ["STAVILY"]
C = Checks()
S = Stack(STAVILY, "stavily-restore.")


def call(who, method, path, body=None):
    cert, k = who
    return S.agent_call(path, cert, k, body, method=method)


def started_events(path):
    return S.orch_events("orchestrator_started", path)


def stop(kill=False):
    return S.stop(signal.SIGKILL if kill else signal.SIGTERM)


def start_at(state, events):
    """Start the orchestrator on a restored copy in another directory."""
    S.orch, S.conf, S.sock, S.events = state, os.path.join(state, "orchestrator.yaml"), \
        os.path.join(state, "admin.sock"), events
    return S.start("--set", "orchestrator.state_dir=" + state,
                   "--set", "orchestrator.admin_socket=" + os.path.join(state, "admin.sock"))


def event_ids(tenant):
    return [e.get("id") for e in S.ctl_json("events", "query", "--tenant", tenant)["events"]]


try:
    r = S.init()
    C.check("init", r.returncode == 0, r.stderr)
    C.check("server up", S.start())
    ORIG, ORIG_EVENTS = S.orch, S.events
    S.ctl_json("tenant", "add", "acme")
    S.ctl_json("tenant", "add", "beta")
    ta = S.ctl_json("token", "create", "--tenant", "acme", "--uses", "3")["token"]
    tb = S.ctl_json("token", "create", "--tenant", "beta", "--uses", "3")["token"]
    st1, _, c1, k1 = S.enroll("acme", ta, "a1")
    st2, _, c2, k2 = S.enroll("beta", tb, "b1")
    C.check("a1 (acme) and b1 (beta) enrolled", st1 == 201 and st2 == 201, (st1, st2))
    A1, B1 = (c1, k1), (c2, k2)

    # ---- last_seen survives a restart ------------------------------------------------
    st, _ = call(A1, "POST", "/v1/agent/heartbeat", {})
    seen = S.ctl_json("agent", "show", "acme/a1").get("last_seen", 0)
    C.check("heartbeat sets last_seen", st == 200 and seen > 0, (st, seen))
    C.check("clean stop", stop() == 0)
    snap = os.path.join(ORIG, "tenants", "acme", "last_seen.json")
    C.check("last_seen.json written at the stop (0600)", os.path.exists(snap)
            and oct(os.stat(snap).st_mode & 0o777) == "0o600", os.listdir(os.path.dirname(snap)))
    C.check("restart", S.start())
    show = S.ctl_json("agent", "show", "acme/a1")
    C.check("after the restart `agent show` has the same last_seen", show.get("last_seen") == seen, (seen, show))
    C.check("b1 (never seen) still never seen", S.ctl_json("agent", "show", "beta/b1").get("last_seen") == 0)
    se = started_events(ORIG_EVENTS)
    C.check("orchestrator_started says how many last_seen values came back",
            se and se[-1]["details"].get("last_seen_restored") == 1, se[-1:])

    # ---- job delivery is journaled ------------------------------------------------------
    job1 = S.ctl_json("job", "submit", "--agent", "acme/a1", "--plugin", "p1", "--timeout", "60s")["id"]
    st, j = call(A1, "GET", "/v1/agent/jobs?wait=0")
    C.check("job handed out (attempt 1)", st == 200 and [x["id"] for x in j["jobs"]] == [job1]
            and j["jobs"][0].get("attempt") == 1, (st, j))
    C.check("clean stop", stop() == 0)
    C.check("restart", S.start())
    st, j = call(A1, "GET", "/v1/agent/jobs?wait=0")
    C.check("after a clean restart the delivered job is not handed out again", st == 204, (st, j))
    info = S.ctl_json("job", "get", job1)
    C.check("job get: delivered, 1 attempt, delivery time kept", info.get("state") == "delivered"
            and info.get("attempts") == 1 and info.get("delivered", 0) > 0, info)
    job2 = S.ctl_json("job", "submit", "--agent", "acme/a1", "--plugin", "p2")["id"]
    st, j = call(A1, "GET", "/v1/agent/jobs?wait=0")
    C.check("second job handed out", st == 200 and [x["id"] for x in j["jobs"]] == [job2], (st, j))
    stop(kill=True)
    C.check("restart after kill -9", S.start())
    st, j = call(A1, "GET", "/v1/agent/jobs?wait=0")
    C.check("after kill -9 the delivered job is not handed out again either", st == 204, (st, j))
    st, j = call(A1, "POST", "/v1/agent/jobs/%s/result" % job1, {"status": "succeeded"})
    C.check("its result is still accepted", st in (200, 201), (st, j))

    # ---- backup while running, events streaming in ----------------------------------------------
    acked = []
    stop_flag = threading.Event()

    def stream():
        n = 0
        while not stop_flag.is_set() and n < 2000:
            batch = {"events": [{"id": "s-%d-%d" % (n, i), "event": "stream"} for i in range(10)]}
            st, j = call(A1, "POST", "/v1/agent/events", batch)
            if st == 200:
                acked.append((time.monotonic(), j.get("acked", [])))
            n += 1
    th = threading.Thread(target=stream)
    th.start()
    wait_for(lambda: len(acked) >= 5, 20)
    t_copy = time.monotonic()
    before_copy = {i for t, ids in acked if t < t_copy for i in ids}
    running_tgz = os.path.join(S.tmp, "running.tgz")
    r = run("tar", "-C", os.path.dirname(ORIG), "-czf", running_tgz, os.path.basename(ORIG))
    stop_flag.set()
    th.join(timeout=30)
    C.check("tar of the running state directory (exit 0, or 1 for files that changed while read)",
            r.returncode in (0, 1) and os.path.exists(running_tgz), r.stderr[-300:])
    C.check("events were acknowledged before the copy started", len(before_copy) >= 50, len(before_copy))

    # ---- backup while stopped ---------------------------------------------------------------
    counts = {"tenants": len(S.ctl_json("tenant", "list")["tenants"]),
              "tokens": len(S.ctl_json("token", "list")["tokens"]),
              "agents": len(S.ctl_json("agent", "list")["agents"])}
    ev_acme, ev_beta = sorted(event_ids("acme")), sorted(event_ids("beta"))
    seen_a1 = S.ctl_json("agent", "show", "acme/a1").get("last_seen")
    C.check("clean stop", stop() == 0)
    r = run(STAVILY, "audit", "verify", os.path.join(ORIG, "audit.log"))
    head = r.stdout.split("head ")[-1].split()[0] if "head " in r.stdout else ""
    C.check("audit verify of the original prints the head", r.returncode == 0 and ":" in head, r.stdout)
    stopped_tgz = os.path.join(S.tmp, "stopped.tgz")
    r = run("tar", "-C", os.path.dirname(ORIG), "-czf", stopped_tgz, os.path.basename(ORIG))
    C.check("tar of the stopped state directory", r.returncode == 0, r.stderr)

    def restore(tgz, name):
        dest = os.path.join(S.tmp, name)
        os.makedirs(dest)
        with tarfile.open(tgz) as tf:
            tf.extractall(dest)
        state = os.path.join(dest, os.path.basename(ORIG))
        os.chmod(state, 0o700)
        return state

    # ---- restore the stopped copy into a new directory ------------------------------------------
    R1 = restore(stopped_tgz, "restore1")
    R1_EVENTS = os.path.join(S.tmp, "restore1-events.log")
    r = run(STAVILY, "audit", "verify", os.path.join(R1, "audit.log"), "--head", head)
    C.check("audit verify --head <the original's head> passes on the restored copy", r.returncode == 0,
            r.stdout + r.stderr)
    C.check("restored copy (stopped) starts in a new directory", start_at(R1, R1_EVENTS))
    se = started_events(R1_EVENTS)
    d = se[-1]["details"] if se else {}
    C.check("orchestrator_started counts match (tenants, tokens, agents), nothing torn",
            d.get("tenants") == counts["tenants"] and d.get("tokens") == counts["tokens"]
            and d.get("agents") == counts["agents"] and d.get("torn_bytes_dropped") == 0, (counts, d))
    C.check("last_seen restored with the copy", S.ctl_json("agent", "show", "acme/a1").get("last_seen") == seen_a1,
            seen_a1)
    st, j = call(A1, "POST", "/v1/agent/heartbeat", {})
    st2, j2 = call(B1, "POST", "/v1/agent/heartbeat", {})
    C.check("a1 and b1 still authenticate against the restored copy", st == 200 and st2 == 200
            and j.get("tenant") == "acme" and j2.get("tenant") == "beta", (st, st2))
    C.check("the same events, each once", sorted(event_ids("acme")) == ev_acme
            and sorted(event_ids("beta")) == ev_beta, (len(ev_acme), len(event_ids("acme"))))
    C.check("jobs restored (job 1 done, job 2 delivered)",
            S.ctl_json("job", "get", job1).get("state") == "done"
            and S.ctl_json("job", "get", job2).get("state") == "delivered")
    stop()
    r = run(STAVILY, "audit", "verify", os.path.join(R1, "audit.log"))
    C.check("audit verify passes on the restored log after its run", r.returncode == 0, r.stdout + r.stderr)

    # ---- restore the copy taken while running ---------------------------------------------------
    R2 = restore(running_tgz, "restore2")
    R2_EVENTS = os.path.join(S.tmp, "restore2-events.log")
    C.check("restored copy (running) starts in a new directory", start_at(R2, R2_EVENTS))
    se = started_events(R2_EVENTS)
    d = se[-1]["details"] if se else {}
    C.check("its counts match too (tenants, tokens, agents)", d.get("tenants") == counts["tenants"]
            and d.get("tokens") == counts["tokens"] and d.get("agents") == counts["agents"], (counts, d))
    ids = event_ids("acme")
    C.check("every event acknowledged before the copy started is there, none twice",
            before_copy <= set(ids) and len(ids) == len(set(ids)), (len(before_copy), len(ids), len(set(ids))))
    st, j = call(A1, "POST", "/v1/agent/heartbeat", {})
    st2, j2 = call(B1, "POST", "/v1/agent/heartbeat", {})
    C.check("a1 and b1 authenticate against the running-copy restore", st == 200 and st2 == 200, (st, st2))
    stop()
    r = run(STAVILY, "audit", "verify", os.path.join(R2, "audit.log"))
    C.check("audit verify passes on the running-copy restore", r.returncode == 0, r.stdout + r.stderr)
except Exception as e:  # noqa: BLE001
    C.fail("orch_restore ran to the end", repr(e))
finally:
    S.close()
C.exit()

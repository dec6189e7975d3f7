#!/usr/bin/env python3
"""orch_jobs.py: jobs, event batches, heartbeat commands, tenant purge of
the orchestrator (issue 5, second slice), black-box with Python's
ssl as the agent.  Every wait is bounded; the server is killed at the end
whatever happens.
"""
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from lib_orch import install
from lib_agent import free_port, wait_for  # noqa: F401

STAVILY = os.environ["STAVILY"]
install(globals(), STAVILY, "stavily-orchjobs.")


class Agent:
    """One keep-alive mTLS connection (reconnects when the server closed it)."""

    def __init__(self, cert, key):
        self.cert, self.key, self.c = cert, key, None

    def call(self, method, path, body=None, timeout=10):
        ctx = ssl.create_default_context(cafile=CA)
        ctx.load_cert_chain(self.cert, self.key)
        for attempt in range(2):
            reused = self.c is not None
            if self.c is None:
                self.c = http.client.HTTPSConnection("localhost", APORT, context=ctx, timeout=timeout)
            try:
                self.c.timeout = timeout
                if self.c.sock:
                    self.c.sock.settimeout(timeout)
                self.c.request(method, path, body=json.dumps(body) if body is not None else None)
                r = self.c.getresponse()
                data = r.read()
                return r.status, (json.loads(data) if data else {})
            except (ssl.SSLError, OSError, http.client.HTTPException) as e:
                # a kept-alive connection the server closed (restart,
                # idle timeout): one new connection; a fresh one failing
                # is the answer
                self.c.close()
                self.c = None
                if not reused:
                    return "refused", repr(e)

    def close(self):
        if self.c:
            self.c.close()
            self.c = None


def ctl(*args):
    return run(STAVILY, "ctl", "-S", SOCK, *args)


try:
    r = run(STAVILY, "orchestrator", "init", "-d", STATE, "--name", "localhost", "--trust-domain", "corp.example")
    check("init", r.returncode == 0, r.stderr)
    check("server up", start())
    ctl_json("tenant", "add", "acme")
    ctl_json("tenant", "add", "beta")
    ta = ctl_json("token", "create", "--tenant", "acme", "--uses", "5")["token"]
    tb = ctl_json("token", "create", "--tenant", "beta", "--uses", "5")["token"]
    s1, _, cert_a1, key_a1 = enroll("acme", ta, "a1")
    s2, _, cert_a2, key_a2 = enroll("acme", ta, "a2")
    s3, _, cert_b1, key_b1 = enroll("beta", tb, "b1")
    s4, _, cert_x, key_x = enroll("beta", tb, "a1")      # same agent id, other tenant
    check("four agents enrolled", (s1, s2, s3, s4) == (201, 201, 201, 201), (s1, s2, s3, s4))
    A1, A2, B1, X = Agent(cert_a1, key_a1), Agent(cert_a2, key_a2), Agent(cert_b1, key_b1), Agent(cert_x, key_x)

    # ---- jobs -----------------------------------------------------------------------
    st, j = A1.call("GET", "/v1/agent/jobs?wait=0")
    check("no job: 204 at once", st == 204, (st, j))
    t0 = time.monotonic()
    st, j = A1.call("GET", "/v1/agent/jobs?wait=1", timeout=10)
    el = time.monotonic() - t0
    check("no job with wait=1: 204 after about a second", st == 204 and 0.8 <= el < 3.5, (st, el))

    got = {}

    def poll():
        t = time.monotonic()
        got["r"] = A1.call("GET", "/v1/agent/jobs?wait=20", timeout=30)
        got["t"] = time.monotonic()
        got["start"] = t
    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.7)
    tsub = time.monotonic()
    job = ctl_json("job", "submit", "--agent", "acme/a1", "--plugin", "uptime", "--args", '{"n":1}',
                   "--timeout", "30s")
    th.join(35)
    st, j = got.get("r", (None, None))
    check("job submitted: 201 object, 128-bit id", re.fullmatch(r"[0-9a-f]{32}", job.get("id", "")) is not None
          and job.get("state") == "queued" and job.get("timeout") == 30, job)
    check("parked long-poll answered when the job arrives",
          st == 200 and [x["id"] for x in j.get("jobs", [])] == [job["id"]]
          and j["jobs"][0]["plugin"] == "uptime" and j["jobs"][0]["args"] == {"n": 1}
          and got["t"] - tsub < 2.0 and got["t"] - got["start"] > 0.5, (st, j, got))
    st, j = A1.call("GET", "/v1/agent/jobs?wait=0")
    check("a delivered job is not handed out twice", st == 204, (st, j))
    jid = job["id"]
    for name, ag in (("same tenant", A2), ("other tenant", B1), ("other tenant, same agent id", X)):
        st, j = ag.call("GET", "/v1/agent/jobs?wait=0")
        check("agent of %s gets no job of acme/a1" % name, st == 204, (st, j))
        st, j = ag.call("POST", "/v1/agent/jobs/%s/result" % jid,
                        {"status": "succeeded", "tenant": "acme", "agent_id": "a1"})
        check("agent of %s cannot post a1's result (404)" % name, st == 404, (st, j))
    st, j = A1.call("POST", "/v1/agent/jobs/%s/result" % ("0" * 32), {"status": "succeeded"})
    check("guessed job id: 404", st == 404, (st, j))
    st, j = A1.call("POST", "/v1/agent/jobs/%s/result" % "../../x", {"status": "succeeded"})
    check("malformed job id: 404", st == 404, (st, j))
    info = ctl_json("job", "get", jid)
    check("job still delivered, no result after the forgeries", info.get("state") == "delivered"
          and info.get("result") is None, info)
    st, j = A1.call("POST", "/v1/agent/jobs/%s/result" % jid, {"status": "succeeded", "exit_code": 0,
                                                               "stdout": "up 3 days"})
    check("the right agent posts the result: 200", st == 200 and j == {"id": jid, "state": "done",
                                                                       "duplicate": False}, (st, j))
    st, j = A1.call("POST", "/v1/agent/jobs/%s/result" % jid, {"status": "failed"})
    check("result posted again: idempotent 200, duplicate", st == 200 and j.get("duplicate") is True, (st, j))
    info = ctl_json("job", "get", jid)
    check("job done with the first result", info.get("state") == "done"
          and info.get("result") == {"status": "succeeded", "exit_code": 0, "stdout": "up 3 days"}, info)
    lst = ctl_json("job", "list", "--tenant", "beta")
    check("job list --tenant beta does not show acme's job", lst.get("jobs") == [], lst)

    # ctl job submit --wait with the agent answering
    res = {}

    def waiter():
        res["r"] = ctl("--json", "job", "submit", "--tenant", "acme", "--agent", "a2", "--plugin", "p2",
                       "--wait")
    th = threading.Thread(target=waiter)
    th.start()
    st, j = A2.call("GET", "/v1/agent/jobs?wait=10", timeout=20)
    ok2 = st == 200 and len(j.get("jobs", [])) == 1
    if ok2:
        A2.call("POST", "/v1/agent/jobs/%s/result" % j["jobs"][0]["id"], {"status": "succeeded", "v": 7})
    th.join(30)
    rr = res.get("r")
    check("ctl job submit --wait prints the result", ok2 and rr is not None and rr.returncode == 0
          and json.loads(rr.stdout).get("result") == {"status": "succeeded", "v": 7},
          (st, j, rr and rr.stdout, rr and rr.stderr))

    # the job survives a restart (durable) and is handed out again if without result
    job3 = ctl_json("job", "submit", "--agent", "acme/a1", "--plugin", "later")
    st, j = A1.call("GET", "/v1/agent/jobs?wait=0")
    check("job 3 delivered", st == 200 and j["jobs"][0]["id"] == job3["id"], (st, j))
    A1.close(); A2.close(); B1.close(); X.close()
    check("clean stop", stop() == 0)
    check("restart", start())
    info = ctl_json("job", "get", jid)
    check("after restart: job 1 done with its result", info.get("state") == "done"
          and info["result"]["stdout"] == "up 3 days", info)
    st, j = A1.call("GET", "/v1/agent/jobs?wait=0")
    check("after restart: job 3 (delivered, no result yet) not handed out again within its lease",
          st == 204, (st, j))

    # ---- events -----------------------------------------------------------------------
    batch = {"events": [{"id": "e-%d" % i, "level": "WARN", "event": "blocked_syscall_attempt",
                         "tenant": "beta", "agent_id": "b1", "details": {"syscall": "ptrace", "n": {"x": i}}}
                        for i in range(3)] + [{"no": "id"}, "str", {"id": "bad id!"}]}
    st, j = A1.call("POST", "/v1/agent/events", batch)
    check("event batch: 200, 3 acked, 3 rejected", st == 200 and j.get("acked") == ["e-0", "e-1", "e-2"]
          and j.get("stored") == 3 and [x["index"] for x in j.get("rejected", [])] == [3, 4, 5], (st, j))
    st, j = A1.call("POST", "/v1/agent/events", batch)
    check("re-sent batch: acked again, stored none", st == 200 and j.get("stored") == 0
          and j.get("duplicates") == 3 and j.get("acked") == ["e-0", "e-1", "e-2"], (st, j))
    st, j = B1.call("POST", "/v1/agent/events", {"events": [{"id": "e-0", "event": "beta_event"}]})
    check("another agent's same id is its own event", st == 200 and j.get("stored") == 1, (st, j))
    st, j = X.call("POST", "/v1/agent/events", {"events": [{"id": "e-1", "event": "beta_a1"}]})
    check("same agent id in another tenant: its own event", st == 200 and j.get("stored") == 1, (st, j))
    qa = ctl_json("events", "query", "--tenant", "acme")["events"]
    check("acme holds each event once, identity from the certificate",
          sorted(e["id"] for e in qa) == ["e-0", "e-1", "e-2"]
          and all(e["tenant"] == "acme" and e["agent_id"] == "a1" and "received" in e for e in qa)
          and qa[0]["details"]["n"] == {"x": 0}, qa)
    qb = ctl_json("events", "query", "--tenant", "beta")["events"]
    check("beta sees only beta's events", sorted((e["agent_id"], e["id"]) for e in qb) == [("a1", "e-1"), ("b1", "e-0")]
          and all(e["tenant"] == "beta" for e in qb), qb)
    qf = ctl_json("events", "query", "--tenant", "beta", "--agent", "b1")["events"]
    check("events query --agent filters", [e["id"] for e in qf] == ["e-0"], qf)
    qt = ctl_json("events", "tail", "--tenant", "acme", "--limit", "2")["events"]
    check("events tail --limit 2: the last two", [e["id"] for e in qt] == ["e-1", "e-2"], qt)
    r = ctl("events", "query", "--tenant", "nosuch")
    check("events query of an unknown tenant fails", r.returncode != 0, r.stdout)

    # the same batch on two connections at once (one loop pass, one group
    # commit): stored once, acknowledged to both
    same = {"events": [{"id": "twin-%d" % i, "event": "twin"} for i in range(50)]}
    outs, barrier = [], threading.Barrier(2)

    def twin():
        ag = Agent(cert_a1, key_a1)
        ag.call("POST", "/v1/agent/heartbeat", {})      # handshake before the barrier
        barrier.wait(10)
        outs.append(ag.call("POST", "/v1/agent/events", same))
        ag.close()
    ths = [threading.Thread(target=twin) for _ in range(2)]
    [t.start() for t in ths]
    [t.join(20) for t in ths]
    q = ctl_json("events", "query", "--tenant", "acme", "--event", "twin")["events"]
    check("same batch on two connections at once: both acked, stored once",
          len(outs) == 2 and all(st == 200 and len(j["acked"]) == 50 for st, j in outs)
          and sum(j["stored"] for _, j in outs) == 50 and len(q) == 50, (outs and [(st, j.get("stored")) for st, j in outs], len(q)))

    # kill -9 during concurrent streams of acknowledged events
    NSTREAM = 4
    acked, stop_flag, errors, sent = [], [False], [], [0] * NSTREAM

    def stream(k):
        ag = Agent(cert_a2, key_a2)
        n = 0
        for b in range(2000):
            if stop_flag[0]:
                break
            ev = [{"id": "s%d-%d" % (k, n + i), "event": "stream"} for i in range(20)]
            n += 20
            sent[k] = n
            st, j = ag.call("POST", "/v1/agent/events", {"events": ev}, timeout=5)
            if st == 200:
                acked.extend(j["acked"])
            else:
                errors.append(st)
                break
        ag.close()
    ths = [threading.Thread(target=stream, args=(k,)) for k in range(NSTREAM)]
    [t.start() for t in ths]
    wait_for(lambda: len(acked) >= 800, 20)
    server.kill()
    server.wait(timeout=10)
    stop_flag[0] = True
    [t.join(20) for t in ths]
    check("concurrent streams of events acknowledged before kill -9", len(acked) >= 800, len(acked))
    check("restart after kill -9", start())
    q = ctl_json("events", "query", "--tenant", "acme", "--agent", "a2", "--event", "stream")["events"]
    ids = [e["id"] for e in q]
    check("every acknowledged event present after kill -9", set(acked) <= set(ids),
          (len(acked), len(ids), sorted(set(acked) - set(ids))[:5]))
    check("no event stored twice", len(ids) == len(set(ids)), len(ids) - len(set(ids)))
    # each stream re-sends what it may not have had acknowledged
    A2b = Agent(cert_a2, key_a2)
    st_all = []
    for k in range(NSTREAM):
        st, j = A2b.call("POST", "/v1/agent/events", {"events": [{"id": "s%d-%d" % (k, i), "event": "stream"}
                                                                 for i in range(max(0, sent[k] - 40), sent[k])]})
        st_all.append(st)
    q = ctl_json("events", "query", "--tenant", "acme", "--agent", "a2", "--event", "stream")["events"]
    ids = [e["id"] for e in q]
    check("re-sent tails after restart: still each once", st_all == [200] * NSTREAM and len(ids) == len(set(ids))
          and set(acked) <= set(ids), (st_all, len(ids), len(set(ids))))
    A2b.close()

    # ---- heartbeat commands --------------------------------------------------------------
    A1 = Agent(cert_a1, key_a1)
    q = ctl_json("agent", "quarantine", "acme/a1")
    check("ctl agent quarantine: queued", q.get("quarantined") is True and len(q.get("pending_commands", [])) == 1, q)
    st, j = A1.call("POST", "/v1/agent/heartbeat", {"status": "ok"})
    cmds = j.get("commands", []) if st == 200 else []
    check("quarantine command delivered in the heartbeat", st == 200 and j.get("quarantined") is True
          and [c["type"] for c in cmds] == ["quarantine"], (st, j))
    st, j = A1.call("POST", "/v1/agent/heartbeat", {})
    check("unacknowledged command delivered again", st == 200 and [c["type"] for c in j["commands"]] == ["quarantine"],
          (st, j))
    st, j = B1.call("POST", "/v1/agent/heartbeat", {"acked_commands": [cmds[0]["id"]] if cmds else []})
    st2, j2 = A1.call("POST", "/v1/agent/heartbeat", {})
    check("another agent cannot acknowledge a1's command", st == 200 and j.get("commands") == []
          and st2 == 200 and len(j2["commands"]) == 1, (st, j, st2, j2))
    st, j = A1.call("POST", "/v1/agent/heartbeat", {"acked_commands": [c["id"] for c in cmds]})
    check("acknowledged: gone, state stays quarantined", st == 200 and j["commands"] == []
          and j["quarantined"] is True, (st, j))
    ctl_json("agent", "release", "--tenant", "acme", "a1")
    ctl_json("agent", "rotate", "acme/a1")
    st, j = A1.call("POST", "/v1/agent/heartbeat", {})
    check("release and rotate delivered in order", st == 200 and [c["type"] for c in j["commands"]] ==
          ["release", "rotate"] and j["quarantined"] is False, (st, j))
    aud = open(os.path.join(STATE, "audit.log")).read()
    check("audit records quarantine, release, rotation request",
          all(x in aud for x in ('"agent_quarantined"', '"agent_released"', '"agent_rotation_requested"')))
    # revoke on a live connection
    A2 = Agent(cert_a2, key_a2)
    st, j = A2.call("POST", "/v1/agent/heartbeat", {})
    check("a2 heartbeat before revocation", st == 200 and j.get("revoked") is False, (st, j))
    ctl_json("agent", "revoke", "acme/a2")
    st, j = A2.call("POST", "/v1/agent/heartbeat", {})
    check("connected agent learns the revocation as a command", st == 200 and j.get("revoked") is True
          and [c["type"] for c in j.get("commands", [])] == ["revoke"], (st, j))
    A2.close()
    st, j = A2.call("POST", "/v1/agent/heartbeat", {})
    check("then its certificate is refused", st == "refused", (st, j))
    r = ctl("agent", "quarantine", "acme/a2")
    check("quarantine of a revoked agent refused", r.returncode != 0)

    # ---- purge ---------------------------------------------------------------------------
    bdir = os.path.join(STATE, "tenants", "beta")
    check("beta has a directory", os.path.isdir(bdir))
    r = ctl("tenant", "purge", "beta")
    check("ctl tenant purge beta", r.returncode == 0, r.stderr)
    check("purge removes the tenant directory", not os.path.exists(bdir))
    tl = [t["name"] for t in ctl_json("tenant", "list")["tenants"]]
    check("beta gone from the tenant list", tl == ["acme"], tl)
    B1.close()
    st, j = B1.call("POST", "/v1/agent/heartbeat", {})
    check("purged tenant's agent refused", st in (403, "refused"), (st, j))
    r = ctl("events", "query", "--tenant", "beta")
    check("purged tenant has no events", r.returncode != 0)
    aud = open(os.path.join(STATE, "audit.log")).read()
    check("purge audit-logged", '"tenant_purged"' in aud)
    qa = ctl_json("events", "query", "--tenant", "acme", "--event", "blocked_syscall_attempt")["events"]
    check("acme's events untouched by beta's purge", len(qa) == 3, len(qa))
    r = ctl("tenant", "purge", "beta")
    check("purging again: unknown tenant", r.returncode != 0)

    A1.close()
    check("final stop", stop() == 0)
except Exception as e:  # noqa
    import traceback
    fail("unexpected exception", traceback.format_exc())
finally:
    if server is not None:
        server.kill()
        server.wait(timeout=10)
    if T.failures == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print("  kept " + TMP, flush=True)
sys.exit(1 if T.failures else 0)

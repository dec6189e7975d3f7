#!/usr/bin/env python3
"""orch_lastseen.py: `last_seen` in GET /v1/admin/agents and `ctl agent list`.

An enrolled agent that never sent a heartbeat shows last_seen 0 ("never" in
the table); after a heartbeat over mutual TLS it shows the time of that
heartbeat, another agent stays at 0, and a later heartbeat moves it forward.
Every wait is bounded; the server is killed at the end whatever happens.
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
import time
from lib_agent import free_port, wait_for  # noqa: F401

STAVILY = os.environ["STAVILY"]
TMP = tempfile.mkdtemp(prefix="stavily-orchlastseen.")
STATE = os.path.join(TMP, "state")
EVENTS = os.path.join(TMP, "events.log")
failures = 0
server = None


def ok(name):
    print("ok - " + name, flush=True)


def fail(name, why=""):
    global failures
    failures += 1
    print("FAIL - " + name, flush=True)
    if why:
        print("  " + str(why)[:800], flush=True)


def check(name, cond, why=""):
    if cond:
        ok(name)
    else:
        fail(name, why)


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


EPORT, APORT = free_port(), free_port()
CONF = os.path.join(STATE, "orchestrator.yaml")
SOCK = os.path.join(STATE, "admin.sock")
CA = os.path.join(STATE, "ca.pem")


def start():
    global server
    errf = open(os.path.join(TMP, "server.stderr"), "a")
    server = subprocess.Popen([STAVILY, "orchestrator", "run", "-c", CONF,
                               "--set", "orchestrator.listen_enroll=127.0.0.1:%d" % EPORT,
                               "--set", "orchestrator.listen_agent=127.0.0.1:%d" % APORT,
                               "--set", "orchestrator.trust_domain=corp.example",
                               "--set", "logging.file=" + EVENTS], stdout=errf, stderr=errf)

    def up():
        try:
            socket.create_connection(("127.0.0.1", APORT), timeout=0.5).close()
            socket.create_connection(("127.0.0.1", EPORT), timeout=0.5).close()
            return os.path.exists(SOCK)
        except OSError:
            return False
    return wait_for(up)


def stop():
    global server
    server.send_signal(signal.SIGTERM)
    try:
        rc = server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=5)
        rc = "timeout"
    server = None
    return rc


def ctl_json(*args):
    r = run(STAVILY, "ctl", "-S", SOCK, "--json", *args)
    if r.returncode != 0:
        raise RuntimeError("ctl %s: %s" % (args, r.stderr))
    return json.loads(r.stdout)


def make_csr(name):
    key = os.path.join(TMP, name + ".key")
    csr = os.path.join(TMP, name + ".csr")
    r = run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-subj", "/CN=" + name, "-out", csr)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return open(csr).read(), key


def enroll(tenant, token, agent_id):
    csr, key = make_csr(agent_id + "-" + tenant)
    ctx = ssl.create_default_context(cafile=CA)
    c = http.client.HTTPSConnection("localhost", EPORT, context=ctx, timeout=10)
    auth = base64.b64encode(("%s:%s" % (tenant, token)).encode()).decode()
    c.request("POST", "/v1/enroll", body=json.dumps({"csr": csr, "agent_id": agent_id}),
              headers={"Authorization": "Basic " + auth})
    r = c.getresponse()
    j = json.loads(r.read())
    c.close()
    cert = os.path.join(TMP, "%s-%s.pem" % (agent_id, tenant))
    with open(cert, "w") as f:
        f.write(j["certificate"])
    return r.status, j, cert, key


def agent_call(path, cert, key, body=None, port=None):
    """(status, json) or ("refused", reason) when the handshake/connection fails."""
    ctx = ssl.create_default_context(cafile=CA)
    if cert:
        ctx.load_cert_chain(cert, key)
    c = http.client.HTTPSConnection("localhost", port or APORT, context=ctx, timeout=10)
    try:
        c.request("POST", path, body=json.dumps(body) if body is not None else "")
        r = c.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else {})
    except (ssl.SSLError, ConnectionError, OSError) as e:
        return "refused", repr(e)
    finally:
        c.close()


def events(name):
    try:
        with open(EVENTS) as f:
            return [json.loads(l) for l in f if ('"event":"%s"' % name) in l]
    except FileNotFoundError:
        return []


try:
    r = run(STAVILY, "orchestrator", "init", "-d", STATE, "--name", "localhost", "--trust-domain", "corp.example")
    check("init", r.returncode == 0, r.stderr)
    check("server up", start())
    ctl_json("tenant", "add", "acme")
    tok = ctl_json("token", "create", "--tenant", "acme", "--uses", "5")["token"]
    st1, _, cert1, key1 = enroll("acme", tok, "s1")
    st2, _, cert2, key2 = enroll("acme", tok, "s2")
    check("two agents enrolled", st1 == 201 and st2 == 201, (st1, st2))

    def agents():
        return {a["agent_id"]: a for a in ctl_json("agent", "list")["agents"]}

    ag = agents()
    check("no heartbeat yet: last_seen is 0 for both",
          ag["s1"].get("last_seen") == 0 and ag["s2"].get("last_seen") == 0, ag)
    r = run(STAVILY, "ctl", "-S", SOCK, "agent", "list")
    rows = [l for l in r.stdout.splitlines() if " s1 " in l]
    check("ctl agent list: LAST_SEEN column, 'never' before a heartbeat",
          r.returncode == 0 and "LAST_SEEN" in r.stdout and len(rows) == 1 and "never" in rows[0], r.stdout)

    before = int(time.time())
    st, j = agent_call("/v1/agent/heartbeat", cert1, key1, {"status": "ok"})
    after = int(time.time())
    check("heartbeat accepted", st == 200, (st, j))
    ag = agents()
    seen1 = ag["s1"].get("last_seen")
    check("last_seen is the time of the heartbeat", isinstance(seen1, (int, float)) and before <= seen1 <= after,
          (before, seen1, after))
    check("the other agent is still never seen", ag["s2"].get("last_seen") == 0, ag["s2"])
    show = ctl_json("agent", "show", "--tenant", "acme", "s1")
    check("agent show has last_seen too", show.get("last_seen") == seen1, show)

    r = run(STAVILY, "ctl", "-S", SOCK, "agent", "list")
    rows = [l for l in r.stdout.splitlines() if " s1 " in l]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seen1))
    check("ctl agent list shows the heartbeat time (RFC 3339)", len(rows) == 1 and stamp in rows[0], r.stdout)

    # a later heartbeat moves it forward (bounded wait for the clock second)
    wait_for(lambda: int(time.time()) > seen1, 3)
    st, j = agent_call("/v1/agent/heartbeat", cert1, key1, None)
    seen2 = agents()["s1"].get("last_seen")
    check("a later heartbeat moves last_seen forward", st == 200 and seen2 > seen1, (st, seen1, seen2))

    # a refused handshake (no client certificate) is not a heartbeat
    st, _ = agent_call("/v1/agent/heartbeat", None, None, {})
    check("no client certificate: refused, s2 still never seen",
          st == "refused" and agents()["s2"].get("last_seen") == 0, st)
    check("SIGTERM: exit 0", stop() == 0)
except Exception as e:
    fail("unexpected exception", repr(e))
finally:
    if server is not None:
        server.kill()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    if failures:
        try:
            print("  server stderr: " + open(os.path.join(TMP, "server.stderr")).read()[-1500:])
        except OSError:
            pass
    shutil.rmtree(TMP, ignore_errors=True)
sys.exit(1 if failures else 0)

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
from lib_orch import install
from lib_agent import free_port, wait_for  # noqa: F401

STAVILY = os.environ["STAVILY"]
install(globals(), STAVILY, "stavily-orchlastseen.")


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
    if T.failures:
        try:
            print("  server stderr: " + open(os.path.join(TMP, "server.stderr")).read()[-1500:])
        except OSError:
            pass
    shutil.rmtree(TMP, ignore_errors=True)
sys.exit(1 if T.failures else 0)

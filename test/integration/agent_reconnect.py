#!/usr/bin/env python3
"""agent_reconnect.py: the orchestrator dies (SIGKILL) under a running agent
and comes back, black-box.

The agent keeps running, raises heartbeat_failed while the orchestrator is
away, reconnects with backoff when it is back, and the events it spooled in
the meantime are delivered and stored exactly once (the orchestrator's
count equals the agent's own log).  Every wait is bounded; every process is
killed at the end.
"""
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from lib_agent import Checks, Stack, run, free_port, wait_for, all_text, proc_status, children, stop_proc, agent_events  # noqa: F401

STAVILY = os.environ["STAVILY"]
T = Checks()
ok, fail, check = T.ok, T.fail, T.check
S = Stack(STAVILY, "stavily-agentreconn.")
TMP, ORCH, OEVENTS, CONF, SOCK = S.tmp, S.orch, S.events, S.conf, S.sock
EPORT, APORT = S.eport, S.aport
ctl_json, agent_conf, start_agent = S.ctl_json, S.agent_conf, S.start_agent
server = None


def start():
    global server
    up = S.start()
    server = S.server
    return up


agents = []
try:
    r = run(STAVILY, "orchestrator", "init", "-d", ORCH, "--name", "localhost", "--san", "127.0.0.1")
    pin = r.stdout.strip()
    check("orchestrator init", r.returncode == 0, r.stderr)
    check("orchestrator up", start())
    ctl_json("tenant", "add", "acme")
    token = ctl_json("token", "create", "--tenant", "acme", "--uses", "1")["token"]
    os.chmod(TMP, 0o755)
    conf, d = agent_conf("k1", [pin])
    a = start_agent(conf, d, env={"STAVILY_INSTALLATION_TOKEN": token})
    agents.append(a)
    check("agent started", wait_for(lambda: agent_events(d, "agent_started"), 15), agent_events(d))
    runtime = os.path.join(d, "state", "runtime.json")

    def reachable():
        try:
            return json.load(open(runtime)).get("orchestrator_reachable")
        except (OSError, ValueError):
            return None
    check("agent reaches the orchestrator", wait_for(lambda: reachable() is True, 10), reachable())

    server.kill()
    server.wait(timeout=5)
    server = None
    check("orchestrator killed: heartbeat_failed raised, agent keeps running",
          wait_for(lambda: agent_events(d, "heartbeat_failed"), 10) and a.poll() is None, agent_events(d)[-3:])
    check("runtime.json says unreachable", wait_for(lambda: reachable() is False, 10), reachable())
    time.sleep(3)
    check("orchestrator back (same state, same ports)", start())
    check("the agent reconnects with backoff", wait_for(lambda: reachable() is True, 45), reachable())

    def stored(name):
        try:
            evs = ctl_json("events", "query", "--agent", "k1", "--event", name)
        except RuntimeError:
            return []
        return evs.get("events", [])
    n_local = len(agent_events(d, "heartbeat_failed"))
    check("events raised while cut off are stored, exactly once",
          wait_for(lambda: len(stored("heartbeat_failed")) == n_local, 20)
          and len(set(e["id"] for e in stored("heartbeat_failed"))) == n_local,
          (n_local, len(stored("heartbeat_failed"))))
    time.sleep(2)
    check("no duplicates after more heartbeats", len(stored("heartbeat_failed")) == n_local,
          (n_local, len(stored("heartbeat_failed"))))
    a.send_signal(signal.SIGTERM)
    try:
        rc = a.wait(timeout=20)
    except subprocess.TimeoutExpired:
        rc = "timeout"
    check("SIGTERM exit 0", rc == 0, rc)
finally:
    for a in agents:
        stop_proc(a)
    if server is not None:
        server.kill()
        server.wait(timeout=5)
    if not os.environ.get("KEEP_TMP"):
        shutil.rmtree(TMP, ignore_errors=True)

print("agent_reconnect: %d failure(s)" % T.failures)
raise SystemExit(1 if T.failures else 0)

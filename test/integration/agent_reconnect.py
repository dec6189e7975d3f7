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
from lib_agent import run, free_port, wait_for, all_text, proc_status, children, stop_proc, agent_events  # noqa: F401

STAVILY = os.environ["STAVILY"]
TMP = tempfile.mkdtemp(prefix="stavily-agentreconn.")
ORCH = os.path.join(TMP, "orch")
OEVENTS = os.path.join(TMP, "orch-events.log")
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


EPORT, APORT = free_port(), free_port()
CONF = os.path.join(ORCH, "orchestrator.yaml")
SOCK = os.path.join(ORCH, "admin.sock")


def start():
    global server
    errf = open(os.path.join(TMP, "server.stderr"), "a")
    server = subprocess.Popen([STAVILY, "orchestrator", "run", "-c", CONF,
                               "--set", "orchestrator.listen_enroll=127.0.0.1:%d" % EPORT,
                               "--set", "orchestrator.listen_agent=127.0.0.1:%d" % APORT,
                               "--set", "logging.file=" + OEVENTS], stdout=errf, stderr=errf)

    def up():
        try:
            socket.create_connection(("127.0.0.1", APORT), timeout=0.5).close()
            socket.create_connection(("127.0.0.1", EPORT), timeout=0.5).close()
            return os.path.exists(SOCK)
        except OSError:
            return False
    return wait_for(up)


def ctl_json(*args):
    r = run(STAVILY, "ctl", "-S", SOCK, "--json", *args)
    if r.returncode != 0:
        raise RuntimeError("ctl %s: %s" % (args, r.stderr))
    return json.loads(r.stdout)


def agent_conf(name, pins, server_name="localhost", extra=""):
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "agent.yaml")
    with open(path, "w") as f:
        f.write("agent:\n  type: action\n  id: %s\n  tenant: acme\n  state_dir: %s\n"
                "  plugins_dir: %s\n  enroll_url: https://127.0.0.1:%d\n"
                "  orchestrator_url: https://127.0.0.1:%d\n  server_name: %s\n"
                "  heartbeat_interval: 1s\n%s%s"
                "logging:\n  file: %s\n" % (
                    name, os.path.join(d, "state"), TMP, EPORT, APORT, server_name,
                    ("  ca_pins: [%s]\n" % ", ".join(pins)) if pins else "", extra,
                    os.path.join(d, "events.log")))
    return path, d


def start_agent(conf, d, env=None):
    e = dict(os.environ)
    e.pop("STAVILY_INSTALLATION_TOKEN", None)
    if env:
        e.update(env)
    errf = open(os.path.join(d, "run.stderr"), "a")
    return subprocess.Popen([STAVILY, "agent", "run", "-c", conf], stdout=errf, stderr=errf, env=e)


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

print("agent_reconnect: %d failure(s)" % failures)
raise SystemExit(1 if failures else 0)

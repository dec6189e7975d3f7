#!/usr/bin/env python3
"""agent_delivery.py: delivery that loses nothing (DESIGN section 5), black-box.

A sensor plugin prints 10,000 events while the orchestrator is down; the
agent spools them.  Then, several times during delivery, kill -9 of the
orchestrator and kill -9 of the agent (spawner and worker): in the end
exactly 10,000 events are stored (dedup by the spool id).  Every wait is
bounded; every process is killed at the end whatever happens.
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
from lib_agent import Checks, Stack, run, free_port, wait_for, all_text, proc_status, children, agent_events  # noqa: F401

STAVILY = os.environ["STAVILY"]
T = Checks()
ok, fail, check = T.ok, T.fail, T.check
S = Stack(STAVILY, "stavily-agentdeliv.")
TMP, ORCH, OEVENTS, CONF, SOCK = S.tmp, S.orch, S.events, S.conf, S.sock
EPORT, APORT = S.eport, S.aport
ctl_json, start_agent = S.ctl_json, S.start_agent


def agent_conf(name, pins, server_name="localhost", extra=""):
    return S.agent_conf(name, pins, server_name, extra, kind="sensor", heartbeat="30s")
server = None


def start():
    global server
    up = S.start()
    server = S.server
    return up


def stop_proc(p):
    """kill -9 of the whole process group (spawner, worker, plugins)."""
    if p is None:
        return
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


import hashlib
import random
agents = []
T0 = time.monotonic()
try:
    r = run(STAVILY, "orchestrator", "init", "-d", ORCH, "--name", "localhost", "--san", "127.0.0.1")
    pin = r.stdout.strip()
    check("orchestrator init", r.returncode == 0, r.stderr)
    check("orchestrator up", start())
    ctl_json("tenant", "add", "acme")
    token = ctl_json("token", "create", "--tenant", "acme", "--uses", "1")["token"]
    tokf = os.path.join(TMP, "token")
    with open(tokf, "w") as f:
        f.write(token)
    os.chmod(TMP, 0o755)   # the worker (uid 65534) must reach its state directory
    plugdir = os.path.join(TMP, "plugins")
    os.makedirs(plugdir, mode=0o755, exist_ok=True)
    N = 10000
    pname = "ev%dx1" % N
    exe = os.path.join(plugdir, pname)
    shutil.copy(os.path.join(os.environ["PLUGINS"], "agent_events"), exe)
    os.chmod(exe, 0o755)
    manifest = os.path.join(plugdir, pname + ".json")
    with open(manifest, "w") as f:
        json.dump({"name": pname, "version": "1.0", "type": "sensor", "executable": pname,
                   "sha256": hashlib.sha256(open(exe, "rb").read()).hexdigest()}, f)
    conf, d = agent_conf("d1", [pin])
    conf_text = open(conf).read().replace("  plugins_dir: %s\n" % TMP, "  plugins_dir: %s\n" % plugdir, 1)
    with open(conf, "w") as f:
        f.write(conf_text)
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tokf)
    check("sensor agent registered", r.returncode == 0, r.stderr)

    def stored_ns():
        try:
            evs = ctl_json("events", "query", "--tenant", "acme", "--event", "sensor_test",
                           "--limit", "100000").get("events", [])
        except RuntimeError:
            return None
        return [e.get("n") for e in evs]

    # The orchestrator is down while the sensor runs: the agent spools the
    # 10,000 events (the run is over once it reported its one invalid line).
    stop_proc(server)
    server = None
    a = start_agent(conf, d)
    agents.append(a)
    check("sensor run spooled while the orchestrator is down",
          wait_for(lambda: agent_events(d, "sensor_output_invalid"), 20), agent_events(d)[-3:])
    os.unlink(manifest)   # a restarted agent must not run the sensor again

    # kill -9 of the orchestrator and of the agent, several times, while delivering
    rng = random.Random(6)
    progress = []
    kills = {"orchestrator": 0, "agent": 0}
    for cycle in range(6):
        if not start():
            fail("orchestrator restarts (cycle %d)" % cycle)
            break
        ns = stored_ns()    # what survived the previous kills
        progress.append(len(ns) if ns is not None else None)
        # short windows: an idle machine delivers all 10,000 in well under
        # a second once the agent is connected
        if cycle % 2 == 0:
            stop_proc(a)
            kills["agent"] += 1
            a = start_agent(conf, d)
            agents.append(a)
            time.sleep(rng.uniform(0.03, 0.12))
        else:
            time.sleep(rng.uniform(0.03, 0.12))
            stop_proc(a)
            kills["agent"] += 1
            a = start_agent(conf, d)
            agents.append(a)
            time.sleep(rng.uniform(0.02, 0.08))
        stop_proc(server)
        server = None
        kills["orchestrator"] += 1
    print("  # stored at the start of each cycle: %s; kills: %s" % (progress, kills), flush=True)
    check("orchestrator restarts after the last kill", start())
    wait_for(lambda: len(stored_ns() or []) >= N, 40)
    time.sleep(1.0)   # a late duplicate would show now
    ns = stored_ns() or []
    check("kill -9 of the orchestrator (%d x) and of the agent (%d x) during delivery: exactly %d stored"
          % (kills["orchestrator"], kills["agent"], N), len(ns) == N and sorted(ns) == list(range(N)),
          (len(ns), len(set(ns)), progress))
    check("delivery proof bounded (< 60 s)", time.monotonic() - T0 < 60, time.monotonic() - T0)
except Exception as e:   # noqa: BLE001 - any crash is a failure of the test
    fail("agent_delivery crashed", repr(e))
finally:
    for p in agents:
        stop_proc(p)
    if server:
        stop_proc(server)
    if T.failures == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print("  kept " + TMP, flush=True)

print("agent_delivery: %d failure(s)" % T.failures)
raise SystemExit(1 if T.failures else 0)

#!/usr/bin/env python3
"""agent_sensor.py: a sensor agent (agent.type sensor) against a real
orchestrator, black-box: it runs the sensor plugins of plugins_dir under
sensor.sandbox, sends their JSON lines through the sensor controls into the
spool and to POST /v1/agent/events; every event is stored exactly once,
enriched, and invalid lines are counted and reported.  Every wait is bounded;
every process is killed at the end whatever happens.
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
S = Stack(STAVILY, "stavily-agentsensor.")
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


agents = []
try:
    import hashlib
    r = run(STAVILY, "orchestrator", "init", "-d", ORCH, "--name", "localhost", "--san", "127.0.0.1")
    pin = r.stdout.strip()
    check("orchestrator init", r.returncode == 0, r.stderr)
    check("orchestrator up", start())
    ctl_json("tenant", "add", "acme")
    token = ctl_json("token", "create", "--tenant", "acme", "--uses", "2")["token"]
    tokf = os.path.join(TMP, "token")
    with open(tokf, "w") as f:
        f.write(token)
    os.chmod(TMP, 0o755)   # the worker (uid 65534) must reach its state directory
    plugdir = os.path.join(TMP, "plugins")
    os.makedirs(plugdir, mode=0o755, exist_ok=True)
    N, BAD = 300, 3
    pname = "ev%dx%d" % (N, BAD)
    exe = os.path.join(plugdir, pname)
    shutil.copy(os.path.join(os.environ["PLUGINS"], "agent_events"), exe)
    os.chmod(exe, 0o755)
    with open(os.path.join(plugdir, pname + ".json"), "w") as f:
        json.dump({"name": pname, "version": "1.0", "type": "sensor", "executable": pname,
                   "sha256": hashlib.sha256(open(exe, "rb").read()).hexdigest()}, f)
    # an action plugin in the same directory is never run by a sensor agent
    exe2 = os.path.join(plugdir, "ev5")
    shutil.copy(os.path.join(os.environ["PLUGINS"], "agent_events"), exe2)
    os.chmod(exe2, 0o755)
    with open(os.path.join(plugdir, "ev5.json"), "w") as f:
        json.dump({"name": "ev5", "version": "1.0", "type": "action", "executable": "ev5",
                   "sha256": hashlib.sha256(open(exe2, "rb").read()).hexdigest()}, f)

    conf, d = agent_conf("s1", [pin])
    conf_text = open(conf).read().replace("  plugins_dir: %s\n" % TMP, "  plugins_dir: %s\n" % plugdir, 1)
    with open(conf, "w") as f:
        f.write(conf_text)
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tokf)
    check("sensor agent registered", r.returncode == 0, r.stderr)
    a = start_agent(conf, d)
    agents.append(a)
    check("sensor agent started", wait_for(lambda: agent_events(d, "agent_started"), 10), agent_events(d))

    def stored(name):
        try:
            return ctl_json("events", "query", "--tenant", "acme", "--event", name,
                            "--limit", "5000").get("events", [])
        except RuntimeError:
            return []

    wait_for(lambda: len(stored("sensor_test")) >= N, 20)
    time.sleep(0.5)   # a duplicate would arrive right after
    evs = stored("sensor_test")
    ns = sorted(e.get("n") for e in evs)
    check("all %d sensor events stored at the orchestrator, exactly once" % N,
          ns == list(range(N)), (len(evs), ns[:5], agent_events(d)[-5:]))
    seqs = sorted(e.get("sequence") for e in evs)
    check("events enriched: agent_id (not the plugin's spoofed one), tenant, plugin, sequence 1..N",
          evs and all(e.get("agent_id") == "s1" and e.get("tenant") == "acme" and e.get("plugin") == pname
                      for e in evs) and seqs == list(range(1, N + 1)), evs[:2])
    check("every stored event has a unique id", len(set(e.get("id") for e in evs)) == len(evs))
    wait_for(lambda: stored("sensor_output_invalid"), 20)
    inv = stored("sensor_output_invalid")
    check("invalid lines counted and reported (sensor_output_invalid, invalid_lines %d)" % BAD,
          len(inv) == 1 and inv[0].get("details", {}).get("invalid_lines") == BAD
          and inv[0].get("details", {}).get("plugin") == pname, inv)
    check("invalid lines are not forwarded", not any("not json" in json.dumps(e) for e in evs))
    check("the action plugin in plugins_dir was not run by the sensor agent",
          not any(e.get("plugin") == "ev5" for e in evs) and
          not any("ev5" in json.dumps(e) for e in agent_events(d, "sensor_refused")), agent_events(d)[-5:])
    st = proc_status(a.pid)
    check("sensor agent still running", a.poll() is None and st.get("State", "").split()[0] in ("S", "R"), st)
    a.send_signal(signal.SIGTERM)
    try:
        rc = a.wait(timeout=15)
    except subprocess.TimeoutExpired:
        rc = "timeout"
    check("sensor agent: SIGTERM exits 0", rc == 0, rc)
except Exception as e:   # noqa: BLE001 - any crash is a failure of the test
    fail("agent_sensor crashed", repr(e))
finally:
    for p in agents:
        stop_proc(p)
    if server:
        stop_proc(server)
    if T.failures == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print("  kept " + TMP, flush=True)
print("agent_sensor: %d failure(s)" % T.failures)
raise SystemExit(1 if T.failures else 0)

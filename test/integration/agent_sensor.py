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
import time
from lib_agent import Checks, Stack, run, wait_for, proc_status, agent_events, terminate

STAVILY = os.environ["STAVILY"]
PLUGINS = os.environ["PLUGINS"]
T = Checks()
fail, check = T.fail, T.check
S = Stack(STAVILY, "stavily-agentsensor.")

try:
    tokf = S.token_file(S.boot(T, 2))
    plugdir = os.path.join(S.tmp, "plugins")
    N, BAD = 300, 3
    pname = "ev%dx%d" % (N, BAD)
    S.install_plugin(plugdir, pname, os.path.join(PLUGINS, "agent_events"), kind="sensor")
    # an action plugin in the same directory is never run by a sensor agent
    S.install_plugin(plugdir, "ev5", os.path.join(PLUGINS, "agent_events"))

    conf, d = S.agent_conf("s1", kind="sensor", heartbeat="30s", plugins_dir=plugdir)
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tokf)
    check("sensor agent registered", r.returncode == 0, r.stderr)
    a = S.start_agent(conf, d)
    check("sensor agent started", wait_for(lambda: agent_events(d, "agent_started"), 10), agent_events(d))

    def stored(name):
        return S.events_query(name, "--tenant", "acme", "--limit", "5000")

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
    rc, _ = terminate(a)
    check("sensor agent: SIGTERM exits 0", rc == 0, rc)
except Exception as e:   # noqa: BLE001 - any crash is a failure of the test
    fail("agent_sensor crashed", repr(e))
finally:
    S.finish(T)
T.exit("agent_sensor")

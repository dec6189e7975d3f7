#!/usr/bin/env python3
"""agent_delivery.py: delivery that loses nothing (DESIGN section 5), black-box.

A sensor plugin prints 10,000 events while the orchestrator is down; the
agent spools them.  Then, several times during delivery, kill -9 of the
orchestrator and kill -9 of the agent (spawner and worker): in the end
exactly 10,000 events are stored (dedup by the spool id).  Every wait is
bounded; every process is killed at the end whatever happens.
"""
import os
import random
import time
from lib_agent import Checks, Stack, run, wait_for, agent_events, kill9

STAVILY = os.environ["STAVILY"]
PLUGINS = os.environ["PLUGINS"]
T = Checks()
fail, check = T.fail, T.check
S = Stack(STAVILY, "stavily-agentdeliv.")

T0 = time.monotonic()
try:
    tokf = S.token_file(S.boot(T, 1))
    plugdir = os.path.join(S.tmp, "plugins")
    N = 10000
    pname = "ev%dx1" % N
    S.install_plugin(plugdir, pname, os.path.join(PLUGINS, "agent_events"), kind="sensor")
    manifest = os.path.join(plugdir, pname + ".json")
    conf, d = S.agent_conf("d1", kind="sensor", heartbeat="30s", plugins_dir=plugdir)
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tokf)
    check("sensor agent registered", r.returncode == 0, r.stderr)

    def stored_ns():
        try:
            evs = S.ctl_json("events", "query", "--tenant", "acme", "--event", "sensor_test",
                             "--limit", "100000").get("events", [])
        except RuntimeError:
            return None
        return [e.get("n") for e in evs]

    # The orchestrator is down while the sensor runs: the agent spools the
    # 10,000 events (the run is over once it reported its one invalid line).
    kill9(S.server)
    a = S.start_agent(conf, d, new_session=True)   # kill9 takes its whole group
    check("sensor run spooled while the orchestrator is down",
          wait_for(lambda: agent_events(d, "sensor_output_invalid"), 20), agent_events(d)[-3:])
    os.unlink(manifest)   # a restarted agent must not run the sensor again

    # kill -9 of the orchestrator and of the agent, several times, while delivering
    rng = random.Random(6)
    progress = []
    kills = {"orchestrator": 0, "agent": 0}
    for cycle in range(6):
        if not S.start():
            fail("orchestrator restarts (cycle %d)" % cycle)
            break
        ns = stored_ns()    # what survived the previous kills
        progress.append(len(ns) if ns is not None else None)
        # short windows: an idle machine delivers all 10,000 in well under
        # a second once the agent is connected
        if cycle % 2 == 0:
            kill9(a)
            kills["agent"] += 1
            a = S.start_agent(conf, d, new_session=True)
            time.sleep(rng.uniform(0.03, 0.12))
        else:
            time.sleep(rng.uniform(0.03, 0.12))
            kill9(a)
            kills["agent"] += 1
            a = S.start_agent(conf, d, new_session=True)
            time.sleep(rng.uniform(0.02, 0.08))
        kill9(S.server)
        kills["orchestrator"] += 1
    print("  # stored at the start of each cycle: %s; kills: %s" % (progress, kills), flush=True)
    check("orchestrator restarts after the last kill", S.start())
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
    S.finish(T)
T.exit("agent_delivery")

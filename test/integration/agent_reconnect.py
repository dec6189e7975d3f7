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
import signal
import time
from lib_agent import Checks, Stack, wait_for, agent_events, terminate

STAVILY = os.environ["STAVILY"]
T = Checks()
check = T.check
S = Stack(STAVILY, "stavily-agentreconn.")

try:
    token = S.boot(T, 1)
    conf, d = S.agent_conf("k1")
    a = S.start_agent(conf, d, env={"STAVILY_INSTALLATION_TOKEN": token})
    check("agent started", wait_for(lambda: agent_events(d, "agent_started"), 15), agent_events(d))
    runtime = os.path.join(d, "state", "runtime.json")

    def reachable():
        try:
            return json.load(open(runtime)).get("orchestrator_reachable")
        except (OSError, ValueError):
            return None
    check("agent reaches the orchestrator", wait_for(lambda: reachable() is True, 10), reachable())

    S.stop(signal.SIGKILL, 5)
    check("orchestrator killed: heartbeat_failed raised, agent keeps running",
          wait_for(lambda: agent_events(d, "heartbeat_failed"), 10) and a.poll() is None, agent_events(d)[-3:])
    check("runtime.json says unreachable", wait_for(lambda: reachable() is False, 10), reachable())
    time.sleep(3)
    check("orchestrator back (same state, same ports)", S.start())
    check("the agent reconnects with backoff", wait_for(lambda: reachable() is True, 45), reachable())

    def stored(name):
        return S.events_query(name, "--agent", "k1")
    n_local = len(agent_events(d, "heartbeat_failed"))
    check("events raised while cut off are stored, exactly once",
          wait_for(lambda: len(stored("heartbeat_failed")) == n_local, 20)
          and len(set(e["id"] for e in stored("heartbeat_failed"))) == n_local,
          (n_local, len(stored("heartbeat_failed"))))
    time.sleep(2)
    check("no duplicates after more heartbeats", len(stored("heartbeat_failed")) == n_local,
          (n_local, len(stored("heartbeat_failed"))))
    rc, _ = terminate(a, 20)
    check("SIGTERM exit 0", rc == 0, rc)
finally:
    S.finish(T)
T.exit("agent_reconnect")

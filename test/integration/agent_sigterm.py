#!/usr/bin/env python3
"""agent_sigterm.py: SIGTERM stops `agent run` at once, black-box.

1. The worker is parked in a job long-poll (heartbeat_interval 30 s, so the
   poll asks wait=10): SIGTERM must end it within ~1 s, not after the poll.
2. A job is running (the 30 s sleep plugin): SIGTERM kills it, its result
   (signal 9) is stored by the orchestrator, and the agent exits within the
   same bound.
Every wait is bounded; everything is killed at the end.
"""
import json
import os
import time
from lib_agent import Checks, Stack, run, wait_for, agent_events, terminate

STAVILY = os.environ["STAVILY"]
PLUGINS = os.environ["PLUGINS"]
T = Checks()
S = Stack(STAVILY, "stavily-sigterm.")
BOUND = 2.0   # seconds: "about a second", with room for a loaded test machine


try:
    token = S.boot(T, 1)
    plugdir = os.path.join(S.tmp, "plugins")
    S.install_plugin(plugdir, "sleep", os.path.join(PLUGINS, "agent_sleep"))
    # a long heartbeat interval: the worker parks in GET /v1/agent/jobs?wait=10
    conf, d = S.agent_conf("t1", plugins_dir=plugdir, heartbeat="30s")
    a = S.start_agent(conf, d, env={"STAVILY_INSTALLATION_TOKEN": token})
    T.check("agent started", wait_for(lambda: agent_events(d, "agent_started"), 15), agent_events(d))
    time.sleep(1.5)    # first heartbeat done, now parked in the long poll
    rc, took = terminate(a)
    print("# idle agent stopped in %.2f s (exit %s)" % (took, rc), flush=True)
    T.check("SIGTERM during a long poll: exit 0", rc == 0, rc)
    T.check("SIGTERM during a long poll: stopped within %.0f s" % BOUND, took < BOUND, took)

    # a running job: killed, reported, stored; still within the bound
    a = S.start_agent(conf, d)
    T.check("agent started again", wait_for(lambda: len(agent_events(d, "agent_started")) >= 2, 15))
    r = run(STAVILY, "ctl", "-S", S.sock, "--json", "job", "submit", "--agent", "acme/t1",
            "--plugin", "sleep", "--args", "{}")
    jid = json.loads(r.stdout).get("id") if r.returncode == 0 else None
    # the plugin started: the spawner's pid has a grandchild (the sandboxed sleep)
    T.check("the sleep job was handed to the agent",
            jid is not None and wait_for(lambda: S.ctl_json("job", "get", jid).get("state") != "queued", 15),
            S.ctl_json("job", "get", jid) if jid else r.stderr)
    time.sleep(1.0)
    rc, took = terminate(a)
    print("# agent with a running job stopped in %.2f s (exit %s)" % (took, rc), flush=True)
    T.check("SIGTERM with a running job: exit 0", rc == 0, rc)
    T.check("SIGTERM with a running job: stopped within %.0f s" % BOUND, took < BOUND, took)
    j = S.ctl_json("job", "get", jid)
    res = j.get("result") or {}
    T.check("the killed job's result reached the orchestrator before the agent exited",
            j.get("state") == "done" and res.get("signal") == 9, j)
    T.check("nothing left behind (no result missing at stop)",
            not agent_events(d, "job_results_missing_at_stop"), agent_events(d, "job_results_missing_at_stop"))
finally:
    S.close()
T.exit()

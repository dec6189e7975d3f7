#!/usr/bin/env python3
"""agent_spoolcap.py: the spool's size cap (agent.spool_max_size), black-box.

A sensor agent with a 256 KiB spool runs while the orchestrator is down: its
plugin prints 2,000 events (~400 KB) per run.  Past the cap the oldest sensor
events are dropped and reported (spool_overflow with sensor_dropped), the
spool stays within the cap plus the critical reserve, and the agent's own
security events (heartbeat_failed, spool_overflow...) are never dropped:
once the orchestrator is back every one of them is stored, the newest
sensor events are delivered, the oldest are gone, and delivery goes on.
Bounded waits; everything is killed at the end.
"""
import os
import sys
import time
from lib_agent import Checks, Stack, wait_for, agent_events

STAVILY = os.environ["STAVILY"]
PLUGINS = os.environ["PLUGINS"]
T = Checks()
S = Stack(STAVILY, "stavily-spoolcap.")
CAP = 256 * 1024
N = 2000


def spool_bytes(state):
    total = 0
    for root, _, files in os.walk(os.path.join(state, "spool")):
        for f in files:
            if f.endswith(".seg"):
                total += os.path.getsize(os.path.join(root, f))
    return total


def stored(name, limit=100000):
    try:
        return S.ctl_json("events", "query", "--agent", "c1", "--event", name,
                          "--limit", str(limit)).get("events", [])
    except RuntimeError:
        return []


try:
    r = S.init()
    T.check("orchestrator init", r.returncode == 0, r.stderr)
    T.check("orchestrator up", S.start())
    S.ctl_json("tenant", "add", "acme")
    token = S.ctl_json("token", "create", "--tenant", "acme")["token"]
    plugdir = os.path.join(S.tmp, "plugins")
    os.makedirs(plugdir, mode=0o755)
    pname = "ev%d" % N
    conf, d = S.agent_conf("c1", plugins_dir=plugdir, kind="sensor",
                           extra="  spool_max_size: 256KiB\n")
    state = os.path.join(d, "state")
    # register (and let the first round go through), then take the orchestrator away
    a = S.start_agent(conf, d, env={"STAVILY_INSTALLATION_TOKEN": token})
    T.check("sensor agent registered and started",
            wait_for(lambda: agent_events(d, "agent_started"), 15), agent_events(d))
    a.terminate()
    a.wait(timeout=15)
    S.server.terminate()
    S.server.wait(timeout=15)
    # the plugin only now: every sensor event below is produced while the orchestrator is away
    S.install_plugin(plugdir, pname, os.path.join(PLUGINS, "agent_events"), kind="sensor")

    a = S.start_agent(conf, d)
    T.check("agent started with the orchestrator away",
            wait_for(lambda: len(agent_events(d, "agent_started")) >= 2, 15), agent_events(d)[-3:])

    def overflow_dropped():
        return sum((e.get("details") or {}).get("sensor_dropped", 0)
                   for e in agent_events(d, "spool_overflow"))
    T.check("past the cap, sensor events are dropped and reported (spool_overflow sensor_dropped > 0)",
            wait_for(lambda: overflow_dropped() > 0, 20), agent_events(d, "spool_overflow"))
    # a few more rounds at the cap
    peak = 0
    for _ in range(30):
        peak = max(peak, spool_bytes(state))
        time.sleep(0.1)
    print("# spool peak %d bytes (cap %d, + reserve %d)" % (peak, CAP, CAP // 4), flush=True)
    T.check("the spool stays within its cap plus the critical reserve", 0 < peak <= CAP + CAP // 4, peak)
    T.check("the agent keeps running at the cap", a.poll() is None, a.poll())
    hb_local = agent_events(d, "heartbeat_failed")
    T.check("the agent's own security events were raised meanwhile (heartbeat_failed)",
            len(hb_local) >= 1, len(hb_local))

    # the orchestrator returns: delivery resumes
    T.check("orchestrator back", S.start())
    T.check("delivery resumes: sensor events stored",
            wait_for(lambda: len(stored("sensor_test")) > 0, 20), agent_events(d)[-3:])
    T.check("no job result or security event was refused at the cap (critical_refused 0)",
            all((e.get("details") or {}).get("critical_refused", 0) == 0
                for e in agent_events(d, "spool_overflow")), agent_events(d, "spool_overflow"))
    T.check("the overflow report reaches the orchestrator",
            wait_for(lambda: any((e.get("details") or {}).get("sensor_dropped", 0) > 0
                                 for e in stored("spool_overflow")), 20), stored("spool_overflow"))
    # every security event raised while the cap was hit is stored: none dropped
    ids_hb = len(hb_local)
    T.check("every heartbeat_failed raised at the cap is stored (security events never dropped)",
            wait_for(lambda: len(stored("heartbeat_failed")) >= ids_hb, 20),
            (len(stored("heartbeat_failed")), ids_hb))
    # oldest dropped: the first run's first events are gone; newer ones arrived
    evs = stored("sensor_test")
    seqs = sorted(e.get("sequence") for e in evs if isinstance(e.get("sequence"), int))
    print("# stored sensor events: %d, sequence %s..%s" % (len(seqs), seqs[:1], seqs[-1:]), flush=True)
    T.check("the oldest sensor events were the ones dropped (sequence 1 not stored)",
            seqs and seqs[0] > 1, seqs[:3])
    T.check("the newest events of the runs at the cap were kept", seqs and seqs[-1] >= N, seqs[-3:])
    before = seqs[-1] if seqs else 0
    T.check("delivery goes on (later runs arrive too)",
            wait_for(lambda: max([e.get("sequence", 0) for e in stored("sensor_test")] or [0]) > before, 20))
finally:
    S.close()
sys.exit(1 if T.failures else 0)

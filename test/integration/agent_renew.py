#!/usr/bin/env python3
"""agent_renew.py: certificate renewal on the timer, black-box.

The orchestrator issues 1-minute certificates; the agent must renew by
itself at about 2/3 of the lifetime (renew_after from the heartbeat, plus
jitter), keep working with no failed heartbeat, and store the new
certificate; the orchestrator then knows the new serial.  Takes about a
minute.  Every wait is bounded; every process is killed at the end.
"""
import json
import os
import time
from lib_agent import Checks, Stack, run, wait_for, agent_events, terminate

STAVILY = os.environ["STAVILY"]
T = Checks()
check = T.check
S = Stack(STAVILY, "stavily-agentrenew.")

try:
    token = S.boot(T, 1, "--set", "authentication_methods.agents.certificate_rotation=1m",
                   up="orchestrator up (1-minute agent certificates)")
    conf, d = S.agent_conf("n1")
    a = S.start_agent(conf, d, env={"STAVILY_INSTALLATION_TOKEN": token})
    check("agent registered and started", wait_for(lambda: agent_events(d, "agent_started"), 15),
          agent_events(d))
    t0 = time.monotonic()
    ag = [x for x in S.ctl_json("agent", "list")["agents"] if x["agent_id"] == "n1"][0]
    serial0 = ag["serial"]
    life = ag["not_after"] - time.time()
    check("the first certificate lives about a minute", 30 < life <= 61, life)
    ev = []
    wait_for(lambda: agent_events(d, "certificate_expiring"), 10)
    ev = agent_events(d, "certificate_expiring")
    check("certificate_expiring raised once for the lowest threshold crossed (1 day), ERROR",
          len(ev) == 1 and ev[0]["details"].get("threshold_days") == 1
          and ev[0]["details"].get("days_remaining") == 0 and ev[0]["level"] == "ERROR", ev)
    ok_renew = wait_for(lambda: agent_events(d, "certificate_renewed"), 70)
    dt = time.monotonic() - t0
    check("renewed by itself at about 2/3 of the lifetime (35..50 s)", ok_renew and 30 <= dt <= 52,
          (ok_renew, dt, agent_events(d)[-3:]))
    ev = agent_events(d, "certificate_renewed")
    ag = [x for x in S.ctl_json("agent", "list")["agents"] if x["agent_id"] == "n1"][0]
    check("the orchestrator has the new serial, the event names both",
          ev and ev[0]["details"].get("previous_serial") == serial0
          and ev[0]["details"].get("serial") == ag["serial"] != serial0, (ev, ag))
    text = open(os.path.join(d, "state", "identity.pem")).read()
    leaf = os.path.join(S.tmp, "leaf.pem")
    with open(leaf, "w") as f:
        f.write(text[text.index("-----BEGIN CERTIFICATE-----"):])
    r = run("openssl", "x509", "-in", leaf, "-noout", "-serial")
    check("the stored certificate is the new one", r.stdout.strip().lower().endswith(ag["serial"].lower()),
          (r.stdout, ag["serial"]))
    time.sleep(3)
    check("the new certificate re-arms certificate_expiring (raised again once)",
          len(agent_events(d, "certificate_expiring")) == 2, agent_events(d, "certificate_expiring"))
    check("exactly one renewal so far (no storm)", len(agent_events(d, "certificate_renewed")) == 1,
          agent_events(d, "certificate_renewed"))
    check("no failed heartbeat or renewal", not agent_events(d, "heartbeat_failed")
          and not agent_events(d, "certificate_renewal_failed"), agent_events(d)[-5:])
    r = run(STAVILY, "agent", "status", "-c", conf, "--json")
    check("status after renewal: reachable with the new certificate",
          json.loads(r.stdout).get("orchestrator_reachable") is True
          and json.loads(r.stdout).get("serial") == ag["serial"], r.stdout)
    rc, _ = terminate(a, 20)
    check("SIGTERM exit 0", rc == 0, rc)
finally:
    S.finish(T)
T.exit("agent_renew")

#!/usr/bin/env python3
"""agent_forward.py: the spawner's own security events (the sandbox
supervisor's blocked_syscall_attempt, unauthorized_filesystem_access, the
spawner's job_refused...) reach the orchestrator through the worker's spool,
end to end: a hostile plugin job through a real orchestrator, then
`ctl events query --json` shows the event with plugin, syscall, job, agent and
tenant, stored once each.  Bounded waits; everything is killed at the end.
"""
import json
import os
import sys
from lib_agent import Checks, Stack, run, wait_for, agent_events

STAVILY = os.environ["STAVILY"]
PLUGINS = os.environ["PLUGINS"]
T = Checks()
S = Stack(STAVILY, "stavily-forward.")


def stored(name, agent="f1"):
    try:
        evs = S.ctl_json("events", "query", "--agent", agent, "--event", name)
    except RuntimeError:
        return []
    return evs.get("events", []) if isinstance(evs, dict) else []


try:
    r = S.init()
    T.check("orchestrator init", r.returncode == 0, r.stderr)
    T.check("orchestrator up", S.start())
    S.ctl_json("tenant", "add", "acme")
    token = S.ctl_json("token", "create", "--tenant", "acme")["token"]
    plugdir = os.path.join(S.tmp, "plugins")
    # the binary's own demo plugin: {"mode":"hostile"} tries execve, socket, fork, /etc/shadow
    S.install_plugin(plugdir, "stavily-demo-plugin", STAVILY)
    conf, d = S.agent_conf("f1", plugins_dir=plugdir)
    a = S.start_agent(conf, d, env={"STAVILY_INSTALLATION_TOKEN": token})
    T.check("agent registered and started", wait_for(lambda: agent_events(d, "agent_started"), 15),
            agent_events(d))

    r = run(STAVILY, "ctl", "-S", S.sock, "--json", "job", "submit", "--agent", "acme/f1",
            "--plugin", "stavily-demo-plugin", "--args", '{"mode":"hostile"}')
    jid = json.loads(r.stdout).get("id") if r.returncode == 0 else None
    j = S.job_result(jid) if jid else {}
    res = j.get("result") or {}
    T.check("the hostile job ran and its result came back", j.get("state") == "done", (r.stderr, j))
    local = agent_events(d, "blocked_syscall_attempt")
    T.check("the spawner logged blocked_syscall_attempt locally", len(local) >= 1, agent_events(d)[-5:])

    wait_for(lambda: len(stored("blocked_syscall_attempt")) >= len(local) > 0, 15)
    evs = stored("blocked_syscall_attempt")
    print("# stored: %s" % json.dumps(evs[:1])[:600], flush=True)
    T.check("blocked_syscall_attempt stored by the orchestrator, one per local event",
            len(evs) == len(local) and len(evs) >= 1, (len(evs), len(local), evs[:2]))

    def good(e):
        det = e.get("details") or {}
        return (det.get("plugin") == "stavily-demo-plugin" and isinstance(det.get("syscall"), str)
                and det.get("syscall") and e.get("agent_id") == "f1" and e.get("tenant") == "acme")
    T.check("each stored event names plugin, syscall, agent f1 and tenant acme",
            evs and all(good(e) for e in evs), evs[:2])
    T.check("each stored event names the job it came from",
            evs and all((e.get("details") or {}).get("job_id") == jid for e in evs), evs[:2])
    syscalls = sorted({(e.get("details") or {}).get("syscall") for e in evs})
    print("# blocked syscalls stored: %s" % syscalls, flush=True)
    T.check("the execve attempt is among them", "execve" in syscalls, syscalls)
    ids = [e.get("id") for e in evs]
    T.check("each has a unique id (de-duplicated like every agent event)",
            all(ids) and len(set(ids)) == len(ids), ids)
    nviol = len(res.get("violations") or []) if isinstance(res.get("violations"), list) else None
    print("# result violations: %s" % json.dumps(res.get("violations"))[:300], flush=True)

    # a refusal by the spawner (no such plugin) is forwarded too
    r = run(STAVILY, "ctl", "-S", S.sock, "--json", "job", "submit", "--agent", "acme/f1",
            "--plugin", "nosuch", "--args", "{}")
    jid2 = json.loads(r.stdout).get("id") if r.returncode == 0 else None
    S.job_result(jid2) if jid2 else {}
    T.check("the spawner's job_refused reaches the orchestrator",
            wait_for(lambda: any((e.get("details") or {}).get("job_id") == jid2
                                 for e in stored("job_refused")), 15), stored("job_refused"))

    # a restart of the agent resends nothing twice (acked records are gone)
    n_before = len(stored("blocked_syscall_attempt"))
    a.terminate()
    a.wait(timeout=15)
    a = S.start_agent(conf, d)
    wait_for(lambda: len(agent_events(d, "agent_started")) >= 2, 15)
    wait_for(lambda: False, 2)
    T.check("after a restart the stored events are still there once each",
            len(stored("blocked_syscall_attempt")) == n_before, (n_before, len(stored("blocked_syscall_attempt"))))
finally:
    S.close()
sys.exit(1 if T.failures else 0)

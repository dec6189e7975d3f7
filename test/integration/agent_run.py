#!/usr/bin/env python3
"""agent_run.py: `stavily agent run` against a real orchestrator, black-box.

Registers on first start (token from the environment), privilege separation
as read from /proc/PID/status of the spawner and the worker (docs/agent.md),
heartbeats, SIGTERM, revocation (the agent learns it on its live connection,
wipes its key, exits 3 with agent_revoked).  Every wait is bounded; every
process is killed at the end whatever happens.
"""
import json
import os
import signal
import subprocess
import time
from lib_agent import Checks, Stack, run, wait_for, proc_status, children, agent_events, terminate

STAVILY = os.environ["STAVILY"]
PLUGINS = os.environ["PLUGINS"]
T = Checks()
check = T.check
S = Stack(STAVILY, "stavily-agentrun.")

try:
    token = S.boot(T, 5)

    # ---- run registers first when a token is available -------------------------------
    conf, d = S.agent_conf("r1")
    a = S.start_agent(conf, d, env={"STAVILY_INSTALLATION_TOKEN": token})
    check("run without a certificate registers first (token from the environment)",
          wait_for(lambda: agent_events(d, "agent_started"), 15), agent_events(d))
    check("identity stored by run", os.path.exists(os.path.join(d, "state", "identity.pem")))

    # ---- privilege separation, read from /proc ------------------------------------------
    kids = []
    wait_for(lambda: len(children(a.pid)) >= 1, 5)
    kids = children(a.pid)
    sp, wk = proc_status(a.pid), (proc_status(kids[0]) if kids else {})
    zero = "0000000000000000"
    check("worker: uid 65534, CapEff/CapPrm/CapBnd/CapInh/CapAmb 0, NoNewPrivs 1, Seccomp 2",
          wk.get("Uid", "").split() == ["65534"] * 4 and all(wk.get(k) == zero for k in
          ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb")) and wk.get("NoNewPrivs") == "1"
          and wk.get("Seccomp") == "2" and wk.get("Groups", "x") == "", wk)
    check("spawner: NoNewPrivs 1, capabilities limited to PRIVSEP_SPAWNER_CAPS (no SYS_MODULE, SYS_RAWIO, NET_RAW, BPF)",
          sp.get("NoNewPrivs") == "1" and sp.get("CapBnd") not in (None, "000001ffffffffff")
          and int(sp.get("CapEff", "0"), 16) & ~0x12c11ff == 0
          and int(sp.get("CapBnd", "f"), 16) & ((1 << 16) | (1 << 17) | (1 << 13) | (1 << 39)) == 0, sp)
    d_evs = agent_events(d, "agent_started")
    check("agent_started names both processes", d_evs and d_evs[0]["details"].get("worker_pid") in kids
          and d_evs[0]["details"].get("spawner_pid") == a.pid, (d_evs, kids))

    # ---- heartbeats: the agent stays reachable, no failures ----------------------------
    time.sleep(2.5)
    check("no heartbeat failure while the orchestrator is up", not agent_events(d, "heartbeat_failed"),
          agent_events(d, "heartbeat_failed"))
    r = run(STAVILY, "agent", "status", "-c", conf, "--json")
    check("status of the running agent: reachable", r.returncode == 0 and
          json.loads(r.stdout).get("orchestrator_reachable") is True, r.stdout + r.stderr)

    # ---- SIGTERM stops cleanly ---------------------------------------------------------------
    rc, _ = terminate(a)
    check("SIGTERM: exit 0 and agent_stopped", rc == 0 and agent_events(d, "agent_stopped"), (rc, agent_events(d)[-3:]))
    check("SIGTERM: the worker is gone too", kids and not os.path.exists("/proc/%d" % kids[0])
          or (kids and proc_status(kids[0]).get("State", "").startswith("Z")), kids)

    # ---- revoke: the agent learns it by heartbeat, wipes its key and exits -----------------------
    a = S.start_agent(conf, d)
    check("agent runs again with its stored identity",
          wait_for(lambda: len(agent_events(d, "agent_started")) >= 2, 10), agent_events(d)[-3:])
    time.sleep(1.5)
    S.ctl_json("agent", "revoke", "--tenant", "acme", "r1")
    try:
        rc = a.wait(timeout=20)
    except subprocess.TimeoutExpired:
        rc = "timeout"
    err = open(os.path.join(d, "run.stderr")).read()
    check("revoked: exit 3 with an explanation", rc == 3 and "revoked" in err, (rc, err[-400:]))
    ev = agent_events(d, "agent_revoked")
    check("revoked: agent_revoked event (key_wiped true)", ev and ev[0]["details"].get("key_wiped") is True, ev)
    check("revoked: identity file removed", not os.path.exists(os.path.join(d, "state", "identity.pem")))
    r = run(STAVILY, "agent", "run", "-c", conf)
    check("revoked agent without a new token does not start", r.returncode != 0 and "register" in r.stderr,
          r.stderr)

    # ---- jobs, events, quarantine, rotation (a second agent) ------------------------------
    tokf = S.token_file(S.ctl_json("token", "create", "--tenant", "acme", "--uses", "1")["token"], "token2")
    plugdir = os.path.join(S.tmp, "plugins")
    S.install_plugin(plugdir, "echo", os.path.join(PLUGINS, "agent_echo"))
    S.install_plugin(plugdir, "sleep", os.path.join(PLUGINS, "agent_sleep"))
    conf, d = S.agent_conf("j1", plugins_dir=plugdir)
    with open(conf, "a") as f:
        f.write("sandbox:\n  allowed_syscalls: []\n  blocked_syscalls: [ptrace]\n")
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tokf)
    check("second agent registered", r.returncode == 0, r.stderr)
    a = S.start_agent(conf, d)
    check("second agent started", wait_for(lambda: agent_events(d, "agent_started"), 10), agent_events(d))

    def submit(args, plugin="echo"):
        r = run(STAVILY, "ctl", "-S", S.sock, "--json", "job", "submit", "--agent", "acme/j1",
                "--plugin", plugin, "--args", json.dumps(args))
        return json.loads(r.stdout)["id"] if r.returncode == 0 else None

    def job(jid):
        try:
            return S.ctl_json("job", "get", jid)
        except RuntimeError:
            return {}
    result_of = S.job_result

    jid = submit({"hello": "world"})
    j = result_of(jid) if jid else {}
    res = j.get("result") or {}
    check("job round trip: plugin output comes back as the stored result",
          j.get("state") == "done" and res.get("status") == "succeeded"
          and res.get("stdout") == {"echo": {"hello": "world"}} and res.get("exit_code") == 0, j)
    check("job result carries the sandbox layers", isinstance(res.get("layers"), dict), res)

    def stored(name):
        return S.events_query(name, "--agent", "j1")
    # SIGHUP: the log is reopened (rotation); the worker's next events go to the new file
    os.chown(d, 65534, 65534)
    os.rename(os.path.join(d, "events.log"), os.path.join(d, "events.log.1"))
    a.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    check("SIGHUP does not stop the agent", a.poll() is None, a.poll())

    # quarantine: jobs refused, reporting continues; release: jobs run again
    S.ctl_json("agent", "quarantine", "--tenant", "acme", "j1")
    check("quarantine: the agent records it (in the reopened log)",
          wait_for(lambda: '"agent_quarantined"' in open(os.path.join(d, "events.log")).read()
                   if os.path.exists(os.path.join(d, "events.log")) else False, 10), agent_events(d)[-3:])
    jid = submit({"n": 2})
    j = result_of(jid) if jid else {}
    check("the worker's events reach the orchestrator through the spool (agent_quarantined stored once)",
          wait_for(lambda: stored("agent_quarantined"), 10) and len(stored("agent_quarantined")) == 1
          and stored("agent_quarantined")[0].get("tenant") == "acme", stored("agent_quarantined"))
    check("quarantine: a job is refused, not run", (j.get("result") or {}).get("status") == "refused", j)
    r = run(STAVILY, "agent", "status", "-c", conf, "--json")
    check("status shows the quarantine", json.loads(r.stdout).get("quarantined") is True, r.stdout)
    S.ctl_json("agent", "release", "--tenant", "acme", "j1")
    check("release: the agent records it",
          wait_for(lambda: agent_events(d, "agent_released"), 10), agent_events(d)[-3:])
    jid = submit({"n": 3})
    j = result_of(jid) if jid else {}
    check("after release a job runs again", (j.get("result") or {}).get("status") == "succeeded", j)

    # local lockdown: kills the running plugin, refuses jobs, keeps reporting; --release ends it
    jid_sleep = submit({}, plugin="sleep")
    wait_for(lambda: job(jid_sleep).get("state") not in (None, "queued"), 10)
    time.sleep(1.0)
    t0 = time.monotonic()
    r = run(STAVILY, "agent", "lockdown", "-c", conf)
    check("agent lockdown: exit 0", r.returncode == 0 and "lockdown engaged" in r.stdout, r.stdout + r.stderr)
    check("lockdown: agent_lockdown event", wait_for(lambda: agent_events(d, "agent_lockdown"), 10),
          agent_events(d)[-3:])
    j = result_of(jid_sleep, 15)
    res = j.get("result") or {}
    check("lockdown: the running plugin was killed (signal 9) long before its 30 s",
          res.get("signal") == 9 and res.get("status") == "failed" and time.monotonic() - t0 < 20, j)
    jid = submit({"n": 5})
    j = result_of(jid) if jid else {}
    check("lockdown: a new job is refused", (j.get("result") or {}).get("status") == "refused"
          and "lockdown" in str((j.get("result") or {}).get("error")), j)
    r = run(STAVILY, "agent", "status", "-c", conf, "--json")
    check("status shows the lockdown", json.loads(r.stdout).get("lockdown") is True, r.stdout)
    r = run(STAVILY, "agent", "lockdown", "-c", conf, "--release")
    check("lockdown --release: exit 0", r.returncode == 0, r.stderr)
    check("lockdown released: event", wait_for(lambda: agent_events(d, "agent_lockdown_released"), 10),
          agent_events(d)[-3:])
    jid = submit({"n": 6})
    j = result_of(jid) if jid else {}
    check("after the release a job runs again", (j.get("result") or {}).get("status") == "succeeded", j)

    # rotation now: new serial on disk, old one kept until the new one worked
    serial0 = S.ctl_json("agent", "list")["agents"]
    serial0 = [x["serial"] for x in serial0 if x["agent_id"] == "j1"][0]
    S.ctl_json("agent", "rotate", "--tenant", "acme", "j1")
    check("rotate: certificate_renewed", wait_for(lambda: agent_events(d, "certificate_renewed"), 15),
          agent_events(d)[-3:])
    ag = [x for x in S.ctl_json("agent", "list")["agents"] if x["agent_id"] == "j1"][0]
    r = run(STAVILY, "agent", "status", "-c", conf, "--json")
    js = json.loads(r.stdout)
    check("rotate: the orchestrator and the stored identity agree on a new serial",
          ag["serial"] != serial0 and js.get("serial") == ag["serial"], (serial0, ag, js.get("serial")))
    jid = submit({"n": 4})
    j = result_of(jid) if jid else {}
    check("after rotation jobs still run (new certificate in use)",
          (j.get("result") or {}).get("status") == "succeeded", j)
    check("no heartbeat failures during all this", not agent_events(d, "heartbeat_failed"),
          agent_events(d, "heartbeat_failed"))
    rc, _ = terminate(a, 20)
    check("second agent: SIGTERM exit 0", rc == 0, rc)

    # ---- started unprivileged (as nobody): the same split, with what the kernel allows ----------
    token3 = S.ctl_json("token", "create", "--tenant", "acme", "--uses", "1")["token"]
    tokf3 = os.path.join(S.tmp, "u1", "token")
    conf, d = S.agent_conf("u1", extra="  token_file: %s\n" % tokf3)
    os.chown(d, 65534, 65534)
    with open(tokf3, "w") as f:
        f.write(token3)
    os.chown(tokf3, 65534, 65534)
    os.chmod(tokf3, 0o600)
    a = S.start_agent(conf, d, wrap=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    check("as nobody: registers and starts", wait_for(lambda: agent_events(d, "agent_started"), 15),
          open(os.path.join(d, "run.stderr")).read()[-500:])
    wait_for(lambda: len(children(a.pid)) >= 1, 5)
    kids = children(a.pid)
    wk = proc_status(kids[0]) if kids else {}
    sp = proc_status(a.pid)
    check("as nobody: worker CapEff/CapPrm/CapBnd 0, NoNewPrivs 1, Seccomp 2, uid 65534",
          wk.get("Uid", "").split() == ["65534"] * 4 and all(wk.get(k) == zero for k in
          ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb")) and wk.get("NoNewPrivs") == "1"
          and wk.get("Seccomp") == "2", wk)
    check("as nobody: spawner NoNewPrivs 1, no capabilities", sp.get("NoNewPrivs") == "1"
          and sp.get("CapEff") == zero, sp)
    time.sleep(2.5)
    check("as nobody: heartbeats succeed", not agent_events(d, "heartbeat_failed")
          and os.path.exists(os.path.join(d, "state", "runtime.json"))
          and json.load(open(os.path.join(d, "state", "runtime.json"))).get("orchestrator_reachable") is True,
          agent_events(d)[-3:])
    rc, _ = terminate(a, 20)
    check("as nobody: SIGTERM exit 0", rc == 0, rc)
finally:
    S.finish(T)
T.exit("agent_run")

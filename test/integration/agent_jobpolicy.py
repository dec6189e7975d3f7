#!/usr/bin/env python3
"""agent_jobpolicy.py: a job's pinned plugin digest and sandbox limits, end to
end: `ctl job submit --sha256 --policy` -> orchestrator (validated, journaled,
handed out) -> worker -> spawner, which checks the pin against the bytes it
hashes and refuses any limit that would loosen the agent's local policy.
"""
import os
import sys
import time
from lib_agent import Checks, Stack, run, wait_for, agent_events

STAVILY = os.environ["STAVILY"]
PLUGINS = os.environ["PLUGINS"]
T = Checks()
S = Stack(STAVILY, "stavily-jobpolicy.")

try:
    r = S.init()
    T.check("orchestrator init", r.returncode == 0, r.stderr)
    T.check("orchestrator up", S.start())
    S.ctl_json("tenant", "add", "acme")
    token = S.ctl_json("token", "create", "--tenant", "acme")["token"]
    plugdir = os.path.join(S.tmp, "plugins")
    echo_sha = S.install_plugin(plugdir, "echo", os.path.join(PLUGINS, "agent_echo"))
    S.install_plugin(plugdir, "sleep", os.path.join(PLUGINS, "agent_sleep"))
    conf, d = S.agent_conf("p1", plugins_dir=plugdir,
                           extra="sandbox:\n  memory_limit: 256MB\n  wall_timeout: 60s\n")
    a = S.start_agent(conf, d, env={"STAVILY_INSTALLATION_TOKEN": token})
    T.check("agent registered and started", wait_for(lambda: agent_events(d, "agent_started"), 15),
            agent_events(d))

    def submit(plugin, *opts):
        r = run(STAVILY, "ctl", "-S", S.sock, "--json", "job", "submit", "--agent", "acme/p1",
                "--plugin", plugin, "--args", "{}", *opts)
        return r, (__import__("json").loads(r.stdout).get("id") if r.returncode == 0 else None)

    # the right pin runs; the stored job shows the pin
    r, jid = submit("echo", "--sha256", echo_sha.upper())
    j = S.job_result(jid) if jid else {}
    T.check("a job pinning the plugin's digest runs (pin given in upper case, stored normalized)",
            (j.get("result") or {}).get("status") == "succeeded" and j.get("sha256") == "sha256:" + echo_sha,
            (r.stderr, j))

    # a wrong pin is refused by the spawner, before the plugin runs
    r, jid = submit("echo", "--sha256", "sha256:" + "0" * 64)
    j = S.job_result(jid) if jid else {}
    res = j.get("result") or {}
    T.check("a job pinning another digest is refused, not run",
            res.get("status") == "refused" and "pin" in res.get("error", ""), j)

    # a malformed pin never reaches an agent
    r, jid = submit("echo", "--sha256", "sha256:xyz")
    T.check("a malformed pin is refused by the orchestrator (400, no job)",
            r.returncode != 0 and jid is None and "sha256" in r.stderr, (r.returncode, r.stderr))

    def admin_get(path):
        import json
        import socket
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(30)
        c.connect(S.sock)
        c.sendall(("GET %s HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n" % path).encode())
        buf = b""
        while True:
            x = c.recv(65536)
            if not x:
                break
            buf += x
        c.close()
        return json.loads(buf.partition(b"\r\n\r\n")[2] or b"{}")

    # a tighter limit applies: wall_timeout 1s cuts the 30 s sleep plugin.
    # GET ?wait= parks until the result is stored (the long-poll ctl --wait uses)
    r, jid = submit("sleep", "--policy", "wall_timeout=1s", "--policy", "memory_limit=64MB")
    t0 = time.monotonic()
    j = admin_get("/v1/admin/jobs/%s?wait=20" % jid) if jid else {}
    took = time.monotonic() - t0
    T.check("GET /v1/admin/jobs/ID?wait= answers when the result is stored (after the 1 s limit, "
            "long before the 20 s wait)", j.get("state") == "done" and 0.8 < took < 10, (took, j))
    r2, jid2 = submit("sleep")
    t0 = time.monotonic()
    j2 = admin_get("/v1/admin/jobs/%s?wait=1" % jid2) if jid2 else {}
    took2 = time.monotonic() - t0
    T.check("GET ?wait=1 on a job still running answers after about 1 s, not done",
            j2.get("state") in ("queued", "delivered") and 0.8 < took2 < 5, (took2, j2))
    res = j.get("result") or {}
    T.check("a job's tighter policy applies (wall_timeout=1s kills the 30 s plugin)",
            "wall_time" in (res.get("limits_hit") or []) and res.get("wall_ms", 99999) < 10000, j)
    T.check("the job's policy is journaled and shown", (j.get("policy") or {}).get("wall_timeout") == "1s", j)

    # loosening is refused, each way
    for kv, what in (("memory_limit=4GB", "memory_limit"), ("network_access=full", "network_access"),
                     ("namespaces=off", "namespaces")):
        r, jid = submit("echo", "--policy", kv)
        res = (S.job_result(jid) if jid else {}).get("result") or {}
        T.check("a job asking %s is refused as loosening the local policy" % kv,
                res.get("status") == "refused" and what in res.get("error", ""), res)
    r, jid = submit("echo", "--policy", "user=0:0")
    res = (S.job_result(jid) if jid else {}).get("result") or {}
    T.check("a job may never choose the plugin's uid (user=0:0 refused)",
            res.get("status") == "refused" and "user" in res.get("error", ""), res)

    # the plugin's file changed after it was installed: refused before it runs
    exe = os.path.join(plugdir, "echo")
    original = open(exe, "rb").read()
    with open(exe, "ab") as f:
        f.write(b"\0")
    r, jid = submit("echo")
    res = (S.job_result(jid) if jid else {}).get("result") or {}
    T.check("a plugin whose file changed since its manifest was written is refused, not run",
            res.get("status") == "refused" and "digest" in res.get("error", "") and "stdout" not in res, res)
    with open(exe, "wb") as f:
        f.write(original)
    r, jid = submit("echo")
    res = (S.job_result(jid) if jid else {}).get("result") or {}
    T.check("the same plugin restored runs again", res.get("status") == "succeeded", res)

    # the policy and the pin survive a restart of the orchestrator (journal replay)
    r, jid = submit("echo", "--sha256", echo_sha, "--policy", "max_output=4096")
    j1 = S.job_result(jid) if jid else {}
    S.server.terminate()
    S.server.wait(timeout=15)
    T.check("orchestrator restarted", S.start())
    j2 = S.ctl_json("job", "get", jid) if jid else {}
    T.check("pin and policy replayed from the journal after a restart",
            j2.get("sha256") == "sha256:" + echo_sha and (j2.get("policy") or {}).get("max_output") == "4096"
            and (j1.get("result") or {}).get("status") == "succeeded", (j1, j2))
finally:
    S.close()
sys.exit(1 if T.failures else 0)

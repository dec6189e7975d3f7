#!/usr/bin/env python3
"""agent_spoolfull.py: a full disk under the agent's spool, black-box.

The agent runs in its own mount namespace (unshare -m) with its state
directory on a 2 MiB tmpfs; a sensor plugin prints 50 events per second.
The test fills the tmpfs through /proc/PID/root: the lost events are
reported (spool_overflow with the errno), the agent keeps running, and
delivery recovers once the space returns.  Bounded waits; everything is
killed at the end.
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
from lib_agent import Checks, Stack, run, free_port, wait_for, all_text, proc_status, children, agent_events  # noqa: F401

STAVILY = os.environ["STAVILY"]
T = Checks()
ok, fail, check = T.ok, T.fail, T.check
S = Stack(STAVILY, "stavily-agentfull.")
TMP, ORCH, OEVENTS, CONF, SOCK = S.tmp, S.orch, S.events, S.conf, S.sock
EPORT, APORT = S.eport, S.aport
ctl_json, start_agent = S.ctl_json, S.start_agent


def agent_conf(name, pins, server_name="localhost", extra=""):
    return S.agent_conf(name, pins, server_name, extra, kind="sensor")
server = None


def start():
    global server
    up = S.start()
    server = S.server
    return up


def start_agent_tmpfs(conf, d, state, saved, size):
    """The agent in its own mount namespace, its state dir a small tmpfs
    holding a copy of the registered identity."""
    e = dict(os.environ)
    e.pop("STAVILY_INSTALLATION_TOKEN", None)
    errf = open(os.path.join(d, "run.stderr"), "a")
    script = ('mount -t tmpfs -o size=%s,mode=0700 stavily-spool "$1" && cp -a "$2"/. "$1"/ && '
              'exec "$3" agent run -c "$4"' % size)
    return subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                             state, saved, STAVILY, conf], stdout=errf, stderr=errf, env=e,
                            start_new_session=True)


def stop_proc(p):
    """kill -9 of the whole process group (spawner, worker, plugins)."""
    if p is None:
        return
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


import hashlib
agents = []
try:
    r = run(STAVILY, "orchestrator", "init", "-d", ORCH, "--name", "localhost", "--san", "127.0.0.1")
    pin = r.stdout.strip()
    check("orchestrator init", r.returncode == 0, r.stderr)
    check("orchestrator up", start())
    ctl_json("tenant", "add", "acme")
    token = ctl_json("token", "create", "--tenant", "acme", "--uses", "1")["token"]
    tokf = os.path.join(TMP, "token")
    with open(tokf, "w") as f:
        f.write(token)
    os.chmod(TMP, 0o755)   # the worker (uid 65534) must reach its state directory
    plugdir = os.path.join(TMP, "plugins")
    os.makedirs(plugdir, mode=0o755, exist_ok=True)
    pname = "ev50x0"
    exe = os.path.join(plugdir, pname)
    shutil.copy(os.path.join(os.environ["PLUGINS"], "agent_events"), exe)
    os.chmod(exe, 0o755)
    with open(os.path.join(plugdir, pname + ".json"), "w") as f:
        json.dump({"name": pname, "version": "1.0", "type": "sensor", "executable": pname,
                   "sha256": hashlib.sha256(open(exe, "rb").read()).hexdigest()}, f)
    conf, d = agent_conf("f1", [pin])
    conf_text = open(conf).read().replace("  plugins_dir: %s\n" % TMP, "  plugins_dir: %s\n" % plugdir, 1)
    with open(conf, "w") as f:
        f.write(conf_text)
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tokf)
    check("sensor agent registered", r.returncode == 0, r.stderr)
    state = os.path.join(d, "state")
    saved = os.path.join(d, "state.saved")
    shutil.copytree(state, saved, symlinks=True)

    def stored(name):
        try:
            return ctl_json("events", "query", "--tenant", "acme", "--event", name,
                            "--limit", "100000").get("events", [])
        except RuntimeError:
            return []

    a = start_agent_tmpfs(conf, d, state, saved, "2m")
    agents.append(a)
    check("agent runs with its state dir on a 2 MiB tmpfs",
          wait_for(lambda: len(stored("sensor_test")) >= 50, 20), open(os.path.join(d, "run.stderr")).read()[-500:])
    # the agent's view of its state dir, from outside its mount namespace
    kids = children(a.pid)
    inner = "/proc/%d/root%s" % (a.pid, state)
    check("the tmpfs is mounted in the agent's namespace only",
          os.path.exists(os.path.join(inner, "identity.pem")) and not os.path.ismount(state), inner)
    filler = os.path.join(inner, "filler")
    with open(filler, "wb") as f:
        chunk = b"\0" * 65536
        for _ in range(64):    # bounded: 4 MiB > the tmpfs
            try:
                f.write(chunk)
                f.flush()
            except OSError:
                break
    before = len(stored("sensor_test"))
    ok_full = wait_for(lambda: any(e["details"].get("sensor_not_spooled", 0) > 0
                                   for e in agent_events(d, "spool_overflow")), 15)
    check("disk full under the spool: spool_overflow reported (sensor_not_spooled, the errno)",
          ok_full and any("space" in e["details"].get("error", "") for e in agent_events(d, "spool_overflow")),
          agent_events(d)[-5:])
    check("agent keeps running while the disk is full", a.poll() is None)
    os.unlink(filler)
    mid = len(stored("sensor_test"))
    check("delivery recovers when space returns",
          wait_for(lambda: len(stored("sensor_test")) >= mid + 100, 20), (before, mid, len(stored("sensor_test"))))
    check("the overflow report reaches the orchestrator once space returns",
          wait_for(lambda: stored("spool_overflow"), 25), agent_events(d)[-5:])
except Exception as e:   # noqa: BLE001 - any crash is a failure of the test
    fail("agent_spoolfull crashed", repr(e))
finally:
    for p in agents:
        stop_proc(p)
    if server:
        stop_proc(server)
    if T.failures == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print("  kept " + TMP, flush=True)

print("agent_spoolfull: %d failure(s)" % T.failures)
raise SystemExit(1 if T.failures else 0)

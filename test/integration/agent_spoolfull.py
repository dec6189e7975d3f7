#!/usr/bin/env python3
"""agent_spoolfull.py: a full disk under the agent's spool, black-box.

The agent runs in its own mount namespace (unshare -m) with its state
directory on a 2 MiB tmpfs; a sensor plugin prints 50 events per second.
The test fills the tmpfs through /proc/PID/root: the lost events are
reported (spool_overflow with the errno), the agent keeps running, and
delivery recovers once the space returns.  Bounded waits; everything is
killed at the end.
"""
import os
import shutil
from lib_agent import Checks, Stack, run, wait_for, agent_events

STAVILY = os.environ["STAVILY"]
PLUGINS = os.environ["PLUGINS"]
T = Checks()
fail, check = T.fail, T.check
S = Stack(STAVILY, "stavily-agentfull.")


def start_agent_tmpfs(conf, d, state, saved, size):
    """The agent in its own mount namespace (and process group), its state
    dir a small tmpfs holding a copy of the registered identity."""
    script = 'mount -t tmpfs -o size=%s,mode=0700 stavily-spool "$1" && cp -a "$2"/. "$1"/ && shift 2 && exec "$@"'
    return S.start_agent(conf, d, new_session=True, wrap=[
        "unshare", "-m", "--propagation", "private", "sh", "-c", script % size, "sh", state, saved])


try:
    tokf = S.token_file(S.boot(T, 1))
    plugdir = os.path.join(S.tmp, "plugins")
    S.install_plugin(plugdir, "ev50x0", os.path.join(PLUGINS, "agent_events"), kind="sensor")
    conf, d = S.agent_conf("f1", kind="sensor", plugins_dir=plugdir)
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tokf)
    check("sensor agent registered", r.returncode == 0, r.stderr)
    state = os.path.join(d, "state")
    saved = os.path.join(d, "state.saved")
    shutil.copytree(state, saved, symlinks=True)

    def stored(name):
        return S.events_query(name, "--tenant", "acme", "--limit", "100000")

    a = start_agent_tmpfs(conf, d, state, saved, "2m")
    check("agent runs with its state dir on a 2 MiB tmpfs",
          wait_for(lambda: len(stored("sensor_test")) >= 50, 20), open(os.path.join(d, "run.stderr")).read()[-500:])
    # the agent's view of its state dir, from outside its mount namespace
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
    S.finish(T)
T.exit("agent_spoolfull")

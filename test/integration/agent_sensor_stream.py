#!/usr/bin/env python3
"""agent_sensor_stream.py: a long-lived streaming sensor plugin (manifest
"sensor": {"mode": "stream"}) on a sensor agent against a real orchestrator,
black-box.  The stream emits events over several seconds while
sensor.sandbox.wall_timeout is 2 s: it is not cut, every event is stored
exactly once, and events reach the orchestrator while the plugin still runs.
Killed from outside, it is restarted (after a jittered backoff) and the exit
is reported as sensor_exited; lockdown stops it and keeps it stopped, release
starts it again; SIGTERM of the agent leaves no plugin process behind.
Every wait is bounded; every process is killed at the end.
"""
import json
import os
import signal
import subprocess
import time
from lib_agent import Checks, Stack, run, wait_for, agent_events

STAVILY = os.environ["STAVILY"]
PLUGINS = os.environ["PLUGINS"]
T = Checks()
ok, fail, check = T.ok, T.fail, T.check


def install(st, plugdir, name, sensor):
    st.install_plugin(plugdir, name, os.path.join(PLUGINS, "sensor_stream"), kind="sensor")
    mpath = os.path.join(plugdir, name + ".json")
    m = json.load(open(mpath))
    m["sensor"] = sensor
    with open(mpath, "w") as f:
        json.dump(m, f)


AGENT = [0]   # pid of our agent (its spawner): only its descendants count


def ppid(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("PPid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def plugin_pids(name):
    """pids of processes running the plugin executable `name` under our agent
    (other test runs on this machine may run the same plugin)."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % p) as f:
                if f.read().strip() != name[:15]:
                    continue
        except OSError:
            continue
        q = int(p)
        for _ in range(8):   # plugin <- (pid namespace init) <- spawner
            q = ppid(q)
            if q <= 1 or q == AGENT[0]:
                break
        if q == AGENT[0]:
            out.append(int(p))
    return out


st = Stack(STAVILY, "stavily-sensorstream.")
keep = False
try:
    r = st.init()
    check("orchestrator init", r.returncode == 0, r.stderr)
    check("orchestrator up", st.start())
    st.ctl_json("tenant", "add", "acme")
    token = st.ctl_json("token", "create", "--tenant", "acme", "--uses", "2")["token"]
    tokf = os.path.join(st.tmp, "token")
    with open(tokf, "w") as f:
        f.write(token)
    plugdir = os.path.join(st.tmp, "plugins")
    N, GAP = 40, 100      # 40 events over 4 s, then the plugin stays alive
    pname = "strm-%d-%d-0-1" % (N, GAP)
    install(st, plugdir, pname, {"mode": "stream"})
    # control: the same program as an interval plugin is cut by the 2 s wall_timeout
    cname = "cut-%d-%d-0-1" % (N, GAP)
    install(st, plugdir, cname, {"mode": "interval", "interval": "1h"})
    conf, d = st.agent_conf("ss1", kind="sensor", plugins_dir=plugdir,
                            extra="sensor:\n  sandbox:\n    wall_timeout: 2s\n"
                                  "  interval: 1s\n  report_window: 1s\n")
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tokf)
    check("sensor agent registered", r.returncode == 0, r.stderr)
    a = st.start_agent(conf, d)
    AGENT[0] = a.pid
    check("sensor agent started", wait_for(lambda: agent_events(d, "agent_started"), 10), agent_events(d))

    def stored(name):
        try:
            return st.ctl_json("events", "query", "--tenant", "acme", "--event", name,
                               "--limit", "5000").get("events", [])
        except RuntimeError:
            return []

    def mine():
        return [e for e in stored("sensor_stream_test") if e.get("plugin") == pname]

    # events arrive while the stream still runs (relayed as they come)
    check("stream events reach the orchestrator while the plugin is still emitting",
          wait_for(lambda: 0 < len(mine()) < N, 10), len(mine()))
    check("all %d events of a 4 s stream stored (wall_timeout 2 s does not cut it)" % N,
          wait_for(lambda: len(mine()) >= N, 15), (len(mine()), agent_events(d)[-5:]))
    time.sleep(1.5)  # a duplicate or a wall-time kill would show by now
    evs = [e for e in stored("sensor_stream_test") if e.get("plugin") == pname]
    runs = sorted(set(e.get("run") for e in evs))
    ns = sorted(e.get("n") for e in evs)
    check("exactly once: one run, n = 0..%d each once" % (N - 1),
          len(runs) == 1 and ns == list(range(N)), (runs, ns[:8], len(ns)))
    check("every stored event has a unique id", len(set(e.get("id") for e in evs)) == len(evs))
    check("no wall_time limit hit and no exit while the stream runs",
          not any("wall_time" in json.dumps(e) and pname in json.dumps(e)
                  for e in stored("resource_limit_exceeded")) and
          not stored("sensor_exited") and not agent_events(d, "sensor_exited"),
          (stored("resource_limit_exceeded"), stored("sensor_exited")))
    cut = [e for e in stored("resource_limit_exceeded")
           if e.get("details", {}).get("limit") == "wall_time"]
    check("control: the same program in interval mode is cut by wall_timeout (2 s)",
          wait_for(lambda: [e for e in stored("sensor_plugin_failed")
                            if e.get("details", {}).get("plugin") == cname], 10) and
          0 < len([e for e in stored("sensor_stream_test") if e.get("plugin") == cname]) < N,
          (cut, stored("sensor_plugin_failed")))
    pids = plugin_pids(pname)
    check("the stream plugin is still running after its wall_timeout", len(pids) >= 1, pids)

    def limits(pid):
        try:
            with open("/proc/%d/limits" % pid) as f:
                return {l[:26].strip(): l[26:].split() for l in f.read().splitlines()[1:]}
        except OSError:
            return {}
    lim = limits(pids[0]) if pids else {}
    check("the other limits stay: memory (address space 256MB), no CPU-time cap derived from wall_timeout",
          lim.get("Max address space", [""])[0] == "256000000" and
          lim.get("Max cpu time", [""])[0] == "unlimited", lim)

    # kill it from outside: restarted, reported
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    check("a killed stream is reported as sensor_exited (stored at the orchestrator)",
          wait_for(lambda: stored("sensor_exited"), 15), agent_events(d)[-5:])
    ex = (stored("sensor_exited") or [{}])[0]
    det = ex.get("details", ex)
    check("sensor_exited says plugin, signal 9 and the restart delay",
          det.get("plugin") == pname and det.get("signal") == 9 and
          isinstance(det.get("restart_in_ms"), (int, float)) and det.get("restarts") == 1, ex)
    check("the stream is restarted: a second run's events are stored",
          wait_for(lambda: len(set(e.get("run") for e in mine())) >= 2, 20),
          agent_events(d)[-5:])
    check("restarted as a new process", wait_for(lambda: plugin_pids(pname) and
                                                 not set(plugin_pids(pname)) & set(pids), 10),
          (pids, plugin_pids(pname)))

    # lockdown stops the stream and keeps it stopped; release starts it again
    r = run(STAVILY, "agent", "lockdown", "-c", conf)
    check("agent lockdown", r.returncode == 0, r.stderr)
    check("lockdown stops the stream", wait_for(lambda: not plugin_pids(pname), 15), plugin_pids(pname))
    time.sleep(2.5)
    check("no restart while in lockdown", not plugin_pids(pname), plugin_pids(pname))
    stopped = [e for e in agent_events(d, "sensor_exited")
               if e.get("details", {}).get("stopped") == "lockdown"]
    check("the lockdown stop is reported with stopped: lockdown and no restart",
          stopped and stopped[0]["details"].get("restart_in_ms") is None, agent_events(d, "sensor_exited"))
    r = run(STAVILY, "agent", "lockdown", "-c", conf, "--release")
    check("lockdown released", r.returncode == 0, r.stderr)
    check("release starts the stream again", wait_for(lambda: plugin_pids(pname), 15))
    before = plugin_pids(pname)

    def alive(pid):
        try:
            with open("/proc/%d/comm" % pid) as f:
                return f.read().strip() == pname[:15]
        except OSError:
            return False

    a.send_signal(signal.SIGTERM)
    try:
        rc = a.wait(timeout=15)
    except subprocess.TimeoutExpired:
        rc = "timeout"
    check("SIGTERM: the agent exits 0", rc == 0, rc)
    check("SIGTERM: no stream plugin process left (the one running before is gone)",
          before and wait_for(lambda: not any(alive(p) for p in before), 5),
          (before, [p for p in before if alive(p)]))
except Exception as e:   # noqa: BLE001 - any crash is a failure of the test
    fail("agent_sensor_stream crashed", repr(e))
finally:
    if T.failures:
        keep = True
        print("  kept " + st.tmp, flush=True)
        for p in st.procs:
            if p.poll() is None:
                p.kill()
    else:
        st.close()
print("agent_sensor_stream: %d failure(s)" % T.failures)
raise SystemExit(1 if T.failures else 0)

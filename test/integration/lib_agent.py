"""lib_agent.py: helpers shared by the agent and orchestrator black-box tests
(files named lib* are libraries; test/run.sh does not run them)."""
import json
import os
import socket
import subprocess
import time

def run(*args, env=None):
    e = dict(os.environ)
    e.pop("STAVILY_INSTALLATION_TOKEN", None)
    if env:
        e.update(env)
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, env=e)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def all_text(paths):
    out = ""
    for p in paths:
        try:
            with open(p, errors="replace") as f:
                out += f.read()
        except FileNotFoundError:
            pass
    return out


def proc_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
    except OSError:
        pass
    return out


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def stop_proc(p):
    if p.poll() is None:
        p.kill()
        p.wait(timeout=5)


def agent_events(d, name=None):
    evs = []
    for fn in ("events.log.1", "events.log"):   # .1: before a SIGHUP rotation
        try:
            with open(os.path.join(d, fn)) as f:
                evs += [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            pass
    return [e for e in evs if name is None or e.get("event") == name]

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


class Checks:
    """ok/fail/check lines for test/run.sh, with the failures counted."""

    def __init__(self):
        self.failures = 0

    def ok(self, name):
        print("ok - " + name, flush=True)

    def fail(self, name, why=""):
        self.failures += 1
        print("FAIL - " + name, flush=True)
        if why:
            print("  " + str(why)[:800], flush=True)

    def check(self, name, cond, why=""):
        if cond:
            self.ok(name)
        else:
            self.fail(name, why)


class Stack:
    """A real orchestrator on loopback in a temporary directory, and agents
    registered with it.  Every process it starts is killed by close()."""

    def __init__(self, stavily, prefix):
        import tempfile
        self.stavily = stavily
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.tmp, 0o755)   # a worker (uid 65534) must reach its state directory
        self.orch = os.path.join(self.tmp, "orch")
        self.conf = os.path.join(self.orch, "orchestrator.yaml")
        self.sock = os.path.join(self.orch, "admin.sock")
        self.events = os.path.join(self.tmp, "orch-events.log")
        self.eport, self.aport = free_port(), free_port()
        self.procs = []
        self.server = None
        self.pin = None
        import atexit
        atexit.register(self.kill_all)   # no orchestrator or agent outlives the test

    def init(self):
        r = run(self.stavily, "orchestrator", "init", "-d", self.orch, "--name", "localhost",
                "--san", "127.0.0.1")
        self.pin = r.stdout.strip() if r.returncode == 0 else None
        return r

    def start(self, *extra):
        errf = open(os.path.join(self.tmp, "server.stderr"), "a")
        self.server = subprocess.Popen(
            [self.stavily, "orchestrator", "run", "-c", self.conf,
             "--set", "orchestrator.listen_enroll=127.0.0.1:%d" % self.eport,
             "--set", "orchestrator.listen_agent=127.0.0.1:%d" % self.aport,
             "--set", "logging.file=" + self.events, *extra], stdout=errf, stderr=errf)
        self.procs.append(self.server)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.aport), timeout=0.5).close()
                socket.create_connection(("127.0.0.1", self.eport), timeout=0.5).close()
                return os.path.exists(self.sock)
            except OSError:
                return False
        return wait_for(up)

    def ctl_json(self, *args):
        r = run(self.stavily, "ctl", "-S", self.sock, "--json", *args)
        if r.returncode != 0:
            raise RuntimeError("ctl %s: %s" % (args, r.stderr))
        return json.loads(r.stdout)

    def agent_conf(self, name, pins=None, server_name="localhost", extra="", tenant="acme",
                   kind="action", plugins_dir=None, heartbeat="1s"):
        """agent.yaml for agent `name` in TMP/name; pins None = the orchestrator's pin,
        [] = no ca_pins line.  Returns (path, directory)."""
        if pins is None:
            pins = [self.pin]
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "agent.yaml")
        with open(path, "w") as f:
            f.write("agent:\n  type: %s\n  id: %s\n  tenant: %s\n  state_dir: %s\n"
                    "  plugins_dir: %s\n  enroll_url: https://127.0.0.1:%d\n"
                    "  orchestrator_url: https://127.0.0.1:%d\n  server_name: %s\n"
                    "  heartbeat_interval: %s\n%s%s"
                    "logging:\n  file: %s\n" % (
                        kind, name, tenant, os.path.join(d, "state"), plugins_dir or self.tmp,
                        self.eport, self.aport, server_name, heartbeat,
                        ("  ca_pins: [%s]\n" % ", ".join(pins)) if pins else "", extra,
                        os.path.join(d, "events.log")))
        return path, d

    def start_agent(self, conf, d, env=None):
        e = dict(os.environ)
        e.pop("STAVILY_INSTALLATION_TOKEN", None)
        if env:
            e.update(env)
        errf = open(os.path.join(d, "run.stderr"), "a")
        p = subprocess.Popen([self.stavily, "agent", "run", "-c", conf], stdout=errf, stderr=errf, env=e)
        self.procs.append(p)
        return p

    def install_plugin(self, plugdir, name, exe_src, kind="action", policy=None):
        """Copies exe_src into plugdir as `name` with its manifest; returns its sha256 hex."""
        import hashlib
        import shutil
        os.makedirs(plugdir, mode=0o755, exist_ok=True)
        exe = os.path.join(plugdir, name)
        shutil.copy(exe_src, exe)
        os.chmod(exe, 0o755)
        digest = hashlib.sha256(open(exe, "rb").read()).hexdigest()
        m = {"name": name, "version": "1.0", "type": kind, "executable": name, "sha256": digest}
        if policy:
            m["policy"] = policy
        with open(os.path.join(plugdir, name + ".json"), "w") as f:
            json.dump(m, f)
        return digest

    def job_result(self, jid, timeout=20):
        def get():
            try:
                return self.ctl_json("job", "get", jid)
            except RuntimeError:
                return {}
        wait_for(lambda: get().get("state") == "done", timeout)
        return get()

    def kill_all(self):
        for p in self.procs:
            try:
                stop_proc(p)
            except Exception:   # noqa: BLE001 - best effort at exit
                pass

    def close(self):
        import shutil
        self.kill_all()
        shutil.rmtree(self.tmp, ignore_errors=True)

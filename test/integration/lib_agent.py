"""lib_agent.py: helpers shared by the agent and orchestrator black-box tests
(files named lib* are libraries; test/run.sh does not run them)."""
import json
import os
import signal
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


def kill9(p):
    """kill -9 of p, and of its whole process group (spawner, worker) when p
    leads one (started with start_new_session); then reaps it.  None and an
    already reaped process (whose pid may be reused) are left alone."""
    if p is None or p.returncode is not None:
        return
    try:
        if os.getpgid(p.pid) == p.pid:
            os.killpg(p.pid, signal.SIGKILL)
        else:
            p.kill()
    except OSError:
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def terminate(p, timeout=15):
    """SIGTERM to p and wait for it: (exit status, or "timeout", seconds it took)."""
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        rc = "timeout"
    return rc, time.monotonic() - t0


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

    def exit(self, name=None):
        """Ends the test: "NAME: N failure(s)" (when named), exit status 1 on failures."""
        if name:
            print("%s: %d failure(s)" % (name, self.failures), flush=True)
        raise SystemExit(1 if self.failures else 0)


class Stack:
    """A real orchestrator on loopback in a temporary directory, and agents
    registered with it.  Every process it starts is killed by close()."""

    def __init__(self, stavily, prefix, orch_dir="orch", events_file="orch-events.log"):
        import tempfile
        self.stavily = stavily
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.tmp, 0o755)   # a worker (uid 65534) must reach its state directory
        self.orch = os.path.join(self.tmp, orch_dir)
        self.conf = os.path.join(self.orch, "orchestrator.yaml")
        self.sock = os.path.join(self.orch, "admin.sock")
        self.events = os.path.join(self.tmp, events_file)
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

    def start(self, *extra, timeout=10.0):
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
        server = self.server
        if wait_for(lambda: up() or server.poll() is not None, timeout) and up():
            return True
        # say why (e.g. a port another process took meanwhile): the server's own words
        errf.flush()
        try:
            with open(os.path.join(self.tmp, "server.stderr")) as f:
                tail = f.read()[-600:]
        except OSError:
            tail = ""
        print("# orchestrator not up (exit status %s): %s" % (server.poll(), tail.replace("\n", " | ")))
        return False

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

    def start_agent(self, conf, d, env=None, new_session=False, wrap=()):
        """`agent run`; new_session: in its own process group, so that kill9
        takes the spawner and the worker at once; wrap: a command prefix
        (e.g. setpriv ...)."""
        e = dict(os.environ)
        e.pop("STAVILY_INSTALLATION_TOKEN", None)
        if env:
            e.update(env)
        errf = open(os.path.join(d, "run.stderr"), "a")
        p = subprocess.Popen(list(wrap) + [self.stavily, "agent", "run", "-c", conf], stdout=errf, stderr=errf,
                             env=e, start_new_session=new_session)
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

    # ---- the opening and the end most tests share -------------------------------------

    def boot(self, checks, uses, *extra, up="orchestrator up"):
        """init, start (extra: more orchestrator arguments), tenant acme and a
        token for `uses` enrollments; checks "orchestrator init" and `up`.
        Returns the token."""
        r = self.init()
        checks.check("orchestrator init", r.returncode == 0, r.stderr)
        checks.check(up, self.start(*extra))
        self.ctl_json("tenant", "add", "acme")
        return self.ctl_json("token", "create", "--tenant", "acme", "--uses", str(uses))["token"]

    def events_query(self, name, *args):
        """The stored events `name` (`ctl events query --event NAME ARGS`);
        [] while the orchestrator does not answer."""
        try:
            return self.ctl_json("events", "query", "--event", name, *args).get("events", [])
        except RuntimeError:
            return []

    def token_file(self, text, name="token"):
        """Writes `text` (a token) to TMP/name, mode 0600; returns the path."""
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Signals the orchestrator and waits: its exit status, or "timeout"
        (then it is killed)."""
        server = self.server
        server.send_signal(sig)
        try:
            rc = server.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
            rc = "timeout"
        self.server = None
        return rc

    def finish(self, checks):
        """kill -9 of every process started (their groups too), then removes
        TMP; kept (and said) when a check failed or KEEP_TMP is set."""
        import shutil
        for p in self.procs:
            kill9(p)
        if checks.failures or os.environ.get("KEEP_TMP"):
            print("  kept " + self.tmp, flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- an independent client of the orchestrator (Python ssl, openssl keys) ----------

    @property
    def ca(self):
        return os.path.join(self.orch, "ca.pem")

    def key(self, name):
        """A new EC P-256 key in TMP/name.key; returns its path."""
        k = os.path.join(self.tmp, name + ".key")
        r = run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", k)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return k

    def csr(self, key, cn):
        """A CSR (PEM text) for the key at path `key`, subject CN=cn."""
        out = os.path.join(self.tmp, os.path.basename(key) + "." + cn + ".csr")
        r = run("openssl", "req", "-new", "-key", key, "-subj", "/CN=" + cn, "-out", out)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return open(out).read()

    def make_csr(self, name):
        """A new key and its CSR in TMP/name.{key,csr}: (CSR text, key path)."""
        key = os.path.join(self.tmp, name + ".key")
        csr = os.path.join(self.tmp, name + ".csr")
        r = run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key, "-subj", "/CN=" + name, "-out", csr)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return open(csr).read(), key

    def enroll(self, tenant, token, agent_id, key=None, source=None, timeout=10):
        """POST /v1/enroll with a CSR for `key` (a new key when None):
        (status, json, certificate path, key path).  The certificate is
        written to TMP/AGENT-TENANT.pem; a response without one raises."""
        import base64
        import http.client
        import ssl
        if key is None:
            csr, key = self.make_csr(agent_id + "-" + tenant)
        else:
            csr = self.csr(key, agent_id)
        ctx = ssl.create_default_context(cafile=self.ca)
        c = http.client.HTTPSConnection("localhost", self.eport, context=ctx, timeout=timeout,
                                        source_address=(source, 0) if source else None)
        auth = base64.b64encode(("%s:%s" % (tenant, token)).encode()).decode()
        try:
            c.request("POST", "/v1/enroll", body=json.dumps({"csr": csr, "agent_id": agent_id}),
                      headers={"Authorization": "Basic " + auth})
            r = c.getresponse()
            j = json.loads(r.read())
        finally:
            c.close()
        cert = os.path.join(self.tmp, "%s-%s.pem" % (agent_id, tenant))
        with open(cert, "w") as f:
            f.write(j["certificate"])
        return r.status, j, cert, key

    def agent_call(self, path, cert, key, body=None, port=None, method="POST", timeout=10, source=None):
        """One request on a new (m)TLS connection to the agent listener (no
        client certificate when cert is None): (status, json), or
        ("refused", why) when the handshake or the connection fails."""
        import http.client
        import ssl
        ctx = ssl.create_default_context(cafile=self.ca)
        if cert:
            ctx.load_cert_chain(cert, key)
        c = http.client.HTTPSConnection("localhost", port or self.aport, context=ctx, timeout=timeout,
                                        source_address=(source, 0) if source else None)
        try:
            c.request(method, path, body=json.dumps(body) if body is not None else None)
            r = c.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data else {})
        except (ssl.SSLError, ConnectionError, OSError) as e:
            return "refused", repr(e)
        finally:
            c.close()

    def orch_events(self, name, path=None):
        """The orchestrator's events `name` from its log (or from `path`)."""
        try:
            with open(path or self.events) as f:
                return [json.loads(line) for line in f if ('"event":"%s"' % name) in line]
        except FileNotFoundError:
            return []

"""lib_orch.py: the orchestrator fixture of the black-box tests that talk to
the orchestrator with Python's ssl as the agent (orch_agent, orch_jobs,
orch_lastseen...).  Files named lib* are libraries; test/run.sh does not run
them.

    install(globals(), STAVILY, "stavily-orchjobs.")

gives the test module the names its body uses: TMP, STATE, EVENTS, CONF,
SOCK, CA, EPORT, APORT; T (lib_agent.Checks, failures in T.failures) and its
ok/fail/check; run; start(*extra) / stop() (which keep the module's
`server` current, so a test can kill -9 it); ctl_json; make_csr(name);
enroll(tenant, token, agent_id); agent_call(path, cert, key, body, port);
events(name).  The server is killed at exit whatever happens.
"""
import atexit
import base64
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile

from lib_agent import Checks, free_port, wait_for, stop_proc


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def install(g, stavily, prefix, trust_domain="corp.example"):
    tmp = tempfile.mkdtemp(prefix=prefix)
    state = os.path.join(tmp, "state")
    events_log = os.path.join(tmp, "events.log")
    eport, aport = free_port(), free_port()
    conf = os.path.join(state, "orchestrator.yaml")
    sock = os.path.join(state, "admin.sock")
    ca = os.path.join(state, "ca.pem")
    checks = Checks()
    started = []

    def start(*extra):
        errf = open(os.path.join(tmp, "server.stderr"), "a")
        g["server"] = subprocess.Popen(
            [stavily, "orchestrator", "run", "-c", conf,
             "--set", "orchestrator.listen_enroll=127.0.0.1:%d" % eport,
             "--set", "orchestrator.listen_agent=127.0.0.1:%d" % aport,
             "--set", "orchestrator.trust_domain=" + trust_domain,
             "--set", "logging.file=" + events_log] + list(extra), stdout=errf, stderr=errf)
        started.append(g["server"])

        def up():
            try:
                socket.create_connection(("127.0.0.1", aport), timeout=0.5).close()
                socket.create_connection(("127.0.0.1", eport), timeout=0.5).close()
                return os.path.exists(sock)
            except OSError:
                return False
        return wait_for(up)

    def stop():
        server = g["server"]
        server.send_signal(signal.SIGTERM)
        try:
            rc = server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
            rc = "timeout"
        g["server"] = None
        return rc

    def ctl_json(*args):
        r = run(stavily, "ctl", "-S", sock, "--json", *args)
        if r.returncode != 0:
            raise RuntimeError("ctl %s: %s" % (args, r.stderr))
        return json.loads(r.stdout)

    def make_csr(name):
        key = os.path.join(tmp, name + ".key")
        csr = os.path.join(tmp, name + ".csr")
        r = run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key, "-subj", "/CN=" + name, "-out", csr)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return open(csr).read(), key

    def enroll(tenant, token, agent_id):
        csr, key = make_csr(agent_id + "-" + tenant)
        ctx = ssl.create_default_context(cafile=ca)
        c = http.client.HTTPSConnection("localhost", eport, context=ctx, timeout=10)
        auth = base64.b64encode(("%s:%s" % (tenant, token)).encode()).decode()
        c.request("POST", "/v1/enroll", body=json.dumps({"csr": csr, "agent_id": agent_id}),
                  headers={"Authorization": "Basic " + auth})
        r = c.getresponse()
        j = json.loads(r.read())
        c.close()
        cert = os.path.join(tmp, "%s-%s.pem" % (agent_id, tenant))
        with open(cert, "w") as f:
            f.write(j["certificate"])
        return r.status, j, cert, key

    def agent_call(path, cert, key, body=None, port=None):
        """(status, json) or ("refused", reason) when the handshake/connection fails."""
        ctx = ssl.create_default_context(cafile=ca)
        if cert:
            ctx.load_cert_chain(cert, key)
        c = http.client.HTTPSConnection("localhost", port or aport, context=ctx, timeout=10)
        try:
            c.request("POST", path, body=json.dumps(body) if body is not None else "")
            r = c.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data else {})
        except (ssl.SSLError, ConnectionError, OSError) as e:
            return "refused", repr(e)
        finally:
            c.close()

    def events(name):
        try:
            with open(events_log) as f:
                return [json.loads(line) for line in f if ('"event":"%s"' % name) in line]
        except FileNotFoundError:
            return []

    def kill_all():
        for p in started:
            try:
                stop_proc(p)
            except Exception:   # noqa: BLE001 - best effort at exit
                pass
    atexit.register(kill_all)

    g.update(TMP=tmp, STATE=state, EVENTS=events_log, EPORT=eport, APORT=aport, CONF=conf,
             SOCK=sock, CA=ca, T=checks, ok=checks.ok, fail=checks.fail, check=checks.check,
             run=run, start=start, stop=stop, ctl_json=ctl_json, make_csr=make_csr,
             enroll=enroll, agent_call=agent_call, events=events, server=None)

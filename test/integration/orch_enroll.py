#!/usr/bin/env python3
"""orch_enroll.py: the orchestrator end to end, black-box.

init -> run -> ctl (tenants, tokens) -> enrollment over TLS with Python's ssl
(CA-pinned: the only trust anchor is the orchestrator's CA, whose pin is
checked against `stavily cert pin`) with CSRs made by `openssl req`; wrong
tokens until lockout, expired / used-up / revoked / other tenant's tokens;
no token in any log, event, audit or state file; `audit verify`; SIGHUP log
reopen; SIGTERM drain; restart recovery.  Different loopback source
addresses (127.0.0.x) keep the per-source lockout of one case out of the
others.  Every wait is bounded; the server is killed at the end whatever
happens.
"""
import base64
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
from lib_orch import install
from lib_agent import free_port, wait_for

STAVILY = os.environ["STAVILY"]
install(globals(), STAVILY, "stavily-orch.", trust_domain=None,
        extra=["--set", "security.agent_auth.max_failed_attempts=5",
               "--set", "authentication_methods.agents.certificate_rotation=30d"])
secrets = []


def ctl(*args):
    """ctl finding the admin socket through the configuration (-c), here
    also for ctl_json."""
    return run(STAVILY, "ctl", "-c", CONF, *args)


def ctl_json(*args):
    r = ctl("--json", *args)
    if r.returncode != 0:
        raise RuntimeError("ctl %s: %s %s" % (args, r.returncode, r.stderr))
    return json.loads(r.stdout)


def new_token(tenant, *extra):
    t = ctl_json("token", "create", "--tenant", tenant, *extra)
    secrets.append(t["token"])
    return t


def enroll(tenant, token, agent_id, csr, source="127.0.0.1", raw_body=None):
    ctx = ssl.create_default_context(cafile=CA)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    conn = http.client.HTTPSConnection("localhost", EPORT, context=ctx, timeout=10,
                                       source_address=(source, 0))
    body = raw_body if raw_body is not None else json.dumps({"csr": csr, "agent_id": agent_id})
    auth = base64.b64encode(("%s:%s" % (tenant, token)).encode()).decode()
    secrets.append(auth)
    conn.request("POST", "/v1/enroll", body=body,
                 headers={"Authorization": "Basic " + auth, "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    try:
        j = json.loads(data) if data else {}
    except ValueError:
        j = {}
    return r.status, r.getheader("Retry-After"), j


try:
    # ---- init -----------------------------------------------------------------
    r = run(STAVILY, "orchestrator", "init", "-d", STATE, "--name", "localhost",
            "--san", "127.0.0.1")
    pin = r.stdout.strip()
    check("init exits 0 and prints a pin", r.returncode == 0 and re.fullmatch(r"sha256:[0-9a-f]{64}", pin),
          r.stdout + r.stderr)
    r = run(STAVILY, "cert", "pin", os.path.join(STATE, "ca.pem"))
    check("init pin equals cert pin of ca.pem", r.stdout.strip() == pin, r.stdout + r.stderr)

    # ---- run ------------------------------------------------------------------
    check("orchestrator run starts (enroll port and admin socket)", start())
    check("admin socket is a socket with mode 0600",
          os.path.exists(SOCK) and (os.stat(SOCK).st_mode & 0o7777) == 0o600)
    r = ctl("tenant", "add", "acme")
    check("ctl tenant add acme", r.returncode == 0, r.stdout + r.stderr)
    r = ctl("tenant", "add", "beta")
    check("ctl tenant add beta", r.returncode == 0, r.stdout + r.stderr)
    r = ctl("tenant", "add", "acme")
    check("ctl tenant add of an existing tenant fails", r.returncode == 1, r.stdout + r.stderr)
    r = ctl("tenant", "add", "../x")
    check("ctl tenant add refuses a path-like name", r.returncode == 1, r.stdout + r.stderr)
    r = ctl("tenant", "list")
    check("ctl tenant list shows a table", r.returncode == 0 and re.search(r"^acme\s", r.stdout, re.M)
          and "TENANT" in r.stdout, r.stdout + r.stderr)
    names = [t["name"] for t in ctl_json("tenant", "list")["tenants"]]
    check("ctl --json tenant list", sorted(names) == ["acme", "beta"], names)
    r = run(STAVILY, "orchestrator", "run", "-c", CONF,
            "--set", "orchestrator.listen_enroll=127.0.0.1:%d" % free_port(),
            "--set", "orchestrator.listen_agent=127.0.0.1:%d" % free_port(),
            "--set", "logging.file=" + os.path.join(TMP, "second.log"))
    check("a second orchestrator on the same state refuses to start (exit 1)",
          r.returncode == 1 and "busy" in r.stderr.lower(), (r.returncode, r.stderr))
    check("the first one still serves its admin socket", ctl("tenant", "list").returncode == 0)

    tok = new_token("acme", "--uses", "2", "--ttl", "1h")
    check("ctl token create returns stv_ token once", re.fullmatch(r"stv_[0-9a-f]{64}", tok["token"])
          and tok["uses_left"] == 2 and tok["tenant"] == "acme", tok)
    lst = ctl_json("token", "list")["tokens"]
    check("token list has no token material", all("token" not in t and "hash" not in t for t in lst)
          and any(t["id"] == tok["id"] for t in lst), lst)
    r = ctl("token", "create", "--tenant", "nosuch")
    check("token create for an unknown tenant fails", r.returncode == 1, r.stdout + r.stderr)

    # ---- enrollment -------------------------------------------------------------
    csr1 = make_csr("agent1")[0]
    st, _, j = enroll("acme", tok["token"], "agent1", csr1)
    check("enroll with a good token: 201", st == 201, (st, j))
    want_uri = "spiffe://stavily.local/tenant/acme/agent/agent1"
    certf = os.path.join(TMP, "agent1.pem")
    cacf = os.path.join(TMP, "bundle.pem")
    with open(certf, "w") as f:
        f.write(j.get("certificate", ""))
    with open(cacf, "w") as f:
        f.write(j.get("ca", ""))
    r = run("openssl", "verify", "-CAfile", os.path.join(STATE, "ca.pem"), "-purpose", "sslclient", certf)
    check("issued certificate passes openssl verify (sslclient)", r.returncode == 0, r.stdout + r.stderr)
    r = run("openssl", "x509", "-in", certf, "-noout", "-ext", "subjectAltName,extendedKeyUsage")
    check("issued certificate has the SPIFFE URI SAN and clientAuth",
          ("URI:" + want_uri) in r.stdout and "Client Authentication" in r.stdout, r.stdout + r.stderr)
    r = run("openssl", "x509", "-in", certf, "-noout", "-pubkey")
    r2 = run("openssl", "pkey", "-in", os.path.join(TMP, "agent1.key"), "-pubout")
    check("certificate carries the CSR's key", r.stdout == r2.stdout and r.stdout, r.stderr)
    r = run("openssl", "x509", "-in", certf, "-noout", "-enddate")
    end = r.stdout.strip().split("=", 1)[-1]
    days = (time.mktime(time.strptime(end, "%b %d %H:%M:%S %Y GMT")) - time.mktime(time.gmtime())) / 86400
    check("lifetime follows certificate_rotation (30d)", 29.5 < days < 30.5, end)
    check("response: identity and CA bundle", j.get("identity") == want_uri and
          open(cacf).read() == open(os.path.join(STATE, "ca.pem")).read(), j.get("identity"))

    st, _, j = enroll("acme", tok["token"], "agent1", make_csr("agent1b")[0])
    check("same agent id again in the tenant: 409", st == 409, (st, j))
    st, _, j = enroll("acme", tok["token"], "agent2", make_csr("agent2")[0])
    check("second use of a 2-use token: 201", st == 201, (st, j))
    st, _, j = enroll("acme", tok["token"], "agent3", make_csr("agent3")[0], source="127.0.0.3")
    check("used-up token: 401", st == 401, (st, j))

    tok_short = new_token("acme", "--ttl", "1s")
    time.sleep(1.3)
    st, _, j = enroll("acme", tok_short["token"], "agent4", make_csr("agent4")[0], source="127.0.0.4")
    check("expired token: 401", st == 401, (st, j))

    tok_rev = new_token("acme", "--uses", "3")
    r = ctl("token", "revoke", tok_rev["id"])
    check("ctl token revoke", r.returncode == 0, r.stdout + r.stderr)
    st, _, j = enroll("acme", tok_rev["token"], "agent5", make_csr("agent5")[0], source="127.0.0.4")
    check("revoked token: 401", st == 401, (st, j))

    tok_beta = new_token("beta", "--uses", "5")
    st, _, j = enroll("acme", tok_beta["token"], "agent6", make_csr("agent6")[0], source="127.0.0.6")
    check("another tenant's token: 401", st == 401, (st, j))
    st, _, j = enroll("beta", tok_beta["token"], "agent1", make_csr("beta1")[0], source="127.0.0.6")
    check("same agent id in another tenant: 201", st == 201 and
          j.get("identity") == "spiffe://stavily.local/tenant/beta/agent/agent1", (st, j))
    st, _, j = enroll("beta", tok_beta["token"], "x", "", source="127.0.0.6",
                      raw_body='{"csr": "-----BEGIN CERTIFICATE REQUEST-----\\nAAAA\\n-----END CERTIFICATE REQUEST-----\\n", "agent_id": "bad1"}')
    check("malformed CSR: 400", st == 400, (st, j))
    st, _, j = enroll("beta", tok_beta["token"], "x", "", source="127.0.0.6", raw_body='{"csr": 1')
    check("malformed JSON: 400", st == 400, (st, j))
    # a CSR whose signature does not verify: flip a bit in the signature
    raw = subprocess.run(["openssl", "req", "-in", os.path.join(TMP, "beta1.csr"), "-outform", "DER"],
                         capture_output=True, timeout=30).stdout
    bad = bytearray(raw)
    bad[-3] ^= 0x01
    bad_pem = ("-----BEGIN CERTIFICATE REQUEST-----\n" +
               "\n".join(re.findall(".{1,64}", base64.b64encode(bytes(bad)).decode())) +
               "\n-----END CERTIFICATE REQUEST-----\n")
    st, _, j = enroll("beta", tok_beta["token"], "bad2", bad_pem, source="127.0.0.6")
    check("CSR with a broken self-signature: 400", st == 400, (st, j))

    # ---- lockout: exactly at max_failed_attempts (5) ----------------------------
    tok_lock = new_token("acme", "--uses", "5")
    csr7 = make_csr("agent7")[0]
    statuses = []
    for i in range(4):
        statuses.append(enroll("acme", "stv_" + "0" * 64, "agent7", csr7, source="127.0.0.7")[0])
    n_before = len(events("authentication_failures_exceeded"))
    statuses.append(enroll("acme", "stv_" + "1" * 64, "agent7", csr7, source="127.0.0.7")[0])
    check("wrong token 5 times: 401 each", statuses == [401] * 5, statuses)
    wait_for(lambda: len(events("authentication_failures_exceeded")) > n_before, 3)
    ev = events("authentication_failures_exceeded")
    check("authentication_failures_exceeded raised at the 5th failure, once",
          n_before == 0 and len(ev) == 1 and ev[0]["level"] == "WARN"
          and ev[0]["details"].get("source") == "127.0.0.7", (n_before, ev))
    st, ra, j = enroll("acme", tok_lock["token"], "agent7", csr7, source="127.0.0.7")
    check("locked source: 429 with Retry-After even with the right token",
          st == 429 and ra is not None and ra.isdigit() and int(ra) > 0, (st, ra, j))
    lst = {t["id"]: t for t in ctl_json("token", "list")["tokens"]}
    check("the locked-out attempt did not use the token", lst[tok_lock["id"]]["uses_left"] == 5,
          lst[tok_lock["id"]])
    st, _, j = enroll("acme", tok_lock["token"], "agent7", csr7, source="127.0.0.8")
    check("another source is not locked: 201", st == 201, (st, j))
    check("still one authentication_failures_exceeded",
          len(events("authentication_failures_exceeded")) == 1)

    # ---- plain HTTP on the TLS port is not served --------------------------------
    s = socket.create_connection(("127.0.0.1", EPORT), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        d = s.recv(100)
    except OSError:
        d = b""
    s.close()
    check("plaintext HTTP on the enroll port gets no HTTP answer", not d.startswith(b"HTTP/"), d)
    wait_for(lambda: len(events("tls_handshake_failed")) > 0, 3)
    check("tls_handshake_failed event for it", len(events("tls_handshake_failed")) > 0)

    # ---- agents ----------------------------------------------------------------
    r = ctl("agent", "list")
    check("ctl agent list table", r.returncode == 0 and "agent1" in r.stdout and "AGENT" in r.stdout,
          r.stdout + r.stderr)
    ag = ctl_json("agent", "list")["agents"]
    got = sorted((a["tenant"], a["agent_id"]) for a in ag)
    check("agents: acme/agent1, agent2, agent7, beta/agent1",
          got == [("acme", "agent1"), ("acme", "agent2"), ("acme", "agent7"), ("beta", "agent1")], got)

    # ---- SIGHUP reopens the event log ---------------------------------------------
    os.rename(EVENTS, EVENTS + ".1")
    server.send_signal(signal.SIGHUP)
    check("SIGHUP: event log reopened", wait_for(lambda: len(events("logs_reopened")) == 1, 5))

    # ---- stop, secrets, audit -----------------------------------------------------
    rc = stop()
    check("SIGTERM: exit 0", rc == 0, rc)
    check("admin socket removed at exit", not os.path.exists(SOCK))
    leaks = []
    for root in (TMP,):
        for dp, dn, fn in os.walk(root):
            for f in fn:
                p = os.path.join(dp, f)
                if p.endswith(".pem") or p.endswith(".key") or p.endswith(".csr") or f.endswith(".out"):
                    continue
                try:
                    data = open(p, "rb").read()
                except OSError:
                    continue
                for sec in secrets:
                    if sec.encode() in data:
                        leaks.append(p)
    check("no token or Authorization value in any log, event, audit or state file", not leaks, leaks)
    check("token hashes (not tokens) are in the tenant journal",
          any(b'"hash"' in open(os.path.join(dp, f), "rb").read()
              for dp, _, fn in os.walk(os.path.join(STATE, "tenants")) for f in fn))
    r = run(STAVILY, "audit", "verify", os.path.join(STATE, "audit.log"))
    check("audit verify passes", r.returncode == 0, r.stdout + r.stderr)
    audit = open(os.path.join(STATE, "audit.log")).read()
    check("audit records enrollments (success and failure), tokens, tenants, admin commands",
          all(('"event":"%s"' % e) in audit for e in
              ("agent_enrolled", "enrollment_failed", "token_created", "token_revoked",
               "tenant_created", "admin_command", "authentication_failures_exceeded")))

    # ---- restart recovers ---------------------------------------------------------
    check("restart", start())
    ag2 = sorted((a["tenant"], a["agent_id"], a["serial"]) for a in ctl_json("agent", "list")["agents"])
    check("agents recovered", sorted((a["tenant"], a["agent_id"], a["serial"]) for a in ag) == ag2, ag2)
    lst2 = {t["id"]: t for t in ctl_json("token", "list")["tokens"]}
    check("token states recovered",
          lst2[tok["id"]]["state"] == "used_up" and lst2[tok_rev["id"]]["state"] == "revoked"
          and lst2[tok_lock["id"]]["uses_left"] == 4, lst2)
    st, _, j = enroll("acme", tok["token"], "agent9", make_csr("agent9")[0], source="127.0.0.9")
    check("used-up token still refused after restart", st == 401, (st, j))
    st, _, j = enroll("acme", tok_lock["token"], "agent1", make_csr("agent1c")[0], source="127.0.0.9")
    check("agent id uniqueness survives restart: 409", st == 409, (st, j))
    st, _, j = enroll("acme", tok_lock["token"], "agent10", make_csr("agent10")[0], source="127.0.0.9")
    check("a recovered token still works: 201", st == 201, (st, j))
    rc = stop()
    check("second SIGTERM: exit 0", rc == 0, rc)
    r = run(STAVILY, "audit", "verify", os.path.join(STATE, "audit.log"))
    check("audit verify after restart", r.returncode == 0, r.stdout + r.stderr)
except Exception as e:  # report, never hide
    fail("unexpected exception", repr(e))
finally:
    finish()
T.exit()

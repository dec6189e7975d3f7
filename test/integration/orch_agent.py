#!/usr/bin/env python3
"""orch_agent.py: the mutual-TLS agent-API listener, black-box.

Agents enrolled over the enrollment listener (CSRs from `openssl req`) call
POST /v1/agent/heartbeat and POST /v1/agent/renew with Python's ssl as the
independent client.  Refused: no client certificate, a certificate of
another CA (made with openssl), the server's own certificate (no
clientAuth), a superseded certificate, a revoked agent (refused in the
handshake, also after a restart).  Body fields never change who the caller
is.  Every wait is bounded; the server is killed at the end whatever
happens.
"""
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from lib_orch import install
from lib_agent import free_port, wait_for  # noqa: F401

STAVILY = os.environ["STAVILY"]
install(globals(), STAVILY, "stavily-orchagent.")


try:
    r = run(STAVILY, "orchestrator", "init", "-d", STATE, "--name", "localhost", "--trust-domain", "corp.example")
    check("init", r.returncode == 0, r.stderr)
    check("server up (enroll, agent, admin)", start())
    ctl_json("tenant", "add", "acme")
    ctl_json("tenant", "add", "beta")
    ta = ctl_json("token", "create", "--tenant", "acme", "--uses", "5")["token"]
    tb = ctl_json("token", "create", "--tenant", "beta", "--uses", "5")["token"]
    st, ja, cert_a1, key_a1 = enroll("acme", ta, "a1")
    st2, jb, cert_b1, key_b1 = enroll("beta", tb, "b1")
    check("two agents enrolled", st == 201 and st2 == 201, (st, st2))

    # ---- heartbeat ---------------------------------------------------------------
    st, j = agent_call("/v1/agent/heartbeat", cert_a1, key_a1, {"status": "ok"})
    now = time.time()
    check("heartbeat with the agent certificate: 200",
          st == 200 and j.get("agent_id") == "a1" and j.get("tenant") == "acme"
          and j.get("identity") == "spiffe://corp.example/tenant/acme/agent/a1" and j.get("commands") == [], (st, j))
    check("heartbeat: renew_after is between now and expiry",
          st == 200 and now < j["renew_after"] < j["certificate_not_after"], j)
    st, j = agent_call("/v1/agent/heartbeat", cert_a1, key_a1,
                       {"tenant": "beta", "agent_id": "b1", "identity": "spiffe://corp.example/tenant/beta/agent/b1"})
    check("forged tenant/agent fields in the body change nothing", st == 200 and j.get("tenant") == "acme"
          and j.get("agent_id") == "a1", (st, j))
    st, j = agent_call("/v1/agent/heartbeat", cert_a1, key_a1, None)
    check("heartbeat without a body: 200", st == 200, (st, j))
    st, j = agent_call("/v1/agent/heartbeat", cert_b1, key_b1)
    check("the other tenant's agent is itself", st == 200 and j.get("tenant") == "beta", (st, j))

    # ---- refused clients -------------------------------------------------------------
    st, why = agent_call("/v1/agent/heartbeat", None, None, {})
    check("no client certificate: handshake refused", st == "refused", (st, why))
    # another CA, same identity, clientAuth: made with openssl
    fk, fc = os.path.join(TMP, "fca.key"), os.path.join(TMP, "fca.pem")
    r = run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", fk, "-out", fc, "-subj", "/CN=Fake CA", "-days", "2",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    ext = os.path.join(TMP, "ext.cnf")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://corp.example/tenant/acme/agent/a1\n")
    csr, fkey = make_csr("forged")
    fcert = os.path.join(TMP, "forged.pem")
    r2 = run("openssl", "x509", "-req", "-in", os.path.join(TMP, "forged.csr"), "-CA", fc, "-CAkey", fk,
             "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", fcert)
    check("openssl made a foreign-CA client certificate", r.returncode == 0 and r2.returncode == 0,
          r.stderr + r2.stderr)
    st, why = agent_call("/v1/agent/heartbeat", fcert, fkey, {})
    check("certificate of another CA (same identity): refused", st == "refused", (st, why))
    st, why = agent_call("/v1/agent/heartbeat", os.path.join(STATE, "server.pem"),
                         os.path.join(STATE, "server.key"), {})
    check("our server certificate (no clientAuth) as client certificate: refused", st == "refused", (st, why))
    wait_for(lambda: len(events("certificate_validation_failed")) >= 2, 3)
    reasons = [e["details"].get("reason") for e in events("certificate_validation_failed")]
    check("certificate_validation_failed events: unknown_ca and wrong_eku",
          "unknown_ca" in reasons and "wrong_eku" in reasons, reasons)
    check("a handshake failure event for the client without certificate",
          len(events("tls_handshake_failed")) + reasons.count("no_certificate") >= 1,
          (events("tls_handshake_failed"), reasons))
    st, j = agent_call("/v1/enroll", cert_a1, key_a1, {})
    check("enrollment is not served on the agent listener: 404", st == 404, (st, j))
    ctx = ssl.create_default_context(cafile=CA)
    c = http.client.HTTPSConnection("localhost", EPORT, context=ctx, timeout=10)
    c.request("POST", "/v1/agent/heartbeat", body="{}")
    st = c.getresponse().status
    c.close()
    check("agent API is not served on the enrollment listener: 404", st == 404, st)

    # ---- renew ---------------------------------------------------------------------
    csr2, key_a2 = make_csr("a1-second")
    st, j = agent_call("/v1/agent/renew", cert_a1, key_a1, {"csr": csr2, "agent_id": "b1", "tenant": "beta"})
    cert_a2 = os.path.join(TMP, "a1-2.pem")
    if st == 201:
        with open(cert_a2, "w") as f:
            f.write(j["certificate"])
    check("renew: 201, same identity whatever the body says, new serial",
          st == 201 and j.get("identity") == "spiffe://corp.example/tenant/acme/agent/a1"
          and j.get("serial") != ja["serial"], (st, j))
    r = run("openssl", "verify", "-CAfile", CA, "-purpose", "sslclient", cert_a2)
    check("renewed certificate passes openssl verify", r.returncode == 0, r.stdout + r.stderr)
    r = run("openssl", "x509", "-in", cert_a2, "-noout", "-pubkey")
    r2 = run("openssl", "pkey", "-in", key_a2, "-pubout")
    check("renewed certificate carries the new key", r.stdout and r.stdout == r2.stdout)
    st, j = agent_call("/v1/agent/heartbeat", cert_a2, key_a2, {})
    check("heartbeat with the renewed certificate: 200", st == 200 and j.get("agent_id") == "a1", (st, j))
    st, j = agent_call("/v1/agent/heartbeat", cert_a1, key_a1, {})
    check("the previous certificate still works until the next renewal", st == 200, (st, j))
    st, j = agent_call("/v1/agent/renew", cert_a1, key_a1, {"csr": "garbage"})
    check("renew with a bad CSR: 400", st == 400, (st, j))
    csr3, key_a3 = make_csr("a1-third")
    st, j = agent_call("/v1/agent/renew", cert_a2, key_a2, {"csr": csr3})
    cert_a3 = os.path.join(TMP, "a1-3.pem")
    if st == 201:
        with open(cert_a3, "w") as f:
            f.write(j["certificate"])
    check("second renewal: 201", st == 201, (st, j))
    st, j = agent_call("/v1/agent/heartbeat", cert_a1, key_a1, {})
    check("a superseded certificate (two renewals old): 403", st == 403, (st, j))
    check("agent_request_refused event for it",
          any(e["details"].get("reason") == "superseded_certificate" for e in events("agent_request_refused")))

    # ---- revoke --------------------------------------------------------------------
    r = run(STAVILY, "ctl", "-S", SOCK, "agent", "revoke", "--tenant", "acme", "a1")
    check("ctl agent revoke", r.returncode == 0, r.stdout + r.stderr)
    st, why = agent_call("/v1/agent/heartbeat", cert_a3, key_a3, {})
    check("revoked agent's current certificate: refused in the handshake", st == "refused", (st, why))
    st, why = agent_call("/v1/agent/heartbeat", cert_a2, key_a2, {})
    check("revoked agent's previous certificate: refused too", st == "refused", (st, why))
    wait_for(lambda: "revoked" in [e["details"].get("reason") for e in events("certificate_validation_failed")], 3)
    check("certificate_validation_failed with reason revoked",
          "revoked" in [e["details"].get("reason") for e in events("certificate_validation_failed")])
    st, j = agent_call("/v1/agent/heartbeat", cert_b1, key_b1, {})
    check("other agents unaffected", st == 200, (st, j))
    ag = {(a["tenant"], a["agent_id"]): a for a in ctl_json("agent", "list")["agents"]}
    check("agent list shows the revocation", ag[("acme", "a1")]["revoked"] is True
          and ag[("beta", "b1")]["revoked"] is False, ag)
    rv = events("agent_revoked")
    check("agent_revoked event says who and when", len(rv) == 1 and rv[0]["details"].get("by_uid") == os.getuid()
          and rv[0]["details"].get("at", 0) > 0, rv)
    r = run(STAVILY, "ctl", "-S", SOCK, "agent", "revoke", "--tenant", "acme", "nosuch")
    check("revoking an unknown agent fails", r.returncode == 1, r.stdout + r.stderr)

    check("SIGTERM: exit 0", stop() == 0)
    check("restart", start())
    st, why = agent_call("/v1/agent/heartbeat", cert_a3, key_a3, {})
    check("revocation survives the restart", st == "refused", (st, why))
    st, j = agent_call("/v1/agent/heartbeat", cert_b1, key_b1, {})
    check("unrevoked agent works after the restart", st == 200, (st, j))
    ag = {(a["tenant"], a["agent_id"]): a for a in ctl_json("agent", "list")["agents"]}
    check("renewals survive the restart", ag[("acme", "a1")]["renewed"] > 0, ag)
    check("second SIGTERM: exit 0", stop() == 0)
    audit = open(os.path.join(STATE, "audit.log")).read()
    check("audit has certificate_renewed and agent_revoked",
          '"event":"certificate_renewed"' in audit and '"event":"agent_revoked"' in audit)
    r = run(STAVILY, "audit", "verify", os.path.join(STATE, "audit.log"))
    check("audit verify", r.returncode == 0, r.stdout + r.stderr)
except Exception as e:
    fail("unexpected exception", repr(e))
finally:
    if server is not None:
        server.kill()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    if T.failures:
        try:
            print("  server stderr: " + open(os.path.join(TMP, "server.stderr")).read()[-1500:])
            print("  events: " + open(EVENTS).read()[-3000:])
        except OSError:
            pass
    shutil.rmtree(TMP, ignore_errors=True)
sys.exit(1 if T.failures else 0)

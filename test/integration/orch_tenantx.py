#!/usr/bin/env python3
"""orch_tenantx.py: cross-tenant attempts on every agent endpoint that
orch_jobs.py / orch_agent.py do not already cover (issue 5, tenant
isolation).  Agent a1 of tenant acme (Python ssl client, openssl key) tries
to reach tenant beta (agent b1):
  * jobs poll with forged query parameters (tenant, agent_id);
  * a result for beta's real job id (not guessed: taken from the admin API);
  * heartbeat acknowledging beta's pending command id, with forged fields;
  * renew with a CSR whose subject and SAN name beta/b1;
  * events replaying b1's event id with forged tenant/agent fields;
  * the admin API over the agent listener.
Afterwards nothing under STATE/tenants/beta names acme, and beta's job,
command, events and certificate are as they were.  Every wait is bounded;
the server is killed at the end.
"""
import base64
import http.client
import json
import os
import ssl
import sys
from lib_agent import Checks, Stack, run

STAVILY = os.environ["STAVILY"]
C = Checks()
S = Stack(STAVILY, "stavily-tenantx.")
CA = os.path.join(S.orch, "ca.pem")


def csr(name, san=None):
    k = os.path.join(S.tmp, name + ".key")
    out = os.path.join(S.tmp, name + ".csr")
    args = ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", k, "-subj", "/CN=" + name, "-out", out]
    if san:
        args += ["-addext", "subjectAltName=" + san]
    r = run(*args)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return k, open(out).read()


def enroll(tenant, token, agent_id):
    k, c = csr(agent_id + "-" + tenant)
    ctx = ssl.create_default_context(cafile=CA)
    h = http.client.HTTPSConnection("localhost", S.eport, context=ctx, timeout=10)
    auth = base64.b64encode(("%s:%s" % (tenant, token)).encode()).decode()
    h.request("POST", "/v1/enroll", body=json.dumps({"csr": c, "agent_id": agent_id}),
              headers={"Authorization": "Basic " + auth})
    r = h.getresponse()
    j = json.loads(r.read())
    h.close()
    cert = os.path.join(S.tmp, "%s-%s.pem" % (agent_id, tenant))
    with open(cert, "w") as f:
        f.write(j.get("certificate", ""))
    return r.status, (cert, k)


def call(who, method, path, body=None):
    ctx = ssl.create_default_context(cafile=CA)
    ctx.load_cert_chain(*who)
    h = http.client.HTTPSConnection("localhost", S.aport, context=ctx, timeout=10)
    try:
        h.request(method, path, body=json.dumps(body) if body is not None else None)
        r = h.getresponse()
        data = r.read()
        try:
            return r.status, (json.loads(data) if data else {})
        except ValueError:
            return r.status, {"raw": data[:200].decode(errors="replace")}
    except (ssl.SSLError, ConnectionError, OSError) as e:
        return "refused", repr(e)
    finally:
        h.close()


try:
    r = S.init()
    C.check("init", r.returncode == 0, r.stderr)
    C.check("server up", S.start())
    S.ctl_json("tenant", "add", "acme")
    S.ctl_json("tenant", "add", "beta")
    ta = S.ctl_json("token", "create", "--tenant", "acme")["token"]
    tb = S.ctl_json("token", "create", "--tenant", "beta")["token"]
    s1, A1 = enroll("acme", ta, "a1")
    s2, B1 = enroll("beta", tb, "b1")
    C.check("a1 (acme) and b1 (beta) enrolled", s1 == 201 and s2 == 201, (s1, s2))
    b1_before = S.ctl_json("agent", "show", "beta/b1")
    jb = S.ctl_json("job", "submit", "--agent", "beta/b1", "--plugin", "secret")["id"]
    S.ctl_json("agent", "quarantine", "beta/b1")
    st, j = call(B1, "POST", "/v1/agent/events", {"events": [{"id": "ev-b", "event": "beta_private",
                                                                "details": {"v": 1}}]})
    C.check("b1 stored its own event", st == 200 and j.get("stored") == 1, (st, j))

    # ---- jobs poll ---------------------------------------------------------------------
    for q in ("?wait=0&tenant=beta&agent_id=b1", "?wait=0&agent=beta/b1", "?tenant=beta&wait=0"):
        st, j = call(A1, "GET", "/v1/agent/jobs" + q)
        C.check("jobs poll with forged query %s: nothing of beta" % q, st == 204, (st, j))
    C.check("beta's job is still queued", S.ctl_json("job", "get", jb).get("state") == "queued")

    # ---- job result on beta's real job id ----------------------------------------------
    st, j = call(A1, "POST", "/v1/agent/jobs/%s/result" % jb,
                 {"status": "succeeded", "tenant": "beta", "agent_id": "b1", "stdout": "forged"})
    C.check("a1 posting a result for beta's real job id: 404", st == 404, (st, j))
    st, j = call(A1, "GET", "/v1/agent/jobs/%s/result" % jb)
    C.check("reading beta's job result over the agent API: refused (404/405)", st in (404, 405), (st, j))
    info = S.ctl_json("job", "get", jb)
    C.check("beta's job untouched (queued, no result)", info.get("state") == "queued" and info.get("result") is None,
            info)

    # ---- heartbeat: another tenant's command id, forged fields -----------------------------------
    cid = [c["id"] for c in S.ctl_json("agent", "show", "beta/b1").get("pending_commands", [])]
    st, j = call(A1, "POST", "/v1/agent/heartbeat", {"acked_commands": cid, "tenant": "beta", "agent_id": "b1"})
    C.check("a1's heartbeat with beta's command id and forged fields answers for a1",
            st == 200 and j.get("tenant") == "acme" and j.get("agent_id") == "a1" and j.get("commands") == []
            and j.get("quarantined") is False, (st, j))
    show = S.ctl_json("agent", "show", "beta/b1")
    C.check("beta's command is still pending", [c["id"] for c in show.get("pending_commands", [])] == cid and cid,
            (cid, show))

    # ---- renew: CSR naming beta/b1 ------------------------------------------------------
    k, c = csr("b1", san="URI:spiffe://stavily.local/tenant/beta/agent/b1,DNS:b1.beta")
    st, j = call(A1, "POST", "/v1/agent/renew", {"csr": c, "tenant": "beta", "agent_id": "b1"})
    cert = os.path.join(S.tmp, "renewed.pem")
    with open(cert, "w") as f:
        f.write(j.get("certificate", "") if isinstance(j, dict) else "")
    txt = run("openssl", "x509", "-in", cert, "-noout", "-text").stdout
    C.check("renew with a CSR naming beta/b1: a1's identity only",
            st == 201 and j.get("identity") == "spiffe://stavily.local/tenant/acme/agent/a1"
            and "tenant/acme/agent/a1" in txt and "beta" not in txt, (st, j, txt[-500:]))
    b1_after = S.ctl_json("agent", "show", "beta/b1")
    C.check("b1's certificate unchanged", b1_after.get("serial") == b1_before.get("serial")
            and b1_after.get("renewed") == 0, b1_after)

    # ---- events: replay b1's event id with forged fields ---------------------------------------
    A1n = (cert, k)
    st, j = call(A1n, "POST", "/v1/agent/events", {"events": [{"id": "ev-b", "event": "forged",
                                                               "tenant": "beta", "agent_id": "b1"}]})
    C.check("a1 replaying b1's event id is stored as a1's own event", st == 200 and j.get("stored") == 1
            and j.get("duplicates", 0) == 0, (st, j))
    qb = S.ctl_json("events", "query", "--tenant", "beta")["events"]
    C.check("beta's events unchanged (one, b1's own)",
            [(e["agent_id"], e["id"], e["event"]) for e in qb] == [("b1", "ev-b", "beta_private")], qb)
    qa = S.ctl_json("events", "query", "--tenant", "acme")["events"]
    C.check("the replay landed in acme under a1",
            [(e["tenant"], e["agent_id"], e["id"]) for e in qa] == [("acme", "a1", "ev-b")], qa)

    # ---- the admin API is not on the agent listener -----------------------------------------
    for m, p in (("GET", "/v1/admin/jobs?tenant=beta"), ("GET", "/v1/admin/events?tenant=beta"),
                 ("POST", "/v1/admin/tenants/beta/purge")):
        st, j = call(A1n, m, p)
        C.check("%s %s over mTLS: 404/405" % (m, p), st in (404, 405), (st, j))

    # ---- on disk: nothing of acme in beta's directory ---------------------------------------
    bad = []
    for root, _, files in os.walk(os.path.join(S.orch, "tenants", "beta")):
        for fn in files:
            with open(os.path.join(root, fn), "rb") as f:
                data = f.read()
            if b"acme" in data or b"forged" in data:
                bad.append(fn)
    C.check("no file of tenant beta mentions acme or the forged data", not bad, bad)
    st, j = call(B1, "POST", "/v1/agent/heartbeat", {})
    C.check("b1 still works and still sees its quarantine", st == 200 and j.get("quarantined") is True
            and [x["id"] for x in j.get("commands", [])] == cid, (st, j))
except Exception as e:  # noqa: BLE001
    C.fail("orch_tenantx ran to the end", repr(e))
finally:
    S.close()
sys.exit(1 if C.failures else 0)

#!/usr/bin/env python3
"""orch_renewkey.py: a renewal must bring a new key (issue 5: "renew (same
identity only, new key)").

Independent client: Python's ssl with keys and CSRs made by openssl.  An
agent enrolls with key K1; a renewal CSR for K1 (its current key) is refused
with 409 and a certificate_renewal_refused event and audit record; a CSR for
a new key K2 is accepted; afterwards K1 (an earlier key) and K2 (the current
one) are both refused, also after a restart of the orchestrator (the keys are
journaled).  Every wait is bounded; the server is killed at the end.
"""
import json
import os
from lib_agent import Checks, Stack, run

STAVILY = os.environ["STAVILY"]
C = Checks()
S = Stack(STAVILY, "stavily-renewkey.")
key, csr_for, call, events = S.key, S.csr, S.agent_call, S.orch_events


def save(name, pem):
    p = os.path.join(S.tmp, name)
    with open(p, "w") as f:
        f.write(pem)
    return p


try:
    r = S.init()
    C.check("init", r.returncode == 0, r.stderr)
    C.check("server up", S.start())
    S.ctl_json("tenant", "add", "acme")
    tok = S.ctl_json("token", "create", "--tenant", "acme", "--uses", "2")["token"]
    k1 = key("k1")
    st, j, c1, _ = S.enroll("acme", tok, "r1", key=k1)
    C.check("enrolled with key K1", st == 201, (st, j))

    st, j = call("/v1/agent/renew", c1, k1, {"csr": csr_for(k1, "r1")})
    C.check("renewal with the current key K1: 409", st == 409, (st, j))
    C.check("the body says the key was reused", "key" in json.dumps(j).lower() and "new key" in json.dumps(j), j)
    ev = events("certificate_renewal_refused")
    C.check("certificate_renewal_refused event, reason key_reused, agent and tenant from the certificate",
            len(ev) == 1 and ev[0]["details"].get("reason") == "key_reused"
            and ev[0]["details"].get("agent_id") == "r1" and ev[0]["details"].get("tenant") == "acme"
            and ev[0]["details"].get("key", "").startswith("sha256:"), ev)
    audit = open(os.path.join(S.orch, "audit.log")).read()
    C.check("audit record certificate_renewal_refused", '"event":"certificate_renewal_refused"' in audit)
    show = S.ctl_json("agent", "show", "acme/r1")
    C.check("the refused renewal changed nothing (renewed 0)", show.get("renewed") == 0, show)
    st, j = call("/v1/agent/heartbeat", c1, k1, {})
    C.check("the K1 certificate still works", st == 200, (st, j))

    k2 = key("k2")
    st, j = call("/v1/agent/renew", c1, k1, {"csr": csr_for(k2, "r1")})
    C.check("renewal with a new key K2: 201", st == 201 and j.get("certificate"), (st, j))
    c2 = save("c2.pem", j.get("certificate", ""))
    st, j = call("/v1/agent/renew", c2, k2, {"csr": csr_for(k1, "r1")})
    C.check("renewal back to the earlier key K1: 409", st == 409, (st, j))
    st, j = call("/v1/agent/renew", c2, k2, {"csr": csr_for(k2, "r1")})
    C.check("renewal with the current key K2: 409", st == 409, (st, j))
    C.check("three refusals recorded", len(events("certificate_renewal_refused")) == 3,
            events("certificate_renewal_refused"))

    # another agent may use any key of its own (keys are per agent)
    k3 = key("k3")
    st, j, c3, _ = S.enroll("acme", tok, "r2", key=k3)
    st, j = call("/v1/agent/renew", c3, k3, {"csr": csr_for(key("k4"), "r2")})
    C.check("another agent renews with its own new key: 201", st == 201, (st, j))

    # the remembered keys survive a restart (journaled with the renewals)
    S.stop()
    C.check("restarted", S.start())
    st, j = call("/v1/agent/renew", c2, k2, {"csr": csr_for(k1, "r1")})
    C.check("after a restart: K1 still refused", st == 409, (st, j))
    st, j = call("/v1/agent/renew", c2, k2, {"csr": csr_for(k2, "r1")})
    C.check("after a restart: K2 still refused", st == 409, (st, j))
    k5 = key("k5")
    st, j = call("/v1/agent/renew", c2, k2, {"csr": csr_for(k5, "r1")})
    C.check("after a restart: a new key K5 is accepted", st == 201, (st, j))
    r = run(STAVILY, "audit", "verify", os.path.join(S.orch, "audit.log"))
    C.check("audit verify", r.returncode == 0, r.stdout + r.stderr)
except Exception as e:  # noqa: BLE001
    C.fail("orch_renewkey ran to the end", repr(e))
finally:
    S.close()
C.exit()

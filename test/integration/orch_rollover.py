#!/usr/bin/env python3
"""orch_rollover.py: CA pin rollover with a backup pin, end to end.

`orchestrator init` makes a backup CA (ca-backup.key/.pem) and prints its
pin.  Two real agents (`stavily agent run`): "both" lists the primary and
the backup pin, "old" only the primary.  An independent client (Python ssl,
openssl key) enrolls too.  The orchestrator is stopped, the backup key is
"brought back from offline", `orchestrator rollover` runs (refusals first:
while running, a wrong key), the orchestrator starts again: "both" keeps
working without any change, renews (ctl agent rotate) and gets a
certificate from the new CA; "old" is refused with its
certificate_validation_failed event; the old client certificate is accepted
while ca-previous.pem exists and refused once the operator removed it.
Every wait is bounded; every process is killed at the end.
"""
import base64
import http.client
import json
import os
import shutil
import ssl
import sys
import time
from lib_agent import Checks, Stack, run, wait_for, agent_events

STAVILY = os.environ["STAVILY"]
C = Checks()
S = Stack(STAVILY, "stavily-rollover.")
ORCH = S.orch


def pin_of(path):
    r = run(STAVILY, "cert", "pin", path)
    return r.stdout.strip()


def agent_show(name):
    try:
        return S.ctl_json("agent", "show", "acme/" + name)
    except RuntimeError:
        return {}


def stop():
    S.server.terminate()
    S.server.wait(timeout=15)


def py_call(cert, key, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.load_cert_chain(cert, key)
    c = http.client.HTTPSConnection("localhost", S.aport, context=ctx, timeout=10)
    try:
        c.request("POST", "/v1/agent/heartbeat", body="{}")
        r = c.getresponse()
        r.read()
        return r.status
    except (ssl.SSLError, ConnectionError, OSError) as e:
        return "refused: " + repr(e)
    finally:
        c.close()


def issuer_of(pem_path):
    r = run("openssl", "x509", "-in", pem_path, "-noout", "-issuer")
    return r.stdout.strip()


try:
    r = S.init()
    C.check("init", r.returncode == 0, r.stderr)
    P = S.pin
    B = pin_of(os.path.join(ORCH, "ca-backup.pem"))
    C.check("init made a backup CA (key 0600) and printed its pin",
            B.startswith("sha256:") and B != P and B in r.stderr
            and oct(os.stat(os.path.join(ORCH, "ca-backup.key")).st_mode & 0o777) == "0o600", (P, B, r.stderr))
    C.check("openssl: the backup CA is a CA", "CA:TRUE" in run(
        "openssl", "x509", "-in", os.path.join(ORCH, "ca-backup.pem"), "-noout", "-text").stdout)
    C.check("server up", S.start())
    S.ctl_json("tenant", "add", "acme")
    tok = S.ctl_json("token", "create", "--tenant", "acme", "--uses", "5")["token"]

    conf_b, d_b = S.agent_conf("both", [P, B])
    conf_o, d_o = S.agent_conf("old", [P])
    a_b = S.start_agent(conf_b, d_b, env={"STAVILY_INSTALLATION_TOKEN": tok})
    a_o = S.start_agent(conf_o, d_o, env={"STAVILY_INSTALLATION_TOKEN": tok})
    C.check("both agents registered and heartbeating",
            wait_for(lambda: agent_show("both").get("last_seen", 0) > 0
                     and agent_show("old").get("last_seen", 0) > 0, 30),
            (agent_show("both"), agent_show("old")))
    stored = open(os.path.join(d_b, "state", "ca.pem")).read()
    C.check("the agent with both pins stored both CA certificates",
            stored.count("BEGIN CERTIFICATE") >= 2, stored[:200])

    # an independent client enrolled under the old CA
    key = os.path.join(S.tmp, "py.key")
    csr = os.path.join(S.tmp, "py.csr")
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-subj", "/CN=py1", "-out", csr)
    ca_old = os.path.join(S.tmp, "ca-old.pem")
    shutil.copy(os.path.join(ORCH, "ca.pem"), ca_old)
    ctx = ssl.create_default_context(cafile=ca_old)
    c = http.client.HTTPSConnection("localhost", S.eport, context=ctx, timeout=10)
    c.request("POST", "/v1/enroll", body=json.dumps({"csr": open(csr).read(), "agent_id": "py1"}),
              headers={"Authorization": "Basic " + base64.b64encode(("acme:" + tok).encode()).decode()})
    resp = c.getresponse()
    pj = json.loads(resp.read())
    c.close()
    pycert = os.path.join(S.tmp, "py.pem")
    with open(pycert, "w") as f:
        f.write(pj.get("certificate", ""))
    C.check("independent client enrolled (old CA)", resp.status == 201 and py_call(pycert, key, ca_old) == 200,
            (resp.status, pj))
    C.check("the enrollment answer carries the CA and the backup CA (ca_backup)",
            pj.get("ca") == open(ca_old).read()
            and pj.get("ca_backup") == open(os.path.join(ORCH, "ca-backup.pem")).read(), sorted(pj))

    # ---- the rollover ---------------------------------------------------------------
    offline = os.path.join(S.tmp, "offline")
    os.makedirs(offline, mode=0o700)
    bkey = os.path.join(offline, "ca-backup.key")
    shutil.move(os.path.join(ORCH, "ca-backup.key"), bkey)   # the operator moved it offline
    r = run(STAVILY, "orchestrator", "rollover", "-d", ORCH, "--key", bkey)
    C.check("rollover refused while the orchestrator runs (exit 1, says so)",
            r.returncode == 1 and "running" in r.stderr, (r.returncode, r.stderr))
    stop()
    r = run(STAVILY, "orchestrator", "rollover", "-d", ORCH, "--key", os.path.join(ORCH, "server.key"))
    C.check("rollover with a key that is not the backup CA's: refused, nothing changed",
            r.returncode == 1 and "backup" in r.stderr and pin_of(os.path.join(ORCH, "ca.pem")) == P
            and not os.path.exists(os.path.join(ORCH, "ca-previous.pem")), (r.returncode, r.stderr))
    t_roll = time.time()
    r = run(STAVILY, "orchestrator", "rollover", "-d", ORCH, "--key", bkey)
    C.check("rollover: exit 0, prints the new CA pin = the backup pin", r.returncode == 0 and r.stdout.strip() == B,
            (r.returncode, r.stdout, r.stderr))
    NB = pin_of(os.path.join(ORCH, "ca-backup.pem"))
    C.check("ca.pem is the former backup; ca-previous.pem the old CA; a new backup CA exists",
            pin_of(os.path.join(ORCH, "ca.pem")) == B and pin_of(os.path.join(ORCH, "ca-previous.pem")) == P
            and NB not in (P, B) and NB in r.stderr and os.path.exists(os.path.join(ORCH, "ca-backup.key")),
            (NB, r.stderr))
    C.check("openssl verify: the reissued server certificate against the new CA",
            run("openssl", "verify", "-CAfile", os.path.join(ORCH, "ca.pem"), "-purpose", "sslserver",
                os.path.join(ORCH, "server.pem")).returncode == 0)
    srv = run("openssl", "x509", "-in", os.path.join(ORCH, "server.pem"), "-noout", "-text").stdout
    C.check("the reissued server certificate keeps the names", "DNS:localhost" in srv and "IP Address:127.0.0.1" in srv,
            srv[-600:])
    C.check("no staged files left", not [f for f in os.listdir(ORCH) if f.endswith(".new")], os.listdir(ORCH))
    r = run(STAVILY, "orchestrator", "rollover", "-d", ORCH, "--key", os.path.join(ORCH, "ca-backup.key"))
    C.check("a second rollover before ca-previous.pem is removed: refused",
            r.returncode == 1 and "ca-previous.pem" in r.stderr, (r.returncode, r.stderr))
    audit = open(os.path.join(ORCH, "audit.log")).read()
    C.check("audit record ca_rolled_over with the pins", '"event":"ca_rolled_over"' in audit and B in audit)
    r = run(STAVILY, "audit", "verify", os.path.join(ORCH, "audit.log"))
    C.check("audit verify after the rollover", r.returncode == 0, r.stdout + r.stderr)

    # ---- restart: agents follow without a change ----------------------------------------
    C.check("restarted under the new CA", S.start())
    t_up = time.time()
    C.check("the agent with both pins connects again (heartbeat after the restart)",
            wait_for(lambda: agent_show("both").get("last_seen", 0) >= int(t_up), 40), agent_show("both"))
    C.check("the old client certificate (old CA) is still accepted while ca-previous.pem exists",
            py_call(pycert, key, os.path.join(ORCH, "ca.pem")) == 200)
    serial0 = agent_show("both").get("serial")
    S.ctl_json("agent", "rotate", "acme/both")
    C.check("the agent renews after the rollover",
            wait_for(lambda: agent_show("both").get("serial") not in (None, serial0), 40), agent_show("both"))
    ident = os.path.join(d_b, "state", "identity.pem")
    wait_for(lambda: agent_events(d_b, "certificate_renewed"), 10)
    leaf = os.path.join(S.tmp, "both-leaf.pem")
    with open(ident) as f:
        text = f.read()
    i = text.find("-----BEGIN CERTIFICATE-----")
    with open(leaf, "w") as f:
        f.write(text[i:])
    C.check("its new certificate is from the new CA (openssl verify against ca.pem)",
            run("openssl", "verify", "-CAfile", os.path.join(ORCH, "ca.pem"), leaf).returncode == 0,
            issuer_of(leaf))
    t_ren = time.time()
    C.check("and it keeps heartbeating with it",
            wait_for(lambda: agent_show("both").get("last_seen", 0) >= int(t_ren) + 1, 20), agent_show("both"))
    C.check("the agent with only the old pin is refused: certificate_validation_failed",
            wait_for(lambda: [e for e in agent_events(d_o, "certificate_validation_failed")
                              if e.get("timestamp", "") >= time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t_up))], 40),
            agent_events(d_o, "certificate_validation_failed")[-2:])
    reasons = {e["details"].get("reason") for e in agent_events(d_o, "certificate_validation_failed")}
    C.check("its reason is the pin (pin_mismatch or unknown_ca: it trusts only pinned CAs)",
            reasons & {"pin_mismatch", "unknown_ca"}, reasons)
    seen1 = agent_show("old").get("last_seen", 0)
    time.sleep(3)   # it heartbeats every second when it can
    C.check("the old-pin agent does not get through (last_seen stands still for 3 s)",
            agent_show("old").get("last_seen", 0) == seen1, (seen1, agent_show("old")))
    print("# old-pin agent refusal reasons: %s" % sorted(map(str, reasons)), flush=True)
    # the way out for it: the new pin in its configuration (no new registration)
    a_o.terminate()
    a_o.wait(timeout=15)
    S.agent_conf("old", [B])
    a_o = S.start_agent(conf_o, d_o)
    t_fix = time.time()
    C.check("the old-pin agent with the new pin in its configuration connects again",
            wait_for(lambda: agent_show("old").get("last_seen", 0) >= int(t_fix), 40), agent_show("old"))

    # ---- finishing: the operator removes ca-previous.pem ---------------------------------------
    stop()
    os.unlink(os.path.join(ORCH, "ca-previous.pem"))
    C.check("restarted without ca-previous.pem", S.start())
    st = py_call(pycert, key, os.path.join(ORCH, "ca.pem"))
    C.check("an old-CA client certificate is refused now", str(st).startswith("refused"), st)
    t2 = time.time()
    C.check("the renewed agent still works", wait_for(lambda: agent_show("both").get("last_seen", 0) >= int(t2), 40),
            agent_show("both"))

    # ---- backup-ca: a state directory made before init created backups ---------------------
    old = os.path.join(S.tmp, "olddir")
    r = run(STAVILY, "orchestrator", "init", "-d", old, "--name", "localhost")
    os.unlink(os.path.join(old, "ca-backup.key"))
    os.unlink(os.path.join(old, "ca-backup.pem"))
    r = run(STAVILY, "orchestrator", "backup-ca", "-d", old)
    C.check("backup-ca creates the backup CA and prints its pin",
            r.returncode == 0 and r.stdout.strip() == pin_of(os.path.join(old, "ca-backup.pem"))
            and oct(os.stat(os.path.join(old, "ca-backup.key")).st_mode & 0o777) == "0o600", (r.stdout, r.stderr))
    r = run(STAVILY, "orchestrator", "backup-ca", "-d", old)
    C.check("backup-ca refuses when a backup CA exists", r.returncode == 1 and "already exists" in r.stderr,
            r.stderr)
    os.makedirs(os.path.join(S.tmp, "empty"))
    r = run(STAVILY, "orchestrator", "backup-ca", "-d", os.path.join(S.tmp, "empty"))
    C.check("backup-ca refuses a directory without a CA", r.returncode == 1
            and not os.path.exists(os.path.join(S.tmp, "empty", "ca-backup.key")), r.stderr)
except Exception as e:  # noqa: BLE001
    C.fail("orch_rollover ran to the end", repr(e))
finally:
    S.close()
sys.exit(1 if C.failures else 0)

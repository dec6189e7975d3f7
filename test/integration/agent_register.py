#!/usr/bin/env python3
"""agent_register.py: `stavily agent register` and `agent status` against a
real `stavily orchestrator run` on loopback, black-box.

The orchestrator is initialised with --name localhost --san 127.0.0.1; the
agent connects to 127.0.0.1 and checks the name "localhost" (DNS SANs only).
Refused: no pin (explained), a wrong pin and a wrong host name (each with its
event and nothing stored), a wrong token (401; the token appears in no
output or log), a token on the command line.  Success: key and chain stored
0600 in a 0700 directory, the certificate verifies with openssl against the
orchestrator CA and matches the key; token from a file and from the
environment; status shows identity, tenant, serial, days, reachability.
Every wait is bounded; the server is killed at the end whatever happens.
"""
import json
import os
import re
import stat
from lib_agent import Checks, Stack, run, all_text, agent_events

STAVILY = os.environ["STAVILY"]
T = Checks()
check = T.check
S = Stack(STAVILY, "stavily-agentreg.")
agent_conf = S.agent_conf

try:
    r = S.init()
    pin = r.stdout.strip()
    check("orchestrator init prints a pin", r.returncode == 0 and re.fullmatch(r"sha256:[0-9a-f]{64}", pin),
          r.stdout + r.stderr)
    check("orchestrator up", S.start())
    S.ctl_json("tenant", "add", "acme")
    token = S.ctl_json("token", "create", "--tenant", "acme", "--uses", "5")["token"]
    tokf = S.token_file(token + "\n")
    outputs = []

    # ---- no pin ---------------------------------------------------------------
    conf, d = agent_conf("nopin", [])
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tokf)
    outputs.append(r.stdout + r.stderr)
    check("no pin: refused with exit 78 and explains `orchestrator init`",
          r.returncode == 78 and "orchestrator init" in r.stderr and "ca_pins" in r.stderr, (r.returncode, r.stderr))

    # ---- wrong pin ------------------------------------------------------------
    conf, d = agent_conf("wrongpin", ["sha256:" + "ab" * 32])
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tokf)
    outputs.append(r.stdout + r.stderr)
    ev = agent_events(d, "certificate_validation_failed")
    check("wrong pin: refused", r.returncode != 0 and "pin" in r.stderr, (r.returncode, r.stderr))
    check("wrong pin: certificate_validation_failed with reason pin_mismatch",
          any(e["details"].get("reason") == "pin_mismatch" for e in ev), agent_events(d))
    check("wrong pin: nothing stored", not os.path.exists(os.path.join(d, "state", "identity.pem")))

    # ---- wrong host name ----------------------------------------------------------
    conf, d = agent_conf("wronghost", [pin], server_name="orch.example.com")
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tokf)
    outputs.append(r.stdout + r.stderr)
    ev = agent_events(d, "certificate_validation_failed")
    check("wrong host name: refused", r.returncode != 0 and "hostname_mismatch" in r.stderr, (r.returncode, r.stderr))
    check("wrong host name: certificate_validation_failed hostname_mismatch and tls_handshake_failed",
          any(e["details"].get("reason") == "hostname_mismatch" for e in ev)
          and agent_events(d, "tls_handshake_failed"), agent_events(d))
    check("wrong host name: nothing stored", not os.path.exists(os.path.join(d, "state", "identity.pem")))
    # ---- wrong token -------------------------------------------------------------
    conf, d = agent_conf("badtoken", [pin])
    bad = "stv_" + "1" * 64
    badf = S.token_file(bad, "badtoken.txt")
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", badf)
    outputs.append(r.stdout + r.stderr)
    check("wrong token: refused with 401", r.returncode != 0 and "401" in r.stderr, (r.returncode, r.stderr))
    check("wrong token: registration_failed event", agent_events(d, "registration_failed"), agent_events(d))
    check("wrong token: nothing stored", not os.path.exists(os.path.join(d, "state", "identity.pem")))

    # ---- token on the command line -------------------------------------------------
    r = run(STAVILY, "agent", "register", "-c", conf, "--set", "agent.token=" + token)
    outputs.append(r.stdout + r.stderr)
    check("token on the command line refused (usage 64)", r.returncode == 64 and "command line" in r.stderr,
          (r.returncode, r.stderr))
    r = run(STAVILY, "agent", "register", "-c", conf)
    check("no token at all: refused and says where a token comes from",
          r.returncode != 0 and "STAVILY_INSTALLATION_TOKEN" in r.stderr, (r.returncode, r.stderr))

    # ---- success -------------------------------------------------------------------
    conf, d = agent_conf("a1", [pin])
    state = os.path.join(d, "state")
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tokf)
    outputs.append(r.stdout + r.stderr)
    check("register with the token file: exit 0",
          r.returncode == 0 and "spiffe://stavily.local/tenant/acme/agent/a1" in r.stdout, (r.returncode, r.stdout, r.stderr))
    ident = os.path.join(state, "identity.pem")
    st = os.stat(ident) if os.path.exists(ident) else None
    check("identity (key + chain) stored with mode 0600", st is not None and stat.S_IMODE(st.st_mode) == 0o600,
          st and oct(st.st_mode))
    check("state_dir is 0700", stat.S_IMODE(os.stat(state).st_mode) == 0o700)
    check("CA bundle stored 0600", stat.S_IMODE(os.stat(os.path.join(state, "ca.pem")).st_mode) == 0o600)
    text = open(ident).read()
    check("identity file holds a private key and a certificate",
          "PRIVATE KEY" in text and "BEGIN CERTIFICATE" in text)
    leaf = os.path.join(S.tmp, "leaf.pem")
    with open(leaf, "w") as f:
        f.write(text[text.index("-----BEGIN CERTIFICATE-----"):])
    r2 = run("openssl", "verify", "-CAfile", S.ca, "-purpose", "sslclient", leaf)
    check("openssl verifies the agent certificate against the orchestrator CA", r2.returncode == 0, r2.stdout + r2.stderr)
    k1 = run("openssl", "pkey", "-in", ident, "-pubout").stdout
    k2 = run("openssl", "x509", "-in", leaf, "-noout", "-pubkey").stdout
    check("the certificate is for the key generated on the host", k1 and k1 == k2, (k1, k2))
    check("agent_registered event", agent_events(d, "agent_registered"), agent_events(d))
    agents = S.ctl_json("agent", "list")["agents"]
    check("the orchestrator lists the agent", any(a["agent_id"] == "a1" for a in agents), agents)

    # token from the environment
    conf2, d2 = agent_conf("a2", [pin])
    r = run(STAVILY, "agent", "register", "-c", conf2, env={"STAVILY_INSTALLATION_TOKEN": token})
    outputs.append(r.stdout + r.stderr)
    check("register with STAVILY_INSTALLATION_TOKEN: exit 0", r.returncode == 0, r.stderr)

    # ---- status ---------------------------------------------------------------------
    r = run(STAVILY, "agent", "status", "-c", conf, "--json")
    outputs.append(r.stdout + r.stderr)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        j = {}
    check("status --json: identity, tenant, serial, days, reachable",
          r.returncode == 0 and j.get("identity") == "spiffe://stavily.local/tenant/acme/agent/a1"
          and j.get("tenant") == "acme" and re.fullmatch(r"[0-9a-f]+", j.get("serial", ""))
          and j.get("days_remaining") in (89, 90) and j.get("orchestrator_reachable") is True
          and j.get("quarantined") is False and j.get("spool_depth") == 0, r.stdout + r.stderr)
    check("status --json: sandbox layers", isinstance(j.get("sandbox"), dict) and "seccomp" in j["sandbox"], j)
    r = run(STAVILY, "agent", "status", "-c", conf)
    check("status (table) names the identity", r.returncode == 0 and "spiffe://" in r.stdout, r.stdout)
    conf3, d3 = agent_conf("never", [pin])
    r = run(STAVILY, "agent", "status", "-c", conf3, "--json")
    check("status of an unregistered agent: exit 1, registered false",
          r.returncode == 1 and json.loads(r.stdout).get("registered") is False, r.stdout + r.stderr)
    # orchestrator down: unreachable, still a status
    S.stop()
    r = run(STAVILY, "agent", "status", "-c", conf, "--json")
    check("status with the orchestrator down: reachable false",
          json.loads(r.stdout).get("orchestrator_reachable") is False, r.stdout)

    # ---- the token leaked nowhere -------------------------------------------------------
    logs = all_text([S.events, os.path.join(S.tmp, "server.stderr")] +
                    [os.path.join(S.tmp, n, "events.log") for n in
                     ("nopin", "wrongpin", "wronghost", "badtoken", "a1", "a2")])
    secret = token[4:]
    check("neither token appears in any output or log",
          token not in logs and secret not in logs and bad not in logs and
          not any(token in o or bad in o for o in outputs), "leak")
finally:
    S.finish(T)
T.exit("agent_register")

#!/usr/bin/env python3
"""agent_spoolcap_backpressure.py: the spool's cap reached by security events
themselves (never dropped), black-box.

An action agent with `spool_max_size: 256KiB` starts with ~310 KiB of
unacknowledged security events already in its spool (written here in the
spool's on-disk format, docs/storage.md, as a long outage would leave them)
and a job queued for it at the orchestrator.  The events are over the cap
but within the critical reserve: the worker must not drop any, must not ask
for the job while they alone fill the cap (spool_backpressure engaged), must
deliver every one of them exactly once, and then run the job
(spool_backpressure released).  Bounded waits; everything is killed at the end.
"""
import json
import os
import struct
import sys
import time
from lib_agent import Checks, Stack, run, wait_for, agent_events

STAVILY = os.environ["STAVILY"]
PLUGINS = os.environ["PLUGINS"]
T = Checks()
S = Stack(STAVILY, "stavily-backpressure.")
CAP = 256 * 1024
SEG_MAX = CAP // 8             # the spool's segment size at this cap
TARGET = 310 * 1024            # over the cap, under cap + reserve (320 KiB)

_tab = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _tab.append(c)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _tab[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def frame(payload):
    ln = struct.pack("<I", len(payload))
    return b"SJR\x01" + ln + struct.pack("<I", crc32c(payload, crc32c(ln))) + payload


def prefill(spool_dir, agent_id):
    """Security-event records (class 2) in segments of at most SEG_MAX bytes."""
    crit = os.path.join(spool_dir, "critical")
    os.makedirs(crit, mode=0o700, exist_ok=True)
    seq, total, n, seg, seg_first = 1, 0, 0, b"", 1
    while total < TARGET:
        line = json.dumps({"timestamp": "2026-01-01T00:00:00.000Z", "level": "WARN",
                           "component": "action-agent", "agent_id": agent_id,
                           "event": "prefill_test", "details": {"n": n, "pad": "x" * 160}},
                          separators=(",", ":")).encode()
        rec = frame(b"\x01\x02" + os.urandom(16) + line)
        if len(seg) + len(rec) > SEG_MAX:
            with open(os.path.join(crit, "%012d.seg" % seg_first), "wb") as f:
                f.write(seg)
            seg, seg_first = b"", seq
        seg += rec
        total += len(rec)
        seq += 1
        n += 1
    with open(os.path.join(crit, "%012d.seg" % seg_first), "wb") as f:
        f.write(seg)
    return n, total


def stored(name):
    try:
        return S.ctl_json("events", "query", "--agent", "bp1", "--event", name,
                          "--limit", "100000").get("events", [])
    except RuntimeError:
        return []


try:
    r = S.init()
    T.check("orchestrator init", r.returncode == 0, r.stderr)
    T.check("orchestrator up", S.start())
    S.ctl_json("tenant", "add", "acme")
    token = S.ctl_json("token", "create", "--tenant", "acme")["token"]
    plugdir = os.path.join(S.tmp, "plugins")
    S.install_plugin(plugdir, "echo", os.path.join(PLUGINS, "agent_echo"))
    conf, d = S.agent_conf("bp1", plugins_dir=plugdir, extra="  spool_max_size: 256KiB\n")
    r = run(STAVILY, "agent", "register", "-c", conf, env={"STAVILY_INSTALLATION_TOKEN": token})
    T.check("agent registered", r.returncode == 0, r.stderr)
    n, total = prefill(os.path.join(d, "state", "spool"), "bp1")
    print("# prefilled %d security events, %d bytes (cap %d + reserve %d)" % (n, total, CAP, CAP // 4),
          flush=True)
    r = run(STAVILY, "ctl", "-S", S.sock, "--json", "job", "submit", "--agent", "acme/bp1",
            "--plugin", "echo", "--args", '{"after":"backpressure"}')
    jid = json.loads(r.stdout).get("id") if r.returncode == 0 else None
    T.check("a job is queued for the agent", jid is not None, r.stderr)

    a = S.start_agent(conf, d)
    j = S.job_result(jid, 40) if jid else {}
    res = j.get("result") or {}
    T.check("the queued job runs once the spool is below its cap again",
            j.get("state") == "done" and res.get("status") == "succeeded", j)
    bp = agent_events(d, "spool_backpressure")
    print("# spool_backpressure: %s" % json.dumps([e.get("details") for e in bp])[:400], flush=True)
    on = [e for e in bp if (e.get("details") or {}).get("engaged") is True]
    off = [e for e in bp if (e.get("details") or {}).get("engaged") is False]
    T.check("spool_backpressure engaged while security events alone filled the cap",
            on and (on[0].get("details") or {}).get("critical_bytes", 0) >= CAP, bp)
    T.check("... and released after delivery", off and bp.index(off[0]) > bp.index(on[0]) if on and off
            else False, bp)
    rel = time.mktime(time.strptime(off[0]["timestamp"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone \
        if off else None
    T.check("the job was handed out only after the release (delivered >= release, seconds)",
            rel is not None and j.get("delivered", 0) >= int(rel), (rel, j.get("delivered")))
    wait_for(lambda: len(stored("prefill_test")) >= n, 20)
    evs = stored("prefill_test")
    ns = sorted((e.get("details") or {}).get("n") for e in evs)
    T.check("every security event over the cap is delivered exactly once (none dropped)",
            ns == list(range(n)), (len(ns), n))
    T.check("nothing refused at the cap (no spool_overflow with critical_refused)",
            not any((e.get("details") or {}).get("critical_refused") for e in agent_events(d, "spool_overflow")),
            agent_events(d, "spool_overflow"))
finally:
    S.close()
sys.exit(1 if T.failures else 0)

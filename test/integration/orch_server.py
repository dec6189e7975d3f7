#!/usr/bin/env python3
"""orch_server.py: the orchestrator's event loop under abuse, black-box.

Connection caps (per source, total), malformed and oversized requests on
the admin socket and over TLS, a client that never handshakes and a
slowloris header on the admin socket (both closed at their deadline, 10 s,
not extended by trickled bytes), pipelined requests, and the server still
answering normal requests afterwards.  Every wait is bounded and the server
is killed at the end whatever happens.
"""
import base64
import http.client
import json
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
from lib_orch import install
from lib_agent import wait_for

STAVILY = os.environ["STAVILY"]
install(globals(), STAVILY, "stavily-orchsrv.", trust_domain=None,
        extra=["--set", "orchestrator.max_connections_per_source=3",
               "--set", "orchestrator.max_connections=12",
               "--set", "privacy.pseudonymize_addresses=true"])


def unix(data, timeout=5.0):
    """Send raw bytes on the admin socket, return what comes back until close."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(SOCK)
    s.sendall(data)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        pass
    except OSError:
        pass
    s.close()
    return out


def tls_conn(source="127.0.0.1"):
    ctx = ssl.create_default_context(cafile=CA)
    return http.client.HTTPSConnection("localhost", EPORT, context=ctx, timeout=10,
                                       source_address=(source, 0))


def admin_ok():
    r = subprocess.run([STAVILY, "ctl", "-S", SOCK, "--json", "tenant", "list"],
                       capture_output=True, text=True, timeout=30)
    return r.returncode == 0 and "tenants" in r.stdout


def closed_within(sock, seconds):
    """True if the peer closes `sock` within `seconds` (reads are discarded)."""
    end = time.monotonic() + seconds
    sock.settimeout(0.2)
    while time.monotonic() < end:
        try:
            d = sock.recv(4096)
            if not d:
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


try:
    r = init()
    check("init", r.returncode == 0, r.stderr)
    check("server up", start())

    # ---- slow clients first: their deadlines run while the rest happens ------------
    t0 = time.monotonic()
    silent = socket.create_connection(("127.0.0.1", EPORT), source_address=("127.0.0.50", 0))
    loris = socket.socket(socket.AF_UNIX)
    loris.connect(SOCK)
    loris.sendall(b"GET /v1/admin/tenants HTTP/1.1\r\n")
    loris_closed = []

    def trickle():
        # one header byte a second: the header deadline (10 s from the
        # request's first byte) must not move
        for i in range(20):
            try:
                loris.sendall(b"X")
            except OSError:
                loris_closed.append(time.monotonic() - t0)
                return
            if closed_within(loris, 1.0):
                loris_closed.append(time.monotonic() - t0)
                return
    loris_thread = threading.Thread(target=trickle, daemon=True)
    loris_thread.start()

    # ---- per-source cap ------------------------------------------------------------
    held = [socket.create_connection(("127.0.0.1", EPORT), source_address=("127.0.0.2", 0))
            for _ in range(3)]
    time.sleep(0.2)
    extra = socket.create_connection(("127.0.0.1", EPORT), source_address=("127.0.0.2", 0))
    check("4th connection from one source is closed at once (cap 3)", closed_within(extra, 3))
    extra.close()
    c = tls_conn("127.0.0.3")
    try:
        c.request("GET", "/v1/enroll")
        st = c.getresponse().status
    except Exception as e:
        st = repr(e)
    c.close()
    check("another source is served meanwhile (405 for GET /v1/enroll)", st == 405, st)
    for s in held:
        s.close()
    with open(EVENTS) as f:
        ev = [json.loads(l) for l in f if '"connection_refused"' in l]
    check("connection_refused event (per_source)", any(e["details"]["cap"] == "per_source" for e in ev), ev)
    srcs = [e["details"]["source"] for e in ev if e["details"]["cap"] == "per_source"]
    check("pseudonymized source: anon-<16 hex>, no address",
          srcs and all(re.fullmatch(r"anon-[0-9a-f]{16}", x) for x in srcs), srcs)

    # ---- total cap (12): the silent one + 11 more fill it (the admin loris
    # does not count: the admin socket has its own cap) ---------------------------------
    time.sleep(0.2)
    fill = []
    for i in range(11):
        fill.append(socket.create_connection(("127.0.0.1", EPORT), source_address=("127.0.1.%d" % (i + 1), 0)))
    time.sleep(0.2)
    over = socket.create_connection(("127.0.0.1", EPORT), source_address=("127.0.2.1", 0))
    check("connection over the total cap is closed at once", closed_within(over, 3))
    over.close()
    check("the admin socket answers while the network listeners are full", admin_ok())
    for s in fill:
        s.close()
    check("admin answers after the caps were hit", wait_for(admin_ok, 5))

    # ---- malformed requests on the admin socket ---------------------------------------
    rnd = random.Random(5)
    cases = [
        b"GET /v1/admin/tenants HTTP/1.0\r\nHost: x\r\n\r\n",
        b"GET /v1/admin/tenants HTTP/1.1\r\n\r\n",
        b"GET /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
        b"POST /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        b"POST /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
        b"GET /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
        b"GET /v1/admin/tenants HTTP/1.1\nHost: x\n\n",
        b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 100 + b"\r\n",
        b"POST /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 7\r\n\r\n{\"name\"",
        b"POST /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 30\r\n\r\n" + b"[" * 30,
        b"POST /v1/admin/tokens HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 40\r\n\r\n{\"tenant\":\"nosuch\",\"ttl\":-1,\"uses\":0}   ",
        b"\x16\x03\x01\x00\x05hello\r\n\r\n",
    ]
    for i in range(200):
        n = rnd.randrange(1, 300)
        cases.append(b"GET /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX: " +
                     bytes(rnd.randrange(0, 256) for _ in range(n)) + b"\r\n\r\n")
    statuses = {}
    bad = 0
    for data in cases:
        out = unix(data, timeout=5)
        st = out[9:12].decode("ascii", "replace") if out.startswith(b"HTTP/1.1 ") else "none"
        statuses[st] = statuses.get(st, 0) + 1
        if st not in ("400", "404", "405", "413", "414", "431", "501", "505") and not (
                st == "200" and data.count(b"\r\n\r\n") == 1 and b"X: " in data):
            bad += 1
    check("214 malformed requests on the admin socket answered with 4xx/5xx", bad == 0, statuses)
    check("admin still answers after the malformed requests", admin_ok())

    # ---- pipelining and keep-alive ----------------------------------------------------
    out = unix(b"GET /v1/admin/tenants HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /v1/admin/agents HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    check("two pipelined requests, two answers in order",
          out.count(b"HTTP/1.1 200") == 2 and out.index(b"tenants") < out.index(b"agents"), out[:300])

    # ---- malformed requests over TLS ---------------------------------------------------
    def tls_raw(data):
        ctx = ssl.create_default_context(cafile=CA)
        raw = socket.create_connection(("127.0.0.1", EPORT), timeout=5, source_address=("127.0.0.4", 0))
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        out = b""
        try:
            s.sendall(data)
        except (ssl.SSLError, OSError):
            pass
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out += d
        except (socket.timeout, ssl.SSLError, OSError):
            pass
        s.close()
        return out
    tls_cases = [
        (b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", b"400"),
        (b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", b"413"),
        # the whole oversized body sent at once: the 413 must still arrive
        (b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n" + b"x" * 300000, b"413"),
        (b"GET /v1/enroll HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"405"),
        (b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", b"401"),
    ]
    res = [tls_raw(d)[9:12] for d, _ in tls_cases]
    check("malformed requests over TLS: 400, 413, 413 (body sent), 405, 401",
          res == [w for _, w in tls_cases], res)

    # ---- the slow clients were closed at their deadlines ----------------------------------
    loris_thread.join(timeout=25)
    check("slowloris on the admin socket closed at the 10 s header deadline",
          len(loris_closed) == 1 and 9.5 < loris_closed[0] < 13, loris_closed)
    el = time.monotonic() - t0
    check("silent TLS client closed at the 10 s handshake deadline", closed_within(silent, max(0.5, 13 - el)),
          time.monotonic() - t0)
    silent.close()
    loris.close()
    with open(EVENTS) as f:
        phases = [json.loads(l)["details"]["phase"] for l in f if '"connection_timeout"' in l]
    check("connection_timeout events for headers and handshake",
          "headers" in phases and "handshake" in phases, phases)

    c = tls_conn("127.0.0.4")
    c.request("POST", "/v1/enroll", body="{}",
              headers={"Authorization": "Basic " + base64.b64encode(b"acme:x").decode()})
    st = c.getresponse().status
    c.close()
    check("enroll listener still answers normally", st == 401, st)

    # ---- SIGTERM drains: a request in flight is still answered ---------------------------
    half = socket.socket(socket.AF_UNIX)
    half.settimeout(5)
    half.connect(SOCK)
    idle = socket.socket(socket.AF_UNIX)
    idle.connect(SOCK)
    half.sendall(b"GET /v1/admin/tenants HTTP/1.1\r\n")
    time.sleep(0.2)
    server.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    check("SIGTERM closes idle connections at once", closed_within(idle, 2))
    half.sendall(b"Host: x\r\n\r\n")
    out = b""
    try:
        while True:
            d = half.recv(65536)
            if not d:
                break
            out += d
    except OSError:
        pass
    half.close()
    idle.close()
    check("SIGTERM: the request in flight gets its answer (Connection: close)",
          out.startswith(b"HTTP/1.1 200") and b"Connection: close" in out, out[:200])
    with open(EVENTS) as f:
        lines = f.read().splitlines()
    peer_ev = [l for l in lines if '"source"' in l]
    check("no peer address in any event with a source (pseudonymized)",
          peer_ev and not any('"source":"127.' in l for l in peer_ev), peer_ev[:5])
    fails = [json.loads(l)["details"]["source"] for l in lines if '"enrollment_failed"' in l]
    check("the same source gets the same label", len(fails) == 2 and len(set(fails)) == 1, fails)
    rc = stop()
    check("SIGTERM: exit 0", rc == 0, rc)
except Exception as e:
    fail("unexpected exception", repr(e))
finally:
    finish()
T.exit()

#!/bin/bash
# orch_tlsscan.sh: the orchestrator's TLS listeners seen by independent
# scanners.  testssl.sh (Debian package testssl.sh, command `testssl`)
# against the enrollment listener and sslscan (package sslscan) with an
# enrolled agent's client certificate (--certs/--pk) against the mutual-TLS
# agent API.  Asserted: nothing below TLS 1.2, only ECDHE key exchange with
# AES-GCM or ChaCha20-Poly1305, no renegotiation.  TLS 1.3 is not offered
# by BearSSL: reported, and asserted absent so a change is noticed.
# A missing scanner is a failure, never a skip.  Each scanner run is bounded
# by `timeout`; the server is killed at exit whatever happens.
. "$(dirname "$0")/lib.sh"

SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

TESTSSL=$(command -v testssl.sh || command -v testssl || true)
SSLSCAN=$(command -v sslscan || true)
[ -n "$TESTSSL" ] && ok "testssl.sh installed" || fail "testssl.sh installed" "apt-get install testssl.sh"
[ -n "$SSLSCAN" ] && ok "sslscan installed" || fail "sslscan installed" "apt-get install sslscan"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
EPORT=$(free_port)
APORT=$(free_port)
STATE=$TMP/state
SOCK=$STATE/admin.sock

if ! "$STAVILY" orchestrator init -d "$STATE" --name localhost --trust-domain corp.example >"$TMP/init.out" 2>&1; then
    fail "orchestrator init" "$(head -c 600 "$TMP/init.out")"
    exit 0
fi
"$STAVILY" orchestrator run -c "$STATE/orchestrator.yaml" \
    --set "orchestrator.listen_enroll=127.0.0.1:$EPORT" \
    --set "orchestrator.listen_agent=127.0.0.1:$APORT" \
    --set "logging.file=$TMP/events.log" >"$TMP/server.out" 2>&1 &
SERVER_PID=$!
up=0
for _ in $(seq 1 100); do
    if [ -S "$SOCK" ] && (exec 3<>"/dev/tcp/127.0.0.1/$EPORT") 2>/dev/null &&
        (exec 3<>"/dev/tcp/127.0.0.1/$APORT") 2>/dev/null; then
        up=1
        break
    fi
    sleep 0.1
done
if [ $up = 1 ]; then ok "orchestrator up"; else fail "orchestrator up" "$(head -c 600 "$TMP/server.out")"; exit 0; fi

# an agent certificate for sslscan's client authentication (openssl CSR, curl)
"$STAVILY" ctl -S "$SOCK" tenant add acme >/dev/null 2>&1
TOKEN=$("$STAVILY" ctl -S "$SOCK" --json token create --tenant acme --uses 1 2>/dev/null | jq -r .token)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/agent.key" \
    -subj /CN=scan -out "$TMP/agent.csr" 2>/dev/null
jq -n --rawfile csr "$TMP/agent.csr" '{csr: $csr, agent_id: "scan1"}' >"$TMP/enroll.json"
curl -sS --max-time 10 --cacert "$STATE/ca.pem" -u "acme:$TOKEN" -H 'Content-Type: application/json' \
    --data-binary @"$TMP/enroll.json" --resolve "localhost:$EPORT:127.0.0.1" \
    "https://localhost:$EPORT/v1/enroll" >"$TMP/enroll.out" 2>&1
jq -r .certificate "$TMP/enroll.out" >"$TMP/agent.pem" 2>/dev/null
if grep -q 'BEGIN CERTIFICATE' "$TMP/agent.pem"; then ok "agent enrolled for the scan"; else
    fail "agent enrolled for the scan" "$(head -c 600 "$TMP/enroll.out")"; fi

# the only acceptable suites (OpenSSL names; BearSSL's server negotiates these)
GOOD='^(ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305))$'

# --- testssl.sh against the enrollment listener -------------------------------------
# -p protocols, -E every cipher per protocol, -R renegotiation; JSON for checks
if [ -n "$TESTSSL" ]; then
    timeout 120 "$TESTSSL" --quiet --color 0 --warnings off --nodns none --fast \
        -p -E -R --jsonfile "$TMP/testssl.json" "127.0.0.1:$EPORT" >"$TMP/testssl.out" 2>&1
    rc=$?
    if [ -s "$TMP/testssl.json" ] && jq -e 'length > 0' "$TMP/testssl.json" >/dev/null 2>&1; then
        ok "testssl.sh ran (exit $rc)"
    else
        fail "testssl.sh ran" "exit $rc: $(tail -c 800 "$TMP/testssl.out")"
    fi
    tfind() { jq -r --arg id "$1" '.[] | select(.id == $id) | .finding' "$TMP/testssl.json" 2>/dev/null | head -1; }
    bad=
    for p in SSLv2 SSLv3 TLS1 TLS1_1; do
        f=$(tfind "$p")
        case "$f" in "not offered"*) ;; *) bad="$bad $p=[$f]" ;; esac
    done
    [ -z "$bad" ] && ok "testssl: SSLv2, SSLv3, TLS 1.0, TLS 1.1 not offered" || fail "testssl: old protocols" "$bad"
    f=$(tfind TLS1_2)
    case "$f" in "offered"*) ok "testssl: TLS 1.2 offered" ;; *) fail "testssl: TLS 1.2 offered" "[$f]" ;; esac
    f=$(tfind TLS1_3)
    echo "# testssl: TLS 1.3: $f (BearSSL 0.6 has no TLS 1.3)"
    case "$f" in "not offered"*) ok "testssl: TLS 1.3 not offered (BearSSL, reported)" ;;
        *) fail "testssl: TLS 1.3 status changed" "[$f]" ;; esac
    # -E: one record per accepted suite, id cipher-tls1_2_xNNNN, finding "TLS 1.2 xNNNN NAME ..."
    jq -r '.[] | select(.id | test("^cipher-tls")) | .finding' "$TMP/testssl.json" >"$TMP/testssl.ciphers"
    names=$(awk '{print $4}' "$TMP/testssl.ciphers" | sort -u)
    echo "# testssl: accepted suites: $(echo $names)"
    weak=$(echo "$names" | grep -Ev "$GOOD" | grep -v '^$' || true)
    if [ -n "$names" ] && [ -z "$weak" ]; then ok "testssl: only ECDHE with AES-GCM/ChaCha20 suites"; else
        fail "testssl: only ECDHE with AES-GCM/ChaCha20 suites" "weak or none: [$weak] from $(head -c 600 "$TMP/testssl.ciphers")"; fi
    # secure_renego reports the RFC 5746 extension (harmless, "supported");
    # secure_client_renego is the one that matters: a client asking to
    # renegotiate must be refused
    f=$(tfind secure_renego)
    g=$(tfind secure_client_renego)
    echo "# testssl: secure_renego=[$f] secure_client_renego=[$g]"
    if echo "$g" | grep -qiE '^not vulnerable'; then ok "testssl: client-initiated renegotiation refused"; else
        fail "testssl: client-initiated renegotiation refused" "secure_client_renego=[$g]"; fi
    case "$f" in
    "supported"*|"not supported"*) ok "testssl: no insecure legacy renegotiation" ;;
    *) fail "testssl: no insecure legacy renegotiation" "secure_renego=[$f]" ;;
    esac
fi

# --- sslscan with a client certificate against the agent API -----------------------
if [ -n "$SSLSCAN" ]; then
    timeout 60 "$SSLSCAN" --no-colour --no-heartbleed --no-compression --no-groups --no-check-certificate \
        --certs="$TMP/agent.pem" --pk="$TMP/agent.key" "127.0.0.1:$APORT" >"$TMP/sslscan.out" 2>&1
    rc=$?
    if grep -q 'Accepted' "$TMP/sslscan.out"; then ok "sslscan with the client certificate: suites accepted (exit $rc)"; else
        fail "sslscan with the client certificate" "exit $rc: $(head -c 800 "$TMP/sslscan.out")"; fi
    bad=
    for p in SSLv2 SSLv3 TLSv1.0 TLSv1.1; do
        grep -Eq "^$p +disabled" "$TMP/sslscan.out" || bad="$bad $p"
    done
    [ -z "$bad" ] && ok "sslscan: SSLv2, SSLv3, TLS 1.0, TLS 1.1 disabled" || \
        fail "sslscan: old protocols" "not disabled:$bad: $(grep -E '^(SSL|TLS)v' "$TMP/sslscan.out")"
    grep -Eq '^TLSv1.2 +enabled' "$TMP/sslscan.out" && ok "sslscan: TLS 1.2 enabled" || fail "sslscan: TLS 1.2 enabled"
    echo "# sslscan: $(grep -E '^TLSv1.3 ' "$TMP/sslscan.out") (BearSSL 0.6 has no TLS 1.3)"
    grep -Eq '^TLSv1.3 +disabled' "$TMP/sslscan.out" && ok "sslscan: TLS 1.3 disabled (BearSSL, reported)" || \
        fail "sslscan: TLS 1.3 status changed"
    awk '$1 ~ /^(Preferred|Accepted)$/ {print $2, $5}' "$TMP/sslscan.out" >"$TMP/sslscan.ciphers"
    echo "# sslscan: accepted: $(awk '{print $2}' "$TMP/sslscan.ciphers" | sort -u | tr '\n' ' ')"
    weak=$(awk '$1 != "TLSv1.2" || $2 !~ /'"${GOOD//\//\\/}"'/' "$TMP/sslscan.ciphers")
    if [ -s "$TMP/sslscan.ciphers" ] && [ -z "$weak" ]; then ok "sslscan: only TLS 1.2 ECDHE with AES-GCM/ChaCha20 suites"; else
        fail "sslscan: only TLS 1.2 ECDHE with AES-GCM/ChaCha20 suites" "[$weak]"; fi
    grep -Eiq 'Insecure session renegotiation supported|Session renegotiation supported' "$TMP/sslscan.out" &&
        fail "sslscan: no renegotiation" "$(grep -i renegotiation "$TMP/sslscan.out")" ||
        { grep -iq 'renegotiation not supported' "$TMP/sslscan.out" && ok "sslscan: renegotiation not supported" ||
            fail "sslscan: no renegotiation" "no verdict: $(grep -i renegotiation "$TMP/sslscan.out")"; }
    # control: the same scan without a client certificate gets no suite at all
    timeout 60 "$SSLSCAN" --no-colour --no-heartbleed --no-compression --no-groups --no-check-certificate \
        --no-renegotiation "127.0.0.1:$APORT" >"$TMP/sslscan-nocert.out" 2>&1
    grep -Eq '^(Preferred|Accepted) ' "$TMP/sslscan-nocert.out" &&
        fail "sslscan without a client certificate: no suite accepted" "$(grep -E '^(Preferred|Accepted)' "$TMP/sslscan-nocert.out")" ||
        ok "sslscan without a client certificate: no suite accepted"
fi
kill -TERM "$SERVER_PID" 2>/dev/null
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
exit 0

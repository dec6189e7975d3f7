#!/bin/bash
# bench/tls.sh: mutual-TLS handshakes per second (full and resumed) of our
# BearSSL client against our BearSSL server on loopback, the same workload
# with OpenSSL (s_time against s_server) in the same run, and P-256
# sign/verify/ECDH per second of the BearSSL we link next to `openssl speed`.
# Prints a markdown table and writes bench/results-tls.md.  Never a test.
#
#   BUILD=build bench/tls.sh        (what `make bench` runs)
#
# Environment: BUILD (default build), BENCH_SECONDS (per row, default 3).
# Needs $BUILD/test/test_tls_peer (make BUILD=... unit).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
PEER=$BUILD/test/test_tls_peer
SECS=${BENCH_SECONDS:-3}
if [ ! -x "$PEER" ]; then
    echo "bench/tls.sh: $PEER missing (run make BUILD=... unit first)" >&2
    exit 0
fi
D=$(mktemp -d /tmp/stavily-bench-tls.XXXXXX)
trap 'exec 7>&- 2>/dev/null; [ -n "${SSPID:-}" ] && kill "$SSPID" 2>/dev/null; rm -rf "$D"' EXIT INT TERM
cd "$D" || exit 1

# Same certificate shapes as our PKI writes: EC P-256 CA, server, client.
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec ca.key
openssl req -x509 -new -key ca.key -subj /CN=bench-ca -days 2 -out ca.pem \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
leaf() { # name ext
    ec "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
    printf '%b\n' "$2" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
leaf srv "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost"
leaf cli "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://bench/tenant/t/agent/a"

# --- ours ------------------------------------------------------------------------
"$PEER" bench --cert srv.pem --key srv.key --ca ca.pem --client-cert cli.pem \
    --client-key cli.key --seconds "$SECS" > ours.txt 2>&1
val() { awk -v k="$1" '$1 == "bench" && $2 == k { print $3 }' ours.txt; }
o_full=$(val full_handshakes_per_s); o_res=$(val resumed_handshakes_per_s)
o_sign=$(val p256_sign_per_s); o_vrfy=$(val p256_verify_per_s); o_ecdh=$(val p256_ecdh_per_s)
o_impl=$(awk '$2 == "ec_impl" { $1 = $2 = ""; print substr($0, 3) }' ours.txt)

# --- OpenSSL: s_server + s_time, same certificates, TLS 1.2, same suite -----------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkfifo stdin.fifo
exec 7<>stdin.fifo
openssl s_server -accept "127.0.0.1:$port" -cert srv.pem -key srv.key -CAfile ca.pem -Verify 1 \
    -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -quiet <&7 >sserver.log 2>&1 &
SSPID=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.05
done
stime() { # -new | -reuse
    timeout $((SECS + 20)) openssl s_time -connect "127.0.0.1:$port" "$1" -time "$SECS" \
        -cert cli.pem -key cli.key -CAfile ca.pem -cipher ECDHE-ECDSA-AES128-GCM-SHA256 2>&1 |
        awk '/connections in .* real seconds/ { n = $1; s = $4; if (s > 0) printf "%.0f\n", n / s }' | tail -1
}
s_full=$(stime -new)
s_res=$(stime -reuse)
kill "$SSPID" 2>/dev/null; wait "$SSPID" 2>/dev/null; SSPID=

# --- openssl speed ------------------------------------------------------------------
openssl speed -seconds "$SECS" ecdsap256 ecdhp256 > speed.txt 2>/dev/null
s_sign=$(awk '/256 bits ecdsa \(nistp256\)/ { print $(NF-1) }' speed.txt | head -1)
s_vrfy=$(awk '/256 bits ecdsa \(nistp256\)/ { print $NF }' speed.txt | head -1)
s_ecdh=$(awk '/256 bits ecdh \(nistp256\)/ { print $NF }' speed.txt | head -1)

ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1fx", a / b; else print "n/a" }'; }
{
echo "# TLS benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, ${SECS}s per row)"
echo
echo "Mutual TLS 1.2, ECDHE-ECDSA-AES128-GCM-SHA256, P-256 certificates, loopback;"
echo "client and server are separate processes; each handshake is a new TCP connection."
echo
echo "| workload | Stavily (BearSSL 0.6) | OpenSSL $(openssl version | awk '{print $2}') | OpenSSL / ours |"
echo "| --- | ---: | ---: | ---: |"
echo "| full mTLS handshakes/s | ${o_full:-n/a} | ${s_full:-n/a} | $(ratio "$s_full" "$o_full") |"
echo "| resumed handshakes/s (session ID) | ${o_res:-n/a} | ${s_res:-n/a} | $(ratio "$s_res" "$o_res") |"
echo "| resumed / full | $(ratio "$o_res" "$o_full") | $(ratio "$s_res" "$s_full") | |"
echo "| P-256 ECDSA sign/s | ${o_sign:-n/a} | ${s_sign:-n/a} | $(ratio "$s_sign" "$o_sign") |"
echo "| P-256 ECDSA verify/s | ${o_vrfy:-n/a} | ${s_vrfy:-n/a} | $(ratio "$s_vrfy" "$o_vrfy") |"
echo "| P-256 ECDH/s | ${o_ecdh:-n/a} | ${s_ecdh:-n/a} | $(ratio "$s_ecdh" "$o_ecdh") |"
echo
echo "Our EC code: ${o_impl:-unknown}. Debian's BearSSL 0.6 build has no 64-bit P-256"
echo "implementation (p256_m62/m64 need a newer BearSSL), so every P-256 operation uses"
echo "31-bit limbs, while OpenSSL uses its 64-bit assembler nistz256 code: the last three"
echo "rows are that cost. A full mutual handshake costs the server one ECDHE keygen + ECDH,"
echo "one ECDSA sign and two verifies (client chain, CertificateVerify); a resumed one none."
echo "s_time counts client connections per wall-clock second (its -new/-reuse modes)."
} | tee "$top/bench/results-tls.md"

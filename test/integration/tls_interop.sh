#!/bin/bash
# TLS interop: our BearSSL server and client (through the test_tls_peer
# driver, which links the same src/tls code as the binary) against OpenSSL's
# s_client / s_server and Python's ssl module.  Certificates are made by the
# openssl CLI (EC P-256), so the peers share no code with us.
. "$(dirname "$0")/lib.sh"

PEER=${STAVILY_BUILD:-$(dirname "$STAVILY")}/test/test_tls_peer
if [ ! -x "$PEER" ]; then
    fail "tls peer driver" "missing $PEER (build the unit tests first)"
    exit 0
fi
D=$TMP/pki
mkdir -p "$D"
cd "$D" || exit 1

# --- certificates -----------------------------------------------------------
ecgen() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
mkca() { # name cn
    ecgen "$1.key"
    openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 -out "$1.pem" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    mkdir -p "$1.db"; : > "$1.db/index"; echo 01 > "$1.db/serial"
    cat > "$1.cnf" <<EOF
[ca]
default_ca = c
[c]
database = $D/$1.db/index
serial = $D/$1.db/serial
new_certs_dir = $D/$1.db
certificate = $D/$1.pem
private_key = $D/$1.key
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[p]
commonName = supplied
EOF
}
# leaf NAME CA EXTENSIONS [startdate enddate]
leaf() {
    name=$1 ca=$2 ext=$3
    ecgen "$name.key"
    openssl req -new -key "$name.key" -subj "/CN=$name" -out "$name.csr" 2>/dev/null
    printf '%b\n' "$ext" > "$name.ext"
    if [ $# -ge 5 ]; then dates="-startdate $4 -enddate $5"; else dates="-days 30"; fi
    # shellcheck disable=SC2086
    openssl ca -batch -notext -config "$ca.cnf" -in "$name.csr" -out "$name.pem" \
        -extfile "$name.ext" $dates >"$name.calog" 2>&1 || echo "ca failed for $name: $(cat "$name.calog")" >&2
}
mkca ca "Interop CA"
mkca ca2 "Other CA"
SRV="basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost"
CLI="basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://stavily.test/tenant/t1/agent/a1"
leaf srv ca "$SRV"
leaf cli ca "$CLI"
leaf cli2 ca2 "$CLI"
leaf noserverauth ca "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:localhost"
leaf expired ca "$SRV" 20200101000000Z 20200201000000Z
leaf future ca "$SRV" 20400101000000Z 20410101000000Z
openssl genrsa -out rsasrv.key 2048 2>/dev/null
openssl req -new -key rsasrv.key -subj "/CN=rsasrv" -out rsasrv.csr 2>/dev/null
printf '%b\n' "$SRV" > rsasrv.ext
openssl ca -batch -notext -config ca.cnf -in rsasrv.csr -out rsasrv.pem -extfile rsasrv.ext -days 30 >/dev/null 2>&1
for f in srv cli cli2 noserverauth expired future rsasrv; do
    [ -s "$f.pem" ] || { fail "certificates made by openssl" "$f.pem missing"; exit 0; }
done
ok "certificates made by openssl"
pin_of() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | awk '{print "sha256:" $1}'; }
CAPIN=$(pin_of ca.pem)
SRVPIN=$(pin_of srv.pem)
check "our pin format matches openssl's SPKI hash" bash -c "[[ '$CAPIN' =~ ^sha256:[0-9a-f]{64}\$ ]]"

# --- helpers ----------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# wait (bounded) for a file to become non-empty
wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }
# wait (bounded) for a pattern in a file
wait_grep() { for _ in $(seq 100); do grep -q -- "$1" "$2" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# Start our server: start_ours LOG [extra args...]; sets SPID and PORT.
start_ours() {
    log=$1; shift
    rm -f "$D/port"
    timeout 20 "$PEER" server --port-file "$D/port" "$@" >"$log" 2>&1 &
    SPID=$!
    wait_file "$D/port" || { PORT=0; return 1; }
    PORT=$(cat "$D/port")
}
stop_ours() { wait "$SPID" 2>/dev/null; }

# --- our server vs openssl s_client -------------------------------------------
sclient() { # LOG args...
    log=$1; shift
    echo ping | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost \
        -CAfile ca.pem -verify_return_error -ign_eof "$@" >"$log" 2>&1
}

start_ours "$D/s1.log" --cert srv.pem --key srv.key --ca ca.pem
sclient "$D/c1.log" -cert cli.pem -key cli.key
stop_ours
check_grep "our server + s_client with client cert: handshake" \
    '^server: ok identity=spiffe://stavily.test/tenant/t1/agent/a1 resumed=0' "$D/s1.log"
check_grep "our server + s_client: TLS 1.2 ECDHE-ECDSA AES-GCM" \
    'Cipher is ECDHE-ECDSA-AES128-GCM-SHA256' "$D/c1.log"
check_grep "our server + s_client: application data with identity" \
    '^hello spiffe://stavily.test/tenant/t1/agent/a1' "$D/c1.log"

start_ours "$D/s2.log" --cert srv.pem --key srv.key --ca ca.pem
sclient "$D/c2.log"
stop_ours
check_grep "our server refuses s_client without a client cert" \
    '^server: fail .*br_err=BR_ERR_NO_CLIENT_AUTH' "$D/s2.log"
if grep -q '^hello' "$D/c2.log"; then fail "no data without a client cert" "$(cat "$D/c2.log")"; else ok "no data without a client cert"; fi

start_ours "$D/s3.log" --cert srv.pem --key srv.key --ca ca.pem
sclient "$D/c3.log" -cert cli2.pem -key cli2.key
stop_ours
check_grep "our server refuses a client cert from another CA" \
    '^server: fail reason=unknown_ca br_err=BR_ERR_X509_NOT_TRUSTED' "$D/s3.log"

start_ours "$D/s4.log" --cert srv.pem --key srv.key --ca ca.pem
sclient "$D/c4.log" -cert cli.pem -key cli.key -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
stop_ours
check_grep "our server refuses TLS 1.1" '^server: fail .*br_err=(BR_ERR_UNSUPPORTED_VERSION|BR_ERR_BAD_VERSION|BR_ERR_SEND_FATAL_ALERT\(protocol_version\))' "$D/s4.log"

start_ours "$D/s5.log" --cert srv.pem --key srv.key --ca ca.pem
sclient "$D/c5.log" -cert cli.pem -key cli.key -tls1_3
stop_ours
check_grep "our server refuses TLS 1.3-only clients" '^server: fail ' "$D/s5.log"

start_ours "$D/s6.log" --cert srv.pem --key srv.key --ca ca.pem
sclient "$D/c6.log" -cert cli.pem -key cli.key -cipher 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA'
stop_ours
check_grep "our server refuses CBC suites" '^server: fail .*br_err=BR_ERR_BAD_CIPHER_SUITE|^server: fail ' "$D/s6.log"

start_ours "$D/s7.log" --cert srv.pem --key srv.key --ca ca.pem
sclient "$D/c7.log" -cert cli.pem -key cli.key -cipher 'ECDHE-ECDSA-CHACHA20-POLY1305'
stop_ours
check_grep "our server + s_client: ChaCha20-Poly1305" 'Cipher is ECDHE-ECDSA-CHACHA20-POLY1305' "$D/c7.log"

start_ours "$D/s8.log" --cert rsasrv.pem --key rsasrv.key --ca ca.pem
sclient "$D/c8.log" -cert cli.pem -key cli.key
stop_ours
check_grep "our server with an RSA key: ECDHE-RSA" 'Cipher is ECDHE-RSA-AES128-GCM-SHA256' "$D/c8.log"

# session resumption with s_client -reconnect (5 reconnects after the first)
start_ours "$D/s9.log" --cert srv.pem --key srv.key --ca ca.pem --accept 6
sclient "$D/c9.log" -cert cli.pem -key cli.key -reconnect
stop_ours
# (s_client sends close_notify right behind its Finished on reconnects: the
# server must still report the established, resumed connection.)
n=$(grep -c '^Reused, TLSv1.2' "$D/c9.log")
m=$(grep -c '^server: ok identity=spiffe://stavily.test/tenant/t1/agent/a1 resumed=1' "$D/s9.log")
if [ "$n" -ge 5 ] && [ "$m" -ge 5 ] && ! grep -q 'resumed=0' <(tail -n +2 "$D/s9.log"); then ok "our server resumes sessions and keeps the identity"; else fail "our server resumes sessions and keeps the identity" "$n/$m resumed: $(cat "$D/s9.log")"; fi

# --- Python's ssl module as a client ------------------------------------------
pyclient() { # with_cert(0|1)
    python3 - "$PORT" "$1" <<'EOF'
import socket, ssl, sys
port, with_cert = int(sys.argv[1]), sys.argv[2] == "1"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations("ca.pem")
if with_cert:
    ctx.load_cert_chain("cli.pem", "cli.key")
try:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(b"ping\n")
            data = t.recv(256)
            if not data:
                raise ssl.SSLError("no data")
            print("py: ok", t.version(), t.cipher()[0], data.decode().strip())
except (ssl.SSLError, OSError) as e:
    print("py: fail", type(e).__name__, e)
EOF
}
start_ours "$D/s10.log" --cert srv.pem --key srv.key --ca ca.pem
pyclient 1 >"$D/p10.log" 2>&1
stop_ours
check_grep "python ssl client with cert: works" '^py: ok TLSv1.2 .*hello spiffe://stavily.test/tenant/t1/agent/a1' "$D/p10.log"
start_ours "$D/s11.log" --cert srv.pem --key srv.key --ca ca.pem
pyclient 0 >"$D/p11.log" 2>&1
stop_ours
check_grep "python ssl client without cert: refused" '^py: fail' "$D/p11.log"
check_grep "python ssl client without cert: server says why" 'BR_ERR_NO_CLIENT_AUTH' "$D/s11.log"

# --- our client vs openssl s_server -Verify 1 ------------------------------------
# s_server stops when its stdin reaches EOF (even with -ign_eof while
# accepting): give it a FIFO that this shell holds open for writing.
mkfifo "$D/stdin.fifo"
exec 7<>"$D/stdin.fifo"
# sserver LOG CERT KEY [naccept]; sets SSPID and PORT
sserver() {
    PORT=$(free_port)
    rm -f "$1"   # so wait_grep cannot see the previous run's ACCEPT
    timeout 20 openssl s_server -accept "127.0.0.1:$PORT" -cert "$2" -key "$3" -CAfile ca.pem \
        -Verify 1 -verify_return_error -naccept "${4:-1}" >"$1" 2>&1 <&7 &
    SSPID=$!
    wait_grep ACCEPT "$1"
}
# SSPID is the `timeout` wrapper, which does not pass a TERM on to its
# child: stop s_server itself (by parent pid), then reap the wrapper.  If
# this script dies, the wrapper still ends s_server after 20 s.
stop_sserver() {
    pkill -TERM -P "$SSPID" 2>/dev/null
    kill "$SSPID" 2>/dev/null
    wait "$SSPID" 2>/dev/null
}
ours() { timeout 15 "$PEER" client --ca "${CA:-ca.pem}" --host 127.0.0.1 --port "$PORT" \
    --name "${NAME:-localhost}" --cert cli.pem --key cli.key "$@"; }
# client_case NAME SERVERCERT SERVERKEY EXPECT_REGEX [client args...]
client_case() {
    name=$1 scert=$2 skey=$3 want=$4; shift 4
    sserver "$D/ss.log" "$scert" "$skey"
    ours "$@" >"$D/oc.log" 2>&1
    stop_sserver
    check_grep "$name" "$want" "$D/oc.log"
}
client_case "our client + s_server -Verify 1: right CA pin works" srv.pem srv.key \
    '^client: ok resumed=0 suite=0xc02b' --pin "$CAPIN"
client_case "our client: leaf pin works too" srv.pem srv.key '^client: ok' --pin "$SRVPIN"
client_case "our client refuses a wrong pin" srv.pem srv.key \
    '^client: fail reason=pin_mismatch br_err=TLS_ERR_PIN_MISMATCH' \
    --pin sha256:1111111111111111111111111111111111111111111111111111111111111111
NAME=wrong.example client_case "our client refuses a wrong host name" srv.pem srv.key \
    '^client: fail reason=hostname_mismatch br_err=BR_ERR_X509_BAD_SERVER_NAME' --pin "$CAPIN"
client_case "our client refuses an expired certificate" expired.pem expired.key \
    '^client: fail reason=expired br_err=BR_ERR_X509_EXPIRED' --pin "$CAPIN"
client_case "our client refuses a not-yet-valid certificate" future.pem future.key \
    '^client: fail reason=not_yet_valid br_err=TLS_ERR_NOT_YET_VALID' --pin "$CAPIN"
CA=ca2.pem client_case "our client refuses an unknown CA" srv.pem srv.key \
    '^client: fail reason=unknown_ca br_err=BR_ERR_X509_NOT_TRUSTED'
client_case "our client refuses a certificate without serverAuth" noserverauth.pem noserverauth.key \
    '^client: fail reason=wrong_eku br_err=TLS_ERR_WRONG_EKU' --pin "$CAPIN"

# resumption across reconnects against OpenSSL
sserver "$D/ss.log" srv.pem srv.key 2
ours --pin "$CAPIN" --connects 2 >"$D/oc.log" 2>&1
stop_sserver
check_grep "our client resumes the session with s_server" '^client: ok resumed=1' "$D/oc.log"

# our client and our server
start_ours "$D/s12.log" --cert srv.pem --key srv.key --ca ca.pem --accept 2
ours --pin "$CAPIN" --connects 2 --read >"$D/oc12.log" 2>&1
stop_ours
check_grep "our client + our server: resumed, identity kept" \
    '^server: ok identity=spiffe://stavily.test/tenant/t1/agent/a1 resumed=1' "$D/s12.log"
check_grep "our client + our server: data" '^client: got hello spiffe://' "$D/oc12.log"
exec 7>&-
# (when the peer driver is a sanitizer build, its reports land in the logs)
if grep -l -E 'Sanitizer|runtime error' "$D"/*.log >/dev/null 2>&1; then
    fail "no sanitizer reports from our peers" "$(grep -l -E 'Sanitizer|runtime error' "$D"/*.log)"
else
    ok "no sanitizer reports from our peers"
fi
exit 0

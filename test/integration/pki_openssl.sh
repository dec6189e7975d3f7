# PKI interop with OpenSSL: our CA, CSRs, certificates and pins against
# `openssl verify`, `openssl x509 -text`, `openssl req -verify`, and an
# OpenSSL-made CSR signed by our CA.  Also the `cert verify` failure reasons.
. "$(dirname "$0")/lib.sh"

S=$STAVILY
cd "$TMP" || exit 1

# --- CA --------------------------------------------------------------------
"$S" cert ca-init --out ca --cn "Stavily Test CA" >ca.pin 2>ca.err
rc=$?
[ $rc = 0 ] && ok "ca-init exits 0" || fail "ca-init exits 0" "exit $rc: $(cat ca.err)"
[ -s ca/ca.pem ] && [ -s ca/ca.key ] && ok "ca-init writes ca.pem and ca.key" || fail "ca-init writes ca.pem and ca.key" "$(cat ca.err)"
[ "$(stat -c %a ca/ca.key)" = 600 ] && ok "CA key file is 0600" || fail "CA key file is 0600" "$(stat -c %a ca/ca.key)"
[ "$(stat -c %a ca)" = 700 ] && ok "CA directory is 0700" || fail "CA directory is 0700" "$(stat -c %a ca)"
check "openssl reads our PKCS#8 CA key" openssl pkey -in ca/ca.key -noout
cp ca/ca.key ca.key.before
check_exit "ca-init refuses to replace an existing CA" 1 "$S" cert ca-init --out ca
cmp -s ca/ca.key ca.key.before && ok "existing CA key untouched" || fail "existing CA key untouched"
check "openssl verify accepts the self-signed CA" openssl verify -CAfile ca/ca.pem ca/ca.pem
openssl x509 -in ca/ca.pem -noout -text >ca.txt 2>&1
check_grep "CA: ecdsa-with-SHA256" "Signature Algorithm: ecdsa-with-SHA256" ca.txt
check_grep "CA: P-256 key" "NIST CURVE: P-256" ca.txt
check_grep "CA: basicConstraints critical" "Basic Constraints: critical" ca.txt
check_grep "CA: CA:TRUE" "CA:TRUE" ca.txt
check_grep "CA: keyUsage critical" "Key Usage: critical" ca.txt
check_grep "CA: keyCertSign + cRLSign" "Certificate Sign, CRL Sign" ca.txt
check_grep "CA: subject key identifier" "Subject Key Identifier" ca.txt
check_grep "CA: version 3" "Version: 3" ca.txt

# --- pin equals openssl's ------------------------------------------------------
want="sha256:$(openssl x509 -in ca/ca.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)"
got=$("$S" cert pin ca/ca.pem)
[ "$got" = "$want" ] && ok "cert pin equals openssl's SPKI sha256" || fail "cert pin equals openssl's SPKI sha256" "$got vs $want"
[ "$(cat ca.pin)" = "$want" ] && ok "ca-init prints the CA pin" || fail "ca-init prints the CA pin" "$(cat ca.pin)"
openssl x509 -in ca/ca.pem -outform DER -out ca.der
[ "$("$S" cert pin ca.der)" = "$want" ] && ok "cert pin reads DER too" || fail "cert pin reads DER too"

# --- our key + CSR -> openssl req -verify ------------------------------------------
URI=spiffe://stavily.test/tenant/acme/agent/agent-001
check "cert key" "$S" cert key --out agent.key
[ "$(stat -c %a agent.key)" = 600 ] && ok "agent key file is 0600" || fail "agent key file is 0600"
check "cert csr" "$S" cert csr --key agent.key --cn agent-001 --dns agent.example --ip 192.0.2.7 --uri "$URI" --out agent.csr
check "openssl req -verify accepts our CSR" openssl req -in agent.csr -verify -noout
openssl req -in agent.csr -noout -text >csr.txt 2>&1
check_grep "CSR: requested SAN URI" "URI:$URI" csr.txt
check_grep "CSR: requested SAN IP" "IP Address:192.0.2.7" csr.txt
check_grep "CSR: subject CN" "Subject: CN ?= ?agent-001" csr.txt

# --- leaf certificates from our CA -------------------------------------------------
check "issue client certificate" "$S" cert issue --ca-dir ca --csr agent.csr --profile client --out client.pem
check "openssl verify accepts our client certificate" openssl verify -CAfile ca/ca.pem -purpose sslclient client.pem
openssl x509 -in client.pem -noout -text >client.txt 2>&1
check_grep "client: basicConstraints critical" "Basic Constraints: critical" client.txt
check_grep "client: CA:FALSE" "CA:FALSE" client.txt
check_grep "client: keyUsage critical digitalSignature" "Key Usage: critical" client.txt
check_grep "client: Digital Signature" "Digital Signature" client.txt
if grep -q "Extended Key Usage: critical" client.txt; then fail "client: EKU not critical"; else ok "client: EKU not critical"; fi
check_grep "client: EKU clientAuth" "TLS Web Client Authentication" client.txt
check_grep "client: SKI" "Subject Key Identifier" client.txt
check_grep "client: AKI" "Authority Key Identifier" client.txt
check_grep "client: SAN URI identity" "URI:$URI" client.txt
check_grep "client: SAN DNS" "DNS:agent.example" client.txt
check_grep "client: issuer is our CA" "Issuer: CN ?= ?Stavily Test CA" client.txt
serial=$(openssl x509 -in client.pem -noout -serial | cut -d= -f2)
# 128 random bits: 32 hex digits (fewer only when the top octets are zero,
# chance 2^-8 per octet), positive by construction.
[ ${#serial} -ge 28 ] && [ ${#serial} -le 32 ] && ok "serial is ~128 bits" || fail "serial is ~128 bits" "$serial"
ca_ski=$(openssl x509 -in ca/ca.pem -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')
leaf_aki=$(openssl x509 -in client.pem -noout -ext authorityKeyIdentifier | tail -1 | tr -d ' ' | sed 's/^keyid://')
[ -n "$ca_ski" ] && [ "$ca_ski" = "$leaf_aki" ] && ok "leaf AKI equals CA SKI" || fail "leaf AKI equals CA SKI" "$ca_ski vs $leaf_aki"
nb=$(date -d "$(openssl x509 -in client.pem -noout -startdate | cut -d= -f2)" +%s)
now=$(date +%s)
d=$((now - nb))
[ $d -ge 290 ] && [ $d -le 400 ] && ok "notBefore backdated ~5 minutes" || fail "notBefore backdated ~5 minutes" "$d s"

check "issue server certificate" "$S" cert issue --ca-dir ca --csr agent.csr --profile server --dns localhost --ip 127.0.0.1 --out server.pem
check "openssl verify -purpose sslserver accepts our server certificate" openssl verify -CAfile ca/ca.pem -purpose sslserver server.pem
openssl x509 -in server.pem -noout -text >server.txt 2>&1
check_grep "server: EKU serverAuth" "TLS Web Server Authentication" server.txt
check_grep "server: SAN from the options" "DNS:localhost, IP Address:127.0.0.1" server.txt
check_exit "openssl refuses our server cert as a client cert" 2 openssl verify -CAfile ca/ca.pem -purpose sslclient server.pem

# --- OpenSSL-made CSR signed by our CA ------------------------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout o.key -subj "/CN=openssl-agent" \
    -addext "subjectAltName=DNS:o.example,IP:10.0.0.1" -out o.csr 2>/dev/null
check "our CA accepts an openssl req CSR" "$S" cert issue --ca-dir ca --csr o.csr --profile client --out o.pem
check "the result passes openssl verify" openssl verify -CAfile ca/ca.pem o.pem
"$S" cert show o.csr >ocsr.txt 2>&1
check_grep "cert show reads the openssl CSR's SANs" "IP:10.0.0.1" ocsr.txt
openssl x509 -in o.pem -noout -text >o.txt
check_grep "SANs copied from the openssl CSR" "DNS:o.example, IP Address:10.0.0.1" o.txt
# Keys written by openssl in SEC1 form are read too.
openssl ec -in o.key -out o-sec1.key 2>/dev/null
check "cert csr reads a SEC1 EC PRIVATE KEY" "$S" cert csr --key o-sec1.key --cn sec1 --out sec1.csr
check "... and openssl accepts that CSR" openssl req -in sec1.csr -verify -noout
# A CSR whose signature is broken is refused.
openssl req -in o.csr -outform DER -out o.csr.der
python3 - o.csr.der <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[-1] ^= 1; open(sys.argv[1], 'wb').write(b)
PY
check_exit "a CSR with a bad self-signature is refused" 1 "$S" cert issue --ca-dir ca --csr o.csr.der --profile client --out bad.pem
# An RSA CSR is refused (our CA issues only for P-256 keys).
openssl req -new -newkey rsa:2048 -nodes -keyout r.key -subj "/CN=rsa" -out r.csr 2>/dev/null
check_exit "an RSA CSR is refused" 1 "$S" cert issue --ca-dir ca --csr r.csr --profile client --out r.pem

# --- cert verify ---------------------------------------------------------------
check_exit "cert verify: good client certificate" 0 "$S" cert verify --ca ca/ca.pem --purpose client client.pem
check_exit "cert verify: wrong purpose fails" 1 "$S" cert verify --ca ca/ca.pem --purpose server client.pem
check_grep "cert verify: reason wrong_eku" "wrong_eku" "$TMP/.out"
"$S" cert ca-init --out other --cn "Other CA" >/dev/null
check_exit "cert verify: other CA fails" 1 "$S" cert verify --ca other/ca.pem client.pem
check_grep "cert verify: reason unknown_ca" "unknown_ca" "$TMP/.out"
check_exit "cert verify: our verifier also refuses it under openssl" 2 openssl verify -CAfile other/ca.pem client.pem
openssl x509 -in client.pem -outform DER -out flip.der
python3 - flip.der <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[-1] ^= 0x01; open(sys.argv[1], 'wb').write(b)
PY
openssl x509 -inform DER -in flip.der -out flip.pem 2>/dev/null
check_exit "cert verify: flipped signature byte fails" 1 "$S" cert verify --ca ca/ca.pem flip.pem
check_grep "cert verify: reason bad_signature" "bad_signature" "$TMP/.out"
check_exit "openssl agrees the flipped certificate is bad" 2 openssl verify -CAfile ca/ca.pem flip.pem
now=$(date +%s)
check "issue an expired certificate" "$S" cert issue --ca-dir ca --csr agent.csr --profile client \
    --not-before $((now - 10 * 86400)) --not-after $((now - 86400)) --out expired.pem
check_exit "cert verify: expired" 1 "$S" cert verify --ca ca/ca.pem expired.pem
check_grep "cert verify: reason expired" "verification failed: expired" "$TMP/.out"
check "issue a not-yet-valid certificate" "$S" cert issue --ca-dir ca --csr agent.csr --profile client \
    --not-before $((now + 86400)) --not-after $((now + 10 * 86400)) --out future.pem
check_exit "cert verify: not yet valid" 1 "$S" cert verify --ca ca/ca.pem future.pem
check_grep "cert verify: reason not_yet_valid" "not_yet_valid" "$TMP/.out"
check_exit "cert verify --at inside the window passes" 0 "$S" cert verify --ca ca/ca.pem --at $((now + 2 * 86400)) future.pem
check_exit "openssl also calls it not yet valid" 2 openssl verify -CAfile ca/ca.pem future.pem
# An OpenSSL CA's certificates are checked by our verifier too.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout oca.key -subj "/CN=OpenSSL CA" \
    -days 2 -out oca.pem -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl x509 -req -in agent.csr -CA oca.pem -CAkey oca.key -CAcreateserial -days 1 -out ocl.pem \
    -extfile <(printf 'extendedKeyUsage=clientAuth\n') 2>/dev/null
check_exit "cert verify accepts an OpenSSL CA's leaf" 0 "$S" cert verify --ca oca.pem --purpose client ocl.pem
[ "$("$S" cert pin ocl.pem)" = "$("$S" cert pin client.pem)" ] && ok "pin depends only on the key" || fail "pin depends only on the key"

# Inspection and verification need no privileges.
cp ca/ca.pem ca-public.pem && chmod 644 ca-public.pem client.pem
check "cert verify works as nobody" as_nobody "$S" cert verify --ca ca-public.pem --purpose client client.pem
check_exit "nobody cannot read the CA key" 1 as_nobody "$S" cert issue --ca-dir ca --csr agent.csr --profile client --out /dev/null

# --- garbage in -----------------------------------------------------------------
printf 'not a certificate\n' >junk.pem
check_exit "cert show: junk fails with 1" 1 "$S" cert show junk.pem
check_exit "cert pin: missing file fails with 1" 1 "$S" cert pin nonexistent.pem
check_exit "cert verify without --ca is a usage error" 64 "$S" cert verify client.pem
check_exit "cert: unknown subcommand is a usage error" 64 "$S" cert frob
"$S" cert show --json client.pem >show.json
python3 -c 'import json,sys; d=json.load(open("show.json")); assert d["ext_key_usage"]=="clientAuth" and d["pin"].startswith("sha256:") and any(s.startswith("URI:spiffe://") for s in d["san"])' \
    && ok "cert show --json is JSON with EKU, pin and SANs" || fail "cert show --json is JSON with EKU, pin and SANs"

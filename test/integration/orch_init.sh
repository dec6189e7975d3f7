# `stavily orchestrator init`: files and modes, the server certificate against
# openssl, the printed pin, the starter configuration, refusal to overwrite.
. "$(dirname "$0")/lib.sh"

S=$STAVILY
cd "$TMP" || exit 1

umask 022
mkdir -p loose && chmod 755 loose
"$S" orchestrator init -d loose/state --name orch.example.test --san 127.0.0.1 --san alt.example.test \
    --trust-domain corp.example >pin.out 2>init.err
rc=$?
[ $rc = 0 ] && ok "init exits 0" || fail "init exits 0" "exit $rc: $(cat init.err)"
D=loose/state
grep -Eqx 'sha256:[0-9a-f]{64}' pin.out && ok "init prints sha256:<hex>" || fail "init prints sha256:<hex>" "$(cat pin.out)"
[ "$(cat pin.out)" = "$("$S" cert pin $D/ca.pem)" ] && ok "pin equals cert pin of the CA" \
    || fail "pin equals cert pin of the CA" "$(cat pin.out) vs $("$S" cert pin $D/ca.pem)"
want="sha256:$(openssl x509 -in $D/ca.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)"
[ "$(cat pin.out)" = "$want" ] && ok "pin equals openssl's SPKI sha256" || fail "pin equals openssl's SPKI sha256" "$want"
[ "$(stat -c %a $D)" = 700 ] && ok "state dir 0700" || fail "state dir 0700" "$(stat -c %a $D)"
for f in ca.key server.key orchestrator.yaml; do
    [ "$(stat -c %a $D/$f)" = 600 ] && ok "$f is 0600" || fail "$f is 0600" "$(stat -c %a $D/$f 2>&1)"
done
check "openssl reads the CA key" openssl pkey -in $D/ca.key -noout
openssl x509 -in $D/ca.pem -noout -text >ca.txt 2>&1
check_grep "CA is EC P-256" "NIST CURVE: P-256" ca.txt
check_grep "CA is a CA" "CA:TRUE" ca.txt
check "openssl verify: server certificate against the CA" openssl verify -CAfile $D/ca.pem -purpose sslserver $D/server.pem
openssl x509 -in $D/server.pem -noout -text >srv.txt 2>&1
check_grep "server cert: serverAuth" "TLS Web Server Authentication" srv.txt
check_grep "server cert: DNS --name SAN" "DNS:orch.example.test" srv.txt
check_grep "server cert: IP --san" "IP Address:127.0.0.1" srv.txt
check_grep "server cert: DNS --san" "DNS:alt.example.test" srv.txt
[ "$(grep -c 'BEGIN CERTIFICATE' $D/server.pem)" = 2 ] && ok "server.pem holds leaf and CA" || fail "server.pem holds leaf and CA"
a=$(openssl x509 -in $D/server.pem -noout -pubkey); b=$(openssl pkey -in $D/server.key -pubout)
[ -n "$a" ] && [ "$a" = "$b" ] && ok "server key matches its certificate" || fail "server key matches its certificate"
check "config check accepts the starter orchestrator.yaml" "$S" config check $D/orchestrator.yaml
check_grep "starter config has the trust domain" 'trust_domain: "corp.example"' $D/orchestrator.yaml
check_grep "starter config has the absolute state dir" "state_dir: \"$TMP/$D\"" $D/orchestrator.yaml

cp $D/ca.key ca.key.before; cp $D/server.pem server.before
check_exit "init refuses to overwrite an existing CA (exit 1)" 1 "$S" orchestrator init -d $D --name other.test
grep -q "already exists" "$TMP/.out" && ok "refusal says why" || fail "refusal says why" "$(cat "$TMP/.out")"
cmp -s $D/ca.key ca.key.before && cmp -s $D/server.pem server.before && ok "existing files untouched" \
    || fail "existing files untouched"

check_exit "init without --name is a usage error" 64 "$S" orchestrator init -d x2
check_exit "init with a bad --san is a usage error" 64 "$S" orchestrator init -d x3 --name ok.test --san 'bad name!'
check_exit "init with a bad --trust-domain is a usage error" 64 "$S" orchestrator init -d x4 --name ok.test --trust-domain 'a/b'
[ ! -e x3/ca.key ] && [ ! -e x4/ca.key ] && ok "refused inits leave no CA" || fail "refused inits leave no CA"
"$S" orchestrator --help | grep -q "^usage: stavily orchestrator" && ok "orchestrator --help" || fail "orchestrator --help"
"$S" ctl --help | grep -q "^usage: stavily ctl" && ok "ctl --help" || fail "ctl --help"

# --- run refuses to start without what init makes --------------------------------
check_exit "run with a missing configuration exits 78" 78 "$S" orchestrator run -c nosuch.yaml
mkdir -p empty && chmod 700 empty
sed "s#state_dir: \"$TMP/$D\"#state_dir: \"$TMP/empty\"#" $D/orchestrator.yaml > empty.yaml
check_exit "run without a CA in the state dir exits 1" 1 "$S" orchestrator run -c empty.yaml
grep -q "orchestrator init" "$TMP/.out" && ok "and says to run init" || fail "and says to run init" "$(cat "$TMP/.out")"
printf 'orchestrator:\n  listen_enroll: "nohost"\n' > bad.yaml
check_exit "run with an invalid listen address exits 78" 78 "$S" orchestrator run -c bad.yaml

# --- unprivileged: init and run as uid 65534; the admin socket keeps other users out --
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
mkdir -p nb && chown 65534:65534 nb
as_nobody "$S" orchestrator init -d "$TMP/nb/s" --name localhost >/dev/null 2>nb.err \
    && ok "init as uid 65534" || fail "init as uid 65534" "$(cat nb.err)"
# setpriv directly (not the as_nobody function) so that $! is the server itself
setpriv --reuid=65534 --regid=65534 --clear-groups "$S" orchestrator run -c "$TMP/nb/s/orchestrator.yaml" \
    --set orchestrator.listen_enroll=127.0.0.1:$(free_port) \
    --set orchestrator.listen_agent=127.0.0.1:$(free_port) >nb.run 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null; rm -rf "$TMP"' EXIT INT TERM
for i in $(seq 1 100); do [ -S nb/s/admin.sock ] && break; sleep 0.05; done
[ "$(stat -c '%a %u' nb/s/admin.sock 2>&1)" = "600 65534" ] && ok "admin socket 0600, owned by the orchestrator's uid" \
    || fail "admin socket 0600, owned by the orchestrator's uid" "$(stat -c '%a %u' nb/s/admin.sock 2>&1) $(cat nb.run)"
check "ctl as the same uid works" as_nobody "$S" ctl -S "$TMP/nb/s/admin.sock" tenant add t1
chmod 755 nb nb/s   # let another uid reach the socket file itself
check_exit "ctl as another uid is refused by the socket permissions" 1 \
    setpriv --reuid=65533 --regid=65533 --clear-groups "$S" ctl -S "$TMP/nb/s/admin.sock" tenant list
grep -q "Permission denied" "$TMP/.out" && ok "refusal is EACCES" || fail "refusal is EACCES" "$(cat "$TMP/.out")"
kill -TERM $pid
for i in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
kill -0 $pid 2>/dev/null && { kill -9 $pid; fail "unprivileged orchestrator stops on SIGTERM"; } || ok "unprivileged orchestrator stops on SIGTERM"
wait $pid 2>/dev/null

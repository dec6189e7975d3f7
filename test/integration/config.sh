# Black-box tests of `stavily config check|show` (issue 2, section 3).
. "$(dirname "$0")/lib.sh"
top=${STAVILY_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}

# The sample configurations are valid.
for f in agent.yaml agent.ini orchestrator.yaml; do
    check_exit "config check configs/$f exits 0" 0 "$STAVILY" config check "$top/configs/$f"
done
"$STAVILY" config check "$top/configs/agent.yaml" >"$TMP/ok.out" 2>&1
check_grep "config check prints FILE: ok" "agent.yaml: ok$" "$TMP/ok.out"

# The brief's YAML exactly as written in issue 2 is valid configuration.
cat >"$TMP/brief.yaml" <<'YAML'
authentication_methods:
  agents:
    primary: "mTLS with client certificates"
    secondary: "Basic auth for initial registration"
    certificate_rotation: "Automatic 90-day rotation"
security:
  agent_auth:
    require_tls: true
    validate_hostname: true
    max_failed_attempts: 5
sandbox:
  memory_limit: 256MB
  cpu_limit: 0.5
  network_access: restricted
  filesystem_access:
    - /tmp
    - /var/log/stavily
  allowed_syscalls:
    - read
    - write
    - open
    - close
    - stat
  blocked_syscalls:
    - exec
    - fork
    - socket
    - bind
encryption_in_transit:
  agent_communication:
    protocol: "mTLS with client certificates"
    validation: "Certificate pinning and validation"
    fallback: "No fallback to unencrypted communication"
detection_rules:
  authentication_anomalies:
    - "Multiple failed authentication attempts"
    - "Certificate validation failures"
    - "Unusual connection patterns"
  sandbox_violations:
    - "Resource limit exceedances"
    - "Blocked system call attempts"
    - "Unauthorized filesystem access"
  communication_anomalies:
    - "TLS handshake failures"
    - "Certificate expiry warnings"
    - "Connection timeout patterns"
YAML
check_exit "the brief's YAML exactly as written: exit 0" 0 "$STAVILY" config check "$TMP/brief.yaml"
"$STAVILY" config show "$TMP/brief.yaml" >"$TMP/brief.json" 2>&1
check_grep "brief: 90-day rotation = 90d certificate lifetime" '"certificate_rotation":[[:space:]]*"90d"' "$TMP/brief.json"
check_grep "brief: 256MB = 256000000 bytes" '"memory_limit":[[:space:]]*256000000' "$TMP/brief.json"
check_grep "brief: detection sentences enable the rules" '"blocked_syscall_attempt"' "$TMP/brief.json"

# require_tls: false is an insecure value: exit 78 with FILE:LINE:.
sed 's/require_tls: true/require_tls: false/' "$TMP/brief.yaml" >"$TMP/notls.yaml"
check_exit "require_tls: false exits 78" 78 "$STAVILY" config check "$TMP/notls.yaml"
"$STAVILY" config check "$TMP/notls.yaml" >"$TMP/notls.out" 2>"$TMP/notls.err"
check_grep "require_tls: false reported as FILE:LINE: on stderr" "^$TMP/notls.yaml:8: .*insecure" "$TMP/notls.err"
if [ -s "$TMP/notls.out" ]; then fail "errors go to stderr only" "$(head -c 300 "$TMP/notls.out")"; else ok "errors go to stderr only"; fi

# Same in INI.
printf '[security.agent_auth]\nrequire_tls = false\n' >"$TMP/notls.ini"
"$STAVILY" config check "$TMP/notls.ini" 2>"$TMP/notls-ini.err"
r=$?
if [ $r = 78 ] && grep -q "^$TMP/notls.ini:2: " "$TMP/notls-ini.err"; then ok "INI require_tls = false: 78 with FILE:LINE:"; else fail "INI require_tls = false: 78 with FILE:LINE:" "exit $r: $(cat "$TMP/notls-ini.err")"; fi

# A fallback to plaintext is insecure.
sed 's/"No fallback to unencrypted communication"/"Fallback to plaintext"/' "$TMP/brief.yaml" >"$TMP/fallback.yaml"
"$STAVILY" config check "$TMP/fallback.yaml" 2>"$TMP/fallback.err"
r=$?
if [ $r = 78 ] && grep -q ":33: .*insecure" "$TMP/fallback.err"; then ok "fallback to plaintext rejected"; else fail "fallback to plaintext rejected" "exit $r: $(cat "$TMP/fallback.err")"; fi

# Unknown key with a suggestion; every error is reported, not only the first.
printf 'sandbox:\n  memory_limt: 1MB\n  cpu_limit: lots\nagent:\n  orchestrator_url: http://orch.example:8444\n' >"$TMP/many.yaml"
"$STAVILY" config check "$TMP/many.yaml" 2>"$TMP/many.err"
r=$?
if [ $r = 78 ]; then ok "several errors: exit 78"; else fail "several errors: exit 78" "exit $r"; fi
check_grep "unknown key with did-you-mean" "^$TMP/many.yaml:2: unknown key 'sandbox.memory_limt' \(did you mean 'sandbox.memory_limit'\?\)" "$TMP/many.err"
check_grep "wrong type reported" "^$TMP/many.yaml:3: sandbox.cpu_limit: invalid fraction" "$TMP/many.err"
check_grep "http:// URL rejected as insecure" "^$TMP/many.yaml:5: agent.orchestrator_url: .*insecure value: plaintext http://" "$TMP/many.err"
n=$(wc -l <"$TMP/many.err")
if [ "$n" = 3 ]; then ok "all three errors reported"; else fail "all three errors reported" "$n lines: $(cat "$TMP/many.err")"; fi

# YAML syntax outside the subset names the line.
printf 'a: 1\nb: &anchor 2\n' >"$TMP/anchor.yaml"
"$STAVILY" config check "$TMP/anchor.yaml" 2>"$TMP/anchor.err"
check_grep "anchor rejected with FILE:LINE:" "^$TMP/anchor.yaml:2: anchors" "$TMP/anchor.err"
printf 'a:\n\tb: 1\n' >"$TMP/tab.yaml"
check_exit "tab in indentation: exit 78" 78 "$STAVILY" config check "$TMP/tab.yaml"

# config show: effective JSON, defaults filled, secrets redacted.
secret="tok-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf 'agent:\n  token: "%s"\n  id: a1\n' "$secret" >"$TMP/secret.yaml"
"$STAVILY" config show "$TMP/secret.yaml" >"$TMP/show.json" 2>"$TMP/show.err"
r=$?
if [ $r = 0 ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/show.json" 2>/dev/null; then ok "config show prints valid JSON"; else fail "config show prints valid JSON" "exit $r"; fi
if grep -q "$secret" "$TMP/show.json" "$TMP/show.err"; then fail "config show redacts the token"; else ok "config show redacts the token"; fi
check_grep "token shown as <redacted>" '"token":[[:space:]]*"<redacted>"' "$TMP/show.json"
check_grep "defaults filled in (wall_timeout 1m)" '"wall_timeout":[[:space:]]*"1m"' "$TMP/show.json"
"$STAVILY" config check --set "agent.token=$secret" --set sandbox.bogus=1 "$TMP/secret.yaml" >"$TMP/set.out" 2>&1
if grep -q "$secret" "$TMP/set.out"; then fail "--set token never echoed"; else ok "--set token never echoed"; fi
check_grep "--set errors read '--set: message'" "^--set: unknown key 'sandbox.bogus'" "$TMP/set.out"
check_exit "config show with errors exits 78" 78 "$STAVILY" config show "$TMP/notls.yaml"

# agent.yaml and agent.ini load identically.
"$STAVILY" config show "$top/configs/agent.yaml" >"$TMP/agent-yaml.json" 2>&1
"$STAVILY" config show "$top/configs/agent.ini" >"$TMP/agent-ini.json" 2>&1
if [ -s "$TMP/agent-yaml.json" ] && cmp -s "$TMP/agent-yaml.json" "$TMP/agent-ini.json"; then
    ok "agent.yaml and agent.ini give the same effective config"
else
    fail "agent.yaml and agent.ini give the same effective config" "$(diff "$TMP/agent-yaml.json" "$TMP/agent-ini.json" | head -20)"
fi

# Usage.
check_exit "config without a command: exit 64" 64 "$STAVILY" config
check_exit "config check without FILE: exit 64" 64 "$STAVILY" config check
check_exit "config with an unknown command: exit 64" 64 "$STAVILY" config frob x
check_exit "config check with an unknown option: exit 64" 64 "$STAVILY" config check --frob x.yaml
check_exit "config check missing file: exit 78" 78 "$STAVILY" config check "$TMP/nope.yaml"
"$STAVILY" config --help >"$TMP/help" 2>&1
check_grep "config --help prints usage" "^usage: stavily config" "$TMP/help"

# Runs unprivileged too.
chmod 644 "$TMP/brief.yaml"
check_exit "config check as nobody" 0 as_nobody "$STAVILY" config check "$TMP/brief.yaml"

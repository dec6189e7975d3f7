#!/bin/bash
# ship_systemd.sh: configs/systemd/*.service pass `systemd-analyze verify`
# (copied into a temp dir with ExecStart pointing at the built binary, which
# verify requires to exist), carry the hardening issue 7 asks for, the
# agent's bounding set is exactly the spawner's PRIVSEP_SPAWNER_CAPS, and the
# `systemd-analyze security` exposure scores recorded in docs/security.md are
# current.
. "$(dirname "$0")/lib.sh"
top=${STAVILY_TOP:?}
units="stavily-agent.service stavily-orchestrator.service"

if ! command -v systemd-analyze >/dev/null; then
    fail "systemd-analyze available" "apt-get install systemd"; exit 0
fi
for u in $units; do
    sed "s|/usr/local/bin/stavily|$STAVILY|g" "$top/configs/systemd/$u" >"$TMP/$u"
done
(cd "$TMP" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify ./stavily-agent.service ./stavily-orchestrator.service) \
    >"$TMP/verify.txt" 2>&1
rc=$?
# verify exits 0 on warnings too: any output about our units is a finding.
if [ $rc = 0 ] && ! grep -q 'stavily' "$TMP/verify.txt"; then ok "systemd-analyze verify passes on both units"
else fail "systemd-analyze verify passes on both units" "rc=$rc $(head -c 600 "$TMP/verify.txt")"; fi

for u in $units; do
    f=$top/configs/systemd/$u
    for want in '^NoNewPrivileges=yes' '^ProtectSystem=strict' '^ProtectHome=yes' '^PrivateTmp=yes' \
                '^SystemCallArchitectures=native' '^StateDirectory=stavily/' '^LogsDirectory=stavily' \
                '^CapabilityBoundingSet=' '^AmbientCapabilities=$' '^UMask=0077' '^LimitCORE=0' \
                '^ProtectKernelModules=yes' '^RestrictSUIDSGID=yes' '^LockPersonality=yes'; do
        check_grep "$u: $want" "$want" "$f"
    done
    check_grep "$u: ExecStart runs the stavily binary" "^ExecStart=/usr/local/bin/stavily (agent|orchestrator) run -c /etc/stavily/" "$f"
done
o=$top/configs/systemd/stavily-orchestrator.service
check_grep "orchestrator: empty capability bounding set" '^CapabilityBoundingSet=$' "$o"
check_grep "orchestrator: dynamic unprivileged user" '^DynamicUser=yes' "$o"
check_grep "orchestrator: namespaces restricted" '^RestrictNamespaces=yes' "$o"

# The agent's bounding set must equal what the spawner keeps
# (PRIVSEP_SPAWNER_CAPS in src/agent/privsep.h, a mask of `1ull << N`); cap
# numbers come from the kernel UAPI header.
hdr=$top/build/vendor/kernel-headers/linux/capability.h
[ -f "$hdr" ] || hdr=/usr/include/linux/capability.h
nums_unit=$(sed -n 's/^CapabilityBoundingSet=//p' "$top/configs/systemd/stavily-agent.service" | tr ' ' '\n' \
    | while read -r c; do [ -n "$c" ] && awk -v c="$c" '$1 == "#define" && $2 == c { print $3 }' "$hdr"; done | sort -n | tr '\n' ' ')
nums_src=$(sed -n '/^#define PRIVSEP_SPAWNER_CAPS/,/[^\\]$/p' "$top/src/agent/privsep.h" | grep -oE '<< *[0-9]+' \
    | tr -d '< ' | sort -n | tr '\n' ' ')
[ -n "$nums_src" ] && [ "$nums_unit" = "$nums_src" ] && ok "agent: CapabilityBoundingSet equals PRIVSEP_SPAWNER_CAPS" \
    || fail "agent: CapabilityBoundingSet equals PRIVSEP_SPAWNER_CAPS" "unit: $nums_unit source: $nums_src"

# Exposure scores in docs/security.md match what systemd-analyze says now.
for u in $units; do
    s=$(cd "$TMP" && systemd-analyze security --offline=yes "./$u" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ -n "$s" ] && grep -Eq "\`$u\` *\| *$s\b" "$top/docs/security.md"; then ok "docs/security.md has the current exposure score of $u ($s)"
    else fail "docs/security.md has the current exposure score of $u ($s)"; fi
done

# lib_sandbox.sh: helpers for the sandbox_*.sh black-box tests (sourced after
# lib.sh; files named lib*.sh are libraries, run.sh does not run them).
#
#   sb_run WHO TAG [RUN OPTIONS...] -- PROGRAM [ARGS...]
#       runs `$STAVILY sandbox run --events EV --result RES OPTIONS -- PROGRAM`
#       as WHO (root | nobody), stdin from $SB_STDIN (default /dev/null),
#       bounded by `timeout`.  Sets SB_RC, SB_OUT, SB_ERR, SB_EV, SB_RES
#       (files in a directory WHO can write).
#   ev_has EVFILE JQ_CONDITION       true if a sandbox event line satisfies it
#   ev_count EVFILE JQ_CONDITION     number of such lines
#   res_get RESFILE JQ_EXPR          value from the result JSON (or "missing")
#   expect_blocked WHO LABEL OUT_REGEX EVENT_COND [RC_REGEX]
#       after sb_run: asserts (1) the plugin's own output matches OUT_REGEX
#       and has no SUCCEEDED/ESCAPED line and the exit status matches
#       RC_REGEX (default 0: the plugin saw every attempt fail), (2) an event matching
#       EVENT_COND is in the events file.
#
# Policies used by the tests:
#   (default)              the brief's sandbox block: allowlist read/write/
#                          open/close/stat + @default, blocked exec/fork/
#                          socket/bind, 256MB, cpu 0.5, /tmp and /var/log/stavily
#   $DENYLIST              `--set allowed_syscalls=`: no allowlist, so only the
#                          blocked list and the always-denied set stop a
#                          syscall.  Hostile modes run under both, so that the
#                          always-denied set is tested on its own and not
#                          only hidden behind the allowlist.
: "${PLUGINS:?run through test/run.sh or set PLUGINS}"
command -v jq >/dev/null 2>&1 || { echo "FAIL - jq is needed by the sandbox tests (apt-get install jq)"; exit 1; }

DENYLIST="--set allowed_syscalls="
SB_TIMEOUT=${SB_TIMEOUT:-20}     # seconds for one run: a hung sandbox fails, never blocks
HOSTILE=$PLUGINS/hostile

# A directory each user can write its event/result/output files into.
mkdir -p "$TMP/root" "$TMP/nobody"
chown 65534:65534 "$TMP/nobody"
chmod 700 "$TMP/root"
# Files outside every allowed path that a plugin must not read or write,
# readable/writable by anyone on the host so that only the sandbox can stop
# the plugin (not the file mode).
OUTSIDE=$(mktemp -d /var/tmp/stavily-sbtest.XXXXXX)
chmod 1777 "$OUTSIDE"
echo "secret-outside-data" >"$OUTSIDE/secret"
chmod 644 "$OUTSIDE/secret"
trap 'rm -rf "$TMP" "$OUTSIDE"' EXIT INT TERM

sb_run() {
    who=$1; tag=$2; shift 2
    dir=$TMP/$who
    SB_EV=$dir/$tag.ev; SB_RES=$dir/$tag.res; SB_OUT=$dir/$tag.out; SB_ERR=$dir/$tag.err
    rm -f "$SB_EV" "$SB_RES" "$SB_OUT" "$SB_ERR"
    if [ "$who" = nobody ]; then
        as_nobody timeout -k 5 "$SB_TIMEOUT" \
            "$STAVILY" sandbox run --events "$SB_EV" --result "$SB_RES" "$@" \
            <"${SB_STDIN:-/dev/null}" >"$SB_OUT" 2>"$SB_ERR"
    else
        timeout -k 5 "$SB_TIMEOUT" \
            "$STAVILY" sandbox run --events "$SB_EV" --result "$SB_RES" "$@" \
            <"${SB_STDIN:-/dev/null}" >"$SB_OUT" 2>"$SB_ERR"
    fi
    SB_RC=$?
    [ -f "$SB_EV" ] || : >"$SB_EV"
    return 0
}

# Lines that are not JSON are ignored here (a separate test checks that every
# line is well-formed).
ev_count() {
    jq -cR "fromjson? // empty | select(.component == \"sandbox\") | select($2)" "$1" 2>/dev/null | wc -l
}
ev_has() {
    [ "$(ev_count "$1" "$2")" -gt 0 ]
}

# True if FILE holds exactly one JSON value and EXPR on it is `true` (jq 1.6's
# -e exits 0 on empty input, so it cannot be used for this).
json_true() {
    [ "$(jq -s -c "if length == 1 then (.[0] | $2) else false end" "$1" 2>/dev/null)" = true ]
}

res_get() {
    v=$(jq -s -r "if length == 1 then (.[0] | $2) else \"missing\" end" "$1" 2>/dev/null) || v=missing
    echo "${v:-missing}"
}

# jq conditions for the three event kinds
ev_syscall() { # NAME [ACTION]
    echo ".event == \"blocked_syscall_attempt\" and .details.syscall == \"$1\" and (.details.nr | type) == \"number\" and (.details.pid | type) == \"number\" and (.details.plugin | type) == \"string\" and .details.action == \"${2:-deny}\""
}
ev_limit() { # LIMIT
    echo ".event == \"resource_limit_exceeded\" and .details.limit == \"$1\""
}
ev_fs() { # PATH-REGEX
    echo ".event == \"unauthorized_filesystem_access\" and (.details.path | type) == \"string\" and (.details.path | test(\"$1\"))"
}

sb_context() {
    echo "  rc=$SB_RC out: $(head -c 400 "$SB_OUT" | tr '\n' '|') err: $(head -c 300 "$SB_ERR" | tr '\n' '|') events: $(head -c 500 "$SB_EV" | tr '\n' '|')"
}

expect_blocked() {
    who=$1; label=$2; re=$3; cond=$4; want=${5:-0}
    if [[ $SB_RC =~ ^($want)$ ]] && grep -Eq -- "$re" "$SB_OUT" && ! grep -Eq 'SUCCEEDED|ESCAPED' "$SB_OUT"; then
        ok "$label [$who]: attempt failed inside the plugin"
    else
        fail "$label [$who]: attempt failed inside the plugin" "want rc=$want and /$re/ without SUCCEEDED/ESCAPED;$(sb_context)"
    fi
    if ev_has "$SB_EV" "$cond"; then
        ok "$label [$who]: reported"
    else
        fail "$label [$who]: reported" "no event with $cond;$(sb_context)"
    fi
}

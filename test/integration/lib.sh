# lib.sh: helpers for black-box shell tests, sourced by test/integration/*.sh
# (files named lib*.sh are libraries, not tests; run.sh skips them).
#
#   ok NAME | fail NAME WHY       report one case
#   check NAME CMD...             ok if CMD exits 0
#   check_exit NAME STATUS CMD... ok if CMD exits with STATUS
#   check_grep NAME PATTERN FILE  ok if FILE matches the extended regex
#   TMP                           a private temporary directory, removed at exit
#   as_nobody CMD...              run CMD as uid/gid 65534 without groups
set -u
: "${STAVILY:?run through test/run.sh or set STAVILY}"
TMP=$(mktemp -d /tmp/stavily-test.XXXXXX)
chmod 755 "$TMP"
trap 'rm -rf "$TMP"' EXIT INT TERM

ok()   { echo "ok - $1"; }
fail() { echo "FAIL - $1"; shift; [ $# -gt 0 ] && echo "  $*"; return 0; }

check() {
    name=$1; shift
    if "$@" >"$TMP/.out" 2>&1; then ok "$name"; else fail "$name" "exit $?: $(head -c 600 "$TMP/.out")"; fi
}

check_exit() {
    name=$1; want=$2; shift 2
    "$@" >"$TMP/.out" 2>&1
    got=$?
    if [ "$got" = "$want" ]; then ok "$name"; else fail "$name" "exit $got, expected $want: $(head -c 600 "$TMP/.out")"; fi
}

check_grep() {
    if grep -Eq -- "$2" "$3"; then ok "$1"; else fail "$1" "no match for /$2/ in $3: $(head -c 600 "$3")"; fi
}

as_nobody() {
    setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

#!/bin/sh
# Runs the unit tests (build/test/test_*) and the black-box integration tests
# (test/integration/*.sh and *.py) and prints one closing line
# "N passed, N failed".
#
# Every test program prints one line per case: "ok - NAME" or "FAIL - NAME"
# (anything else is shown as context).  A program that exits non-zero without
# printing a FAIL line, or prints nothing at all, counts as one failure: a
# test cannot pass by crashing or by not running.
#
# Environment: TEST_ONLY=unit|integration, TEST_BIN_DIR (unit binaries),
# TEST_FILTER (substring of test file names), TEST_TIMEOUT (seconds a file,
# default 600).
set -u
build=${1:-build}
build=$(cd "$build" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
export STAVILY="$build/stavily" STAVILY_BUILD="$build" STAVILY_TOP="$top"
export PLUGINS="$build/plugins"
bindir=${TEST_BIN_DIR:-$build/test}
only=${TEST_ONLY:-all}
filter=${TEST_FILTER:-}
tmo=${TEST_TIMEOUT:-600}
logdir=$build/test-logs
mkdir -p "$logdir"
passed=0
failed=0
failures=""

run_one() { # label command...
    label=$1; shift
    case $label in *"$filter"*) ;; *) return ;; esac
    log=$logdir/$(echo "$label" | tr '/ ' '__').log
    start=$(date +%s)
    timeout --kill-after=10 "$tmo" "$@" >"$log" 2>&1 </dev/null
    rc=$?
    p=$(grep -c '^ok - ' "$log")
    f=$(grep -c '^FAIL - ' "$log")
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        f=1
        echo "FAIL - $label exited with status $rc" >>"$log"
    fi
    if [ "$p" = 0 ] && [ "$f" = 0 ]; then
        f=1
        echo "FAIL - $label ran no test" >>"$log"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    end=$(date +%s)
    if [ "$f" = 0 ]; then
        printf '%-44s %4d ok  (%ss)\n' "$label" "$p" $((end - start))
    else
        printf '%-44s %4d ok %3d FAILED  (%ss)\n' "$label" "$p" "$f" $((end - start))
        failures="$failures $label"
        sed -n '/^FAIL - /p; /^  /p' "$log" | head -n 40 | sed 's/^/    | /'
    fi
}

if [ "$only" != integration ]; then
    for t in "$bindir"/test_*; do
        [ -x "$t" ] || continue
        case $t in *.o|*.d) continue ;; esac
        run_one "unit/$(basename "$t")" "$t"
    done
fi
if [ "$only" != unit ]; then
    for t in "$top"/test/integration/*.sh "$top"/test/integration/*.py; do
        [ -f "$t" ] || continue
        case $(basename "$t") in lib*) continue ;; esac
        case $t in *.sh) run_one "integration/$(basename "$t")" bash "$t" ;;
                   *.py) run_one "integration/$(basename "$t")" python3 "$t" ;; esac
    done
fi
[ -n "$failures" ] && echo "failed files:$failures (logs in $logdir)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

#!/bin/bash
# ship_tour.sh: the README's "5-minute tour" cannot rot (issue 7).  The commands between
# "<!-- tour: begin -->" and "<!-- tour: end -->" in README.md are extracted and run exactly as
# written, one after the other in one bash, from an empty directory with $STAVILY first in PATH
# (as `stavily`).  Each command must exit 0, and the "#>" lines under it (the expected output,
# abridged) must appear in its output (stdout, then stderr) in that order: whitespace runs
# compare equal and "…" matches anything.  The tour uses the documented ports 127.0.0.1:8443 and :8444, so concurrent
# runs of this test (several build directories on one machine) take turns through a lock, and a
# port already taken by something else is reported as such.
. "$(dirname "$0")/lib.sh"
TOP=${STAVILY_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
TOUR_TIMEOUT=180
PG=
cleanup() {
    # the tour's own background processes (orchestrator, agent), if it stopped half-way
    [ -n "$PG" ] && kill -9 -- "-$PG" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# ---- extract: commands with their expected lines ---------------------------------------------
python3 - "$TOP/README.md" "$TMP/tour.sh" "$TMP/expect.json" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
m = re.search(r"<!-- tour: begin -->\n```sh\n(.*?)\n```\n<!-- tour: end -->", text, re.S)
if not m:
    sys.exit("README.md: no ```sh block between <!-- tour: begin --> and <!-- tour: end -->")
lines = m.group(1).split("\n")
cmds, i = [], 0
while i < len(lines):
    line = lines[i]
    if line.startswith("#>"):
        if not cmds:
            sys.exit("expected output before any command")
        cmds[-1]["expect"].append(line[2:].strip())
        i += 1
        continue
    if not line.strip() or line.lstrip().startswith("#"):
        i += 1
        continue
    body = [line]
    while body[-1].endswith("\\") and i + 1 < len(lines):
        i += 1
        body.append(lines[i])
    h = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", " ".join(body))
    if h:
        while i + 1 < len(lines) and lines[i + 1] != h.group(1):
            i += 1
            body.append(lines[i])
        i += 1
        body.append(lines[i])
    cmds.append({"cmd": "\n".join(body), "expect": []})
    i += 1
with open(sys.argv[2], "w") as f:
    f.write('OUT="$1"\n')
    for n, c in enumerate(cmds):
        # braces keep the current shell (cd, export, jobs); the newline ends a trailing comment
        f.write(f'{{ {c["cmd"]}\n}} >"$OUT/{n}.out" 2>"$OUT/{n}.err"; echo $? >"$OUT/{n}.rc"\n')
json.dump(cmds, open(sys.argv[3], "w"))
EOF
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$TMP/expect.json" 2>/dev/null || echo 0)
check "the tour has its commands in README.md ($n, with expected output)" test "$n" -ge 15

# ---- the matcher can fail ------------------------------------------------------------------------
cat >"$TMP/match.py" <<'EOF'
import re, sys
def norm(s): return " ".join(s.split())
def matches(expect, out):
    """Each expected line, in order, equals a later output line (whitespace runs equal, … any)."""
    lines = [norm(l) for l in out.splitlines()]
    pos = 0
    for e in expect:
        pat = re.compile(".*".join(re.escape(p) for p in norm(e).split("…")) + r"\Z")
        while pos < len(lines) and not pat.match(lines[pos]):
            pos += 1
        if pos == len(lines):
            return e
        pos += 1
    return None
EOF
check "premise: the matcher accepts abridged output and refuses wrong or reordered lines" python3 -c '
import sys; sys.path.insert(0, sys.argv[1]); from match import matches
out = "a\n\t\"status\":\t\"succeeded\"\nserial 12ab, valid\nz\n"
assert matches(["\"status\": \"succeeded\"", "serial …, valid"], out) is None
assert matches(["\"status\": \"failed\""], out) is not None
assert matches(["serial …, valid", "\"status\": \"succeeded\""], out) is not None
assert matches(["stat"], out) is not None' "$TMP"

# ---- run it ---------------------------------------------------------------------------------------
exec 9>/tmp/stavily-ship-tour.lock
if ! flock -w 300 9; then fail "the tour's lock (another run of this test held it for 300 s)"; exit 0; fi
busy=$(python3 -c '
import socket
for p in (8443, 8444):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try: s.bind(("127.0.0.1", p))
    except OSError: print(p)
    s.close()')
if [ -n "$busy" ]; then
    fail "the tour's ports 127.0.0.1:8443 and :8444 are free" "taken: $busy ($(ss -ltnp 2>/dev/null | grep -E ':(8443|8444) ' | head -2))"
    exit 0
fi
ok "the tour's ports 127.0.0.1:8443 and :8444 are free"

mkdir -p "$TMP/bin" "$TMP/start" "$TMP/out"
ln -s "$STAVILY" "$TMP/bin/stavily"
(cd "$TMP/start" && PATH="$TMP/bin:$PATH" TMPDIR="$TMP" exec setsid bash "$TMP/tour.sh" "$TMP/out" </dev/null >"$TMP/tour.log" 2>&1) &
TPID=$!
PG=$TPID
rc=timeout
for _ in $(seq 1 $((TOUR_TIMEOUT * 10))); do
    kill -0 "$TPID" 2>/dev/null || { wait "$TPID"; rc=$?; break; }
    sleep 0.1
done
check "the tour ran to its end within ${TOUR_TIMEOUT} s (exit 0)" test "$rc" = 0
# whatever the tour left running (it ends with kill $(jobs -p)) is a bug of the tour
left=$(pgrep -g "$PG" 2>/dev/null | tr '\n' ' ')
check "the tour stopped what it started" test -z "$left"

python3 - "$TMP/expect.json" "$TMP/out" "$TMP" <<'EOF'
import json, os, sys
sys.path.insert(0, sys.argv[3]); from match import matches
cmds = json.load(open(sys.argv[1]))
for n, c in enumerate(cmds):
    name = c["cmd"].split("\n")[0][:90]
    try:
        rc = open(os.path.join(sys.argv[2], f"{n}.rc")).read().strip()
        out = open(os.path.join(sys.argv[2], f"{n}.out"), errors="replace").read()
        err = open(os.path.join(sys.argv[2], f"{n}.err"), errors="replace").read()
    except OSError:
        print(f"FAIL - tour step {n + 1}: {name}\n  did not run"); continue
    # stdout then stderr: the expected lines are what the reader sees, in the order each stream has
    bad = matches(c["expect"], out + "\n" + err)
    if rc == "0" and bad is None:
        print(f"ok - tour step {n + 1}: {name}" + (f" ({len(c['expect'])} expected lines)" if c["expect"] else ""))
    else:
        why = f"exit {rc}" if rc != "0" else f"expected line not found (in order): {bad!r}"
        print(f"FAIL - tour step {n + 1}: {name}\n  {why}; output:\n  " + out[:1500].replace("\n", "\n  ") + "\n  stderr:\n  " + err[:800].replace("\n", "\n  "))
EOF

# `stavily audit verify` against logs written by an independent implementation
# of the documented record format (Python below), then tampered with.
. "$(dirname "$0")/lib.sh"

cat >"$TMP/gen.py" <<'PY'
import hashlib, json, sys
path, n = sys.argv[1], int(sys.argv[2])
prev = "0" * 64
with open(path, "w") as f:
    for i in range(1, n + 1):
        rec = {"timestamp": "2025-01-15T10:30:00.000Z", "level": "INFO", "component": "orchestrator",
               "event": "agent_enrolled", "details": {"tenant": "acme", "n": i},
               "seq": i, "prev": prev}
        line = json.dumps(rec, separators=(",", ":"))
        f.write(line + "\n")
        prev = hashlib.sha256(line.encode()).hexdigest()
print(prev)
PY
head=$(python3 "$TMP/gen.py" "$TMP/a.log" 1000)
check "1,000-record log verifies" "$STAVILY" audit verify "$TMP/a.log"
"$STAVILY" audit verify "$TMP/a.log" >"$TMP/out"
check_grep "head printed as SEQ:HASH" "^head 1000:$head\$" "$TMP/out"
check "anchor accepted" "$STAVILY" audit verify --head "1000:$head" "$TMP/a.log"

# one byte edited in the middle (record 500: "n":500 -> "n":600)
sed '500s/"n":500/"n":600/' "$TMP/a.log" >"$TMP/b.log"
cmp -s "$TMP/a.log" "$TMP/b.log" && fail "edit applied" || ok "edit applied"
check_exit "one-byte edit detected" 1 "$STAVILY" audit verify "$TMP/b.log"
check_grep "first broken record named" "line 501 .*record 500" "$TMP/.out"

sed '700d' "$TMP/a.log" >"$TMP/c.log"
check_exit "deleted record detected" 1 "$STAVILY" audit verify "$TMP/c.log"
check_grep "deletion named" "line 700" "$TMP/.out"

awk 'NR==300 {hold=$0; next} NR==301 {print; print hold; next} {print}' "$TMP/a.log" >"$TMP/d.log"
check_exit "reordered records detected" 1 "$STAVILY" audit verify "$TMP/d.log"

head -n 999 "$TMP/a.log" >"$TMP/e.log"
check_exit "last record removed: detected against the anchor" 1 "$STAVILY" audit verify --head "1000:$head" "$TMP/e.log"

{ head -n 999 "$TMP/a.log"; tail -n 1 "$TMP/a.log" | head -c 40; } >"$TMP/f.log"
check_exit "torn last line reported" 1 "$STAVILY" audit verify "$TMP/f.log"
check_grep "torn line called torn" "torn" "$TMP/.out"

{ head -n 400 "$TMP/a.log"; sed -n 401p "$TMP/a.log" | head -c 50; echo; tail -n +402 "$TMP/a.log"; } >"$TMP/g.log"
check_exit "record cut in the middle detected" 1 "$STAVILY" audit verify "$TMP/g.log"
check_grep "cut record named" "line 401" "$TMP/.out"

check_exit "missing file: exit 1" 1 "$STAVILY" audit verify "$TMP/none.log"
check_exit "bad --head: usage 64" 64 "$STAVILY" audit verify --head 12 "$TMP/a.log"
check_exit "no subcommand: usage 64" 64 "$STAVILY" audit
"$STAVILY" audit verify --json "$TMP/b.log" >"$TMP/j" 2>&1
check "--json output parses" python3 -c "import json,sys; d=json.load(open('$TMP/j')); assert d['status']=='broken' and d['line']==501, d"

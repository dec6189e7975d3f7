# Black-box tests of the binary itself: static, hardened, CLI conventions.
. "$(dirname "$0")/lib.sh"

readelf -lW "$STAVILY" >"$TMP/phdr"
if grep -q INTERP "$TMP/phdr"; then fail "no program interpreter"; else ok "no program interpreter"; fi
file "$STAVILY" >"$TMP/file"
check_grep "file(1) says static-pie linked" "static-pie linked" "$TMP/file"
check_grep "non-executable stack" "GNU_STACK.* RW " "$TMP/phdr"
check_grep "RELRO segment" "GNU_RELRO" "$TMP/phdr"
readelf -dW "$STAVILY" >"$TMP/dyn"
check_grep "BIND_NOW (full RELRO)" "BIND_NOW|FLAGS_1.*NOW" "$TMP/dyn"
if grep -q NEEDED "$TMP/dyn"; then fail "no shared library needed"; else ok "no shared library needed"; fi

"$STAVILY" --version >"$TMP/ver"
check_grep "--version names the commit" "^stavily [0-9.]+ \(commit [0-9a-f]+|unknown\)" "$TMP/ver"
for dep in musl bearssl libseccomp inih cjson; do
    check_grep "--version names $dep" "^  $dep +[0-9]" "$TMP/ver"
done

check_exit "no arguments: usage, exit 64" 64 "$STAVILY"
check_exit "unknown command: exit 64" 64 "$STAVILY" frobnicate
check_exit "help of an unknown command: exit 64" 64 "$STAVILY" help frobnicate
check_exit "--help exits 0" 0 "$STAVILY" --help
for c in agent orchestrator ctl sandbox cert config audit demo; do
    "$STAVILY" help "$c" >"$TMP/h1" 2>&1; r1=$?
    "$STAVILY" "$c" --help >"$TMP/h2" 2>&1; r2=$?
    if [ $r1 = 0 ] && [ $r2 = 0 ] && cmp -s "$TMP/h1" "$TMP/h2" && grep -q "usage: stavily $c" "$TMP/h1"; then
        ok "help $c == $c --help"
    else
        fail "help $c == $c --help" "$r1 $r2 $(head -c 300 "$TMP/h1")"
    fi
done

#!/bin/bash
# ship_release.sh: `make release` is reproducible.  Two clones of the same
# commit in two different directories (different lengths too, so a leaked
# path would change sizes) build the release; binary, tarball and SHA256SUMS
# must be bit-identical, the binary must be stripped and free of build paths,
# and the tarball must hold the binary, configs, docs, the five licenses and
# the SBOM.  The vendored libraries are shared (VENDOR=absolute path).
. "$(dirname "$0")/lib.sh"
top=${STAVILY_TOP:?}
vendor=$top/build/vendor

A=$TMP/a
B=$TMP/bb-longer-directory-name
for d in "$A" "$B"; do
    git clone -q "$top" "$d" || { fail "clone $d"; exit 0; }
    # Until they are committed, build both clones with the working tree's
    # release rules and shipped files (identical in both: the comparison stays fair).
    for f in release/release.mk release/sbom.py configs/systemd configs/kubernetes docs/security.md; do
        [ -e "$d/$f" ] || { mkdir -p "$(dirname "$d/$f")"; cp -r "$top/$f" "$d/$f"; }
    done
done

# The fresh clones' vendor/deps.lock etc. are newer than the shared vendor
# build's stamp: `-o STAMP` keeps make from rebuilding (and first deleting)
# the vendor libraries everyone else is using.
stamp=$vendor/musl/lib/libseccomp.a
[ -f "$stamp" ] || { fail "shared vendor build present" "$stamp missing"; exit 0; }
stamp_before=$(stat -c %Y "$stamp")
build_one() { # dir
    local mk=()
    grep -q '^include release/release.mk' "$1/Makefile" || mk=(-f Makefile -f release/release.mk)
    (cd "$1" && make "${mk[@]}" -j2 -o "$stamp" BUILD=build/rel VENDOR="$vendor" release) >"$1.log" 2>&1
}
build_one "$A" & pa=$!
build_one "$B" & pb=$!
wait $pa; ra=$?; wait $pb; rb=$?
[ $ra = 0 ] && ok "release builds in clone A" || fail "release builds in clone A" "$(tail -20 "$A.log")"
[ $rb = 0 ] && ok "release builds in clone B" || fail "release builds in clone B" "$(tail -20 "$B.log")"
[ "$(stat -c %Y "$stamp")" = "$stamp_before" ] && ok "shared vendor libraries left alone" \
    || fail "shared vendor libraries left alone" "stamp mtime changed"
[ $ra = 0 ] && [ $rb = 0 ] || exit 0

oa=$A/release/out; ob=$B/release/out
tgz=$(cd "$oa" && ls stavily-*-linux-x86_64.tar.gz 2>/dev/null | head -1)
rname=${tgz%.tar.gz}
bin=$oa/$rname
if [ -n "$tgz" ] && [ -s "$bin" ] && [ -s "$oa/SHA256SUMS" ]; then ok "release/out holds binary, $tgz and SHA256SUMS"
else fail "release/out holds binary, tarball and SHA256SUMS" "$(ls -l "$oa")"; exit 0; fi
ver=$("$bin" --version 2>/dev/null | head -1 | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+')
[ -n "$ver" ] && [ "$rname" = "stavily-$ver-linux-x86_64" ] && ok "release binary runs and its version $ver names the files" \
    || fail "release binary runs and its version names the files" "$rname vs $("$bin" --version 2>&1 | head -2)"
check "SHA256SUMS verifies" sh -c "cd '$oa' && sha256sum -c --quiet SHA256SUMS"
for f in "$rname" "$rname.tar.gz" SHA256SUMS; do
    ha=$(sha256sum <"$oa/$f"); hb=$(sha256sum <"$ob/$f")
    [ -s "$ob/$f" ] && [ "$ha" = "$hb" ] && ok "reproducible: $f identical in both clones" \
        || fail "reproducible: $f identical in both clones" "$ha vs $hb"
done

file "$bin" >"$TMP/file.txt"
check_grep "release binary is static-pie and stripped" 'static-pie linked.*, stripped' "$TMP/file.txt"
readelf -n "$bin" >"$TMP/notes.txt" 2>&1
if grep -q 'Build ID' "$TMP/notes.txt"; then fail "no build id" "$(cat "$TMP/notes.txt")"; else ok "no build id"; fi
readelf -S "$bin" >"$TMP/sections.txt" 2>&1
if grep -q '\.text' "$TMP/sections.txt" && ! grep -Eq '\.debug|\.symtab|\.comment' "$TMP/sections.txt"; then ok "no symbols, debug info or compiler ident"
else fail "no symbols, debug info or compiler ident" "$(grep -E 'debug|symtab|comment|Error' "$TMP/sections.txt")"; fi
# Runtime defaults legitimately name /tmp (HOME=/tmp, the sandbox's /tmp), so
# look for the build directories themselves and anything under /work.
leak=$(strings -a "$bin" | grep -E "/work/|$TMP|/tmp/stavily-test|/build/vendor|build/rel/" | head -5)
[ -z "$leak" ] && ok "no build paths in the binary" || fail "no build paths in the binary" "$leak"

tar -tzvf "$oa/$rname.tar.gz" >"$TMP/list.txt"; [ "$(wc -l <"$TMP/list.txt")" -gt 20 ] && ok "tarball lists its files" || fail "tarball lists its files" "$(cat "$TMP/list.txt")"
for want in "$rname/stavily\$" "$rname/configs/agent.yaml" "$rname/configs/systemd/stavily-agent.service" \
            "$rname/docs/security.md" "$rname/sbom.cdx.json" \
            "$rname/licenses/musl/copyright" "$rname/licenses/bearssl/LICENSE.txt" "$rname/licenses/bearssl/copyright" \
            "$rname/licenses/libseccomp/LICENSE" "$rname/licenses/libseccomp/copyright" \
            "$rname/licenses/libinih/LICENSE.txt" "$rname/licenses/libinih/copyright" \
            "$rname/licenses/cjson/LICENSE" "$rname/licenses/cjson/copyright"; do
    check_grep "tarball holds ${want%\$}" " $want" "$TMP/list.txt"
done
if grep -Ev '^[-d]rw[-x]r-[-x]r-[-x] 0/0 ' "$TMP/list.txt" | grep -q .; then
    fail "tarball entries owned 0/0 with normal modes" "$(grep -Ev '^[-d]rw[-x]r-[-x]r-[-x] 0/0 ' "$TMP/list.txt" | head -3)"
else ok "tarball entries owned 0/0 with normal modes"; fi
LC_ALL=C sort -c -k6 "$TMP/list.txt" 2>/dev/null && ok "tarball names sorted" || fail "tarball names sorted"
check "tarball gzip header has no name and no time" \
    python3 -c "import sys; h=open(sys.argv[1],'rb').read(10); sys.exit(0 if h[3] & 8 == 0 and h[4:8] == b'\0\0\0\0' else 1)" "$oa/$rname.tar.gz"

mkdir -p "$TMP/x" && tar -xzf "$oa/$rname.tar.gz" -C "$TMP/x"
check "SBOM lists every pinned package with version and sha256" python3 - "$TMP/x/$rname/sbom.cdx.json" "$top/vendor/deps.lock" <<'PY'
import json, sys
bom = json.load(open(sys.argv[1]))
comps = {c["name"]: c for c in bom["components"]}
assert bom["bomFormat"] == "CycloneDX", bom.get("bomFormat")
assert "musl" in comps and comps["musl"]["version"], "musl missing"
n = 0
for line in open(sys.argv[2]):
    f = line.split()
    if not f or f[0].startswith("#") or len(f) != 5:
        continue
    c = comps[f[0]]
    assert c["version"] == f[1], (f[0], c["version"])
    assert {"name": f[3], "sha256": f[4]} in c["files"], f[3]
    n += 1
assert n >= 13, n
PY

# The job's private /tmp (issue 3, "a fresh size-capped tmpfs as the job's
# private /tmp") and filesystem-denial reporting resolved in the plugin's
# own root, as root and unprivileged (user namespace).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_sandbox.sh"

WT="--set wall_timeout=5s"
NS="--set namespaces=required"

for who in root nobody; do
    # 1. a file written to /tmp under namespaces stays in the job's tmpfs
    f=/tmp/sb-private-$who-$$
    rm -f "$f"
    # shellcheck disable=SC2086
    sb_run "$who" private $NS $WT -- "$HOSTILE" scratch "$f"
    if [ "$SB_RC" = 0 ] && grep -q '^scratch: ok$' "$SB_OUT" &&
        json_true "$SB_RES" '.layers.namespaces | index("mount") != null'; then
        ok "private /tmp: plugin writes and reads $f under namespaces [$who]"
    else
        fail "private /tmp: plugin writes and reads $f under namespaces [$who]" "$(sb_context)"
    fi
    if [ -e "$f" ]; then
        fail "private /tmp: the host's /tmp did not get the file [$who]" "$f exists on the host"
        rm -f "$f"
    else
        ok "private /tmp: the host's /tmp did not get the file [$who]"
    fi

    # 2. /tmp is size-capped: more than tmp_size fails with ENOSPC (the
    #    file-size limit is far above, so only the tmpfs can stop it)
    # shellcheck disable=SC2086
    sb_run "$who" tmpfull $NS $DENYLIST --set tmp_size=1MB --set max_file_size=64MB $WT -- \
        "$HOSTILE" bigfile 4 /tmp/sb-tmpfull
    n=$(sed -n 's/^bigfile: write after \([0-9]*\) bytes: ENOSPC$/\1/p' "$SB_OUT")
    if [ "$SB_RC" = 5 ] && [ -n "$n" ] && [ "$n" -le 1048576 ]; then
        ok "private /tmp: writing past tmp_size=1MB fails with ENOSPC after $n bytes [$who]"
    else
        fail "private /tmp: writing past tmp_size=1MB fails with ENOSPC [$who]" "$(sb_context)"
    fi
    # and within the cap it works (the cap is the tmpfs, not something else)
    # shellcheck disable=SC2086
    sb_run "$who" tmpok $NS $DENYLIST --set tmp_size=8MB $WT -- "$HOSTILE" bigfile 4 /tmp/sb-tmpok
    if grep -q '^bigfile: wrote 4194304 bytes$' "$SB_OUT"; then
        ok "private /tmp: 4MB fit under tmp_size=8MB [$who]"
    else
        fail "private /tmp: 4MB fit under tmp_size=8MB [$who]" "$(sb_context)"
    fi

    # 3. link escapes from the private /tmp to /etc/passwd: blocked, and
    #    reported as /etc/passwd (resolved in the plugin's root, not ours:
    #    the link does not exist in the host's /tmp)
    for m in symlink hardlink symlink-rel; do
        # shellcheck disable=SC2086
        sb_run "$who" "ns-$m" $NS $DENYLIST $WT -- "$HOSTILE" "$m" /tmp
        expect_blocked "$who" "namespaces: read /etc/passwd through a $m in the private /tmp" \
            "^via (relative )?(sym|hard)link (open|read)\(.*\): E" "$(ev_fs '^/etc/passwd$')"
    done
    # the same without namespaces (host /tmp, host view)
    for m in symlink symlink-rel; do
        # shellcheck disable=SC2086
        sb_run "$who" "nons-$m" --set namespaces=off $DENYLIST $WT -- "$HOSTILE" "$m" /tmp
        expect_blocked "$who" "no namespaces: read /etc/passwd through a $m in /tmp" \
            "^via (relative )?symlink (open|read)\(.*\): E" "$(ev_fs '^/etc/passwd$')"
    done

    # 4. without a mount namespace /tmp is the host's (Landlock confines it)
    f=/tmp/sb-hosttmp-$who-$$
    rm -f "$f"
    # shellcheck disable=SC2086
    sb_run "$who" hosttmp --set namespaces=off $WT -- "$HOSTILE" scratch "$f"
    if [ "$SB_RC" = 0 ] && [ -e "$f" ]; then
        ok "no namespaces: /tmp is the host's [$who]"
    else
        fail "no namespaces: /tmp is the host's [$who]" "$(sb_context)"
    fi
    rm -f "$f"
done

# 5. a program that lives under /tmp still runs (bound read-only into the
#    private /tmp), and an entry below /tmp is the host's directory, bound
#    on top of the private tmpfs
SHARED=$(mktemp -d /tmp/stavily-sbtmp.XXXXXX)
chmod 1777 "$SHARED"; mkdir "$SHARED/sub"; chmod 1777 "$SHARED/sub"
cp "$HOSTILE" "$SHARED/hostile"; chmod 755 "$SHARED/hostile"
for who in root nobody; do
    # shellcheck disable=SC2086
    sb_run "$who" tmpprog $NS $WT -- "$SHARED/hostile" scratch /tmp/sb-from-tmp
    if [ "$SB_RC" = 0 ] && grep -q '^scratch: ok$' "$SB_OUT"; then
        ok "private /tmp: a program stored under the host's /tmp runs [$who]"
    else
        fail "private /tmp: a program stored under the host's /tmp runs [$who]" "$(sb_context)"
    fi
    # shellcheck disable=SC2086
    sb_run "$who" tmpnested $NS $WT --set "filesystem_access=/tmp,$SHARED/sub" -- \
        "$HOSTILE" scratch "$SHARED/sub/shared-$who"
    if [ "$SB_RC" = 0 ] && [ -s "$SHARED/sub/shared-$who" ]; then
        ok "private /tmp: a listed directory below /tmp is the host's [$who]"
    else
        fail "private /tmp: a listed directory below /tmp is the host's [$who]" "$(sb_context)"
    fi
done
rm -rf "$SHARED"

# 6. tmp_size=0: no private /tmp, a listed /tmp is the host's even with
#    namespaces (documented escape hatch)
for who in root nobody; do
    f=/tmp/sb-notmpfs-$who-$$
    rm -f "$f"
    # shellcheck disable=SC2086
    sb_run "$who" notmpfs $NS --set tmp_size=0 $WT -- "$HOSTILE" scratch "$f"
    if [ "$SB_RC" = 0 ] && [ -e "$f" ] &&
        json_true "$SB_RES" '.layers.namespaces | index("mount") != null'; then
        ok "tmp_size=0: /tmp is the host's under namespaces [$who]"
    else
        fail "tmp_size=0: /tmp is the host's under namespaces [$who]" "$(sb_context)"
    fi
    rm -f "$f"
done

# 7. ".." cannot climb above the plugin's root in the report either
for who in root nobody; do
    for ns in required off; do
        # shellcheck disable=SC2086
        sb_run "$who" "dotdot-$ns" --set namespaces=$ns $DENYLIST $WT -- "$HOSTILE" read /tmp/../../../etc/shadow
        expect_blocked "$who" "namespaces=$ns: /tmp/../../../etc/shadow" '^read open\(.*\): E' "$(ev_fs '^/etc/shadow$')"
    done
done

#!/bin/sh
# Fetch the pinned Debian source packages listed in vendor/deps.lock, check
# every file's SHA-256 and unpack them with dpkg-source (which applies
# Debian's patches).
#
# apt runs with a private configuration and state directory under $OUT, so the
# system's /etc/apt is never modified.  The archive URIs are read at run time
# from the system's own apt sources (deb822 *.sources or one-line *.list);
# no registry host name is written into the repository.
#
# usage: vendor/fetch.sh OUTDIR
set -eu

out=${1:?usage: fetch.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
lock=$here/deps.lock
mkdir -p "$out"
out=$(cd "$out" && pwd)
apt=$out/apt
dl=$out/download
src=$out/src
mkdir -p "$apt/etc/sources.list.d" "$apt/etc/preferences.d" "$apt/etc/apt.conf.d" \
         "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/state" "$dl" "$src"

# The first "main" archive URI of the system (not the security archive).
uri=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
    [ -n "$uri" ] && break
done
if [ -z "$uri" ]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        uri=$(awk '$1 == "deb" && $2 !~ /^\[/ && $2 !~ /security/ { print $2; exit }
                   $1 == "deb" && $2 ~ /^\[/ { for (i = 3; i <= NF; i++) if ($i ~ /:\/\// && $i !~ /security/) { print $i; exit } }' "$f")
        [ -n "$uri" ] && break
    done
fi
if [ -z "$uri" ]; then
    echo "fetch.sh: no Debian archive URI found in the system's apt sources" >&2
    exit 1
fi

suites=$(awk '!/^#/ && NF == 5 { print $3 }' "$lock" | sort -u | tr '\n' ' ')
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
{
    printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\n' "$uri" "$suites"
    [ -f "$keyring" ] && printf 'Signed-By: %s\n' "$keyring"
} > "$apt/etc/sources.list.d/stavily-vendor.sources"

cat > "$apt/apt.conf" <<CONF
Dir::Etc "$apt/etc";
Dir::Etc::sourcelist "/dev/null";
Dir::Etc::sourceparts "$apt/etc/sources.list.d";
Dir::Etc::preferencesparts "$apt/etc/preferences.d";
Dir::Etc::parts "$apt/etc/apt.conf.d";
Dir::State "$apt/state";
Dir::State::Lists "$apt/lists";
Dir::State::status "/var/lib/dpkg/status";
Dir::Cache "$apt/cache";
APT::Sandbox::User "root";
CONF
export APT_CONFIG="$apt/apt.conf"

check() { # file expected-sha256
    [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

need_update=1
for pkg in $(awk '!/^#/ && NF == 5 { print $1 }' "$lock" | uniq); do
    ver=$(awk -v p="$pkg" '$1 == p { print $2; exit }' "$lock")
    all_ok=1
    while read -r p v s file sum; do
        check "$dl/$file" "$sum" || all_ok=0
    done <<LIST
$(awk -v p="$pkg" '$1 == p' "$lock")
LIST
    if [ $all_ok = 0 ]; then
        if [ $need_update = 1 ]; then
            echo "fetch: apt-get update (private state in $apt)"
            apt-get -q update >"$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; exit 1; }
            need_update=0
        fi
        echo "fetch: $pkg $ver"
        (cd "$dl" && apt-get -q source --download-only "$pkg=$ver") >"$apt/$pkg.log" 2>&1 ||
            { cat "$apt/$pkg.log" >&2; echo "fetch.sh: could not download $pkg $ver" >&2; exit 1; }
    fi
    while read -r p v s file sum; do
        if ! check "$dl/$file" "$sum"; then
            echo "fetch.sh: SHA-256 mismatch or missing file: $file (expected $sum)" >&2
            exit 1
        fi
    done <<LIST
$(awk -v p="$pkg" '$1 == p' "$lock")
LIST
    upver=${ver%-*}
    upver=${upver#*:}
    dir=$src/$pkg-$upver
    stamp=$dir/.stavily-unpacked-$ver
    if [ ! -f "$stamp" ]; then
        rm -rf "$dir"
        dsc=$(awk -v p="$pkg" '$1 == p && $4 ~ /\.dsc$/ { print $4 }' "$lock")
        # The .dsc hashes were checked above against the lock; dpkg-source
        # then checks every listed file against the .dsc.  The archive
        # signature cannot be checked without debian-keyring, which the lock
        # makes unnecessary.
        (cd "$src" && dpkg-source --no-copy -x "$dl/$dsc" "$dir") >"$apt/$pkg.unpack.log" 2>&1 ||
            { cat "$apt/$pkg.unpack.log" >&2; exit 1; }
        touch "$stamp"
    fi
done
echo "fetch: sources ready in $src"

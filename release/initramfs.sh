#!/bin/bash
# initramfs.sh: put the stavily agent into a minimal initramfs (issue 7; docs/operations.md,
# "Initramfs").  Writes an uncompressed cpio "newc" archive (the format the kernel unpacks into its
# rootfs) holding only:
#
#   /init -> stavily                  the kernel starts /init as PID 1; argv[0] is "/init" and the
#                                     words after "--" on the kernel command line are its arguments:
#                                       rdinit=/init -- agent run -c /etc/stavily/agent.yaml
#   /stavily                          the static binary (0755)
#   /etc/stavily/agent.yaml           --config (0644)
#   /etc/stavily/token                --token-file (0600), when given
#   /etc/stavily/<name>               every --file SRC[:NAME] (0644; certificates, pins)
#   /usr/lib/stavily/plugins/*        every file of --plugins DIR (executables 0755, others 0644)
#   /var/lib/stavily                  state (0755; the agent creates agent/ 0700): in an initramfs
#                                     the whole root is a tmpfs, so state lives in memory
#   /dev/console (c 5 1), /dev/null (c 1 3)   device nodes: the kernel opens /dev/console for
#                                     init's stdin/stdout/stderr; /dev/null serves plugins and the
#                                     worker's standard descriptors (the agent runs without it too).
#                                     No devtmpfs is mounted in an initramfs.
#   /proc /sys /run /tmp              empty mount points (nothing mounts them: the agent runs
#                                     without /proc, `sandbox probe` says what it cannot see)
#
# Reproducible: names sorted, owner 0:0, mtime SOURCE_DATE_EPOCH (default 0), inode numbers in
# order; the same inputs give the same bytes.  No root needed (device nodes are archive entries).
#
# usage: release/initramfs.sh -o OUT.cpio --config agent.yaml [--binary STAVILY]
#            [--token-file FILE] [--plugins DIR] [--file SRC[:NAME]]...
set -eu
usage() { sed -n '/^# usage:/,/^[^#]/s/^# \{0,1\}//p' "$0" | grep -v '^set ' >&2; exit 64; }
out= config= binary= token= plugins=
files=()
while [ $# -gt 0 ]; do
    case $1 in
    -o) out=${2:?}; shift 2 ;;
    --config) config=${2:?}; shift 2 ;;
    --binary) binary=${2:?}; shift 2 ;;
    --token-file) token=${2:?}; shift 2 ;;
    --plugins) plugins=${2:?}; shift 2 ;;
    --file) files+=("${2:?}"); shift 2 ;;
    -h|--help) usage ;;
    *) echo "initramfs.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
[ -n "$out" ] && [ -n "$config" ] || usage
if [ -z "$binary" ]; then
    binary=$(cd "$(dirname "$0")/.." && pwd)/build/stavily
fi
[ -f "$binary" ] && [ -x "$binary" ] || { echo "initramfs.sh: no executable $binary (run make)" >&2; exit 1; }
# The binary must be static: an initramfs has no loader and no libraries.
if ! "$binary" --version >/dev/null 2>&1 || LC_ALL=C readelf -l "$binary" 2>/dev/null | grep -q INTERP; then
    echo "initramfs.sh: $binary is not a runnable static binary" >&2; exit 1
fi

python3 - "$out" "$binary" "$config" "$token" "$plugins" "${SOURCE_DATE_EPOCH:-0}" "${files[@]}" <<'EOF'
import os, stat, sys

out, binary, config, token, plugins, epoch = sys.argv[1:7]
extra = sys.argv[7:]
mtime = int(epoch)
S_DIR, S_REG, S_LNK, S_CHR = stat.S_IFDIR, stat.S_IFREG, stat.S_IFLNK, stat.S_IFCHR

entries = {}   # name (no leading /) -> (mode, data bytes, (major, minor))
def add_dir(name, perm=0o755):
    entries[name] = (S_DIR | perm, b"", (0, 0))
def add_file(name, src, perm):
    with open(src, "rb") as f:
        entries[name] = (S_REG | perm, f.read(), (0, 0))

for d in ("dev", "etc", "etc/stavily", "proc", "run", "sys", "usr", "usr/lib", "usr/lib/stavily",
          "usr/lib/stavily/plugins", "var", "var/lib", "var/lib/stavily"):
    add_dir(d)
add_dir("tmp", 0o1777)
entries["dev/console"] = (S_CHR | 0o600, b"", (5, 1))
entries["dev/null"] = (S_CHR | 0o666, b"", (1, 3))
add_file("stavily", binary, 0o755)
entries["init"] = (S_LNK | 0o777, b"stavily", (0, 0))
add_file("etc/stavily/agent.yaml", config, 0o644)
if token:
    add_file("etc/stavily/token", token, 0o600)
for spec in extra:
    src, _, name = spec.partition(":")
    name = name or os.path.basename(src)
    if "/" in name or name in ("", ".", "..", "agent.yaml", "token"):
        sys.exit(f"initramfs.sh: --file {spec}: NAME must be a plain new file name")
    add_file("etc/stavily/" + name, src, 0o644)
if plugins:
    for n in sorted(os.listdir(plugins)):
        p = os.path.join(plugins, n)
        if os.path.isfile(p):
            add_file("usr/lib/stavily/plugins/" + n, p, 0o755 if os.access(p, os.X_OK) else 0o644)

def header(ino, mode, nlink, size, major_minor, name):
    # newc: "070701" then 13 fields of 8 hex digits (ino mode uid gid nlink mtime filesize
    # devmajor devminor rdevmajor rdevminor namesize check), the name with its NUL, padded to 4.
    fields = [ino, mode, 0, 0, nlink, mtime, size, 0, 0, major_minor[0], major_minor[1],
              len(name) + 1, 0]
    h = b"070701" + b"".join(b"%08X" % v for v in fields) + name.encode() + b"\0"
    return h + b"\0" * (-len(h) % 4)

buf = bytearray()
# Parents come before their children: sorted names do that ("etc" < "etc/stavily").
for ino, name in enumerate(sorted(entries), start=1):
    mode, data, mm = entries[name]
    buf += header(ino, mode, 2 if stat.S_ISDIR(mode) else 1, len(data), mm, name)
    buf += data + b"\0" * (-len(data) % 4)
buf += header(0, 0, 1, 0, (0, 0), "TRAILER!!!")
buf += b"\0" * (-len(buf) % 512)
tmp = out + ".tmp"
with open(tmp, "wb") as f:
    f.write(buf)
os.replace(tmp, out)
print(f"{out}: {len(entries)} entries, {len(buf)} bytes")
EOF

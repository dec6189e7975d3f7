#!/usr/bin/env python3
"""ship_help.py: every command's --help is complete and matches the docs (issue 7).

Walks `stavily help`, every command and every sub-command its usage names, and checks:
  * each --help (and -h, `stavily help CMD`) exits 0 and prints "usage: stavily CMD" first, on
    stdout, and touches nothing (run in an empty directory);
  * completeness against the code: every option the command's source file compares an argument
    with (strcmp(x, "--opt")) is named in its --help;
  * docs/cli.md is exactly what `make docs` generates from the --help texts (a diff otherwise), so
    every option of every usage line is documented;
  * the other way round: every option that docs/*.md or README.md use in a `stavily CMD ...`
    command line exists in that command's --help.
"""
import os
import re
import subprocess
import sys
import tempfile

STAVILY = os.environ["STAVILY"]
TOP = os.environ.get("STAVILY_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
failures = 0

# Options a command refuses on purpose, so its --help need not offer them.
REFUSED = {
    ("agent", "--token"): "tokens are never taken from the command line (the usage says where from)",
}


def report(ok, name, why=""):
    global failures
    if ok:
        print(f"ok - {name}")
    else:
        failures += 1
        print(f"FAIL - {name}")
        if why:
            print("  " + str(why)[:3000].replace("\n", "\n  "))


def run(args, cwd):
    p = subprocess.run([STAVILY] + args, capture_output=True, text=True, timeout=20, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


empty = tempfile.mkdtemp(prefix="stavily-help.")

# ---- stavily help: the command list ----------------------------------------------------------
rc, top_help, err = run(["help"], empty)
report(rc == 0 and top_help.startswith("usage: stavily"), "stavily help: exit 0, usage first", f"{rc} {err}")
commands = re.findall(r"^  ([a-z][a-z-]*)\s", top_help.split("commands:", 1)[-1], re.M)
report(len(commands) >= 8, f"stavily help lists the commands ({' '.join(commands)})")
rc2, top2, _ = run(["--help"], empty)
report(rc2 == 0 and top2 == top_help, "stavily --help = stavily help")


def subcommands(cmd, text):
    """Sub-command paths named by the usage: `stavily CMD SUB` lines and, for ctl, the indented
    lines of its "commands:" list; `a|b` alternatives are expanded."""
    paths = []
    for m in re.finditer(rf"^(?:usage: |\s+)stavily {cmd} ([a-z][a-z|-]*)", text, re.M):
        paths += [[s] for s in m.group(1).split("|")]
    if "\ncommands:\n" in text:
        for line in text.split("\ncommands:\n", 1)[1].splitlines():
            if not line.startswith("  ") or line.startswith("   "):
                if line and not line.startswith(" "):
                    break
                continue
            words = []
            for w in line.split()[:2]:
                if not re.fullmatch(r"[a-z][a-z|-]*", w):
                    break
                words.append(w.split("|"))
            if len(words) == 2:
                paths += [[words[0][0], s] for s in words[1]]
            elif len(words) == 1:
                paths += [[s] for s in words[0]]
    seen, out = set(), []
    for p in paths:
        if tuple(p) not in seen:
            seen.add(tuple(p))
            out.append(p)
    return out


def command_file(cmd):
    """The source file that defines the command's entry point (named in src/main.c)."""
    main_c = open(os.path.join(TOP, "src/main.c")).read()
    m = re.search(r'\{\s*"%s",\s*(\w+)\s*,' % re.escape(cmd), main_c)
    if not m:
        return None
    for d in sorted(os.listdir(os.path.join(TOP, "src"))):
        dd = os.path.join(TOP, "src", d)
        if not os.path.isdir(dd):
            continue
        for f in sorted(os.listdir(dd)):
            if f.endswith(".c"):
                text = open(os.path.join(dd, f)).read()
                if re.search(r"^%s\(int argc" % m.group(1), text, re.M):
                    return os.path.join(dd, f)
    return None


def named(opt, text):
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), text) is not None


helps = {}
for cmd in commands:
    rc, out, err = run([cmd, "--help"], empty)
    helps[cmd] = out
    report(rc == 0 and out.startswith(f"usage: stavily {cmd}") and err == "",
           f"stavily {cmd} --help: exit 0, 'usage: stavily {cmd}' first on stdout", f"exit {rc}: {out[:200]} {err[:300]}")
    rc_h, out_h, _ = run([cmd, "-h"], empty)
    rc_hc, out_hc, _ = run(["help", cmd], empty)
    report(rc_h == 0 and out_h == out and rc_hc == 0 and out_hc == out,
           f"stavily {cmd} -h and stavily help {cmd} print the same usage")

    subs = subcommands(cmd, out)
    bad = []
    for sub in subs:
        rc, sout, serr = run([cmd] + sub + ["--help"], empty)
        if rc != 0 or not sout.startswith(f"usage: stavily {cmd}") or not all(named(w, sout) for w in sub):
            bad.append(f"{' '.join(sub)}: exit {rc}: {sout[:120]!r} {serr[:200]!r}")
    report(not bad, f"stavily {cmd}: each of its {len(subs)} sub-commands' --help exits 0 with the usage"
           + (f" ({', '.join(' '.join(s) for s in subs)})" if subs else ""), "; ".join(bad))

    src = command_file(cmd)
    if src is None:
        report(False, f"stavily {cmd}: its source file is found", "no CMD_main in src/*/*.c")
        continue
    code = open(src).read()
    opts = sorted(set(re.findall(r'str(?:n)?cmp\([^;"]*?,\s*"(-{1,2}[A-Za-z][A-Za-z0-9-]*)=?"', code)))
    missing = [o for o in opts if not named(o, out) and (cmd, o) not in REFUSED]
    report(not missing and opts, f"stavily {cmd} --help names every option {os.path.relpath(src, TOP)} parses "
           f"({len(opts)}: {' '.join(opts)})", f"not in --help: {missing}")

for (cmd, opt), why in REFUSED.items():
    src = command_file(cmd) or ""
    refused = src and re.search(r'strcmp\([^;]*"%s"\)[^;]*\)\s*\{?\s*return cli_usage_error' % re.escape(opt),
                                open(src).read())
    report(bool(refused), f"'{cmd} {opt}' is left out of --help because it is refused ({why})")

# ---- docs/cli.md is generated from these texts -----------------------------------------------
p = subprocess.run([os.path.join(TOP, "release/gendocs.sh"), STAVILY, "--check", os.path.join(TOP, "docs/cli.md")],
                   capture_output=True, text=True, timeout=120)
report(p.returncode == 0, "docs/cli.md = the --help texts (make docs)", "run 'make docs'; diff:\n" + p.stdout + p.stderr)
cli_md = open(os.path.join(TOP, "docs/cli.md")).read()
report(all(f"## `stavily {c}`" in cli_md for c in commands), "docs/cli.md has a section per command")

# ---- the docs use only options that exist -----------------------------------------------------
def command_lines(path):
    """`stavily ...` command lines in a Markdown file: fenced-block lines (continuations joined)
    and inline code spans."""
    text = open(path).read()
    lines, fenced = [], False
    buf = ""
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            buf = ""
            continue
        if fenced:
            buf += line
            if buf.endswith("\\"):
                buf = buf[:-1] + " "
                continue
            lines.append(buf)
            buf = ""
        else:
            lines += re.findall(r"`([^`]*stavily [^`]*)`", line)
    return lines


def doc_options(line):
    """(command, option) pairs of each `stavily CMD ...` in a line, up to a `--` or the next
    shell operator."""
    for m in re.finditer(r"(?:^|[\s/(`=$])stavily ([a-z][a-z-]*)((?:\s+[^\s|;&#]+)*)", line):
        cmd, rest = m.group(1), m.group(2)
        for tok in rest.split():
            if tok == "--":
                break
            o = re.match(r"(-{1,2}[A-Za-z][A-Za-z0-9-]*)", tok.strip("[]()"))
            if o:
                yield cmd, o.group(1)


docs = [os.path.join(TOP, "README.md")] + sorted(
    os.path.join(TOP, "docs", f) for f in os.listdir(os.path.join(TOP, "docs"))
    if f.endswith(".md") and f != "cli.md")
unknown, n_checked = [], 0
for path in docs:
    for line in command_lines(path):
        for cmd, opt in doc_options(line):
            if cmd not in helps:
                continue
            n_checked += 1
            if not named(opt, helps[cmd]) and not (opt in ("--help", "-h")):
                unknown.append(f"{os.path.relpath(path, TOP)}: stavily {cmd} ... {opt}   ({line.strip()[:100]})")
report(not unknown and n_checked > 30,
       f"every option the docs use in a 'stavily CMD' line is in that command's --help ({n_checked} uses)",
       "\n".join(unknown))

# The checks above can fail: an option missing from a usage text is found.
fake = "usage: stavily demo [--json]\n"
report(not named("--keep", fake) and named("--json", fake) and not named("--js", fake),
       "premise: an option is found only as a whole word")

subprocess.run(["rm", "-rf", empty])
sys.exit(1 if failures else 0)

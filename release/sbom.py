#!/usr/bin/env python3
"""Write a CycloneDX-lite SBOM (JSON, deterministic) for the release tarball.

usage: sbom.py DEPS_LOCK MUSL_VERSION STAVILY_VERSION GIT_COMMIT BINARY_SHA256

Lists every pinned Debian source package from vendor/deps.lock with its
version, suite, package URL and the sha256 of each pinned file, plus musl
(linked from the build machine's musl-dev package, version only).  No
timestamps or random serial numbers, so two builds of one commit agree.
"""
import json
import sys


def main():
    if len(sys.argv) != 6:
        sys.stderr.write(__doc__)
        return 64
    lock, musl_ver, version, commit, bin_sha = sys.argv[1:]
    comps = {}
    with open(lock, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0].startswith("#") or len(fields) != 5:
                continue
            pkg, ver, suite, fname, sha = fields
            c = comps.setdefault(pkg, {
                "type": "library",
                "name": pkg,
                "version": ver,
                "purl": "pkg:deb/debian/%s@%s?arch=source&distro=%s" % (pkg, ver, suite),
                "properties": [{"name": "debian:suite", "value": suite}],
                "hashes": [],
                "files": [],
            })
            c["files"].append({"name": fname, "sha256": sha})
            if fname.endswith(".dsc"):
                c["hashes"].append({"alg": "SHA-256", "content": sha})
    out = [comps[k] for k in sorted(comps)]
    out.insert(0, {
        "type": "library",
        "name": "musl",
        "version": musl_ver,
        "purl": "pkg:deb/debian/musl-dev@%s?arch=amd64" % musl_ver,
        "properties": [{"name": "source", "value": "build machine package musl-dev (static libc.a)"}],
    })
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "component": {
                "type": "application",
                "name": "stavily",
                "version": version,
                "properties": [{"name": "git:commit", "value": commit}],
                "hashes": [{"alg": "SHA-256", "content": bin_sha}],
            },
        },
        "components": out,
    }
    json.dump(bom, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""ship_manifests.py: configs/kubernetes/*.yaml are well-formed Kubernetes
objects and carry the restricted Pod Security settings issue 7 asks for.

Parses with PyYAML (Debian python3-yaml), checks every pod template (the
agent DaemonSet, the orchestrator Deployment and its init Job), the Service,
the Secrets and how they are consumed, and runs `stavily config check` on the
agent configuration embedded in the ConfigMap.
"""
import glob
import os
import subprocess
import sys
import tempfile

TOP = os.environ.get("STAVILY_TOP") or os.path.join(os.path.dirname(__file__), "..", "..")
STAVILY = os.environ.get("STAVILY", "")
results = []


def check(name, cond, why=""):
    results.append(name)
    if cond:
        print("ok - " + name)
    else:
        print("FAIL - " + name)
        if why:
            print("  " + str(why)[:600])


def main():
    try:
        import yaml
    except ImportError as e:
        check("python3-yaml available (apt-get install python3-yaml)", False, e)
        return
    files = sorted(glob.glob(os.path.join(TOP, "configs", "kubernetes", "*.yaml")))
    check("kubernetes manifests exist", len(files) >= 3, files)
    objs = []
    for f in files:
        try:
            with open(f, encoding="utf-8") as fh:
                docs = [d for d in yaml.safe_load_all(fh) if d is not None]
        except yaml.YAMLError as e:
            check("parses: " + os.path.basename(f), False, e)
            continue
        good = all(isinstance(d, dict) and d.get("apiVersion") and d.get("kind")
                   and d.get("metadata", {}).get("name") for d in docs)
        check("well-formed objects: " + os.path.basename(f), good and docs, docs[:1])
        objs += docs

    def find(kind, name=None):
        return [o for o in objs if o.get("kind") == kind
                and (name is None or o["metadata"]["name"] == name)]

    ns = find("Namespace", "stavily")
    check("namespace enforces restricted Pod Security",
          ns and ns[0]["metadata"].get("labels", {}).get(
              "pod-security.kubernetes.io/enforce") == "restricted")
    for o in objs:
        if o["kind"] != "Namespace":
            check("%s/%s in namespace stavily" % (o["kind"], o["metadata"]["name"]),
                  o["metadata"].get("namespace") == "stavily")

    ds = find("DaemonSet", "stavily-agent")
    dep = find("Deployment", "stavily-orchestrator")
    job = find("Job")
    check("agent DaemonSet present", len(ds) == 1)
    check("orchestrator Deployment present", len(dep) == 1)
    pods = [(o["kind"] + "/" + o["metadata"]["name"], o["spec"]["template"]) for o in ds + dep + job]
    for label, tpl in pods:
        spec = tpl["spec"]
        psc = spec.get("securityContext", {})
        check(label + ": pod runAsNonRoot", psc.get("runAsNonRoot") is True)
        check(label + ": pod seccompProfile RuntimeDefault",
              psc.get("seccompProfile", {}).get("type") == "RuntimeDefault")
        check(label + ": pod runs as a non-zero uid", psc.get("runAsUser", 0) != 0)
        check(label + ": no service account token", spec.get("automountServiceAccountToken") is False)
        check(label + ": no host namespaces",
              not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")))
        check(label + ": no hostPath volumes (restricted)",
              not any("hostPath" in v for v in spec.get("volumes", [])))
        sel = tpl["metadata"].get("labels", {})
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            sc = c.get("securityContext", {})
            n = "%s container %s" % (label, c["name"])
            check(n + ": readOnlyRootFilesystem", sc.get("readOnlyRootFilesystem") is True)
            check(n + ": allowPrivilegeEscalation false", sc.get("allowPrivilegeEscalation") is False)
            check(n + ": capabilities drop ALL, add none",
                  sc.get("capabilities", {}).get("drop") == ["ALL"]
                  and not sc.get("capabilities", {}).get("add"))
            check(n + ": not privileged", not sc.get("privileged", False))
            check(n + ": seccompProfile RuntimeDefault",
                  sc.get("seccompProfile", {}).get("type", "RuntimeDefault") == "RuntimeDefault")
            check(n + ": runs stavily", c.get("image", "").startswith("stavily")
                  and c.get("args", [""])[0] in ("agent", "orchestrator"))
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            vols = {v["name"] for v in spec.get("volumes", [])}
            check(n + ": every mount has a volume", mounts <= vols, mounts - vols)
        if label.startswith("Deployment") or label.startswith("DaemonSet"):
            ms = (ds + dep)[0 if label.startswith("DaemonSet") else 1]["spec"]["selector"]["matchLabels"]
            check(label + ": selector matches template labels",
                  all(sel.get(k) == v for k, v in ms.items()))

    secrets = {o["metadata"]["name"]: o for o in find("Secret")}
    check("secret for the installation token", "stavily-install-token" in secrets)
    check("secret for the CA pin", "stavily-ca-pin" in secrets)
    if ds:
        spec = ds[0]["spec"]["template"]["spec"]
        c = spec["containers"][0]
        tok = [v for v in spec["volumes"] if v.get("secret", {}).get("secretName") == "stavily-install-token"]
        check("agent mounts the token secret as a file (0440 or tighter)",
              len(tok) == 1 and (tok[0]["secret"].get("defaultMode", 0o644) & 0o037) == 0,
              tok)
        env = {e["name"]: e for e in c.get("env", [])}
        check("token never in the environment or args",
              not any("token" in str(e).lower() for e in env.values())
              and not any("token" in a.lower() for a in c.get("args", [])))
        pin = env.get("STAVILY_CA_PIN", {}).get("valueFrom", {}).get("secretKeyRef", {})
        check("agent takes the CA pin from its secret", pin.get("name") == "stavily-ca-pin"
              and "agent.ca_pins=$(STAVILY_CA_PIN)" in c.get("args", []))
        state = [m for m in c["volumeMounts"] if m["mountPath"] == "/var/lib/stavily/agent"]
        check("agent state directory on a volume", len(state) == 1)
        cms = find("ConfigMap", "stavily-agent-config")
        check("agent ConfigMap present", len(cms) == 1)
        if cms and STAVILY:
            with tempfile.TemporaryDirectory() as d:
                p = os.path.join(d, "agent.yaml")
                with open(p, "w", encoding="utf-8") as fh:
                    fh.write(cms[0]["data"]["agent.yaml"])
                r = subprocess.run([STAVILY, "config", "check", "--set", "agent.id=node-1",
                                    "--set", "agent.ca_pins=sha256:" + "ab" * 32, p],
                                   capture_output=True, text=True, timeout=30)
                check("embedded agent.yaml passes stavily config check", r.returncode == 0,
                      r.stdout + r.stderr)
    svc = find("Service", "stavily-orchestrator")
    check("orchestrator Service exposes 8443 and 8444",
          svc and sorted(p["port"] for p in svc[0]["spec"]["ports"]) == [8443, 8444])
    if svc and dep:
        tl = dep[0]["spec"]["template"]["metadata"]["labels"]
        check("Service selects the orchestrator pods",
              all(tl.get(k) == v for k, v in svc[0]["spec"]["selector"].items()))
        names = {p["name"] for p in dep[0]["spec"]["template"]["spec"]["containers"][0]["ports"]}
        check("Service targets named container ports",
              all(p["targetPort"] in names for p in svc[0]["spec"]["ports"]))


main()
if not results:
    print("FAIL - no checks ran")

#!/usr/bin/env python3
"""agent_netns.py: the spawner's pooled network namespaces (src/agent/netns.h,
docs/agent.md "Reused network namespaces"), black-box through a real
orchestrator and agent.

A root agent lends loopback-only network namespaces, one per job slot, to
jobs whose policy denies socket() (the default policy does): such a job can
create nothing in a namespace that could outlive it.  The agent here allows
socket() locally; a job tightens that with `--policy blocked_syscalls=
exec,socket`.  The plugin (test/plugins/agent_netinfo.c) prints what
/proc/self/ns/net names; while the spawner holds a pooled namespace open,
its inode number cannot go to another namespace, so "the job's namespace is
one the spawner holds" is checked against /proc/SPAWNER/fd:
  - two jobs in a row (socket denied) run in the same pooled namespace, not
    the host's;
  - a job that may create sockets gets a fresh namespace (layers.netns
    fresh), not one the spawner holds: its child (own session) holding a
    UDP port and an abstract unix name leaves nothing for a later job,
    which runs elsewhere and finds both free;
  - two concurrent jobs take two slots, the spawner holds two descriptors;
  - loopback works in a job's namespace (a UDP datagram to itself);
  - network_access: full runs jobs in the host's namespace (layers.netns
    "host"), an agent started as nobody gets a fresh namespace per job.
Plugins running as uid 0 get a fresh namespace too, but the configuration
refuses `sandbox.user: 0:0`, so no agent can run one: test_agent_netns (unit)
checks that rule on the sandbox API directly.
"""
import json
import os
import socket
import subprocess
import sys
from lib_agent import Checks, Stack, run, wait_for, agent_events

STAVILY = os.environ["STAVILY"]
PLUGINS = os.environ["PLUGINS"]
T = Checks()
S = Stack(STAVILY, "stavily-netns.")
# fork (the "hold" child), socket and bind allowed: the namespace is what
# the test looks at, not the syscall policy
SANDBOX = "sandbox:\n  allowed_syscalls: []\n  blocked_syscalls: [exec]\n  wall_timeout: 20s\n"


def host_cookie():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        return int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), sys.byteorder)
    finally:
        s.close()


HOST_NS = os.readlink("/proc/self/ns/net")
HOST_COOKIE = host_cookie()


def start(name, agent_extra="", sandbox_extra="", as_nobody=False):
    conf, d = S.agent_conf(name, plugins_dir=plugdir, extra=agent_extra + SANDBOX + sandbox_extra)
    if not as_nobody:
        a = S.start_agent(conf, d, env={"STAVILY_INSTALLATION_TOKEN": token})
    else:
        os.chown(d, 65534, 65534)
        tokf = os.path.join(d, "token")
        with open(tokf, "w") as f:
            f.write(S.ctl_json("token", "create", "--tenant", "acme")["token"])
        os.chown(tokf, 65534, 65534)
        os.chmod(tokf, 0o600)
        errf = open(os.path.join(d, "run.stderr"), "a")
        env = dict(os.environ)
        env.pop("STAVILY_INSTALLATION_TOKEN", None)
        a = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", STAVILY,
                              "agent", "register", "-c", conf, "--token-file", tokf],
                             stdout=errf, stderr=errf, env=env)
        a.wait(timeout=30)
        a = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", STAVILY,
                              "agent", "run", "-c", conf], stdout=errf, stderr=errf, env=env)
        S.procs.append(a)
    T.check("agent %s registered and started" % name,
            wait_for(lambda: agent_events(d, "agent_started"), 20), agent_events(d)[-3:])
    return a, d


NOSOCK = ("--policy", "blocked_syscalls=exec,socket")


def submit(agent, args, *policy):
    r = run(STAVILY, "ctl", "-S", S.sock, "--json", "job", "submit", "--agent", "acme/" + agent,
            "--plugin", "netinfo", "--args", json.dumps(args), *policy)
    return json.loads(r.stdout).get("id") if r.returncode == 0 else None


def outcome(jid):
    res = ((S.job_result(jid) if jid else {}).get("result")) or {}
    out = res.get("stdout") if isinstance(res.get("stdout"), dict) else {}
    return res, out


def job(agent, args, *policy):
    return outcome(submit(agent, args, *policy))


def spawner_netns(pid):
    """The network namespaces the spawner holds open ("net:[N]")."""
    held = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("net:["):
            held.append(link)
    return held


def spawner_netns_fds(pid):
    return len(spawner_netns(pid))


def netns_of(res):
    return (res.get("layers") or {}).get("netns")


def summary(res, out):
    return {"status": res.get("status"), "error": res.get("error"),
            "layers": res.get("layers"), "stdout": out, "stderr": res.get("stderr")}


try:
    token = S.boot(T, 5)
    plugdir = os.path.join(S.tmp, "plugins")
    S.install_plugin(plugdir, "netinfo", os.path.join(PLUGINS, "agent_netinfo"))

    # ---- root agent, plugins as 65534: the pool --------------------------------------------
    # two job slots: a job takes a slot whose namespace exists before a new one is made
    a, d = start("pooled", agent_extra="  max_concurrent_jobs: 2\n")
    r1, o1 = job("pooled", {"mode": "ns"}, *NOSOCK)
    r2, o2 = job("pooled", {"mode": "ns"}, *NOSOCK)
    held = spawner_netns(a.pid)
    T.check("a job whose policy denies socket runs in a namespace lent by the pool "
            "(layers.netns reused, 'net' listed)",
            r1.get("status") == "succeeded" and netns_of(r1) == "reused"
            and "net" in (r1.get("layers") or {}).get("namespaces", []), summary(r1, o1))
    T.check("the lent namespace is one the spawner holds open, not the host's",
            o1.get("netns") in held and o1.get("netns") != HOST_NS, (HOST_NS, held, o1))
    T.check("the next job runs in the same namespace",
            r2.get("status") == "succeeded" and netns_of(r2) == "reused"
            and o2.get("netns") == o1.get("netns"), (o1, summary(r2, o2)))

    port = 20000 + os.getpid() % 20000
    r3, o3 = job("pooled", {"mode": "hold", "port": port})
    probe3 = o3.get("probe") or {}
    T.check("a job that may create sockets gets a fresh namespace, not one the spawner holds",
            r3.get("status") == "succeeded" and netns_of(r3) == "fresh"
            and o3.get("netns") not in spawner_netns(a.pid) + [HOST_NS], (held, summary(r3, o3)))
    T.check("that job forks a child (own session) holding UDP 127.0.0.1:%d and an abstract unix "
            "name; its own probe sees both in use" % port,
            o3.get("held") is True and probe3.get("udp") == "in_use" and probe3.get("abstract") == "in_use",
            summary(r3, o3))
    r4, o4 = job("pooled", {"mode": "probe", "port": port})
    probe4 = o4.get("probe") or {}
    T.check("a later job finds the port and the name free: nothing of the previous job reaches it",
            r4.get("status") == "succeeded" and netns_of(r4) == "fresh"
            and probe4.get("udp") == "free" and probe4.get("abstract") == "free", summary(r4, o4))
    T.check("the plugin holds no descriptor above 2 (the pool's is not leaked)",
            o1.get("fds") == [] and o2.get("fds") == [] and o4.get("fds") == [], (o1, o2, o4))

    # two jobs at once take two slots; the spawner holds one descriptor per slot made
    j1 = submit("pooled", {"mode": "wait"}, *NOSOCK)
    j2 = submit("pooled", {"mode": "wait"}, *NOSOCK)
    (w1, u1), (w2, u2) = outcome(j1), outcome(j2)
    held = spawner_netns(a.pid)
    ov = min(w1.get("wall_ms", 0), w2.get("wall_ms", 0))
    T.check("two concurrent jobs run in two different lent namespaces, one of them the first's",
            w1.get("status") == "succeeded" and w2.get("status") == "succeeded"
            and netns_of(w1) == "reused" and netns_of(w2) == "reused"
            and u1.get("netns") != u2.get("netns") and u1.get("netns") in held and u2.get("netns") in held
            and o1.get("netns") in (u1.get("netns"), u2.get("netns")),
            (ov, held, summary(w1, u1), summary(w2, u2)))
    T.check("the spawner holds exactly one network namespace descriptor per slot (2)",
            len(held) == 2, held)

    r5, o5 = job("pooled", {"mode": "loopback"})
    T.check("loopback works in a job's network namespace (UDP datagram to itself over 127.0.0.1)",
            r5.get("status") == "succeeded" and o5.get("loopback") == "ok"
            and o5.get("netns") != HOST_NS, summary(r5, o5))
    T.check("no sandbox_netns_pool_unavailable event as root",
            not agent_events(d, "sandbox_netns_pool_unavailable"), agent_events(d, "sandbox_netns_pool_unavailable"))

    # ---- root agent, network_access: full: the host's namespace, no pool -------------------
    a0, d0 = start("fullnet", sandbox_extra="  network_access: full\n")
    z1, p1 = job("fullnet", {"mode": "ns"})
    T.check("network_access: full runs in the host's namespace (layers.netns host)",
            z1.get("status") == "succeeded" and netns_of(z1) == "host"
            and p1.get("cookie") == HOST_COOKIE and p1.get("netns") == HOST_NS, summary(z1, p1))

    # ---- agent started as nobody: user namespaces, fresh network namespaces ----------------
    an, dn = start("nobody", as_nobody=True)
    n1, q1 = job("nobody", {"mode": "ns"})
    n2, q2 = job("nobody", {"mode": "loopback"})
    T.check("as nobody: no pool (fresh namespace per job, loopback works)",
            n1.get("status") == "succeeded" and n2.get("status") == "succeeded"
            and netns_of(n1) == "fresh" and netns_of(n2) == "fresh"
            and q1.get("cookie") not in (None, 0, HOST_COOKIE) and q2.get("cookie") != q1.get("cookie")
            and q2.get("loopback") == "ok", (summary(n1, q1), summary(n2, q2)))
finally:
    S.close()
sys.exit(1 if T.failures else 0)

"""lib_orch.py: the orchestrator fixture of the black-box tests that talk to
the orchestrator with Python's ssl as the agent (orch_agent, orch_jobs,
orch_lastseen...).  Files named lib* are libraries; test/run.sh does not run
them.

    install(globals(), STAVILY, "stavily-orchjobs.")

gives the test module the names its body uses: TMP, STATE, EVENTS, CONF,
SOCK, CA, EPORT, APORT; S (the lib_agent.Stack underneath); T
(lib_agent.Checks, failures in T.failures) and its ok/fail/check; run;
init(*args) (`orchestrator init -d STATE --name localhost ARGS`);
start(*extra) / stop(sig, timeout) (which keep the module's `server`
current, so a test can kill -9 it); ctl_json; make_csr(name);
enroll(tenant, token, agent_id, source=, timeout=); agent_call(path, cert,
key, body, port, method=, timeout=, source=); events(name); finish() for the
`finally:` of the test.  Every start passes trust_domain (None: none) and
`extra` (arguments for every start); start waits up to start_timeout s.  The
server is killed at exit whatever happens.
"""
import signal

from lib_agent import Checks, Stack, run


def install(g, stavily, prefix, trust_domain="corp.example", extra=(), start_timeout=10.0):
    S = Stack(stavily, prefix, orch_dir="state", events_file="events.log")
    checks = Checks()
    always = (["--set", "orchestrator.trust_domain=" + trust_domain] if trust_domain else []) + list(extra)

    def init(*args):
        return run(stavily, "orchestrator", "init", "-d", S.orch, "--name", "localhost", *args)

    def start(*more):
        up = S.start(*always, *more, timeout=start_timeout)
        g["server"] = S.server
        return up

    def stop(sig=signal.SIGTERM, timeout=15):
        rc = S.stop(sig, timeout)
        g["server"] = None
        return rc

    def finish():
        """Kills the server (and anything else started); when a check failed
        shows the end of its stderr and keeps TMP (as KEEP_TMP does), else
        removes TMP."""
        import os
        if checks.failures:
            try:
                print("  server stderr: " + open(os.path.join(S.tmp, "server.stderr")).read()[-1500:])
            except OSError:
                pass
        S.finish(checks)
        g["server"] = None

    g.update(S=S, TMP=S.tmp, STATE=S.orch, EVENTS=S.events, EPORT=S.eport, APORT=S.aport, CONF=S.conf,
             SOCK=S.sock, CA=S.ca, T=checks, ok=checks.ok, fail=checks.fail, check=checks.check,
             run=run, init=init, start=start, stop=stop, ctl_json=S.ctl_json, make_csr=S.make_csr,
             enroll=S.enroll, agent_call=S.agent_call, events=S.orch_events, finish=finish, server=None)

#!/usr/bin/env python3
"""agent_sensor_config.py: the sensor controls are configuration (section
`sensor`) with stricter-only per-plugin overrides in the manifest, black-box
against a real orchestrator.  Each key is shown to change behaviour:
  sensor.interval        interval plugins run every second while the heartbeat is 30 s
  sensor.rate_limit/burst excess dropped, counted, reported once per window
                         (resource_limit_exceeded, limit event_rate)
  sensor.max_event_size  longer lines dropped, counted, reported (event_size)
  sensor.redact_fields / pseudonymize_fields
                         fields arrive at the orchestrator as "[REDACTED]" /
                         "hmac-sha256:..." (same input, same pseudonym)
  manifest "sensor"      a stricter rate and an extra redacted field apply;
                         looser values are ignored (the agent's apply).
Every wait is bounded; every process is killed at the end.
"""
import json
import os
import signal
import subprocess
import time
from lib_agent import Checks, Stack, run, wait_for, agent_events

STAVILY = os.environ["STAVILY"]
PLUGINS = os.environ["PLUGINS"]
T = Checks()
ok, fail, check = T.ok, T.fail, T.check


def install(st, plugdir, name, sensor=None):
    st.install_plugin(plugdir, name, os.path.join(PLUGINS, "sensor_stream"), kind="sensor")
    if sensor is not None:
        mpath = os.path.join(plugdir, name + ".json")
        m = json.load(open(mpath))
        m["sensor"] = sensor
        with open(mpath, "w") as f:
            json.dump(m, f)


st = Stack(STAVILY, "stavily-sensorconf.")
try:
    r = st.init()
    check("orchestrator init", r.returncode == 0, r.stderr)
    check("orchestrator up", st.start())
    st.ctl_json("tenant", "add", "acme")
    token = st.ctl_json("token", "create", "--tenant", "acme", "--uses", "2")["token"]
    tokf = os.path.join(st.tmp, "token")
    with open(tokf, "w") as f:
        f.write(token)
    plugdir = os.path.join(st.tmp, "plugins")
    # name: PREFIX-events-gap_ms-big_lines-hold (test/plugins/sensor_stream.c)
    RL = "rl-50-0-3-0"            # agent limits only
    STRICT = "strict-50-0-0-0"    # manifest: stricter rate, one more redacted field
    LOOSE = "loose-50-0-0-0"      # manifest: looser rate (ignored)
    TICK = "tick-1-0-0-0"         # runs every sensor.interval
    install(st, plugdir, RL, {"interval": "1h"})
    install(st, plugdir, STRICT, {"interval": "1h", "rate_limit": 2, "burst": 2,
                                  "redact_fields": ["host"], "max_event_size": "1MB"})
    install(st, plugdir, LOOSE, {"interval": "1h", "rate_limit": 100000, "burst": 100000})
    install(st, plugdir, TICK)
    conf, d = st.agent_conf("sc1", kind="sensor", plugins_dir=plugdir,
                            extra="sensor:\n  interval: 1s\n  rate_limit: 10\n  burst: 5\n"
                                  "  max_event_size: 300\n  report_window: 1s\n"
                                  "  redact_fields: [secret]\n  pseudonymize_fields: [user.email]\n")
    text = open(conf).read().replace("heartbeat_interval: 1s", "heartbeat_interval: 30s")
    with open(conf, "w") as f:
        f.write(text)
    r = run(STAVILY, "config", "check", conf)
    check("the sensor section is valid configuration", r.returncode == 0, r.stdout + r.stderr)
    bad = conf + ".bad.yaml"
    with open(bad, "w") as f:
        f.write(text.replace("redact_fields: [secret]", "redact_fields: [user..email]"))
    r = run(STAVILY, "config", "check", bad)
    check("an invalid field path is a configuration error naming the line (exit 78)",
          r.returncode == 78 and ":" in r.stderr and "field path" in r.stderr, (r.returncode, r.stderr))
    r = run(STAVILY, "agent", "register", "-c", conf, "--token-file", tokf)
    check("sensor agent registered", r.returncode == 0, r.stderr)
    a = st.start_agent(conf, d)
    check("sensor agent started", wait_for(lambda: agent_events(d, "agent_started"), 10), agent_events(d))

    def stored(name):
        try:
            return st.ctl_json("events", "query", "--tenant", "acme", "--event", name,
                               "--limit", "5000").get("events", [])
        except RuntimeError:
            return []

    def of(name, plugin, limit=None):
        return [e for e in stored(name)
                if (e.get("plugin") == plugin or e.get("details", {}).get("plugin") == plugin)
                and (limit is None or e.get("details", {}).get("limit") == limit)]

    wait_for(lambda: of("resource_limit_exceeded", RL, "event_size") and
             of("resource_limit_exceeded", LOOSE, "event_rate") and
             of("resource_limit_exceeded", STRICT, "event_rate"), 15)
    time.sleep(2.5)   # more than two report windows: a second report would show
    evs = of("sensor_stream_test", RL)
    rate = of("resource_limit_exceeded", RL, "event_rate")
    check("sensor.rate_limit/burst: 50 events at once -> about burst (5) forwarded",
          5 <= len(evs) <= 7, len(evs))
    check("rate drops counted and reported once (resource_limit_exceeded, event_rate, dropped = rest)",
          len(rate) == 1 and rate[0]["details"].get("dropped") == 50 - len(evs), rate)
    size = of("resource_limit_exceeded", RL, "event_size")
    check("sensor.max_event_size: 3 over-long lines dropped, counted, reported (event_size)",
          len(size) == 1 and size[0]["details"].get("dropped") == 3 and
          not any("big" in e for e in evs), size)
    check("sensor.redact_fields: secret arrives as [REDACTED]",
          evs and all(e.get("secret") == "[REDACTED]" for e in evs), evs[:1])
    check("sensor.pseudonymize_fields: user.email arrives as one keyed hash, user.name untouched",
          evs and all(str(e.get("user", {}).get("email", "")).startswith("hmac-sha256:") and
                      e["user"]["email"] == evs[0]["user"]["email"] and
                      e["user"].get("name") == "alice" and e.get("host") == "h1" for e in evs) and
          "alice@example.com" not in json.dumps(stored("sensor_stream_test")), evs[:1])
    sevs = of("sensor_stream_test", STRICT)
    check("manifest rate_limit 2 / burst 2 (stricter) applies: about 2 forwarded",
          2 <= len(sevs) <= 3, len(sevs))
    check("manifest redact_fields adds to the agent's: host and secret redacted",
          sevs and all(e.get("host") == "[REDACTED]" and e.get("secret") == "[REDACTED]"
                       for e in sevs), sevs[:1])
    lev = of("sensor_stream_test", LOOSE)
    check("manifest looser rate_limit/burst ignored: the agent's burst (5) applies",
          5 <= len(lev) <= 7, len(lev))
    check("manifest looser max_event_size ignored (the agent's 300 applies, events still pass)",
          sevs and all(len(json.dumps(e)) < 1000 for e in sevs))
    time.sleep(3)
    runs = set(e.get("run") for e in of("sensor_stream_test", TICK))
    check("sensor.interval 1s: the interval plugin ran several times (heartbeat is 30 s)",
          len(runs) >= 3, runs)
    check("manifest interval 1h: the others ran once",
          len(set(e.get("run") for e in of("sensor_stream_test", RL))) == 1)
    a.send_signal(signal.SIGTERM)
    try:
        rc = a.wait(timeout=15)
    except subprocess.TimeoutExpired:
        rc = "timeout"
    check("SIGTERM: the agent exits 0", rc == 0, rc)
except Exception as e:   # noqa: BLE001 - any crash is a failure of the test
    fail("agent_sensor_config crashed", repr(e))
finally:
    if T.failures:
        print("  kept " + st.tmp, flush=True)
        for p in st.procs:
            if p.poll() is None:
                p.kill()
    else:
        st.close()
print("agent_sensor_config: %d failure(s)" % T.failures)
raise SystemExit(1 if T.failures else 0)

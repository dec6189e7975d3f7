/*
 * agent_run.h: `stavily agent run` and the helpers the agent commands share.
 *
 * Process model (privsep.h): the parent becomes the spawner (spawner.h);
 * the forked, restricted worker keeps the mTLS link to the orchestrator:
 * heartbeats every agent.heartbeat_interval (status in, commands out),
 * certificate renewal at renew_after plus jitter (the new certificate is
 * tried with a heartbeat before it replaces the old one on disk), and the
 * orchestrator's commands: quarantine/release (LOCKDOWN to the spawner and
 * STATE/quarantine), rotate, revoke (wipe the identity and stop).  Errors
 * back off exponentially with full jitter (backoff.h).  SIGTERM to the
 * spawner is passed to the worker, which sends SHUTDOWN and exits.
 */
#ifndef STAVILY_AGENT_AGENT_RUN_H
#define STAVILY_AGENT_AGENT_RUN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "agent/ident.h"
#include "base/util.h"
#include "config/config.h"
#include "event/event.h"

/* Exit status of `agent run` after a revocation (identity wiped). */
#define AGENT_EXIT_REVOKED 3

/* Config with --set overrides; prints errors.  0 or EXIT_CONFIG. */
int agent_load_config(const char *path, const char *const *sets, size_t n,
    struct config **cfg) WARN_UNUSED;
/* The agent's event log (logging.file or stderr).  NULL on failure (said). */
struct event_log *agent_open_log(const struct config *cfg, const char *agent_id);
/* The installation token (--token-file, agent.token_file,
 * STAVILY_INSTALLATION_TOKEN, agent.token), trimmed, into tok (512 bytes;
 * the caller wipes it).  0, -ENOENT (none) or -errno. */
int agent_read_token(const struct config_agent *ac, const char *token_file, char *tok) WARN_UNUSED;
/* Register (agent_cmd.c).  The token comes from `token_in` when not NULL
 * (wiped here), else as agent_read_token finds it.  Returns an exit status. */
int agent_register(const struct config *cfg, struct event_log *log, const char *token_file,
    char *token_in, int quiet) WARN_UNUSED;

/* One heartbeat with the stored identity; *answer (may be NULL) gets the
 * response object.  0 or <0 (agent_last_error() says why). */
int agent_heartbeat_once(const struct config *cfg, struct event_log *log,
    const struct agent_ident *id, cJSON **answer) WARN_UNUSED;
const char *agent_last_error(void);

/* `agent run`.  Returns an exit status. */
int agent_run_main(const char *cfg_path, const char *const *sets, size_t n_sets);

#endif

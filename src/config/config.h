/*
 * config.h: the typed configuration of agent and orchestrator.
 *
 * One schema, two syntaxes (DESIGN §7): YAML (a strict subset, yaml.c) and
 * INI (inih).  Both are parsed into the same tree of keys with line numbers,
 * then checked against the schema (schema.c) and turned into `struct config`.
 *
 * CONTRACT NOTE: other subsystems (sandbox, agent, orchestrator) code against
 * this header.  Field names and the functions below are stable; new fields
 * may be added.
 */
#ifndef STAVILY_CONFIG_CONFIG_H
#define STAVILY_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/util.h"

/* A list of strings as written (each NUL-terminated, owned by the config). */
struct strlist {
	char **v;
	size_t n;
};

enum sandbox_net { SANDBOX_NET_NONE, SANDBOX_NET_RESTRICTED, SANDBOX_NET_FULL };
enum sandbox_on_violation { SANDBOX_VIOLATION_DENY, SANDBOX_VIOLATION_KILL };
enum sandbox_ns_mode { SANDBOX_NS_AUTO, SANDBOX_NS_OFF, SANDBOX_NS_REQUIRED };

/*
 * One sandbox policy section ("sandbox" for actions, "sensor.sandbox" for
 * sensors).  Defaults: the brief's block (256MB, 0.5 core, restricted
 * network, /tmp and /var/log/stavily, the brief's syscall lists) plus the
 * documented defaults of the added keys.  Zero means "no limit" where noted.
 */
struct config_sandbox {
	uint64_t memory_limit;             /* bytes, 0 = none */
	double cpu_limit;                  /* share of one core (0.5); 0 = none */
	enum sandbox_net network_access;
	struct strlist filesystem_access;  /* "PATH", "PATH:ro" or "PATH:rw", as written */
	struct strlist allowed_syscalls;   /* names/aliases/@groups; empty = no allowlist */
	struct strlist blocked_syscalls;   /* names/aliases/@groups; always wins */
	uint64_t wall_timeout_ms;          /* 0 = none */
	uint64_t max_output;               /* stdout+stderr bytes, 0 = none */
	uint64_t max_processes;            /* 0 = none */
	uint64_t max_open_files;           /* 0 = none */
	uint64_t max_file_size;            /* bytes, 0 = none */
	enum sandbox_on_violation on_violation;
	uint64_t max_violations;           /* kill after N reported violations, 0 = never */
	char *user;                        /* "uid:gid" used when started as root; NULL = 65534:65534 */
	enum sandbox_ns_mode namespaces;
	struct strlist require;            /* layers that must apply: seccomp, landlock, namespaces, ... */
	bool report_fs_denials;            /* report unauthorized_filesystem_access (costs a notify round trip per open) */
	uint64_t tmp_size;                 /* size cap of the private /tmp tmpfs, bytes */
};

/* One configuration error, reported as "FILE:LINE: message". */
struct config_error {
	char *file;
	int line;        /* 0 when the error has no line (e.g. --set) */
	char *msg;
};

struct config_errors {
	struct config_error *v;
	size_t n;
};

struct config; /* opaque to most callers; see config_*() accessors, or include config_impl.h */

/*
 * Load `path` (syntax chosen by extension: .yaml/.yml or .ini; NULL = the
 * defaults alone), apply `overrides` ("dotted.key=value" strings, as from
 * --set, applied after the file and checked by the same schema), validate
 * everything.  On success returns 0 and *out is a new config (free with
 * config_free).  On failure returns -1, *out is NULL and `errs` holds every
 * error found (not only the first).
 */
int config_load(const char *path, const char *const *overrides, size_t n_overrides,
    struct config **out, struct config_errors *errs) WARN_UNUSED;

void config_free(struct config *cfg);

/*
 * The sandbox policy named `section` ("sandbox" when NULL; "sensor.sandbox"
 * for the stricter sensor default).  NULL if there is no such sandbox section.
 * Owned by `cfg`.
 */
const struct config_sandbox *config_sandbox(const struct config *cfg, const char *section);

/* Print every error as "FILE:LINE: message" (or "FILE: message"). */
void config_errors_print(const struct config_errors *errs, FILE *f);
void config_errors_free(struct config_errors *errs);

#endif

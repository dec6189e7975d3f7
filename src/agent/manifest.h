/*
 * manifest.h: plugin manifests (issue 6, docs/agent.md "Plugin manifests").
 *
 * Each installed plugin has `<plugins_dir>/<name>.json`:
 *   {
 *     "name": "hello",                  same as the file stem; [A-Za-z0-9._-]{1,64}
 *     "version": "1.0.0",               1..64 printable characters
 *     "type": "action" | "sensor",
 *     "executable": "hello",            a file name in plugins_dir (no '/')
 *     "sha256": "<64 hex>",             digest of the executable (or "sha256:<hex>")
 *     "policy": { "memory_limit": "64MB", "blocked_syscalls": ["socket"], ... },
 *     "sensor": { "mode": "stream", "rate_limit": 100, ... }   sensor plugins only,
 *                                       checked by sensor_manifest_check (sensor.h)
 *   }
 * "policy" is optional and uses the keys of the `sandbox` config section
 * (sandbox_policy_set syntax: strings, numbers or booleans; lists as JSON
 * arrays of strings).  It may only tighten the local policy (request.h
 * checks that, like a job's limits).  Unknown keys, wrong types, duplicate
 * keys and anything past MANIFEST_MAX bytes are errors.  Only JSON is
 * accepted (not the YAML subset): manifests are written by packaging tools.
 *
 * Digest check: manifest_verify_open() hashes an opened descriptor of the
 * executable and hands that descriptor back; the spawner passes it to
 * sandbox_run_start_fd(), and the sandbox execs from it (execveat with
 * AT_EMPTY_PATH), so the bytes that run are the bytes hashed: swapping the
 * file after the check changes nothing.  (A writer could still rewrite the
 * file *in place* through another descriptor; ownership closes that: the
 * executable, manifest and plugins_dir must be writable by root, or for an
 * unprivileged agent its own uid, only, and be regular files reached
 * without symlinks.)  #! scripts are refused from a verified descriptor.
 */
#ifndef STAVILY_AGENT_MANIFEST_H
#define STAVILY_AGENT_MANIFEST_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/util.h"

#define MANIFEST_MAX (64 * 1024)       /* bytes of one manifest file */
#define MANIFEST_NAME_MAX 64
#define MANIFEST_VERSION_MAX 64
#define MANIFEST_EXEC_MAX 255
#define MANIFEST_POLICY_MAX 32         /* policy keys */
#define MANIFEST_POLICY_LEN_MAX 2048   /* one "key=value" */
#define MANIFEST_ERR_LEN 256
#define MANIFEST_EXEC_SIZE_MAX (256ull * 1024 * 1024) /* hashed file size cap */

enum manifest_type { MANIFEST_ACTION, MANIFEST_SENSOR };

enum manifest_status {
	MANIFEST_OK = 0,
	MANIFEST_E_UNKNOWN,     /* no such plugin installed (or invalid name) */
	MANIFEST_E_MALFORMED,   /* manifest is not a valid manifest */
	MANIFEST_E_IO,          /* read error (message says which file) */
	MANIFEST_E_UNSAFE,      /* writable by others, symlink, not a regular file */
	MANIFEST_E_DIGEST,      /* executable does not match the manifest's sha256 */
	MANIFEST_E_PIN,         /* manifest digest differs from the job's pinned one */
};

struct manifest {
	char name[MANIFEST_NAME_MAX + 1];
	char version[MANIFEST_VERSION_MAX + 1];
	enum manifest_type type;
	char executable[MANIFEST_EXEC_MAX + 1];
	uint8_t sha256[32];
	char *policy[MANIFEST_POLICY_MAX];  /* "key=value", owned */
	size_t n_policy;
	char *sensor;                       /* sensor plugins: the optional "sensor" object
	                                     * (mode, stricter-only limits; agent/sensor.h)
	                                     * as compact JSON, checked; NULL = none; owned */
};

/*
 * Load the manifest of plugin `name` from `plugins_dir`.  Returns MANIFEST_OK
 * and fills `m` (free with manifest_free), or a status with a message in
 * `err` (m holds nothing to free).
 */
enum manifest_status manifest_load(const char *plugins_dir, const char *name, struct manifest *m,
    char err[MANIFEST_ERR_LEN]) WARN_UNUSED;

/* Parse manifest text (`len` bytes, need not be NUL-terminated); `name` is
 * the name it must declare (NULL: any valid name).  Same results as above. */
enum manifest_status manifest_parse(const char *text, size_t len, const char *name,
    struct manifest *m, char err[MANIFEST_ERR_LEN]) WARN_UNUSED;

void manifest_free(struct manifest *m);

/*
 * Check the executable of `m` before a run: ownership and permissions (see
 * above), then SHA-256 of its contents against the manifest and, when
 * `pinned` is not NULL/"", against the job's pin ("sha256:<hex>").  On
 * MANIFEST_OK, `path` holds the absolute executable path to run.
 */
enum manifest_status manifest_verify(const char *plugins_dir, const struct manifest *m,
    const char *pinned, char path[PATH_MAX], char err[MANIFEST_ERR_LEN]) WARN_UNUSED;

/*
 * The same, keeping the hashed descriptor: on MANIFEST_OK `*fd` is the
 * O_RDONLY|O_CLOEXEC descriptor whose contents matched (caller closes it;
 * pass it to sandbox_run_start_fd so that what runs is what was hashed).
 * On any other result `*fd` is -1.
 */
enum manifest_status manifest_verify_open(const char *plugins_dir, const struct manifest *m,
    const char *pinned, char path[PATH_MAX], int *fd, char err[MANIFEST_ERR_LEN]) WARN_UNUSED;

/* SHA-256 of what `fd` reads until EOF (at most `max` bytes, else -EFBIG).
 * Returns 0 or -errno. */
int manifest_hash_fd(int fd, uint64_t max, uint8_t out[32]) WARN_UNUSED;

/*
 * One member of a "policy" object (a manifest's, or a job's as the
 * orchestrator hands it out) as the "key=value" text sandbox_policy_set
 * takes: strings as they are, booleans true/false, numbers, lists of
 * strings joined by ','.  Only the sandbox keys a manifest may set ("user"
 * never).  Returns a malloc'd string, or NULL with `err` filled.
 */
char *manifest_policy_entry(const cJSON *v, char err[MANIFEST_ERR_LEN]);

const char *manifest_status_name(enum manifest_status s);

#endif

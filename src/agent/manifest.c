/* see manifest.h */
#include "agent/manifest.h"

#include <bearssl.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/msg.h"
#include "agent/sensor.h"
#include "base/fileio.h"
#include "base/hex.h"

/* The sandbox keys a manifest may set.  Not "user": a plugin package must
 * not choose the uid its code runs as. */
static const char *const policy_keys[] = {
	"memory_limit", "cpu_limit", "network_access", "filesystem_access", "allowed_syscalls",
	"blocked_syscalls", "wall_timeout", "max_output", "max_processes", "max_open_files",
	"max_file_size", "on_violation", "max_violations", "namespaces", "require",
	"report_fs_denials", "tmp_size",
};

const char *
manifest_status_name(enum manifest_status s)
{
	switch (s) {
	case MANIFEST_OK: return "ok";
	case MANIFEST_E_UNKNOWN: return "unknown plugin";
	case MANIFEST_E_MALFORMED: return "malformed manifest";
	case MANIFEST_E_IO: return "cannot read plugin";
	case MANIFEST_E_UNSAFE: return "unsafe plugin file permissions";
	case MANIFEST_E_DIGEST: return "plugin digest mismatch";
	case MANIFEST_E_PIN: return "plugin digest differs from the job's pin";
	}
	return "unknown";
}

void
manifest_free(struct manifest *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_policy && i < MANIFEST_POLICY_MAX; i++)
		free(m->policy[i]);
	free(m->sensor);
	memset(m, 0, sizeof(*m));
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* A required string member of at most `max` bytes. */
static const char *
get_str(const cJSON *o, const char *key, size_t max, char err[MANIFEST_ERR_LEN])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		snprintf(err, MANIFEST_ERR_LEN, "\"%s\" must be a string", key);
		return NULL;
	}
	if (strlen(v->valuestring) == 0 || strlen(v->valuestring) > max || !printable(v->valuestring)) {
		snprintf(err, MANIFEST_ERR_LEN, "\"%s\" must be 1..%zu printable characters", key, max);
		return NULL;
	}
	return v->valuestring;
}

/* One policy member -> "key=value" (lists joined by ','). */
static char *
policy_entry(const cJSON *v, char err[MANIFEST_ERR_LEN])
{
	char val[MANIFEST_POLICY_LEN_MAX];
	size_t klen = strlen(v->string), used = 0, i;
	const cJSON *e;
	char *out;
	int found = 0;

	for (i = 0; i < ARRAY_SIZE(policy_keys); i++)
		found |= strcmp(v->string, policy_keys[i]) == 0;
	if (!found) {
		snprintf(err, MANIFEST_ERR_LEN, "policy: unknown key \"%.64s\"", v->string);
		return NULL;
	}
	val[0] = '\0';
	if (cJSON_IsString(v)) {
		if (strlen(v->valuestring) >= sizeof(val) || !printable(v->valuestring))
			goto bad;
		snprintf(val, sizeof(val), "%s", v->valuestring);
	} else if (cJSON_IsBool(v)) {
		snprintf(val, sizeof(val), "%s", cJSON_IsTrue(v) ? "true" : "false");
	} else if (cJSON_IsNumber(v)) {
		if (!(v->valuedouble >= 0 && v->valuedouble <= 1e15))
			goto bad;
		snprintf(val, sizeof(val), "%.17g", v->valuedouble);
	} else if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(e, v) {
			size_t n;

			if (!cJSON_IsString(e) || !printable(e->valuestring) ||
			    strchr(e->valuestring, ',') != NULL)
				goto bad;
			n = strlen(e->valuestring);
			if (used + n + 2 > sizeof(val))
				goto bad;
			if (used != 0)
				val[used++] = ',';
			memcpy(val + used, e->valuestring, n + 1);
			used += n;
		}
	} else {
		goto bad;
	}
	out = malloc(klen + 1 + strlen(val) + 1);
	if (out == NULL) {
		snprintf(err, MANIFEST_ERR_LEN, "out of memory");
		return NULL;
	}
	sprintf(out, "%s=%s", v->string, val);
	return out;
bad:
	snprintf(err, MANIFEST_ERR_LEN, "policy: \"%.64s\" has an invalid value", v->string);
	return NULL;
}

char *
manifest_policy_entry(const cJSON *v, char err[MANIFEST_ERR_LEN])
{
	return policy_entry(v, err);
}

/* Objects with a key twice are ambiguous (which one wins differs between
 * parsers): refuse them. */
static int
has_duplicate_keys(const cJSON *o)
{
	const cJSON *a, *b;

	for (a = o->child; a != NULL; a = a->next)
		for (b = a->next; b != NULL; b = b->next)
			if (a->string != NULL && b->string != NULL && strcmp(a->string, b->string) == 0)
				return 1;
	return 0;
}

enum manifest_status
manifest_parse(const char *text, size_t len, const char *name, struct manifest *m,
    char err[MANIFEST_ERR_LEN])
{
	static const char *const known[] = { "name", "version", "type", "executable", "sha256", "policy",
		"sensor" };
	cJSON *root = NULL;
	const cJSON *v, *pol;
	const char *s;
	size_t i;
	enum manifest_status st = MANIFEST_E_MALFORMED;

	memset(m, 0, sizeof(*m));
	err[0] = '\0';
	if (len > MANIFEST_MAX) {
		snprintf(err, MANIFEST_ERR_LEN, "manifest larger than %d bytes", MANIFEST_MAX);
		return MANIFEST_E_MALFORMED;
	}
	root = cJSON_ParseWithLength(text, len);
	if (root == NULL || !cJSON_IsObject(root)) {
		snprintf(err, MANIFEST_ERR_LEN, "not a JSON object");
		goto out;
	}
	if (has_duplicate_keys(root)) {
		snprintf(err, MANIFEST_ERR_LEN, "duplicate key");
		goto out;
	}
	cJSON_ArrayForEach(v, root) {
		int ok = 0;
		for (i = 0; i < ARRAY_SIZE(known); i++)
			ok |= strcmp(v->string, known[i]) == 0;
		if (!ok) {
			snprintf(err, MANIFEST_ERR_LEN, "unknown key \"%.64s\"", v->string);
			goto out;
		}
	}
	if ((s = get_str(root, "name", MANIFEST_NAME_MAX, err)) == NULL)
		goto out;
	if (!msg_id_valid(s) || (name != NULL && strcmp(s, name) != 0)) {
		snprintf(err, MANIFEST_ERR_LEN, "\"name\" must be the manifest's file name ([A-Za-z0-9._-])");
		goto out;
	}
	strcpy(m->name, s);
	if ((s = get_str(root, "version", MANIFEST_VERSION_MAX, err)) == NULL)
		goto out;
	strcpy(m->version, s);
	if ((s = get_str(root, "type", 16, err)) == NULL)
		goto out;
	if (strcmp(s, "action") == 0) {
		m->type = MANIFEST_ACTION;
	} else if (strcmp(s, "sensor") == 0) {
		m->type = MANIFEST_SENSOR;
	} else {
		snprintf(err, MANIFEST_ERR_LEN, "\"type\" must be action or sensor");
		goto out;
	}
	if ((s = get_str(root, "executable", MANIFEST_EXEC_MAX, err)) == NULL)
		goto out;
	if (strchr(s, '/') != NULL || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		snprintf(err, MANIFEST_ERR_LEN, "\"executable\" must be a file name in plugins_dir");
		goto out;
	}
	strcpy(m->executable, s);
	if ((s = get_str(root, "sha256", 71, err)) == NULL)
		goto out;
	if (strncmp(s, "sha256:", 7) == 0)
		s += 7;
	if (strlen(s) != 64 || hex_decode(s, m->sha256, 32) != 0) {
		snprintf(err, MANIFEST_ERR_LEN, "\"sha256\" must be 64 hex digits");
		goto out;
	}
	pol = cJSON_GetObjectItemCaseSensitive(root, "policy");
	if (pol != NULL) {
		if (!cJSON_IsObject(pol) || has_duplicate_keys(pol)) {
			snprintf(err, MANIFEST_ERR_LEN, "\"policy\" must be an object without duplicate keys");
			goto out;
		}
		cJSON_ArrayForEach(v, pol) {
			if (m->n_policy >= MANIFEST_POLICY_MAX) {
				snprintf(err, MANIFEST_ERR_LEN, "policy: more than %d keys", MANIFEST_POLICY_MAX);
				goto out;
			}
			if ((m->policy[m->n_policy] = policy_entry(v, err)) == NULL)
				goto out;
			m->n_policy++;
		}
	}
	/* sensor settings (agent/sensor.h): checked here, applied by the spawner */
	v = cJSON_GetObjectItemCaseSensitive(root, "sensor");
	if (v != NULL) {
		char serr[128];

		if (m->type != MANIFEST_SENSOR) {
			snprintf(err, MANIFEST_ERR_LEN, "\"sensor\" is only for plugins of type sensor");
			goto out;
		}
		if (sensor_manifest_check(v, serr) != 0) {
			snprintf(err, MANIFEST_ERR_LEN, "%s", serr);
			goto out;
		}
		if ((m->sensor = cJSON_PrintUnformatted(v)) == NULL) {
			snprintf(err, MANIFEST_ERR_LEN, "out of memory");
			goto out;
		}
	}
	st = MANIFEST_OK;
out:
	cJSON_Delete(root);
	if (st != MANIFEST_OK)
		manifest_free(m);
	return st;
}

/* Writable by someone we do not trust?  Trusted writers: root, and the
 * agent's own uid when it runs unprivileged (it owns its plugins then). */
static int
unsafe_owner(const struct stat *st)
{
	uid_t me = geteuid();

	if (st->st_uid != 0 && st->st_uid != me)
		return 1;
	return (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

static enum manifest_status
check_dir(const char *plugins_dir, char err[MANIFEST_ERR_LEN])
{
	struct stat st;

	if (stat(plugins_dir, &st) != 0) {
		snprintf(err, MANIFEST_ERR_LEN, "plugins_dir %.160s: %s", plugins_dir, strerror(errno));
		return MANIFEST_E_IO;
	}
	if (!S_ISDIR(st.st_mode) || unsafe_owner(&st)) {
		snprintf(err, MANIFEST_ERR_LEN,
		    "plugins_dir %.160s must be a directory writable only by root", plugins_dir);
		return MANIFEST_E_UNSAFE;
	}
	return MANIFEST_OK;
}

enum manifest_status
manifest_load(const char *plugins_dir, const char *name, struct manifest *m,
    char err[MANIFEST_ERR_LEN])
{
	char path[PATH_MAX];
	char *text = NULL;
	size_t len;
	struct stat st;
	enum manifest_status s;
	int fd = -1, r;

	memset(m, 0, sizeof(*m));
	err[0] = '\0';
	if (!msg_id_valid(name)) {
		snprintf(err, MANIFEST_ERR_LEN, "invalid plugin name");
		return MANIFEST_E_UNKNOWN;
	}
	if ((s = check_dir(plugins_dir, err)) != MANIFEST_OK)
		return s;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.json", plugins_dir, name) >= sizeof(path)) {
		snprintf(err, MANIFEST_ERR_LEN, "path too long");
		return MANIFEST_E_IO;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT) {
			snprintf(err, MANIFEST_ERR_LEN, "plugin '%s' is not installed (no %.160s)", name, path);
			return MANIFEST_E_UNKNOWN;
		}
		snprintf(err, MANIFEST_ERR_LEN, "%.160s: %s", path,
		    errno == ELOOP ? "is a symlink" : strerror(errno));
		return errno == ELOOP ? MANIFEST_E_UNSAFE : MANIFEST_E_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || unsafe_owner(&st)) {
		snprintf(err, MANIFEST_ERR_LEN, "%.160s must be a regular file writable only by root", path);
		s = MANIFEST_E_UNSAFE;
		goto out;
	}
	r = fd_read_all(fd, MANIFEST_MAX, &text, &len);
	if (r == -EFBIG) {
		snprintf(err, MANIFEST_ERR_LEN, "%.160s: larger than %d bytes", path, MANIFEST_MAX);
		s = MANIFEST_E_MALFORMED;
		goto out;
	}
	if (r != 0) {
		snprintf(err, MANIFEST_ERR_LEN, "%.160s: %s", path, strerror(-r));
		s = MANIFEST_E_IO;
		goto out;
	}
	s = manifest_parse(text, len, name, m, err);
	if (s != MANIFEST_OK) {
		char tmp[MANIFEST_ERR_LEN];

		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, MANIFEST_ERR_LEN, "%.100s: %.140s", path, tmp);
	}
out:
	free(text);
	close(fd);
	return s;
}

int
manifest_hash_fd(int fd, uint64_t max, uint8_t out[32])
{
	br_sha256_context ctx;
	uint8_t buf[16384];
	uint64_t total = 0;
	ssize_t n;

	br_sha256_init(&ctx);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > max)
			return -EFBIG;
		br_sha256_update(&ctx, buf, (size_t)n);
	}
	br_sha256_out(&ctx, out);
	return 0;
}

/* Constant time is not needed for a public digest, but costs nothing. */
static int
digest_equal(const uint8_t *a, const uint8_t *b)
{
	unsigned d = 0;
	int i;

	for (i = 0; i < 32; i++)
		d |= (unsigned)(a[i] ^ b[i]);
	return d == 0;
}

enum manifest_status
manifest_verify(const char *plugins_dir, const struct manifest *m, const char *pinned,
    char path[PATH_MAX], char err[MANIFEST_ERR_LEN])
{
	int fd = -1;
	enum manifest_status s = manifest_verify_open(plugins_dir, m, pinned, path, &fd, err);

	if (fd >= 0)
		close(fd);
	return s;
}

enum manifest_status
manifest_verify_open(const char *plugins_dir, const struct manifest *m, const char *pinned,
    char path[PATH_MAX], int *fd_out, char err[MANIFEST_ERR_LEN])
{
	uint8_t got[32], pin[32];
	char hexd[65];
	struct stat st;
	enum manifest_status s;
	int fd, r;

	*fd_out = -1;
	err[0] = '\0';
	if ((s = check_dir(plugins_dir, err)) != MANIFEST_OK)
		return s;
	if (pinned != NULL && pinned[0] != '\0') {
		if (!msg_digest_valid(pinned) || hex_decode(pinned + 7, pin, 32) != 0) {
			snprintf(err, MANIFEST_ERR_LEN, "pinned digest must be sha256:<64 hex>");
			return MANIFEST_E_PIN;
		}
		/* The pin names what the job expects; the manifest must agree
		 * before we even look at the file. */
		if (!digest_equal(pin, m->sha256)) {
			snprintf(err, MANIFEST_ERR_LEN, "plugin '%s': job pins %s, manifest says another digest",
			    m->name, pinned);
			return MANIFEST_E_PIN;
		}
	}
	if ((size_t)snprintf(path, PATH_MAX, "%s/%s", plugins_dir, m->executable) >= PATH_MAX) {
		snprintf(err, MANIFEST_ERR_LEN, "path too long");
		return MANIFEST_E_IO;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, MANIFEST_ERR_LEN, "%.160s: %s", path,
		    errno == ELOOP ? "is a symlink" : strerror(errno));
		return errno == ELOOP ? MANIFEST_E_UNSAFE : MANIFEST_E_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || unsafe_owner(&st)) {
		snprintf(err, MANIFEST_ERR_LEN, "%.160s must be a regular file writable only by root", path);
		s = MANIFEST_E_UNSAFE;
		goto out;
	}
	r = manifest_hash_fd(fd, MANIFEST_EXEC_SIZE_MAX, got);
	if (r != 0) {
		snprintf(err, MANIFEST_ERR_LEN, "%.160s: %s", path, strerror(-r));
		s = MANIFEST_E_IO;
		goto out;
	}
	if (!digest_equal(got, m->sha256)) {
		hex_encode(got, 32, hexd);
		hexd[64] = '\0';
		snprintf(err, MANIFEST_ERR_LEN, "plugin '%s': executable has sha256:%s, not the manifest's",
		    m->name, hexd);
		s = MANIFEST_E_DIGEST;
		goto out;
	}
	/* The caller execs from this descriptor: the bytes that run are the
	 * bytes just hashed, whatever the path names by then. */
	*fd_out = fd;
	fd = -1;
	s = MANIFEST_OK;
out:
	if (fd >= 0)
		close(fd);
	return s;
}

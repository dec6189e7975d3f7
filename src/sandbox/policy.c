/* see policy.h */
#include "sandbox/policy.h"
#include "config/units.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The schema's defaults are written in SI units ("256MB" = 256 * 10^6). */
#define MB UINT64_C(1000000)

static const char *const layer_names[] = {
	"seccomp", "seccomp_user_notif", "landlock", "namespaces",
	"no_new_privs", "capabilities", "rlimits", "cgroup",
};

const char *
sandbox_layer_name(unsigned bit)
{
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(layer_names); i++)
		if (bit == 1u << i)
			return layer_names[i];
	return "?";
}

static int
layer_parse(const char *s, unsigned *bit)
{
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(layer_names); i++)
		if (strcmp(s, layer_names[i]) == 0) {
			*bit = 1u << i;
			return 0;
		}
	return -EINVAL;
}

/* One grammar for sizes and durations everywhere (config/units.h): a
 * --set value means what the same text means in a configuration file. */
int
sandbox_parse_size(const char *s, uint64_t *out)
{
	return s != NULL && units_parse_size(s, out) == 0 ? 0 : -EINVAL;
}

int
sandbox_parse_duration_ms(const char *s, uint64_t *out)
{
	return s != NULL && units_parse_duration(s, out) == 0 ? 0 : -EINVAL;
}

static void
fs_clear(struct sandbox_policy *p)
{
	size_t i;

	for (i = 0; i < p->n_fs; i++)
		free(p->fs[i].path);
	p->n_fs = 0;
}

void
sandbox_policy_free(struct sandbox_policy *p)
{
	if (p != NULL)
		fs_clear(p);
}

/* "PATH", "PATH:ro" or "PATH:rw". */
static int
fs_add(struct sandbox_policy *p, const char *entry, char err[SANDBOX_ERR_LEN])
{
	size_t len = strlen(entry);
	bool write = true;
	char *path;

	if (len > 3 && strcmp(entry + len - 3, ":ro") == 0) {
		write = false;
		len -= 3;
	} else if (len > 3 && strcmp(entry + len - 3, ":rw") == 0) {
		len -= 3;
	}
	if (len == 0 || entry[0] != '/' || len >= SANDBOX_MAX_PATH) {
		snprintf(err, SANDBOX_ERR_LEN, "filesystem_access: '%s' is not an absolute path", entry);
		return -EINVAL;
	}
	if (p->n_fs == SANDBOX_MAX_FS_RULES) {
		snprintf(err, SANDBOX_ERR_LEN, "filesystem_access: more than %d entries",
		    SANDBOX_MAX_FS_RULES);
		return -EINVAL;
	}
	path = strndup(entry, len);
	if (path == NULL) {
		snprintf(err, SANDBOX_ERR_LEN, "out of memory");
		return -ENOMEM;
	}
	/* "/tmp/" and "/tmp" are the same rule. */
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	p->fs[p->n_fs].path = path;
	p->fs[p->n_fs].write = write;
	p->n_fs++;
	return 0;
}

static int
sysset_from_list(struct sandbox_sysset *set, const char *const *names, size_t n,
    const char *key, char err[SANDBOX_ERR_LEN])
{
	size_t i;

	memset(set, 0, sizeof(*set));
	for (i = 0; i < n; i++)
		if (sandbox_sysset_add(set, names[i]) != 0) {
			snprintf(err, SANDBOX_ERR_LEN, "%s: unknown syscall '%s'", key, names[i]);
			return -EINVAL;
		}
	return 0;
}

/* The allowlist always includes @default (issue 3). */
static int
set_allowed(struct sandbox_policy *p, const char *const *names, size_t n,
    char err[SANDBOX_ERR_LEN])
{
	int r = sysset_from_list(&p->allowed, names, n, "allowed_syscalls", err);

	if (r != 0)
		return r;
	p->allowlist = n > 0;
	if (p->allowlist && sandbox_sysset_add(&p->allowed, "@default") != 0)
		return -EINVAL;
	return 0;
}

static int
parse_user(const char *s, uid_t *uid, gid_t *gid)
{
	unsigned long u, g;
	char *end;

	errno = 0;
	u = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != ':' || u >= 0xffffffffUL)
		return -EINVAL;
	s = end + 1;
	g = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || g >= 0xffffffffUL)
		return -EINVAL;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

void
sandbox_policy_init_default(struct sandbox_policy *p)
{
	static const char *const allowed[] = { "read", "write", "open", "close", "stat" };
	static const char *const blocked[] = { "exec", "fork", "socket", "bind" };
	char err[SANDBOX_ERR_LEN];

	memset(p, 0, sizeof(*p));
	p->memory_limit = 256 * MB;
	p->cpu_limit = 0.5;
	p->network = SANDBOX_NET_RESTRICTED;
	(void)fs_add(p, "/tmp", err);
	(void)fs_add(p, "/var/log/stavily", err);
	(void)set_allowed(p, allowed, ARRAY_SIZE(allowed), err);
	(void)sysset_from_list(&p->blocked, blocked, ARRAY_SIZE(blocked), "blocked_syscalls", err);
	p->wall_timeout_ms = 60000;
	p->max_output = 1 * MB;
	p->max_processes = 32;
	p->max_open_files = 64;
	p->max_file_size = 64 * MB;
	p->on_violation = SANDBOX_VIOLATION_DENY;
	p->max_violations = 100;
	p->uid = 65534;
	p->gid = 65534;
	p->namespaces = SANDBOX_NS_AUTO;
	p->require = 0;
	p->report_fs_denials = true;
	p->tmp_size = 64 * MB;
	snprintf(p->cgroup, sizeof(p->cgroup), "auto");
}

int
sandbox_policy_from_config(struct sandbox_policy *p, const struct config_sandbox *cs,
    char err[SANDBOX_ERR_LEN])
{
	size_t i;
	int r;

	sandbox_policy_free(p);
	sandbox_policy_init_default(p);
	fs_clear(p);
	p->memory_limit = cs->memory_limit;
	p->cpu_limit = cs->cpu_limit;
	p->network = cs->network_access;
	for (i = 0; i < cs->filesystem_access.n; i++)
		if ((r = fs_add(p, cs->filesystem_access.v[i], err)) != 0)
			return r;
	r = set_allowed(p, (const char *const *)cs->allowed_syscalls.v, cs->allowed_syscalls.n, err);
	if (r != 0)
		return r;
	r = sysset_from_list(&p->blocked, (const char *const *)cs->blocked_syscalls.v,
	    cs->blocked_syscalls.n, "blocked_syscalls", err);
	if (r != 0)
		return r;
	p->wall_timeout_ms = cs->wall_timeout_ms;
	p->max_output = cs->max_output;
	p->max_processes = cs->max_processes;
	p->max_open_files = cs->max_open_files;
	if (p->max_open_files > SANDBOX_MAX_OPEN_FILES) {
		snprintf(err, SANDBOX_ERR_LEN, "max_open_files: at most %d", SANDBOX_MAX_OPEN_FILES);
		return -EINVAL;
	}
	p->user_notif_off = cs->user_notification == SANDBOX_USER_NOTIF_OFF;
	p->max_file_size = cs->max_file_size;
	p->on_violation = cs->on_violation;
	p->max_violations = cs->max_violations;
	if (cs->user != NULL && parse_user(cs->user, &p->uid, &p->gid) != 0) {
		snprintf(err, SANDBOX_ERR_LEN, "user: '%s' is not UID:GID", cs->user);
		return -EINVAL;
	}
	p->namespaces = cs->namespaces;
	p->require = 0;
	for (i = 0; i < cs->require.n; i++) {
		unsigned bit;

		if (layer_parse(cs->require.v[i], &bit) != 0) {
			snprintf(err, SANDBOX_ERR_LEN, "require: unknown layer '%s'", cs->require.v[i]);
			return -EINVAL;
		}
		p->require |= bit;
	}
	p->report_fs_denials = cs->report_fs_denials;
	if (cs->tmp_size != 0)
		p->tmp_size = cs->tmp_size;
	if (cs->cgroup != NULL) {
		if (strlen(cs->cgroup) >= sizeof(p->cgroup)) {
			snprintf(err, SANDBOX_ERR_LEN, "cgroup: path longer than %zu bytes",
			    sizeof(p->cgroup) - 1);
			return -EINVAL;
		}
		snprintf(p->cgroup, sizeof(p->cgroup), "%s", cs->cgroup);
	}
	return 0;
}

/* Split a comma list in place into at most `max` trimmed, non-empty items. */
#define LIST_MAX 128
static int
split_list(char *s, char **items, size_t max, size_t *n)
{
	char *tok, *save = NULL;

	*n = 0;
	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *e;

		while (isspace((unsigned char)*tok))
			tok++;
		e = tok + strlen(tok);
		while (e > tok && isspace((unsigned char)e[-1]))
			*--e = '\0';
		/* Accept the flow-sequence spelling "[a, b]" too. */
		if (*tok == '[')
			tok++;
		e = tok + strlen(tok);
		if (e > tok && e[-1] == ']')
			*--e = '\0';
		if (*tok == '\0')
			continue;
		if (*n == max)
			return -E2BIG;
		items[(*n)++] = tok;
	}
	return 0;
}

static int
parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0 || strcmp(v, "on") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0 || strcmp(v, "off") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

int
sandbox_policy_set(struct sandbox_policy *p, const char *kv, char err[SANDBOX_ERR_LEN])
{
	const char *eq = strchr(kv, '=');
	char key[64], *val = NULL, *items[LIST_MAX];
	size_t klen, n, i;
	int r = -EINVAL;

	if (eq == NULL || (klen = (size_t)(eq - kv)) == 0 || klen >= sizeof(key)) {
		snprintf(err, SANDBOX_ERR_LEN, "--set wants KEY=VALUE, got '%.64s'", kv);
		return -EINVAL;
	}
	memcpy(key, kv, klen);
	key[klen] = '\0';
	/* "sandbox.memory_limit" is accepted as well as "memory_limit". */
	if (strncmp(key, "sandbox.", 8) == 0)
		memmove(key, key + 8, strlen(key + 8) + 1);
	val = strdup(eq + 1);
	if (val == NULL) {
		snprintf(err, SANDBOX_ERR_LEN, "out of memory");
		return -ENOMEM;
	}
	err[0] = '\0';
	if (strcmp(key, "memory_limit") == 0) {
		r = sandbox_parse_size(val, &p->memory_limit);
	} else if (strcmp(key, "cpu_limit") == 0) {
		char *end;
		double d = strtod(val, &end);

		if (end != val && *end == '\0' && d >= 0 && d <= 1024) {
			p->cpu_limit = d;
			r = 0;
		}
	} else if (strcmp(key, "network_access") == 0) {
		r = 0;
		if (strcmp(val, "none") == 0)
			p->network = SANDBOX_NET_NONE;
		else if (strcmp(val, "restricted") == 0)
			p->network = SANDBOX_NET_RESTRICTED;
		else if (strcmp(val, "full") == 0)
			p->network = SANDBOX_NET_FULL;
		else
			r = -EINVAL;
	} else if (strcmp(key, "filesystem_access") == 0) {
		if ((r = split_list(val, items, LIST_MAX, &n)) == 0) {
			fs_clear(p);
			for (i = 0; i < n && r == 0; i++)
				r = fs_add(p, items[i], err);
		}
	} else if (strcmp(key, "allowed_syscalls") == 0) {
		if ((r = split_list(val, items, LIST_MAX, &n)) == 0)
			r = set_allowed(p, (const char *const *)items, n, err);
	} else if (strcmp(key, "blocked_syscalls") == 0) {
		if ((r = split_list(val, items, LIST_MAX, &n)) == 0)
			r = sysset_from_list(&p->blocked, (const char *const *)items, n,
			    "blocked_syscalls", err);
	} else if (strcmp(key, "wall_timeout") == 0) {
		r = sandbox_parse_duration_ms(val, &p->wall_timeout_ms);
	} else if (strcmp(key, "max_output") == 0) {
		r = sandbox_parse_size(val, &p->max_output);
	} else if (strcmp(key, "max_processes") == 0) {
		r = sandbox_parse_size(val, &p->max_processes);
	} else if (strcmp(key, "max_open_files") == 0) {
		r = sandbox_parse_size(val, &p->max_open_files);
		/* Above it the plugin could create SANDBOX_EXEC_FD (policy.h). */
		if (r == 0 && p->max_open_files > SANDBOX_MAX_OPEN_FILES) {
			snprintf(err, SANDBOX_ERR_LEN, "max_open_files: at most %d", SANDBOX_MAX_OPEN_FILES);
			r = -EINVAL;
		}
	} else if (strcmp(key, "max_file_size") == 0) {
		r = sandbox_parse_size(val, &p->max_file_size);
	} else if (strcmp(key, "max_violations") == 0) {
		r = sandbox_parse_size(val, &p->max_violations);
	} else if (strcmp(key, "tmp_size") == 0) {
		r = sandbox_parse_size(val, &p->tmp_size);
	} else if (strcmp(key, "on_violation") == 0) {
		r = 0;
		if (strcmp(val, "deny") == 0)
			p->on_violation = SANDBOX_VIOLATION_DENY;
		else if (strcmp(val, "kill") == 0)
			p->on_violation = SANDBOX_VIOLATION_KILL;
		else
			r = -EINVAL;
	} else if (strcmp(key, "user") == 0) {
		r = parse_user(val, &p->uid, &p->gid);
	} else if (strcmp(key, "namespaces") == 0) {
		r = 0;
		if (strcmp(val, "auto") == 0)
			p->namespaces = SANDBOX_NS_AUTO;
		else if (strcmp(val, "off") == 0)
			p->namespaces = SANDBOX_NS_OFF;
		else if (strcmp(val, "required") == 0)
			p->namespaces = SANDBOX_NS_REQUIRED;
		else
			r = -EINVAL;
	} else if (strcmp(key, "require") == 0) {
		if ((r = split_list(val, items, LIST_MAX, &n)) == 0) {
			unsigned mask = 0, bit;

			for (i = 0; i < n && r == 0; i++) {
				r = layer_parse(items[i], &bit);
				if (r != 0)
					snprintf(err, SANDBOX_ERR_LEN, "require: unknown layer '%s'", items[i]);
				mask |= bit;
			}
			if (r == 0)
				p->require = mask;
		}
	} else if (strcmp(key, "report_fs_denials") == 0) {
		r = parse_bool(val, &p->report_fs_denials);
	} else {
		snprintf(err, SANDBOX_ERR_LEN, "unknown sandbox key '%s'", key);
		r = -EINVAL;
		goto out;
	}
	if (r != 0 && err[0] == '\0')
		snprintf(err, SANDBOX_ERR_LEN, "%s: invalid value '%.64s'", key, eq + 1);
out:
	free(val);
	return r;
}

/* see config.h */
#include "config/config_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/fileio.h"
#include "config/inifile.h"
#include "config/schema.h"
#include "config/yaml.h"

/* The schema stores enums through an int pointer. */
_Static_assert(sizeof(enum sandbox_net) == sizeof(int), "enum size");
_Static_assert(sizeof(enum sandbox_on_violation) == sizeof(int), "enum size");
_Static_assert(sizeof(enum sandbox_ns_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_agent_type) == sizeof(int), "enum size");

void
config_errors_add(struct config_errors *errs, const char *file, int line, const char *fmt, ...)
{
	struct config_error *v, *e;
	char msg[512];
	va_list ap;

	if (errs->n > CONFIG_MAX_ERRORS)
		return;
	if (errs->n == CONFIG_MAX_ERRORS) {
		file = file ? file : "--set";
		line = 0;
		snprintf(msg, sizeof(msg), "too many errors (only the first %d are shown)", CONFIG_MAX_ERRORS);
	} else {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	v = realloc(errs->v, (errs->n + 1) * sizeof(*v));
	if (v == NULL)
		return; /* the load fails anyway: config_load counts on n > 0 via *out */
	errs->v = v;
	e = &v[errs->n];
	e->file = strdup(file ? file : "--set");
	e->line = file ? line : 0;
	e->msg = strdup(msg);
	if (e->file == NULL || e->msg == NULL) {
		free(e->file);
		free(e->msg);
		return;
	}
	errs->n++;
}

void
config_errors_print(const struct config_errors *errs, FILE *f)
{
	size_t i;

	for (i = 0; errs != NULL && i < errs->n; i++) {
		if (errs->v[i].line > 0)
			fprintf(f, "%s:%d: %s\n", errs->v[i].file, errs->v[i].line, errs->v[i].msg);
		else
			fprintf(f, "%s: %s\n", errs->v[i].file, errs->v[i].msg);
	}
}

void
config_errors_free(struct config_errors *errs)
{
	size_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++) {
		free(errs->v[i].file);
		free(errs->v[i].msg);
	}
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

/* Put one "dotted.key=value" into the tree, replacing what the file said. */
static void
apply_override(struct cfg_node *root, const char *ov, struct config_errors *errs)
{
	const char *eq = strchr(ov, '='), *p;
	struct cfg_node *map = root, *kid;
	char seg[128];

	if (eq == NULL || eq == ov) {
		config_errors_add(errs, NULL, 0, "expected KEY=VALUE with a dotted key, e.g. sandbox.memory_limit=128MB");
		return;
	}
	for (p = ov;;) {
		size_t n = strcspn(p, ".=");

		if (n == 0 || n >= sizeof(seg)) {
			config_errors_add(errs, NULL, 0, "invalid key '%.*s'", (int)(eq - ov), ov);
			return;
		}
		memcpy(seg, p, n);
		seg[n] = '\0';
		p += n;
		if (*p == '=')
			break;
		p++;
		kid = cfg_node_get(map, seg);
		if (kid == NULL) {
			kid = cfg_node_new(CFG_MAP, 0, seg, NULL);
			if (kid == NULL || cfg_node_add(map, kid) < 0) {
				cfg_node_free(kid);
				config_errors_add(errs, NULL, 0, "out of memory");
				return;
			}
		} else if (kid->kind != CFG_MAP) {
			config_errors_add(errs, NULL, 0, "'%.*s': '%s' is not a section", (int)(eq - ov), ov, seg);
			return;
		}
		map = kid;
	}
	cfg_node_remove(map, seg);
	kid = cfg_node_new(CFG_SCALAR, 0, seg, eq + 1);
	if (kid == NULL || cfg_node_add(map, kid) < 0) {
		cfg_node_free(kid);
		config_errors_add(errs, NULL, 0, "out of memory or too many keys");
		return;
	}
	kid->split_list = true;  /* lists are comma-separated, as in INI */
}

static bool
has_ext(const char *path, const char *ext)
{
	size_t n = strlen(path), e = strlen(ext);

	return n > e && strcasecmp(path + n - e, ext) == 0;
}

/* Read and parse `path` into *tree; errors into errs.  *tree may be set
 * even after errors (INI), so that the schema reports its own too. */
static void
parse_file(const char *path, struct cfg_node **tree, struct config_errors *errs)
{
	char *buf = NULL;
	size_t len = 0, i;
	struct cfg_diag d;
	struct ini_diags *id = NULL;
	int r;

	*tree = NULL;
	if (!has_ext(path, ".yaml") && !has_ext(path, ".yml") && !has_ext(path, ".ini")) {
		config_errors_add(errs, path, 0, "unknown syntax: the name must end in .yaml, .yml or .ini");
		return;
	}
	r = file_read_all(path, CFG_MAX_FILE, &buf, &len);
	if (r == -EFBIG) {
		config_errors_add(errs, path, 0, "file is larger than %d bytes", CFG_MAX_FILE);
		return;
	}
	if (r < 0) {
		config_errors_add(errs, path, 0, "cannot read: %s", strerror(-r));
		return;
	}
	if (has_ext(path, ".ini")) {
		id = malloc(sizeof(*id));
		if (id == NULL) {
			config_errors_add(errs, path, 0, "out of memory");
		} else {
			if (inifile_parse(buf, len, tree, id) < 0)
				for (i = 0; i < id->n; i++)
					config_errors_add(errs, path, id->v[i].line, "%s", id->v[i].msg);
			free(id);
		}
	} else if (yaml_parse(buf, len, tree, &d) < 0) {
		config_errors_add(errs, path, d.line, "%s", d.msg);
	}
	WIPE(buf, len); /* the file may hold a token */
	free(buf);
}

int
config_load(const char *path, const char *const *overrides, size_t n_overrides,
    struct config **out, struct config_errors *errs)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	struct cfg_node *tree = NULL;
	bool parse_failed;
	size_t i, before = errs->n;

	*out = NULL;
	if (cfg == NULL || schema_defaults(cfg) < 0) {
		config_errors_add(errs, path ? path : "defaults", 0, "out of memory");
		goto fail;
	}
	if (path != NULL) {
		if ((cfg->path = strdup(path)) == NULL) {
			config_errors_add(errs, path, 0, "out of memory");
			goto fail;
		}
		parse_file(path, &tree, errs);
	}
	/* A YAML syntax error leaves no tree: the schema has nothing to say. */
	parse_failed = path != NULL && tree == NULL;
	if (!parse_failed) {
		if (tree == NULL && (tree = cfg_node_new(CFG_MAP, 0, NULL, NULL)) == NULL) {
			config_errors_add(errs, path ? path : "defaults", 0, "out of memory");
			goto fail;
		}
		for (i = 0; i < n_overrides; i++)
			apply_override(tree, overrides[i], errs);
		schema_apply(tree, path, cfg, errs);
	}
	cfg_node_free(tree);
	tree = NULL;
	if (errs->n > before || parse_failed)
		goto fail;
	*out = cfg;
	return 0;
fail:
	if (errs->n == before)
		config_errors_add(errs, path ? path : "defaults", 0, "out of memory");
	cfg_node_free(tree);
	config_free(cfg);
	return -1;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	schema_free_values(cfg);
	free(cfg->path);
	free(cfg);
}

const struct config_sandbox *
config_sandbox(const struct config *cfg, const char *section)
{
	if (cfg == NULL)
		return NULL;
	if (section == NULL || strcmp(section, "sandbox") == 0)
		return &cfg->sandbox;
	if (strcmp(section, "sensor.sandbox") == 0)
		return &cfg->sensor_sandbox;
	return NULL;
}

const struct config_authentication *
config_get_authentication(const struct config *cfg)
{
	return &cfg->authentication;
}

const struct config_agent_auth *
config_get_agent_auth(const struct config *cfg)
{
	return &cfg->agent_auth;
}

const struct config_transit *
config_get_transit(const struct config *cfg)
{
	return &cfg->transit;
}

const struct config_detection *
config_get_detection(const struct config *cfg)
{
	return &cfg->detection;
}

const struct config_logging *
config_get_logging(const struct config *cfg)
{
	return &cfg->logging;
}

const struct config_agent *
config_get_agent(const struct config *cfg)
{
	return &cfg->agent;
}

const struct config_orchestrator *
config_get_orchestrator(const struct config *cfg)
{
	return &cfg->orchestrator;
}

const struct config_privacy *
config_get_privacy(const struct config *cfg)
{
	return &cfg->privacy;
}

bool
config_rule_enabled(const struct config *cfg, enum config_rule rule)
{
	return (unsigned)rule < CONFIG_RULE_COUNT && cfg->detection.enabled[rule];
}

struct cJSON *
config_to_json(const struct config *cfg)
{
	return schema_to_json(cfg);
}

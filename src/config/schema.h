/*
 * schema.h: the configuration schema, one table row per key (schema.c).
 *
 * The table is the single source of truth for names, types, defaults and
 * descriptions: the checker, `config show` and (in a later issue) the
 * generated reference documentation all read it.
 */
#ifndef STAVILY_CONFIG_SCHEMA_H
#define STAVILY_CONFIG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "config/config_impl.h"
#include "config/tree.h"

enum schema_type {
	ST_BOOL,      /* true/false (units.h) */
	ST_UINT,      /* non-negative integer within [min, max] */
	ST_SIZE,      /* bytes: "256MB", "1GiB" */
	ST_DURATION,  /* milliseconds: "30s", "90d" */
	ST_FRACTION,  /* "0.5" within [0, max] */
	ST_STRING,
	ST_PATH,      /* non-empty path */
	ST_ENUM,      /* one of `names`, stored as an int (the enum value) */
	ST_CHOICE,    /* a canonical id or its sentence (`choices`), stored as the id string */
	ST_LIST,      /* list of strings, each checked by `check` */
	ST_ROTATION,  /* "Automatic N-day rotation" or a duration, stored in ms */
	ST_RULES,     /* detection rule sentences/ids of group `min` */
};

#define SK_SECRET    0x1  /* never printed: show redacts it, errors omit it */
#define SK_MUST_TRUE 0x2  /* false is an insecure value (message in `bad`) */

struct schema_choice {
	const char *id;        /* canonical id, stored */
	const char *sentence;  /* the brief's wording, accepted too (any case) */
};

struct schema_key {
	const char *section;   /* dotted path of the mapping that holds it */
	const char *name;
	enum schema_type type;
	size_t off;            /* offsetof(struct config, field) */
	const char *def;       /* default as text (lists comma-separated); NULL = unset/empty */
	uint64_t min, max;     /* bounds (ST_UINT/SIZE/DURATION/ROTATION; ST_FRACTION: max) */
	const char *const *names;              /* ST_ENUM */
	const struct schema_choice *choices;   /* ST_CHOICE */
	const char *(*check)(const char *v);   /* ST_STRING/PATH/LIST items: NULL or an error */
	unsigned flags;
	const char *bad;       /* message for an insecure/unsupported value */
	const char *desc;
};

extern const struct schema_key schema_keys[];
extern const size_t schema_n_keys;

/* Reset `cfg` to the defaults (freeing what it held).  0 or -ENOMEM. */
int schema_defaults(struct config *cfg) WARN_UNUSED;

/* Check `root` against the schema and store values into `cfg`; every error
 * is appended to `errs`, located in `file` (nodes with line 0 come from
 * --set and are reported as "--set: message"). */
void schema_apply(const struct cfg_node *root, const char *file, struct config *cfg,
    struct config_errors *errs);

/* Free every value `cfg` owns (not cfg itself). */
void schema_free_values(struct config *cfg);

/* Effective configuration as JSON; see config_to_json(). */
struct cJSON *schema_to_json(const struct config *cfg);

/* Levenshtein distance, or SIZE_MAX for strings longer than 64 bytes. */
size_t schema_edit_distance(const char *a, const char *b);

/* Map a detection rule sentence or id to its rule and group (0..2).
 * -1 when unknown. */
int schema_rule_lookup(const char *text, int *group);

#endif

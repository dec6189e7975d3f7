/*
 * tree.h: the syntax-neutral configuration tree.
 *
 * Both parsers (yaml.c, inifile.c) produce this tree and the schema
 * (schema.c) checks it, so one schema serves both syntaxes (DESIGN §7).
 * Every node remembers the line it came from so that errors read
 * "FILE:LINE: message".
 */
#ifndef STAVILY_CONFIG_TREE_H
#define STAVILY_CONFIG_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* Caps on what one document may hold (named so that tests and docs can cite
 * them).  The line and file caps are enforced by text.c. */
#define CFG_MAX_FILE     (1024 * 1024)   /* bytes in one configuration file */
#define CFG_MAX_LINE     4000            /* bytes in one line, newline excluded (< inih's 4096) */
#define CFG_MAX_DEPTH    16              /* nesting levels, the root mapping included */
#define CFG_MAX_ENTRIES  1024            /* keys in one mapping, items in one sequence */

enum cfg_kind { CFG_MAP, CFG_SEQ, CFG_SCALAR };

struct cfg_node {
	enum cfg_kind kind;
	int line;                /* 1-based; 0 for values given with --set */
	char *key;               /* key in the parent mapping, NULL for sequence items and the root */
	char *value;             /* CFG_SCALAR: the text (never NULL; "" for an empty/null value) */
	bool null;               /* CFG_SCALAR: no value at all (`key:` in YAML, `key` in INI) */
	bool split_list;         /* CFG_SCALAR from INI or --set: a list is written "a, b, c" */
	bool explicit_section;   /* CFG_MAP from INI: a [section] header named it */
	struct cfg_node **kids;  /* CFG_MAP / CFG_SEQ children, in document order */
	size_t n, cap;
};

/* New node (value copied when non-NULL).  NULL on allocation failure. */
struct cfg_node *cfg_node_new(enum cfg_kind kind, int line, const char *key,
    const char *value) WARN_UNUSED;

/* Append `kid` to `parent` (which takes ownership).  -ENOMEM, or -E2BIG when
 * the parent already holds CFG_MAX_ENTRIES children (kid is then not taken). */
int cfg_node_add(struct cfg_node *parent, struct cfg_node *kid) WARN_UNUSED;

/* Child of a mapping by key, or NULL. */
struct cfg_node *cfg_node_get(const struct cfg_node *map, const char *key);

/* Remove and free the child of `map` named `key`, if any. */
void cfg_node_remove(struct cfg_node *map, const char *key);

/* Free a node and everything below it.  NULL is fine. */
void cfg_node_free(struct cfg_node *node);

#endif

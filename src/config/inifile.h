/*
 * inifile.h: INI configuration files through inih, into the same tree as
 * yaml.c produces (tree.h), so that one schema checks both syntaxes.
 *
 *   [security.agent_auth]      dotted section names nest: security -> agent_auth
 *   require_tls = true         key = value (inih also accepts key: value)
 *   blocked_syscalls = exec, fork, socket
 *                              lists are comma-separated (the node is marked
 *                              split_list; the schema splits it)
 *   fallback = "none"          one pair of surrounding quotes is removed (no
 *                              escapes); comments start with ; or # at the
 *                              start of a line or after whitespace
 *
 * Errors (all of them, not only inih's first): section header without ']',
 * section names over INI_SECTION_MAX bytes (inih would truncate them),
 * empty section name parts ("[a..b]"), a section repeated, a section that
 * clashes with a key, duplicate keys, plus everything text.h rejects.
 */
#ifndef STAVILY_CONFIG_INIFILE_H
#define STAVILY_CONFIG_INIFILE_H

#include <stddef.h>

#include "base/util.h"
#include "config/text.h"
#include "config/tree.h"

/* inih copies section names into a 50-byte buffer (MAX_SECTION). */
#define INI_SECTION_MAX 49
/* Errors kept from one file; later ones are summarised in the last slot. */
#define INI_MAX_DIAGS 64

struct ini_diags {
	struct cfg_diag v[INI_MAX_DIAGS];
	size_t n;
};

/*
 * Parse `len` bytes at `buf`.  Returns 0 when there were no errors; -1
 * otherwise, with every error in `diags`.  *out is set whenever a tree could
 * be built (also after errors in single lines, so that the schema can still
 * report its own errors); NULL when the text check failed or memory ran out.
 * The caller frees *out.
 */
int inifile_parse(const char *buf, size_t len, struct cfg_node **out, struct ini_diags *diags) WARN_UNUSED;

#endif

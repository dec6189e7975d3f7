/*
 * yaml.h: a strict YAML subset for configuration files (DESIGN §7).
 *
 * Accepted: block mappings; block sequences of scalars (indented under their
 * key, or at the key's own indentation as Kubernetes writes them); flow
 * sequences of scalars on one line (`[a, "b"]`, `[]`); plain scalars;
 * single-quoted scalars ('' is a quote); double-quoted scalars with the
 * escapes \\ \" \/ \n \t \r and \uXXXX (not \u0000, not surrogates);
 * comments (`#` at the start of a line or after whitespace); CRLF line ends;
 * a leading UTF-8 byte order mark.
 *
 * Rejected with an error naming the line: anchors (&), aliases (*), tags (!),
 * directives (%), multi-document streams (--- / ...), block scalars (| >),
 * multi-line scalars (continuation lines, quotes left open), flow mappings
 * ({}), nested or multi-line flow sequences, mappings or sequences inside
 * sequences, complex keys (?), tabs in indentation, duplicate keys,
 * inconsistent indentation, plain scalars containing ": ", everything
 * text.h rejects (NUL, invalid UTF-8, control characters, lines over
 * CFG_MAX_LINE, files over CFG_MAX_FILE), nesting deeper than CFG_MAX_DEPTH
 * and more than CFG_MAX_ENTRIES entries in one mapping or sequence.
 *
 * Scalars keep their text; types are the schema's business, so `yes`, `on`
 * or `~` are just strings here (YAML 1.1's implicit typing is a known trap).
 */
#ifndef STAVILY_CONFIG_YAML_H
#define STAVILY_CONFIG_YAML_H

#include <stddef.h>

#include "base/util.h"
#include "config/text.h"
#include "config/tree.h"

/*
 * Parse `len` bytes at `buf` (need not be NUL-terminated).  On success
 * returns 0 and *out is a CFG_MAP root (possibly empty) owned by the caller
 * (cfg_node_free).  On failure returns -1, *out is NULL and `d` holds the
 * line and message of the first error (parsing stops there: a strict parser
 * cannot guess what the rest meant).  Allocation failure is reported as an
 * error too.  Total: any byte sequence gives a tree or an error.
 */
int yaml_parse(const char *buf, size_t len, struct cfg_node **out, struct cfg_diag *d) WARN_UNUSED;

#endif

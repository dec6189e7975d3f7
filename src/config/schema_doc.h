/*
 * schema_doc.h: the configuration reference, generated from the schema table
 * (schema.c) so that it cannot drift: `stavily config schema --markdown`
 * writes the key tables of docs/config.md, `--json` the same facts for
 * programs.
 *
 * Everything printed comes from the table or from running the table's own
 * check functions: a key's value format is the message its check gives for
 * an empty value, and a value is listed as refused-insecure when the check
 * answers "insecure value..." for one of a few probe values (http:// URLs,
 * uid 0), so a key added to the table later is documented without touching
 * this file.
 */
#ifndef STAVILY_CONFIG_SCHEMA_DOC_H
#define STAVILY_CONFIG_SCHEMA_DOC_H

#include <stdio.h>

#include "base/util.h"

/* Write the Markdown reference (one "### `section`" heading and one table
 * per section, in table order) to `f`.  0, or -EIO when writing failed. */
int schema_doc_markdown(FILE *f) WARN_UNUSED;

/* Write the reference as one JSON object ({"sections":[...]}) to `f`.
 * 0, -ENOMEM, or -EIO when writing failed. */
int schema_doc_json(FILE *f) WARN_UNUSED;

#endif

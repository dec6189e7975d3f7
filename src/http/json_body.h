/*
 * json_body.h: JSON request and response bodies through cJSON, with caps.
 *
 * cJSON recurses once per nesting level and its own limit is 1000; a peer
 * could still make it allocate a deep tree.  We check the depth with a
 * non-recursive scan *before* parsing, refuse bodies over the size cap
 * without looking at them, and refuse anything after the top-level value.
 */
#ifndef STAVILY_HTTP_JSON_BODY_H
#define STAVILY_HTTP_JSON_BODY_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "base/util.h"

#define JSON_BODY_DEFAULT_MAX   (1024 * 1024)
#define JSON_BODY_DEFAULT_DEPTH 16

enum json_body_err {
	JSON_BODY_OK = 0,
	JSON_BODY_E_SIZE = -1,    /* over max_bytes */
	JSON_BODY_E_DEPTH = -2,   /* nesting over max_depth */
	JSON_BODY_E_SYNTAX = -3,  /* cJSON refused it, or trailing bytes */
	JSON_BODY_E_TYPE = -4,    /* top level is not an object */
	JSON_BODY_E_NOMEM = -5,
};

/*
 * Nesting depth of the JSON text (arrays and objects; brackets inside
 * strings are ignored).  Stops counting at `stop` + 1.
 */
size_t json_body_depth(const char *buf, size_t len, size_t stop);

/*
 * Parse `len` bytes as one JSON object.  On success *out is the tree (the
 * caller frees it with cJSON_Delete).  Returns a json_body_err.
 */
int json_body_parse(const void *buf, size_t len, size_t max_bytes, size_t max_depth,
    cJSON **out) WARN_UNUSED;

/* Name of a json_body_err for messages. */
const char *json_body_strerror(int err);

#endif

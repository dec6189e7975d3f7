/* see json_body.h */
#include "http/json_body.h"

#include <stdlib.h>
#include <string.h>

size_t json_body_depth(const char *buf, size_t len, size_t stop)
{
	size_t depth = 0, max = 0;
	int in_str = 0;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max) {
				max = depth;
				if (max > stop)
					return max;
			}
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return max;
}

int json_body_parse(const void *buf, size_t len, size_t max_bytes, size_t max_depth,
    cJSON **out)
{
	const char *end = NULL;
	char *copy;
	cJSON *j;

	*out = NULL;
	if (len > max_bytes)
		return JSON_BODY_E_SIZE;
	if (json_body_depth(buf, len, max_depth) > max_depth)
		return JSON_BODY_E_DEPTH;
	/* cJSON wants a NUL-terminated string to detect trailing data
	 * reliably and stops at an embedded NUL: copy and check both. */
	if (memchr(buf, '\0', len))
		return JSON_BODY_E_SYNTAX;
	copy = malloc(len + 1);
	if (!copy)
		return JSON_BODY_E_NOMEM;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	j = cJSON_ParseWithOpts(copy, &end, 1);
	free(copy);
	if (!j)
		return JSON_BODY_E_SYNTAX;
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return JSON_BODY_E_TYPE;
	}
	*out = j;
	return JSON_BODY_OK;
}

const char *json_body_strerror(int err)
{
	switch (err) {
	case JSON_BODY_OK: return "ok";
	case JSON_BODY_E_SIZE: return "JSON body too large";
	case JSON_BODY_E_DEPTH: return "JSON nested too deeply";
	case JSON_BODY_E_SYNTAX: return "invalid JSON";
	case JSON_BODY_E_TYPE: return "JSON body must be an object";
	case JSON_BODY_E_NOMEM: return "out of memory";
	default: return "unknown JSON error";
	}
}

/* libFuzzer target: JSON message bodies (size and depth caps before cJSON)
 * and the Basic auth / URL parsers that also see peer or config input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "http/basic_auth.h"
#include "http/json_body.h"
#include "http/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j = NULL;
	char *s;

	if (json_body_parse(data, size, 64 * 1024, 16, &j) == JSON_BODY_OK) {
		if (!cJSON_IsObject(j))
			abort();
		char *p = cJSON_PrintUnformatted(j);
		cJSON_free(p);
		cJSON_Delete(j);
	}
	struct basic_auth a;
	if (basic_auth_parse((const char *)data, size, &a) == 0) {
		if (a.user[0] == '\0' || strchr(a.user, ':'))
			abort();
		basic_auth_wipe(&a);
	}
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct https_url u;
	if (https_url_parse(s, &u, NULL) == 0 && (u.port == 0 || u.path[0] != '/'))
		abort();
	free(s);
	return 0;
}

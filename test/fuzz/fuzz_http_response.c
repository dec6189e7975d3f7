/* libFuzzer target: the HTTP/1.1 response parser must be total. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "http/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_response resp;
	struct http_limits lim;
	size_t consumed = 0;
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	http_limits_default(&lim);
	lim.max_body = 4096;
	for (int head = 0; head < 2; head++) {
		int r = http_parse_response(buf, size, &lim, head, &resp, &consumed, NULL);
		if (r == HTTP_OK && (consumed > size || resp.body + resp.body_len != buf + consumed))
			abort();
	}
	free(buf);
	return 0;
}

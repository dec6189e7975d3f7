/* libFuzzer target: the unit parsers (sizes, durations, fractions, bools,
 * integers) and their formatters: total, and format/parse round-trips. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, buf[64];
	uint64_t v, w;
	double f;
	bool b;

	if (size > 256)
		return 0;
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (units_parse_size(s, &v) == 0) {
		units_format_size(v, buf, sizeof(buf));
		if (units_parse_size(buf, &w) != 0 || w != v)
			abort();  /* what we print must read back as the same size */
	}
	if (units_parse_duration(s, &v) == 0) {
		units_format_duration(v, buf, sizeof(buf));
		if (units_parse_duration(buf, &w) != 0 || w != v)
			abort();
	}
	if (units_parse_fraction(s, &f) == 0 && !(f >= 0.0))
		abort();
	(void)units_parse_bool(s, &b);
	(void)units_parse_uint(s, &v);
	free(s);
	return 0;
}

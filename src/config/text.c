/* see text.h */
#include "config/text.h"

#include <stdio.h>

#include "config/tree.h"

size_t
cfg_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0; /* continuation byte, 0xc0/0xc1 (overlong) or > 0xf4 */
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong 3/4-byte forms, UTF-16 surrogates, beyond Unicode. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

int
cfg_text_check(const char *buf, size_t len, struct cfg_diag *d)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0, line_start = 0, k;
	int line = 1;

	d->line = 0;
	d->msg[0] = '\0';
	if (len > CFG_MAX_FILE) {
		snprintf(d->msg, sizeof(d->msg), "file is larger than %d bytes", CFG_MAX_FILE);
		return -1;
	}
	while (i < len) {
		unsigned c = s[i];

		if (c == '\n') {
			line++;
			line_start = ++i;
			continue;
		}
		if (c == 0) {
			d->line = line;
			snprintf(d->msg, sizeof(d->msg), "NUL byte");
			return -1;
		}
		if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
			i++; /* CRLF: the LF ends the line */
			continue;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			d->line = line;
			snprintf(d->msg, sizeof(d->msg), "control character 0x%02x", c);
			return -1;
		}
		k = cfg_utf8_seq(s + i, len - i);
		if (k == 0) {
			d->line = line;
			snprintf(d->msg, sizeof(d->msg), "invalid UTF-8");
			return -1;
		}
		i += k;
		if (i - line_start > CFG_MAX_LINE) {
			d->line = line;
			snprintf(d->msg, sizeof(d->msg), "line longer than %d bytes", CFG_MAX_LINE);
			return -1;
		}
	}
	return 0;
}

/* see pem.h */
#include "crypto/pem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/base64.h"

/* Next line of text: [*pos, end of line) with CR/LF and trailing blanks
 * removed; advances *pos past the line ending.  Returns 0 at end of text. */
static int
next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *llen)
{
	size_t s = *pos, e;

	if (s >= len)
		return 0;
	e = s;
	while (e < len && text[e] != '\n')
		e++;
	*pos = e < len ? e + 1 : e;
	while (e > s && (text[e - 1] == '\r' || text[e - 1] == ' ' || text[e - 1] == '\t'))
		e--;
	*line = text + s;
	*llen = e - s;
	return 1;
}

/* If `line` is "-----<word> <label>-----", copy the label and return 1. */
static int
boundary(const char *line, size_t llen, const char *word, char label[PEM_MAX_LABEL + 1])
{
	size_t wl = strlen(word), ll, i;

	if (llen < 5 + wl + 1 + 5 || memcmp(line, "-----", 5) != 0 ||
	    memcmp(line + 5, word, wl) != 0 || line[5 + wl] != ' ' ||
	    memcmp(line + llen - 5, "-----", 5) != 0)
		return 0;
	ll = llen - (5 + wl + 1) - 5;
	if (ll == 0 || ll > PEM_MAX_LABEL)
		return -1;
	for (i = 0; i < ll; i++) {
		char c = line[5 + wl + 1 + i];
		/* RFC 7468 labels: printable ASCII except '-' at the ends. */
		if (c < 0x20 || c > 0x7e)
			return -1;
	}
	if (line[5 + wl + 1] == '-' || line[5 + wl + ll] == '-')
		return -1;
	memcpy(label, line + 5 + wl + 1, ll);
	label[ll] = '\0';
	return 1;
}

void
pem_list_free(struct pem_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->obj[i].der != NULL) {
			WIPE(l->obj[i].der, l->obj[i].len);
			free(l->obj[i].der);
		}
	}
	memset(l, 0, sizeof(*l));
}

int
pem_decode(const char *text, size_t len, struct pem_list *out)
{
	size_t pos = 0, llen;
	const char *line;
	char *b64 = NULL;
	int err = PEM_OK;

	memset(out, 0, sizeof(*out));
	if (len > PEM_MAX_INPUT)
		return PEM_E_TOO_BIG;
	/* The base64 of one object is never longer than the whole text. */
	b64 = malloc(len + 1);
	if (b64 == NULL)
		return PEM_E_NOMEM;
	while (next_line(text, len, &pos, &line, &llen)) {
		char label[PEM_MAX_LABEL + 1], endlabel[PEM_MAX_LABEL + 1];
		size_t blen = 0, dlen;
		int r = boundary(line, llen, "BEGIN", label), ended = 0;
		unsigned char *der;

		if (r == 0)
			continue;       /* explanatory text between objects */
		if (r < 0) {
			err = PEM_E_SYNTAX;
			goto out;
		}
		if (out->n == PEM_MAX_OBJECTS) {
			err = PEM_E_TOO_BIG;
			goto out;
		}
		while (next_line(text, len, &pos, &line, &llen)) {
			r = boundary(line, llen, "END", endlabel);
			if (r != 0) {
				if (r < 0 || strcmp(label, endlabel) != 0) {
					err = PEM_E_SYNTAX;
					goto out;
				}
				ended = 1;
				break;
			}
			if (llen > 0 && line[0] == '-') {
				err = PEM_E_SYNTAX;     /* a BEGIN inside an object */
				goto out;
			}
			if (memchr(line, ':', llen) != NULL) {
				err = PEM_E_SYNTAX;     /* RFC 1421 headers: refused */
				goto out;
			}
			memcpy(b64 + blen, line, llen);
			blen += llen;
		}
		if (!ended) {
			err = PEM_E_SYNTAX;
			goto out;
		}
		if (blen == 0) {
			err = PEM_E_BASE64;
			goto out;
		}
		der = malloc(BASE64_DECODED_MAX(blen) + 1);
		if (der == NULL) {
			err = PEM_E_NOMEM;
			goto out;
		}
		if (base64_decode(b64, blen, der, &dlen) < 0) {
			WIPE(der, BASE64_DECODED_MAX(blen) + 1);
			free(der);
			err = PEM_E_BASE64;
			goto out;
		}
		memcpy(out->obj[out->n].label, label, sizeof(label));
		out->obj[out->n].der = der;
		out->obj[out->n].len = dlen;
		out->n++;
	}
	if (out->n == 0)
		err = PEM_E_NONE;
out:
	WIPE(b64, len + 1);
	free(b64);
	if (err != PEM_OK)
		pem_list_free(out);
	return err;
}

int
pem_encode(const char *label, const void *der, size_t len, char **out, size_t *outlen)
{
	size_t ll = strlen(label), b64len = BASE64_ENCODED_LEN(len), total, o, i;
	char *b64, *s;

	if (ll == 0 || ll > PEM_MAX_LABEL || len > PEM_MAX_INPUT)
		return -EINVAL;
	b64 = malloc(b64len + 1);
	if (b64 == NULL)
		return -ENOMEM;
	base64_encode(der, len, b64);
	total = 2 * (11 + ll + 5 + 1) + b64len + b64len / 64 + 2;
	s = malloc(total + 1);
	if (s == NULL) {
		free(b64);
		return -ENOMEM;
	}
	o = 0;
	o += (size_t)sprintf(s + o, "-----BEGIN %s-----\n", label);
	for (i = 0; i < b64len; i += 64) {
		size_t n = b64len - i < 64 ? b64len - i : 64;
		memcpy(s + o, b64 + i, n);
		o += n;
		s[o++] = '\n';
	}
	o += (size_t)sprintf(s + o, "-----END %s-----\n", label);
	WIPE(b64, b64len + 1);
	free(b64);
	*out = s;
	*outlen = o;
	return 0;
}

const char *
pem_strerror(int err)
{
	switch (err) {
	case PEM_OK: return "ok";
	case PEM_E_NONE: return "no PEM object found";
	case PEM_E_SYNTAX: return "malformed PEM boundary or header";
	case PEM_E_BASE64: return "bad base64 in PEM object";
	case PEM_E_TOO_BIG: return "PEM input too large";
	case PEM_E_NOMEM: return "out of memory";
	}
	return "unknown PEM error";
}

/* see yaml.h */
#include "config/yaml.h"
#include "base/hex.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One non-blank line, lexed. */
struct yline {
	int no;
	int indent;
	bool is_item;           /* "- scalar" */
	char *key;              /* key lines: the key */
	struct cfg_node *val;   /* scalar or flow sequence; NULL for "key:" alone */
};

struct yparser {
	struct yline *l;
	size_t n, i;
	struct cfg_diag *d;
};

static int PRINTF_LIKE(3, 4)
yerr(struct cfg_diag *d, int line, const char *fmt, ...)
{
	va_list ap;

	d->line = line;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static bool
is_blank_end(char c)
{
	return c == '\0' || c == ' ' || c == '\t';
}

/* Indicators that may not start a plain scalar or key in our subset. */
static int
check_indicator(const char *p, int line, bool in_flow, struct cfg_diag *d)
{
	switch (p[0]) {
	case '&': return yerr(d, line, "anchors (&) are not supported");
	case '*': return yerr(d, line, "aliases (*) are not supported");
	case '!': return yerr(d, line, "tags (!) are not supported");
	case '|':
	case '>': return yerr(d, line, "block scalars (| and >) are not supported: write the value on one line");
	case '{': return yerr(d, line, "flow mappings ({...}) are not supported");
	case '[':
		if (in_flow)
			return yerr(d, line, "nested flow sequences are not supported");
		return 0;
	case '}':
	case ']':
	case ',': return yerr(d, line, "unexpected '%c'", p[0]);
	case '%': return yerr(d, line, "directives (%%) are not supported");
	case '@':
	case '`': return yerr(d, line, "'%c' is reserved and cannot start a plain scalar", p[0]);
	case '?':
		if (is_blank_end(p[1]))
			return yerr(d, line, "complex keys (?) are not supported");
		return 0;
	case '-':
		if (is_blank_end(p[1]))
			return yerr(d, line, "nested sequences are not supported");
		return 0;
	case ':':
		if (is_blank_end(p[1]))
			return yerr(d, line, "missing key before ':'");
		return 0;
	default:
		return 0;
	}
}

/*
 * Scan a quoted scalar at *pp (on the opening quote) into a new string.
 * Escapes never lengthen the text, so strlen(*pp) + 1 bytes suffice.
 */
static int
scan_quoted(const char **pp, char **out, int line, struct cfg_diag *d)
{
	const char *p = *pp;
	char q = *p++;
	char *buf = malloc(strlen(p) + 1), *o = buf;

	if (buf == NULL)
		return yerr(d, line, "out of memory");
	for (;;) {
		if (*p == '\0') {
			free(buf);
			return yerr(d, line, "unterminated quoted scalar (multi-line scalars are not supported)");
		}
		if (*p == q) {
			if (q == '\'' && p[1] == '\'') {
				*o++ = '\'';
				p += 2;
				continue;
			}
			p++;
			break;
		}
		if (q == '"' && *p == '\\') {
			unsigned long cp = 0;
			int k;

			p++;
			switch (*p) {
			case '\\': *o++ = '\\'; p++; continue;
			case '"': *o++ = '"'; p++; continue;
			case '/': *o++ = '/'; p++; continue;
			case 'n': *o++ = '\n'; p++; continue;
			case 't': *o++ = '\t'; p++; continue;
			case 'r': *o++ = '\r'; p++; continue;
			case 'u':
				for (k = 1; k <= 4; k++) {
					int h = hex_digit(p[k]);

					if (h < 0) {
						free(buf);
						return yerr(d, line, "\\u needs four hex digits");
					}
					cp = cp * 16 + (unsigned long)h;
				}
				if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff)) {
					free(buf);
					return yerr(d, line, "\\u%04lx is not allowed (NUL or surrogate)", cp);
				}
				p += 5;
				if (cp < 0x80) {
					*o++ = (char)cp;
				} else if (cp < 0x800) {
					*o++ = (char)(0xc0 | (cp >> 6));
					*o++ = (char)(0x80 | (cp & 0x3f));
				} else {
					*o++ = (char)(0xe0 | (cp >> 12));
					*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
					*o++ = (char)(0x80 | (cp & 0x3f));
				}
				continue;
			default:
				free(buf);
				return yerr(d, line, "unsupported escape in double-quoted scalar (supported: \\\\ \\\" \\/ \\n \\t \\r \\uXXXX)");
			}
		}
		*o++ = *p++;
	}
	*o = '\0';
	*pp = p;
	*out = buf;
	return 0;
}

/*
 * Scan a plain scalar.  In block context it runs to the end of the line or
 * a comment; in a flow sequence also to ',' or ']'.
 */
static int
scan_plain(const char **pp, char **out, bool in_flow, int line, struct cfg_diag *d)
{
	const char *p = *pp, *start = p, *end;
	char *s;

	if (check_indicator(p, line, in_flow, d) < 0)
		return -1;
	while (*p != '\0') {
		if (*p == '#' && p > start && (p[-1] == ' ' || p[-1] == '\t'))
			break;
		if (*p == ':' && is_blank_end(p[1]))
			return yerr(d, line, "': ' inside a plain scalar (quote the value; mappings inside sequences are not supported)");
		if (in_flow && (*p == ',' || *p == ']'))
			break;
		if (in_flow && (*p == '[' || *p == '{' || *p == '}'))
			return yerr(d, line, "'%c' inside a flow sequence item (quote it)", *p);
		p++;
	}
	end = p;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == start)
		return yerr(d, line, "empty item in flow sequence");
	s = strndup(start, (size_t)(end - start));
	if (s == NULL)
		return yerr(d, line, "out of memory");
	*pp = p;
	*out = s;
	return 0;
}

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* After a value: only whitespace and an optional comment may follow. */
static int
expect_eol(const char *p, int line, struct cfg_diag *d)
{
	const char *q = skip_ws(p);

	if (*q == '\0' || (*q == '#' && q > p))
		return 0;
	return yerr(d, line, "unexpected text after the value");
}

/* A scalar value (quoted or plain) in block context, to the end of line. */
static int
scan_scalar_value(const char *p, struct cfg_node **out, int line, struct cfg_diag *d)
{
	char *s = NULL;

	if (*p == '"' || *p == '\'') {
		if (scan_quoted(&p, &s, line, d) < 0)
			return -1;
		if (expect_eol(p, line, d) < 0) {
			free(s);
			return -1;
		}
	} else {
		if (*p == '[')
			return yerr(d, line, "nested sequences are not supported");
		if (scan_plain(&p, &s, false, line, d) < 0)
			return -1;
	}
	*out = cfg_node_new(CFG_SCALAR, line, NULL, s);
	free(s);
	if (*out == NULL)
		return yerr(d, line, "out of memory");
	return 0;
}

/* `[a, "b"]` on one line. */
static int
scan_flow_seq(const char *p, struct cfg_node **out, int line, struct cfg_diag *d)
{
	struct cfg_node *seq = cfg_node_new(CFG_SEQ, line, NULL, NULL), *item;
	char *s = NULL;

	if (seq == NULL)
		return yerr(d, line, "out of memory");
	p = skip_ws(p + 1);
	if (*p == ']') {
		p++;
		goto done;
	}
	for (;;) {
		p = skip_ws(p);
		if (*p == '\0')
			goto multiline;
		if (*p == '"' || *p == '\'') {
			if (scan_quoted(&p, &s, line, d) < 0)
				goto fail;
		} else if (scan_plain(&p, &s, true, line, d) < 0) {
			goto fail;
		}
		item = cfg_node_new(CFG_SCALAR, line, NULL, s);
		free(s);
		s = NULL;
		if (item == NULL) {
			yerr(d, line, "out of memory");
			goto fail;
		}
		if (cfg_node_add(seq, item) < 0) {
			cfg_node_free(item);
			yerr(d, line, "more than %d items in a sequence", CFG_MAX_ENTRIES);
			goto fail;
		}
		p = skip_ws(p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == ']') {
			p++;
			break;
		}
		if (*p == '\0' || *p == '#')
			goto multiline;
		yerr(d, line, "expected ',' or ']' in flow sequence");
		goto fail;
	}
done:
	if (expect_eol(p, line, d) < 0)
		goto fail;
	*out = seq;
	return 0;
multiline:
	yerr(d, line, "unterminated flow sequence (multi-line flow sequences are not supported)");
fail:
	cfg_node_free(seq);
	return -1;
}

/* Lex one line (NUL-terminated, no newline).  *skip = true for blank lines. */
static int
lex_line(char *text, int no, struct yline *l, bool *skip, struct cfg_diag *d)
{
	const char *p = text, *k0;
	int indent = 0;
	bool tab = false;

	*skip = false;
	memset(l, 0, sizeof(*l));
	l->no = no;
	while (*p == ' ' || *p == '\t') {
		if (*p == '\t')
			tab = true;
		else if (!tab)
			indent++;
		p++;
	}
	if (*p == '\0' || *p == '#') {
		*skip = true;
		return 0;
	}
	if (tab)
		return yerr(d, no, "tab in indentation (use spaces)");
	l->indent = indent;
	if (indent == 0 && (strncmp(p, "---", 3) == 0 || strncmp(p, "...", 3) == 0) &&
	    is_blank_end(p[3]))
		return yerr(d, no, "multi-document streams (--- and ...) are not supported");
	if (p[0] == '-' && is_blank_end(p[1])) {
		l->is_item = true;
		p = skip_ws(p + 1);
		if (*p == '\0' || *p == '#')
			return yerr(d, no, "empty sequence item (nested blocks inside sequences are not supported)");
		return scan_scalar_value(p, &l->val, no, d);
	}
	/* key */
	if (*p == '"' || *p == '\'') {
		if (scan_quoted(&p, &l->key, no, d) < 0)
			return -1;
		p = skip_ws(p);
		if (*p != ':')
			return yerr(d, no, "expected ':' after the key");
		p++;
	} else {
		if (check_indicator(p, no, false, d) < 0)
			return -1;
		k0 = p;
		while (*p != '\0' && !(*p == ':' && is_blank_end(p[1]))) {
			if (*p == '#' && (p[-1] == ' ' || p[-1] == '\t'))
				break;
			p++;
		}
		if (*p != ':')
			return yerr(d, no, "expected 'key: value' (multi-line scalars are not supported)");
		while (p > k0 && (p[-1] == ' ' || p[-1] == '\t'))
			p--;
		l->key = strndup(k0, (size_t)(p - k0));
		if (l->key == NULL)
			return yerr(d, no, "out of memory");
		p = strchr(p, ':') + 1;
	}
	if (l->key[0] == '\0')
		return yerr(d, no, "empty key");
	if (*p != '\0' && *p != ' ' && *p != '\t')
		return yerr(d, no, "expected a space after ':'");
	p = skip_ws(p);
	if (*p == '\0' || *p == '#')
		return 0; /* value, if any, is a nested block */
	if (*p == '[')
		return scan_flow_seq(p, &l->val, no, d);
	return scan_scalar_value(p, &l->val, no, d);
}

static int parse_map(struct yparser *p, int ind, int depth, struct cfg_node *map);

static int
parse_seq(struct yparser *p, int ind, struct cfg_node *seq)
{
	while (p->i < p->n && p->l[p->i].indent == ind && p->l[p->i].is_item) {
		struct yline *l = &p->l[p->i++];

		if (cfg_node_add(seq, l->val) < 0)
			return yerr(p->d, l->no, "more than %d items in a sequence", CFG_MAX_ENTRIES);
		l->val = NULL;
		if (p->i < p->n && p->l[p->i].indent > ind)
			return yerr(p->d, p->l[p->i].no,
			    "unexpected indentation (continuation lines and nested blocks in sequences are not supported)");
	}
	return 0;
}

static int
parse_map(struct yparser *p, int ind, int depth, struct cfg_node *map)
{
	while (p->i < p->n && p->l[p->i].indent == ind) {
		struct yline *l = &p->l[p->i++], *next;
		struct cfg_node *node, *dup;

		if (l->is_item)
			return yerr(p->d, l->no, "sequence item where a key was expected");
		if ((dup = cfg_node_get(map, l->key)) != NULL)
			return yerr(p->d, l->no, "duplicate key '%.80s' (first at line %d)", l->key, dup->line);
		next = p->i < p->n ? &p->l[p->i] : NULL;
		if (l->val != NULL) {
			node = l->val;
			l->val = NULL;
			if (next != NULL && next->indent > ind) {
				cfg_node_free(node);
				return yerr(p->d, next->no,
				    "unexpected indentation (continuation lines / multi-line scalars are not supported)");
			}
		} else if (next != NULL && (next->indent > ind || (next->indent == ind && next->is_item))) {
			if (depth + 1 > CFG_MAX_DEPTH)
				return yerr(p->d, next->no, "nesting deeper than %d levels", CFG_MAX_DEPTH);
			node = cfg_node_new(next->is_item ? CFG_SEQ : CFG_MAP, l->no, NULL, NULL);
			if (node == NULL)
				return yerr(p->d, l->no, "out of memory");
			if ((next->is_item ? parse_seq(p, next->indent, node)
			    : parse_map(p, next->indent, depth + 1, node)) < 0) {
				cfg_node_free(node);
				return -1;
			}
			if (p->i < p->n && p->l[p->i].indent > ind) {
				cfg_node_free(node);
				return yerr(p->d, p->l[p->i].no, "inconsistent indentation");
			}
		} else {
			node = cfg_node_new(CFG_SCALAR, l->no, NULL, "");
			if (node == NULL)
				return yerr(p->d, l->no, "out of memory");
			node->null = true;
		}
		node->key = l->key;
		l->key = NULL;
		node->line = l->no;
		if (cfg_node_add(map, node) < 0) {
			cfg_node_free(node);
			return yerr(p->d, l->no, "more than %d keys in a mapping", CFG_MAX_ENTRIES);
		}
	}
	return 0;
}

int
yaml_parse(const char *buf, size_t len, struct cfg_node **out, struct cfg_diag *d)
{
	struct yparser p = { .d = d };
	struct cfg_node *root = NULL;
	char *copy = NULL, *line, *nl;
	size_t cap = 0, off = 0;
	int no = 0, ret = -1;

	*out = NULL;
	if (cfg_text_check(buf, len, d) < 0)
		return -1;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		off = 3;
	copy = malloc(len - off + 1);
	if (copy == NULL) {
		yerr(d, 0, "out of memory");
		goto out;
	}
	memcpy(copy, buf + off, len - off);
	copy[len - off] = '\0';
	for (line = copy; line != NULL; line = nl) {
		struct yline l;
		bool skip;
		size_t ll;

		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		else if (*line == '\0')
			break;
		no++;
		ll = strlen(line);
		if (ll > 0 && line[ll - 1] == '\r')
			line[ll - 1] = '\0';
		if (lex_line(line, no, &l, &skip, d) < 0) {
			free(l.key);
			cfg_node_free(l.val);
			goto out;
		}
		if (skip)
			continue;
		if (p.n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct yline *v = realloc(p.l, ncap * sizeof(*v));

			if (v == NULL) {
				free(l.key);
				cfg_node_free(l.val);
				yerr(d, no, "out of memory");
				goto out;
			}
			p.l = v;
			cap = ncap;
		}
		p.l[p.n++] = l;
	}
	root = cfg_node_new(CFG_MAP, 1, NULL, NULL);
	if (root == NULL) {
		yerr(d, 0, "out of memory");
		goto out;
	}
	if (p.n > 0) {
		if (p.l[0].is_item) {
			yerr(d, p.l[0].no, "the document must be a mapping, not a sequence");
			goto out;
		}
		if (parse_map(&p, p.l[0].indent, 1, root) < 0)
			goto out;
		if (p.i < p.n) {
			yerr(d, p.l[p.i].no, "inconsistent indentation");
			goto out;
		}
	}
	*out = root;
	root = NULL;
	ret = 0;
out:
	for (size_t i = 0; i < p.n; i++) {
		free(p.l[i].key);
		cfg_node_free(p.l[i].val);
	}
	free(p.l);
	free(copy);
	cfg_node_free(root);
	return ret;
}

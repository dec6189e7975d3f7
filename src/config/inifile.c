/* see inifile.h */
#include "config/inifile.h"

#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Section headers, found by our own scan: Debian's inih never calls the
 * handler for a new section (its runtime-options patch hard-codes
 * ini_call_handler_on_new_section = false), and inih keeps only the first
 * error.  Keys are attached to the last header above their line. */
struct ini_header {
	int line;
	struct cfg_node *map;   /* NULL when the header was rejected */
};

struct ini_ctx {
	struct cfg_node *root;
	struct ini_header *hdr;
	size_t n_hdr, next_hdr;
	struct ini_diags *diags;
};

static void PRINTF_LIKE(3, 4)
diag(struct ini_diags *ds, int line, const char *fmt, ...)
{
	va_list ap;
	struct cfg_diag *d;
	size_t i;

	for (i = 0; i < ds->n; i++)
		if (ds->v[i].line == line && line != 0)
			return; /* one message per line is enough */
	if (ds->n == INI_MAX_DIAGS) {
		d = &ds->v[INI_MAX_DIAGS - 1];
		d->line = 0;
		snprintf(d->msg, sizeof(d->msg), "too many errors (only the first %d are shown)",
		    INI_MAX_DIAGS - 1);
		return;
	}
	d = &ds->v[ds->n++];
	d->line = line;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

/* Find or create the mapping for a dotted section name. */
static struct cfg_node *
section_map(struct ini_ctx *c, const char *section, int line)
{
	struct cfg_node *map = c->root, *kid;
	char part[INI_SECTION_MAX + 1];
	const char *p = section;
	size_t len = strlen(section);

	/* Validate the whole name before creating anything for it. */
	if (len == 0 || section[0] == '.' || section[len - 1] == '.' || strstr(section, "..") != NULL) {
		diag(c->diags, line, "invalid section name [%.60s] (empty part)", section);
		return NULL;
	}
	for (;;) {
		size_t n = strcspn(p, ".");

		if (n == 0 || n > INI_SECTION_MAX) {
			diag(c->diags, line, "invalid section name [%.60s] (empty part)", section);
			return NULL;
		}
		memcpy(part, p, n);
		part[n] = '\0';
		kid = cfg_node_get(map, part);
		if (kid == NULL) {
			kid = cfg_node_new(CFG_MAP, line, part, NULL);
			if (kid == NULL || cfg_node_add(map, kid) < 0) {
				cfg_node_free(kid);
				diag(c->diags, line, "out of memory or too many sections");
				return NULL;
			}
		} else if (kid->kind != CFG_MAP) {
			diag(c->diags, line, "section [%.60s] clashes with key '%s' at line %d",
			    section, part, kid->line);
			return NULL;
		}
		map = kid;
		p += n;
		if (*p == '\0')
			return map;
		p++;
	}
}

/* One "[name]" header at `line`: record it (map NULL if rejected). */
static int
header(struct ini_ctx *c, const char *name, int line)
{
	struct cfg_node *map = section_map(c, name, line);
	struct ini_header *v;

	if (map != NULL && map->explicit_section) {
		diag(c->diags, line, "duplicate section [%.60s] (first at line %d)", name, map->line);
		map = NULL;
	} else if (map != NULL) {
		map->explicit_section = true;
		map->line = line;
	}
	v = realloc(c->hdr, (c->n_hdr + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	c->hdr = v;
	v[c->n_hdr].line = line;
	v[c->n_hdr].map = map;
	c->n_hdr++;
	return 0;
}

static int
handler(void *user, const char *section, const char *name, const char *value, int line)
{
	struct ini_ctx *c = user;
	struct cfg_node *node, *dup, *cur = c->root;
	char *v = NULL;

	(void)section; /* we know the section from our own scan (and its line) */
	if (name == NULL)
		return 1; /* a new-section call, should a future inih make one */
	while (c->next_hdr < c->n_hdr && c->hdr[c->next_hdr].line < line)
		c->next_hdr++;
	if (c->next_hdr > 0)
		cur = c->hdr[c->next_hdr - 1].map;
	if (cur == NULL)
		return 1; /* keys of a rejected section: that error is reported */
	if (name[0] == '\0') {
		diag(c->diags, line, "missing key before '='");
		return 1;
	}
	if ((dup = cfg_node_get(cur, name)) != NULL) {
		if (dup->kind == CFG_MAP)
			diag(c->diags, line, "key '%.60s' clashes with section at line %d", name, dup->line);
		else
			diag(c->diags, line, "duplicate key '%.60s' (first at line %d)", name, dup->line);
		return 1;
	}
	if (value != NULL) {
		size_t n = strlen(value);

		v = strdup(value);
		if (v == NULL)
			goto nomem;
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			memmove(v, v + 1, n - 2);
			v[n - 2] = '\0';
		}
	}
	node = cfg_node_new(CFG_SCALAR, line, name, v ? v : "");
	if (v != NULL) {
		WIPE(v, strlen(v)); /* the value may be a token */
		free(v);
	}
	if (node == NULL)
		goto nomem;
	node->null = value == NULL;
	node->split_list = true;
	if (cfg_node_add(cur, node) < 0) {
		cfg_node_free(node);
		diag(c->diags, line, "more than %d keys in a section", CFG_MAX_ENTRIES);
	}
	return 1;
nomem:
	diag(c->diags, line, "out of memory");
	return 1;
}

/*
 * Find the section headers the way inih reads them (after leading
 * whitespace; the name runs to the first ']' unless an inline comment starts
 * first) and report what inih would report only once or silently accept:
 * no ']', names over INI_SECTION_MAX (inih truncates), text after ']'.
 */
static int
prescan(struct ini_ctx *c, char *buf)
{
	char *p = buf, name[INI_SECTION_MAX + 1];
	int line = 0;

	while (*p != '\0') {
		char *eol = strchr(p, '\n'), *s = p, *q;

		if (eol == NULL)
			eol = p + strlen(p);
		line++;
		/* inih skips a UTF-8 byte order mark on line 1: so do we. */
		if (line == 1 && eol - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3;
		while (s < eol && (*s == ' ' || *s == '\t'))
			s++;
		if (s < eol && *s == '[') {
			for (q = s + 1; q < eol && *q != ']'; q++)
				if ((*q == ';' || *q == '#') && (q[-1] == ' ' || q[-1] == '\t'))
					break;
			if (q == eol || *q != ']') {
				diag(c->diags, line, "section header without ']'");
				/* Hide the line from inih: after its first error inih
				 * silently drops key-only lines, and we report it here. */
				memset(s, ' ', (size_t)(eol - s));
			} else if (q - s - 1 > INI_SECTION_MAX) {
				diag(c->diags, line, "section name longer than %d bytes", INI_SECTION_MAX);
			} else {
				char *t = q + 1;

				while (t < eol && (*t == ' ' || *t == '\t' || *t == '\r'))
					t++;
				if (t < eol && *t != ';' && *t != '#')
					diag(c->diags, line, "unexpected text after the section header");
				memcpy(name, s + 1, (size_t)(q - s - 1));
				name[q - s - 1] = '\0';
				if (header(c, name, line) < 0)
					return -1;
				goto next;
			}
			/* A rejected header still starts a section: its keys are dropped. */
			if (header(c, "", line) < 0)
				return -1;
		}
next:
		p = *eol ? eol + 1 : eol;
	}
	return 0;
}

int
inifile_parse(const char *buf, size_t len, struct cfg_node **out, struct ini_diags *diags)
{
	struct ini_ctx c = { .diags = diags };
	char *copy = NULL;
	int r;

	*out = NULL;
	diags->n = 0;
	if (cfg_text_check(buf, len, &diags->v[0]) < 0) {
		diags->n = 1;
		return -1;
	}
	copy = malloc(len + 1);
	c.root = cfg_node_new(CFG_MAP, 1, NULL, NULL);
	if (copy == NULL || c.root == NULL) {
		free(copy);
		cfg_node_free(c.root);
		diag(diags, 0, "out of memory");
		return -1;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	if (prescan(&c, copy) < 0) {
		diag(diags, 0, "out of memory");
	} else {
		r = ini_parse_string(copy, handler, &c);
		if (r > 0)
			diag(diags, r, "syntax error");  /* deduplicated against the prescan */
		else if (r < 0)
			diag(diags, 0, "out of memory");
	}
	free(c.hdr);
	WIPE(copy, len);
	free(copy);
	*out = c.root;
	return diags->n ? -1 : 0;
}

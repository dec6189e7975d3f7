/* see schema_doc.h */
#include "config/schema_doc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/schema.h"
#include "config/units.h"

/* Which process reads a section.  The table cannot say it, so it lives here;
 * a section missing from this list falls back to its first name component
 * (agent..., orchestrator...) or to no statement at all. */
static const struct {
	const char *section;
	const char *used_by;
} section_users[] = {
	{ "authentication_methods.agents", "orchestrator (`certificate_rotation` is the lifetime of the client certificates it issues); checked by both" },
	{ "security.agent_auth", "orchestrator (`max_failed_attempts`); checked by both" },
	{ "sandbox", "agent (action plugins) and `stavily sandbox run`" },
	{ "sensor.sandbox", "agent (sensor plugins)" },
	{ "sensor", "agent (sensor plugins)" },
	{ "encryption_in_transit.agent_communication", "checked by both; only the secure values exist" },
	{ "detection_rules", "agent" },
	{ "logging", "agent and orchestrator" },
	{ "agent", "agent" },
	{ "orchestrator", "orchestrator" },
	{ "privacy", "orchestrator" },
};

/* Values each check function is tried with: a check that answers
 * "insecure value..." for one of them documents that refusal. */
static const char *const insecure_probes[] = {
	"http://orchestrator.example", "0:0", "0:65534", "65534:0",
};

#define INSECURE_PREFIX "insecure value"
#define DOC_MAX_REFUSED 4

static const char *
type_name(enum schema_type t)
{
	switch (t) {
	case ST_BOOL: return "bool";
	case ST_UINT: return "integer";
	case ST_SIZE: return "size";
	case ST_DURATION: return "duration";
	case ST_FRACTION: return "fraction";
	case ST_STRING: return "string";
	case ST_PATH: return "path";
	case ST_ENUM: return "enum";
	case ST_CHOICE: return "choice";
	case ST_LIST: return "list";
	case ST_ROTATION: return "rotation";
	case ST_RULES: return "rules";
	}
	return "?";
}

static const char *
used_by(const char *section)
{
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(section_users); i++)
		if (strcmp(section, section_users[i].section) == 0)
			return section_users[i].used_by;
	n = strcspn(section, ".");
	if (n == 5 && strncmp(section, "agent", 5) == 0)
		return "agent";
	if (n == 12 && strncmp(section, "orchestrator", 12) == 0)
		return "orchestrator";
	return NULL;
}

/* The format a check function expects: its message for an empty value when
 * that message says what is "expected ..." (without those words).  NULL
 * when the key has no check or the message describes no format. */
static const char *
value_format(const struct schema_key *k)
{
	const char *m;

	if (k->check == NULL || (m = k->check("")) == NULL || strncmp(m, "expected ", 9) != 0)
		return NULL;
	return m + 9;
}

/* Refusals of insecure values the check reports for the probes. */
static size_t
refused_values(const struct schema_key *k, const char **vals, const char **msgs)
{
	size_t i, j, n = 0;
	const char *m;
	bool seen;

	if (k->check == NULL)
		return 0;
	for (i = 0; i < ARRAY_SIZE(insecure_probes) && n < DOC_MAX_REFUSED; i++) {
		m = k->check(insecure_probes[i]);
		if (m == NULL || strncmp(m, INSECURE_PREFIX, strlen(INSECURE_PREFIX)) != 0)
			continue;
		for (seen = false, j = 0; j < n; j++)
			seen = seen || strcmp(msgs[j], m) == 0;
		if (seen)
			continue;
		vals[n] = insecure_probes[i];
		msgs[n++] = m;
	}
	return n;
}

/* Bounds as text in the key's unit ("no limit" for an open upper end);
 * false when the key has none worth saying. */
static bool
bounds_text(const struct schema_key *k, char *lo, char *hi, size_t len)
{
	uint64_t max = k->max;

	switch (k->type) {
	case ST_UINT:
		snprintf(lo, len, "%llu", (unsigned long long)k->min);
		if (max == 0 || max == UINT64_MAX)
			snprintf(hi, len, "no limit");
		else
			snprintf(hi, len, "%llu", (unsigned long long)max);
		return true;
	case ST_SIZE:
		if (k->min == 0 && (max == 0 || max == UINT64_MAX))
			return false;
		units_format_size(k->min, lo, len);
		if (max == 0 || max == UINT64_MAX)
			snprintf(hi, len, "no limit");
		else
			units_format_size(max, hi, len);
		return true;
	case ST_DURATION:
	case ST_ROTATION:
		units_format_duration(k->min, lo, len);
		if (max == 0 || max == UINT64_MAX)
			snprintf(hi, len, "no limit");
		else
			units_format_duration(max, hi, len);
		return true;
	case ST_FRACTION:
		snprintf(lo, len, "0");
		snprintf(hi, len, "%llu", (unsigned long long)max);
		return max != 0;
	default:
		return false;
	}
}

static bool
choice_refusal_insecure(const struct schema_key *k)
{
	return k->bad != NULL && strncmp(k->bad, INSECURE_PREFIX, strlen(INSECURE_PREFIX)) == 0;
}

/* ---- Markdown ------------------------------------------------------------- */

/* Text for a table cell: '|' would end the cell, a newline the row. */
static void
md_cell(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '\n')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

static void
md_values(FILE *f, const struct schema_key *k)
{
	const char *vals[DOC_MAX_REFUSED], *msgs[DOC_MAX_REFUSED];
	char lo[32], hi[32];
	const char *fmt;
	size_t i, n;
	int g;

	switch (k->type) {
	case ST_BOOL:
		fputs("`true` or `false` (also yes/no, on/off)", f);
		if (k->flags & SK_MUST_TRUE) {
			fputs("; **`false` is refused**: ", f);
			md_cell(f, k->bad ? k->bad : "insecure value");
		}
		break;
	case ST_ENUM:
		for (i = 0; k->names != NULL && k->names[i] != NULL; i++)
			fprintf(f, "%s`%s`", i ? ", " : "", k->names[i]);
		fputs(" (any case)", f);
		break;
	case ST_CHOICE:
		for (i = 0; k->choices != NULL && k->choices[i].id != NULL; i++) {
			fprintf(f, "%s`%s` or \"", i ? "; " : "", k->choices[i].id);
			md_cell(f, k->choices[i].sentence);
			fputs("\" (any case)", f);
		}
		if (k->bad != NULL) {
			fputs(choice_refusal_insecure(k) ? "; **anything else is refused**: "
			    : "; anything else is refused: ", f);
			md_cell(f, k->bad);
		}
		break;
	case ST_RULES:
		fputs("rule ids (or the brief's sentences):", f);
		for (i = 0; i < CONFIG_RULE_COUNT; i++) {
			const char *id = config_rule_name((enum config_rule)i);

			if (schema_rule_lookup(id, &g) >= 0 && (uint64_t)g == k->min)
				fprintf(f, " `%s`", id);
		}
		break;
	case ST_ROTATION:
		fputs("\"Automatic N-day rotation\" or a duration", f);
		break;
	case ST_SIZE:
		fputs("size (`256MB` = 256,000,000 bytes, `1GiB`)", f);
		break;
	case ST_DURATION:
		fputs("duration (`500ms`, `30s`, `5m`, `90d`)", f);
		break;
	case ST_FRACTION:
		fputs("fraction (`0.5`, `50%`)", f);
		break;
	case ST_UINT:
		fputs("integer", f);
		break;
	case ST_LIST:
		fputs("list", f);
		break;
	case ST_STRING:
	case ST_PATH:
		fputs(k->type == ST_PATH ? "path" : "text", f);
		break;
	}
	if (bounds_text(k, lo, hi, sizeof(lo))) {
		if (strcmp(hi, "no limit") != 0)
			fprintf(f, ", %s to %s", k->min == 0 ? "0" : lo, hi);
		else if (k->min != 0)
			fprintf(f, ", at least %s", lo);
	}
	if ((fmt = value_format(k)) != NULL) {
		fputs(k->type == ST_LIST ? "; each item: " : ": ", f);
		md_cell(f, fmt);
	}
	n = refused_values(k, vals, msgs);
	for (i = 0; i < n; i++) {
		fprintf(f, "; **`%s` is refused**: ", vals[i]);
		md_cell(f, msgs[i]);
	}
}

static void
md_default(FILE *f, const struct schema_key *k)
{
	if (k->type == ST_RULES)
		fputs("all rules of the group", f);
	else if (k->def == NULL)
		fputs(k->type == ST_LIST ? "empty" : "unset", f);
	else if (k->def[0] == '\0')
		fputs("empty", f);
	else {
		fputc('`', f);
		md_cell(f, k->def);
		fputc('`', f);
	}
}

static bool
section_seen_before(size_t idx)
{
	size_t j;

	for (j = 0; j < idx; j++)
		if (strcmp(schema_keys[j].section, schema_keys[idx].section) == 0)
			return true;
	return false;
}

int
schema_doc_markdown(FILE *f)
{
	size_t i, j;
	const char *sec, *who;

	for (i = 0; i < schema_n_keys; i++) {
		if (section_seen_before(i))
			continue;
		sec = schema_keys[i].section;
		fprintf(f, "%s### `%s`\n\n", i ? "\n" : "", sec);
		if ((who = used_by(sec)) != NULL)
			fprintf(f, "Used by: %s.\n\n", who);
		fputs("| key | type | default | values | meaning |\n"
		      "| --- | --- | --- | --- | --- |\n", f);
		for (j = i; j < schema_n_keys; j++) {
			const struct schema_key *k = &schema_keys[j];

			if (strcmp(k->section, sec) != 0)
				continue;
			fprintf(f, "| `%s` | %s%s | ", k->name, type_name(k->type),
			    (k->flags & SK_SECRET) ? ", **secret** (never printed)" : "");
			md_default(f, k);
			fputs(" | ", f);
			md_values(f, k);
			fputs(" | ", f);
			md_cell(f, k->desc ? k->desc : "");
			fputs(" |\n", f);
		}
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

/* ---- JSON ------------------------------------------------------------------- */

static cJSON *
key_json(const struct schema_key *k)
{
	const char *vals[DOC_MAX_REFUSED], *msgs[DOC_MAX_REFUSED];
	char lo[32], hi[32];
	cJSON *o = cJSON_CreateObject(), *a, *e;
	const char *fmt;
	size_t i, n;
	int g;
	bool fine = o != NULL;

	if (!fine)
		return NULL;
	fine = cJSON_AddStringToObject(o, "key", k->name) && fine;
	fine = cJSON_AddStringToObject(o, "type", type_name(k->type)) && fine;
	fine = (k->def ? cJSON_AddStringToObject(o, "default", k->def)
	    : cJSON_AddNullToObject(o, "default")) && fine;
	if (bounds_text(k, lo, hi, sizeof(lo))) {
		fine = cJSON_AddStringToObject(o, "min", lo) && fine;
		fine = cJSON_AddStringToObject(o, "max", hi) && fine;
	}
	if (k->type == ST_ENUM && k->names != NULL) {
		fine = (a = cJSON_AddArrayToObject(o, "values")) != NULL && fine;
		for (i = 0; a != NULL && k->names[i] != NULL; i++)
			fine = cJSON_AddItemToArray(a, cJSON_CreateString(k->names[i])) && fine;
	}
	if (k->type == ST_CHOICE && k->choices != NULL) {
		fine = (a = cJSON_AddArrayToObject(o, "values")) != NULL && fine;
		for (i = 0; a != NULL && k->choices[i].id != NULL; i++) {
			fine = (e = cJSON_CreateObject()) != NULL && cJSON_AddItemToArray(a, e) && fine;
			if (e != NULL) {
				fine = cJSON_AddStringToObject(e, "id", k->choices[i].id) && fine;
				fine = cJSON_AddStringToObject(e, "sentence", k->choices[i].sentence) && fine;
			}
		}
	}
	if (k->type == ST_RULES) {
		fine = (a = cJSON_AddArrayToObject(o, "values")) != NULL && fine;
		for (i = 0; a != NULL && i < CONFIG_RULE_COUNT; i++) {
			const char *id = config_rule_name((enum config_rule)i);

			if (schema_rule_lookup(id, &g) >= 0 && (uint64_t)g == k->min)
				fine = cJSON_AddItemToArray(a, cJSON_CreateString(id)) && fine;
		}
	}
	if ((fmt = value_format(k)) != NULL)
		fine = cJSON_AddStringToObject(o, "format", fmt) && fine;
	fine = cJSON_AddBoolToObject(o, "secret", (k->flags & SK_SECRET) != 0) && fine;
	fine = (a = cJSON_AddArrayToObject(o, "refused")) != NULL && fine;
	if (a != NULL && (k->flags & SK_MUST_TRUE)) {
		fine = (e = cJSON_CreateObject()) != NULL && cJSON_AddItemToArray(a, e) && fine;
		if (e != NULL) {
			fine = cJSON_AddStringToObject(e, "value", "false") && fine;
			fine = cJSON_AddStringToObject(e, "message", k->bad ? k->bad : "insecure value") && fine;
		}
	}
	if (a != NULL && k->type == ST_CHOICE && k->bad != NULL) {
		fine = (e = cJSON_CreateObject()) != NULL && cJSON_AddItemToArray(a, e) && fine;
		if (e != NULL) {
			fine = cJSON_AddStringToObject(e, "value", "anything else") && fine;
			fine = cJSON_AddStringToObject(e, "message", k->bad) && fine;
		}
	}
	n = refused_values(k, vals, msgs);
	for (i = 0; a != NULL && i < n; i++) {
		fine = (e = cJSON_CreateObject()) != NULL && cJSON_AddItemToArray(a, e) && fine;
		if (e != NULL) {
			fine = cJSON_AddStringToObject(e, "value", vals[i]) && fine;
			fine = cJSON_AddStringToObject(e, "message", msgs[i]) && fine;
		}
	}
	fine = cJSON_AddStringToObject(o, "description", k->desc ? k->desc : "") && fine;
	if (!fine) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int
schema_doc_json(FILE *f)
{
	cJSON *root = cJSON_CreateObject(), *secs, *sec, *keys, *kj;
	const char *who;
	char *text = NULL;
	size_t i, j;
	int rc = -ENOMEM;

	if (root == NULL || (secs = cJSON_AddArrayToObject(root, "sections")) == NULL)
		goto out;
	for (i = 0; i < schema_n_keys; i++) {
		if (section_seen_before(i))
			continue;
		if ((sec = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(secs, sec))
			goto out;
		if (!cJSON_AddStringToObject(sec, "section", schema_keys[i].section))
			goto out;
		who = used_by(schema_keys[i].section);
		if (!(who ? cJSON_AddStringToObject(sec, "used_by", who)
		    : cJSON_AddNullToObject(sec, "used_by")))
			goto out;
		if ((keys = cJSON_AddArrayToObject(sec, "keys")) == NULL)
			goto out;
		for (j = i; j < schema_n_keys; j++) {
			if (strcmp(schema_keys[j].section, schema_keys[i].section) != 0)
				continue;
			if ((kj = key_json(&schema_keys[j])) == NULL || !cJSON_AddItemToArray(keys, kj)) {
				cJSON_Delete(kj);
				goto out;
			}
		}
	}
	if ((text = cJSON_Print(root)) == NULL)
		goto out;
	rc = fprintf(f, "%s\n", text) < 0 || fflush(f) != 0 ? -EIO : 0;
out:
	free(text);
	cJSON_Delete(root);
	return rc;
}

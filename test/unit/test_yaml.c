/* Unit tests of the strict YAML subset (src/config/yaml.c) and the shared
 * text checks (text.c), including adversarial inputs. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "config/yaml.h"

static struct cfg_node *
parse_ok(const char *text)
{
	struct cfg_node *root = NULL;
	struct cfg_diag d;

	if (yaml_parse(text, strlen(text), &root, &d) < 0) {
		printf("  unexpected error at line %d: %s\n", d.line, d.msg);
		return NULL;
	}
	return root;
}

/* Expect an error at `line` whose message contains `what`. */
static int
parse_err_len(const char *text, size_t len, int line, const char *what)
{
	struct cfg_node *root = NULL;
	struct cfg_diag d;

	if (yaml_parse(text, len, &root, &d) == 0) {
		cfg_node_free(root);
		printf("  parsed, expected an error containing '%s'\n", what);
		return 0;
	}
	if (root != NULL || d.line != line || strstr(d.msg, what) == NULL) {
		printf("  error at line %d: '%s', expected line %d with '%s'\n", d.line, d.msg, line, what);
		return 0;
	}
	return 1;
}

static int
parse_err(const char *text, int line, const char *what)
{
	return parse_err_len(text, strlen(text), line, what);
}

static void
test_brief_block(void)
{
	static const char text[] =
	    "sandbox:\n"
	    "  memory_limit: 256MB   # a comment\n"
	    "  cpu_limit: 0.5\n"
	    "  filesystem_access:\n"
	    "    - /tmp\n"
	    "    - /var/log/stavily\n"
	    "encryption_in_transit:\n"
	    "  agent_communication:\n"
	    "    fallback: \"No fallback to unencrypted communication\"\n";
	struct cfg_node *root = parse_ok(text), *sb, *fs, *enc;

	CHECK(root != NULL);
	if (root == NULL)
		return;
	CHECK_EQ_INT(root->kind, CFG_MAP);
	CHECK_EQ_INT(root->n, 2);
	sb = cfg_node_get(root, "sandbox");
	CHECK(sb != NULL && sb->kind == CFG_MAP && sb->line == 1);
	CHECK_EQ_STR(cfg_node_get(sb, "memory_limit")->value, "256MB");
	CHECK_EQ_INT(cfg_node_get(sb, "cpu_limit")->line, 3);
	fs = cfg_node_get(sb, "filesystem_access");
	CHECK(fs != NULL && fs->kind == CFG_SEQ && fs->n == 2);
	if (fs != NULL && fs->n == 2) {
		CHECK_EQ_STR(fs->kids[1]->value, "/var/log/stavily");
		CHECK_EQ_INT(fs->kids[1]->line, 6);
	}
	enc = cfg_node_get(cfg_node_get(root, "encryption_in_transit"), "agent_communication");
	CHECK_EQ_STR(cfg_node_get(enc, "fallback")->value, "No fallback to unencrypted communication");
	cfg_node_free(root);
}

static void
test_scalars(void)
{
	struct cfg_node *root = parse_ok(
	    "a: 'it''s # not a comment'\n"
	    "b: \"tab\\there \\\"q\\\" \\u00e9 \\/\"\n"
	    "c: plain#hash value # comment\n"
	    "d: https://example.com:8443/x\n"
	    "e:\n"
	    "f: [x, \"y, z\", 'w']\n"
	    "g: []\n"
	    "\"quoted key\": 1\n"
	    "h: caf\xc3\xa9\r\n");

	CHECK(root != NULL);
	if (root == NULL)
		return;
	CHECK_EQ_STR(cfg_node_get(root, "a")->value, "it's # not a comment");
	CHECK_EQ_STR(cfg_node_get(root, "b")->value, "tab\there \"q\" \xc3\xa9 /");
	CHECK_EQ_STR(cfg_node_get(root, "c")->value, "plain#hash value");
	CHECK_EQ_STR(cfg_node_get(root, "d")->value, "https://example.com:8443/x");
	CHECK(cfg_node_get(root, "e")->null);
	CHECK_EQ_INT(cfg_node_get(root, "f")->n, 3);
	CHECK_EQ_STR(cfg_node_get(root, "f")->kids[1]->value, "y, z");
	CHECK_EQ_INT(cfg_node_get(root, "g")->kind, CFG_SEQ);
	CHECK_EQ_INT(cfg_node_get(root, "g")->n, 0);
	CHECK(cfg_node_get(root, "quoted key") != NULL);
	CHECK_EQ_STR(cfg_node_get(root, "h")->value, "caf\xc3\xa9");
	cfg_node_free(root);
}

static void
test_sequence_at_key_indent(void)
{
	struct cfg_node *root = parse_ok("a:\n- x\n- y\nb: 1\n");

	CHECK(root != NULL);
	if (root == NULL)
		return;
	CHECK_EQ_INT(cfg_node_get(root, "a")->n, 2);
	CHECK_EQ_STR(cfg_node_get(root, "b")->value, "1");
	cfg_node_free(root);
}

static void
test_empty_and_comments(void)
{
	struct cfg_node *root = parse_ok("");

	CHECK(root != NULL && root->n == 0);
	cfg_node_free(root);
	root = parse_ok("# only a comment\n\n   \n");
	CHECK(root != NULL && root->n == 0);
	cfg_node_free(root);
	root = parse_ok("\xef\xbb\xbf" "a: 1\n");
	CHECK(root != NULL && root->n == 1);
	cfg_node_free(root);
}

static void
test_rejected_features(void)
{
	CHECK(parse_err("a: &x 1\n", 1, "anchors"));
	CHECK(parse_err("a: 1\nb: *x\n", 2, "aliases"));
	CHECK(parse_err("a: !!str 1\n", 1, "tags"));
	CHECK(parse_err("a: 1\n---\nb: 2\n", 2, "multi-document"));
	CHECK(parse_err("a: 1\n...\n", 2, "multi-document"));
	CHECK(parse_err("%YAML 1.2\na: 1\n", 1, "directives"));
	CHECK(parse_err("a: |\n  text\n", 1, "block scalars"));
	CHECK(parse_err("a: >-\n  text\n", 1, "block scalars"));
	CHECK(parse_err("a: one\n  two\n", 2, "multi-line scalars"));
	CHECK(parse_err("a:\n  - one\n    two\n", 3, "multi-line scalars"));
	CHECK(parse_err("a: one\n  two: x\n", 2, "continuation"));
	CHECK(parse_err("a:\n  - one\n    b: x\n", 3, "continuation"));
	CHECK(parse_err("a: \"open\n  quote\"\n", 1, "multi-line"));
	CHECK(parse_err("a: [x,\n  y]\n", 1, "multi-line"));
	CHECK(parse_err("a:\n\tb: 1\n", 2, "tab in indentation"));
	CHECK(parse_err("a:\n \tb: 1\n", 2, "tab in indentation"));
	CHECK(parse_err("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first at line 1)"));
	CHECK(parse_err("a:\n    b: 1\n  c: 2\n", 3, "inconsistent indentation"));
	CHECK(parse_err("a:\n  b: 1\n c: 2\n", 3, "inconsistent indentation"));
	CHECK(parse_err("a: {b: 1}\n", 1, "flow mappings"));
	CHECK(parse_err("a: [x, [y]]\n", 1, "nested flow"));
	CHECK(parse_err("a: [x, {y: 1}]\n", 1, "flow mappings"));
	CHECK(parse_err("a:\n  - b: 1\n", 2, "mappings inside sequences"));
	CHECK(parse_err("a:\n  -\n", 2, "empty sequence item"));
	CHECK(parse_err("a:\n  - - x\n", 2, "nested sequences"));
	CHECK(parse_err("? a\n: b\n", 1, "complex keys"));
	CHECK(parse_err("- a\n", 1, "must be a mapping"));
	CHECK(parse_err("just text\n", 1, "expected 'key: value'"));
	CHECK(parse_err("a: b: c\n", 1, "': '"));
	CHECK(parse_err("a: \"x\" y\n", 1, "after the value"));
	CHECK(parse_err("a: \"\\q\"\n", 1, "unsupported escape"));
	CHECK(parse_err("a: \"\\u0000\"\n", 1, "not allowed"));
	CHECK(parse_err("a: \"\\ud800\"\n", 1, "not allowed"));
	CHECK(parse_err("a: [x,,y]\n", 1, "unexpected ','"));
	CHECK(parse_err("a: [x, ]\n", 1, "unexpected ']'"));
	CHECK(parse_err("a: @x\n", 1, "reserved"));
	CHECK(parse_err("a:\n  - x\n  b: 1\n", 3, "inconsistent indentation"));
	CHECK(parse_err("a:\n  b: 1\n  - x\n", 3, "sequence item where a key"));
	CHECK(parse_err("\"a\" b: 1\n", 1, "expected ':'"));
}

static void
test_bytes(void)
{
	static const char nul[] = "a: 1\nb: x\0y\n";
	char bad_utf8[] = "a: 1\nb: \xc3\x28\n";

	CHECK(parse_err_len(nul, sizeof(nul) - 1, 2, "NUL"));
	CHECK(parse_err(bad_utf8, 2, "invalid UTF-8"));
	CHECK(parse_err("a: \xc0\xaf\n", 1, "invalid UTF-8"));          /* overlong '/' */
	CHECK(parse_err("a: \xed\xa0\x80\n", 1, "invalid UTF-8"));      /* surrogate */
	CHECK(parse_err("a: \xf4\x90\x80\x80\n", 1, "invalid UTF-8"));  /* > U+10FFFF */
	CHECK(parse_err("a: \xe2\x82\n", 1, "invalid UTF-8"));          /* truncated */
	CHECK(parse_err("a: 1\nb: \x1b[31m\n", 2, "control character"));
	CHECK(parse_err("a: 1\rb: 2\n", 1, "control character"));
}

static void
test_caps(void)
{
	size_t n = CFG_MAX_LINE + 10, i;
	char *big = malloc(CFG_MAX_FILE + 2);
	char *p;
	int depth;

	CHECK(big != NULL);
	if (big == NULL)
		return;
	/* A line just over the cap, then one exactly at it. */
	memcpy(big, "a: ", 3);
	memset(big + 3, 'x', n - 3);
	big[n] = '\n';
	CHECK(parse_err_len(big, n + 1, 1, "line longer than"));
	big[CFG_MAX_LINE] = '\n';
	{
		struct cfg_node *root = NULL;
		struct cfg_diag d;

		CHECK_EQ_INT(yaml_parse(big, CFG_MAX_LINE + 1, &root, &d), 0);
		cfg_node_free(root);
	}
	/* A file over the cap. */
	memset(big, '#', CFG_MAX_FILE + 1);
	CHECK(parse_err_len(big, CFG_MAX_FILE + 1, 0, "larger than"));
	/* Deep nesting: CFG_MAX_DEPTH levels (the root and depth - 1 nested
	 * mappings) parse, one more is refused. */
	for (depth = CFG_MAX_DEPTH - 1; depth <= CFG_MAX_DEPTH; depth++) {
		struct cfg_node *root = NULL;
		struct cfg_diag d;
		int r;

		p = big;
		for (i = 0; i < (size_t)depth; i++)
			p += sprintf(p, "%*sk%zu:\n", (int)i, "", i);
		p += sprintf(p, "%*sleaf: 1\n", depth, "");
		r = yaml_parse(big, (size_t)(p - big), &root, &d);
		if (depth == CFG_MAX_DEPTH - 1) {
			CHECK_EQ_INT(r, 0);
		} else {
			CHECK_EQ_INT(r, -1);
			CHECK(strstr(d.msg, "nesting deeper") != NULL);
		}
		cfg_node_free(root);
	}
	/* Too many keys in one mapping. */
	p = big;
	for (i = 0; i <= CFG_MAX_ENTRIES; i++)
		p += sprintf(p, "k%zu: 1\n", i);
	CHECK(parse_err_len(big, (size_t)(p - big), CFG_MAX_ENTRIES + 1, "more than"));
	/* Very deep indentation without structure: one error, no recursion. */
	p = big;
	p += sprintf(p, "a:\n");
	for (i = 1; i < 1000; i++)  /* about 500 KB, under CFG_MAX_FILE */
		p += sprintf(p, "%*sb%zu:\n", (int)i, "", i);
	{
		struct cfg_node *root = NULL;
		struct cfg_diag d;

		CHECK_EQ_INT(yaml_parse(big, (size_t)(p - big), &root, &d), -1);
		CHECK(strstr(d.msg, "nesting deeper") != NULL);
	}
	free(big);
}

/* Regression inputs the fuzzer or review found (keep them total). */
static void
test_regressions(void)
{
	static const char *const inputs[] = {
		"a:", "a: [", "a: [\"", "a: '", "a: \"\\", "a: \"\\u12", "- ", "-", ":", ": x",
		"a:\n-", "a: [,]", "a: []x", "\"a", "'a':", "a: #", "a:\n  b:\n    c:\n  d: 1",
		"#\n#\n- x", "a: 1\n b: 2", "x: - y",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(inputs); i++) {
		struct cfg_node *root = NULL;
		struct cfg_diag d;
		int r = yaml_parse(inputs[i], strlen(inputs[i]), &root, &d);

		CHECK((r == 0) == (root != NULL));
		cfg_node_free(root);
	}
}

int
main(void)
{
	RUN(test_brief_block);
	RUN(test_scalars);
	RUN(test_sequence_at_key_indent);
	RUN(test_empty_and_comments);
	RUN(test_rejected_features);
	RUN(test_bytes);
	RUN(test_caps);
	RUN(test_regressions);
	return HARNESS_EXIT();
}

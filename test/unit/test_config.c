/* Unit tests of the INI loader, the schema and config_load(): every error
 * path of the schema, "did you mean", --set overrides, YAML == INI, secrets
 * never printed. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "config/config_impl.h"
#include "config/inifile.h"
#include "config/schema.h"

static char dir[] = "/tmp/stavily-test-config.XXXXXX";
static char path_buf[4096];

static const char *
write_file(const char *name, const char *text)
{
	FILE *f;

	snprintf(path_buf, sizeof(path_buf), "%s/%s", dir, name);
	f = fopen(path_buf, "w");
	if (f == NULL)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path_buf;
}

/* Load `text` as file `name`; return the number of errors, keep them. */
static struct config_errors last;

static size_t
load_errors(const char *name, const char *text, const char *const *sets, size_t n_sets)
{
	struct config *cfg = NULL;
	const char *p = write_file(name, text);

	config_errors_free(&last);
	if (config_load(p, sets, n_sets, &cfg, &last) == 0) {
		config_free(cfg);
		return 0;
	}
	CHECK(cfg == NULL);
	CHECK(last.n > 0);
	return last.n;
}

/* Is there an error at `line` containing `what`? */
static int
has_error(int line, const char *what)
{
	size_t i;

	for (i = 0; i < last.n; i++)
		if (last.v[i].line == line && strstr(last.v[i].msg, what) != NULL)
			return 1;
	printf("  no error at line %d containing '%s'; got:\n", line, what);
	config_errors_print(&last, stdout);
	return 0;
}

static int
has_error_quiet(int line, const char *what)
{
	size_t i;

	for (i = 0; i < last.n; i++)
		if (last.v[i].line == line && strstr(last.v[i].msg, what) != NULL)
			return 1;
	return 0;
}

static struct config *
load_ok(const char *name, const char *text)
{
	struct config *cfg = NULL;
	const char *p = write_file(name, text);

	config_errors_free(&last);
	if (config_load(p, NULL, 0, &cfg, &last) < 0) {
		config_errors_print(&last, stdout);
		return NULL;
	}
	return cfg;
}

static void
test_defaults(void)
{
	struct config *cfg = NULL;
	struct config_errors errs = { 0 };
	const struct config_sandbox *sb, *ss;

	CHECK_EQ_INT(config_load(NULL, NULL, 0, &cfg, &errs), 0);
	CHECK_EQ_INT(errs.n, 0);
	if (cfg == NULL)
		return;
	sb = config_sandbox(cfg, NULL);
	ss = config_sandbox(cfg, "sensor.sandbox");
	CHECK(sb == config_sandbox(cfg, "sandbox"));
	CHECK(config_sandbox(cfg, "nope") == NULL);
	CHECK(sb->memory_limit == 256000000ULL);
	CHECK(sb->cpu_limit == 0.5);
	CHECK_EQ_INT(sb->network_access, SANDBOX_NET_RESTRICTED);
	CHECK_EQ_INT(sb->filesystem_access.n, 2);
	CHECK_EQ_INT(sb->allowed_syscalls.n, 5);
	CHECK_EQ_STR(sb->blocked_syscalls.v[0], "exec");
	CHECK(sb->wall_timeout_ms == 60000);
	CHECK(sb->max_output == 1000000);
	CHECK_EQ_INT(sb->max_processes, 32);
	CHECK_EQ_INT(sb->max_open_files, 64);
	CHECK(sb->max_file_size == 64000000ULL);
	CHECK_EQ_INT(sb->on_violation, SANDBOX_VIOLATION_DENY);
	CHECK_EQ_INT(sb->max_violations, 100);
	CHECK(sb->user == NULL);
	CHECK_EQ_INT(sb->namespaces, SANDBOX_NS_AUTO);
	CHECK_EQ_INT(sb->require.n, 0);
	CHECK(sb->report_fs_denials);
	CHECK(sb->tmp_size == 64000000ULL);
	CHECK(!sb->fs_default_ro);
	CHECK_EQ_INT(ss->network_access, SANDBOX_NET_NONE);
	CHECK(ss->fs_default_ro);
	CHECK_EQ_STR(ss->filesystem_access.v[0], "/var/log:ro");
	CHECK(config_get_authentication(cfg)->cert_lifetime_ms == 90ULL * 86400000);
	CHECK(config_get_agent_auth(cfg)->require_tls);
	CHECK_EQ_INT(config_get_agent_auth(cfg)->max_failed_attempts, 5);
	CHECK_EQ_STR(config_get_transit(cfg)->fallback, "none");
	CHECK(config_rule_enabled(cfg, CONFIG_RULE_BLOCKED_SYSCALL_ATTEMPT));
	CHECK_EQ_INT(config_get_logging(cfg)->level, CONFIG_LOG_INFO);
	CHECK(config_get_orchestrator(cfg)->events_retention_ms == 30ULL * 86400000);
	CHECK(!config_get_privacy(cfg)->pseudonymize_addresses);
	CHECK(config_get_agent(cfg)->token == NULL);
	CHECK_EQ_STR(config_rule_name(CONFIG_RULE_CERTIFICATE_EXPIRING), "certificate_expiring");
	config_free(cfg);
}

static void
test_brief_values(void)
{
	struct config *cfg = load_ok("brief.yaml",
	    "authentication_methods:\n"
	    "  agents:\n"
	    "    certificate_rotation: \"Automatic 30-day rotation\"\n"
	    "sandbox:\n"
	    "  memory_limit: 1GiB\n"
	    "  filesystem_access: [/tmp:rw, /etc/ssl:ro]\n"
	    "  user: \"1000:1000\"\n"
	    "  require: [seccomp, landlock]\n"
	    "detection_rules:\n"
	    "  sandbox_violations:\n"
	    "    - blocked_syscall_attempt\n"
	    "    - \"resource limit exceedances\"\n");

	CHECK(cfg != NULL);
	if (cfg == NULL)
		return;
	CHECK(cfg->authentication.cert_lifetime_ms == 30ULL * 86400000);
	CHECK(cfg->sandbox.memory_limit == 1ULL << 30);
	CHECK_EQ_STR(cfg->sandbox.filesystem_access.v[1], "/etc/ssl:ro");
	CHECK_EQ_STR(cfg->sandbox.user, "1000:1000");
	CHECK_EQ_INT(cfg->sandbox.require.n, 2);
	/* The group written lists exactly what is enabled; other groups keep all. */
	CHECK(cfg->detection.enabled[CONFIG_RULE_BLOCKED_SYSCALL_ATTEMPT]);
	CHECK(cfg->detection.enabled[CONFIG_RULE_RESOURCE_LIMIT_EXCEEDED]);
	CHECK(!cfg->detection.enabled[CONFIG_RULE_UNAUTHORIZED_FILESYSTEM_ACCESS]);
	CHECK(cfg->detection.enabled[CONFIG_RULE_TLS_HANDSHAKE_FAILED]);
	config_free(cfg);
}

/* One row per error path of the schema: text, line, expected message. */
static void
test_schema_errors(void)
{
	static const struct { const char *text; int line; const char *msg; } cases[] = {
		{ "security:\n  agent_auth:\n    require_tls: false\n", 3, "insecure value: require_tls" },
		{ "security:\n  agent_auth:\n    validate_hostname: no\n", 3, "insecure value: validate_hostname" },
		{ "security:\n  agent_auth:\n    require_tls: maybe\n", 3, "expected true or false" },
		{ "security:\n  agent_auth:\n    max_failed_attempts: 0\n", 3, "out of range (1 to 1000)" },
		{ "security:\n  agent_auth:\n    max_failed_attempts: five\n", 3, "invalid integer" },
		{ "security:\n  agent_auth:\n    max_failed_attempts:\n", 3, "missing value" },
		{ "security:\n  agent_auth:\n    max_failed_attempts: [1]\n", 3, "found a list" },
		{ "security:\n  agent_auth:\n    max_failed_attempts:\n      x: 1\n", 3, "found a mapping" },
		{ "security: 3\n", 1, "this is a section" },
		{ "sandbox:\n  memory_limit: lots\n", 2, "invalid size" },
		{ "sandbox:\n  memory_limit: 99999999999999999999999B\n", 2, "overflows" },
		{ "sandbox:\n  wall_timeout: 30\n", 2, "invalid duration" },
		{ "sandbox:\n  wall_timeout: 100000000000d\n", 2, "out of range" },
		{ "sandbox:\n  wall_timeout: 99999999999999999999s\n", 2, "overflows" },
		{ "sandbox:\n  cpu_limit: half\n", 2, "invalid fraction" },
		{ "sandbox:\n  cpu_limit: 5000\n", 2, "out of range" },
		{ "sandbox:\n  network_access: internet\n", 2, "not one of: none restricted full" },
		{ "sandbox:\n  filesystem_access: /tmp\n", 2, "expected a list" },
		{ "sandbox:\n  filesystem_access:\n    k: v\n", 2, "found a mapping" },
		{ "sandbox:\n  filesystem_access:\n    - tmp\n", 3, "absolute path" },
		{ "sandbox:\n  filesystem_access:\n    - /tmp:wx\n", 3, ":ro and :rw" },
		{ "sandbox:\n  filesystem_access:\n    - /tmp/../etc\n", 3, "'..'" },
		{ "sandbox:\n  allowed_syscalls:\n    - read\n    - frobnicate\n", 4, "unknown system call" },
		{ "sandbox:\n  blocked_syscalls: [exec, nope]\n", 2, "unknown system call" },
		{ "sandbox:\n  user: root\n", 2, "uid:gid" },
		{ "sandbox:\n  user: \"1:4294967295\"\n", 2, "uid:gid" },
		{ "sandbox:\n  user: \"0:0\"\n", 2, "insecure value: uid and gid must not be 0" },
		{ "agent:\n  user: \"1000:0\"\n", 2, "insecure value" },
		{ "sandbox:\n  require: [seccomp, magic]\n", 2, "unknown layer" },
		{ "sandbox:\n  on_violation: ignore\n", 2, "not one of: deny kill" },
		{ "sensor:\n  sandbox:\n    namespaces: maybe\n", 3, "not one of: auto off required" },
		{ "authentication_methods:\n  agents:\n    primary: password\n", 3, "only with mTLS" },
		{ "authentication_methods:\n  agents:\n    secondary: none\n", 3, "unsupported" },
		{ "authentication_methods:\n  agents:\n    certificate_rotation: \"Automatic ninety-day rotation\"\n", 3, "invalid rotation" },
		{ "authentication_methods:\n  agents:\n    certificate_rotation: 1000d\n", 3, "out of range" },
		{ "encryption_in_transit:\n  agent_communication:\n    fallback: \"Fallback to HTTP\"\n", 3, "insecure value: fallback" },
		{ "encryption_in_transit:\n  agent_communication:\n    protocol: TLS\n", 3, "always mTLS" },
		{ "encryption_in_transit:\n  agent_communication:\n    validation: none\n", 3, "unsupported" },
		{ "detection_rules:\n  sandbox_violations:\n    - \"TLS handshake failures\"\n", 3, "belongs to group communication_anomalies" },
		{ "detection_rules:\n  sandbox_violations:\n    - \"Cosmic rays\"\n", 3, "unknown detection rule" },
		{ "detection_rules:\n  sandbox_violations: blocked_syscall_attempt\n", 2, "expected a list" },
		{ "detection_rules:\n  misc_anomalies: []\n", 2, "unknown key" },
		{ "logging:\n  level: LOUD\n", 2, "not one of: DEBUG INFO WARN ERROR CRITICAL" },
		{ "logging:\n  format: xml\n", 2, "only one is json" },
		{ "logging:\n  file: \"\"\n", 2, "empty path" },
		{ "agent:\n  type: spy\n", 2, "not one of: action sensor" },
		{ "agent:\n  id: \"a b\"\n", 2, "A-Z a-z 0-9" },
		{ "agent:\n  orchestrator_url: http://orch:8444\n", 2, "insecure value: plaintext http://" },
		{ "agent:\n  enroll_url: ftp://orch\n", 2, "expected an https:// URL" },
		{ "agent:\n  enroll_url: https://\n", 2, "expected an https:// URL" },
		{ "agent:\n  ca_pins: [sha256:abcd]\n", 2, "sha256:<64 hex digits>" },
		{ "agent:\n  ca_pins: [md5:00]\n", 2, "SPKI pin" },
		{ "agent:\n  server_name: \"bad name\"\n", 2, "DNS name" },
		{ "agent:\n  max_concurrent_jobs: 0\n", 2, "out of range" },
		{ "agent:\n  heartbeat_interval: 10ms\n", 2, "out of range (1s to 1d)" },
		{ "orchestrator:\n  listen_agent: 8444\n", 2, "host:port" },
		{ "orchestrator:\n  listen_agent: \"host:70000\"\n", 2, "port must be" },
		{ "orchestrator:\n  trust_domain: \"a/b\"\n", 2, "DNS name" },
		{ "privacy:\n  pseudonymize_addresses: 2\n", 2, "expected true or false" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (load_errors("e.yaml", cases[i].text, NULL, 0) == 0) {
			printf("  case %zu accepted: %s\n", i, cases[i].text);
			CHECK(0);
			continue;
		}
		if (!has_error(cases[i].line, cases[i].msg))
			printf("  (case %zu)\n", i);
		CHECK(has_error(cases[i].line, cases[i].msg));
	}
}

static void
test_all_errors_collected(void)
{
	CHECK_EQ_INT(load_errors("many.yaml",
	    "sandbox:\n"
	    "  memory_limt: 1MB\n"
	    "  cpu_limit: lots\n"
	    "security:\n"
	    "  agent_auth:\n"
	    "    require_tls: false\n"
	    "agent:\n"
	    "  orchestrator_url: http://x\n", NULL, 0), 4);
	CHECK(has_error(2, "unknown key 'sandbox.memory_limt' (did you mean 'sandbox.memory_limit'?)"));
	CHECK(has_error(3, "invalid fraction"));
	CHECK(has_error(6, "require_tls"));
	CHECK(has_error(8, "http://"));
	CHECK_EQ_STR(last.v[0].file, path_buf);
}

static void
test_did_you_mean(void)
{
	CHECK(load_errors("s.yaml", "sandbx:\n  cpu_limit: 1\n", NULL, 0) == 1);
	CHECK(has_error(1, "unknown key 'sandbx' (did you mean 'sandbox'?)"));
	CHECK(load_errors("s.yaml", "security:\n  agent_auth:\n    requre_tls: true\n", NULL, 0) == 1);
	CHECK(has_error(3, "(did you mean 'security.agent_auth.require_tls'?)"));
	CHECK(load_errors("s.yaml", "security:\n  agentauth:\n    require_tls: true\n", NULL, 0) == 1);
	CHECK(has_error(2, "(did you mean 'security.agent_auth'?)"));
	CHECK(load_errors("s.yaml", "zzzzzz: 1\n", NULL, 0) == 1);
	CHECK(has_error(1, "unknown key 'zzzzzz'"));
	CHECK(strstr(last.v[0].msg, "did you mean") == NULL);
	CHECK_EQ_INT(schema_edit_distance("kitten", "sitting"), 3);
	CHECK_EQ_INT(schema_edit_distance("", "abc"), 3);
	CHECK_EQ_INT(schema_edit_distance("same", "same"), 0);
	{
		char longname[100];

		memset(longname, 'a', 99);
		longname[99] = '\0';
		CHECK(schema_edit_distance(longname, "a") == SIZE_MAX);
	}
}

static void
test_ini(void)
{
	struct config *cfg = load_ok("a.ini",
	    "; comment\n"
	    "[security.agent_auth]\n"
	    "require_tls = true ; inline\n"
	    "max_failed_attempts = 7 # inline too\n"
	    "[sandbox]\n"
	    "blocked_syscalls = exec, fork , socket\n"
	    "allowed_syscalls =\n"
	    "user = \"1:2\"\n"
	    "[sensor.sandbox]\n"
	    "network_access = full\n");

	CHECK(cfg != NULL);
	if (cfg == NULL)
		return;
	CHECK_EQ_INT(cfg->agent_auth.max_failed_attempts, 7);
	CHECK_EQ_INT(cfg->sandbox.blocked_syscalls.n, 3);
	CHECK_EQ_STR(cfg->sandbox.blocked_syscalls.v[1], "fork");
	CHECK_EQ_INT(cfg->sandbox.allowed_syscalls.n, 0);
	CHECK_EQ_STR(cfg->sandbox.user, "1:2");
	CHECK_EQ_INT(cfg->sensor_sandbox.network_access, SANDBOX_NET_FULL);
	config_free(cfg);
}

static void
test_ini_errors(void)
{
	/* Syntax and schema errors are all reported, not only inih's first. */
	CHECK(load_errors("b.ini",
	    "[sandbox\n"                        /* 1: no ] */
	    "x = 1\n"                           /* 2: dropped with its section */
	    "[security.agent_auth]\n"
	    "require_tls = false\n"             /* 4 */
	    "require_tls = true\n"              /* 5: duplicate */
	    "[security.agent_auth]\n"           /* 6: duplicate section */
	    "[logging] junk\n"                  /* 7 */
	    "levl = INFO\n"                     /* 8 */
	    "[a..b]\n"                          /* 9 */
	    "[sandbox]\n"
	    "memory_limit = 1MB\n"
	    "blocked_syscalls = exec,,fork\n"   /* 12 */
	    "cpu_limit\n"                       /* 13: no value */
	    "[detection_rules]\n"
	    "sandbox_violations = blocked_syscall_attempt, TLS handshake failures\n" /* 15 */
	    "[sandbox.memory_limit]\n"          /* 16: clashes with a key */
	    "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n", /* 17 */
	    NULL, 0) >= 11);
	CHECK(has_error(1, "without ']'"));
	CHECK(has_error(4, "insecure value"));
	CHECK(has_error(5, "duplicate key 'require_tls' (first at line 4)"));
	CHECK(has_error(6, "duplicate section"));
	CHECK(has_error(7, "after the section header"));
	CHECK(has_error(8, "did you mean 'logging.level'"));
	CHECK(has_error(9, "invalid section name"));
	CHECK(!has_error_quiet(9, "unknown key"));
	CHECK(has_error(12, "empty item"));
	CHECK(has_error(13, "missing value"));
	CHECK(has_error(15, "belongs to group"));
	/* Headers are read first, so the key is the one that clashes. */
	CHECK(has_error(11, "clashes with section at line 16"));
	CHECK(has_error(17, "longer than"));
}

static void
test_ini_tree(void)
{
	static const char text[] = "top = 1\n[a.b]\nk = v\n[a]\nj = 'q'\n";
	struct ini_diags *d = malloc(sizeof(*d));
	struct cfg_node *root = NULL, *a;

	CHECK(d != NULL);
	if (d == NULL)
		return;
	CHECK_EQ_INT(inifile_parse(text, strlen(text), &root, d), 0);
	CHECK(root != NULL);
	if (root != NULL) {
		CHECK_EQ_STR(cfg_node_get(root, "top")->value, "1");
		a = cfg_node_get(root, "a");
		CHECK(a != NULL && a->kind == CFG_MAP && a->line == 4);
		CHECK_EQ_STR(cfg_node_get(cfg_node_get(a, "b"), "k")->value, "v");
		CHECK_EQ_INT(cfg_node_get(cfg_node_get(a, "b"), "k")->line, 3);
		CHECK_EQ_STR(cfg_node_get(a, "j")->value, "q");
	}
	cfg_node_free(root);
	/* A byte order mark before the first header. */
	CHECK_EQ_INT(inifile_parse("\xef\xbb\xbf[a]\nk = v\n", 13, &root, d), 0);
	CHECK(root != NULL && cfg_node_get(cfg_node_get(root, "a"), "k") != NULL);
	cfg_node_free(root);
	/* NUL bytes and bad UTF-8 are refused before inih sees them. */
	CHECK_EQ_INT(inifile_parse("a = 1\nb = \0\n", 11, &root, d), -1);
	CHECK(root == NULL && d->n == 1 && d->v[0].line == 2);
	CHECK_EQ_INT(inifile_parse("a = \xff\n", 6, &root, d), -1);
	CHECK(root == NULL && strstr(d->v[0].msg, "UTF-8") != NULL);
	free(d);
}

static void
test_overrides(void)
{
	const char *sets[] = { "sandbox.memory_limit=128MB", "sandbox.blocked_syscalls=exec, fork",
	    "agent.id=x1" };
	const char *bad[] = { "sandbox.memory_limt=1", "noequals", "security.agent_auth.require_tls=false",
	    "sandbox..x=1", "sandbox.memory_limit.x=1" };
	struct config *cfg = NULL;
	const char *p = write_file("o.yaml", "sandbox:\n  memory_limit: 1GB\n  blocked_syscalls: [bind]\n");
	size_t i;

	config_errors_free(&last);
	CHECK_EQ_INT(config_load(p, sets, ARRAY_SIZE(sets), &cfg, &last), 0);
	if (cfg != NULL) {
		CHECK(cfg->sandbox.memory_limit == 128000000ULL);
		CHECK_EQ_INT(cfg->sandbox.blocked_syscalls.n, 2);
		CHECK_EQ_STR(cfg->agent.id, "x1");
	}
	config_free(cfg);
	CHECK_EQ_INT(load_errors("o.yaml", "sandbox:\n  cpu_limit: 0.25\n", bad, ARRAY_SIZE(bad)), 5);
	for (i = 0; i < last.n; i++) {
		CHECK_EQ_STR(last.v[i].file, "--set");
		CHECK_EQ_INT(last.v[i].line, 0);
	}
	CHECK(has_error(0, "did you mean 'sandbox.memory_limit'"));
	CHECK(has_error(0, "expected KEY=VALUE"));
	CHECK(has_error(0, "require_tls"));
	CHECK(has_error(0, "invalid key"));
	CHECK(has_error(0, "found a mapping"));
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		config_errors_print(&last, f);
		fclose(f);
		CHECK(buf != NULL && strncmp(buf, "--set: ", 7) == 0);
		free(buf);
	}
}

static void
test_file_errors(void)
{
	struct config *cfg = NULL;
	char p[4200];

	config_errors_free(&last);
	snprintf(p, sizeof(p), "%s/missing.yaml", dir);
	CHECK_EQ_INT(config_load(p, NULL, 0, &cfg, &last), -1);
	CHECK(has_error(0, "cannot read"));
	CHECK(load_errors("x.toml", "a = 1\n", NULL, 0) == 1);
	CHECK(has_error(0, "unknown syntax"));
	CHECK(load_errors("y.yaml", "a: &b 1\n", NULL, 0) == 1);
	CHECK(has_error(1, "anchors"));
}

/* Secrets never reach show's JSON, nor error messages. */
static void
test_secrets(void)
{
	struct config *cfg = load_ok("t.yaml", "agent:\n  token: s3cr3t-t0ken-value\n");
	cJSON *j;
	char *text;
	size_t i;

	CHECK(cfg != NULL);
	if (cfg == NULL)
		return;
	CHECK_EQ_STR(cfg->agent.token, "s3cr3t-t0ken-value");
	j = config_to_json(cfg);
	text = j ? cJSON_PrintUnformatted(j) : NULL;
	CHECK(text != NULL && strstr(text, "s3cr3t") == NULL);
	CHECK(text != NULL && strstr(text, "\"token\":\"<redacted>\"") != NULL);
	free(text);
	cJSON_Delete(j);
	config_free(cfg);
	/* A token in a list position must not be echoed either. */
	CHECK(load_errors("t2.yaml", "agent:\n  token: [s3cr3t-t0ken-value]\n", NULL, 0) == 1);
	for (i = 0; i < last.n; i++)
		CHECK(strstr(last.v[i].msg, "s3cr3t") == NULL);
}

static void
test_yaml_equals_ini(void)
{
	struct config *a = load_ok("eq.yaml",
	    "sandbox:\n  filesystem_access: [/a, /b:ro]\n  cpu_limit: 25%\n"
	    "detection_rules:\n  communication_anomalies: [tls_handshake_failed]\n");
	struct config *b = load_ok("eq.ini",
	    "[sandbox]\nfilesystem_access = /a, /b:ro\ncpu_limit = 0.25\n"
	    "[detection_rules]\ncommunication_anomalies = TLS handshake failures\n");
	cJSON *ja = a ? config_to_json(a) : NULL, *jb = b ? config_to_json(b) : NULL;

	CHECK(ja != NULL && jb != NULL && cJSON_Compare(ja, jb, 1));
	cJSON_Delete(ja);
	cJSON_Delete(jb);
	config_free(a);
	config_free(b);
}

static void
test_schema_table(void)
{
	size_t i, j;

	/* Every key documented; no key listed twice. */
	for (i = 0; i < schema_n_keys; i++) {
		CHECK(schema_keys[i].desc != NULL && schema_keys[i].desc[0] != '\0');
		for (j = i + 1; j < schema_n_keys; j++)
			CHECK(strcmp(schema_keys[i].section, schema_keys[j].section) != 0 ||
			    strcmp(schema_keys[i].name, schema_keys[j].name) != 0);
	}
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		printf("FAIL - mkdtemp\n");
		return 1;
	}
	RUN(test_defaults);
	RUN(test_brief_values);
	RUN(test_schema_errors);
	RUN(test_all_errors_collected);
	RUN(test_did_you_mean);
	RUN(test_ini);
	RUN(test_ini_errors);
	RUN(test_ini_tree);
	RUN(test_overrides);
	RUN(test_file_errors);
	RUN(test_secrets);
	RUN(test_yaml_equals_ini);
	RUN(test_schema_table);
	config_errors_free(&last);
	{
		char cmd[200];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("  could not remove %s\n", dir);
	}
	return HARNESS_EXIT();
}

/*
 * demo.c: `stavily demo`, the whole product on one machine, for a person at
 * a terminal (or, with --json, for a script).
 *
 * Until the orchestrator and agent exist (issues 5 and 6) it shows what is
 * really there, in a temporary directory, with no configuration from the
 * user: the brief's configuration checked, an insecure one refused, the
 * kernel's sandbox layers, a hostile plugin blocked and reported, a
 * well-behaved one working, and the audit chain catching an edit.
 *
 * The plugins are this binary itself, copied into the temporary directory
 * and started through the hidden `demo-plugin` command, so the demo needs no
 * file besides the binary.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/fileio.h"
#include "config/config.h"
#include "event/audit.h"
#include "event/event.h"
#include "sandbox/filter.h"
#include "sandbox/policy.h"
#include "sandbox/probe.h"
#include "sandbox/supervisor.h"

static const char usage[] =
    "usage: stavily demo [--json] [--keep]\n"
    "\n"
    "Runs the product's flow on this machine in a temporary directory and explains\n"
    "each step: configuration checks, sandbox layers, a hostile plugin blocked and\n"
    "reported, a well-behaved plugin, the tamper-evident audit log.\n"
    "  --json   one JSON object with every step's result on stdout\n"
    "  --keep   keep the temporary directory and print its path\n";

/* The brief's configuration blocks, exactly as the product brief gives them. */
static const char brief_yaml[] =
    "authentication_methods:\n"
    "  agents:\n"
    "    primary: \"mTLS with client certificates\"\n"
    "    secondary: \"Basic auth for initial registration\"\n"
    "    certificate_rotation: \"Automatic 90-day rotation\"\n"
    "security:\n"
    "  agent_auth:\n"
    "    require_tls: true\n"
    "    validate_hostname: true\n"
    "    max_failed_attempts: 5\n"
    "sandbox:\n"
    "  memory_limit: 256MB\n"
    "  cpu_limit: 0.5\n"
    "  network_access: restricted\n"
    "  filesystem_access:\n"
    "    - /tmp\n"
    "    - /var/log/stavily\n"
    "  allowed_syscalls:\n"
    "    - read\n"
    "    - write\n"
    "    - open\n"
    "    - close\n"
    "    - stat\n"
    "  blocked_syscalls:\n"
    "    - exec\n"
    "    - fork\n"
    "    - socket\n"
    "    - bind\n"
    "encryption_in_transit:\n"
    "  agent_communication:\n"
    "    protocol: \"mTLS with client certificates\"\n"
    "    validation: \"Certificate pinning and validation\"\n"
    "    fallback: \"No fallback to unencrypted communication\"\n"
    "detection_rules:\n"
    "  authentication_anomalies:\n"
    "    - \"Multiple failed authentication attempts\"\n"
    "    - \"Certificate validation failures\"\n"
    "    - \"Unusual connection patterns\"\n"
    "  sandbox_violations:\n"
    "    - \"Resource limit exceedances\"\n"
    "    - \"Blocked system call attempts\"\n"
    "    - \"Unauthorized filesystem access\"\n"
    "  communication_anomalies:\n"
    "    - \"TLS handshake failures\"\n"
    "    - \"Certificate expiry warnings\"\n"
    "    - \"Connection timeout patterns\"\n";

#define DEMO_PLUGIN_FILE "/tmp/stavily-demo-plugin.txt"

struct demo {
	int json;
	char dir[64];
	cJSON *report;        /* --json output */
	int failures;
};

static void PRINTF_LIKE(2, 3)
say(struct demo *d, const char *fmt, ...)
{
	va_list ap;

	if (d->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static void
step(struct demo *d, int n, const char *title)
{
	say(d, "\n[%d] %s\n", n, title);
}

static void
result(struct demo *d, const char *key, int ok, const char *fmt, ...) PRINTF_LIKE(4, 5);

static void
result(struct demo *d, const char *key, int ok, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!ok)
		d->failures++;
	say(d, "    %s %s\n", ok ? "ok  " : "FAIL", msg);
	cJSON *o = cJSON_AddObjectToObject(d->report, key);
	cJSON_AddBoolToObject(o, "ok", ok);
	cJSON_AddStringToObject(o, "message", msg);
}

static int
write_file(struct demo *d, const char *name, const char *text, char *path, size_t pathlen)
{
	snprintf(path, pathlen, "%s/%s", d->dir, name);
	return file_write_atomic(path, text, strlen(text), 0600);
}

static void
demo_config(struct demo *d)
{
	char path[128], bad[128];
	struct config *cfg = NULL;
	struct config_errors errs = { 0 };
	const struct config_sandbox *sb;

	step(d, 1, "Configuration: the brief's YAML blocks, exactly as written");
	if (write_file(d, "stavily.yaml", brief_yaml, path, sizeof(path)) < 0) {
		result(d, "config_brief", 0, "cannot write %s", path);
		return;
	}
	if (config_load(path, NULL, 0, &cfg, &errs) == 0 && (sb = config_sandbox(cfg, "sandbox")) != NULL) {
		result(d, "config_brief", 1, "valid: sandbox memory_limit %llu MB, cpu_limit %.2f core, "
		    "%zu filesystem paths, %zu allowed and %zu blocked syscall names",
		    (unsigned long long)(sb->memory_limit / 1000000), sb->cpu_limit,
		    sb->filesystem_access.n, sb->allowed_syscalls.n, sb->blocked_syscalls.n);
	} else {
		result(d, "config_brief", 0, "the brief's configuration was rejected");
		config_errors_print(&errs, stdout);
	}
	config_free(cfg);
	config_errors_free(&errs);

	step(d, 2, "Configuration: an insecure value is refused before anything starts");
	{
		char text[sizeof(brief_yaml) + 16];
		char *p;
		snprintf(text, sizeof(text), "%s", brief_yaml);
		p = strstr(text, "require_tls: true");
		memcpy(p, "require_tls: no  ", 17);
		if (write_file(d, "insecure.yaml", text, bad, sizeof(bad)) < 0)
			return;
	}
	cfg = NULL;
	memset(&errs, 0, sizeof(errs));
	if (config_load(bad, NULL, 0, &cfg, &errs) != 0 && errs.n > 0) {
		result(d, "config_insecure", 1, "refused: %s:%d: %s", "insecure.yaml", errs.v[0].line, errs.v[0].msg);
	} else {
		result(d, "config_insecure", 0, "require_tls: no was accepted");
	}
	config_free(cfg);
	config_errors_free(&errs);
}

static void
demo_probe(struct demo *d, struct sandbox_probe *pr)
{
	char ctl[256] = "";
	int i;

	step(d, 3, "Sandbox layers this kernel offers (stavily sandbox probe)");
	sandbox_probe_run(pr);
	for (i = 0; i < pr->n_controllers; i++) {
		strncat(ctl, i ? "," : "", sizeof(ctl) - strlen(ctl) - 1);
		strncat(ctl, pr->cgroup_v2_controllers[i], sizeof(ctl) - strlen(ctl) - 1);
	}
	say(d, "    %-24s %s\n", "seccomp", pr->seccomp ? "yes" : "no");
	say(d, "    %-24s %s\n", "seccomp user notify", pr->seccomp_user_notif ? "yes" : "no (fallback: errno + log)");
	say(d, "    %-24s %d%s\n", "landlock ABI", pr->landlock_abi, pr->landlock_abi ? "" : " (absent)");
	say(d, "    %-24s %s\n", "namespaces usable now", pr->namespaces ? "yes" : "no");
	say(d, "    %-24s %s\n", "user namespaces", pr->user_namespaces ? "yes" : "no");
	say(d, "    %-24s %s, %s, controllers: %s\n", "cgroup v2", pr->cgroup_v2_mounted ? "mounted" : "absent",
	    pr->cgroup_v2_writable ? "writable" : "not writable (fallback: rlimits + duty cycle)",
	    ctl[0] ? ctl : "none");
	say(d, "    %-24s %s\n", "running as root", pr->root ? "yes" : "no");
	cJSON_AddItemToObject(d->report, "probe", sandbox_probe_json(pr));
}

/* Copy this binary into the demo directory: the plugin the sandbox runs. */
static int
copy_self(struct demo *d, char *path, size_t len)
{
	char *buf = NULL;
	size_t n;
	int rc;

	snprintf(path, len, "%s/plugins/demo-plugin", d->dir);
	if ((rc = file_read_all("/proc/self/exe", 64u << 20, &buf, &n)) < 0)
		return rc;
	char pdir[96];
	snprintf(pdir, sizeof(pdir), "%s/plugins", d->dir);
	if (mkdir(pdir, 0755) < 0 && errno != EEXIST)
		rc = -errno;
	else
		rc = file_write_atomic(path, buf, n, 0755);
	free(buf);
	return rc;
}

struct capture {
	int count;
	char names[512];
};

static void
capture_event(void *ctx, enum event_level level, const char *event, const char *line, size_t len)
{
	struct capture *c = ctx;

	c->count++;
	if (strlen(c->names) + strlen(event) + 2 < sizeof(c->names)) {
		if (c->names[0])
			strcat(c->names, ",");
		strcat(c->names, event);
	}
}

static int
run_plugin(struct demo *d, struct sandbox_probe *pr, const char *plugin, const char *mode,
    struct event_log *log, cJSON **res, char *out, size_t outlen)
{
	struct sandbox_policy pol;
	struct sandbox_filter f;
	struct sandbox_run r;
	struct config *cfg = NULL;
	struct config_errors errs = { 0 };
	char err[SANDBOX_ERR_LEN], path[128];
	char *argv[] = { (char *)"stavily", (char *)"demo-plugin", (char *)mode, NULL };
	int p[2] = { -1, -1 }, rc = -1;
	ssize_t n;

	memset(&f, 0, sizeof(f));
	memset(&r, 0, sizeof(r));
	sandbox_policy_init_default(&pol);
	snprintf(path, sizeof(path), "%s/stavily.yaml", d->dir);
	if (config_load(path, NULL, 0, &cfg, &errs) < 0 ||
	    sandbox_policy_from_config(&pol, config_sandbox(cfg, "sandbox"), err) < 0)
		goto out;
	if (sandbox_filter_build(&pol, pr->seccomp_user_notif, &f, err) < 0)
		goto out;
	if (pipe2(p, O_CLOEXEC) < 0)
		goto out;
	if (sandbox_run_start(&r, &pol, &f, pr, plugin, argv, -1, log, p[1], -1, err) != 0) {
		say(d, "    sandbox: %s\n", err);
		goto out;
	}
	/* The supervisor relays into p[1] until the run ends; the demo plugins
	 * print far less than a pipe holds. */
	sandbox_run_wait(&r);
	close(p[1]);
	p[1] = -1;
	n = read(p[0], out, outlen - 1);
	out[n > 0 ? n : 0] = '\0';
	*res = sandbox_run_result(&r);
	rc = sandbox_run_exit_status(&r);
	sandbox_run_free(&r);
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	sandbox_filter_free(&f);
	sandbox_policy_free(&pol);
	config_free(cfg);
	config_errors_free(&errs);
	return rc;
}

static void
demo_sandbox(struct demo *d, struct sandbox_probe *pr)
{
	char plugin[128], out[4096], evpath[128];
	struct capture cap = { 0 };
	struct event_log *log;
	cJSON *res = NULL;
	int rc;

	step(d, 4, "A hostile plugin under the brief's sandbox policy");
	say(d, "    it tries: execve(\"/bin/sh\"), socket(AF_INET), fork(), open(\"/etc/shadow\")\n");
	if (copy_self(d, plugin, sizeof(plugin)) < 0) {
		result(d, "sandbox_hostile", 0, "cannot copy the plugin binary");
		return;
	}
	snprintf(evpath, sizeof(evpath), "%s/events.jsonl", d->dir);
	log = event_log_new("sandbox", NULL, EVENT_INFO);
	if (log == NULL || event_log_add_file(log, evpath) < 0 || event_log_add_callback(log, capture_event, &cap) < 0) {
		event_log_free(log);
		result(d, "sandbox_hostile", 0, "cannot open the event log");
		return;
	}
	rc = run_plugin(d, pr, plugin, "hostile", log, &res, out, sizeof(out));
	say(d, "    plugin says: %s", out[0] ? out : "(nothing)\n");
	int blocked = strstr(cap.names, "blocked_syscall_attempt") != NULL;
	result(d, "sandbox_hostile", rc >= 0 && blocked && strstr(out, "execve: denied") != NULL,
	    "exit %d; %d security events: %s", rc, cap.count, cap.names[0] ? cap.names : "none");
	say(d, "    events written to %s, e.g.:\n", evpath);
	{
		char *buf;
		size_t len;
		if (file_read_all(evpath, 1 << 20, &buf, &len) == 0) {
			char *nl = strchr(buf, '\n');
			if (nl)
				*nl = '\0';
			say(d, "      %s\n", buf);
			free(buf);
		}
	}
	if (res)
		cJSON_AddItemToObject(d->report, "hostile_result", res);
	res = NULL;

	step(d, 5, "A well-behaved plugin under the same policy");
	cap.count = 0;
	cap.names[0] = '\0';
	rc = run_plugin(d, pr, plugin, "good", log, &res, out, sizeof(out));
	unlink(DEMO_PLUGIN_FILE);
	say(d, "    plugin says: %s", out[0] ? out : "(nothing)\n");
	result(d, "sandbox_good", rc == 0 && cap.count == 0, "exit %d, %d security events", rc, cap.count);
	if (res) {
		cJSON *layers = cJSON_GetObjectItem(res, "layers");
		char *s = layers ? cJSON_PrintUnformatted(layers) : NULL;
		say(d, "    layers applied: %s\n", s ? s : "?");
		free(s);
		cJSON_AddItemToObject(d->report, "good_result", res);
	}
	event_log_free(log);
}

static void
demo_audit(struct demo *d)
{
	char path[128];
	struct audit_log *a = NULL;
	struct audit_recovery rec;
	struct audit_verify_result vr;
	int i, ok = 1;

	step(d, 6, "The tamper-evident audit log");
	snprintf(path, sizeof(path), "%s/audit.log", d->dir);
	if (audit_open(path, "orchestrator", &a, &rec) < 0) {
		result(d, "audit", 0, "cannot open %s", path);
		return;
	}
	for (i = 0; i < 100 && ok; i++) {
		cJSON *det = cJSON_CreateObject();
		cJSON_AddStringToObject(det, "tenant", "acme");
		cJSON_AddNumberToObject(det, "n", i + 1);
		ok = audit_append(a, EVENT_INFO, "demo_record", det) == 0;
		cJSON_Delete(det);
	}
	audit_close(a);
	audit_verify_file(path, 0, NULL, &vr);
	result(d, "audit_intact", ok && vr.status == AUDIT_OK, "100 records written: %s", vr.msg);
	/* one byte changed in record 50 */
	char *buf;
	size_t len;
	if (file_read_all(path, 1 << 22, &buf, &len) == 0) {
		char *p = strstr(buf, "\"n\":50}");
		if (p != NULL) {
			p[5] = '9';
			if (file_write_atomic(path, buf, len, 0600) < 0)
				say(d, "    cannot rewrite %s\n", path);
		}
		free(buf);
	}
	audit_verify_file(path, 0, NULL, &vr);
	result(d, "audit_tampered", vr.status == AUDIT_BROKEN, "after a one-byte edit: %s", vr.msg);
}

static void
demo_pending(struct demo *d)
{
	step(d, 7, "Not in this build yet");
	say(d, "    orchestrator, enrollment and mTLS (issues 4-5), agents, spool and rotation (issue 6):\n"
	       "    `stavily orchestrator`, `stavily agent` and `stavily ctl` say \"not implemented yet\".\n");
}

/* Remove the demo directory (flat files and one plugins/ subdirectory). */
static void
cleanup(const char *dir)
{
	static const char *const names[] = { "stavily.yaml", "insecure.yaml", "events.jsonl",
		"audit.log", "plugins/demo-plugin", "plugins" };
	char path[160];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (unlink(path) < 0 && errno == EISDIR)
			rmdir(path);
		rmdir(path);
	}
	rmdir(dir);
}

int
demo_main(int argc, char **argv)
{
	struct demo d = { 0 };
	struct sandbox_probe pr;
	int keep = 0, i;

	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			d.json = 1;
		else if (strcmp(argv[i], "--keep") == 0)
			keep = 1;
		else
			return cli_usage_error(usage, "unknown option '%s'", argv[i]);
	}
	snprintf(d.dir, sizeof(d.dir), "/tmp/stavily-demo-XXXXXX");
	if (mkdtemp(d.dir) == NULL) {
		cli_error("cannot create a temporary directory: %s", strerror(errno));
		return EXIT_FAIL;
	}
	chmod(d.dir, 0755);   /* the plugin runs as an unprivileged uid */
	d.report = cJSON_CreateObject();
	say(&d, "Stavily demo: everything runs in %s on this machine.\n", d.dir);
	demo_config(&d);
	demo_probe(&d, &pr);
	demo_sandbox(&d, &pr);
	demo_audit(&d);
	demo_pending(&d);
	say(&d, "\n%s: %d step(s) failed\n", d.failures ? "demo FAILED" : "demo done", d.failures);
	if (d.json) {
		cJSON_AddNumberToObject(d.report, "failures", d.failures);
		char *s = cJSON_Print(d.report);
		if (s)
			puts(s);
		free(s);
	}
	cJSON_Delete(d.report);
	if (keep)
		fprintf(stderr, "demo directory kept: %s\n", d.dir);
	else
		cleanup(d.dir);
	return d.failures ? EXIT_FAIL : EXIT_OK;
}

/*
 * The demo's plugin: this binary, started inside the sandbox as
 * `stavily demo-plugin hostile|good`.  Hidden from the command list.
 */
/* The brief's allowlist grants write but not writev, which musl's stdio uses
 * to flush: the plugin formats into a buffer and calls write(2) itself. */
static char plug_out[1024];
static void PRINTF_LIKE(1, 2)
plug_say(const char *fmt, ...)
{
	size_t n = strlen(plug_out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(plug_out + n, sizeof(plug_out) - n, fmt, ap);
	va_end(ap);
}

static void
plug_flush(void)
{
	if (write(1, plug_out, strlen(plug_out)) < 0)
		_exit(3);
	plug_out[0] = '\0';
}

static const char *
try_result(long rc)
{
	if (rc >= 0)
		return "ALLOWED";
	return errno == EPERM || errno == EACCES ? "denied" : strerror(errno);
}

int
demo_plugin_main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "hostile") == 0) {
		char *sh[] = { (char *)"/bin/sh", (char *)"-c", (char *)"id", NULL };
		long rc;

		rc = execve("/bin/sh", sh, NULL);
		plug_say("execve: %s; ", try_result(rc));
		rc = socket(AF_INET, SOCK_STREAM, 0);
		plug_say("socket: %s; ", try_result(rc));
		rc = syscall(SYS_fork);
		if (rc == 0)
			_exit(0);
		plug_say("fork: %s; ", try_result(rc));
		rc = open("/etc/shadow", O_RDONLY);
		plug_say("open /etc/shadow: %s\n", try_result(rc));
		plug_flush();
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "good") == 0) {
		/* No unlink: the brief's allowlist does not grant it; the demo
		 * removes the file afterwards. */
		int fd = open(DEMO_PLUGIN_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int ok = fd >= 0 && write(fd, "hello\n", 6) == 6;
		if (fd >= 0)
			close(fd);
		plug_say("{\"wrote_tmp\":%s}\n", ok ? "true" : "false");
		plug_flush();
		return ok ? 0 : 1;
	}
	fputs("usage: stavily demo-plugin hostile|good\n", stderr);
	return EXIT_USAGE;
}

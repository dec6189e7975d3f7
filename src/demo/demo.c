/*
 * demo.c: `stavily demo`, the whole product on one machine, for a person at
 * a terminal (or, with --json, for a script).
 *
 * In a temporary directory, with no configuration from the user: the
 * brief's configuration checked and an insecure one refused; an
 * orchestrator initialised and run on loopback (free ports); a tenant and an
 * installation token; an action agent registered and run; a sample plugin
 * installed (this binary, as `demo-plugin`, with its manifest and SHA-256);
 * a sensor agent with its own token and a sample sensor plugin (this binary
 * again, as `stavily-demo-sensor`); a job and its result; a hostile job and
 * the blocked_syscall_attempt the orchestrator stored; the sensor events the
 * orchestrator stored (with a field pseudonymized and one redacted by the
 * agent); the security events; a forced certificate rotation; the audit
 * chain verified; everything stopped and removed.
 *
 * Every component is this binary re-executed through /proc/self/exe as a
 * child process, exactly as an operator would run them, so the demo proves
 * the real commands and needs no file besides the binary.  Every wait is
 * bounded (DEMO_*_MS); a step counts as done only when its effect was
 * observed (a stored result, a stored event, a new serial).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bearssl.h>

#include "base/cli.h"
#include "base/fileio.h"
#include "base/hex.h"
#include "base/timefmt.h"
#include "config/config.h"
#include "event/audit.h"
#include "event/event.h"

static const char usage[] =
    "usage: stavily demo [--json] [--keep]\n"
    "\n"
    "Runs the product's whole flow on this machine, in a temporary directory, and\n"
    "explains each step: configuration checks, an orchestrator on loopback, a tenant\n"
    "and a token, an action agent and a sensor agent registered and running, a job\n"
    "to a sample plugin, a hostile plugin blocked and reported, sensor events, security\n"
    "events, a certificate rotation, the audit chain verified; then everything is\n"
    "stopped and removed.\n"
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

#define DEMO_PLUGIN_NAME  "stavily-demo-plugin"
#define DEMO_SENSOR_NAME  "stavily-demo-sensor"   /* main.c dispatches this argv[0] too */
#define DEMO_SENSOR_AGENT "demo-sensor-1"
#define DEMO_SENSOR_EVENT "demo_sensor_reading"
#define DEMO_SENSOR_N     3                        /* events per run of the sensor plugin */
/* Bounds on every wait: the whole demo stays well under 20 s on a busy
 * machine, and a hung child is killed rather than waited for. */
#define DEMO_CMD_MS      8000    /* one short command (ctl, init, register) */
#define DEMO_JOB_MS      12000   /* job submit --wait */
#define DEMO_UP_MS       6000    /* orchestrator listening, agent started */
#define DEMO_EVENT_MS    8000    /* an agent event stored by the orchestrator */
#define DEMO_SANDBOX_EV_MS 1500   /* more for the sandbox's events, once some arrived */
#define DEMO_STOP_MS     5000    /* SIGTERM to exit */
#define DEMO_OUT_MAX     (256u << 10)  /* captured stdout of one command */
#define DEMO_TENANT      "acme"
#define DEMO_AGENT       "demo-action-1"

struct demo {
	int json;
	char dir[64];
	char orch[96], sock[128], agent_dir[96], agent_conf[128], plugins[96];
	char sensor_dir[96], sensor_conf[128], sensor_plugins[96];
	char pin[128];
	int eport, aport;
	pid_t orch_pid, agent_pid, sensor_pid;
	cJSON *report;        /* --json output */
	int failures;
	int stepno;
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
step(struct demo *d, const char *title)
{
	say(d, "\n[%d] %s\n", ++d->stepno, title);
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
	cJSON_AddNumberToObject(o, "step", d->stepno);
	cJSON_AddStringToObject(o, "message", msg);
}

/* Set by SIGINT/SIGTERM/SIGHUP: every wait ends early, the remaining steps
 * are skipped, and the children are stopped and the directory removed as
 * after a normal run. */
static volatile sig_atomic_t demo_interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	demo_interrupted = 1;
}

/* Has the wait that ends at `end` (monotonic ms) to stop? */
static int
expired(uint64_t end)
{
	return demo_interrupted || time_mono_ms() >= end;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int
write_file(struct demo *d, const char *name, const char *text, char *path, size_t pathlen)
{
	snprintf(path, pathlen, "%s/%s", d->dir, name);
	return file_write_atomic(path, text, strlen(text), 0600);
}

/* Child side of every spawn: stdout to out_fd (or the log), stderr to the
 * demo's children.log, no inherited descriptors besides 0-2. */
static void __attribute__((noreturn))
child_exec(struct demo *d, char *const argv[], int out_fd, const char *token)
{
	char logp[128];
	int log;

	snprintf(logp, sizeof(logp), "%s/children.log", d->dir);
	log = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log >= 0) {
		dup2(log, 2);
		dup2(out_fd >= 0 ? out_fd : log, 1);
	}
	int nul = open("/dev/null", O_RDONLY);
	if (nul >= 0)
		dup2(nul, 0);
	syscall(SYS_close_range, 3u, ~0u, 0u);
	/* If the demo dies (Ctrl-C), its orchestrator and agent go too. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(127);
	if (token)
		setenv("STAVILY_INSTALLATION_TOKEN", token, 1);
	else
		unsetenv("STAVILY_INSTALLATION_TOKEN");
	execv("/proc/self/exe", argv);
	_exit(127);
}

/* Starts this binary with argv in the background.  Returns the pid or -1. */
static pid_t
spawn_bg(struct demo *d, char *const argv[], const char *token)
{
	pid_t pid = fork();

	if (pid == 0)
		child_exec(d, argv, -1, token);
	return pid;
}

/* Waits for pid at most ms; kills it (SIGKILL) when the time is up.
 * Returns the wait status, or -1 if it had to be killed. */
static int
wait_bounded(pid_t pid, long ms)
{
	uint64_t end = time_mono_ms() + (uint64_t)ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0)
			return -1;
		if (time_mono_ms() >= end)
			break;
		sleep_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Runs this binary with argv, captures at most DEMO_OUT_MAX of stdout into
 * *out (caller frees), bounded by ms.  Returns the exit code, or -1. */
static int
run_cmd(struct demo *d, char *const argv[], long ms, char **out)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int p[2];
	pid_t pid;
	uint64_t end = time_mono_ms() + (uint64_t)ms;

	*out = NULL;
	if (buf == NULL || pipe2(p, O_CLOEXEC) < 0) {
		free(buf);
		return -1;
	}
	buf[0] = '\0';
	if ((pid = fork()) == 0) {
		int fd = dup(p[1]);   /* without O_CLOEXEC: survives execv */
		child_exec(d, argv, fd, NULL);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		free(buf);
		return -1;
	}
	for (;;) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		uint64_t now = time_mono_ms();
		if (now >= end || demo_interrupted)
			break;
		if (poll(&pf, 1, (int)(end - now)) <= 0)
			break;
		if (len + 1 >= cap) {
			if (cap >= DEMO_OUT_MAX)
				break;
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(p[0], buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	close(p[0]);
	long left = (long)(end > time_mono_ms() ? end - time_mono_ms() : 0);
	int st = wait_bounded(pid, left > 100 ? left : 100);
	*out = buf;
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `stavily ctl -S SOCK --json ARGS...`: the parsed JSON answer, or NULL. */
static cJSON *
ctl(struct demo *d, long ms, ...)
{
	char *argv[24] = { (char *)"stavily", (char *)"ctl", (char *)"-S", d->sock, (char *)"--json" };
	int n = 5, rc;
	char *out = NULL, *a;
	cJSON *j = NULL;
	va_list ap;

	va_start(ap, ms);
	while ((a = va_arg(ap, char *)) != NULL && n < 23)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	rc = run_cmd(d, argv, ms, &out);
	if (rc == 0 && out != NULL)
		j = cJSON_Parse(out);
	free(out);
	return j;
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

/* The real uid of a process and of its first child, from /proc: shows
 * which uid the agent's spawner and network worker run as. */
static long
proc_uid(pid_t pid)
{
	char path[64], *buf = NULL, *p;
	size_t n;
	long uid = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (file_read_all(path, 64u << 10, &buf, &n) == 0) {
		if ((p = strstr(buf, "\nUid:")) != NULL)
			uid = strtol(p + 5, NULL, 10);
		free(buf);
	}
	return uid;
}

static pid_t
first_child(pid_t pid)
{
	char path[80], *buf = NULL;
	size_t n;
	pid_t c = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	if (file_read_all(path, 4096, &buf, &n) == 0) {
		c = (pid_t)strtol(buf, NULL, 10);
		free(buf);
	}
	return c > 0 ? c : -1;
}

/* Does the file contain needle?  (Small event logs only.) */
static int
file_has(const char *path, const char *needle)
{
	char *buf = NULL;
	size_t n;
	int found = 0;

	if (file_read_all(path, 4u << 20, &buf, &n) == 0) {
		found = memmem(buf, n, needle, strlen(needle)) != NULL;
		free(buf);
	}
	return found;
}

static void
demo_config(struct demo *d)
{
	char path[128], bad[128];
	struct config *cfg = NULL;
	struct config_errors errs = { 0 };
	const struct config_sandbox *sb;

	step(d, "Configuration: the brief's YAML blocks, exactly as written");
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
		if (!d->json)
			config_errors_print(&errs, stdout);
	}
	config_free(cfg);
	config_errors_free(&errs);

	step(d, "Configuration: an insecure value is refused before anything starts");
	{
		char text[sizeof(brief_yaml) + 16];
		char *p;
		snprintf(text, sizeof(text), "%s", brief_yaml);
		p = strstr(text, "require_tls: true");
		memcpy(p, "require_tls: no  ", 17);
		if (write_file(d, "insecure.yaml", text, bad, sizeof(bad)) < 0) {
			result(d, "config_insecure", 0, "cannot write %s", bad);
			return;
		}
	}
	cfg = NULL;
	memset(&errs, 0, sizeof(errs));
	if (config_load(bad, NULL, 0, &cfg, &errs) != 0 && errs.n > 0)
		result(d, "config_insecure", 1, "refused: %s:%d: %s", "insecure.yaml", errs.v[0].line, errs.v[0].msg);
	else
		result(d, "config_insecure", 0, "require_tls: no was accepted");
	config_free(cfg);
	config_errors_free(&errs);
}

static int
demo_orchestrator(struct demo *d)
{
	char eset[64], aset[64], lset[160], *out = NULL;
	int rc;
	uint64_t end;

	step(d, "Orchestrator: init (CA, server certificate for localhost / 127.0.0.1) and run on loopback");
	snprintf(d->orch, sizeof(d->orch), "%s/orch", d->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/admin.sock", d->orch);
	{
		char *argv[] = { (char *)"stavily", (char *)"orchestrator", (char *)"init", (char *)"-d", d->orch,
			(char *)"--name", (char *)"localhost", (char *)"--san", (char *)"127.0.0.1", NULL };
		rc = run_cmd(d, argv, DEMO_CMD_MS, &out);
	}
	if (rc == 0 && out != NULL)
		snprintf(d->pin, sizeof(d->pin), "%.*s", (int)strcspn(out, "\r\n"), out);
	free(out);
	if (rc != 0 || strncmp(d->pin, "sha256:", 7) != 0) {
		result(d, "orchestrator_init", 0, "orchestrator init failed (exit %d)", rc);
		return -1;
	}
	result(d, "orchestrator_init", 1, "CA pin %.23s...", d->pin);
	d->eport = free_port();
	d->aport = free_port();
	if (d->eport <= 0 || d->aport <= 0 || d->eport == d->aport) {
		result(d, "orchestrator_run", 0, "no free loopback ports");
		return -1;
	}
	snprintf(eset, sizeof(eset), "orchestrator.listen_enroll=127.0.0.1:%d", d->eport);
	snprintf(aset, sizeof(aset), "orchestrator.listen_agent=127.0.0.1:%d", d->aport);
	snprintf(lset, sizeof(lset), "logging.file=%s/orch-events.log", d->dir);
	{
		char conf[128];
		snprintf(conf, sizeof(conf), "%s/orchestrator.yaml", d->orch);
		char *argv[] = { (char *)"stavily", (char *)"orchestrator", (char *)"run", (char *)"-c", conf,
			(char *)"--set", eset, (char *)"--set", aset, (char *)"--set", lset, NULL };
		d->orch_pid = spawn_bg(d, argv, NULL);
	}
	end = time_mono_ms() + DEMO_UP_MS;
	int up = 0;
	while (d->orch_pid > 0 && !up && !expired(end)) {
		/* orchestrator_started is logged once both listeners and the
		 * admin socket are open; probing the TLS ports by connecting
		 * would log handshake failures. */
		struct stat st;
		up = stat(d->sock, &st) == 0 && file_has(lset + strlen("logging.file="), "\"orchestrator_started\"");
		if (!up)
			sleep_ms(50);
	}
	say(d, "    %-22s %s\n    %-22s 127.0.0.1:%d\n    %-22s 127.0.0.1:%d\n    %-22s pid %d\n",
	    "admin socket", d->sock, "enroll listener", d->eport, "agent listener (mTLS)", d->aport,
	    "process", (int)d->orch_pid);
	result(d, "orchestrator_run", up, up ? "listening" : "did not come up in time (see children.log)");
	return up ? 0 : -1;
}

static int
demo_tenant(struct demo *d, char *token, size_t toklen)
{
	cJSON *j;
	int ok;

	step(d, "Tenant \"" DEMO_TENANT "\" and a one-use installation token");
	j = ctl(d, DEMO_CMD_MS, "tenant", "add", DEMO_TENANT, (char *)NULL);
	ok = j != NULL;
	cJSON_Delete(j);
	j = ok ? ctl(d, DEMO_CMD_MS, "token", "create", "--tenant", DEMO_TENANT, "--uses", "1", (char *)NULL) : NULL;
	snprintf(token, toklen, "%s", jstr(j, "token"));
	cJSON_Delete(j);
	ok = ok && token[0] != '\0';
	result(d, "tenant_token", ok, ok ? "tenant created; token issued (shown to no one: kept in a 0600 file)" :
	    "ctl tenant add / token create failed");
	return ok ? 0 : -1;
}

/* This binary copied as DIR/EXE, with the manifest DIR/NAME.json naming its
 * SHA-256 (the agent checks it before every run); `extra` is more manifest
 * members ("" or ",\"sensor\":{...}").  The digest's first 16 hex digits go
 * to `short_hex`.  Returns 0 or -1. */
static int
install_plugin(const char *dir, const char *exe, const char *name, const char *type,
    const char *extra, char short_hex[17])
{
	char path[192], man[192], hexd[65], text[768];
	unsigned char dig[32];
	br_sha256_context sc;
	char *buf = NULL;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, exe);
	snprintf(man, sizeof(man), "%s/%s.json", dir, name);
	if (file_read_all("/proc/self/exe", 64u << 20, &buf, &n) < 0 ||
	    (mkdir(dir, 0755) < 0 && errno != EEXIST) ||
	    file_write_atomic(path, buf, n, 0755) < 0) {
		free(buf);
		return -1;
	}
	chmod(dir, 0755);
	chmod(path, 0755);
	br_sha256_init(&sc);
	br_sha256_update(&sc, buf, n);
	br_sha256_out(&sc, dig);
	free(buf);
	hex_encode(dig, sizeof(dig), hexd);
	hexd[64] = '\0';
	snprintf(text, sizeof(text), "{\"name\":\"%s\",\"version\":\"1.0\",\"type\":\"%s\","
	    "\"executable\":\"%s\",\"sha256\":\"%s\"%s}\n", name, type, exe, hexd, extra);
	if (file_write_atomic(man, text, strlen(text), 0644) < 0)
		return -1;
	chmod(man, 0644);
	snprintf(short_hex, 17, "%.16s", hexd);
	return 0;
}

/* The sample plugin: this binary copied as plugins/demo-plugin. */
static int
demo_plugin_install(struct demo *d)
{
	char hexd[17];

	step(d, "Sample plugin installed: this binary as demo-plugin, manifest with its SHA-256");
	snprintf(d->plugins, sizeof(d->plugins), "%s/plugins", d->dir);
	if (install_plugin(d->plugins, "demo-plugin", DEMO_PLUGIN_NAME, "action", "", hexd) < 0) {
		result(d, "plugin_install", 0, "cannot install the plugin in %s", d->plugins);
		return -1;
	}
	result(d, "plugin_install", 1, DEMO_PLUGIN_NAME " 1.0, sha256 %s...", hexd);
	return 0;
}

static int
demo_agent(struct demo *d, const char *token)
{
	char text[1024], tokf[128], evlog[128], *out = NULL;
	uint64_t end;
	int rc, started = 0;

	step(d, "Action agent: registered with the token (pinned TLS), then running (mTLS)");
	snprintf(d->agent_dir, sizeof(d->agent_dir), "%s/agent", d->dir);
	snprintf(d->agent_conf, sizeof(d->agent_conf), "%s/agent.yaml", d->agent_dir);
	snprintf(tokf, sizeof(tokf), "%s/token", d->agent_dir);
	snprintf(evlog, sizeof(evlog), "%s/events.log", d->agent_dir);
	if (mkdir(d->agent_dir, 0755) < 0) {
		result(d, "agent_register", 0, "cannot create %s", d->agent_dir);
		return -1;
	}
	snprintf(text, sizeof(text),
	    "agent:\n  type: action\n  id: " DEMO_AGENT "\n  tenant: " DEMO_TENANT "\n"
	    "  state_dir: %s/state\n  plugins_dir: %s\n  enroll_url: https://127.0.0.1:%d\n"
	    "  orchestrator_url: https://127.0.0.1:%d\n  server_name: localhost\n"
	    "  heartbeat_interval: 1s\n  ca_pins: [\"%s\"]\n"
	    "logging:\n  file: %s\n", d->agent_dir, d->plugins, d->eport, d->aport, d->pin, evlog);
	if (file_write_atomic(d->agent_conf, text, strlen(text), 0644) < 0 ||
	    file_write_atomic(tokf, token, strlen(token), 0600) < 0) {
		result(d, "agent_register", 0, "cannot write the agent's configuration");
		return -1;
	}
	chmod(d->agent_conf, 0644);
	{
		char *argv[] = { (char *)"stavily", (char *)"agent", (char *)"register", (char *)"-c", d->agent_conf,
			(char *)"--token-file", tokf, NULL };
		rc = run_cmd(d, argv, DEMO_CMD_MS, &out);
	}
	free(out);
	unlink(tokf);
	result(d, "agent_register", rc == 0, rc == 0 ? "registered as " DEMO_TENANT "/" DEMO_AGENT :
	    "agent register failed (exit %d, see children.log)", rc);
	if (rc != 0)
		return -1;
	{
		char *argv[] = { (char *)"stavily", (char *)"agent", (char *)"run", (char *)"-c", d->agent_conf, NULL };
		d->agent_pid = spawn_bg(d, argv, NULL);
	}
	end = time_mono_ms() + DEMO_UP_MS;
	while (d->agent_pid > 0 && !started && !expired(end)) {
		started = file_has(evlog, "\"agent_started\"");
		if (!started)
			sleep_ms(50);
	}
	pid_t wk = started ? first_child(d->agent_pid) : -1;
	long su = proc_uid(d->agent_pid), wu = wk > 0 ? proc_uid(wk) : -1;
	result(d, "agent_run", started && wu >= 0, started ? "agent running: spawner pid %d uid %ld, network worker "
	    "pid %d uid %ld" : "agent did not start in time (pid %d; see children.log)", (int)d->agent_pid, su,
	    (int)wk, wu);
	if (started) {
		cJSON *o = cJSON_GetObjectItemCaseSensitive(d->report, "agent_run");
		cJSON_AddNumberToObject(o, "spawner_uid", (double)su);
		cJSON_AddNumberToObject(o, "worker_uid", (double)wu);
	}
	return started ? 0 : -1;
}

/* A sensor agent with its own token: the sample sensor plugin (this binary
 * as stavily-demo-sensor, run once: manifest interval 1h) prints
 * DEMO_SENSOR_N readings; the agent pseudonymizes user.email and redacts
 * session.token before they leave the host (config section `sensor`). */
static int
demo_sensor_agent(struct demo *d)
{
	char text[1280], tokf[128], evlog[128], hexd[17], *out = NULL;
	uint64_t end;
	cJSON *j;
	int rc, started = 0;

	step(d, "Sensor agent: its own token, a sample sensor plugin, registered and running");
	snprintf(d->sensor_dir, sizeof(d->sensor_dir), "%s/sensor", d->dir);
	snprintf(d->sensor_conf, sizeof(d->sensor_conf), "%s/agent.yaml", d->sensor_dir);
	snprintf(d->sensor_plugins, sizeof(d->sensor_plugins), "%s/sensor-plugins", d->dir);
	snprintf(tokf, sizeof(tokf), "%s/token", d->sensor_dir);
	snprintf(evlog, sizeof(evlog), "%s/events.log", d->sensor_dir);
	if (install_plugin(d->sensor_plugins, "demo-sensor", DEMO_SENSOR_NAME, "sensor",
	    ",\"sensor\":{\"mode\":\"interval\",\"interval\":\"1h\"}", hexd) < 0 ||
	    mkdir(d->sensor_dir, 0755) < 0) {
		result(d, "sensor_agent_run", 0, "cannot install the sensor plugin or create %s", d->sensor_dir);
		return -1;
	}
	j = ctl(d, DEMO_CMD_MS, "token", "create", "--tenant", DEMO_TENANT, "--uses", "1", (char *)NULL);
	snprintf(text, sizeof(text), "%s", jstr(j, "token"));
	cJSON_Delete(j);
	rc = text[0] != '\0' && file_write_atomic(tokf, text, strlen(text), 0600) == 0 ? 0 : -1;
	explicit_bzero(text, sizeof(text));
	if (rc < 0) {
		result(d, "sensor_agent_run", 0, "no installation token for the sensor agent");
		return -1;
	}
	snprintf(text, sizeof(text),
	    "agent:\n  type: sensor\n  id: " DEMO_SENSOR_AGENT "\n  tenant: " DEMO_TENANT "\n"
	    "  state_dir: %s/state\n  plugins_dir: %s\n  enroll_url: https://127.0.0.1:%d\n"
	    "  orchestrator_url: https://127.0.0.1:%d\n  server_name: localhost\n"
	    "  heartbeat_interval: 1s\n  ca_pins: [\"%s\"]\n"
	    "sensor:\n  rate_limit: 100\n  burst: 50\n  max_event_size: 4KiB\n"
	    "  pseudonymize_fields: [user.email]\n  redact_fields: [session.token]\n"
	    "logging:\n  file: %s\n", d->sensor_dir, d->sensor_plugins, d->eport, d->aport, d->pin, evlog);
	if (file_write_atomic(d->sensor_conf, text, strlen(text), 0644) < 0) {
		result(d, "sensor_agent_run", 0, "cannot write the sensor agent's configuration");
		return -1;
	}
	chmod(d->sensor_conf, 0644);
	{
		char *argv[] = { (char *)"stavily", (char *)"agent", (char *)"register", (char *)"-c",
			d->sensor_conf, (char *)"--token-file", tokf, NULL };
		rc = run_cmd(d, argv, DEMO_CMD_MS, &out);
	}
	free(out);
	unlink(tokf);
	if (rc != 0) {
		result(d, "sensor_agent_run", 0, "sensor agent register failed (exit %d, see children.log)", rc);
		return -1;
	}
	{
		char *argv[] = { (char *)"stavily", (char *)"agent", (char *)"run", (char *)"-c", d->sensor_conf, NULL };
		d->sensor_pid = spawn_bg(d, argv, NULL);
	}
	end = time_mono_ms() + DEMO_UP_MS;
	while (d->sensor_pid > 0 && !started && !expired(end)) {
		started = file_has(evlog, "\"agent_started\"");
		if (!started)
			sleep_ms(50);
	}
	say(d, "    %-22s " DEMO_SENSOR_NAME " 1.0 (sensor, sha256 %s...)\n    %-22s %s\n", "plugin", hexd,
	    "controls", "100 events/s (burst 50), 4 KiB per event, user.email pseudonymized, "
	    "session.token redacted");
	result(d, "sensor_agent_run", started, started ? "registered as " DEMO_TENANT "/" DEMO_SENSOR_AGENT
	    " with its own token; running (pid %d)" : "sensor agent did not start in time (pid %d; see children.log)",
	    (int)d->sensor_pid);
	return started ? 0 : -1;
}

static const char *
nested_str(const cJSON *o, const char *k1, const char *k2)
{
	return jstr(cJSON_GetObjectItemCaseSensitive(o, k1), k2);
}

/* The sensor plugin's readings as the orchestrator stored them. */
static void
demo_sensor_events(struct demo *d)
{
	cJSON *evs = NULL, *e, *arr;
	uint64_t end = time_mono_ms() + DEMO_EVENT_MS;
	int n = 0, good = 0;

	step(d, "Sensor events stored by the orchestrator (ctl events query --event " DEMO_SENSOR_EVENT ")");
	for (;;) {
		evs = ctl(d, DEMO_CMD_MS, "events", "query", "--tenant", DEMO_TENANT, "--event",
		    DEMO_SENSOR_EVENT, (char *)NULL);
		n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(evs, "events"));
		if (n >= DEMO_SENSOR_N || expired(end))
			break;
		cJSON_Delete(evs);
		evs = NULL;
		sleep_ms(200);
	}
	arr = cJSON_GetObjectItemCaseSensitive(evs, "events");
	say(d, "    %-4s %-14s %-20s %-18s %-10s %-24s %s\n", "seq", "agent", "plugin", "metric", "value",
	    "user.email", "session.token");
	cJSON_ArrayForEach(e, arr) {
		const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "sequence");
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(e, "value");
		const char *mail = nested_str(e, "user", "email"), *tok = nested_str(e, "session", "token");

		say(d, "    %-4d %-14s %-20s %-18s %-10g %.23s%s %s\n", cJSON_IsNumber(seq) ? (int)seq->valuedouble : 0,
		    jstr(e, "agent_id"), jstr(e, "plugin"), jstr(e, "metric"),
		    cJSON_IsNumber(val) ? val->valuedouble : 0.0, mail, strlen(mail) > 23 ? "..." : "", tok);
		good += strcmp(jstr(e, "agent_id"), DEMO_SENSOR_AGENT) == 0 &&
		    strcmp(jstr(e, "plugin"), DEMO_SENSOR_NAME) == 0 &&
		    strncmp(mail, "hmac-sha256:", 12) == 0 && strcmp(tok, "[REDACTED]") == 0;
	}
	result(d, "sensor_events", n == DEMO_SENSOR_N && good == n, "%d reading(s) stored, each once, enriched with "
	    "agent, tenant, plugin and sequence; user.email pseudonymized, session.token redacted on the host", n);
	if (arr != NULL)
		cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(d->report, "sensor_events"), "events",
		    cJSON_Duplicate(arr, 1));
	cJSON_Delete(evs);
}

/* Submits a job and waits for its stored result; returns the job or NULL. */
static cJSON *
submit(struct demo *d, const char *args)
{
	return ctl(d, DEMO_JOB_MS, "job", "submit", "--agent", DEMO_TENANT "/" DEMO_AGENT, "--plugin", DEMO_PLUGIN_NAME,
	    "--args", args, "--timeout", "10s", "--wait", (char *)NULL);
}

static void
demo_jobs(struct demo *d)
{
	cJSON *j, *res;
	char *s;
	int ok;
	uint64_t end;

	step(d, "A job to the sample plugin, and its stored result");
	j = submit(d, "{\"mode\":\"echo\",\"hello\":\"world\"}");
	res = cJSON_GetObjectItemCaseSensitive(j, "result");
	s = res ? cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(res, "stdout")) : NULL;
	ok = strcmp(jstr(j, "state"), "done") == 0 && strcmp(jstr(res, "status"), "succeeded") == 0 &&
	    s != NULL && strstr(s, "\"hello\":\"world\"") != NULL;
	say(d, "    %-10s %s\n    %-10s %s\n    %-10s %s\n", "job", jstr(j, "id"), "status",
	    jstr(res, "status"), "stdout", s ? s : "-");
	result(d, "job_result", ok, ok ? "the plugin's answer came back through the orchestrator" :
	    "no succeeded result");
	free(s);
	if (j)
		cJSON_AddItemToObject(d->report, "job", j);

	step(d, "A job to the plugin's hostile mode: it tries execve, socket, fork, open /etc/shadow");
	j = submit(d, "{\"mode\":\"hostile\"}");
	res = cJSON_GetObjectItemCaseSensitive(j, "result");
	s = res ? cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(res, "stdout")) : NULL;
	say(d, "    %-10s %s\n    %-10s %s\n    %-10s %s\n", "job", jstr(j, "id"), "status",
	    jstr(res, "status"), "stdout", s ? s : "-");
	ok = strcmp(jstr(j, "state"), "done") == 0 && s != NULL && strstr(s, "\"execve\":\"denied\"") != NULL &&
	    strstr(s, "ALLOWED") == NULL;
	free(s);
	if (j)
		cJSON_AddItemToObject(d->report, "hostile_job", j);
	/* The job result the orchestrator stored counts the violations; the
	 * events are in the agent's log first (the sandbox supervisor runs in
	 * the spawner, which hands them to the worker's spool); step "security
	 * events" shows the one the orchestrator stored, or says it has none. */
	cJSON *viol = cJSON_GetObjectItemCaseSensitive(res, "violations");
	int nviol = cJSON_IsNumber(viol) ? (int)viol->valuedouble : 0;
	char evlog[128], *buf = NULL;
	size_t blen;
	int nlocal = 0;
	snprintf(evlog, sizeof(evlog), "%s/events.log", d->agent_dir);
	end = time_mono_ms() + DEMO_EVENT_MS;
	while (ok && !expired(end) && !file_has(evlog, "\"blocked_syscall_attempt\""))
		sleep_ms(50);
	if (file_read_all(evlog, 4u << 20, &buf, &blen) == 0) {
		char *line = buf, *nl, *first = NULL;
		for (; line < buf + blen; line = nl + 1) {
			if ((nl = memchr(line, '\n', (size_t)(buf + blen - line))) == NULL)
				nl = buf + blen;
			*nl = '\0';
			if (strstr(line, "\"event\":\"blocked_syscall_attempt\"") != NULL) {
				nlocal++;
				if (first == NULL)
					first = line;
			}
		}
		if (first != NULL)
			say(d, "    the agent's event log, first blocked_syscall_attempt:\n      %.400s\n", first);
		free(buf);
	}
	result(d, "hostile_blocked", ok && nviol >= 3 && nlocal >= 3, "every attempt denied; the stored result counts "
	    "%d violation(s); the agent logged %d blocked_syscall_attempt event(s)", nviol, nlocal);
}

static void
demo_security_events(struct demo *d)
{
	cJSON *evs, *e;
	struct { char name[64]; char level[8]; int n; } t[32];
	int nt = 0, i, total = 0;

	step(d, "Security events stored for tenant " DEMO_TENANT " (ctl events query)");
	/* The agent's worker sends its events in batches after spooling them:
	 * wait (bounded) until the orchestrator has some. */
	/* Once some have arrived, allow DEMO_SANDBOX_EV_MS more for the
	 * sandbox's blocked_syscall_attempt (delivered only by agents that
	 * forward their spawner's events). */
	uint64_t end = time_mono_ms() + DEMO_EVENT_MS, first = 0;
	cJSON *blocked = NULL;
	for (evs = NULL;;) {
		evs = ctl(d, DEMO_CMD_MS, "events", "query", "--tenant", DEMO_TENANT, (char *)NULL);
		uint64_t now = time_mono_ms();
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(evs, "events"))
			if (blocked == NULL && strcmp(jstr(e, "event"), "blocked_syscall_attempt") == 0)
				blocked = e;
		if (first == 0 && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(evs, "events")) > 0)
			first = now;
		if (blocked != NULL || expired(end) || (first != 0 && now - first >= DEMO_SANDBOX_EV_MS))
			break;
		cJSON_Delete(evs);
		sleep_ms(200);
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(evs, "events")) {
		const char *name = jstr(e, "event");
		if (strcmp(name, DEMO_SENSOR_EVENT) == 0)
			continue;   /* monitoring data, shown in its own step */
		total++;
		for (i = 0; i < nt && strcmp(t[i].name, name) != 0; i++)
			;
		if (i == nt && nt < (int)ARRAY_SIZE(t)) {
			snprintf(t[nt].name, sizeof(t[nt].name), "%s", name);
			snprintf(t[nt].level, sizeof(t[nt].level), "%s", jstr(e, "level"));
			t[nt++].n = 0;
		}
		if (i < nt)
			t[i].n++;
	}
	say(d, "    %-34s %-6s %s\n", "event", "level", "count");
	for (i = 0; i < nt; i++)
		say(d, "    %-34s %-6s %d\n", t[i].name, t[i].level, t[i].n);
	result(d, "security_events", evs != NULL && total > 0, "%d event(s) of %d kind(s)", total, nt);
	for (i = 0; i < nt && strcmp(t[i].name, "blocked_syscall_attempt") != 0; i++)
		;
	cJSON_AddBoolToObject(cJSON_GetObjectItemCaseSensitive(d->report, "security_events"),
	    "blocked_syscall_attempt_stored", i < nt);
	if (blocked != NULL) {
		char *line = cJSON_PrintUnformatted(blocked);
		say(d, "    stored by the orchestrator (ctl events query), first blocked_syscall_attempt:\n      %.400s\n",
		    line ? line : "?");
		free(line);
	}
	if (i == nt)
		say(d, "    NOT STORED: the orchestrator has no blocked_syscall_attempt for tenant " DEMO_TENANT ";\n"
		       "    the hostile job's events are only in the agent's own log (step above): the\n"
		       "    agent did not forward its spawner's security events.\n");
	cJSON_Delete(evs);
}

static const char *
agent_serial(cJSON *list, char *out, size_t len)
{
	cJSON *a;

	out[0] = '\0';
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(list, "agents"))
		if (strcmp(jstr(a, "agent_id"), DEMO_AGENT) == 0)
			snprintf(out, len, "%s", jstr(a, "serial"));
	return out;
}

static void
demo_rotate(struct demo *d)
{
	char s0[96], s1[96], evlog[128];
	cJSON *l;
	uint64_t end;
	int ok = 0;

	step(d, "Certificate rotation forced now (ctl agent rotate)");
	snprintf(evlog, sizeof(evlog), "%s/events.log", d->agent_dir);
	l = ctl(d, DEMO_CMD_MS, "agent", "list", (char *)NULL);
	agent_serial(l, s0, sizeof(s0));
	cJSON_Delete(l);
	l = ctl(d, DEMO_CMD_MS, "agent", "rotate", "--tenant", DEMO_TENANT, DEMO_AGENT, (char *)NULL);
	if (l != NULL && s0[0]) {
		end = time_mono_ms() + DEMO_EVENT_MS;
		while (!ok && !expired(end)) {
			sleep_ms(200);
			if (!file_has(evlog, "\"certificate_renewed\""))
				continue;
			cJSON *l2 = ctl(d, DEMO_CMD_MS, "agent", "list", (char *)NULL);
			agent_serial(l2, s1, sizeof(s1));
			cJSON_Delete(l2);
			ok = s1[0] && strcmp(s0, s1) != 0;
		}
	}
	cJSON_Delete(l);
	say(d, "    %-12s %s\n    %-12s %s\n", "old serial", s0[0] ? s0 : "?", "new serial", ok ? s1 : "?");
	result(d, "rotation", ok, ok ? "the agent renewed over mTLS; the orchestrator records the new serial" :
	    "no new serial before the wait ended");
	if (ok) {
		cJSON *o = cJSON_GetObjectItemCaseSensitive(d->report, "rotation");
		cJSON_AddStringToObject(o, "old_serial", s0);
		cJSON_AddStringToObject(o, "new_serial", s1);
	}
}

static void
demo_audit(struct demo *d)
{
	char path[128], copy[128], *buf = NULL;
	struct audit_verify_result vr;
	size_t len;

	step(d, "The orchestrator's tamper-evident audit chain");
	snprintf(path, sizeof(path), "%s/audit.log", d->orch);
	audit_verify_file(path, 0, NULL, &vr);
	result(d, "audit_intact", vr.status == AUDIT_OK && vr.records > 0, "%s: %s", "orch/audit.log", vr.msg);
	/* One byte changed in a copy: the chain must break. */
	snprintf(copy, sizeof(copy), "%s/audit-edited.log", d->dir);
	if (file_read_all(path, 4u << 20, &buf, &len) == 0) {
		char *p = strstr(buf, DEMO_TENANT);
		if (p != NULL)
			p[0] = 'A';
		if (p == NULL || file_write_atomic(copy, buf, len, 0600) < 0)
			copy[0] = '\0';
		free(buf);
	}
	audit_verify_file(copy, 0, NULL, &vr);
	result(d, "audit_tampered", copy[0] && vr.status == AUDIT_BROKEN, "a copy with one byte edited: %s", vr.msg);
}

/* SIGTERM, bounded wait, SIGKILL.  Returns 1 if it exited with status 0. */
static int
stop_child(pid_t *pid)
{
	int st;

	if (*pid <= 0)
		return 1;
	kill(*pid, SIGTERM);
	st = wait_bounded(*pid, DEMO_STOP_MS);
	*pid = -1;
	return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	/* Keep going past an entry that cannot be removed: the rest still
	 * goes, and the test checks that nothing is left. */
	if (remove(path) < 0)
		fprintf(stderr, "stavily: demo: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

static void
demo_shutdown(struct demo *d, int keep)
{
	int a, s, o;

	step(d, "Shut down (SIGTERM) and remove the temporary directory");
	a = stop_child(&d->agent_pid);
	s = stop_child(&d->sensor_pid);
	o = stop_child(&d->orch_pid);
	result(d, "shutdown", a && s && o, "action agent %s, sensor agent %s, orchestrator %s",
	    a ? "stopped" : "FAILED to stop cleanly", s ? "stopped" : "FAILED to stop cleanly",
	    o ? "stopped" : "FAILED to stop cleanly");
	if (!keep)
		nftw(d->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
demo_main(int argc, char **argv)
{
	struct demo d = { 0 };
	char token[256] = "";
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
	d.orch_pid = d.agent_pid = d.sensor_pid = -1;
	{
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;   /* no SA_RESTART: blocking calls return EINTR */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	snprintf(d.dir, sizeof(d.dir), "/tmp/stavily-demo-XXXXXX");
	if (mkdtemp(d.dir) == NULL) {
		cli_error("cannot create a temporary directory: %s", strerror(errno));
		return EXIT_FAIL;
	}
	/* When started as root the agent's network worker runs as an
	 * unprivileged uid and must reach its state directory. */
	chmod(d.dir, 0755);
	d.report = cJSON_CreateObject();
	cJSON_AddStringToObject(d.report, "dir", d.dir);
	say(&d, "Stavily demo: everything runs in %s on this machine (loopback only).\n", d.dir);
	demo_config(&d);
	if (demo_orchestrator(&d) == 0 && demo_tenant(&d, token, sizeof(token)) == 0 &&
	    demo_plugin_install(&d) == 0 && demo_agent(&d, token) == 0) {
		int sensor = demo_sensor_agent(&d) == 0;

		if (!demo_interrupted)
			demo_jobs(&d);
		if (!demo_interrupted && sensor)
			demo_sensor_events(&d);
		if (!demo_interrupted)
			demo_rotate(&d);
		if (!demo_interrupted)
			demo_security_events(&d);
	}
	explicit_bzero(token, sizeof(token));
	if (d.orch_pid > 0 && !demo_interrupted)
		demo_audit(&d);
	if (demo_interrupted) {
		d.failures++;
		say(&d, "\ninterrupted: stopping what was started\n");
		cJSON_AddBoolToObject(d.report, "interrupted", 1);
	}
	demo_shutdown(&d, keep);
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
	return d.failures ? EXIT_FAIL : EXIT_OK;
}

/*
 * The demo's plugin: this binary, run by the agent's sandbox as
 * `stavily-demo-plugin` (the manifest's name is the plugin's argv[0]) with
 * the job's arguments on stdin, or by hand as `stavily demo-plugin MODE`.
 * Modes: "echo" answers {"echo": ARGS}; "hostile" tries what a compromised
 * plugin would and reports what the sandbox let through.
 *
 * The brief's allowlist grants write but not writev, which musl's stdio uses
 * to flush: the plugin formats into a buffer and calls write(2) itself.
 */
#define DEMO_ARGS_MAX     (32u << 10)   /* the agent's own cap on job arguments */

static char plug_out[DEMO_ARGS_MAX + 1024];

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
	size_t off = 0, len = strlen(plug_out);

	while (off < len) {
		ssize_t n = write(1, plug_out + off, len - off);
		if (n <= 0)
			_exit(3);
		off += (size_t)n;
	}
	plug_out[0] = '\0';
}

static const char *
try_result(long rc)
{
	if (rc >= 0)
		return "ALLOWED";
	return errno == EPERM || errno == EACCES ? "denied" : strerror(errno);
}

static int
plug_hostile(void)
{
	char *sh[] = { (char *)"/bin/sh", (char *)"-c", (char *)"id", NULL };
	long rc;

	rc = execve("/bin/sh", sh, NULL);
	plug_say("{\"execve\":\"%s\",", try_result(rc));
	rc = socket(AF_INET, SOCK_STREAM, 0);
	plug_say("\"socket\":\"%s\",", try_result(rc));
	rc = syscall(SYS_fork);
	if (rc == 0)
		_exit(0);
	plug_say("\"fork\":\"%s\",", try_result(rc));
	rc = open("/etc/shadow", O_RDONLY);
	plug_say("\"open /etc/shadow\":\"%s\"}\n", try_result(rc));
	plug_flush();
	return 0;
}

static int
plug_echo(const char *args)
{
	plug_say("{\"echo\":%s}\n", args[0] ? args : "null");
	plug_flush();
	return 0;
}

/* Runs the mode the job's arguments name ({"mode":"hostile"}); a plain
 * substring test, because the agent already checked the arguments are JSON
 * and the plugin should stay within read/write. */
static int
plug_from_stdin(void)
{
	static char args[DEMO_ARGS_MAX + 1];
	size_t len = 0;

	while (len < DEMO_ARGS_MAX) {
		ssize_t n = read(0, args + len, DEMO_ARGS_MAX - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	args[len] = '\0';
	while (len > 0 && (args[len - 1] == '\n' || args[len - 1] == ' '))
		args[--len] = '\0';
	if (strstr(args, "\"mode\":\"hostile\"") != NULL)
		return plug_hostile();
	return plug_echo(args);
}

/* Sensor mode (argv[0] "stavily-demo-sensor"): DEMO_SENSOR_N readings, one
 * JSON object per line, with a user e-mail and a session token the agent is
 * configured to pseudonymize and redact.  Only clocks and ids: the sensor
 * sandbox gives no filesystem access the demo could count on. */
static int
plug_sensor(void)
{
	struct timespec ts;
	char drain[256];
	double v[DEMO_SENSOR_N];
	static const char *const metric[DEMO_SENSOR_N] = { "monotonic_clock_s", "sandbox_pid", "sandbox_uid" };

	while (read(0, drain, sizeof(drain)) > 0)   /* the arguments: {} */
		;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	v[0] = (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0;
	v[1] = (double)getpid();
	v[2] = (double)getuid();
	for (int i = 0; i < DEMO_SENSOR_N; i++)
		plug_say("{\"event\":\"" DEMO_SENSOR_EVENT "\",\"reading\":%d,\"metric\":\"%s\",\"value\":%.3f,"
		    "\"user\":{\"email\":\"alice@example.com\"},\"session\":{\"token\":\"s3cr3t-%d\"}}\n",
		    i + 1, metric[i], v[i], i);
	plug_flush();
	return 0;
}

int
demo_plugin_main(int argc, char **argv)
{
	const char *base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;

	/* Started by the agent as a plugin: argv = { manifest name } (main.c
	 * dispatches on that name), the job's arguments on stdin. */
	base = base ? base + 1 : argc > 0 && argv[0] ? argv[0] : "";
	if (strcmp(base, DEMO_SENSOR_NAME) == 0 || (argc >= 2 && strcmp(argv[1], "sensor") == 0))
		return plug_sensor();
	if (argc < 2)
		return plug_from_stdin();
	if (strcmp(argv[1], "hostile") == 0)
		return plug_hostile();
	if (strcmp(argv[1], "echo") == 0)
		return plug_from_stdin();
	fputs("usage: stavily demo-plugin hostile|echo|sensor\n", stderr);
	return EXIT_USAGE;
}

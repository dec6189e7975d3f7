/*
 * test_agent_privsep.c: the network worker restricts itself before it runs
 * (read back from /proc/PID/status), its seccomp filter and Landlock rules
 * hold, and the spawner survives garbage on the socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/msg.h"
#include "agent/privsep.h"
#include "store/journal.h"
#include "store/spool.h"
#include <netinet/in.h>
#include <arpa/inet.h>
#include "harness.h"

static char state_dir[64];

/* Value of "Key:" in /proc/PID/status, or "" */
static void
proc_field(pid_t pid, const char *key, char *out, size_t cap)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			char *v = line + kl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, cap, "%s", v);
			break;
		}
	}
	fclose(f);
}

static int
send_status(int sock, const char *text)
{
	struct msg m;
	int r;

	msg_init(&m, MSG_STATUS);
	m.text = (char *)text;
	r = msg_send(sock, &m);
	return r;
}

/* Worker: says ready, then answers until SHUTDOWN or EOF. */
static int
idle_main(int sock, const int *fds, size_t n, void *arg)
{
	struct msg m;
	int r;

	if (send_status(sock, "{\"ready\":true}") != 0)
		return 3;
	for (int i = 0; i < 1000; i++) {
		r = msg_recv(sock, &m, NULL);
		if (r == -EPIPE)
			return 0;
		if (r == 0 && m.type == MSG_SHUTDOWN) {
			msg_free(&m);
			return 0;
		}
		msg_free(&m);
	}
	return 4;
}

static int
wait_ready(struct privsep_worker *w)
{
	struct msg m;
	int r = msg_recv(w->sock, &m, NULL);
	int ok = r == 0 && m.type == MSG_STATUS && strstr(m.text, "ready") != NULL;

	msg_free(&m);
	return ok;
}

static void
base_spec(struct privsep_spec *s, privsep_main_fn fn)
{
	memset(s, 0, sizeof(*s));
	s->state_dir = state_dir;
	s->uid = 65534;
	s->gid = 65534;
	s->main = fn;
}

/* The identity checks every run must pass; `want_uid` is the worker's uid. */
static void
check_restricted(pid_t pid, unsigned want_uid, int want_capbnd_zero)
{
	char v[128], want[64];

	proc_field(pid, "CapEff", v, sizeof(v));
	CHECK_EQ_STR(v, "0000000000000000");
	proc_field(pid, "CapPrm", v, sizeof(v));
	CHECK_EQ_STR(v, "0000000000000000");
	proc_field(pid, "CapInh", v, sizeof(v));
	CHECK_EQ_STR(v, "0000000000000000");
	proc_field(pid, "CapAmb", v, sizeof(v));
	CHECK_EQ_STR(v, "0000000000000000");
	proc_field(pid, "CapBnd", v, sizeof(v));
	if (want_capbnd_zero)
		CHECK_EQ_STR(v, "0000000000000000");
	proc_field(pid, "NoNewPrivs", v, sizeof(v));
	CHECK_EQ_STR(v, "1");
	proc_field(pid, "Seccomp", v, sizeof(v));
	CHECK_EQ_STR(v, "2");
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", want_uid, want_uid, want_uid, want_uid);
	proc_field(pid, "Uid", v, sizeof(v));
	CHECK_EQ_STR(v, want);
	proc_field(pid, "Groups", v, sizeof(v));
	if (want_uid == 65534)
		CHECK_EQ_STR(v, "");
}

static void
test_worker_restricted(void)
{
	struct privsep_spec s;
	struct privsep_worker w;
	struct msg m;
	char err[PRIVSEP_ERR_LEN];
	int st;

	base_spec(&s, idle_main);
	CHECK_EQ_INT(privsep_start_worker(&s, &w, err), 0);
	CHECK(wait_ready(&w));
	check_restricted(w.pid, geteuid() == 0 ? 65534 : getuid(), 1);
	msg_init(&m, MSG_SHUTDOWN);
	CHECK_EQ_INT(msg_send(w.sock, &m), 0);
	st = privsep_stop_worker(&w, 2000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Unprivileged start (what the kernel allows): run the same as nobody. */
static void
test_worker_restricted_unprivileged(void)
{
	pid_t pid;
	int st;

	if (geteuid() != 0) {
		/* Already unprivileged: the test above covered this case. */
		CHECK(getuid() != 0);
		return;
	}
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct privsep_spec s;
		struct privsep_worker w;
		char err[PRIVSEP_ERR_LEN];

		if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
		    setresuid(65534, 65534, 65534) != 0)
			_exit(90);
		base_spec(&s, idle_main);
		if (privsep_start_worker(&s, &w, err) != 0) {
			printf("  start: %s\n", err);
			_exit(91);
		}
		if (!wait_ready(&w))
			_exit(92);
		harness_cur_failed = 0;
		check_restricted(w.pid, 65534, 1);
		st = privsep_stop_worker(&w, 2000);
		fflush(stdout);
		_exit(harness_cur_failed ? 93 : WIFEXITED(st) ? WEXITSTATUS(st) : 94);
	}
	CHECK_EQ_INT(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WEXITSTATUS(st), 0);
}

/* Worker that probes what it may do and reports a bit mask. */
static int
probe_main(int sock, const int *fds, size_t n, void *arg)
{
	char path[128], buf[128];
	unsigned bits = 0;
	void *p;
	int fd;

	/* 1: can write in its state directory */
	snprintf(path, sizeof(path), "%s/spool-probe", state_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && write(fd, "x", 1) == 1)
		bits |= 1;
	if (fd >= 0)
		close(fd);
	/* 2: cannot read outside (Landlock) */
	fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == EACCES)
		bits |= 2;
	if (fd >= 0)
		close(fd);
	/* 4: no netlink sockets */
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno == EPERM)
		bits |= 4;
	/* 8: TCP sockets allowed */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		bits |= 8;
		close(fd);
	}
	/* 16: no executable memory */
	/* the raw syscall: musl's mmap() turns EPERM into ENOMEM */
	p = (void *)syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED && errno == EPERM)
		bits |= 16;
	/* 32: the file handed over before restriction is readable */
	if (n == 1 && fds[0] >= 0 && read(fds[0], buf, sizeof(buf)) > 0)
		bits |= 32;
	/* 64: no descriptor leaked beyond ours (3..) */
	if (fcntl(sock + 10, F_GETFD) < 0 && fcntl(63, F_GETFD) < 0)
		bits |= 64;
	snprintf(buf, sizeof(buf), "{\"bits\":%u}", bits);
	send_status(sock, buf);
	return 0;
}

static void
test_worker_limits(void)
{
	struct privsep_spec s;
	struct privsep_worker w;
	struct msg m;
	char err[PRIVSEP_ERR_LEN];
	int leak, st;

	/* A descriptor of the parent that must not reach the worker. */
	leak = dup2(1, 63);
	CHECK_EQ_INT(leak, 63);
	base_spec(&s, probe_main);
	s.read_files[0] = "/etc/hostname";
	s.n_read_files = 1;
	CHECK_EQ_INT(privsep_start_worker(&s, &w, err), 0);
	close(63);
	CHECK_EQ_INT(msg_recv(w.sock, &m, NULL), 0);
	CHECK(m.type == MSG_STATUS);
	CHECK_EQ_STR(m.text, "{\"bits\":127}");
	msg_free(&m);
	st = privsep_stop_worker(&w, 2000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int
exec_main(int sock, const int *fds, size_t n, void *arg)
{
	char *argv[] = { "/bin/true", NULL };

	send_status(sock, "{\"ready\":true}");
	execve("/bin/true", argv, argv + 1);
	return 7;
}

static int
fork_main(int sock, const int *fds, size_t n, void *arg)
{
	send_status(sock, "{\"ready\":true}");
	if (fork() == 0)
		_exit(0);
	return 7;
}

static int
ptrace_main(int sock, const int *fds, size_t n, void *arg)
{
	send_status(sock, "{\"ready\":true}");
	syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, (long)getppid(), 0, 0);
	return 7;
}

static void
killed_by_sigsys(privsep_main_fn fn)
{
	struct privsep_spec s;
	struct privsep_worker w;
	char err[PRIVSEP_ERR_LEN];
	int st;

	base_spec(&s, fn);
	CHECK_EQ_INT(privsep_start_worker(&s, &w, err), 0);
	CHECK(wait_ready(&w));
	st = privsep_stop_worker(&w, 2000);
	CHECK(WIFSIGNALED(st));
	CHECK_EQ_INT(WIFSIGNALED(st) ? WTERMSIG(st) : -1, SIGSYS);
}

static void
test_worker_exec_killed(void)
{
	killed_by_sigsys(exec_main);
}

static void
test_worker_fork_killed(void)
{
	killed_by_sigsys(fork_main);
}

static void
test_worker_ptrace_killed(void)
{
	killed_by_sigsys(ptrace_main);
}

/* Started with stdin/stdout/stderr closed: the socket and the pre-opened
 * file must not be confused with 0-2. */
static int
fd_main(int sock, const int *fds, size_t n, void *arg)
{
	char buf[64];
	int ok = sock >= 3 && n == 1 && fds[0] >= 3 && read(fds[0], buf, sizeof(buf)) > 0 &&
	    fcntl(0, F_GETFD) >= 0 && fcntl(1, F_GETFD) >= 0 && fcntl(2, F_GETFD) >= 0;

	send_status(sock, ok ? "{\"fds\":\"ok\"}" : "{\"fds\":\"bad\"}");
	return 0;
}

static void
test_worker_closed_stdio(void)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct privsep_spec s;
		struct privsep_worker w;
		char err[PRIVSEP_ERR_LEN];
		struct msg m;
		int ok;

		close(0);
		close(1);
		close(2);
		base_spec(&s, fd_main);
		s.read_files[0] = "/etc/hostname";
		s.n_read_files = 1;
		if (privsep_start_worker(&s, &w, err) != 0)
			_exit(91);
		ok = msg_recv(w.sock, &m, NULL) == 0 && m.type == MSG_STATUS &&
		    strcmp(m.text, "{\"fds\":\"ok\"}") == 0;
		msg_free(&m);
		st = privsep_stop_worker(&w, 2000);
		_exit(ok && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 92);
	}
	CHECK_EQ_INT(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WEXITSTATUS(st), 0);
}

/* A root worker identity is refused. */
static void
test_worker_uid0_refused(void)
{
	struct privsep_spec s;
	struct privsep_worker w;
	char err[PRIVSEP_ERR_LEN];
	int st;

	base_spec(&s, idle_main);
	s.uid = 0;
	CHECK_EQ_INT(privsep_start_worker(&s, &w, err), 0);
	if (geteuid() != 0)
		CHECK(wait_ready(&w)); /* uid is ignored when not root */
	st = privsep_stop_worker(&w, 2000);
	if (geteuid() == 0)
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == PRIVSEP_EXIT_RESTRICT);
	else
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A hostile worker sends garbage; the spawner side rejects each datagram
 * and then still reads the valid message that follows. */
static int
garbage_main(int sock, const int *fds, size_t n, void *arg)
{
	uint8_t buf[MSG_MAX + 100];
	unsigned seed = 12345;
	size_t len;
	int i;

	for (i = 0; i < 200; i++) {
		len = (size_t)(rand_r(&seed) % 300);
		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rand_r(&seed);
		if (len >= 8 && i % 2) { /* plausible header, corrupt body */
			buf[0] = (uint8_t)(1 + i % 9); buf[1] = buf[2] = buf[3] = 0;
			buf[4] = (uint8_t)(len - 8); buf[5] = buf[6] = buf[7] = 0;
		}
		if (len == 0)
			len = 1;
		if (send(sock, buf, len, 0) < 0)
			return 5;
	}
	memset(buf, 0x41, sizeof(buf)); /* oversized datagram */
	buf[0] = MSG_STATUS;
	if (send(sock, buf, sizeof(buf), 0) < 0)
		return 6;
	send_status(sock, "{\"ready\":true}");
	return 0;
}

static void
test_spawner_rejects_garbage(void)
{
	struct privsep_spec s;
	struct privsep_worker w;
	char err[PRIVSEP_ERR_LEN];
	struct msg m;
	enum msg_error why;
	int i, r, rejected = 0, ready = 0, st;

	base_spec(&s, garbage_main);
	CHECK_EQ_INT(privsep_start_worker(&s, &w, err), 0);
	for (i = 0; i < 300 && !ready; i++) {
		r = msg_recv(w.sock, &m, &why);
		if (r == -EBADMSG)
			rejected++;
		else if (r == 0 && m.type == MSG_STATUS && strcmp(m.text, "{\"ready\":true}") == 0)
			ready = 1;
		else if (r != 0)
			break;
		msg_free(&m);
	}
	CHECK(ready);
	CHECK(rejected >= 190); /* random bytes almost never form a valid message */
	st = privsep_stop_worker(&w, 2000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The worker's real work under its filter and Landlock: a spool in the
 * state directory (append, sync, peek, ack, reopen) and a TCP exchange on
 * loopback.  Proves the allowlist covers these code paths. */
static int
work_main(int sock, const int *fds, size_t n, void *arg)
{
	int port = *(int *)arg;
	struct spool_options opt = { 0 };
	struct spool *sp = NULL;
	struct spool_batch b;
	struct sockaddr_in sa;
	char dir[128], id[SPOOL_ID_HEX_LEN], body[64], reply[8];
	const char *ids[1];
	size_t matched = 0;
	int i, fd, step = 1;

	opt.flags = JOURNAL_CREATE;
	snprintf(dir, sizeof(dir), "%s/spool", state_dir);
	if (spool_open(dir, &opt, &sp, NULL) != 0)
		goto fail;
	step = 2;
	for (i = 0; i < 100; i++) {
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		if (spool_append(sp, SPOOL_SENSOR_EVENT, body, strlen(body), id) != 0)
			goto fail;
	}
	step = 3;
	if (spool_sync(sp) != 0 || spool_peek(sp, 1, 1 << 20, &b) != 0 || b.n != 1)
		goto fail;
	ids[0] = b.recs[0].id;
	step = 4;
	if (spool_ack(sp, ids, 1, &matched) != 0 || matched != 1)
		goto fail;
	spool_batch_free(&b);
	spool_close(sp);
	sp = NULL;
	step = 5;
	if (spool_open(dir, &opt, &sp, NULL) != 0)
		goto fail;
	spool_close(sp);
	sp = NULL;
	step = 6;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, "ping", 4) != 4 || read(fd, reply, 4) != 4 || memcmp(reply, "pong", 4) != 0)
		goto fail;
	close(fd);
	send_status(sock, "{\"work\":\"done\"}");
	return 0;
fail:
	snprintf(body, sizeof(body), "{\"failed_step\":%d,\"errno\":%d}", step, errno);
	send_status(sock, body);
	return 1;
}

static void
test_worker_does_its_work(void)
{
	struct privsep_spec s;
	struct privsep_worker w;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char err[PRIVSEP_ERR_LEN], buf[8];
	struct msg m;
	int lfd, cfd, port, st;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lfd, 1) == 0);
	CHECK_EQ_INT(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	base_spec(&s, work_main);
	s.arg = &port;
	CHECK_EQ_INT(privsep_start_worker(&s, &w, err), 0);
	cfd = accept(lfd, NULL, NULL);
	CHECK(cfd >= 0);
	if (cfd >= 0) {
		CHECK_EQ_INT(read(cfd, buf, 4), 4);
		CHECK_EQ_INT(write(cfd, "pong", 4), 4);
		close(cfd);
	}
	close(lfd);
	CHECK_EQ_INT(msg_recv(w.sock, &m, NULL), 0);
	CHECK_EQ_STR(m.text, "{\"work\":\"done\"}");
	msg_free(&m);
	st = privsep_stop_worker(&w, 2000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int
main(void)
{
	snprintf(state_dir, sizeof(state_dir), "/tmp/stavily-privsep.XXXXXX");
	if (mkdtemp(state_dir) == NULL || chmod(state_dir, 0700) != 0)
		return 2;
	if (geteuid() == 0 && chown(state_dir, 65534, 65534) != 0)
		return 2;
	RUN(test_worker_restricted);
	RUN(test_worker_restricted_unprivileged);
	RUN(test_worker_limits);
	RUN(test_worker_exec_killed);
	RUN(test_worker_fork_killed);
	RUN(test_worker_ptrace_killed);
	RUN(test_worker_uid0_refused);
	RUN(test_worker_closed_stdio);
	RUN(test_spawner_rejects_garbage);
	RUN(test_worker_does_its_work);
	{
		char p[128];
		snprintf(p, sizeof(p), "rm -rf '%s'", state_dir);
		if (system(p) != 0)
			return 2;
	}
	return HARNESS_EXIT();
}

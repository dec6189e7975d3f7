/*
 * test_agent_netns.c: the spawner's pool of network namespaces (agent/netns.h)
 * and the sandbox joining one (sandbox_run_start_netns).  The plugin is
 * /bin/sh blocked in `read` on a pipe we hold, so that its namespace can be
 * compared from outside (/proc/PID/ns/net) while it and the pool's
 * descriptor are both alive (inode numbers are only meaningful then: the
 * kernel hands a freed one to the next namespace).
 *
 * As root: the pool creates namespaces with lo up, hands out slots, and a
 * run joins one only under the rules (not for uid 0, not for network
 * full).  As nobody (a forked child that drops to 65534): creating fails
 * with EPERM, the pool turns unavailable once and the rules say no.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "agent/netns.h"
#include "sandbox/filter.h"
#include "sandbox/policy.h"
#include "sandbox/probe.h"
#include "sandbox/supervisor.h"

static ino_t
ino_of_fd(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

static ino_t
ino_of_path(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* 1 if lo is up in the calling process's network namespace, 0 if down,
 * -1 on error. */
static int
lo_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = -1;

	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0)
		r = (ifr.ifr_flags & IFF_UP) != 0;
	close(s);
	return r;
}

/* In a child: join `fd`, report whether lo is up there (exit 10 + r); then,
 * as the control that the check can see a down lo, a fresh namespace
 * (exit 20 + r). */
static int
child_lo(int fd, bool fresh)
{
	pid_t pid = fork();
	int st = 0;

	if (pid == 0) {
		if (fresh ? unshare(CLONE_NEWNET) != 0 : setns(fd, CLONE_NEWNET) != 0)
			_exit(1);
		_exit((fresh ? 20 : 10) + lo_up());
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -100;
	return WEXITSTATUS(st);
}

static void
test_create(void)
{
	int fd = netns_create();

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(ino_of_fd(fd) != 0);
	CHECK(ino_of_fd(fd) != ino_of_path("/proc/self/ns/net"));
	CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	CHECK_EQ_INT(child_lo(fd, false), 11);    /* lo up in the created namespace */
	CHECK_EQ_INT(child_lo(-1, true), 20);     /* control: lo down in a bare one */
	close(fd);
}

static void
test_take_put(void)
{
	struct netns_pool np;
	int a, b, c, d, e;

	netns_pool_init(&np, 2);
	a = netns_pool_take(&np, &e);
	CHECK_EQ_INT(e, 0);
	b = netns_pool_take(&np, &e);
	CHECK_EQ_INT(e, 0);
	CHECK(a >= 0 && b >= 0 && a != b);
	CHECK(netns_pool_fd(&np, a) >= 0 && netns_pool_fd(&np, b) >= 0);
	CHECK(ino_of_fd(netns_pool_fd(&np, a)) != ino_of_fd(netns_pool_fd(&np, b)));
	c = netns_pool_take(&np, &e);              /* both busy: fresh */
	CHECK_EQ_INT(c, -1);
	CHECK_EQ_INT(e, 0);
	netns_pool_put(&np, a);
	d = netns_pool_take(&np, &e);              /* the same slot and namespace again */
	CHECK_EQ_INT(d, a);
	CHECK_EQ_INT((int)np.created, 2);
	CHECK_EQ_INT((int)np.taken, 3);
	CHECK_EQ_INT((int)np.fresh, 1);
	netns_pool_close(&np);
	CHECK_EQ_INT(netns_pool_fd(&np, a), -1);
	CHECK_EQ_INT(netns_pool_take(&np, &e), -1);
	netns_pool_close(&np);                     /* twice is harmless */

	netns_pool_init(&np, 0);                   /* no slots: always fresh */
	CHECK_EQ_INT(netns_pool_take(&np, &e), -1);
	CHECK_EQ_INT(e, 0);
}

static void
test_wanted(void)
{
	struct sandbox_policy p;
	struct sandbox_probe pr;

	sandbox_policy_init_default(&p);
	sandbox_probe_quick(&pr);
	CHECK(pr.namespaces);
	CHECK(sandbox_netns_joinable(&p, &pr));         /* root, uid 65534, restricted */
	p.uid = 0;
	CHECK(!sandbox_netns_joinable(&p, &pr));
	p.uid = 65534;
	p.network = SANDBOX_NET_FULL;
	CHECK(!sandbox_netns_joinable(&p, &pr));
	p.network = SANDBOX_NET_NONE;
	CHECK(sandbox_netns_joinable(&p, &pr));
	p.namespaces = SANDBOX_NS_OFF;
	CHECK(!sandbox_netns_joinable(&p, &pr));
	p.namespaces = SANDBOX_NS_AUTO;
	CHECK(sandbox_netns_joinable(&p, &pr));
	/* a plugin that may create sockets could leave state behind */
	{
		char err[SANDBOX_ERR_LEN];

		/* the default allowlist leaves socket out: a denylist instead */
		CHECK_EQ_INT(sandbox_policy_set(&p, "allowed_syscalls=", err), 0);
		CHECK_EQ_INT(sandbox_policy_set(&p, "blocked_syscalls=exec", err), 0);
		CHECK(!sandbox_netns_joinable(&p, &pr));
		CHECK_EQ_INT(sandbox_policy_set(&p, "blocked_syscalls=exec,socket", err), 0);
		CHECK(sandbox_netns_joinable(&p, &pr));
	}
	sandbox_policy_free(&p);
}

/*
 * Start /bin/sh -c 'read x' under the default policy changed by `uid` and
 * `network`, with `netns_fd`; while it waits on stdin, record the inode of
 * its /proc/PID/ns/net; then let it end.  Returns 0 and fills the outputs,
 * or -1.
 */
static int
run_sh(uid_t uid, enum sandbox_net network, int netns_fd, ino_t *ino, struct sandbox_layers *lay,
    char *netns_json, size_t cap)
{
	char *argv[] = { "/bin/sh", "-c", "read x", NULL };
	char err[SANDBOX_ERR_LEN] = "", path[64];
	struct sandbox_policy p;
	struct sandbox_probe pr;
	struct sandbox_filter f;
	struct sandbox_run r;
	int in[2], rc = -1;
	cJSON *res;

	sandbox_policy_init_default(&p);
	CHECK_EQ_INT(sandbox_policy_set(&p, "filesystem_access=/tmp,/bin:ro,/usr:ro,/lib:ro,/lib64:ro",
	    err), 0);
	CHECK_EQ_INT(sandbox_policy_set(&p, "allowed_syscalls=", err), 0);
	CHECK_EQ_INT(sandbox_policy_set(&p, "blocked_syscalls=exec,socket", err), 0);
	CHECK_EQ_INT(sandbox_policy_set(&p, "wall_timeout=10s", err), 0);
	p.uid = uid;
	p.gid = uid;
	p.network = network;
	sandbox_probe_quick(&pr);
	CHECK_EQ_INT(sandbox_filter_build(&p, pr.seccomp_user_notif, &f, err), 0);
	CHECK_EQ_INT(pipe2(in, O_CLOEXEC), 0);
	if (sandbox_run_start_netns(&r, &p, &f, &pr, argv[0], -1, netns_fd, argv, in[0], NULL, -1, -1,
	    err) != 0) {
		printf("  spawn failed: %s\n", err);
		close(in[0]);
		close(in[1]);
		goto out;
	}
	close(in[0]);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)r.c.pid);
	*ino = ino_of_path(path);
	*lay = r.c.layers;
	close(in[1]);                              /* EOF: `read` returns, sh exits */
	sandbox_run_wait(&r);
	CHECK_EQ_INT(r.exit_code, 1);              /* read at EOF fails */
	res = sandbox_run_result(&r);
	{
		const char *v = res ? cJSON_GetStringValue(cJSON_GetObjectItem(
		    cJSON_GetObjectItem(res, "layers"), "netns")) : NULL;

		snprintf(netns_json, cap, "%s", v ? v : "");
	}
	cJSON_Delete(res);
	sandbox_run_free(&r);
	rc = 0;
out:
	sandbox_filter_free(&f);
	sandbox_policy_free(&p);
	return rc;
}

static void
test_run_joins(void)
{
	struct sandbox_layers lay;
	char what[16];
	ino_t ino = 0, ino2 = 0;
	int fd = netns_create();

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	/* plugin uid 65534, restricted: joins */
	CHECK_EQ_INT(run_sh(65534, SANDBOX_NET_RESTRICTED, fd, &ino, &lay, what, sizeof(what)), 0);
	CHECK(ino != 0 && ino == ino_of_fd(fd));
	CHECK(lay.netns_reused);
	CHECK(lay.namespaces & SANDBOX_NS_NET);
	CHECK(lay.namespaces & SANDBOX_NS_PID);
	CHECK_EQ_STR(what, "reused");
	/* and again: the same namespace, for the next run */
	CHECK_EQ_INT(run_sh(65534, SANDBOX_NET_NONE, fd, &ino2, &lay, what, sizeof(what)), 0);
	CHECK(ino2 == ino_of_fd(fd));
	CHECK(lay.netns_reused);

	/* plugin uid 0: a fresh namespace, neither the pool's nor the host's */
	CHECK_EQ_INT(run_sh(0, SANDBOX_NET_RESTRICTED, fd, &ino, &lay, what, sizeof(what)), 0);
	CHECK(ino != 0 && ino != ino_of_fd(fd) && ino != ino_of_path("/proc/self/ns/net"));
	CHECK(!lay.netns_reused);
	CHECK(lay.namespaces & SANDBOX_NS_NET);
	CHECK_EQ_STR(what, "fresh");

	/* network full: the host's, the descriptor ignored */
	CHECK_EQ_INT(run_sh(65534, SANDBOX_NET_FULL, fd, &ino, &lay, what, sizeof(what)), 0);
	CHECK(ino == ino_of_path("/proc/self/ns/net"));
	CHECK(!lay.netns_reused);
	CHECK(!(lay.namespaces & SANDBOX_NS_NET));
	CHECK_EQ_STR(what, "host");

	/* no descriptor: fresh, as before the pool existed */
	CHECK_EQ_INT(run_sh(65534, SANDBOX_NET_RESTRICTED, -1, &ino, &lay, what, sizeof(what)), 0);
	CHECK(ino != 0 && ino != ino_of_fd(fd));
	CHECK(!lay.netns_reused);
	CHECK_EQ_STR(what, "fresh");
	close(fd);
}

/* Unprivileged: the pool cannot be built, says so once, and is not
 * wanted.  Returns a bit mask of what went wrong (0 = all as expected). */
static int
unprivileged_checks(void)
{
	struct netns_pool np;
	struct sandbox_policy p;
	struct sandbox_probe pr;
	int e, code = 0;

	if (netns_create() != -EPERM)
		code |= 1;
	netns_pool_init(&np, 2);
	if (netns_pool_take(&np, &e) != -1 || e != -EPERM || !np.unavailable)
		code |= 2;
	if (netns_pool_take(&np, &e) != -1 || e != 0)   /* reported once, not retried */
		code |= 4;
	sandbox_policy_init_default(&p);
	sandbox_probe_quick(&pr);
	if (sandbox_netns_joinable(&p, &pr))
		code |= 8;
	sandbox_policy_free(&p);
	netns_pool_close(&np);
	return code;
}

/* As root: the same checks in a child that dropped to nobody. */
static void
test_unprivileged(void)
{
	pid_t pid;
	int st = 0;

	if (geteuid() != 0) {
		CHECK_EQ_INT(unprivileged_checks(), 0);
		return;
	}
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
		    setresuid(65534, 65534, 65534) != 0)
			_exit(90);
		_exit(unprivileged_checks());
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WEXITSTATUS(st), 0);
}

int
main(void)
{
	/* Creating namespaces and joining them needs root; started
	 * unprivileged, only what must fail there is checked. */
	if (geteuid() == 0) {
		RUN(test_create);
		RUN(test_take_put);
		RUN(test_wanted);
		RUN(test_run_joins);
	}
	RUN(test_unprivileged);
	return HARNESS_EXIT();
}

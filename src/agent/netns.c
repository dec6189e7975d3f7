/* see netns.h */
#include "agent/netns.h"
#include "sandbox/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exit statuses of the creating child when it cannot stop for us. */
#define NETNS_CHILD_NO_LO 3
#define NETNS_CHILD_SETUP 4

void
netns_pool_init(struct netns_pool *np, size_t size)
{
	size_t i;

	memset(np, 0, sizeof(*np));
	np->size = size < NETNS_POOL_MAX ? size : NETNS_POOL_MAX;
	for (i = 0; i < NETNS_POOL_MAX; i++)
		np->fd[i] = -1;
}

static pid_t
reap(pid_t pid, int *status, int flags)
{
	pid_t w;

	do
		w = waitpid(pid, status, flags | __WALL);
	while (w < 0 && errno == EINTR);
	return w;
}

int
netns_create(void)
{
	char path[64];
	int status = 0, fd = -1, err;
	long pid;

	/* A raw clone straight into a new network namespace: the spawner
	 * itself never leaves the host's (it may start network_access: full
	 * jobs at the same time), and nothing can be left half-switched. */
	pid = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
			_exit(NETNS_CHILD_SETUP);
		if (sandbox_loopback_up() != 0)
			_exit(NETNS_CHILD_NO_LO);
		/* Stopped, it still holds the namespace for our open below;
		 * a zombie would not (its namespaces are gone at exit). */
		(void)syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);
		_exit(NETNS_CHILD_SETUP);
	}
	if (reap((pid_t)pid, &status, WUNTRACED) != (pid_t)pid) {
		err = -errno;
		(void)kill((pid_t)pid, SIGKILL);
		(void)reap((pid_t)pid, NULL, 0);
		return err;
	}
	if (!WIFSTOPPED(status))
		return WIFEXITED(status) && WEXITSTATUS(status) == NETNS_CHILD_NO_LO ? -ENETDOWN : -ECHILD;
	snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	(void)kill((pid_t)pid, SIGKILL);
	(void)reap((pid_t)pid, NULL, 0);
	return fd >= 0 ? fd : err;
}

int
netns_pool_take(struct netns_pool *np, int *create_err)
{
	size_t i;
	int fd;

	*create_err = 0;
	if (np->unavailable) {
		np->fresh++;
		return -1;
	}
	/* A slot whose namespace exists first: creating one costs what the
	 * pool saves. */
	for (i = 0; i < np->size; i++)
		if (!np->busy[i] && np->fd[i] >= 0) {
			np->busy[i] = true;
			np->taken++;
			return (int)i;
		}
	for (i = 0; i < np->size; i++)
		if (!np->busy[i] && np->fd[i] < 0)
			break;
	if (i == np->size) {
		np->fresh++;
		return -1;
	}
	fd = netns_create();
	if (fd < 0) {
		/* Not retried: the reason (no privilege, a kernel without
		 * network namespaces, a seccomp/LSM denial) will not go away,
		 * and every job would pay the attempt. */
		np->unavailable = true;
		*create_err = fd;
		np->fresh++;
		return -1;
	}
	np->fd[i] = fd;
	np->busy[i] = true;
	np->created++;
	np->taken++;
	return (int)i;
}

int
netns_pool_fd(const struct netns_pool *np, int slot)
{
	if (slot < 0 || (size_t)slot >= np->size)
		return -1;
	return np->fd[slot];
}

void
netns_pool_put(struct netns_pool *np, int slot)
{
	if (slot >= 0 && (size_t)slot < np->size)
		np->busy[slot] = false;
}

void
netns_pool_close(struct netns_pool *np)
{
	size_t i;

	for (i = 0; i < NETNS_POOL_MAX; i++) {
		if (np->fd[i] >= 0)
			close(np->fd[i]);
		np->fd[i] = -1;
		np->busy[i] = false;
	}
	np->unavailable = true;
}

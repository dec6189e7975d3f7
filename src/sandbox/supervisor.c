/* see supervisor.h */
#include "sandbox/supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/timefmt.h"
#include "sandbox/landlock.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* Tick of the duty cycle (fine enough for +-5% over seconds) and of the
 * plain samplers. */
#define TICK_CPU_NS (10 * 1000 * 1000)
#define TICK_IDLE_NS (100 * 1000 * 1000)
/* The duty cycle lets the plugin run ahead of its share by this much before
 * stopping it, so short bursts are not chopped into 10 ms slices. */
#define CPU_BURST_NS (20 * 1000 * 1000)
/* VmPeak this close to memory_limit means an allocation hit the rlimit. */
#define MEM_NEAR_PERCENT 95
#define STATUS_MAX 8192
/* Processes the duty cycle follows per run (a sandbox that allows fork has
 * at most max_processes; beyond this cap the rest are still in the process
 * group and the pid namespace). */
#define TREE_MAX 512
/* Bytes read from one /proc/PID/task/TID/children file. */
#define CHILDREN_MAX 4096

enum { TAG_PIDFD = 1, TAG_NOTIFY, TAG_OUT, TAG_ERR, TAG_TIMER };

static const char *const limit_names[SANDBOX_N_LIMITS] = {
	"memory", "cpu_time", "wall_time", "file_size", "processes", "output", "open_files",
	"violations",
};

const char *
sandbox_limit_name(unsigned bit)
{
	unsigned i;

	for (i = 0; i < SANDBOX_N_LIMITS; i++)
		if (bit == 1u << i)
			return limit_names[i];
	return "?";
}

static void
emit(struct sandbox_run *r, const char *name, cJSON *details)
{
	if (r->log == NULL) {
		cJSON_Delete(details);
		return;
	}
	event_emit(r->log, EVENT_WARN, name, details);
}

static uint64_t plugin_cpu_ns(pid_t pid);
static uint64_t status_kb(pid_t pid, const char *key);

/* Append the children of every task of `pid` to tree[*n..cap). */
static void
tree_children(pid_t pid, pid_t *tree, size_t *n, size_t cap)
{
	char path[300], buf[CHILDREN_MAX];
	struct dirent *e;
	DIR *d;
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL && *n < cap) {
		char *s, *end;
		long v;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/children", e->d_name);
		fd = openat(dirfd(d), path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		got = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (got <= 0)
			continue;
		buf[got] = '\0';
		for (s = buf; *n < cap; s = end) {
			errno = 0;
			v = strtol(s, &end, 10);
			if (end == s || errno != 0)
				break;
			if (v > 0 && v <= INT32_MAX)
				tree[(*n)++] = (pid_t)v;
		}
	}
	closedir(d);
}

/*
 * Every process of the sandbox: our direct child and, recursively, its
 * children (parent links, not the process group: a child that called
 * setsid(2) is still in the tree, and under a pid namespace orphans are
 * re-parented to our init, so they stay in it too).  Returns the count.
 */
static size_t
sandbox_tree(const struct sandbox_run *r, pid_t *tree, size_t cap)
{
	size_t n = 0, i;

	if (r->c.init_pid <= 0 || cap == 0)
		return 0;
	tree[n++] = r->c.init_pid;
	for (i = 0; i < n && n < cap; i++)
		tree_children(tree[i], tree, &n, cap);
	return n;
}

/* CPU of reaped children, from /proc/PID/stat (cutime + cstime, in clock
 * ticks): what processes of the sandbox that already exited used. */
static uint64_t
reaped_cpu_ns(pid_t pid)
{
	char path[64], buf[1024], *rp;
	unsigned long long cu = 0, cs = 0;
	ssize_t n;
	long hz = sysconf(_SC_CLK_TCK);
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || hz <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17)":
	 * comm may hold anything, so count from the last ')'. */
	rp = strrchr(buf, ')');
	if (rp == NULL || sscanf(rp + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %llu %llu",
	    &cu, &cs) != 2)
		return 0;
	return (cu + cs) * (1000000000ull / (unsigned long long)hz);
}

/* CPU used by the whole sandbox (when it may fork) or by the plugin. */
static uint64_t
sandbox_cpu_ns(const struct sandbox_run *r)
{
	pid_t tree[TREE_MAX];
	uint64_t sum = 0;
	size_t n, i;

	if (!r->fork_allowed)
		return plugin_cpu_ns(r->c.pid);
	n = sandbox_tree(r, tree, TREE_MAX);
	for (i = 0; i < n; i++)
		sum += plugin_cpu_ns(tree[i]) + reaped_cpu_ns(tree[i]);
	return sum;
}

/* Signal every process of the sandbox: the process group at once, then each
 * process of the tree (those that left the group with setsid). */
static void
signal_sandbox(const struct sandbox_run *r, int sig)
{
	pid_t tree[TREE_MAX];
	size_t n, i;

	(void)kill(-r->c.init_pid, sig);
	if (!r->fork_allowed)
		return;
	n = sandbox_tree(r, tree, TREE_MAX);
	for (i = 1; i < n; i++)
		(void)kill(tree[i], sig);
}

/* Remember CPU time and peak RSS while the plugin exists: when a pid
 * namespace init is killed, nobody waits for the plugin to report them. */
static void
sample_usage(struct sandbox_run *r)
{
	uint64_t cpu = sandbox_cpu_ns(r), hwm = status_kb(r->c.pid, "VmHWM:");

	if (cpu > r->cpu_ns)
		r->cpu_ns = cpu;
	if (hwm > r->hwm_kb)
		r->hwm_kb = hwm;
}

void
sandbox_run_kill(struct sandbox_run *r)
{
	if (r->c.init_pid <= 0 || r->done)
		return;
	sample_usage(r);
	/* The whole session's process group (the plugin is its leader) and
	 * any process of the tree that left it, then the plugin itself
	 * through its pidfd (immune to pid reuse). */
	signal_sandbox(r, SIGKILL);
	if (r->c.pidfd >= 0)
		(void)syscall(SYS_pidfd_send_signal, r->c.pidfd, SIGKILL, NULL, 0);
	r->killed = true;
}

/* Record a limit hit (one event per limit per run) and optionally kill. */
static void
limit_hit(struct sandbox_run *r, unsigned bit, uint64_t max, const char *extra_key,
    uint64_t extra, bool kill_it)
{
	cJSON *d;

	if (!(r->limits_hit & bit)) {
		r->limits_hit |= bit;
		d = cJSON_CreateObject();
		if (d != NULL) {
			cJSON_AddStringToObject(d, "limit", sandbox_limit_name(bit));
			cJSON_AddStringToObject(d, "plugin", r->plugin);
			cJSON_AddNumberToObject(d, "pid", r->c.pid);
			cJSON_AddNumberToObject(d, "max", (double)max);
			if (extra_key != NULL)
				cJSON_AddNumberToObject(d, extra_key, (double)extra);
		}
		emit(r, "resource_limit_exceeded", d);
	}
	if (kill_it)
		sandbox_run_kill(r);
}

static void
count_violation(struct sandbox_run *r)
{
	r->violations++;
	if (r->p->max_violations != 0 && r->violations >= r->p->max_violations)
		limit_hit(r, SANDBOX_LIMIT_VIOLATIONS, r->p->max_violations, "violations",
		    r->violations, true);
}

/* A /proc file of the plugin's main process, opened once per run (the
 * notification path is hot: see docs/sandbox.md, "Cost"); other tasks get
 * a fresh descriptor.  Returns a descriptor and whether the caller closes
 * it. */
static int
proc_fd(struct sandbox_run *r, pid_t pid, const char *what, int flags, int *cache, bool *owned)
{
	char path[64];

	*owned = false;
	if (pid == r->c.pid && *cache >= 0)
		return *cache;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	if (pid == r->c.pid) {
		*cache = open(path, flags | O_CLOEXEC);
		return *cache;
	}
	*owned = true;
	return open(path, flags | O_CLOEXEC);
}

/* Read a NUL-terminated string of the stopped caller from its memory, page
 * by page (a string may end right before an unmapped page). */
static int
read_remote_string(struct sandbox_run *r, pid_t pid, uint64_t addr, char *out, size_t cap)
{
	int fd, ret = -EFAULT, attempt;
	bool owned;

	/* A second attempt with a fresh descriptor when the cached one fails:
	 * it may belong to an address space an exec replaced. */
	for (attempt = 0; attempt < 2 && ret != 0; attempt++) {
		size_t got = 0;

		fd = proc_fd(r, pid, "mem", O_RDONLY, &r->mem_fd, &owned);
		if (fd < 0)
			return -errno;
		while (got < cap - 1) {
			size_t chunk = 4096 - ((addr + got) % 4096);
			ssize_t n;

			if (chunk > cap - 1 - got)
				chunk = cap - 1 - got;
			n = pread(fd, out + got, chunk, (off_t)(addr + got));
			if (n <= 0)
				break;
			if (memchr(out + got, '\0', (size_t)n) != NULL) {
				ret = 0;
				break;
			}
			got += (size_t)n;
		}
		if (owned) {
			close(fd);
			break; /* a fresh descriptor already */
		}
		if (ret != 0) {
			close(r->mem_fd);
			r->mem_fd = -1;
		}
	}
	out[cap - 1] = '\0';
	return ret;
}

/* Collapse "//", "/./" and "/../" in an absolute path, in place. */
static void
normalise(char *path)
{
	char *src = path, *dst = path;

	while (*src != '\0') {
		if (src[0] == '/' && src[1] == '/') {
			src++;
		} else if (src[0] == '/' && src[1] == '.' && (src[2] == '/' || src[2] == '\0')) {
			src += 2;
		} else if (src[0] == '/' && src[1] == '.' && src[2] == '.' &&
		    (src[3] == '/' || src[3] == '\0')) {
			src += 3;
			while (dst > path && *--dst != '/')
				;
		} else {
			*dst++ = *src++;
		}
	}
	if (dst == path)
		*dst++ = '/';
	*dst = '\0';
}

/* Symlinks followed while resolving one reported path (as the kernel's
 * MAXSYMLINKS). */
#define RESOLVE_MAX_LINKS 40

/* Open `rel` (a relative path without symlinks, "" = the root itself) below
 * `rootfd`, one component at a time with O_NOFOLLOW: nothing the plugin
 * links can lead the walk out of its root.  Returns an O_PATH fd or -errno. */
static int
open_in_root(int rootfd, const char *rel)
{
	char comp[NAME_MAX + 1];
	const char *s = rel, *e;
	int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0), next;

	while (fd >= 0 && *s != '\0') {
		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		if ((size_t)(e - s) > NAME_MAX) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, s, (size_t)(e - s));
		comp[e - s] = '\0';
		next = openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		s = *e == '/' ? e + 1 : e;
	}
	return fd >= 0 ? fd : -errno;
}

/* Drop the last component of `cur` (length *len). */
static void
cur_pop(char *cur, size_t *len)
{
	char *slash = strrchr(cur, '/');

	*len = slash != NULL ? (size_t)(slash - cur) : 0;
	cur[*len] = '\0';
}

/*
 * Resolve `in` (absolute, in the plugin's view) the way the kernel would
 * for the plugin: symlinks are read (never followed by us) and resolved
 * against the plugin's own root, /proc/PID/root, so that a link in the
 * job's private /tmp pointing at /etc/passwd is reported as /etc/passwd,
 * and nothing the plugin creates can make us look at our own files.  The
 * walk holds a descriptor of the directory resolved so far (`cur`, which
 * holds no symlink) and opens one component at a time with O_NOFOLLOW; the
 * first missing component ends it (the rest is appended lexically).  For
 * reporting only: the plugin may change the tree meanwhile, Landlock
 * decides the access.  Writes the path (plugin's view) to `out`.
 */
static void
resolve_in_root(int rootfd, const char *in, char out[PATH_MAX])
{
	char rest[2 * PATH_MAX + 2], cur[PATH_MAX], target[PATH_MAX], tmp[2 * PATH_MAX + 2];
	char comp[NAME_MAX + 1];
	size_t curlen = 0, len;
	int links = 0, curfd, next;
	struct stat st;
	ssize_t n;

	len = strnlen(in, sizeof(rest) - 1);
	memcpy(rest, in, len);
	rest[len] = '\0';
	cur[0] = '\0';
	curfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	while (curfd >= 0 && rest[0] != '\0') {
		char *s = rest;
		size_t cl;

		while (*s == '/')
			s++;
		cl = strcspn(s, "/");
		if (cl == 0) {
			rest[0] = '\0';
			break;
		}
		if (cl == 1 && s[0] == '.') {
			memmove(rest, s + 1, strlen(s + 1) + 1);
			continue;
		}
		if (cl == 2 && s[0] == '.' && s[1] == '.') {
			/* `cur` holds no symlink: its lexical parent is the real
			 * one; ".." at the root stays at the root. */
			cur_pop(cur, &curlen);
			memmove(rest, s + 2, strlen(s + 2) + 1);
			close(curfd);
			curfd = open_in_root(rootfd, cur);
			continue;
		}
		if (cl > NAME_MAX || curlen + 1 + cl >= sizeof(cur))
			break;
		memcpy(comp, s, cl);
		comp[cl] = '\0';
		next = openat(curfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			break; /* missing (or unreadable): the rest is lexical */
		if (curlen > 0)
			cur[curlen++] = '/';
		memcpy(cur + curlen, comp, cl + 1);
		curlen += cl;
		memmove(rest, s + cl, strlen(s + cl) + 1);
		if (fstatat(next, "", &st, AT_EMPTY_PATH) != 0 || !S_ISLNK(st.st_mode)) {
			close(curfd);
			curfd = next;
			continue;
		}
		n = readlinkat(next, "", target, sizeof(target) - 1);
		close(next);
		if (n <= 0 || ++links > RESOLVE_MAX_LINKS)
			break; /* the kernel fails this lookup too (ELOOP) */
		target[n] = '\0';
		/* The link is not part of the result: its target replaces it,
		 * from the root when absolute, else from the link's directory
		 * (still curfd). */
		cur_pop(cur, &curlen);
		if (target[0] == '/') {
			curlen = 0;
			cur[0] = '\0';
			close(curfd);
			curfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
		}
		if (snprintf(tmp, sizeof(tmp), "%s%s%s", target, rest[0] != '\0' ? "/" : "", rest) >=
		    (int)sizeof(tmp))
			break;
		memcpy(rest, tmp, strlen(tmp) + 1);
	}
	if (curfd >= 0)
		close(curfd);
	snprintf(tmp, sizeof(tmp), "/%s/%s", cur, rest);
	normalise(tmp);
	len = strnlen(tmp, PATH_MAX - 1);
	while (len > 1 && tmp[len - 1] == '/')
		len--; /* "/etc/passwd/" and "/etc/passwd" name one file */
	memcpy(out, tmp, len);
	out[len] = '\0';
}

/* Path to report for `in` (absolute, plugin's view) of task `pid`.  The
 * plugin's root is opened once per run (it cannot change: chroot,
 * pivot_root and setns are always denied); other tasks' per call. */
static void
resolve_for_report(struct sandbox_run *r, pid_t pid, const char *in, char out[PATH_MAX])
{
	char tmp[2 * PATH_MAX + 2];
	size_t len = strnlen(in, sizeof(tmp) - 1);
	bool owned;
	int rootfd;

	memcpy(tmp, in, len);
	tmp[len] = '\0';
	normalise(tmp);
	/* /proc/self and friends name the *reader*: keep /proc paths as the
	 * plugin wrote them. */
	if (strncmp(tmp, "/proc/", 6) == 0 || strcmp(tmp, "/proc") == 0)
		goto lexical;
	rootfd = proc_fd(r, pid, "root", O_PATH | O_DIRECTORY, &r->root_fd, &owned);
	if (rootfd < 0)
		goto lexical;
	resolve_in_root(rootfd, tmp, out);
	if (owned)
		close(rootfd);
	return;
lexical:
	len = strnlen(tmp, PATH_MAX - 1);
	memcpy(out, tmp, len);
	out[len] = '\0';
}

/* Entries of /proc/PID/fd, read with getdents64 on a (cached) directory
 * descriptor: no allocation, no reopening per notification. */
static unsigned
count_fds(struct sandbox_run *r, pid_t pid)
{
	char buf[4096];
	unsigned n = 0;
	bool owned;
	long got;
	int fd = proc_fd(r, pid, "fd", O_RDONLY | O_DIRECTORY, &r->fddir_fd, &owned);

	if (fd < 0)
		return 0;
	if (lseek(fd, 0, SEEK_SET) == 0) {
		while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
			long off = 0;

			while (off < got) {
				unsigned short reclen;
				const char *name = buf + off + 19; /* d_ino, d_off, d_reclen, d_type */

				memcpy(&reclen, buf + off + 16, sizeof(reclen));
				if (reclen == 0)
					break;
				if (name[0] != '.')
					n++;
				off += reclen;
			}
		}
	}
	if (owned)
		close(fd);
	return n;
}

static void
check_open_files(struct sandbox_run *r, pid_t pid)
{
	if (r->p->max_open_files == 0)
		return;
	/* All slots taken: the call being checked will fail with EMFILE. */
	if (count_fds(r, pid) >= r->p->max_open_files)
		limit_hit(r, SANDBOX_LIMIT_OPEN_FILES, r->p->max_open_files, NULL, 0, false);
}

/* One path argument of a reported call. */
struct fs_arg {
	int dirfd;
	uint64_t addr;
	const char *access;          /* "read", "write", "link" */
	bool write;
};

/* Read, resolve and check one path argument.  Returns true if it lies
 * outside the policy, or cannot be read from a caller that is still waiting
 * (fail closed: a plugin that hides its memory from us must not also hide
 * its filesystem accesses), and reports it; false if inside, or if the
 * caller is gone. */
static bool
check_fs_arg(struct sandbox_run *r, const struct seccomp_notif *req, const struct fs_arg *a)
{
	char raw[PATH_MAX], base[PATH_MAX], full[2 * PATH_MAX + 2], real[PATH_MAX], link[64], name[32];
	const char *why = NULL;
	ssize_t n;
	cJSON *d;

	if (read_remote_string(r, (pid_t)req->pid, a->addr, raw, sizeof(raw)) != 0) {
		snprintf(raw, sizeof(raw), "?");
		why = "path unreadable in the plugin's memory";
	}
	/* Only now is the pid known to still be the caller (not reused). */
	if (ioctl(r->c.notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) != 0)
		return false;
	if (why != NULL) {
		snprintf(real, sizeof(real), "?");
	} else if (raw[0] == '/') {
		snprintf(full, sizeof(full), "%s", raw);
	} else {
		if (a->dirfd == AT_FDCWD)
			snprintf(link, sizeof(link), "/proc/%d/cwd", (int)req->pid);
		else
			snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)req->pid, a->dirfd);
		/* The base directory's path in the plugin's view: the kernel
		 * renders it from the plugin's mount namespace root when ours
		 * cannot reach it.  Anything but a path (a socket, a pipe, no
		 * such descriptor) is not a directory: the kernel fails it. */
		n = readlink(link, base, sizeof(base) - 1);
		if (n > 0 && base[0] != '/')
			return false;
		if (n <= 0) {
			if (errno == ENOENT)
				return false; /* no such descriptor: EBADF from the kernel */
			why = "working directory unreadable";
			snprintf(real, sizeof(real), "%s", raw);
		} else {
			base[n] = '\0';
			snprintf(full, sizeof(full), "%s/%s", base, raw);
		}
	}
	if (why == NULL) {
		resolve_for_report(r, (pid_t)req->pid, full, real);
		if (sandbox_landlock_path_allowed(r->p, r->c.program, real, a->write))
			return false;
	}
	d = cJSON_CreateObject();
	sandbox_syscall_name(req->data.nr, name, sizeof(name));
	if (d != NULL) {
		cJSON_AddStringToObject(d, "path", real);
		if (strcmp(real, raw) != 0)
			cJSON_AddStringToObject(d, "requested", raw);
		cJSON_AddStringToObject(d, "syscall", name);
		cJSON_AddStringToObject(d, "plugin", r->plugin);
		cJSON_AddNumberToObject(d, "pid", req->pid);
		cJSON_AddStringToObject(d, "access", a->access);
		if (why != NULL)
			cJSON_AddStringToObject(d, "reason", why);
	}
	emit(r, "unauthorized_filesystem_access", d);
	return true;
}

static bool
flags_write(uint64_t flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
}

static void
handle_fs_report(struct sandbox_run *r, const struct seccomp_notif *req,
    struct seccomp_notif_resp *resp)
{
	const uint64_t *a = (const uint64_t *)req->data.args;
	struct fs_arg args[2];
	int nr = req->data.nr, n = 0, i;
	uint64_t flags = 0;
	bool outside = false;

	memset(args, 0, sizeof(args));
	switch (nr) {
	case SYS_open:
		args[n++] = (struct fs_arg){ AT_FDCWD, a[0], flags_write(a[1]) ? "write" : "read", flags_write(a[1]) };
		break;
	case SYS_creat:
		args[n++] = (struct fs_arg){ AT_FDCWD, a[0], "write", true };
		break;
	case SYS_openat:
		args[n++] = (struct fs_arg){ (int)a[0], a[1], flags_write(a[2]) ? "write" : "read", flags_write(a[2]) };
		break;
	case SYS_link:
		args[n++] = (struct fs_arg){ AT_FDCWD, a[0], "link", false };
		args[n++] = (struct fs_arg){ AT_FDCWD, a[1], "write", true };
		break;
	case SYS_linkat:
		args[n++] = (struct fs_arg){ (int)a[0], a[1], "link", false };
		args[n++] = (struct fs_arg){ (int)a[2], a[3], "write", true };
		break;
	case SYS_rename:
		args[n++] = (struct fs_arg){ AT_FDCWD, a[0], "write", true };
		args[n++] = (struct fs_arg){ AT_FDCWD, a[1], "write", true };
		break;
	case SYS_renameat:
	case SYS_renameat2:
		args[n++] = (struct fs_arg){ (int)a[0], a[1], "write", true };
		args[n++] = (struct fs_arg){ (int)a[2], a[3], "write", true };
		break;
	default: {
		/* openat2: struct open_how starts with the u64 flags. */
		char p2[64];
		int fd;

		snprintf(p2, sizeof(p2), "/proc/%d/mem", (int)req->pid);
		fd = open(p2, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (pread(fd, &flags, sizeof(flags), (off_t)a[2]) != (ssize_t)sizeof(flags))
				flags = 0;
			close(fd);
		}
		args[n++] = (struct fs_arg){ (int)a[0], a[1], flags_write(flags) ? "write" : "read", flags_write(flags) };
		break;
	}
	}
	if (nr != SYS_link && nr != SYS_linkat && nr != SYS_rename && nr != SYS_renameat &&
	    nr != SYS_renameat2)
		check_open_files(r, (pid_t)req->pid);
	for (i = 0; i < n; i++)
		if (check_fs_arg(r, req, &args[i]))
			outside = true;
	if (!outside) {
		/* Approves nothing: Landlock still checks the actual access. */
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		return;
	}
	resp->error = -EPERM;
	count_violation(r);
}

/* Processes in the plugin's session (ours to limit) and of its uid (what
 * RLIMIT_NPROC counts), in one pass over /proc. */
static void
count_processes(const struct sandbox_run *r, unsigned *in_session, unsigned *of_uid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	struct stat st;
	char path[300], buf[512], *rp;
	int fd, sid;
	ssize_t n;

	*in_session = *of_uid = 0;
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, 0) != 0 || st.st_uid != r->c.uid)
			continue;
		(*of_uid)++;
		snprintf(path, sizeof(path), "%s/stat", e->d_name);
		fd = openat(dirfd(d), path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* "pid (comm) state ppid pgrp session ...": comm may hold
		 * anything, so parse after the last ')'. */
		rp = strrchr(buf, ')');
		if (rp != NULL && sscanf(rp + 1, " %*c %*d %*d %d", &sid) == 1 && sid == r->c.init_pid)
			(*in_session)++;
	}
	closedir(d);
}

static void
report_syscall(struct sandbox_run *r, const struct seccomp_notif *req, const char *name,
    const char *action)
{
	cJSON *d = cJSON_CreateObject();

	if (d != NULL) {
		cJSON_AddStringToObject(d, "syscall", name);
		cJSON_AddNumberToObject(d, "nr", req->data.nr);
		cJSON_AddStringToObject(d, "plugin", r->plugin);
		cJSON_AddNumberToObject(d, "pid", req->pid);
		cJSON_AddStringToObject(d, "action", action);
		if (req->data.arch != AUDIT_ARCH_X86_64 || (req->data.nr & 0x40000000))
			cJSON_AddStringToObject(d, "arch",
			    req->data.arch == AUDIT_ARCH_I386 ? "i386" :
			    req->data.arch == AUDIT_ARCH_X86_64 ? "x32" : "other");
	}
	emit(r, "blocked_syscall_attempt", d);
}

static void
foreign_name(const struct seccomp_data *d, char *out, size_t len)
{
	uint32_t arch = d->arch == AUDIT_ARCH_I386 ? SCMP_ARCH_X86 :
	    d->arch == AUDIT_ARCH_X86_64 ? SCMP_ARCH_X32 : 0;
	char *n = arch != 0 ? seccomp_syscall_resolve_num_arch(arch, d->nr) : NULL;

	snprintf(out, len, "%s", n != NULL ? n : "unknown");
	free(n);
}

static void
handle_notification(struct sandbox_run *r)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	enum sandbox_notif_kind kind;
	char name[32];
	unsigned sess, uidn;

	memset(&req, 0, sizeof(req));
	if (ioctl(r->c.notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0)
		return; /* ENOENT: the caller died meanwhile */
	memset(&resp, 0, sizeof(resp));
	resp.id = req.id;
	kind = sandbox_filter_classify(r->p, &req.data);
	if (kind == SANDBOX_NOTIF_SESSION)
		/* Register arguments only.  Without a pid namespace a process
		 * that leaves the process group (setsid, then an orphan) would
		 * escape the duty cycle and the final kill. */
		kind = r->c.layers.namespaces & SANDBOX_NS_PID ? SANDBOX_NOTIF_ALLOWED :
		    SANDBOX_NOTIF_VIOLATION;
	switch (kind) {
	case SANDBOX_NOTIF_FOREIGN_ARCH:
		/* A second syscall table is kernel attack surface we never
		 * evaluate: always kill, whatever on_violation says. */
		foreign_name(&req.data, name, sizeof(name));
		report_syscall(r, &req, name, "kill");
		r->violations++;
		sandbox_run_kill(r);
		return;
	case SANDBOX_NOTIF_ALLOWED:
		/* Decided on register values only (prctl option, ioctl command,
		 * persona): nothing the plugin can change after the check. */
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		break;
	case SANDBOX_NOTIF_EXEC:
		/* The policy allows exec: the decision does not look at the
		 * pointer arguments, and Landlock checks the file. */
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		/* /proc/PID/mem is bound to the address space it was opened
		 * on: after an exec the cached descriptor would read the old
		 * one.  Whichever thread execs (a non-leader thread takes over
		 * the leader's pid), the process's address space changes. */
		if (r->mem_fd >= 0) {
			close(r->mem_fd);
			r->mem_fd = -1;
		}
		break;
	case SANDBOX_NOTIF_CLONE3:
		/* Reported as an attempt to create a process; ENOSYS (not EPERM)
		 * so that a libc creating a *thread* falls back to clone, which
		 * the filter can judge.  Not counted: it may be a thread. */
		report_syscall(r, &req, "clone3", "deny");
		resp.error = -ENOSYS;
		break;
	case SANDBOX_NOTIF_FORK:
		count_processes(r, &sess, &uidn);
		if (r->p->max_processes != 0 && (sess >= r->p->max_processes || uidn >= r->p->max_processes)) {
			limit_hit(r, SANDBOX_LIMIT_PROCESSES, r->p->max_processes, "processes",
			    sess > uidn ? sess : uidn, false);
			resp.error = -EAGAIN;
		} else {
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		}
		break;
	case SANDBOX_NOTIF_DUP:
		check_open_files(r, (pid_t)req.pid);
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		break;
	case SANDBOX_NOTIF_FS_REPORT:
		handle_fs_report(r, &req, &resp);
		break;
	case SANDBOX_NOTIF_MEMORY:
		limit_hit(r, SANDBOX_LIMIT_MEMORY, r->p->memory_limit, "requested",
		    req.data.args[req.data.nr == SYS_mmap ? 1 : 2], false);
		resp.error = -ENOMEM;
		break;
	case SANDBOX_NOTIF_VIOLATION:
	default:
		sandbox_syscall_name(req.data.nr, name, sizeof(name));
		report_syscall(r, &req, name,
		    r->p->on_violation == SANDBOX_VIOLATION_KILL ? "kill" : "deny");
		count_violation(r);
		if (r->p->on_violation == SANDBOX_VIOLATION_KILL) {
			sandbox_run_kill(r);
			return; /* the notification dies with the caller */
		}
		resp.error = -EPERM;
		break;
	}
	(void)ioctl(r->c.notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

/* Relay what the pipe has now; returns false at EOF. */
static bool
relay(struct sandbox_run *r, int *fdp, int to)
{
	char buf[SANDBOX_RELAY_CHUNK];
	ssize_t n;

	for (;;) {
		n = read(*fdp, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0) {
			(void)epoll_ctl(r->epfd, EPOLL_CTL_DEL, *fdp, NULL);
			close(*fdp);
			*fdp = -1;
			return false;
		}
		if (r->p->max_output != 0 && r->output_total + (uint64_t)n > r->p->max_output) {
			size_t room = (size_t)(r->p->max_output - r->output_total);

			if (to >= 0 && room > 0 && fd_write_all(to, buf, room) != 0)
				to = -1; /* our reader is gone: keep draining */
			r->output_total = r->p->max_output;
			limit_hit(r, SANDBOX_LIMIT_OUTPUT, r->p->max_output, NULL, 0, true);
			continue; /* drain and discard until EOF */
		}
		r->output_total += (uint64_t)n;
		if (to >= 0 && fd_write_all(to, buf, (size_t)n) != 0)
			to = -1;
	}
}

static uint64_t
plugin_cpu_ns(pid_t pid)
{
	/* The process-wide CPU clock of another process:
	 * MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED), in ns, all threads. */
	clockid_t clk = (clockid_t)((~(unsigned)pid << 3) | 2);
	struct timespec ts;

	if (clock_gettime(clk, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
duty_cycle(struct sandbox_run *r, uint64_t now)
{
	uint64_t used = r->cpu_ns;
	double budget = r->p->cpu_limit * (double)(now - r->c.start_ns);

	if ((double)used > budget + CPU_BURST_NS) {
		/* Again on every tick while over budget: a process forked or
		 * re-parented since the last stop is caught within a tick. */
		signal_sandbox(r, SIGSTOP);
		r->stopped = true;
	} else if (r->stopped && (double)used <= budget) {
		signal_sandbox(r, SIGCONT);
		r->stopped = false;
	}
}

static uint64_t
status_kb(pid_t pid, const char *key)
{
	char path[64], *s = NULL, *p;
	size_t len;
	uint64_t v = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (file_read_all(path, STATUS_MAX, &s, &len) != 0)
		return 0;
	p = strstr(s, key);
	if (p != NULL)
		v = strtoull(p + strlen(key), NULL, 10);
	free(s);
	return v;
}

static void
tick(struct sandbox_run *r)
{
	uint64_t now = time_mono_ns(), exp;

	(void)!read(r->timerfd, &exp, sizeof(exp));
	if (r->killed)
		return;
	if (r->deadline_ns != 0 && now >= r->deadline_ns) {
		limit_hit(r, SANDBOX_LIMIT_WALL_TIME, r->p->wall_timeout_ms, NULL, 0, true);
		return;
	}
	sample_usage(r);
	/* cpu.max and memory.max, when the cgroup holds them, need no help
	 * (see cgroup.h; the kernel enforces them, reap() reads the events). */
	if (r->c.limits.cpu.by == SANDBOX_BY_DUTY_CYCLE)
		duty_cycle(r, now);
	if (r->c.limits.memory.by == SANDBOX_BY_RLIMIT) {
		uint64_t peak = status_kb(r->c.pid, "VmPeak:") * 1024;

		if (peak * 100 >= r->p->memory_limit * MEM_NEAR_PERCENT)
			limit_hit(r, SANDBOX_LIMIT_MEMORY, r->p->memory_limit, "vm_peak", peak, false);
	}
	check_open_files(r, r->c.pid);
}

/* What the run's cgroup saw (cgroup.h): an OOM kill is the memory limit,
 * a refused fork the processes limit. */
static void
cgroup_results(struct sandbox_run *r)
{
	struct sandbox_cgroup_usage *u = &r->cg_usage;

	sandbox_cgroup_read_usage(&r->c.cgroup, u);
	if (r->c.limits.memory.by == SANDBOX_BY_CGROUP && u->oom_kill > 0)
		limit_hit(r, SANDBOX_LIMIT_MEMORY, r->p->memory_limit, "oom_kill", u->oom_kill, false);
	if (r->c.limits.processes.by == SANDBOX_BY_CGROUP && u->pids_max_events > 0)
		limit_hit(r, SANDBOX_LIMIT_PROCESSES, r->p->max_processes, "pids_max_events",
		    u->pids_max_events, false);
}

static void
reap(struct sandbox_run *r)
{
	struct rusage ru;
	int status = 0;
	pid_t w;

	/* Leftover children of the plugin die with it: signalled while our
	 * child is still a zombie (the pidfd woke us), because its pid, and so
	 * the process group id, cannot be reused by another process before we
	 * reap it; after wait4 it could. */
	(void)kill(-r->c.init_pid, SIGKILL);
	do
		w = wait4(r->c.init_pid, &status, WNOHANG | __WALL, &ru);
	while (w < 0 && errno == EINTR);
	if (w != r->c.init_pid)
		return;
	/* Under a pid namespace the init reports the plugin's own status; if
	 * the init was killed (by us), its status is the plugin's fate too. */
	if (r->c.exit_fd >= 0) {
		struct sandbox_init_report rep;

		if (read(r->c.exit_fd, &rep, sizeof(rep)) == (ssize_t)sizeof(rep)) {
			status = rep.status;
			ru = rep.ru;
		}
	}
	cgroup_results(r);
	r->wall_ms = (time_mono_ns() - r->c.start_ns) / 1000000;
	r->cpu_ms = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	r->peak_rss_kb = (uint64_t)ru.ru_maxrss;
	if (r->cpu_ns / 1000000 > r->cpu_ms)
		r->cpu_ms = r->cpu_ns / 1000000;
	if (r->hwm_kb > r->peak_rss_kb)
		r->peak_rss_kb = r->hwm_kb;
	if (WIFEXITED(status)) {
		r->exit_code = WEXITSTATUS(status);
		r->signal = 0;
	} else {
		r->exit_code = -1;
		r->signal = WTERMSIG(status);
		if (r->signal == SIGXFSZ)
			limit_hit(r, SANDBOX_LIMIT_FILE_SIZE, r->p->max_file_size, NULL, 0, false);
		else if (r->signal == SIGXCPU || (r->signal == SIGKILL && !r->killed &&
		    r->p->wall_timeout_ms != 0 && r->cpu_ms >= r->p->wall_timeout_ms))
			limit_hit(r, SANDBOX_LIMIT_CPU_TIME, r->p->wall_timeout_ms / 1000 + 1, "cpu_ms",
			    r->cpu_ms, false);
	}
	/* Everything the plugin wrote is in the pipes now: drain them. */
	if (r->c.stdout_fd >= 0)
		(void)relay(r, &r->c.stdout_fd, r->out_fd);
	if (r->c.stderr_fd >= 0)
		(void)relay(r, &r->c.stderr_fd, r->err_fd);
	r->done = true;
}

static int
watch(int epfd, int fd, int tag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = (uint32_t)tag;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

int
sandbox_run_start(struct sandbox_run *r, const struct sandbox_policy *p,
    const struct sandbox_filter *f, const struct sandbox_probe *pr, const char *program,
    char *const argv[], int stdin_fd, struct event_log *log, int out_fd, int err_fd,
    char err[SANDBOX_ERR_LEN])
{
	return sandbox_run_start_fd(r, p, f, pr, program, -1, argv, stdin_fd, log, out_fd, err_fd,
	    err);
}

int
sandbox_run_start_fd(struct sandbox_run *r, const struct sandbox_policy *p,
    const struct sandbox_filter *f, const struct sandbox_probe *pr, const char *program,
    int program_fd, char *const argv[], int stdin_fd, struct event_log *log, int out_fd,
    int err_fd, char err[SANDBOX_ERR_LEN])
{
	return sandbox_run_start_netns(r, p, f, pr, program, program_fd, -1, argv, stdin_fd, log,
	    out_fd, err_fd, err);
}

int
sandbox_run_start_netns(struct sandbox_run *r, const struct sandbox_policy *p,
    const struct sandbox_filter *f, const struct sandbox_probe *pr, const char *program,
    int program_fd, int netns_fd, char *const argv[], int stdin_fd, struct event_log *log,
    int out_fd, int err_fd, char err[SANDBOX_ERR_LEN])
{
	struct itimerspec its;
	uint64_t period;
	int ret;

	memset(r, 0, sizeof(*r));
	r->epfd = r->timerfd = -1;
	r->c.pidfd = r->c.plugin_pidfd = r->c.exit_fd = r->c.notify_fd = -1;
	r->c.stdout_fd = r->c.stderr_fd = -1;
	r->c.cgroup.dirfd = -1;
	r->mem_fd = r->fddir_fd = r->root_fd = -1;
	r->p = p;
	r->log = log;
	r->out_fd = out_fd;
	r->err_fd = err_fd;
	r->exit_code = -1;
	snprintf(r->plugin, sizeof(r->plugin), "%s", program);
	r->fork_allowed = sandbox_filter_fork_allowed(p);

	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r->epfd < 0 || r->timerfd < 0) {
		snprintf(err, SANDBOX_ERR_LEN, "epoll/timerfd: %s", strerror(errno));
		ret = SANDBOX_SPAWN_SETUP;
		goto fail;
	}
	ret = sandbox_spawn_netns(p, f, pr, program, program_fd, netns_fd, argv, stdin_fd, &r->c, err);
	if (ret != 0)
		goto fail;
	if (r->c.layers.ns_fallback[0] != '\0') {
		cJSON *d = cJSON_CreateObject();

		/* namespaces: auto could not apply them here (spawn.h). */
		cJSON_AddStringToObject(d, "layer", "namespaces");
		cJSON_AddStringToObject(d, "reason", r->c.layers.ns_fallback);
		cJSON_AddStringToObject(d, "plugin", r->plugin);
		emit(r, "sandbox_layer_unavailable", d);
	}
	if (p->wall_timeout_ms != 0)
		r->deadline_ns = r->c.start_ns + p->wall_timeout_ms * 1000000ull;
	period = r->c.limits.cpu.by == SANDBOX_BY_DUTY_CYCLE ? TICK_CPU_NS : TICK_IDLE_NS;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = (long)period;
	its.it_interval.tv_nsec = (long)period;
	if (timerfd_settime(r->timerfd, 0, &its, NULL) != 0 ||
	    watch(r->epfd, r->timerfd, TAG_TIMER) != 0 || watch(r->epfd, r->c.pidfd, TAG_PIDFD) != 0 ||
	    (r->c.notify_fd >= 0 && watch(r->epfd, r->c.notify_fd, TAG_NOTIFY) != 0) ||
	    watch(r->epfd, r->c.stdout_fd, TAG_OUT) != 0 || watch(r->epfd, r->c.stderr_fd, TAG_ERR) != 0) {
		snprintf(err, SANDBOX_ERR_LEN, "supervisor setup: %s", strerror(errno));
		sandbox_run_kill(r);
		while (waitpid(r->c.init_pid, NULL, 0) < 0 && errno == EINTR)
			;
		r->c.pid = r->c.init_pid = 0;
		ret = SANDBOX_SPAWN_SETUP;
		goto fail;
	}
	return 0;
fail:
	sandbox_run_free(r);
	return ret;
}

int
sandbox_run_fd(const struct sandbox_run *r)
{
	return r->epfd;
}

int
sandbox_run_step(struct sandbox_run *r, int timeout_ms)
{
	struct epoll_event evs[8];
	int n, i;

	if (r->done)
		return 1;
	n = epoll_wait(r->epfd, evs, 8, timeout_ms);
	for (i = 0; i < n && !r->done; i++) {
		switch (evs[i].data.u32) {
		case TAG_NOTIFY:
			if (evs[i].events & EPOLLIN)
				handle_notification(r);
			else if (evs[i].events & (EPOLLHUP | EPOLLERR)) {
				/* No task uses the filter any more. */
				(void)epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->c.notify_fd, NULL);
			}
			break;
		case TAG_OUT:
			if (r->c.stdout_fd >= 0)
				(void)relay(r, &r->c.stdout_fd, r->out_fd);
			break;
		case TAG_ERR:
			if (r->c.stderr_fd >= 0)
				(void)relay(r, &r->c.stderr_fd, r->err_fd);
			break;
		case TAG_TIMER:
			tick(r);
			break;
		case TAG_PIDFD:
			reap(r);
			break;
		default:
			break;
		}
	}
	return r->done ? 1 : 0;
}

void
sandbox_run_wait(struct sandbox_run *r)
{
	while (sandbox_run_step(r, -1) == 0)
		;
}

int
sandbox_run_exit_status(const struct sandbox_run *r)
{
	return r->signal != 0 ? 128 + r->signal : r->exit_code;
}

/* "limits": how each limit was enforced and why; "cgroup": the run's
 * cgroup and what it measured (null without one).  docs/sandbox.md. */
static int
cgroup_result_json(const struct sandbox_run *r, cJSON *o)
{
	const struct sandbox_limit_how *how[3] = {
		&r->c.limits.memory, &r->c.limits.cpu, &r->c.limits.processes,
	};
	static const char *const names[3] = { "memory", "cpu", "processes" };
	const struct sandbox_cgroup_usage *u = &r->cg_usage;
	cJSON *lim = cJSON_AddObjectToObject(o, "limits"), *cg;
	int i;

	if (lim == NULL)
		return -ENOMEM;
	for (i = 0; i < 3; i++) {
		cJSON *l = cJSON_AddObjectToObject(lim, names[i]);

		if (l == NULL)
			return -ENOMEM;
		cJSON_AddStringToObject(l, "by", sandbox_limit_by_name(how[i]->by));
		cJSON_AddStringToObject(l, "why", how[i]->why);
	}
	if (u->path[0] == '\0' && r->c.cgroup.path[0] == '\0') {
		cJSON_AddNullToObject(o, "cgroup");
		return 0;
	}
	cg = cJSON_AddObjectToObject(o, "cgroup");
	if (cg == NULL)
		return -ENOMEM;
	cJSON_AddStringToObject(cg, "path", u->path[0] != '\0' ? u->path : r->c.cgroup.path);
	if (u->memory) {
		cJSON_AddNumberToObject(cg, "memory_peak", (double)u->memory_peak);
		cJSON_AddNumberToObject(cg, "oom_kill", (double)u->oom_kill);
	}
	if (u->pids)
		cJSON_AddNumberToObject(cg, "pids_max_events", (double)u->pids_max_events);
	if (u->cpu) {
		cJSON_AddNumberToObject(cg, "cpu_usage_usec", (double)u->cpu_usage_usec);
		cJSON_AddNumberToObject(cg, "cpu_throttled_usec", (double)u->cpu_throttled_usec);
	}
	return 0;
}

cJSON *
sandbox_run_result(const struct sandbox_run *r)
{
	cJSON *o = cJSON_CreateObject(), *lim, *lay, *ns;
	unsigned i;

	if (o == NULL)
		return NULL;
	if (r->signal == 0 && r->exit_code >= 0)
		cJSON_AddNumberToObject(o, "exit_code", r->exit_code);
	else
		cJSON_AddNullToObject(o, "exit_code");
	if (r->signal != 0)
		cJSON_AddNumberToObject(o, "signal", r->signal);
	else
		cJSON_AddNullToObject(o, "signal");
	cJSON_AddNumberToObject(o, "wall_ms", (double)r->wall_ms);
	cJSON_AddNumberToObject(o, "cpu_ms", (double)r->cpu_ms);
	cJSON_AddNumberToObject(o, "peak_rss_kb", (double)r->peak_rss_kb);
	lim = cJSON_AddArrayToObject(o, "limits_hit");
	if (lim == NULL)
		goto fail;
	for (i = 0; i < SANDBOX_N_LIMITS; i++)
		if (r->limits_hit & (1u << i))
			cJSON_AddItemToArray(lim, cJSON_CreateString(limit_names[i]));
	cJSON_AddNumberToObject(o, "violations", (double)r->violations);
	cJSON_AddNumberToObject(o, "output_bytes", (double)r->output_total);
	lay = cJSON_AddObjectToObject(o, "layers");
	if (lay == NULL)
		goto fail;
	cJSON_AddBoolToObject(lay, "seccomp", r->c.layers.seccomp);
	cJSON_AddBoolToObject(lay, "seccomp_user_notif", r->c.layers.seccomp_user_notif);
	/* How violations were answered, and how the plugin was started
	 * (docs/sandbox.md, "Starting the plugin by descriptor"). */
	cJSON_AddStringToObject(lay, "seccomp_mechanism", !r->c.layers.seccomp ? "none" :
	    r->c.layers.seccomp_user_notif ? "user_notif" : "errno_log");
	cJSON_AddStringToObject(lay, "exec_start", "execveat_fd");
	cJSON_AddNumberToObject(lay, "landlock", r->c.layers.landlock);
	cJSON_AddBoolToObject(lay, "no_new_privs", r->c.layers.no_new_privs);
	cJSON_AddBoolToObject(lay, "capabilities_dropped", r->c.layers.capabilities_dropped);
	cJSON_AddBoolToObject(lay, "rlimits", r->c.layers.rlimits);
	ns = cJSON_AddArrayToObject(lay, "namespaces");
	if (ns == NULL)
		goto fail;
	if (r->c.layers.namespaces & SANDBOX_NS_USER)
		cJSON_AddItemToArray(ns, cJSON_CreateString("user"));
	if (r->c.layers.namespaces & SANDBOX_NS_IPC)
		cJSON_AddItemToArray(ns, cJSON_CreateString("ipc"));
	if (r->c.layers.namespaces & SANDBOX_NS_UTS)
		cJSON_AddItemToArray(ns, cJSON_CreateString("uts"));
	if (r->c.layers.namespaces & SANDBOX_NS_NET)
		cJSON_AddItemToArray(ns, cJSON_CreateString("net"));
	if (r->c.layers.namespaces & SANDBOX_NS_MOUNT)
		cJSON_AddItemToArray(ns, cJSON_CreateString("mount"));
	if (r->c.layers.namespaces & SANDBOX_NS_PID)
		cJSON_AddItemToArray(ns, cJSON_CreateString("pid"));
	/* A network namespace of its own ("fresh"), one the agent's pool
	 * lends out ("reused", docs/agent.md), or the host's ("host"). */
	cJSON_AddStringToObject(lay, "netns", !(r->c.layers.namespaces & SANDBOX_NS_NET) ? "host" :
	    r->c.layers.netns_reused ? "reused" : "fresh");
	cJSON_AddBoolToObject(lay, "cgroup", r->c.layers.cgroup);
	cJSON_AddStringToObject(lay, "cpu_limit_method", sandbox_limit_by_name(r->c.limits.cpu.by));
	if (r->c.layers.ns_fallback[0] != '\0')
		cJSON_AddStringToObject(lay, "namespaces_fallback", r->c.layers.ns_fallback);
	if (cgroup_result_json(r, o) != 0)
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

void
sandbox_run_free(struct sandbox_run *r)
{
	if (r == NULL)
		return;
	if (!r->done && r->c.init_pid > 0) {
		sandbox_run_kill(r);
		while (waitpid(r->c.init_pid, NULL, 0) < 0 && errno == EINTR)
			;
		r->done = true;
	}
	sandbox_child_close(&r->c);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->timerfd >= 0)
		close(r->timerfd);
	if (r->mem_fd >= 0)
		close(r->mem_fd);
	if (r->fddir_fd >= 0)
		close(r->fddir_fd);
	if (r->root_fd >= 0)
		close(r->root_fd);
	r->epfd = r->timerfd = r->mem_fd = r->fddir_fd = r->root_fd = -1;
}

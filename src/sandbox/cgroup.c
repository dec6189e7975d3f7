/* see cgroup.h */
#include "sandbox/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "base/fileio.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
/* <linux/sched.h> (5.7); spelled out here because that header's CLONE_*
 * macros collide with musl's <sched.h>. */
#define SANDBOX_CLONE_PIDFD 0x00001000ULL
#define SANDBOX_CLONE_INTO_CGROUP 0x200000000ULL
#define SANDBOX_CLONE_NS_MASK 0x7e020000ULL /* NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */

/* Caps on what we read from the kernel's text files. */
#define MOUNTINFO_MAX (512 * 1024)
#define SELF_CGROUP_MAX 8192
#define CG_FILE_MAX 4096
/* cgroup.kill is asynchronous: rmdir may see EBUSY until the killed tasks
 * have exited.  Bounded wait: RMDIR_TRIES x RMDIR_SLEEP_NS. */
#define RMDIR_TRIES 500
#define RMDIR_SLEEP_NS (1000 * 1000)
#define SUPERVISOR_LEAF "supervisor"

struct clone_args_v2 {            /* struct clone_args, CLONE_ARGS_SIZE_VER2 */
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
};

static const char *const ctl_names[] = { "memory", "cpu", "pids" };

static int read_at(int dirfd, const char *name, char **out);

/* snprintf for messages and paths, where cutting a long path short is the
 * wanted behaviour (a reason stays readable) and must not be a warning. */
static int PRINTF_LIKE(3, 4)
cg_fmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

/* ---- text helpers --------------------------------------------------------- */

int
sandbox_cgroup_parse_self(const char *text, char *out, size_t cap)
{
	const char *line = text;

	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);

		if (len >= 3 && memcmp(line, "0::", 3) == 0) {
			if (len - 3 + 1 > cap)
				return -ENAMETOOLONG;
			memcpy(out, line + 3, len - 3);
			out[len - 3] = '\0';
			/* The kernel appends " (deleted)" for a removed cgroup
			 * and never gives a relative path: refuse both. */
			return out[0] == '/' && strstr(out, " (deleted)") == NULL ? 0 : -ENOENT;
		}
		line = end != NULL ? end + 1 : NULL;
	}
	return -ENOENT;
}

/* Copy mountinfo field `f` (len bytes) into `out`, decoding the kernel's
 * octal escapes (\040 space, \011 tab, \012 newline, \134 backslash). */
static int
unescape(const char *f, size_t len, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char ch = f[i];

		if (ch == '\\' && i + 3 < len &&
		    f[i + 1] >= '0' && f[i + 1] <= '3' && f[i + 2] >= '0' && f[i + 2] <= '7' &&
		    f[i + 3] >= '0' && f[i + 3] <= '7') {
			ch = (char)((f[i + 1] - '0') * 64 + (f[i + 2] - '0') * 8 + (f[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		out[o++] = ch;
	}
	out[o] = '\0';
	return 0;
}

int
sandbox_cgroup_mountinfo_line(const char *line, char *point, size_t cap)
{
	/* "ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER" */
	const char *f = line, *start = NULL, *sep, *type;
	size_t len = 0;
	int i;

	for (i = 0; i < 5; i++) {
		while (*f == ' ')
			f++;
		if (*f == '\0' || *f == '\n')
			return -EINVAL;
		start = f;
		while (*f != ' ' && *f != '\0' && *f != '\n')
			f++;
		len = (size_t)(f - start);
	}
	sep = strstr(f, " - ");
	if (sep == NULL)
		return -EINVAL;
	type = sep + 3;
	if (strncmp(type, "cgroup2", 7) != 0 || (type[7] != ' ' && type[7] != '\0' && type[7] != '\n'))
		return 0;
	if (start == NULL || start[0] != '/')
		return -EINVAL;
	return unescape(start, len, point, cap) == 0 ? 1 : -ENAMETOOLONG;
}

void
sandbox_cgroup_cpu_max(double share, char *buf, size_t cap)
{
	double q;
	uint64_t quota;

	if (!(share > 0)) {
		cg_fmt(buf, cap, "max %u", SANDBOX_CGROUP_CPU_PERIOD_US);
		return;
	}
	q = share * SANDBOX_CGROUP_CPU_PERIOD_US + 0.5;
	/* cpu_limit is capped at 1024 cores by the schema; beyond what a
	 * u64 holds means "unlimited" anyway. */
	quota = q >= 1e18 ? UINT64_C(1000000000000000000) : (uint64_t)q;
	if (quota < SANDBOX_CGROUP_CPU_MIN_QUOTA_US)
		quota = SANDBOX_CGROUP_CPU_MIN_QUOTA_US;
	cg_fmt(buf, cap, "%llu %u", (unsigned long long)quota, SANDBOX_CGROUP_CPU_PERIOD_US);
}

void
sandbox_cgroup_max_text(uint64_t v, char *buf, size_t cap)
{
	if (v == 0)
		cg_fmt(buf, cap, "max");
	else
		cg_fmt(buf, cap, "%llu", (unsigned long long)v);
}

int
sandbox_cgroup_kv(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	const char *line = text;

	while (line != NULL && *line != '\0') {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			char *end;
			unsigned long long v = strtoull(line + klen + 1, &end, 10);

			if (end == line + klen + 1)
				return -ENOENT;
			*out = v;
			return 0;
		}
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return -ENOENT;
}

unsigned
sandbox_cgroup_ctl_bits(const char *text)
{
	unsigned bits = 0, i;
	const char *t = text;

	while (*t != '\0') {
		size_t len;

		while (*t == ' ' || *t == '\n')
			t++;
		len = strcspn(t, " \n");
		for (i = 0; i < ARRAY_SIZE(ctl_names); i++)
			if (len == strlen(ctl_names[i]) && strncmp(t, ctl_names[i], len) == 0)
				bits |= 1u << i;
		t += len;
	}
	return bits;
}

const char *
sandbox_limit_by_name(enum sandbox_limit_by by)
{
	switch (by) {
	case SANDBOX_BY_CGROUP:
		return "cgroup";
	case SANDBOX_BY_RLIMIT:
		return "rlimit";
	case SANDBOX_BY_DUTY_CYCLE:
		return "duty_cycle";
	case SANDBOX_BY_SECCOMP:
		return "seccomp";
	case SANDBOX_BY_NONE:
		break;
	}
	return "none";
}

/* ---- files ------------------------------------------------------------------ */

/* Read the small text file `path` into `buf` (NUL-terminated).  Returns 0,
 * -errno, or -EFBIG when it does not fit in cap - 1 bytes.  A caller's
 * stack buffer instead of file_read_all's heap one: these files are read on
 * every `sandbox run`, and each 16 KiB allocation there is an mmap/munmap
 * pair plus page faults. */
static int
read_small(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), e = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap - 1) {
			/* Full: only an immediate EOF means it fitted. */
			char extra;

			do
				n = read(fd, &extra, 1);
			while (n < 0 && errno == EINTR);
			e = n == 0 ? 0 : n < 0 ? -errno : -EFBIG;
			break;
		}
	}
	close(fd);
	buf[len] = '\0';
	return e;
}

static unsigned
read_ctl_file(const char *dir, const char *name)
{
	char path[SANDBOX_CGROUP_PATH_MAX + 64], s[CG_FILE_MAX];

	cg_fmt(path, sizeof(path), "%s/%s", dir, name);
	return read_small(path, s, sizeof(s)) == 0 ? sandbox_cgroup_ctl_bits(s) : 0;
}

static int
write_at(int dirfd, const char *name, const char *text)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	return (size_t)n == strlen(text) ? 0 : -EIO;
}

static int
write_path(const char *dir, const char *name, const char *text)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (dfd < 0)
		return -errno;
	r = write_at(dfd, name, text);
	close(dfd);
	return r;
}

static bool
is_cgroup2(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* systemd marks a delegated cgroup with trusted.delegate=1 (root managers,
 * v251+) or user.delegate=1 (user managers). */
static bool
has_delegate_xattr(const char *path)
{
	char v[8];
	ssize_t n;

	n = getxattr(path, "trusted.delegate", v, sizeof(v) - 1);
	if (n <= 0)
		n = getxattr(path, "user.delegate", v, sizeof(v) - 1);
	return n > 0 && v[0] == '1';
}

/* A cgroup2 filesystem is mounted at `path` itself (not only reached
 * through it): the magic, and a device other than its parent's. */
static bool
is_cgroup2_mount(const char *path)
{
	char parent[64];
	struct stat a, b;

	if (!is_cgroup2(path) || (size_t)cg_fmt(parent, sizeof(parent), "%s/..", path) >= sizeof(parent))
		return false;
	return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

static void
find_mount(struct sandbox_cgroup_site *s)
{
	/* Where systemd mounts it (unified, then hybrid layout): a few
	 * syscalls instead of /proc/self/mountinfo, which the kernel
	 * generates line by line for every mount (~40 us, each run). */
	static const char *const well_known[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	char *mi = NULL, *line, *save = NULL;
	size_t len, i;

	for (i = 0; i < ARRAY_SIZE(well_known); i++)
		if (is_cgroup2_mount(well_known[i])) {
			cg_fmt(s->mount, sizeof(s->mount), "%s", well_known[i]);
			s->mounted = true;
			return;
		}
	if (file_read_all("/proc/self/mountinfo", MOUNTINFO_MAX, &mi, &len) != 0)
		return;
	for (line = strtok_r(mi, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char point[SANDBOX_CGROUP_PATH_MAX];

		if (sandbox_cgroup_mountinfo_line(line, point, sizeof(point)) == 1 &&
		    is_cgroup2(point)) {
			cg_fmt(s->mount, sizeof(s->mount), "%s", point);
			s->mounted = true;
			break;
		}
	}
	free(mi);
}

/* Try to enable `want` in dir/cgroup.subtree_control, one controller per
 * write so that one refusal does not hide the others.  Returns the
 * errno of the first failure (0 if none). */
static int
enable_controllers(const char *dir, unsigned want)
{
	unsigned i;
	int first = 0;

	for (i = 0; i < ARRAY_SIZE(ctl_names); i++) {
		char tok[16];
		int r;

		if (!(want & (1u << i)))
			continue;
		cg_fmt(tok, sizeof(tok), "+%s", ctl_names[i]);
		r = write_path(dir, "cgroup.subtree_control", tok);
		if (r != 0 && first == 0)
			first = -r;
	}
	return first;
}

/* Move this process, then every other process of `dir`, into
 * dir/supervisor (created if needed).  Only called for our own delegated
 * cgroup, whose processes are all ours (the service's) by delegation: cgroup
 * v2 enables controllers for children only once `dir` holds no process.
 * Two bounded passes over cgroup.procs (a process may fork meanwhile). */
static int
move_self_to_leaf(const char *dir)
{
	char leaf[SANDBOX_CGROUP_PATH_MAX + 16];
	int dfd, lfd, r, pass;

	cg_fmt(leaf, sizeof(leaf), "%s/" SUPERVISOR_LEAF, dir);
	if (mkdir(leaf, 0755) != 0 && errno != EEXIST)
		return -errno;
	/* "0": the writing process, all its threads. */
	if ((r = write_path(leaf, "cgroup.procs", "0")) != 0)
		return r;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	lfd = open(leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (pass = 0; dfd >= 0 && lfd >= 0 && pass < 2; pass++) {
		char *procs = NULL, *p, *end;

		if (read_at(dfd, "cgroup.procs", &procs) != 0) {
			free(procs);
			break;
		}
		for (p = procs; *p != '\0'; p = end) {
			long pid = strtol(p, &end, 10);
			char num[24];

			if (end == p)
				break;
			cg_fmt(num, sizeof(num), "%ld", pid);
			(void)write_at(lfd, "cgroup.procs", num); /* it may have exited */
			while (*end == '\n')
				end++;
		}
		free(procs);
	}
	if (dfd >= 0)
		close(dfd);
	if (lfd >= 0)
		close(lfd);
	return 0;
}

static void
setup_site(struct sandbox_cgroup_site *s, bool own)
{
	unsigned want = s->available & ~s->enabled;
	int e;

	if (want == 0)
		return;
	e = enable_controllers(s->dir, want);
	if (e == EBUSY && own) {
		int r = move_self_to_leaf(s->dir);

		if (r == 0) {
			s->moved_self = true;
			e = enable_controllers(s->dir, want);
		} else {
			cg_fmt(s->why, sizeof(s->why),
			    "cannot move ourselves into %s/" SUPERVISOR_LEAF " (cgroup v2 no-internal-processes rule): %s",
			    s->dir, strerror(-r));
			s->enabled = read_ctl_file(s->dir, "cgroup.subtree_control");
			return;
		}
	}
	s->enabled = read_ctl_file(s->dir, "cgroup.subtree_control");
	if (e == EBUSY)
		cg_fmt(s->why, sizeof(s->why),
		    "%s holds processes%s, so cgroup v2 refuses controllers for its children (no internal processes)",
		    s->dir, own ? " we could not move" : " (not ours to move: only our own delegated cgroup is rearranged)");
	else if (e != 0)
		cg_fmt(s->why, sizeof(s->why), "cannot enable controllers in %s/cgroup.subtree_control: %s",
		    s->dir, strerror(e));
}

/* Whether two paths name the same directory (inode and device). */
static bool
same_dir(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void
sandbox_cgroup_locate(const char *setting, bool setup, struct sandbox_cgroup_site *s)
{
	char self_dir[SANDBOX_CGROUP_PATH_MAX], txt[SELF_CGROUP_MAX];
	bool own = false;
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (setting == NULL || setting[0] == '\0')
		setting = "auto";
	find_mount(s);
	if (read_small("/proc/self/cgroup", txt, sizeof(txt)) == 0 &&
	    sandbox_cgroup_parse_self(txt, s->self, sizeof(s->self)) != 0)
		s->self[0] = '\0';
	self_dir[0] = '\0';
	if (s->mounted && s->self[0] != '\0' &&
	    (size_t)cg_fmt(self_dir, sizeof(self_dir), "%s%s", s->mount,
	    strcmp(s->self, "/") == 0 ? "" : s->self) < sizeof(self_dir)) {
		s->self_writable = access(self_dir, W_OK) == 0;
		/* Delegated: not the root, writable, and chowned to us (a
		 * non-root uid) or marked by systemd. */
		s->delegated = strcmp(s->self, "/") != 0 && s->self_writable &&
		    stat(self_dir, &st) == 0 &&
		    ((geteuid() != 0 && st.st_uid == geteuid()) || has_delegate_xattr(self_dir));
	}

	if (strcmp(setting, "off") == 0) {
		cg_fmt(s->why, sizeof(s->why), "sandbox.cgroup is off");
		return;
	}
	if (strcmp(setting, "auto") == 0) {
		if (!s->mounted)
			cg_fmt(s->why, sizeof(s->why), "no cgroup v2 filesystem is mounted");
		else if (s->self[0] == '\0')
			cg_fmt(s->why, sizeof(s->why), "our cgroup v2 path is unknown (no \"0::\" line in /proc/self/cgroup)");
		else if (strcmp(s->self, "/") == 0)
			cg_fmt(s->why, sizeof(s->why),
			    "our cgroup is the root of the cgroup v2 hierarchy at %s, which is not delegated to us",
			    s->mount);
		else if (!s->self_writable)
			cg_fmt(s->why, sizeof(s->why), "our cgroup %s is not writable by uid %u",
			    self_dir, (unsigned)geteuid());
		else if (!s->delegated)
			cg_fmt(s->why, sizeof(s->why),
			    "our cgroup %s is not delegated to us (no trusted.delegate/user.delegate mark, not owned by our uid)",
			    self_dir);
		else {
			cg_fmt(s->dir, sizeof(s->dir), "%s", self_dir);
			own = true;
		}
	} else if (setting[0] != '/') {
		cg_fmt(s->why, sizeof(s->why), "sandbox.cgroup must be auto, off or an absolute path");
	} else if (!is_cgroup2(setting)) {
		cg_fmt(s->why, sizeof(s->why), "%s is not a cgroup v2 directory", setting);
	} else if (s->mounted && same_dir(setting, s->mount)) {
		/* Its subtree_control is the whole machine's. */
		cg_fmt(s->why, sizeof(s->why),
		    "%s is the root of the cgroup v2 hierarchy: give a delegated directory below it", setting);
	} else if (access(setting, W_OK) != 0) {
		cg_fmt(s->why, sizeof(s->why), "%s is not writable by uid %u", setting, (unsigned)geteuid());
	} else if (strlen(setting) >= sizeof(s->dir) - 32) {
		cg_fmt(s->why, sizeof(s->why), "sandbox.cgroup path is too long");
	} else {
		cg_fmt(s->dir, sizeof(s->dir), "%s", setting);
		/* Only our own cgroup may see us moved into a leaf. */
		own = self_dir[0] != '\0' && strcmp(self_dir, setting) == 0;
	}
	if (s->dir[0] == '\0')
		return;
	s->available = read_ctl_file(s->dir, "cgroup.controllers");
	s->enabled = read_ctl_file(s->dir, "cgroup.subtree_control");
	if (setup)
		setup_site(s, own);
}

static pthread_mutex_t site_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sandbox_cgroup_site site_cache;
static char site_setting[SANDBOX_CGROUP_PATH_MAX];
static bool site_valid;

const struct sandbox_cgroup_site *
sandbox_cgroup_site_get(const char *setting)
{
	const struct sandbox_cgroup_site *s;

	if (setting == NULL || setting[0] == '\0')
		setting = "auto";
	pthread_mutex_lock(&site_lock);
	/* One entry: a process uses one or two policies, and re-locating a
	 * site is cheap next to a spawn.  The cached struct is only replaced
	 * when the setting changes. */
	if (!site_valid || strcmp(site_setting, setting) != 0) {
		sandbox_cgroup_locate(setting, true, &site_cache);
		cg_fmt(site_setting, sizeof(site_setting), "%s", setting);
		site_valid = true;
	}
	s = &site_cache;
	pthread_mutex_unlock(&site_lock);
	return s;
}

/* ---- planning -------------------------------------------------------------- */

static void
plan_one(struct sandbox_limit_how *h, const struct sandbox_cgroup_site *s, const char *extra_why,
    unsigned bit, enum sandbox_limit_by fallback, const char *fallback_note)
{
	const char *name = bit == SANDBOX_CG_MEMORY ? "memory" : bit == SANDBOX_CG_CPU ? "cpu" : "pids";
	char reason[SANDBOX_CGROUP_WHY_LEN];

	if (extra_why == NULL && s != NULL && s->dir[0] != '\0' && (s->enabled & bit)) {
		h->by = SANDBOX_BY_CGROUP;
		cg_fmt(h->why, sizeof(h->why), "%s controller of %s", name, s->dir);
		return;
	}
	if (extra_why != NULL)
		cg_fmt(reason, sizeof(reason), "%s", extra_why);
	else if (s == NULL || s->dir[0] == '\0')
		cg_fmt(reason, sizeof(reason), "no cgroup: %s", s != NULL ? s->why : "not looked up");
	else if (!(s->available & bit))
		cg_fmt(reason, sizeof(reason), "cgroup v2 has no %s controller in %s", name, s->dir);
	else
		cg_fmt(reason, sizeof(reason), "%s controller not enabled in %s: %s", name, s->dir,
		    s->why[0] != '\0' ? s->why : "refused");
	h->by = fallback;
	if (fallback_note != NULL)
		cg_fmt(h->why, sizeof(h->why), "%s; %s", fallback_note, reason);
	else
		cg_fmt(h->why, sizeof(h->why), "%s", reason);
}

void
sandbox_cgroup_plan(const struct sandbox_cgroup_site *s, const struct sandbox_policy *p,
    bool fork_allowed, const char *extra_why, struct sandbox_limits_how *how)
{
	memset(how, 0, sizeof(*how));
	if (p->memory_limit == 0)
		cg_fmt(how->memory.why, sizeof(how->memory.why), "memory_limit is 0");
	else
		plan_one(&how->memory, s, extra_why, SANDBOX_CG_MEMORY, SANDBOX_BY_RLIMIT, NULL);
	if (!(p->cpu_limit > 0))
		cg_fmt(how->cpu.why, sizeof(how->cpu.why), "cpu_limit is 0");
	else
		plan_one(&how->cpu, s, extra_why, SANDBOX_CG_CPU, SANDBOX_BY_DUTY_CYCLE, NULL);
	if (p->max_processes == 0)
		cg_fmt(how->processes.why, sizeof(how->processes.why), "max_processes is 0");
	else if (fork_allowed)
		plan_one(&how->processes, s, extra_why, SANDBOX_CG_PIDS, SANDBOX_BY_RLIMIT, NULL);
	else
		plan_one(&how->processes, s, extra_why, SANDBOX_CG_PIDS, SANDBOX_BY_SECCOMP,
		    "fork is blocked by the seccomp filter");
}

const char *
sandbox_cgroup_missing(const struct sandbox_policy *p, const struct sandbox_limits_how *how,
    const char **why)
{
	if (p->memory_limit != 0 && how->memory.by != SANDBOX_BY_CGROUP) {
		*why = how->memory.why;
		return "memory";
	}
	if (p->cpu_limit > 0 && how->cpu.by != SANDBOX_BY_CGROUP) {
		*why = how->cpu.why;
		return "cpu";
	}
	if (p->max_processes != 0 && how->processes.by != SANDBOX_BY_CGROUP) {
		*why = how->processes.why;
		return "pids";
	}
	return NULL;
}

/* ---- one run --------------------------------------------------------------- */

static atomic_uint run_counter;

int
sandbox_cgroup_create(const struct sandbox_cgroup_site *s, const struct sandbox_policy *p,
    const struct sandbox_limits_how *how, struct sandbox_cgroup *cg, char why[SANDBOX_CGROUP_WHY_LEN])
{
	char text[64];
	unsigned n = atomic_fetch_add(&run_counter, 1);
	int r;

	cg->dirfd = -1;
	cg->limited = 0;
	cg->path[0] = '\0';
	why[0] = '\0';
	if (s == NULL || s->dir[0] == '\0') {
		cg_fmt(why, SANDBOX_CGROUP_WHY_LEN, "no cgroup: %s", s != NULL ? s->why : "none");
		return -ENOENT;
	}
	cg_fmt(cg->path, sizeof(cg->path), "%s/stavily-%d-%u", s->dir, (int)getpid(), n);
	if (mkdir(cg->path, 0755) != 0) {
		r = -errno;
		cg_fmt(why, SANDBOX_CGROUP_WHY_LEN, "mkdir %s: %s", cg->path, strerror(errno));
		cg->path[0] = '\0';
		return r;
	}
	cg->dirfd = open(cg->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->dirfd < 0) {
		r = -errno;
		cg_fmt(why, SANDBOX_CGROUP_WHY_LEN, "open %s: %s", cg->path, strerror(errno));
		goto fail;
	}
	if (how->memory.by == SANDBOX_BY_CGROUP) {
		sandbox_cgroup_max_text(p->memory_limit, text, sizeof(text));
		if ((r = write_at(cg->dirfd, "memory.max", text)) != 0) {
			cg_fmt(why, SANDBOX_CGROUP_WHY_LEN, "%s/memory.max: %s", cg->path, strerror(-r));
			goto fail;
		}
		/* No swap: memory_limit means memory, not memory+swap.
		 * Absent without swap accounting, which is fine. */
		r = write_at(cg->dirfd, "memory.swap.max", "0");
		if (r != 0 && r != -ENOENT) {
			cg_fmt(why, SANDBOX_CGROUP_WHY_LEN, "%s/memory.swap.max: %s", cg->path, strerror(-r));
			goto fail;
		}
		/* An OOM kill takes the whole sandbox, not one of its
		 * processes (best effort: 4.19+). */
		(void)write_at(cg->dirfd, "memory.oom.group", "1");
		cg->limited |= SANDBOX_CG_MEMORY;
	}
	if (how->cpu.by == SANDBOX_BY_CGROUP) {
		sandbox_cgroup_cpu_max(p->cpu_limit, text, sizeof(text));
		if ((r = write_at(cg->dirfd, "cpu.max", text)) != 0) {
			cg_fmt(why, SANDBOX_CGROUP_WHY_LEN, "%s/cpu.max: %s", cg->path, strerror(-r));
			goto fail;
		}
		cg->limited |= SANDBOX_CG_CPU;
	}
	if (how->processes.by == SANDBOX_BY_CGROUP) {
		sandbox_cgroup_max_text(p->max_processes, text, sizeof(text));
		if ((r = write_at(cg->dirfd, "pids.max", text)) != 0) {
			cg_fmt(why, SANDBOX_CGROUP_WHY_LEN, "%s/pids.max: %s", cg->path, strerror(-r));
			goto fail;
		}
		cg->limited |= SANDBOX_CG_PIDS;
	}
	return 0;
fail:
	(void)sandbox_cgroup_destroy(cg);
	return r;
}

long
sandbox_cgroup_clone(uint64_t flags, int *pidfd, int cgroup_fd)
{
	struct clone_args_v2 a;

	memset(&a, 0, sizeof(a));
	a.flags = flags | SANDBOX_CLONE_PIDFD | SANDBOX_CLONE_INTO_CGROUP;
	a.pidfd = (uint64_t)(uintptr_t)pidfd;
	a.exit_signal = SIGCHLD;
	a.cgroup = (uint64_t)cgroup_fd;
	/* No stack given: the child continues on a copy of ours, as after
	 * fork(), and returns from this function like the parent. */
	return syscall(SYS_clone3, &a, sizeof(a));
}

bool
sandbox_cgroup_clone_error(int e, uint64_t flags)
{
	switch (e) {
	case EACCES:     /* cgroup.procs of the target or common ancestor */
	case ENOENT:     /* cgroup removed meanwhile */
	case EBUSY:      /* a domain cgroup with controllers in its subtree */
	case EOPNOTSUPP: /* threaded / invalid domain */
	case ENOSYS:     /* no clone3, or a container's seccomp profile */
	case E2BIG:      /* kernel older than clone_args v2 */
		return true;
	case EPERM:      /* ambiguous: namespaces need privilege too */
		return (flags & SANDBOX_CLONE_NS_MASK) == 0;
	default:
		return false;
	}
}

static int
read_at(int dirfd, const char *name, char **out)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC), r;
	size_t len;

	*out = NULL;
	if (fd < 0)
		return -errno;
	r = fd_read_all(fd, CG_FILE_MAX, out, &len);
	close(fd);
	return r;
}

void
sandbox_cgroup_read_usage(const struct sandbox_cgroup *cg, struct sandbox_cgroup_usage *u)
{
	char *s = NULL;

	memset(u, 0, sizeof(*u));
	if (cg->dirfd < 0)
		return;
	cg_fmt(u->path, sizeof(u->path), "%s", cg->path);
	if (read_at(cg->dirfd, "memory.peak", &s) == 0) {
		u->memory_peak = strtoull(s, NULL, 10);
		u->memory = true;
	}
	free(s);
	if (read_at(cg->dirfd, "memory.events", &s) == 0) {
		(void)!sandbox_cgroup_kv(s, "oom_kill", &u->oom_kill);
		(void)!sandbox_cgroup_kv(s, "max", &u->memory_max_events);
		u->memory = true;
	}
	free(s);
	if (read_at(cg->dirfd, "pids.events", &s) == 0) {
		(void)!sandbox_cgroup_kv(s, "max", &u->pids_max_events);
		u->pids = true;
	}
	free(s);
	/* cpu.stat exists without the cpu controller (usage only). */
	if (read_at(cg->dirfd, "cpu.stat", &s) == 0) {
		(void)!sandbox_cgroup_kv(s, "usage_usec", &u->cpu_usage_usec);
		(void)!sandbox_cgroup_kv(s, "throttled_usec", &u->cpu_throttled_usec);
		u->cpu = true;
	}
	free(s);
}

/* Without cgroup.kill (< 5.14): SIGKILL every pid listed. */
static void
kill_listed(int dirfd)
{
	char *s = NULL, *p, *end;

	if (read_at(dirfd, "cgroup.procs", &s) != 0) {
		free(s);
		return;
	}
	for (p = s; *p != '\0'; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 0)
			(void)kill((pid_t)pid, SIGKILL);
		while (*end == '\n')
			end++;
	}
	free(s);
}

int
sandbox_cgroup_destroy(struct sandbox_cgroup *cg)
{
	struct timespec ts = { 0, RMDIR_SLEEP_NS };
	int r = 0, i;

	if (cg->path[0] == '\0') {
		if (cg->dirfd >= 0)
			close(cg->dirfd);
		cg->dirfd = -1;
		return 0;
	}
	for (i = 0; i < RMDIR_TRIES; i++) {
		if (rmdir(cg->path) == 0 || errno == ENOENT) {
			r = 0;
			break;
		}
		r = -errno;
		if (r != -EBUSY || cg->dirfd < 0)
			break;
		if (i == 0 && write_at(cg->dirfd, "cgroup.kill", "1") != 0)
			kill_listed(cg->dirfd);
		nanosleep(&ts, NULL);
	}
	if (cg->dirfd >= 0)
		close(cg->dirfd);
	cg->dirfd = -1;
	cg->path[0] = '\0';
	cg->limited = 0;
	return r;
}

/* see rootfs.h */
#include "sandbox/rootfs.h"
#include "sandbox/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The new root is assembled on a tmpfs mounted over /proc of the new mount
 * namespace: /proc always exists, is never a bind source (the sandbox gets
 * a fresh proc), and hiding it in our private namespace harms nobody. */
#define STAGE "/proc"
#define OLDROOT "/.oldroot"
/* Binds: filesystem_access entries, the devices, the program. */
#define ROOTFS_MAX_BINDS (SANDBOX_MAX_FS_RULES + 8)
/* Operations: mkdirs for every path component plus the mounts. */
#define ROOTFS_MAX_OPS 1024
#define ROOTFS_TMPFS_OPTS "mode=0755,size=1m,nr_inodes=4096"
/* The job's private /tmp: sticky and world-writable like any /tmp.  Inodes
 * are capped too (one per 4 KiB of tmp_size, at least 1024): a tmpfs inode
 * costs kernel memory that `size=` does not count. */
#define ROOTFS_TMP "/tmp"
#define ROOTFS_TMP_OPTS_MAX 96
#define ROOTFS_TMP_MIN_INODES 1024

enum op_kind { OP_MKDIR, OP_MKFILE, OP_BIND, OP_PROC, OP_TMPFS };

struct op {
	enum op_kind kind;
	bool ro;
	unsigned long locked;        /* flags of the source mount kept on remount */
	/* owned, allocated in the parent before the fork (the child only
	 * reads them): short strings rather than two PATH_MAX buffers per
	 * operation, whose page faults were a measurable part of a start */
	char *src;
	char *dst;                   /* STAGE-prefixed */
};

struct sandbox_rootfs {
	struct op *ops;
	size_t n;
	char cwd[PATH_MAX];          /* "" = "/" */
	uint64_t proc_rights;
	uint64_t tmp_rights;         /* Landlock rights on the private /tmp */
	char tmp_opts[ROOTFS_TMP_OPTS_MAX]; /* "" = no private /tmp */
};

/* One entry of the plan while it is computed (a few dozen bytes: the
 * paths are pointers, not PATH_MAX arrays whose page faults showed in
 * every start). */
struct bind {
	char *src;                   /* real path of the source, owned; NULL for tmpfs */
	const char *dst;             /* path inside the sandbox, borrowed: the
	                              * policy's entry, a device name, the program
	                              * or ROOTFS_TMP, all outliving the plan */
	bool dir, ro, tmpfs;         /* tmpfs: the private /tmp, not a bind */
	unsigned long locked;
};

static const char *const devices[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
};

static int
push(struct sandbox_rootfs *rf, enum op_kind kind, const char *src, const char *dst, bool ro,
    unsigned long locked)
{
	struct op *o;

	if (rf->n == ROOTFS_MAX_OPS)
		return -E2BIG;
	if (strlen(STAGE) + strlen(dst) >= PATH_MAX || (src != NULL && strlen(src) >= PATH_MAX))
		return -ENAMETOOLONG;
	o = &rf->ops[rf->n];
	o->kind = kind;
	o->ro = ro;
	o->locked = locked;
	o->src = strdup(src != NULL ? src : "");
	o->dst = malloc(strlen(STAGE) + strlen(dst) + 1);
	if (o->src == NULL || o->dst == NULL) {
		free(o->src);
		free(o->dst);
		return -ENOMEM;
	}
	strcpy(o->dst, STAGE);
	strcat(o->dst, dst);
	rf->n++;
	return 0;
}

/* mkdir of every ancestor of `dst` (and of dst itself if `self`). */
static int
push_dirs(struct sandbox_rootfs *rf, const char *dst, bool self)
{
	char tmp[PATH_MAX];
	size_t i, len = strlen(dst);
	int r;

	if (len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, dst, len + 1);
	for (i = 1; i <= len; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		if (tmp[i] == '\0' && !self)
			break;
		tmp[i] = '\0';
		r = push(rf, OP_MKDIR, NULL, tmp, false, 0);
		tmp[i] = i < len ? '/' : '\0';
		if (r != 0)
			return r;
	}
	return 0;
}

static unsigned long
locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(path, &sv) != 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

static int
add_bind(struct bind *b, size_t *n, const char *path, bool ro)
{
	struct stat st;
	char real[PATH_MAX];

	if (*n == ROOTFS_MAX_BINDS)
		return -E2BIG;
	if (realpath(path, real) == NULL || stat(real, &st) != 0)
		return 0; /* absent: nothing to show */
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		return 0;
	if ((b[*n].src = strdup(real)) == NULL)
		return -ENOMEM;
	b[*n].dst = path;
	b[*n].dir = S_ISDIR(st.st_mode);
	b[*n].ro = ro;
	b[*n].locked = locked_flags(real);
	(*n)++;
	return 0;
}

static int
depth(const char *p)
{
	int d = 0;

	for (; *p; p++)
		d += *p == '/';
	return d;
}

/* Parents before children, so that a nested entry lands on top; at equal
 * depth "/" (shortest) first, so that the private /tmp covers a bound "/". */
static int
cmp_depth(const void *a, const void *b)
{
	const struct bind *x = a, *y = b;
	int d = depth(x->dst) - depth(y->dst);

	if (d != 0)
		return d;
	if (strlen(x->dst) != strlen(y->dst))
		return strlen(x->dst) < strlen(y->dst) ? -1 : 1;
	return strcmp(x->dst, y->dst);
}

/* True if `path` (a real path) is hidden by the private /tmp: under /tmp
 * and not under an entry bound on top of it. */
static bool
hidden_by_tmp(const struct sandbox_policy *p, bool private_tmp, const char *path)
{
	size_t i;

	if (!private_tmp || !sandbox_path_under(path, ROOTFS_TMP))
		return false;
	for (i = 0; i < p->n_fs; i++)
		if (strcmp(p->fs[i].path, ROOTFS_TMP) != 0 && sandbox_path_under(p->fs[i].path, ROOTFS_TMP) &&
		    sandbox_path_under(path, p->fs[i].path))
			return false;
	return true;
}

int
sandbox_rootfs_plan(const struct sandbox_policy *p, const char *program, const char *cwd,
    uint64_t proc_rights, uint64_t tmp_rights, struct sandbox_rootfs **out,
    char err[SANDBOX_ERR_LEN])
{
	struct sandbox_rootfs *rf = NULL;
	struct bind b[ROOTFS_MAX_BINDS];
	size_t nb = 0, i;
	bool prog_visible = false, private_tmp = p->tmp_size != 0;
	int r = -ENOMEM;

	*out = NULL;
	memset(b, 0, sizeof(b));
	rf = calloc(1, sizeof(*rf));
	if (rf == NULL)
		goto fail;
	rf->ops = calloc(ROOTFS_MAX_OPS, sizeof(*rf->ops));
	if (rf->ops == NULL)
		goto fail;
	rf->proc_rights = proc_rights;
	if (private_tmp) {
		unsigned long long inodes = p->tmp_size / 4096;

		if (inodes < ROOTFS_TMP_MIN_INODES)
			inodes = ROOTFS_TMP_MIN_INODES;
		snprintf(rf->tmp_opts, sizeof(rf->tmp_opts), "mode=1777,size=%llu,nr_inodes=%llu",
		    (unsigned long long)p->tmp_size, inodes);
		rf->tmp_rights = tmp_rights;
		b[nb].dst = ROOTFS_TMP;
		b[nb].dir = b[nb].tmpfs = true;
		nb++;
	}
	for (i = 0; i < p->n_fs; i++) {
		char real[PATH_MAX];

		/* /proc is never bound from the host: the sandbox gets its own;
		 * /tmp is the job's private tmpfs when tmp_size is set. */
		if (strcmp(p->fs[i].path, "/proc") == 0 ||
		    (private_tmp && strcmp(p->fs[i].path, ROOTFS_TMP) == 0))
			continue;
		if ((r = add_bind(b, &nb, p->fs[i].path, !p->fs[i].write)) != 0)
			goto fail;
		/* The program is visible if an entry that is not a symlink
		 * holds its real path, and the private /tmp does not cover it. */
		if (realpath(p->fs[i].path, real) != NULL && strcmp(real, p->fs[i].path) == 0 &&
		    sandbox_path_under(program, real) && !hidden_by_tmp(p, private_tmp, program))
			prog_visible = true;
	}
	for (i = 0; i < ARRAY_SIZE(devices); i++)
		if ((r = add_bind(b, &nb, devices[i], false)) != 0)
			goto fail;
	if (!prog_visible && (r = add_bind(b, &nb, program, true)) != 0)
		goto fail;
	qsort(b, nb, sizeof(*b), cmp_depth);
	for (i = 0; i < nb; i++) {
		if ((r = push_dirs(rf, b[i].dst, b[i].dir)) != 0)
			goto fail;
		if (b[i].tmpfs) {
			if ((r = push(rf, OP_TMPFS, NULL, b[i].dst, false, 0)) != 0)
				goto fail;
			continue;
		}
		if (!b[i].dir && (r = push(rf, OP_MKFILE, NULL, b[i].dst, false, 0)) != 0)
			goto fail;
		if ((r = push(rf, OP_BIND, b[i].src, b[i].dst, b[i].ro, b[i].locked)) != 0)
			goto fail;
	}
	if ((r = push(rf, OP_MKDIR, NULL, "/proc", false, 0)) != 0 ||
	    (r = push(rf, OP_PROC, NULL, "/proc", false, 0)) != 0 ||
	    (r = push(rf, OP_MKDIR, NULL, OLDROOT, false, 0)) != 0)
		goto fail;
	if (cwd != NULL)
		for (i = 0; i < nb; i++)
			if (b[i].dir && !b[i].tmpfs && sandbox_path_under(cwd, b[i].dst) &&
			    !hidden_by_tmp(p, private_tmp, cwd)) {
				snprintf(rf->cwd, sizeof(rf->cwd), "%s", cwd);
				break;
			}
	for (i = 0; i < nb; i++)
		free(b[i].src);
	*out = rf;
	return 0;
fail:
	snprintf(err, SANDBOX_ERR_LEN, "mount namespace plan: %s", strerror(-r));
	for (i = 0; i < nb; i++)
		free(b[i].src);
	sandbox_rootfs_free(rf);
	return r;
}

void
sandbox_rootfs_free(struct sandbox_rootfs *rf)
{
	if (rf == NULL)
		return;
	for (size_t i = 0; rf->ops != NULL && i < rf->n; i++) {
		free(rf->ops[i].src);
		free(rf->ops[i].dst);
	}
	free(rf->ops);
	free(rf);
}

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

/* Landlock rules are bound to inodes: a filesystem created in the child
 * (fresh /proc, private /tmp) needs its own rule.  Async-signal-safe. */
static int
rule_for(int landlock_fd, const char *path, uint64_t rights)
{
	struct ll_path_beneath pb;
	int fd, r = 0;

	if (rights == 0 || landlock_fd < 0)
		return 0;
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	pb.allowed_access = rights;
	pb.parent_fd = fd;
	if (syscall(445 /* landlock_add_rule */, landlock_fd, 1, &pb, 0) != 0)
		r = -errno;
	close(fd);
	return r;
}

int
sandbox_rootfs_apply(const struct sandbox_rootfs *rf, int landlock_fd)
{
	size_t i;
	int fd, r;

	if (mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, ROOTFS_TMPFS_OPTS) != 0)
		return -errno;
	for (i = 0; i < rf->n; i++) {
		const struct op *o = &rf->ops[i];

		switch (o->kind) {
		case OP_MKDIR:
			if (mkdir(o->dst, 0755) != 0 && errno != EEXIST)
				return -errno;
			break;
		case OP_MKFILE:
			/* O_EXCL: never opens (let alone changes) an existing file. */
			fd = open(o->dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd >= 0)
				close(fd);
			else if (errno != EEXIST)
				return -errno;
			break;
		case OP_BIND:
			if (mount(o->src, o->dst, NULL, MS_BIND | MS_REC, NULL) != 0)
				return -errno;
			/* Flags the source mount has are locked in a user
			 * namespace: repeat them, add read-only. */
			if (o->ro && mount(NULL, o->dst, NULL,
			    MS_BIND | MS_REMOUNT | MS_RDONLY | o->locked, NULL) != 0)
				return -errno;
			break;
		case OP_PROC:
			if (mount("proc", o->dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
				return -errno;
			break;
		case OP_TMPFS:
			/* Fresh, size-capped, private to this job: nothing a
			 * plugin leaves here reaches the host or another job. */
			if (mount("tmpfs", o->dst, "tmpfs", MS_NOSUID | MS_NODEV, rf->tmp_opts) != 0)
				return -errno;
			if ((r = rule_for(landlock_fd, o->dst, rf->tmp_rights)) != 0)
				return r;
			break;
		}
	}
	if (syscall(SYS_pivot_root, STAGE, STAGE OLDROOT) != 0)
		return -errno;
	if (chdir("/") != 0 || umount2(OLDROOT, MNT_DETACH) != 0)
		return -errno;
	(void)rmdir(OLDROOT);
	/* Nothing may be created at the top of the new root. */
	(void)mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
	if ((r = rule_for(landlock_fd, "/proc", rf->proc_rights)) != 0)
		return r;
	if (rf->cwd[0] != '\0' && chdir(rf->cwd) != 0)
		(void)chdir("/");
	return 0;
}

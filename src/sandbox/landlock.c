/* see landlock.h */
#include "sandbox/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1

#define LL_FS_EXECUTE     (1ull << 0)
#define LL_FS_WRITE_FILE  (1ull << 1)
#define LL_FS_READ_FILE   (1ull << 2)
#define LL_FS_READ_DIR    (1ull << 3)
#define LL_FS_REMOVE_DIR  (1ull << 4)
#define LL_FS_REMOVE_FILE (1ull << 5)
#define LL_FS_MAKE_CHAR   (1ull << 6)
#define LL_FS_MAKE_DIR    (1ull << 7)
#define LL_FS_MAKE_REG    (1ull << 8)
#define LL_FS_MAKE_SOCK   (1ull << 9)
#define LL_FS_MAKE_FIFO   (1ull << 10)
#define LL_FS_MAKE_BLOCK  (1ull << 11)
#define LL_FS_MAKE_SYM    (1ull << 12)
#define LL_FS_REFER       (1ull << 13) /* ABI 2 */
#define LL_FS_TRUNCATE    (1ull << 14) /* ABI 3 */
#define LL_FS_IOCTL_DEV   (1ull << 15) /* ABI 5 */
#define LL_NET_BIND_TCP    (1ull << 0) /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ull << 1) /* ABI 4 */
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ull << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL               (1ull << 1) /* ABI 6 */
#define LL_RESTRICT_SELF_LOG_SAME_EXEC_OFF (1u << 0) /* ABI 7 */
#define LL_RESTRICT_SELF_LOG_NEW_EXEC_ON   (1u << 1) /* ABI 7 */

#define LL_FS_ABI1 ((1ull << 13) - 1)
/* Rights that make sense on a regular file (the kernel rejects directory
 * rights in a rule on a file). */
#define LL_FS_FILE_RIGHTS (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | \
    LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
#define LL_FS_RO (LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR)

/* Our own copy of the UAPI structs: the 6.1 header lacks the newer fields,
 * and the kernel takes the size we pass. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

static const struct {
	const char *path;
	bool write;
} implicit_dev[] = {
	{ "/dev/null", true }, { "/dev/zero", false }, { "/dev/full", true },
	{ "/dev/random", false }, { "/dev/urandom", false },
};

int
sandbox_landlock_abi(void)
{
	long r = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);

	return r < 0 ? 0 : (int)r;
}

static uint64_t
fs_handled(int abi)
{
	uint64_t m = LL_FS_ABI1;

	if (abi >= 2)
		m |= LL_FS_REFER;
	if (abi >= 3)
		m |= LL_FS_TRUNCATE;
	if (abi >= 5)
		m |= LL_FS_IOCTL_DEV;
	return m;
}

static int
add_path(int ruleset, const char *path, uint64_t access, uint64_t handled, char err[SANDBOX_ERR_LEN])
{
	struct ll_path_beneath_attr pb;
	struct stat st;
	int fd, r = 0;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0; /* nothing to grant */
		r = -errno;
		snprintf(err, SANDBOX_ERR_LEN, "landlock: cannot open %s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) != 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISDIR(st.st_mode))
		access &= LL_FS_FILE_RIGHTS;
	pb.allowed_access = access & handled;
	pb.parent_fd = fd;
	if (pb.allowed_access != 0 &&
	    syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0) != 0) {
		r = -errno;
		snprintf(err, SANDBOX_ERR_LEN, "landlock: rule for %s: %s", path, strerror(errno));
	}
out:
	close(fd);
	return r;
}

int
sandbox_landlock_build(const struct sandbox_policy *p, int abi, const char *program,
    char err[SANDBOX_ERR_LEN])
{
	struct ll_ruleset_attr attr;
	size_t size;
	size_t i;
	int fd, r;

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = fs_handled(abi);
	size = sizeof(attr.handled_access_fs);
	if (abi >= 4) {
		if (p->network != SANDBOX_NET_FULL)
			attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, SANDBOX_ERR_LEN, "landlock: create ruleset: %s", strerror(errno));
		return r;
	}
	for (i = 0; i < p->n_fs; i++) {
		r = add_path(fd, p->fs[i].path, p->fs[i].write ? ~0ull : LL_FS_RO, attr.handled_access_fs, err);
		if (r != 0)
			goto fail;
	}
	/* Harmless character devices every program expects (shells redirect
	 * to /dev/null); read/write only, never ioctl. */
	for (i = 0; i < ARRAY_SIZE(implicit_dev); i++) {
		r = add_path(fd, implicit_dev[i].path, implicit_dev[i].write ?
		    LL_FS_READ_FILE | LL_FS_WRITE_FILE : LL_FS_READ_FILE, attr.handled_access_fs, err);
		if (r != 0)
			goto fail;
	}
	if (program != NULL &&
	    (r = add_path(fd, program, LL_FS_READ_FILE | LL_FS_EXECUTE, attr.handled_access_fs, err)) != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return r;
}

uint64_t
sandbox_landlock_dir_rights(bool write, int abi)
{
	return (write ? ~0ull : LL_FS_RO) & fs_handled(abi);
}

unsigned
sandbox_landlock_restrict_flags(int abi)
{
	return abi >= 7 ? LL_RESTRICT_SELF_LOG_SAME_EXEC_OFF | LL_RESTRICT_SELF_LOG_NEW_EXEC_ON : 0;
}

int
sandbox_landlock_restrict(int ruleset_fd, unsigned flags)
{
	return syscall(SYS_landlock_restrict_self, ruleset_fd, flags) == 0 ? 0 : -errno;
}

bool
sandbox_path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool
sandbox_landlock_path_allowed(const struct sandbox_policy *p, const char *program,
    const char *path, bool write)
{
	size_t i;

	if (program != NULL && !write && strcmp(path, program) == 0)
		return true;
	for (i = 0; i < ARRAY_SIZE(implicit_dev); i++)
		if (strcmp(path, implicit_dev[i].path) == 0 && (implicit_dev[i].write || !write))
			return true;
	for (i = 0; i < p->n_fs; i++)
		if (sandbox_path_under(path, p->fs[i].path) && (p->fs[i].write || !write))
			return true;
	return false;
}

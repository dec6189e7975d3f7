/* see syscalls.h */
#include "sandbox/syscalls.h"

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An alias or group: a name and the list it expands to (NULL-terminated).
 * Entries may themselves be aliases ("open" inside "@file"). */
struct alias {
	const char *name;
	const char *const *members;
};

static const char *const a_exec[] = { "execve", "execveat", NULL };
static const char *const a_fork[] = { "fork", "vfork", "clone3", NULL }; /* + clone_fork */
static const char *const a_open[] = { "open", "openat", "openat2", "creat", NULL };
static const char *const a_stat[] = { "stat", "lstat", "fstat", "newfstatat", "statx", NULL };

/*
 * @default: enough for a static musl or a dynamic glibc program to start,
 * print and exit, and for our own pre-exec code (write of the status word,
 * execve is handled by the supervisor).  Deliberately excludes anything that
 * creates processes, sockets or files.  ioctl is here because stdio asks
 * TCGETS/TIOCGWINSZ; the dangerous TIOCSTI is denied by an argument rule.
 */
static const char *const g_default[] = {
	"read", "write", "readv", "writev", "close", "lseek", "fcntl", "ioctl",
	"exit", "exit_group", "brk", "mmap", "munmap", "mprotect", "mremap", "madvise",
	"arch_prctl", "set_tid_address", "set_robust_list", "rseq", "futex",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
	"uname", "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
	"gettimeofday", "time", "getrandom", "restart_syscall", "sched_yield",
	"prlimit64", "getrlimit", "access", "faccessat", "faccessat2", "pread64",
	"fstat", "newfstatat", "getcwd", NULL
};
static const char *const g_network[] = {
	"socket", "socketpair", "bind", "connect", "listen", "accept", "accept4",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
	"getsockopt", "setsockopt", "getsockname", "getpeername", "shutdown", NULL
};
static const char *const g_io[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"lseek", "close", "dup", "dup2", "dup3", "fcntl", "pipe", "pipe2", "poll", "ppoll",
	"select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "sendfile", "splice", "tee", NULL
};
static const char *const g_file[] = {
	"open", "stat", "getdents64", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat",
	"rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat",
	"readlink", "readlinkat", "chdir", "fchdir", "getcwd", "truncate", "ftruncate",
	"fsync", "fdatasync", "chmod", "fchmod", "fchmodat", "utimensat", "access",
	"faccessat", "faccessat2", "umask", "fadvise64", "fallocate", NULL
};

static const struct alias aliases[] = {
	{ "exec", a_exec }, { "fork", a_fork }, { "open", a_open }, { "stat", a_stat },
	{ "@default", g_default }, { "@network", g_network }, { "@io", g_io },
	{ "@file", g_file },
};

static const char *const always_denied[] = {
	"io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open",
	"userfaultfd", "ptrace", "process_vm_readv", "process_vm_writev", "keyctl",
	"add_key", "request_key", "kexec_load", "kexec_file_load", "init_module",
	"finit_module", "delete_module", "mount", "umount2", "pivot_root", "chroot",
	"unshare", "setns", "open_by_handle_at", "modify_ldt", "iopl", "ioperm", "swapon",
	"swapoff", "reboot", "syslog", "acct", "seccomp", "fsopen", "fsmount", "fsconfig",
	"fspick", "move_mount", "open_tree", "mount_setattr", "name_to_handle_at",
	"lookup_dcookie", "quotactl", "vhangup", "pidfd_getfd", "process_madvise", NULL
};

static const struct alias *
find_alias(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(aliases); i++)
		if (strcmp(name, aliases[i].name) == 0)
			return &aliases[i];
	return NULL;
}

static int
resolve(const char *name)
{
	int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);

	return nr == __NR_SCMP_ERROR || nr < 0 || nr >= SANDBOX_NR_MAX ? -1 : nr;
}

bool
sandbox_syscall_name_valid(const char *name)
{
	return name != NULL && (find_alias(name) != NULL || resolve(name) >= 0);
}

void
sandbox_sysset_add_nr(struct sandbox_sysset *set, int nr)
{
	if (nr >= 0 && nr < SANDBOX_NR_MAX)
		set->bits[nr / 64] |= UINT64_C(1) << (nr % 64);
}

bool
sandbox_sysset_has(const struct sandbox_sysset *set, int nr)
{
	return nr >= 0 && nr < SANDBOX_NR_MAX && (set->bits[nr / 64] >> (nr % 64)) & 1;
}

/* Aliases nest at most two levels (@file -> open); the depth guard keeps a
 * future table mistake from recursing forever. */
static int
add_name(struct sandbox_sysset *set, const char *name, int depth)
{
	const struct alias *a = find_alias(name);
	size_t i;
	int nr;

	if (depth > 3)
		return -EINVAL;
	if (a != NULL) {
		for (i = 0; a->members[i] != NULL; i++) {
			/* A member unknown to this libseccomp is skipped: the
			 * tables name calls of every recent kernel. */
			/* "open" inside the "open" alias is the syscall; inside
			 * "@file" it is the alias. */
			if (strcmp(a->members[i], a->name) != 0 && find_alias(a->members[i]) != NULL)
				(void)add_name(set, a->members[i], depth + 1);
			else if ((nr = resolve(a->members[i])) >= 0)
				sandbox_sysset_add_nr(set, nr);
		}
		if (a->members == a_fork)
			set->clone_fork = true;
		return 0;
	}
	nr = resolve(name);
	if (nr < 0)
		return -EINVAL;
	sandbox_sysset_add_nr(set, nr);
	return 0;
}

int
sandbox_sysset_add(struct sandbox_sysset *set, const char *name)
{
	if (!sandbox_syscall_name_valid(name))
		return -EINVAL;
	return add_name(set, name, 0);
}

/* Always denied, by x86-64 number: calls newer than libseccomp 2.6's name
 * table (an unknown name would silently drop out of the set above). */
static const struct {
	int nr;
	const char *name;
} always_denied_nr[] = {
	{ 467, "open_tree_attr" },   /* Linux 6.15: open_tree with mount attributes */
};

void
sandbox_syscalls_always_denied(struct sandbox_sysset *set)
{
	size_t i;
	int nr;

	for (i = 0; always_denied[i] != NULL; i++)
		if ((nr = resolve(always_denied[i])) >= 0)
			sandbox_sysset_add_nr(set, nr);
	for (i = 0; i < ARRAY_SIZE(always_denied_nr); i++)
		sandbox_sysset_add_nr(set, always_denied_nr[i].nr);
}

void
sandbox_syscall_name(int nr, char *out, unsigned len)
{
	char *n;

	if (len == 0)
		return;
	n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
	if (n != NULL) {
		snprintf(out, len, "%s", n);
		free(n);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(always_denied_nr); i++)
		if (always_denied_nr[i].nr == nr) {
			snprintf(out, len, "%s", always_denied_nr[i].name);
			return;
		}
	snprintf(out, len, "nr_%d", nr);
}

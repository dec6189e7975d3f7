/* see filter.h */
#include "sandbox/filter.h"
#include "sandbox/scalloc.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PR_SET_SECCOMP_OPT 22     /* <linux/prctl.h> PR_SET_SECCOMP */
#define PR_SET_DUMPABLE_OPT 4     /* <linux/prctl.h> PR_SET_DUMPABLE */
#define SUID_DUMP_USER 1          /* the only PR_SET_DUMPABLE value we let through */
#define TIOCSTI_CMD 0x5412        /* <asm-generic/ioctls.h> TIOCSTI */
#define PERSONA_QUERY 0xffffffffu /* personality(0xffffffff) only reads */
#define X32_SYSCALL_BIT 0x40000000
#define AT_EMPTY_PATH_FLAG 0x1000 /* <fcntl.h> AT_EMPTY_PATH */
/* clone flags that create namespaces (CLONE_NEWNS, NEWCGROUP, NEWUTS,
 * NEWIPC, NEWUSER, NEWPID, NEWNET): the same kernel attack surface as
 * unshare(2), which is always denied, so never allowed through clone either
 * (a user namespace is reachable unprivileged).  Legacy clone passes only the
 * low 32 bits of the flags to the kernel, and so does this mask. */
#define CLONE_NS_FLAGS 0x7E020000ull

/* Calls whose path arguments are checked for *reporting* (open family,
 * and link/rename, which could move a file across the allowed set). */
static bool
is_fs_reported(int nr)
{
	return nr == SYS_open || nr == SYS_openat || nr == SYS_creat || nr == 437 /* openat2 */ ||
	    nr == SYS_link || nr == SYS_linkat || nr == SYS_rename || nr == SYS_renameat ||
	    nr == SYS_renameat2;
}

bool
sandbox_filter_denies(const struct sandbox_policy *p, int nr)
{
	/* Resolved once per process: the table never changes. */
	static struct sandbox_sysset always;
	static bool have_always;

	if (!have_always) {
		sandbox_syscalls_always_denied(&always);
		have_always = true;
	}
	return sandbox_sysset_has(&always, nr) || sandbox_sysset_has(&p->blocked, nr) ||
	    (p->allowlist && !sandbox_sysset_has(&p->allowed, nr));
}

bool
sandbox_filter_fork_allowed(const struct sandbox_policy *p)
{
	return !sandbox_sysset_has(&p->blocked, SYS_clone) && !p->blocked.clone_fork &&
	    (!p->allowlist || p->allowed.clone_fork || sandbox_sysset_has(&p->allowed, SYS_clone));
}

static bool
is_exec(int nr)
{
	return nr == SYS_execve || nr == SYS_execveat;
}

static bool
is_fork(int nr)
{
	return nr == SYS_fork || nr == SYS_vfork || nr == SYS_clone;
}

static bool
is_dup(int nr)
{
	return nr == SYS_dup || nr == SYS_dup2 || nr == SYS_dup3;
}

enum sandbox_notif_kind
sandbox_filter_classify(const struct sandbox_policy *p, const struct seccomp_data *d)
{
	int nr = d->nr;

	if (d->arch != AUDIT_ARCH_X86_64 || (nr & X32_SYSCALL_BIT))
		return SANDBOX_NOTIF_FOREIGN_ARCH;
	if (nr == SYS_clone3)
		return SANDBOX_NOTIF_CLONE3;
	/* The always-denied set holds prctl(PR_SET_SECCOMP), ioctl(TIOCSTI) and
	 * personality(non-default) by argument, not by number. */
	if (nr == SYS_personality && !sandbox_sysset_has(&p->blocked, nr))
		return (uint32_t)d->args[0] == 0 || (uint32_t)d->args[0] == PERSONA_QUERY ?
		    SANDBOX_NOTIF_ALLOWED : SANDBOX_NOTIF_VIOLATION;
	if (nr == SYS_clone && (d->args[0] & CLONE_NS_FLAGS))
		return SANDBOX_NOTIF_VIOLATION;
	if (nr == SYS_clone && (d->args[0] & CLONE_THREAD))
		return sandbox_sysset_has(&p->blocked, SYS_clone) ? SANDBOX_NOTIF_VIOLATION :
		    SANDBOX_NOTIF_FORK;
	if (is_fork(nr))
		return sandbox_filter_fork_allowed(p) ? SANDBOX_NOTIF_FORK : SANDBOX_NOTIF_VIOLATION;
	if (sandbox_filter_denies(p, nr))
		return SANDBOX_NOTIF_VIOLATION;
	/* Argument checks on the low 32 bits (C int arguments). */
	/* PR_SET_DUMPABLE 0 would hide the plugin's memory (and /proc/PID
	 * files) from an unprivileged supervisor: the paths it must read to
	 * report filesystem denials.  The kernel compares arg2 in full. */
	if (nr == SYS_prctl)
		return (uint32_t)d->args[0] == PR_SET_SECCOMP_OPT ||
		    ((uint32_t)d->args[0] == PR_SET_DUMPABLE_OPT && d->args[1] != SUID_DUMP_USER) ?
		    SANDBOX_NOTIF_VIOLATION : SANDBOX_NOTIF_ALLOWED;
	if (nr == SYS_ioctl)
		return (uint32_t)d->args[1] == TIOCSTI_CMD ? SANDBOX_NOTIF_VIOLATION :
		    SANDBOX_NOTIF_ALLOWED;
	if (nr == SYS_personality)
		return (uint32_t)d->args[0] == 0 || (uint32_t)d->args[0] == PERSONA_QUERY ?
		    SANDBOX_NOTIF_ALLOWED : SANDBOX_NOTIF_VIOLATION;
	if (is_exec(nr))
		return SANDBOX_NOTIF_EXEC;
	if (nr == SYS_setsid || nr == SYS_setpgid)
		return SANDBOX_NOTIF_SESSION;
	if (is_dup(nr))
		return SANDBOX_NOTIF_DUP;
	if (p->report_fs_denials && is_fs_reported(nr))
		return SANDBOX_NOTIF_FS_REPORT;
	if (p->memory_limit != 0 && ((nr == SYS_mmap && d->args[1] > p->memory_limit) ||
	    (nr == SYS_mremap && d->args[2] > p->memory_limit)))
		return SANDBOX_NOTIF_MEMORY;
	return SANDBOX_NOTIF_VIOLATION;
}

/* Add one rule; libseccomp refuses a rule whose action equals the default
 * action, which our callers never ask for, so any error is real. */
static int
rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n, const struct scmp_arg_cmp *cmp)
{
	int r = seccomp_rule_add_exact_array(ctx, action, nr, n, cmp);

	return r == -EEXIST ? 0 : r;
}

/*
 * exec.  The plugin is started by execveat(SANDBOX_EXEC_FD, "", argv, envp,
 * AT_EMPTY_PATH) from our own pre-exec code (spawn.h): that one shape is
 * allowed by the filter itself, with no notification, so the start needs no
 * supervisor and works on kernels without user notification.  After the
 * exec the descriptor is gone (O_CLOEXEC) and the plugin's RLIMIT_NOFILE
 * (<= SANDBOX_EXEC_FD, hard limit too) keeps it from ever creating that
 * number again, so the allowed shape can never run anything else.  Both
 * arguments are C ints: only their low 32 bits are compared, as the kernel
 * uses them.
 *
 * Every other exec: denied (notified and reported, or ERRNO+LOG) when the
 * policy blocks exec; when it allows exec, notified with user notification
 * (the supervisor continues it and forgets its per-address-space caches),
 * else allowed.
 */
static int
exec_rules(scmp_filter_ctx ctx, const struct sandbox_policy *p, bool user_notif, uint32_t deny)
{
	const int nrs[2] = { SYS_execve, SYS_execveat };
	const uint32_t want[2] = { SANDBOX_EXEC_FD, AT_EMPTY_PATH_FLAG };
	const unsigned argn[2] = { 0, 4 };
	size_t i;
	int r = 0;

	for (i = 0; i < 2; i++) {
		int nr = nrs[i];
		bool other_denied = user_notif || sandbox_filter_denies(p, nr);
		unsigned a;

		if (p->allowlist) {
			/* Default action: deny.  Allow what must pass. */
			if (!other_denied)
				r = rule(ctx, SCMP_ACT_ALLOW, nr, 0, NULL);
			else if (nr == SYS_execveat) {
				struct scmp_arg_cmp c[2] = {
					{ 0, SCMP_CMP_MASKED_EQ, 0xffffffffu, SANDBOX_EXEC_FD },
					{ 4, SCMP_CMP_MASKED_EQ, 0xffffffffu, AT_EMPTY_PATH_FLAG },
				};

				r = rule(ctx, SCMP_ACT_ALLOW, nr, 2, c);
			}
		} else if (other_denied) {
			/* Default action: allow.  Deny every execve, and every
			 * execveat whose dirfd or flags register is not exactly the
			 * allowed value.  The compare is on all 64 bits: a call
			 * that sets high bits the kernel would ignore is denied
			 * too, which is stricter than the kernel's own reading and
			 * costs two rules instead of one per bit. */
			if (nr == SYS_execve)
				r = rule(ctx, deny, nr, 0, NULL);
			for (a = 0; nr == SYS_execveat && r == 0 && a < 2; a++) {
				struct scmp_arg_cmp c = { argn[a], SCMP_CMP_NE, want[a], 0 };

				r = rule(ctx, deny, nr, 1, &c);
			}
		}
		if (r != 0)
			return r;
	}
	return 0;
}

/* What the policy cannot be, checked before any compile. */
static int
filter_check(const struct sandbox_policy *p, char err[SANDBOX_ERR_LEN])
{
	/* Our own pre-exec code writes the status word and exits on failure;
	 * a filter that forbids these could not even report its own start. */
	if (sandbox_sysset_has(&p->blocked, SYS_write) || sandbox_sysset_has(&p->blocked, SYS_exit_group) ||
	    sandbox_sysset_has(&p->blocked, SYS_exit) || sandbox_sysset_has(&p->blocked, SYS_rt_sigreturn)) {
		snprintf(err, SANDBOX_ERR_LEN,
		    "blocked_syscalls: write, exit, exit_group and rt_sigreturn cannot be blocked");
		return -EINVAL;
	}
	return 0;
}

int
sandbox_filter_prepare(const struct sandbox_policy *p, bool user_notif, struct sandbox_filter *f,
    char err[SANDBOX_ERR_LEN])
{
	int r;

	memset(f, 0, sizeof(*f));
	if ((r = filter_check(p, err)) != 0)
		return r;
	f->user_notif = user_notif && !p->user_notif_off;
	f->flags = f->user_notif ? SECCOMP_FILTER_FLAG_NEW_LISTENER : SECCOMP_FILTER_FLAG_LOG;
	f->lazy = p;
	return 0;
}

static int filter_build(const struct sandbox_policy *p, bool user_notif, struct sandbox_filter *f,
    char err[SANDBOX_ERR_LEN], bool keep_ctx);

int
sandbox_filter_compile(const struct sandbox_filter *lazy, struct sandbox_filter *out,
    char err[SANDBOX_ERR_LEN])
{
	return filter_build(lazy->lazy, lazy->user_notif, out, err, true);
}

int
sandbox_filter_build(const struct sandbox_policy *p, bool user_notif, struct sandbox_filter *f,
    char err[SANDBOX_ERR_LEN])
{
	return filter_build(p, user_notif, f, err, false);
}

/* keep_ctx: leave libseccomp's context (and its arena) to
 * sandbox_filter_free: the spawn releases it after the program is on its
 * way to the child.  libseccomp allocates from an arena of its own
 * (scalloc.h), current around every libseccomp call of this context. */
static int
filter_build(const struct sandbox_policy *p, bool user_notif, struct sandbox_filter *f,
    char err[SANDBOX_ERR_LEN], bool keep_ctx)
{
	uint32_t deny = user_notif ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(EPERM);
	uint32_t dflt = p->allowlist ? deny : SCMP_ACT_ALLOW;
	bool report = user_notif && p->report_fs_denials;
	bool memrep = user_notif && p->memory_limit != 0;
	scmp_filter_ctx ctx = NULL;
	struct sandbox_scarena *arena = NULL, *prev_arena = NULL;
	size_t len = 0;
	void *buf = NULL;
	bool thread_ok, fork_ok;
	int nr, r;

	memset(f, 0, sizeof(*f));
	/* The test/diagnostic switch: behave as on a kernel without it. */
	if (p->user_notif_off) {
		user_notif = false;
		deny = SCMP_ACT_ERRNO(EPERM);
		dflt = p->allowlist ? deny : SCMP_ACT_ALLOW;
		report = memrep = false;
	}
	if ((r = filter_check(p, err)) != 0)
		return r;
	if ((arena = sandbox_scarena_new(0)) == NULL)
		return -ENOMEM;
	prev_arena = sandbox_scarena_enter(arena);
	ctx = seccomp_init(dflt);
	if (ctx == NULL) {
		r = -ENOMEM;
		goto out;
	}
	/* i386 (int 0x80) and x32 calls reach a different table with different
	 * numbers: never evaluate them against x86-64 rules.  With user
	 * notification the supervisor kills the process *and* reports the call
	 * (it sees arch and number); without it the kernel kills.  The x86-64
	 * filter libseccomp generates sends x32 numbers to this action too. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    user_notif ? SCMP_ACT_NOTIFY : SCMP_ACT_KILL_PROCESS)) != 0)
		goto out;
	/* We set NO_NEW_PRIVS ourselves, in the documented order. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) != 0)
		goto out;
	/* A binary tree over the syscall numbers instead of one comparison
	 * after another: the same decisions, and about half the load time,
	 * because the kernel runs the program for every syscall number when
	 * it is loaded (seccomp's action cache) -- ~50 us of each start. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) != 0)
		goto out;

	for (nr = 0; nr < SANDBOX_NR_MAX; nr++) {
		bool denied = sandbox_filter_denies(p, nr);

		/* Only numbers that came from names get a rule below (allowed
		 * ones in allowlist mode, denied ones otherwise), so every
		 * number libseccomp sees is a real syscall. */
		switch (nr) {
		case SYS_clone:
		case SYS_clone3:
		case SYS_prctl:
		case SYS_ioctl:
		case SYS_personality:
			continue; /* argument rules below */
		case SYS_execve:
		case SYS_execveat:
			continue; /* exec_rules() */
		case SYS_setsid:
		case SYS_setpgid:
			/* Leaving the sandbox's process group is fine under a pid
			 * namespace only: the supervisor knows which applied. */
			if (user_notif && !denied) {
				if (!p->allowlist && (r = rule(ctx, deny, nr, 0, NULL)) != 0)
					goto out;
				continue;
			}
			break;
		case SYS_fork:
		case SYS_vfork:
			/* Allowed forks are counted against max_processes. */
			if (user_notif && p->max_processes != 0 && sandbox_filter_fork_allowed(p)) {
				if (!p->allowlist && (r = rule(ctx, deny, nr, 0, NULL)) != 0)
					goto out;
				continue;
			}
			break;
		case SYS_dup:
		case SYS_dup2:
		case SYS_dup3:
			/* Allowed dups are counted against max_open_files. */
			if (user_notif && p->max_open_files != 0 && !denied) {
				if (!p->allowlist && (r = rule(ctx, deny, nr, 0, NULL)) != 0)
					goto out;
				continue;
			}
			break;
		case SYS_mmap:
		case SYS_mremap:
			if (memrep && !denied) {
				unsigned a = nr == SYS_mmap ? 1 : 2;
				struct scmp_arg_cmp c = { a, p->allowlist ? SCMP_CMP_LE : SCMP_CMP_GT,
				    p->memory_limit, 0 };

				if ((r = rule(ctx, p->allowlist ? SCMP_ACT_ALLOW : deny, nr, 1, &c)) != 0)
					goto out;
				continue;
			}
			break;
		default:
			if (report && !denied && is_fs_reported(nr)) {
				if (!p->allowlist && (r = rule(ctx, deny, nr, 0, NULL)) != 0)
					goto out;
				continue;
			}
			break;
		}
		if (p->allowlist && !denied)
			r = rule(ctx, SCMP_ACT_ALLOW, nr, 0, NULL);
		else if (!p->allowlist && denied)
			r = rule(ctx, deny, nr, 0, NULL);
		else
			r = 0;
		if (r != 0)
			goto out;
	}

	if ((r = exec_rules(ctx, p, user_notif, deny)) != 0)
		goto out;

	/* clone3 keeps its flags in memory BPF cannot read: ENOSYS makes libcs
	 * fall back to clone, whose flags we can see.  When fork is blocked the
	 * supervisor answers the ENOSYS itself, so the attempt is reported. */
	fork_ok = sandbox_filter_fork_allowed(p);
	if (!fork_ok && user_notif)
		r = p->allowlist ? 0 : rule(ctx, deny, SYS_clone3, 0, NULL);
	else
		r = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SYS_clone3, 0, NULL);
	if (r != 0)
		goto out;

	/* clone: threads stay possible unless "clone" itself is blocked;
	 * process-creating clone follows the `fork` alias (and is counted
	 * against max_processes when allowed). */
	thread_ok = !sandbox_sysset_has(&p->blocked, SYS_clone);
	if (fork_ok && user_notif && p->max_processes != 0)
		fork_ok = false; /* notified: the supervisor counts and continues */
	{
		/* Allow rules never match a namespace flag; deny rules catch
		 * each one (rules of one action are OR-ed, and no allow rule
		 * overlaps a deny rule). */
		struct scmp_arg_cmp thr = { 0, SCMP_CMP_MASKED_EQ, CLONE_THREAD | CLONE_NS_FLAGS,
			CLONE_THREAD };
		struct scmp_arg_cmp nons = { 0, SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0 };
		struct scmp_arg_cmp prc = { 0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0 };
		unsigned bit;

		if (p->allowlist) {
			if (thread_ok && fork_ok)
				r = rule(ctx, SCMP_ACT_ALLOW, SYS_clone, 1, &nons);
			else if (thread_ok)
				r = rule(ctx, SCMP_ACT_ALLOW, SYS_clone, 1, &thr);
			else
				r = 0;
		} else {
			if (!thread_ok)
				r = rule(ctx, deny, SYS_clone, 0, NULL);
			else if (!fork_ok)
				r = rule(ctx, deny, SYS_clone, 1, &prc);
			else
				r = 0;
			for (bit = 0; r == 0 && thread_ok && bit < 32; bit++) {
				struct scmp_arg_cmp ns = { 0, SCMP_CMP_MASKED_EQ, 1ull << bit, 1ull << bit };

				if (CLONE_NS_FLAGS & (1ull << bit))
					r = rule(ctx, deny, SYS_clone, 1, &ns);
			}
		}
		if (r != 0)
			goto out;
	}

	/*
	 * prctl(PR_SET_SECCOMP), ioctl(TIOCSTI) and personality(other than the
	 * default persona) are always denied.  Their arguments are C ints: the
	 * kernel ignores the upper 32 bits of the register, so a plain 64-bit
	 * "!= TIOCSTI" could be dodged by setting a high bit.  BPF here only
	 * ever *matches* the low 32 bits (MASKED_EQ with 0xffffffff); where a
	 * "not equal" would be needed, the call is notified and the supervisor
	 * compares the low 32 bits (registers only, no pointers).
	 */
	{
		struct scmp_arg_cmp seccomp_opt = { 0, SCMP_CMP_MASKED_EQ, 0xffffffffu, PR_SET_SECCOMP_OPT };
		struct scmp_arg_cmp dumpable_opt = { 0, SCMP_CMP_MASKED_EQ, 0xffffffffu, PR_SET_DUMPABLE_OPT };
		struct scmp_arg_cmp sti = { 1, SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI_CMD };
		struct scmp_arg_cmp p0 = { 0, SCMP_CMP_MASKED_EQ, 0xffffffffu, 0 };
		struct scmp_arg_cmp pq = { 0, SCMP_CMP_MASKED_EQ, 0xffffffffu, PERSONA_QUERY };
		/* Terminal ioctls every stdio asks; allowed without a round trip. */
		static const unsigned common_ioctls[] = {
			0x5401 /* TCGETS */, 0x5413 /* TIOCGWINSZ */, 0x541B /* FIONREAD */,
			0x5421 /* FIONBIO */, 0x5451 /* FIOCLEX */, 0x5450 /* FIONCLEX */,
			0x540F /* TIOCGPGRP */,
		};
		size_t k;

		if (p->allowlist) {
			/* prctl: notified (default action); the supervisor refuses
			 * PR_SET_SECCOMP and continues the rest if allowed. */
			if (!sandbox_filter_denies(p, SYS_ioctl))
				for (k = 0; k < ARRAY_SIZE(common_ioctls); k++) {
					struct scmp_arg_cmp c = { 1, SCMP_CMP_MASKED_EQ, 0xffffffffu,
					    common_ioctls[k] };

					if ((r = rule(ctx, SCMP_ACT_ALLOW, SYS_ioctl, 1, &c)) != 0)
						goto out;
				}
			if (!sandbox_sysset_has(&p->blocked, SYS_personality) &&
			    ((r = rule(ctx, SCMP_ACT_ALLOW, SYS_personality, 1, &p0)) != 0 ||
			    (r = rule(ctx, SCMP_ACT_ALLOW, SYS_personality, 1, &pq)) != 0))
				goto out;
		} else if (user_notif) {
			/* Notified when they may be forbidden; the supervisor
			 * decides on the low 32 bits. */
			if ((r = rule(ctx, deny, SYS_prctl, sandbox_filter_denies(p, SYS_prctl) ? 0 : 1,
			    &seccomp_opt)) != 0)
				goto out;
			if (!sandbox_filter_denies(p, SYS_prctl) &&
			    (r = rule(ctx, deny, SYS_prctl, 1, &dumpable_opt)) != 0)
				goto out;
			if ((r = rule(ctx, deny, SYS_ioctl, sandbox_filter_denies(p, SYS_ioctl) ? 0 : 1,
			    &sti)) != 0)
				goto out;
			if ((r = rule(ctx, deny, SYS_personality, 0, NULL)) != 0)
				goto out;
		} else {
			/* No notification: refuse what we can match; personality
			 * is refused outright (no masked "not equal" in BPF). */
			if ((r = rule(ctx, deny, SYS_prctl, sandbox_filter_denies(p, SYS_prctl) ? 0 : 1,
			    &seccomp_opt)) != 0 ||
			    (r = rule(ctx, deny, SYS_ioctl, sandbox_filter_denies(p, SYS_ioctl) ? 0 : 1,
			    &sti)) != 0 ||
			    (r = rule(ctx, deny, SYS_personality, 0, NULL)) != 0)
				goto out;
		}
	}

	if ((r = seccomp_export_bpf_mem(ctx, NULL, &len)) != 0)
		goto out;
	buf = malloc(len);
	if (buf == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = seccomp_export_bpf_mem(ctx, buf, &len)) != 0)
		goto out;
	f->prog.filter = buf;
	f->prog.len = (unsigned short)(len / sizeof(struct sock_filter));
	f->user_notif = user_notif;
	f->flags = user_notif ? SECCOMP_FILTER_FLAG_NEW_LISTENER : SECCOMP_FILTER_FLAG_LOG;
	buf = NULL;
out:
	if (r != 0 && err[0] == '\0')
		snprintf(err, SANDBOX_ERR_LEN, "seccomp filter: %s", strerror(-r));
	free(buf);
	if (keep_ctx && r == 0) {
		f->ctx = ctx;
		f->arena = arena;
		arena = NULL;
	} else {
		seccomp_release(ctx);
	}
	sandbox_scarena_enter(prev_arena);
	sandbox_scarena_free(arena);
	return r;
}

void
sandbox_filter_free(struct sandbox_filter *f)
{
	struct sandbox_scarena *prev;

	if (f == NULL)
		return;
	free(f->prog.filter);
	f->prog.filter = NULL;
	f->prog.len = 0;
	if (f->ctx != NULL) {
		/* With the arena current libseccomp's frees are no-ops (a
		 * walk of its rule tree, ~1-6 us) and the chunks go in one
		 * piece below; returning its thousands of small blocks to
		 * musl's malloc one by one took ~60 us. */
		prev = sandbox_scarena_enter(f->arena);
		seccomp_release(f->ctx);
		sandbox_scarena_enter(prev);
	}
	sandbox_scarena_free(f->arena);
	f->ctx = NULL;
	f->arena = NULL;
}

int
sandbox_filter_load(const struct sandbox_filter *f)
{
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &f->prog);

	return r < 0 ? -errno : (int)r;
}

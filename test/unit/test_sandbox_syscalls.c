/* Unit tests for sandbox/syscalls.c and the classification in filter.c:
 * names, aliases, groups, the always-denied set. */
#include <errno.h>
#include <linux/audit.h>
#include <signal.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/syscall.h>

#include "harness.h"
#include "sandbox/filter.h"
#include "sandbox/policy.h"
#include "sandbox/syscalls.h"

static void
test_names_valid(void)
{
	CHECK(sandbox_syscall_name_valid("read"));
	CHECK(sandbox_syscall_name_valid("execveat"));
	CHECK(sandbox_syscall_name_valid("exec"));
	CHECK(sandbox_syscall_name_valid("fork"));
	CHECK(sandbox_syscall_name_valid("open"));
	CHECK(sandbox_syscall_name_valid("stat"));
	CHECK(sandbox_syscall_name_valid("@default"));
	CHECK(sandbox_syscall_name_valid("@network"));
	CHECK(!sandbox_syscall_name_valid("no_such_call"));
	CHECK(!sandbox_syscall_name_valid("@nosuchgroup"));
	CHECK(!sandbox_syscall_name_valid(""));
	CHECK(!sandbox_syscall_name_valid(NULL));
}

static void
test_aliases_expand(void)
{
	struct sandbox_sysset s;

	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(sandbox_sysset_add(&s, "exec"), 0);
	CHECK(sandbox_sysset_has(&s, SYS_execve));
	CHECK(sandbox_sysset_has(&s, SYS_execveat));
	CHECK(!sandbox_sysset_has(&s, SYS_fork));

	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(sandbox_sysset_add(&s, "fork"), 0);
	CHECK(sandbox_sysset_has(&s, SYS_fork));
	CHECK(sandbox_sysset_has(&s, SYS_vfork));
	CHECK(sandbox_sysset_has(&s, SYS_clone3));
	/* clone itself stays clear (threads), the flag marks fork-style clone */
	CHECK(!sandbox_sysset_has(&s, SYS_clone));
	CHECK(s.clone_fork);

	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(sandbox_sysset_add(&s, "open"), 0);
	CHECK(sandbox_sysset_has(&s, SYS_open));
	CHECK(sandbox_sysset_has(&s, SYS_openat));
	CHECK(sandbox_sysset_has(&s, SYS_creat));
	CHECK(sandbox_sysset_has(&s, 437)); /* openat2 */

	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(sandbox_sysset_add(&s, "stat"), 0);
	CHECK(sandbox_sysset_has(&s, SYS_stat));
	CHECK(sandbox_sysset_has(&s, SYS_lstat));
	CHECK(sandbox_sysset_has(&s, SYS_fstat));
	CHECK(sandbox_sysset_has(&s, SYS_newfstatat));
	CHECK(sandbox_sysset_has(&s, SYS_statx));

	/* @file nests the open alias */
	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(sandbox_sysset_add(&s, "@file"), 0);
	CHECK(sandbox_sysset_has(&s, SYS_openat));
	CHECK(sandbox_sysset_has(&s, SYS_mkdir));

	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(sandbox_sysset_add(&s, "@default"), 0);
	CHECK(sandbox_sysset_has(&s, SYS_exit_group));
	CHECK(sandbox_sysset_has(&s, SYS_write));
	CHECK(!sandbox_sysset_has(&s, SYS_socket));
	CHECK(!sandbox_sysset_has(&s, SYS_execve));
	CHECK(!sandbox_sysset_has(&s, SYS_fork));

	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(sandbox_sysset_add(&s, "bogus"), -EINVAL);
	CHECK(!sandbox_sysset_has(&s, 0));
}

static void
test_always_denied(void)
{
	struct sandbox_sysset s;

	memset(&s, 0, sizeof(s));
	sandbox_syscalls_always_denied(&s);
	CHECK(sandbox_sysset_has(&s, SYS_io_uring_setup));
	CHECK(sandbox_sysset_has(&s, SYS_bpf));
	CHECK(sandbox_sysset_has(&s, SYS_ptrace));
	CHECK(sandbox_sysset_has(&s, SYS_seccomp));
	CHECK(sandbox_sysset_has(&s, SYS_mount));
	CHECK(sandbox_sysset_has(&s, SYS_unshare));
	CHECK(sandbox_sysset_has(&s, SYS_kexec_load));
	CHECK(sandbox_sysset_has(&s, SYS_process_vm_writev));
	CHECK(!sandbox_sysset_has(&s, SYS_read));
	CHECK(!sandbox_sysset_has(&s, SYS_openat));
}

/* Every call the issue lists as always denied, by its x86-64 number (not
 * through libseccomp's name table, which may lag the kernel: a name it
 * does not know would silently drop out of the set). */
static void
test_always_denied_complete(void)
{
	static const int nrs[] = {
		425, 426, 427,          /* io_uring_setup, _enter, _register */
		321, 298, 323, 101,     /* bpf, perf_event_open, userfaultfd, ptrace */
		310, 311,               /* process_vm_readv, process_vm_writev */
		250, 248, 249,          /* keyctl, add_key, request_key */
		246, 320,               /* kexec_load, kexec_file_load */
		175, 313, 176,          /* init_module, finit_module, delete_module */
		165, 166, 155, 161,     /* mount, umount2, pivot_root, chroot */
		428, 429, 430, 431, 432, 433, 442, /* open_tree .. fspick, mount_setattr */
		467,                    /* open_tree_attr (Linux 6.15) */
		272, 308, 304,          /* unshare, setns, open_by_handle_at */
		154, 172, 173,          /* modify_ldt, iopl, ioperm */
		167, 168, 169, 103, 163, /* swapon, swapoff, reboot, syslog, acct */
		317,                    /* seccomp */
	};
	struct sandbox_sysset s;
	size_t i;

	memset(&s, 0, sizeof(s));
	sandbox_syscalls_always_denied(&s);
	for (i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		if (!sandbox_sysset_has(&s, nrs[i]))
			fprintf(stderr, "  not always denied: nr %d\n", nrs[i]);
		CHECK(sandbox_sysset_has(&s, nrs[i]));
	}
}

static void
test_names_of_numbers(void)
{
	char n[32];

	sandbox_syscall_name(SYS_execve, n, sizeof(n));
	CHECK_EQ_STR(n, "execve");
	sandbox_syscall_name(SYS_openat, n, sizeof(n));
	CHECK_EQ_STR(n, "openat");
	sandbox_syscall_name(100000, n, sizeof(n));
	CHECK_EQ_STR(n, "nr_100000");
}

static struct seccomp_data
sd(int nr, unsigned long long a0, unsigned long long a1)
{
	struct seccomp_data d;

	memset(&d, 0, sizeof(d));
	d.nr = nr;
	d.arch = AUDIT_ARCH_X86_64;
	d.args[0] = a0;
	d.args[1] = a1;
	return d;
}

static void
test_classify_default_policy(void)
{
	struct sandbox_policy p;
	struct seccomp_data d;

	sandbox_policy_init_default(&p);
	d = sd(SYS_execve, 0, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_VIOLATION);
	d = sd(SYS_socket, 0, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_VIOLATION);
	d = sd(SYS_fork, 0, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_VIOLATION);
	d = sd(SYS_clone3, 0, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_CLONE3);
	/* open is allowed: notified only to report denials */
	d = sd(SYS_openat, 0, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_FS_REPORT);
	/* mkdir is outside the brief's allowlist */
	d = sd(SYS_mkdir, 0, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_VIOLATION);
	d = sd(SYS_mmap, 0, 300ull << 20);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_MEMORY);
	/* i386 and x32 entry points */
	d = sd(20, 0, 0);
	d.arch = AUDIT_ARCH_I386;
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_FOREIGN_ARCH);
	d = sd(39 | 0x40000000, 0, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_FOREIGN_ARCH);
	CHECK(!sandbox_filter_fork_allowed(&p));
	sandbox_policy_free(&p);
}

static void
test_classify_denylist_allows_fork(void)
{
	struct sandbox_policy p;
	struct seccomp_data d;
	char err[SANDBOX_ERR_LEN];

	sandbox_policy_init_default(&p);
	CHECK_EQ_INT(sandbox_policy_set(&p, "allowed_syscalls=", err), 0);
	CHECK_EQ_INT(sandbox_policy_set(&p, "blocked_syscalls=socket", err), 0);
	CHECK(!p.allowlist);
	CHECK(sandbox_filter_fork_allowed(&p));
	d = sd(SYS_clone, SIGCHLD, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_FORK);
	/* a fork that creates namespaces is unshare(2) by another name */
	d = sd(SYS_clone, SIGCHLD | 0x10000000 /* CLONE_NEWUSER */, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_VIOLATION);
	d = sd(SYS_clone, SIGCHLD | 0x00020000 /* CLONE_NEWNS */, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_VIOLATION);
	d = sd(SYS_execve, 0, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_EXEC);
	/* leaving the process group: the supervisor decides (pid namespace) */
	d = sd(SYS_setsid, 0, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_SESSION);
	d = sd(SYS_setpgid, 0, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_SESSION);
	d = sd(SYS_dup, 0, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_DUP);
	/* int arguments are judged on their low 32 bits: a high bit set by
	 * the plugin must not turn TIOCSTI or PR_SET_SECCOMP into "other" */
	d = sd(SYS_ioctl, 0, 0x5412 | (1ull << 32));
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_VIOLATION);
	d = sd(SYS_ioctl, 0, 0x5401);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_ALLOWED);
	d = sd(SYS_prctl, 22 | (1ull << 40), 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_VIOLATION);
	/* PR_SET_DUMPABLE: 0 (or anything but 1) would hide the plugin's
	 * memory from the supervisor's reporting */
	d = sd(SYS_prctl, 4, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_VIOLATION);
	d = sd(SYS_prctl, 4 | (1ull << 32), 1ull << 32);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_VIOLATION);
	d = sd(SYS_prctl, 4, 1);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_ALLOWED);
	d = sd(SYS_personality, 0x0008 /* READ_IMPLIES_EXEC-ish */, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_VIOLATION);
	d = sd(SYS_personality, 0xffffffffu, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_ALLOWED);
	/* always denied whatever the policy */
	d = sd(SYS_ptrace, 0, 0);
	CHECK_EQ_INT(sandbox_filter_classify(&p, &d), SANDBOX_NOTIF_VIOLATION);
	sandbox_policy_free(&p);
}

static void
test_filter_builds(void)
{
	struct sandbox_policy p;
	struct sandbox_filter f;
	char err[SANDBOX_ERR_LEN] = "";

	sandbox_policy_init_default(&p);
	CHECK_EQ_INT(sandbox_filter_build(&p, true, &f, err), 0);
	CHECK(f.prog.len > 10);
	CHECK(f.user_notif);
	sandbox_filter_free(&f);
	CHECK_EQ_INT(sandbox_filter_build(&p, false, &f, err), 0);
	CHECK(!f.user_notif);
	sandbox_filter_free(&f);
	/* our own pre-exec code needs write */
	CHECK_EQ_INT(sandbox_policy_set(&p, "blocked_syscalls=write", err), 0);
	err[0] = '\0';
	CHECK_EQ_INT(sandbox_filter_build(&p, true, &f, err), -EINVAL);
	CHECK(strstr(err, "cannot be blocked") != NULL);
	sandbox_policy_free(&p);
}

int
main(void)
{
	RUN(test_names_valid);
	RUN(test_aliases_expand);
	RUN(test_always_denied);
	RUN(test_always_denied_complete);
	RUN(test_names_of_numbers);
	RUN(test_classify_default_policy);
	RUN(test_classify_denylist_allows_fork);
	RUN(test_filter_builds);
	return HARNESS_EXIT();
}

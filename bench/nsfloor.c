/*
 * nsfloor.c: the kernel floor of a namespaced start, for bench/sandbox.sh
 * (compiled with musl-gcc -static -O2; needs root).
 *
 *   nsfloor PLUGIN
 *
 * Does only the kernel work that `stavily sandbox run` with namespaces and
 * `bwrap --unshare-all` both have to do, with no policy, no seccomp, no
 * Landlock and no supervisor: unshare mount, pid, ipc, uts and net
 * namespaces, fork the pid namespace's init, make the mount tree private,
 * mount a tmpfs root holding only PLUGIN (bind-mounted read-only),
 * pivot_root into it, detach the old root, fork and exec the plugin with
 * its output on /dev/null (opened before the pivot), wait, exit with its
 * status.  bench/launcher times it like every other row, so the difference
 * between a sandbox's row and this one is what the sandbox itself adds.
 *
 * Exit status: the plugin's; 64 usage; 70 + the step that failed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int
wait_status(pid_t pid)
{
	int st;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 79;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* pid 1 of the new pid namespace: root, pivot, plugin. */
static int
init_main(const char *plugin, const char *root, int devnull)
{
	char dst[4096];
	pid_t pid;
	int fd;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return 71;
	if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755") != 0)
		return 72;
	snprintf(dst, sizeof(dst), "%s/old", root);
	if (mkdir(dst, 0700) != 0)
		return 73;
	snprintf(dst, sizeof(dst), "%s/plugin", root);
	if ((fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0700)) < 0)
		return 74;
	close(fd);
	if (mount(plugin, dst, NULL, MS_BIND, NULL) != 0 ||
	    mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
		return 75;
	if (chdir(root) != 0 || syscall(SYS_pivot_root, ".", "old") != 0 || chdir("/") != 0)
		return 76;
	if (umount2("/old", MNT_DETACH) != 0)
		return 77;
	pid = fork();
	if (pid == 0) {
		char *argv[] = { "plugin", NULL };

		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execv("/plugin", argv);
		_exit(127);
	}
	return wait_status(pid);
}

int
main(int argc, char **argv)
{
	char root[] = "/tmp/nsfloor.XXXXXX";
	int devnull, rc;
	pid_t pid;

	if (argc != 2) {
		fprintf(stderr, "usage: nsfloor PLUGIN\n");
		return 64;
	}
	if (mkdtemp(root) == NULL || (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return 70;
	pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) != 0)
			_exit(78);
		pid = fork();
		if (pid == 0)
			_exit(init_main(argv[1], root, devnull));
		_exit(wait_status(pid));
	}
	rc = wait_status(pid);
	rmdir(root);
	return rc;
}

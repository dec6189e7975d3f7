/*
 * cgroup_self.c: prints the cgroup the plugin runs in, for
 * test/integration/sandbox_cgroup.sh: the "0::" line of /proc/self/cgroup
 * as "cgroup: PATH" (needs /proc in filesystem_access).  Exit 0, or 1 when
 * /proc/self/cgroup is unreadable or has no such line.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CGROUP_FILE_MAX 4096

int
main(void)
{
	char buf[CGROUP_FILE_MAX + 1], *line;
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC), found = 0;
	ssize_t len;

	if (fd < 0) {
		perror("/proc/self/cgroup");
		return 1;
	}
	len = read(fd, buf, CGROUP_FILE_MAX);
	close(fd);
	if (len <= 0)
		return 1;
	buf[len] = '\0';
	for (line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n"))
		if (strncmp(line, "0::", 3) == 0) {
			printf("cgroup: %s\n", line + 3);
			found = 1;
		}
	fflush(stdout);
	return found ? 0 : 1;
}

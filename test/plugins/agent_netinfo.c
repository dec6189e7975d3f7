/*
 * agent_netinfo.c: action plugin for test/integration/agent_netns.py (the
 * spawner's pooled network namespaces).  Its stdin is the job's arguments,
 * {"mode": M, "port": P}; it prints one JSON object with "netns" (what
 * /proc/self/ns/net names, e.g. "net:[4026532281]"), "cookie" (the
 * namespace's SO_NETNS_COOKIE: unlike the inode number, which the kernel
 * hands to the next namespace once one is freed, a cookie is never used
 * twice in a boot), "fds" (the descriptors above 2 it holds: none, or the
 * sandbox leaked one) and, by mode:
 *   "ns"        nothing more;
 *   "wait"      sleeps 1 s first (to overlap with another job);
 *   "hold"      forks a child that leaves its process group (setsid), binds
 *               UDP 127.0.0.1:P and the abstract unix name
 *               "stavily-netinfo-P", then sleeps 60 s; the parent waits
 *               until both are bound, probes them itself ("probe": both
 *               "in_use" shows the probe sees a live holder) and exits,
 *               leaving the child behind;
 *   "probe"     "probe": {"udp": ..., "abstract": ...}, each "free" (bind
 *               works) or "in_use" (EADDRINUSE) or another errno name;
 *   "loopback"  a UDP datagram to itself over 127.0.0.1:
 *               "loopback": "ok" or what failed.
 * TCP is not used: under network_access none/restricted (the modes with a
 * network namespace) Landlock denies TCP bind and connect.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

static int
udp_bound(int port)
{
	struct sockaddr_in a;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int e = errno;

		close(s);
		return -e;
	}
	return s;
}

static int
abstract_bound(int port)
{
	struct sockaddr_un a;
	socklen_t len;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), n;

	if (s < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "stavily-netinfo-%d", port);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	if (bind(s, (struct sockaddr *)&a, len) != 0) {
		int e = errno;

		close(s);
		return -e;
	}
	return s;
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71   /* Linux 5.14 */
#endif

/* The cookie of our network namespace, 0 if unknown. */
static unsigned long long
netns_cookie(void)
{
	unsigned long long c = 0;
	socklen_t len = sizeof(c);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return 0;
	if (getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &c, &len) != 0)
		c = 0;
	close(s);
	return c;
}

static const char *
verdict(int fd)
{
	if (fd >= 0) {
		close(fd);
		return "free";
	}
	return fd == -EADDRINUSE ? "in_use" : strerror(-fd);
}

static void
print_probe(int port)
{
	const char *u = verdict(udp_bound(port));

	dprintf(1, ",\"probe\":{\"udp\":\"%s\",\"abstract\":\"%s\"}", u, verdict(abstract_bound(port)));
}

static const char *
loopback(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	char buf[8];
	int s = udp_bound(0);

	if (s < 0)
		return "bind failed";
	if (getsockname(s, (struct sockaddr *)&a, &len) != 0)
		return "getsockname failed";
	if (connect(s, (struct sockaddr *)&a, len) != 0)
		return "connect failed";
	if (send(s, "ping", 4, 0) != 4)
		return "send failed";
	if (recv(s, buf, sizeof(buf), MSG_DONTWAIT) != 4 || memcmp(buf, "ping", 4) != 0)
		return "no datagram back";
	close(s);
	return "ok";
}

int
main(void)
{
	char in[1024], ns[128], mode[16] = "ns", *p;
	ssize_t n = read(0, in, sizeof(in) - 1), l;
	int port = 0;

	in[n > 0 ? n : 0] = '\0';
	if ((p = strstr(in, "\"mode\"")) != NULL && (p = strchr(p + 6, '"')) != NULL)
		sscanf(p + 1, "%15[a-z]", mode);
	if ((p = strstr(in, "\"port\"")) != NULL && (p = strchr(p, ':')) != NULL)
		port = atoi(p + 1);
	l = readlink("/proc/self/ns/net", ns, sizeof(ns) - 1);
	if (l < 0)
		snprintf(ns, sizeof(ns), "error: %s", strerror(errno));
	else
		ns[l] = '\0';
	dprintf(1, "{\"netns\":\"%s\",\"cookie\":%llu,\"mode\":\"%s\",\"fds\":[", ns, netns_cookie(),
	    mode);
	{
		/* RLIMIT_NOFILE bounds what the plugin can hold: 1024 is above
		 * any max_open_files */
		int fd, first = 1;

		for (fd = 3; fd < 1024; fd++)
			if (fcntl(fd, F_GETFD) >= 0) {
				dprintf(1, "%s%d", first ? "" : ",", fd);
				first = 0;
			}
	}
	dprintf(1, "]");
	if (strcmp(mode, "wait") == 0) {
		struct timespec t = { 1, 0 };

		nanosleep(&t, NULL);
	}
	if (strcmp(mode, "hold") == 0) {
		int pfd[2];
		char ok = 0;
		pid_t pid;

		if (pipe(pfd) != 0 || (pid = fork()) < 0) {
			dprintf(1, ",\"error\":\"fork: %s\"}\n", strerror(errno));
			return 1;
		}
		if (pid == 0) {
			struct timespec t = { 60, 0 };
			int u, a;

			close(pfd[0]);
			(void)setsid();
			u = udp_bound(port);
			a = abstract_bound(port);
			ok = u >= 0 && a >= 0;
			(void)!write(pfd[1], &ok, 1);
			close(pfd[1]);
			close(1);
			close(2);
			nanosleep(&t, NULL);
			_exit(0);
		}
		close(pfd[1]);
		if (read(pfd[0], &ok, 1) != 1)
			ok = 0;
		dprintf(1, ",\"held\":%s", ok ? "true" : "false");
		print_probe(port);
	} else if (strcmp(mode, "probe") == 0) {
		print_probe(port);
	} else if (strcmp(mode, "loopback") == 0) {
		dprintf(1, ",\"loopback\":\"%s\"", loopback());
	}
	dprintf(1, "}\n");
	return 0;
}

/*
 * supervisor.h: watch one sandboxed program until it ends.
 *
 * Event-loop shaped so that one process (the agent's spawner) can run many
 * sandboxes: each run owns one epoll descriptor (sandbox_run_fd) grouping its
 * pidfd, seccomp listener, output pipes and a timerfd; the caller polls that
 * descriptor with its own loop and calls sandbox_run_step(run, 0) when it is
 * readable.  sandbox_run_wait() is the loop for a single run.
 *
 * What the supervisor does:
 *   - answers seccomp notifications: a forbidden syscall gets EPERM (or the
 *     plugin is killed, on_violation: kill) and a blocked_syscall_attempt
 *     event; an open-family call notified for reporting is checked against
 *     filesystem_access: outside -> unauthorized_filesystem_access + EPERM,
 *     inside -> SECCOMP_USER_NOTIF_FLAG_CONTINUE.  That CONTINUE approves
 *     nothing by itself: the path may change after we read it (TOCTOU), and
 *     Landlock, applied before the filter, still checks the real access.
 *     An mmap/mremap larger than memory_limit gets ENOMEM and a
 *     resource_limit_exceeded (memory) event;
 *   - relays stdout/stderr up to max_output (then kills: output);
 *   - enforces wall_timeout, max_violations, the CPU share by a SIGSTOP/
 *     SIGCONT duty cycle on the plugin's CPU clock (the whole process tree's
 *     when the policy allows fork), and samples memory,
 *     processes and descriptors to report rlimit hits;
 *   - collects the result (exit status/signal, times, peak RSS, limits hit,
 *     violations, layers).
 */
#ifndef STAVILY_SANDBOX_SUPERVISOR_H
#define STAVILY_SANDBOX_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/util.h"
#include "event/event.h"
#include "sandbox/spawn.h"

/* resource_limit_exceeded "limit" names (bits of limits_hit). */
enum sandbox_limit {
	SANDBOX_LIMIT_MEMORY = 1 << 0,
	SANDBOX_LIMIT_CPU_TIME = 1 << 1,
	SANDBOX_LIMIT_WALL_TIME = 1 << 2,
	SANDBOX_LIMIT_FILE_SIZE = 1 << 3,
	SANDBOX_LIMIT_PROCESSES = 1 << 4,
	SANDBOX_LIMIT_OUTPUT = 1 << 5,
	SANDBOX_LIMIT_OPEN_FILES = 1 << 6,
	SANDBOX_LIMIT_VIOLATIONS = 1 << 7,
};
#define SANDBOX_N_LIMITS 8

/* Size of one read from an output pipe. */
#define SANDBOX_RELAY_CHUNK 65536

struct sandbox_run {
	const struct sandbox_policy *p;  /* borrowed, must outlive the run */
	struct sandbox_child c;
	struct event_log *log;           /* borrowed, may be NULL */
	char plugin[256];                /* the program as given, for events */
	int out_fd, err_fd;              /* relay targets, -1 = discard */
	int epfd, timerfd;
	int mem_fd, fddir_fd, root_fd;   /* cached /proc/PID/mem, /proc/PID/fd, /proc/PID/root */
	uint64_t output_total;
	uint64_t violations;
	unsigned limits_hit;
	bool stopped;                    /* SIGSTOPped by the duty cycle */
	bool killed;                     /* we sent SIGKILL */
	bool done;
	bool fork_allowed;
	uint64_t deadline_ns;            /* 0 = none */
	uint64_t cpu_ns;                 /* last CPU sample of the plugin (its tree
	                                  * when fork is allowed) */
	uint64_t hwm_kb;                 /* last VmHWM sample of the plugin */
	/* result */
	int exit_code;                   /* -1 when signalled */
	int signal;                      /* 0 when exited */
	uint64_t wall_ms, cpu_ms, peak_rss_kb;
	struct sandbox_cgroup_usage cg_usage; /* read from the run's cgroup at the end */
};

/* Spawn (see sandbox_spawn) and set up supervision.  Returns 0, or an
 * enum sandbox_spawn_error with `err` set. */
int sandbox_run_start(struct sandbox_run *r, const struct sandbox_policy *p,
    const struct sandbox_filter *f, const struct sandbox_probe *pr, const char *program,
    char *const argv[], int stdin_fd, struct event_log *log, int out_fd, int err_fd,
    char err[SANDBOX_ERR_LEN]) WARN_UNUSED;

/* The same, exec'ing what `program_fd` reads (see sandbox_spawn_fd;
 * borrowed, -1: open `program`). */
int sandbox_run_start_fd(struct sandbox_run *r, const struct sandbox_policy *p,
    const struct sandbox_filter *f, const struct sandbox_probe *pr, const char *program,
    int program_fd, char *const argv[], int stdin_fd, struct event_log *log, int out_fd,
    int err_fd, char err[SANDBOX_ERR_LEN]) WARN_UNUSED;

/* The same, joining the network namespace `netns_fd` instead of creating
 * one where the rules allow it (see sandbox_spawn_netns; borrowed, -1: a
 * fresh one as usual).  The result's layers.netns says "reused" or
 * "fresh". */
int sandbox_run_start_netns(struct sandbox_run *r, const struct sandbox_policy *p,
    const struct sandbox_filter *f, const struct sandbox_probe *pr, const char *program,
    int program_fd, int netns_fd, char *const argv[], int stdin_fd, struct event_log *log,
    int out_fd, int err_fd, char err[SANDBOX_ERR_LEN]) WARN_UNUSED;

/* The descriptor to poll for this run (readable when step has work). */
int sandbox_run_fd(const struct sandbox_run *r);

/* Handle whatever is ready, waiting at most `timeout_ms` (0: do not wait).
 * Returns 1 when the run is over (result available), 0 otherwise. */
int sandbox_run_step(struct sandbox_run *r, int timeout_ms);

/* Step until the run is over. */
void sandbox_run_wait(struct sandbox_run *r);

/* Kill the plugin's process group now (e.g. agent shutdown). */
void sandbox_run_kill(struct sandbox_run *r);

/* Result JSON (see docs/sandbox.md), caller frees; NULL on allocation
 * failure. */
cJSON *sandbox_run_result(const struct sandbox_run *r) WARN_UNUSED;

/* The CLI's exit status for a finished run: the code, or 128+signal. */
int sandbox_run_exit_status(const struct sandbox_run *r);

/* Name of one limit bit ("memory", "wall_time", ...). */
const char *sandbox_limit_name(unsigned bit);

void sandbox_run_free(struct sandbox_run *r);

#endif

/*
 * syscalls.h: syscall names, aliases and groups accepted in sandbox policies.
 *
 * CONTRACT NOTE: config/ calls sandbox_syscall_name_valid() to reject unknown
 * names at configuration time (FILE:LINE).  The sandbox subsystem owns the
 * alias table (exec, fork, open, stat, @default, ...).
 */
#ifndef STAVILY_SANDBOX_SYSCALLS_H
#define STAVILY_SANDBOX_SYSCALLS_H

#include <stdbool.h>

/* True if `name` is a syscall libseccomp knows on x86-64, an alias, or a
 * @group. */
bool sandbox_syscall_name_valid(const char *name);

#endif

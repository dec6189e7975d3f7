/* see syscalls.h */
#include "sandbox/syscalls.h"

#include <seccomp.h>
#include <string.h>

static const char *const aliases[] = { "exec", "fork", "open", "stat", "@default" };

bool
sandbox_syscall_name_valid(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(name, aliases[i]) == 0)
			return true;
	return seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name) != __NR_SCMP_ERROR;
}

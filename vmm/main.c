/* main.c - build/vmm: parse the command line, build the machine, run it, return the guest's code. */
#include "vmm.h"

#if defined(__SANITIZE_ADDRESS__)
/* A sanitized build (SANITIZE=1): LeakSanitizer's check at exit stops every thread with ptrace from a helper
 * it clones, which no seccomp allowlist permits (sandbox.c), so it is off in build/vmm; the unit tests, which
 * run no sandbox, keep it. A user's ASAN_OPTIONS still override this. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

int main(int argc, char **argv)
{
	static struct vmm v;
	int status;

	options_parse(&v.cfg, argc, argv);
	if (v.cfg.dry_run) {
		machine_describe(&v);
		return 0;
	}
	machine_setup(&v);
	status = vcpu_run_all(&v);
	machine_teardown(&v);
	return status;
}

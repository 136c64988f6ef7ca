/* main.c - the guest's CPL3 main: banner, then self-tests (test=), the linked application (job module), or exit 0. */
#include "kernel.h"

static const char *const eoi_names[] = { "xapic", "x2apic", "pv" };

/* Printed only when there is work: every console byte is an exit (~25-80 us here), and a bare boot is
 * what start-up time is measured on. */
static void print_environment(void)
{
	int eoi = apic_eoi_mode();

	kprintf("exitless guest: tsc %u kHz (%s), eoi %s, %u module(s), %lu MiB free\n", clock_tsc_khz(),
		clock_source(), eoi >= 0 && eoi <= 2 ? eoi_names[eoi] : "?", pvh_module_count(),
		page_free_bytes() >> 20);
}

int main(void)
{
	const char *tests = kcmd_get("test");
	const void *job;
	size_t job_len;
	int have_job = pvh_module(0, &job, &job_len) == 0;

	kprintf("exitless guest: booted, running at CPL3\n");
	kprintf("exitless guest: cmdline: %s\n", kcmd_line());
	if (!tests && !have_job)
		return ABI_EXIT_OK;
	print_environment();
	if (tests)
		return selftest_run(tests);
	if (!app_main) {
		kprintf("exitless guest: a job module was given but no application is linked into this guest\n");
		return ABI_EXIT_BADARG;
	}
	return app_main(job, job_len);
}

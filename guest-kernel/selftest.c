/* selftest.c - built-in self-tests run by `test=NAME[,NAME...]` or `test=all`; PASS/FAIL lines on COM1. */
#include "kernel.h"

extern const struct guest_test __start_guest_tests[], __stop_guest_tests[];

static const struct guest_test *test_find(const char *name, size_t len)
{
	for (const struct guest_test *t = __start_guest_tests; t < __stop_guest_tests; t++)
		if (strlen(t->name) == len && !strncmp(t->name, name, len))
			return t;
	return NULL;
}

static int test_run(const struct guest_test *t)
{
	int rc = t->run();

	kprintf("%s %s\n", rc ? "FAIL" : "PASS", t->name);
	return rc != 0;
}

static void print_known(void)
{
	kprintf("exitless guest: known tests: all");
	for (const struct guest_test *t = __start_guest_tests; t < __stop_guest_tests; t++)
		kprintf(" %s", t->name);
	kprintf("\n");
}

/* Checks every name before running any, so a typo costs nothing but an error line and status 2. */
int selftest_run(const char *names)
{
	const char *p, *comma;
	int failed = 0;

	if (!strcmp(names, "all")) {
		for (const struct guest_test *t = __start_guest_tests; t < __stop_guest_tests; t++)
			if (t->in_all)
				failed += test_run(t);
		return failed ? ABI_EXIT_FAIL : ABI_EXIT_OK;
	}
	for (p = names; p; p = comma ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		if (!test_find(p, comma ? (size_t)(comma - p) : strlen(p))) {
			kprintf("exitless guest: unknown test '%.*s' in test=%s\n", comma ? (int)(comma - p) : (int)strlen(p),
				p, names);
			print_known();
			return ABI_EXIT_BADARG;
		}
	}
	for (p = names; p; p = comma ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		failed += test_run(test_find(p, comma ? (size_t)(comma - p) : strlen(p)));
	}
	return failed ? ABI_EXIT_FAIL : ABI_EXIT_OK;
}

static int test_cpl3(void)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	if ((cs & 3) != 3)
		kprintf("cpl3: CS=%#x, CPL %u\n", cs, cs & 3);
	return (cs & 3) != 3;
}
GUEST_TEST("cpl3", test_cpl3, 1);

/* A round trip through the int3 gate: arguments arrive, the result returns, callee-saved values survive. */
static int test_syscall(void)
{
	static const long args[][3] = { { 1, 2, 3 }, { -7, 0, 0 }, { 0x123456789abcdef, -1, 2 }, { 0, 0, 0 } };
	int bad = 0;

	for (unsigned i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		long a = args[i][0], b = args[i][1], c = args[i][2], want = a + 2 * b + 3 * c, got = sys_ping(a, b, c);

		if (got != want) {
			kprintf("syscall: ping(%ld, %ld, %ld) = %ld, want %ld\n", a, b, c, got, want);
			bad = 1;
		}
	}
	if (syscall3(SYS_COUNT + 100, 0, 0, 0) != -22) {
		kprintf("syscall: an unknown number did not give -EINVAL\n");
		bad = 1;
	}
	if (sys_irq_count(IRQ_ANY) < 0 || sys_irq_attach(IRQ_MAX_GSI, 0, 0) != -22) {
		kprintf("syscall: irq_count/irq_attach argument checks failed\n");
		bad = 1;
	}
	return bad;
}
GUEST_TEST("syscall", test_syscall, 1);

/* The formatter and parser as the guest build compiled them. */
static int test_klib(void)
{
	char buf[64];
	const char *end;
	int bad = 0;

	snprintf(buf, sizeof(buf), "%d|%5u|%-4x|%08lX|%s|%.2s|%c|%%", -42, 7u, 0xab, 0xdeadbeeful, "ok", "abc", 'z');
	bad |= strcmp(buf, "-42|    7|ab  |DEADBEEF|ok|ab|z|%") != 0;
	bad |= kstrtoull("0x1fZ", &end, 0) != 0x1f || *end != 'Z';
	bad |= kstrtoull("99999999999999999999", NULL, 10) != ~0ull;
	if (bad)
		kprintf("klib: got \"%s\"\n", buf);
	return bad;
}
GUEST_TEST("klib", test_klib, 1);

static int test_clock(void)
{
	uint64_t t0 = clock_tsc(), t1 = clock_tsc();

	if (t1 <= t0)
		kprintf("clock: the TSC did not advance (%lu then %lu)\n", t0, t1);
	return t1 <= t0;
}
GUEST_TEST("clock", test_clock, 1);

static int test_pages(void)
{
	char *a = page_alloc(1), *b = page_alloc(2);
	const void *job;
	size_t job_len;

	if (!a || !b || b < a + 4096 || ((uintptr_t)a & 4095) || (uintptr_t)a < (uintptr_t)_end) {
		kprintf("pages: page_alloc gave %p then %p (image ends at %p)\n", a, b, _end);
		return 1;
	}
	memset(b, 0x5a, 2 * 4096);	/* the pages must be writable RAM */
	if (b[2 * 4096 - 1] != 0x5a)
		return 1;
	if (pvh_module(0, &job, &job_len) != 0)
		return 0;
	/* Exhausts memory 16 MiB at a time (this test runs last among those that allocate): no chunk may
	 * cover the job module, which the loader placed somewhere in RAM. */
	for (char *c; (c = page_alloc(4096)) != NULL;) {
		if ((const char *)job < c + (16u << 20) && c < (const char *)job + job_len) {
			kprintf("pages: page_alloc gave %p, over module 0 at %p\n", c, job);
			return 1;
		}
	}
	return 0;
}
GUEST_TEST("pages", test_pages, 1);

/* Destructive: a read above the 4 GiB identity map must end in the crash report and exit code 3. */
static int test_fault(void)
{
	volatile uint64_t *unmapped = (volatile uint64_t *)0x100000000ull;

	kprintf("fault: reading %p, expect a page fault report\n", (void *)unmapped);
	return (int)*unmapped;
}
GUEST_TEST("fault", test_fault, 0);

/* Destructive: never returns, for the VMM's --timeout. */
static int test_spin(void)
{
	kprintf("spin: looping forever\n");
	for (;;)
		__asm__ volatile("pause");
	return 1;
}
GUEST_TEST("spin", test_spin, 0);

/* Writes one line on COM2, the results channel; the test harness checks where it arrived. */
static int test_results(void)
{
	res_printf("exitless guest: results channel (COM2) works\n");
	return 0;
}
GUEST_TEST("results", test_results, 1);

/* The interrupt path without a device: attach a spare pin (status 0: no MMIO ack), raise its vector by a
 * self-IPI, and wait for the count; exercises irq_entry, the EOI of the mode in effect and irq_wait. */
static int test_irq(void)
{
	const long gsi = IRQ_MAX_GSI - 1;
	long before, after, vec = sys_irq_attach((int)gsi, 0, 0);

	if (vec != IRQ_VECTOR_BASE + gsi && vec != -16) {	/* -EBUSY: attached by an earlier run */
		kprintf("irq: irq_attach(%ld) = %ld\n", gsi, vec);
		return 1;
	}
	for (int i = 0; i < 3; i++) {	/* three rounds: a missing EOI would block the second */
		before = sys_irq_count(gsi);
		sys_irq_raise(gsi);
		after = sys_irq_wait(gsi, (uint64_t)before);
		if (after != before + 1) {
			kprintf("irq: count %ld -> %ld after a self-IPI\n", before, after);
			return 1;
		}
	}
	return 0;
}
GUEST_TEST("irq", test_irq, 1);

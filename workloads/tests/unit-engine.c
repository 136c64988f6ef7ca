/* unit-engine.c - the engine's unit tests: job parser, offsets, statistics, JSON numbers, verify, runs. */
#include <stdio.h>

#include "tap.h"

int tap_n, tap_failed;

void tap_ok(int pass, const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;
	printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		printf("# %s:%d: failed: %s\n", file, line, expr);
		tap_failed++;
	}
}

int main(void)
{
	test_jobfile();
	test_offsets();
	test_stats();
	test_verify();
	test_engine();
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

/* tap.h - a minimal TAP producer for the C unit tests (tests/run counts "ok"/"not ok" lines). */
#ifndef TAP_H
#define TAP_H
#include <stdio.h>

static int tap_n, tap_failed;

/* Records one test result; on failure also prints where and the condition. */
#define ok(cond, ...)                                                                              \
	do {                                                                                       \
		int ok_ = !!(cond);                                                                \
		printf("%sok %d - ", ok_ ? "" : "not ", ++tap_n);                                  \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		if (!ok_) {                                                                        \
			tap_failed++;                                                              \
			printf("# %s:%d: %s\n", __FILE__, __LINE__, #cond);                        \
		}                                                                                  \
	} while (0)

/* Prints the plan and returns the process status. */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
#endif

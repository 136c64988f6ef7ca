/* tap.h - the one TAP producer of every C unit test (tests/run checks each plan against the results).
 * Link tests/tap.c. The plan ("1..N") is printed last, by tap_done: a test that dies halfway prints none,
 * and tests/run counts that as a failure. */
#ifndef EXITLESS_TAP_H
#define EXITLESS_TAP_H

/* Records one result: "ok N - what" or "not ok N - what" with file:line and the condition. */
#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
void tap_ok(int pass, const char *file, int line, const char *expr, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Prints the plan; returns the process status (1 when a test failed). */
int tap_done(void);
/* "Bail out!" with a reason: the rest cannot run. Exits 1. */
void tap_bail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif

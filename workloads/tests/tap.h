/* tap.h - TAP output shared by the engine's unit tests (ok N - name / not ok N - name). */
#ifndef EXITLESS_TAP_H
#define EXITLESS_TAP_H

#include "../engine/eng.h"

extern int tap_n, tap_failed;

/* Records one result; on failure prints the reason as a TAP diagnostic. */
#define TAP_OK(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
void tap_ok(int pass, const char *file, int line, const char *expr, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

void test_jobfile(void);
void test_offsets(void);
void test_stats(void);
void test_verify(void);
void test_engine(void);

#endif

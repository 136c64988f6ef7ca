/* unit.h - what the engine's unit tests share: the TAP helper and each test file's entry point. */
#ifndef EXITLESS_ENGINE_UNIT_H
#define EXITLESS_ENGINE_UNIT_H

#include "tap.h"
#include "eng.h"

/* test-jobfile.c: the job file last parsed, the parser's call, and an exact-error check (a TAP result). */
extern struct jobfile jf;
int parse(const char *text);
void check_error(const char *text, const char *want);

void test_jobfile(void);
void test_offsets(void);
void test_stats(void);
void test_verify(void);
void test_engine(void);
void test_rate(void);

#endif

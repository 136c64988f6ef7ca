/* unit.h - what the engine's unit tests share: the TAP helper and each test file's entry point. */
#ifndef EXITLESS_ENGINE_UNIT_H
#define EXITLESS_ENGINE_UNIT_H

#include "tap.h"
#include "eng.h"

void test_jobfile(void);
void test_offsets(void);
void test_stats(void);
void test_verify(void);
void test_engine(void);
void test_rate(void);

#endif

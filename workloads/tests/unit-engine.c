/* unit-engine.c - the engine's unit tests: job parser, offsets, statistics, JSON numbers, verify, runs. */
#include "unit.h"

int main(void)
{
	test_jobfile();
	test_offsets();
	test_stats();
	test_verify();
	test_engine();
	return tap_done();
}

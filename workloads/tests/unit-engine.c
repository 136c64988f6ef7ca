/* unit-engine.c - the engine's unit tests: job parser, offsets, statistics, JSON numbers, verify, runs, offered load. */
#include "unit.h"

int main(void)
{
	test_jobfile();
	test_offsets();
	test_stats();
	test_verify();
	test_engine();
	test_rate();
	return tap_done();
}

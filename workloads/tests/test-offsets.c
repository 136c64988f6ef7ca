/* test-offsets.c - offset generation: sequential wrap, random range/alignment/coverage, seeds, rwmix. */
#include "unit.h"

static struct job mkjob(uint32_t rw, uint64_t bs)
{
	struct job j;
	memset(&j, 0, sizeof(j));
	opt_defaults(&j);
	j.rw = rw;
	j.bs = bs;
	return j;
}

static void sequential(void)
{
	struct job j = mkjob(RW_READ, 4096);
	struct offgen g;
	offgen_init(&g, &j, 8192, 3 * 4096, 1);
	uint64_t want[] = {8192, 12288, 16384, 8192, 12288};
	int good = 1;
	for (unsigned i = 0; i < 5; i++)
		good &= offgen_offset(&g, DDIR_READ) == want[i];
	ok(good, "sequential offsets walk the region and wrap to its start");
	offgen_init(&g, &j, 0, 10240, 1);
	ok(offgen_ios_per_pass(&g) == 3, "sequential pass rounds a partial block up (fio: size=10k bs=4k is 3 I/Os)");
}

static void random_range(void)
{
	struct job j = mkjob(RW_RANDREAD, 4096);
	struct offgen g;
	uint64_t start = 1 << 20, n = 1000;
	static uint8_t seen[1000];
	int inside = 1, once = 1;
	offgen_init(&g, &j, start, n * 4096 + 100, 7);
	ok(offgen_ios_per_pass(&g) == n, "random pass counts whole blocks only");
	memset(seen, 0, sizeof(seen));
	for (uint64_t i = 0; i < n; i++) {
		uint64_t off = offgen_offset(&g, DDIR_READ);
		inside &= off >= start && off < start + n * 4096 && (off - start) % 4096 == 0;
		if (inside)
			once &= !seen[(off - start) / 4096]++;
	}
	ok(inside, "random offsets stay in the region, aligned to bs");
	ok(once, "one random pass touches every block exactly once (fio's random map)");
	uint64_t first = offgen_offset(&g, DDIR_READ);
	ok(first >= start && first < start + n * 4096, "the next pass starts over in range");
}

static void determinism(void)
{
	struct job j = mkjob(RW_RANDRW, 512);
	struct offgen a, b, c;
	int same = 1, differ = 0;
	offgen_init(&a, &j, 0, 1 << 20, 42);
	offgen_init(&b, &j, 0, 1 << 20, 42);
	offgen_init(&c, &j, 0, 1 << 20, 43);
	for (int i = 0; i < 100; i++) {
		uint8_t da = offgen_ddir(&a), db = offgen_ddir(&b);
		uint64_t oa = offgen_offset(&a, da), ob = offgen_offset(&b, db), oc = offgen_offset(&c, offgen_ddir(&c));
		same &= da == db && oa == ob;
		differ |= oa != oc;
	}
	ok(same, "the same seed gives the same sequence");
	ok(differ, "another seed gives another sequence");
}

static void rwmix(void)
{
	struct job j = mkjob(RW_RANDRW, 4096);
	struct offgen g;
	unsigned reads = 0, n = 100000;
	j.rwmixread = 70;
	offgen_init(&g, &j, 0, 1 << 30, 3);
	for (unsigned i = 0; i < n; i++)
		reads += offgen_ddir(&g) == DDIR_READ;
	ok(reads > n * 69 / 100 && reads < n * 71 / 100, "rwmixread=70 gives 70%% reads (%u of %u)", reads, n);
	j.rw = RW_READ;
	offgen_init(&g, &j, 0, 1 << 20, 3);
	ok(offgen_ddir(&g) == DDIR_READ, "rw=read only reads");
	j.rw = RW_RANDWRITE;
	offgen_init(&g, &j, 0, 1 << 20, 3);
	ok(offgen_ddir(&g) == DDIR_WRITE, "rw=randwrite only writes");
}

void test_offsets(void)
{
	sequential();
	random_range();
	determinism();
	rwmix();
}

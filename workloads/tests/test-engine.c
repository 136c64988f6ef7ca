/* test-engine.c - engine_run() end to end on a RAM device with a fake clock: limits, depth, verify, errors. */
#include <stdlib.h>

#include "unit.h"

#define RAM_SIZE (4u << 20)

static struct {
	uint8_t *mem;
	struct eng_io *q[64];
	unsigned n, committed, inflight, max_inflight, fail_at; /* fail_at: 1-based I/O number to fail */
	unsigned reap_max;                                      /* completions per reap() (0: all committed) */
	unsigned count;
} ram;

static int ram_queue(void *ctx, struct eng_io *io)
{
	(void)ctx;
	if (ram.n == 64)
		return ENG_Q_FULL;
	ram.q[ram.n++] = io;
	ram.inflight++;
	ram.max_inflight = ram.inflight > ram.max_inflight ? ram.inflight : ram.max_inflight;
	return ENG_Q_OK;
}

static void ram_commit(void *ctx)
{
	(void)ctx;
	ram.committed = ram.n;
}

/* Completes committed requests last-first, to prove the engine accepts any completion order. */
static int ram_reap(void *ctx, struct eng_io **done, unsigned max, int wait)
{
	unsigned k = 0;
	(void)ctx, (void)wait;
	while (k < max && ram.committed && (!ram.reap_max || k < ram.reap_max)) {
		struct eng_io *io = ram.q[--ram.committed];
		memmove(&ram.q[ram.committed], &ram.q[ram.committed + 1], (ram.n - ram.committed - 1) * sizeof(io));
		ram.n--, ram.inflight--;
		io->status = ++ram.count == ram.fail_at ? -5 : 0;
		if (io->op == ENG_OP_READ)
			memcpy(io->buf, ram.mem + io->offset, io->length);
		else if (io->op == ENG_OP_WRITE)
			memcpy(ram.mem + io->offset, io->buf, io->length);
		done[k++] = io;
	}
	return (int)k;
}

static const struct eng_dev_ops ram_ops = { .queue = ram_queue, .commit = ram_commit, .reap = ram_reap };
static struct eng_dev dev = {.ops = &ram_ops, .capacity = RAM_SIZE, .sector_size = 512, .max_inflight = 64};

/* Every read advances the clock by 1 us. busy_run: consecutive reads with a request queued or in flight;
 * a pause that left I/O outstanding would show up as thousands of them. */
static uint64_t clock_ns;
static unsigned busy_run, busy_run_max;
static uint64_t fake_now(void)
{
	busy_run = ram.inflight ? busy_run + 1 : 0;
	busy_run_max = busy_run > busy_run_max ? busy_run : busy_run_max;
	return clock_ns += 1000;
}
static char con[4096], res[1 << 16];
static size_t conlen, reslen;
static void to_con(const char *s, size_t n) { if (conlen + n < sizeof(con)) memcpy(con + conlen, s, n), conlen += n; }
static void to_res(const char *s, size_t n) { if (reslen + n < sizeof(res)) memcpy(res + reslen, s, n), reslen += n; }
/* The engine never frees (its contract): its blocks are listed and run() frees those of the last run. */
#define TEST_BLOCKS 256
static void *blocks[TEST_BLOCKS];
static unsigned nblocks;
static void *test_alloc(size_t size, size_t align)
{
	void *p = nblocks < TEST_BLOCKS ? aligned_alloc(align, (size + align - 1) / align * align) : NULL;
	if (p)
		blocks[nblocks++] = p;
	return p ? memset(p, 0, size) : NULL;
}
static const struct eng_env env = { .now_ns = fake_now, .console = to_con, .results = to_res, .alloc = test_alloc };

static int run(const char *job)
{
	while (nblocks)
		free(blocks[--nblocks]);
	conlen = reslen = 0;
	memset(con, 0, sizeof(con));
	memset(res, 0, sizeof(res));
	ram.max_inflight = ram.count = busy_run_max = 0;
	return engine_run(job, strlen(job), &env, &dev);
}

/* The number after "key" : inside the first object named dir ("read"/"write") of the results. */
static unsigned long long field(const char *dir, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\" : {", dir);
	const char *p = strstr(res, pat);
	snprintf(pat, sizeof(pat), "\"%s\" : ", key);
	p = p ? strstr(p, pat) : NULL;
	return p ? strtoull(p + strlen(pat), NULL, 10) : ~0ull;
}

static void limits(void)
{
	ok(run("[j]\nrw=randread\nbs=4k\nnumber_ios=100\niodepth=8\n") == 0 && field("read", "io_bytes") == 409600,
	       "number_ios=100 reads 100 blocks");
	ok(ram.max_inflight == 8, "iodepth=8 keeps 8 requests in flight (%u)", ram.max_inflight);
	ok(run("[j]\nrw=read\nbs=64k\nsize=1m\n") == 0 && field("read", "total_ios") == 16, "size=1m at 64k is 16 reads");
	ok(run("[j]\nrw=randrw\nbs=4k\nsize=1m\n") == 0 &&
	       field("read", "total_ios") + field("write", "total_ios") == 256, "randrw covers size once in total");
	ok(run("[j]\nrw=read\nbs=4k\nsize=64k\ntime_based\nruntime=10ms\nramp_time=1ms\n") == 0 &&
	       field("read", "runtime") == 10 && field("read", "total_ios") > 16, "time_based loops until runtime (ramp excluded)");
	ok(strstr(res, "\"99.000000\" : ") && strstr(res, "\"lat_ns\" : {") && strstr(res, "\"exitless\" : {"),
	       "results carry percentiles, lat_ns and the exitless block");
	{
		const char *lat;
		int one = run("[j]\nrw=read\nsize=64k\n") == 0 && (lat = strstr(res, "\"lat_ns\" : {")) &&
			  !strstr(lat, "\"percentile\"");
		ok(one && run("[j]\nrw=read\nsize=64k\nlat_percentiles=1\n") == 0 &&
			   (lat = strstr(res, "\"lat_ns\" : {")) && strstr(lat, "\"percentile\"") &&
			   strstr(lat, "\"50.000000\" : "),
		       "lat_ns has percentiles with lat_percentiles=1 only");
	}
	ok(run("[a]\nrw=read\nsize=64k\n[b]\nrw=write\nsize=64k\n") == 0 && strstr(res, "\"jobname\" : \"b\""),
	       "two job sections run one after another");
}

static uint64_t took_ns; /* fake-clock time taken by the last timed() run */

static int timed(const char *job)
{
	uint64_t t0 = clock_ns;
	int rc = run(job);
	took_ns = clock_ns - t0;
	return rc;
}

#define MS 1000000ull

/* thinktime, thinktime_blocks, startdelay: the pauses fio 3.33 makes (backend.c handle_thinktime, run_threads). */
static void pauses(void)
{
	int rc = timed("[j]\nrw=randread\nbs=4k\nnumber_ios=5\nthinktime=2000\n");
	ok(rc == 0 && took_ns >= 8 * MS && field("read", "total_ios") == 5,
	       "thinktime=2000 (us) with number_ios=5 takes >= 8 ms (%llu us)", (unsigned long long)(took_ns / 1000));
	ok(took_ns >= 10 * MS && took_ns < 11 * MS && field("read", "runtime") == 10,
	       "one pause after each of the 5 I/Os, the last one too, counted in runtime (as fio)");
	ok(busy_run_max < 20, "iodepth=1: nothing in flight while paused (longest busy stretch %u us)", busy_run_max);
	ok(strstr(con, " thinktime=2000us thinktime_blocks=1\n"), "the job line names the pause");
	rc = timed("[j]\nrw=read\nbs=4k\nnumber_ios=20\nthinktime=1ms\nthinktime_blocks=4\n");
	ok(rc == 0 && took_ns >= 5 * MS && took_ns < 6 * MS, "thinktime_blocks=4: 20 I/Os pause 5 times (%llu us)",
	       (unsigned long long)(took_ns / 1000));
	rc = timed("[j]\nrw=randread\nbs=4k\nnumber_ios=40\niodepth=8\nthinktime=1ms\n");
	ok(rc == 0 && ram.max_inflight == 8 && took_ns >= 5 * MS && took_ns < 6 * MS && busy_run_max < 50,
	       "iodepth=8: the queue is drained before each pause (fio's io_u_quiesce), 40 I/Os pause 5 times "
	       "(%llu us, longest busy stretch %u us)", (unsigned long long)(took_ns / 1000), busy_run_max);
	ram.reap_max = 1;
	rc = timed("[j]\nrw=randread\nbs=4k\nnumber_ios=40\niodepth=8\nthinktime=1ms\n");
	ram.reap_max = 0;
	ok(rc == 0 && took_ns >= 33 * MS && took_ns < 34 * MS && busy_run_max < 50,
	       "one completion per reap: 40 I/Os at iodepth=8 pause 33 times, as fio 3.33 with io_uring "
	       "(%llu us, longest busy stretch %u us)", (unsigned long long)(took_ns / 1000), busy_run_max);
	rc = timed("[j]\nrw=randread\nbs=4k\nnumber_ios=5\niodepth=8\nthinktime=1ms\n");
	ok(rc == 0 && took_ns < MS, "iodepth=8, number_ios=5: nothing completes before the last start, no pause "
	       "(as fio)");
	rc = timed("[j]\nrw=read\nbs=4k\nsize=64k\ntime_based\nruntime=10ms\nthinktime=4ms\n");
	ok(rc == 0 && field("read", "runtime") == 10 && field("read", "total_ios") == 3,
	       "a pause ends where runtime ends");
	rc = timed("[w]\nrw=write\nbs=4k\noffset=3m\nsize=16k\nverify=crc32c\nthinktime=1ms\n");
	ok(rc == 0 && took_ns >= 4 * MS && took_ns < 5 * MS && strstr(con, "4 blocks checked, 0 mismatches"),
	       "4 writes pause 4 times, the verify read-back never (as fio)");
	rc = timed("[a]\nrw=read\nsize=4k\nstartdelay=5ms\n");
	ok(rc == 0 && took_ns >= 5 * MS && took_ns < 6 * MS && field("read", "runtime") == 0,
	       "startdelay=5ms waits before the job, outside its runtime");
	rc = timed("[a]\nrw=read\nsize=12k\nthinktime=3ms\n[b]\nrw=read\nsize=4k\nstartdelay=5ms\n");
	ok(rc == 0 && took_ns >= 9 * MS && took_ns < 10 * MS && strstr(res, "\"jobname\" : \"b\""),
	       "startdelay counts from the start of the run (as fio): b, after a 9 ms job, starts at once");
}

static void verify(void)
{
	ok(run("[w]\nrw=randwrite\nbs=4k\noffset=1m\nsize=256k\nverify=crc32c\niodepth=16\n") == 0 &&
	       strstr(con, "64 blocks checked, 0 mismatches"), "write job with verify reads back and checks 64 blocks");
	ok(field("read", "io_bytes") == 262144 && strstr(res, "\"sync\" : {\n        \"total_ios\" : 1"),
	       "verify read-back counts as reads, after one flush (as fio)");
	ok(run("[r]\nrw=read\nbs=4k\noffset=1m\nsize=256k\nverify=crc32c\n") == 0, "read job verifies written blocks");
	ram.mem[(1 << 20) + 4096 * 3 + 77] ^= 1;
	ok(run("[r]\nrw=randread\nbs=4k\noffset=1m\nsize=256k\nverify=crc32c\niodepth=4\n") == 1 &&
	       strstr(con, "verify: offset 1060864 (LBA 2072): payload byte +77"), "a corrupted byte fails with its offset");
	ok(run("[r]\nrw=read\nbs=4k\nsize=8k\nverify=crc32c\n") == 1 && strstr(con, "magic expected"),
	       "unwritten blocks fail verification");
}

static void errors(void)
{
	ram.fail_at = 5;
	ok(run("[j]\nrw=read\nsize=64k\n") == 1 && strstr(con, "I/O error: read offset 16384 (LBA 32)"),
	       "a device error fails the job and names the offset");
	ram.fail_at = 0;
	ok(run("[j]\nrw=read\nfoo=bar\n") == 2 && !strcmp(con, "job file line 3: unknown option 'foo'\n"),
	       "a bad job file returns 2 with one line");
	ok(run("[j]\nrw=read\nsize=8m\n") == 2 && strstr(con, "past the end of the device"), "a region past the end");
	ok(run("[j]\nrw=read\nbs=1000\n") == 2 && strstr(con, "sector size"), "bs not a multiple of the sector");
	dev.read_only = 1;
	ok(run("[j]\nrw=write\nsize=64k\n") == 2 && strstr(con, "read-only"), "writes to a read-only device");
	dev.read_only = 0;
}

/* numjobs: clones with their own regions, one measured window for the group, one queue each in parallel. */
static unsigned marks[3], ctx_seen;
static void count_mark(int what) { marks[what == ENG_MARK_BEGIN ? 1 : what == ENG_MARK_END ? 2 : 0]++; }
static int seq_parallel(unsigned n, void (*fn)(void *arg, unsigned i), void *arg)
{
	for (unsigned i = n; i-- > 0;) /* the clones in reverse: nothing may depend on their order */
		fn(arg, i);
	return 0;
}
static int rec_queue(void *ctx, struct eng_io *io)
{
	ctx_seen |= 1u << (unsigned)(uintptr_t)ctx;
	return ram_ops.queue(ctx, io);
}
static unsigned count_of(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void clones(void)
{
	static const char job[] = "[w]\nrw=randwrite\nbs=4k\nsize=64k\nverify=crc32c\nnumjobs=2\noffset_increment=1m\n";
	static const struct eng_dev_ops rec_ops = { .queue = rec_queue, .commit = ram_commit, .reap = ram_reap };
	static void *const qs[2] = { (void *)0, (void *)1 };
	struct eng_env e = env;
	struct eng_dev d = dev;

	ok(run(job) == 0 && count_of(res, "\"jobname\" : \"w\"") == 2 && count_of(con, "16 blocks checked, 0 mismatches") == 2 &&
		   strstr(con, "job 'w' clone 1: rw=randwrite bs=4096 iodepth=1 region 1048576+65536"),
	   "numjobs=2: two clones, two JSON entries, the second at offset_increment");
	e.mark = count_mark;
	memset(marks, 0, sizeof(marks));
	conlen = reslen = 0;
	ok(engine_run(job, strlen(job), &e, &dev) == 0 && marks[1] == 1 && marks[2] == 1,
	   "the clones share one measured window: one BEGIN, one END (%u, %u)", marks[1], marks[2]);
	e.parallel = seq_parallel;
	conlen = 0;
	memset(con, 0, sizeof(con));
	ok(engine_run(job, strlen(job), &e, &dev) == 2 && strstr(con, "numjobs=2 runs its clones at once, each on a queue of its own; there are 1"),
	   "in parallel, a queue per clone or one clear line and 2");
	d.ops = &rec_ops;
	d.queues = qs;
	d.nqueues = 2;
	ctx_seen = 0;
	memset(marks, 0, sizeof(marks));
	ok(engine_run(job, strlen(job), &e, &d) == 0 && ctx_seen == 3 && marks[1] == 1 && marks[2] == 1,
	   "in parallel, clone k queues on queues[k] (seen %#x)", ctx_seen);
}

void test_engine(void)
{
	ram.mem = calloc(1, RAM_SIZE);
	limits();
	pauses();
	verify();
	errors();
	clones();
	free(ram.mem);
}

/* test-engine.c - engine_run() end to end on a RAM device with a fake clock: limits, depth, verify, errors. */
#include <stdlib.h>

#include "tap.h"

#define RAM_SIZE (4u << 20)

static struct {
	uint8_t *mem;
	struct eng_io *q[64];
	unsigned n, committed, inflight, max_inflight, fail_at; /* fail_at: 1-based I/O number to fail */
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
	while (k < max && ram.committed) {
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

static const struct eng_dev_ops ram_ops = {ram_queue, ram_commit, ram_reap};
static struct eng_dev dev = {&ram_ops, NULL, RAM_SIZE, 512, 64, 0, 0};

static uint64_t clock_ns;
static uint64_t fake_now(void) { return clock_ns += 1000; }
static char con[4096], res[1 << 16];
static size_t conlen, reslen;
static void to_con(const char *s, size_t n) { if (conlen + n < sizeof(con)) memcpy(con + conlen, s, n), conlen += n; }
static void to_res(const char *s, size_t n) { if (reslen + n < sizeof(res)) memcpy(res + reslen, s, n), reslen += n; }
static void *test_alloc(size_t size, size_t align)
{
	void *p = aligned_alloc(align, (size + align - 1) / align * align);
	return p ? memset(p, 0, size) : NULL;
}
static const struct eng_env env = {fake_now, to_con, to_res, test_alloc, NULL, NULL};

static int run(const char *job)
{
	conlen = reslen = 0;
	memset(con, 0, sizeof(con));
	memset(res, 0, sizeof(res));
	ram.max_inflight = ram.count = 0;
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
	TAP_OK(run("[j]\nrw=randread\nbs=4k\nnumber_ios=100\niodepth=8\n") == 0 && field("read", "io_bytes") == 409600,
	       "number_ios=100 reads 100 blocks");
	TAP_OK(ram.max_inflight == 8, "iodepth=8 keeps 8 requests in flight (%u)", ram.max_inflight);
	TAP_OK(run("[j]\nrw=read\nbs=64k\nsize=1m\n") == 0 && field("read", "total_ios") == 16, "size=1m at 64k is 16 reads");
	TAP_OK(run("[j]\nrw=randrw\nbs=4k\nsize=1m\n") == 0 &&
	       field("read", "total_ios") + field("write", "total_ios") == 256, "randrw covers size once in total");
	TAP_OK(run("[j]\nrw=read\nbs=4k\nsize=64k\ntime_based\nruntime=10ms\nramp_time=1ms\n") == 0 &&
	       field("read", "runtime") == 10 && field("read", "total_ios") > 16, "time_based loops until runtime (ramp excluded)");
	TAP_OK(strstr(res, "\"99.000000\" : ") && strstr(res, "\"lat_ns\" : {") && strstr(res, "\"exitless\" : {"),
	       "results carry percentiles, lat_ns and the exitless block");
	TAP_OK(run("[a]\nrw=read\nsize=64k\n[b]\nrw=write\nsize=64k\n") == 0 && strstr(res, "\"jobname\" : \"b\""),
	       "two job sections run one after another");
}

static void verify(void)
{
	TAP_OK(run("[w]\nrw=randwrite\nbs=4k\noffset=1m\nsize=256k\nverify=crc32c\niodepth=16\n") == 0 &&
	       strstr(con, "64 blocks checked, 0 mismatches"), "write job with verify reads back and checks 64 blocks");
	TAP_OK(field("read", "io_bytes") == 262144 && strstr(res, "\"sync\" : {\n        \"total_ios\" : 1"),
	       "verify read-back counts as reads, after one flush (as fio)");
	TAP_OK(run("[r]\nrw=read\nbs=4k\noffset=1m\nsize=256k\nverify=crc32c\n") == 0, "read job verifies written blocks");
	ram.mem[(1 << 20) + 4096 * 3 + 77] ^= 1;
	TAP_OK(run("[r]\nrw=randread\nbs=4k\noffset=1m\nsize=256k\nverify=crc32c\niodepth=4\n") == 1 &&
	       strstr(con, "verify: offset 1060864 (LBA 2072): payload byte +77"), "a corrupted byte fails with its offset");
	TAP_OK(run("[r]\nrw=read\nbs=4k\nsize=8k\nverify=crc32c\n") == 1 && strstr(con, "magic expected"),
	       "unwritten blocks fail verification");
}

static void errors(void)
{
	ram.fail_at = 5;
	TAP_OK(run("[j]\nrw=read\nsize=64k\n") == 1 && strstr(con, "I/O error: read offset 16384 (LBA 32)"),
	       "a device error fails the job and names the offset");
	ram.fail_at = 0;
	TAP_OK(run("[j]\nrw=read\nfoo=bar\n") == 2 && !strcmp(con, "job file line 3: unknown option 'foo'\n"),
	       "a bad job file returns 2 with one line");
	TAP_OK(run("[j]\nrw=read\nsize=8m\n") == 2 && strstr(con, "past the end of the device"), "a region past the end");
	TAP_OK(run("[j]\nrw=read\nbs=1000\n") == 2 && strstr(con, "sector size"), "bs not a multiple of the sector");
	dev.read_only = 1;
	TAP_OK(run("[j]\nrw=write\nsize=64k\n") == 2 && strstr(con, "read-only"), "writes to a read-only device");
	dev.read_only = 0;
}

void test_engine(void)
{
	ram.mem = calloc(1, RAM_SIZE);
	limits();
	verify();
	errors();
	free(ram.mem);
}

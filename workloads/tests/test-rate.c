/* test-rate.c - offered load: the rate options, fio's schedule, the exponential gaps, and whole runs on a
 * fake clock against a device with a fixed service time (the rate met, not met, caught up, quiesced). */
#include <stdlib.h>

#include "unit.h"

static int rates_are(const char *text, uint64_t r0, uint64_t r1, uint64_t i0, uint64_t i1)
{
	const struct job *j = &jf.jobs[0];
	return parse(text) == 0 && j->rate[0] == r0 && j->rate[1] == r1 && j->rate_iops[0] == i0 && j->rate_iops[1] == i1;
}

static void options(void)
{
	ok(rates_are("[j]\nrate=8m\n", 8u << 20, 8u << 20, 0, 0), "rate=8m: 8 MiB/s for reads and for writes (k=1024)");
	ok(rates_are("[j]\nrate=1m,500k\n", 1u << 20, 500u << 10, 0, 0), "rate=1m,500k: reads, writes");
	ok(rates_are("[j]\nrate=,500k\n", 0, 500u << 10, 0, 0), "rate=,500k: writes only");
	ok(rates_are("[j]\nrate=500k,\n", 500u << 10, 0, 0, 0), "rate=500k,: reads only");
	ok(rates_are("[j]\nrate=1m,2m,3m\n", 1u << 20, 2u << 20, 0, 0), "a third value (trims) is accepted");
	ok(rates_are("[j]\nrate_iops=2000,500\n", 0, 0, 2000, 500), "rate_iops=2000,500");
	ok(rates_are("[j]\nrate_iops=2k\n", 0, 0, 2048, 2048), "rate_iops=2k is 2048, as fio reads it");
	ok(rates_are("[global]\nrate_iops=1000\n[j]\nrate_iops=,300\n", 0, 0, 1000, 300),
	   "rate_iops=,300 after rate_iops=1000: the reads keep 1000 (as in fio)");
	ok(parse("[j]\n") == 0 && jf.jobs[0].rate_process == RATE_LINEAR && !jf.jobs[0].rate[0] &&
	       !jf.jobs[0].rate_iops[1], "defaults: no rate, rate_process=linear");
	ok(parse("[global]\nrate_process=poisson\nrate_iops=100\n[j]\n") == 0 &&
	       jf.jobs[0].rate_process == RATE_POISSON && jf.jobs[0].rate_iops[0] == 100, "[global] rate_process=poisson");
	ok(parse("[j]\nbs=8k\nrate_iops=100\n") == 0 && rate_bps(&jf.jobs[0], DDIR_WRITE) == 819200,
	   "rate_iops is rate_iops * bs bytes per second");
}

static void errors(void)
{
	check_error("[j]\nrate=8q\n", "job file line 2: bad value '8q' for option 'rate' (offered bytes/s per direction, "
				      "e.g. 8m, or read,write: 8m,1m / ,1m / 8m,)");
	check_error("[j]\nrate=1,2,3,4\n", "job file line 2: bad value '1,2,3,4' for option 'rate' (offered bytes/s per "
					   "direction, e.g. 8m, or read,write: 8m,1m / ,1m / 8m,)");
	check_error("[j]\nrate_iops=5000000000\n", "job file line 2: bad value '5000000000' for option 'rate_iops' "
						   "(offered I/Os per second per direction, e.g. 2000, or read,write: 2000,500)");
	check_error("[j]\nrate_process=uniform\n", "job file line 2: bad value 'uniform' for option 'rate_process' "
						   "(linear (evenly spaced) or poisson (exponential gaps))");
	check_error("[j]\nrate=1m\nrate_iops=10\n", "job file line 1: job 'j': rate and rate_iops are mutually exclusive "
						    "(as in fio)");
	check_error("[j]\nbs=4k\nrate=1000\nrate_process=poisson\n",
		    "job file line 1: job 'j': rate_process=poisson needs a rate of at least one bs per second");
	check_error("[j]\nbs=1g\nrate_iops=100000\n", "job file line 1: job 'j': the offered rate is above 16 TiB/s");
}

/* fio's linear schedule: I/O k of a direction is due k * bs / bps seconds after the epoch, in whole us. */
static void linear(void)
{
	struct pacer p;
	uint64_t due;
	int ok_all = 1;

	parse("[j]\nrw=randrw\nbs=4k\nrate_iops=3000,1000\n");
	pacer_init(&p, &jf.jobs[0], 1000000);
	for (unsigned k = 0; k < 3000; k++) {
		ok_all &= pacer_next(&p, DDIR_READ, 0, 0, &due) == DDIR_READ && due == 1000000 + k * 1000000ull / 3000 * 1000;
		pacer_started(&p, DDIR_READ, 4096);
	}
	ok(ok_all && p.next_us[DDIR_READ] == 1000000, "3000 reads at 3000 IOPS: due at k * 333.33 us, truncated to us");
	ok(pacer_next(&p, DDIR_READ, 1, 1000000, &due) == DDIR_WRITE && due == 1000000,
	   "a mixed job whose reads are ahead takes a write that is due (the writes' schedule is their own)");
	pacer_started(&p, DDIR_WRITE, 4096);
	ok(pacer_next(&p, DDIR_READ, 1, 1000000, &due) == DDIR_WRITE && due == 2000000,
	   "both ahead: the direction due first (writes at 1 ms, reads at 1 s after the epoch)");
	ok(pacer_next(&p, DDIR_READ, 0, 1000000, &due) == DDIR_READ && due == 1001000000,
	   "without the other direction (rwmix 0) it waits for its own");
	pacer_restart(&p, 5000000);
	ok(pacer_next(&p, DDIR_READ, 0, 5000000, &due) == DDIR_READ && due == 5000000 && !p.issued[DDIR_READ],
	   "a restart (the end of ramp_time) starts the schedule again");
	parse("[j]\nrw=randrw\nrate_iops=,10\n");
	pacer_init(&p, &jf.jobs[0], 0);
	pacer_started(&p, DDIR_WRITE, 4096);
	ok(pacer_next(&p, DDIR_WRITE, 1, 5, &due) == DDIR_READ && due == 0,
	   "rate_iops=,10: the unlimited reads are always due, a mixed job takes them while writes wait");
}

/* fio's poisson gaps: mean * -ln(U), U in (0, 1]. Their mean, the share above the mean (e^-1) and the
 * coefficient of variation (1) tell an exponential from evenly spaced or uniform gaps. */
static void exponential(void)
{
	struct eng_rng r;
	const unsigned n = 200000;
	uint64_t sum = 0, above = 0, sumsq = 0;

	rng_seed(&r, 42);
	for (unsigned i = 0; i < n; i++) {
		uint64_t g = rate_exp_gap_us(1000, &r);
		sum += g, sumsq += g * g, above += g > 1000;
	}
	uint64_t mean_milli = sum * 1000 / n; /* us * 1000 */
	uint64_t var = sumsq / n - (sum / n) * (sum / n);
	/* truncation to whole us lowers the mean by 0.5 us: 999.5 expected; sd of the mean 1000/sqrt(n) = 2.2 */
	ok(mean_milli > 992500 && mean_milli < 1006500, "mean gap 999.5 us expected, %llu.%03llu", (unsigned long long)(mean_milli / 1000),
	   (unsigned long long)(mean_milli % 1000));
	ok(above * 10000 / n > 3629 && above * 10000 / n < 3729, "share of gaps above the mean: e^-1 = 0.3679 expected, 0.%04llu",
	   (unsigned long long)(above * 10000 / n));
	ok(var > 960000 && var < 1040000, "variance: mean^2 = 10^6 expected, %llu", (unsigned long long)var);
	ok(rate_exp_gap_us(0, &r) == 0, "a mean of 0 (fio: above 10^6 IOPS) gives no gap");
}

/* ---- whole runs: a fake clock (1 us per read) and a device that completes each request `lat_us` after
 * its commit, any number at once (a null device with latency=, as seen from the guest) ---- */

#define DEPTH 64
static uint64_t clk;
static struct {
	struct eng_io *q[DEPTH];
	uint64_t due[DEPTH];
	unsigned n, committed, max_inflight;
	uint64_t lat_us;
	uint64_t slow_until, slow_us; /* requests committed before slow_until (ns) take slow_us */
} dev;

static uint64_t now(void) { return clk += 1000; }
static void quiet(const char *s, size_t n) { (void)s, (void)n; }
static char res[1 << 16];
static size_t reslen;
static void to_res(const char *s, size_t n) { if (reslen + n < sizeof(res)) memcpy(res + reslen, s, n), reslen += n; }
static void *blocks[64];
static unsigned nblocks;
static void *alloc(size_t size, size_t align)
{
	void *p = nblocks < 64 ? aligned_alloc(align, (size + align - 1) / align * align) : NULL;
	if (p)
		blocks[nblocks++] = p;
	return p ? memset(p, 0, size) : NULL;
}

static int d_queue(void *ctx, struct eng_io *io)
{
	(void)ctx;
	if (dev.n == DEPTH)
		return ENG_Q_FULL;
	dev.q[dev.n++] = io;
	return ENG_Q_OK;
}

static void d_commit(void *ctx)
{
	(void)ctx;
	for (; dev.committed < dev.n; dev.committed++)
		dev.due[dev.committed] = clk + (clk < dev.slow_until ? dev.slow_us : dev.lat_us) * 1000;
	dev.max_inflight = dev.n > dev.max_inflight ? dev.n : dev.max_inflight;
}

/* FIFO: the oldest committed request is due first. wait=1 moves the clock to it. */
static int d_reap(void *ctx, struct eng_io **done, unsigned max, int wait)
{
	unsigned k = 0;
	(void)ctx;
	if (wait && dev.committed && clk < dev.due[0])
		clk = dev.due[0];
	while (k < max && k < dev.committed && dev.due[k] <= clk)
		done[k] = dev.q[k], done[k]->status = 0, k++;
	memmove(dev.q, dev.q + k, (dev.n - k) * sizeof(dev.q[0]));
	memmove(dev.due, dev.due + k, (dev.n - k) * sizeof(dev.due[0]));
	dev.n -= k, dev.committed -= k;
	return (int)k;
}

static const struct eng_dev_ops ops = { .queue = d_queue, .commit = d_commit, .reap = d_reap };

static uint64_t ios(const char *dir)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\" : {", dir);
	const char *p = strstr(res, pat);
	p = p ? strstr(p, "\"total_ios\" : ") : NULL;
	return p ? strtoull(p + 14, NULL, 10) : ~0ull;
}

/* Runs job on the device with service time lat_us (slow_us for the first slow_ms); returns the reads completed in
 * the window. */
static uint64_t run_slow_start(const char *job, uint64_t lat_us, uint64_t slow_ms, uint64_t slow_us)
{
	static const struct eng_env env = { .now_ns = now, .console = quiet, .results = to_res, .alloc = alloc };
	struct eng_dev d = { .ops = &ops, .capacity = 64u << 20, .sector_size = 512, .max_inflight = DEPTH };
	while (nblocks)
		free(blocks[--nblocks]);
	reslen = 0;
	memset(res, 0, sizeof(res));
	memset(&dev, 0, sizeof(dev));
	dev.lat_us = lat_us;
	dev.slow_until = slow_ms * 1000000;
	dev.slow_us = slow_us;
	clk = 0;
	return engine_run(job, strlen(job), &env, &d) == 0 ? ios("read") : ~0ull;
}

static uint64_t run(const char *job, uint64_t lat_us)
{
	return run_slow_start(job, lat_us, 0, 0);
}

#define PACED "[j]\nrw=randread\nbs=4k\ntime_based\nruntime=100ms\n"

static void runs(void)
{
	uint64_t n;

	n = run(PACED "rate_iops=1000\n", 50);
	ok(n == 100 && dev.max_inflight == 1, "rate_iops=1000 for 100 ms: 100 reads (%llu)", (unsigned long long)n);
	n = run(PACED "rate_iops=1000\niodepth=8\n", 50);
	ok(n == 100 && dev.max_inflight == 1, "iodepth=8 at a rate the device keeps: one request in flight at a time, "
	   "the rest wait for their turn (fio's io_u_quiesce) (%u)", dev.max_inflight);
	n = run(PACED "rate=4000k\n", 50);
	ok(n == 100, "rate=4000k of 4k reads is 1000 IOPS (%llu)", (unsigned long long)n);
	n = run(PACED "rate_iops=1000\n", 3000);
	ok(n == 34, "a device slower than the rate (3 ms per read, qd1): it sets the pace, 34 reads (%llu)",
	   (unsigned long long)n);
	n = run(PACED "rate_iops=1000\niodepth=4\n", 3000);
	ok(n >= 99 && n <= 100 && dev.max_inflight == 3, "at iodepth=4 the same device keeps up: the requests due go "
	   "out back to back, 3 in flight at most, and drain before the next wait (as fio) (%llu reads, %u in flight)",
	   (unsigned long long)n, dev.max_inflight);
	n = run(PACED "rate_iops=1000\nthinktime=10ms\nthinktime_blocks=50\n", 50);
	ok(n == 99 || n == 100, "a 10 ms pause after 50 reads is caught up: the schedule is absolute (%llu)",
	   (unsigned long long)n);
	n = run_slow_start(PACED "rate_iops=1000\nramp_time=20ms\n", 50, 20, 10000);
	ok(n == 100, "the schedule starts again where ramp_time ends: what a slow ramp (10 ms per read) left behind "
	   "is not caught up in the window (%llu)", (unsigned long long)n);
	n = run("[j]\nrw=randrw\nbs=4k\ntime_based\nruntime=100ms\nrate_iops=1000,250\n", 50);
	ok(n == 100 && ios("write") == 25, "rate_iops=1000,250 on randrw: 100 reads, 25 writes (%llu, %llu)",
	   (unsigned long long)n, (unsigned long long)ios("write"));
	n = run("[j]\nrw=randrw\nbs=4k\ntime_based\nruntime=100ms\nrate_iops=,250\n", 50);
	ok(n > 1000 && ios("write") == 25, "rate_iops=,250: writes paced, reads as fast as the device (%llu, %llu)",
	   (unsigned long long)n, (unsigned long long)ios("write"));
	n = run("[j]\nrw=randread\nbs=4k\ntime_based\nruntime=1s\nrate_iops=1000\nrate_process=poisson\n", 50);
	ok(n > 900 && n < 1100, "poisson at 1000 IOPS for 1 s: 1000 +- 3 sd (%llu)", (unsigned long long)n);
	n = run("[j]\nrw=randread\nbs=4k\nnumber_ios=20\nrate_iops=1000\n", 50);
	ok(n == 20 && clk > 19000000 && clk < 20000000, "size-bound: 20 reads take 19 ms (%llu us)",
	   (unsigned long long)(clk / 1000));
}

void test_rate(void)
{
	options();
	errors();
	linear();
	exponential();
	runs();
	while (nblocks)
		free(blocks[--nblocks]);
}

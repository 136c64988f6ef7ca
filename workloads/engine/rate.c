/* rate.c - offered load: fio's rate/rate_iops schedule, linear or poisson, per direction, in integers. */
#include "eng.h"

/*
 * fio 3.33 (backend.c usec_for_io, io_u.c rate_ddir): after each I/O it starts, a direction's next I/O is
 * due at
 *   linear:  bytes started since the epoch / bps, in whole microseconds (an absolute schedule: a device
 *            that falls behind is caught up with I/Os back to back, queue depth permitting, never skipped);
 *   poisson: the previous due time + mean * -ln(U), mean = 10^6 / (bps / bs) in whole microseconds, U
 *            uniform in (0, 1], the gap truncated to whole microseconds (exponential inter-arrival times).
 * An I/O that is not due yet waits; while it waits nothing of the job is in flight (fio's io_u_quiesce):
 * that part is the I/O loop's (ioloop.c). The epoch is the job's start and again the end of ramp_time.
 */

uint64_t rate_bps(const struct job *j, int ddir)
{
	return j->rate[ddir] ? j->rate[ddir] : j->rate_iops[ddir] * j->bs;
}

const char *rate_check(const struct job *j)
{
	int any_rate = j->rate[0] || j->rate[1], any_iops = j->rate_iops[0] || j->rate_iops[1];

	if (any_rate && any_iops)
		return "rate and rate_iops are mutually exclusive (as in fio)";
	for (int d = 0; d < DDIR_NR; d++) {
		if (j->rate_iops[d] > RATE_BPS_MAX / j->bs || rate_bps(j, d) > RATE_BPS_MAX)
			return "the offered rate is above 16 TiB/s";
		/* fio divides 10^6 by bps / bs: below one I/O per second it would divide by zero */
		if (j->rate_process == RATE_POISSON && rate_bps(j, d) && rate_bps(j, d) < j->bs)
			return "rate_process=poisson needs a rate of at least one bs per second";
	}
	return NULL;
}

void pacer_restart(struct pacer *p, uint64_t now)
{
	p->epoch = now;
	for (int d = 0; d < DDIR_NR; d++)
		p->issued[d] = p->next_us[d] = 0;
}

void pacer_init(struct pacer *p, const struct job *j, uint64_t now)
{
	memset(p, 0, sizeof(*p));
	p->process = j->rate_process;
	for (int d = 0; d < DDIR_NR; d++) {
		p->bps[d] = rate_bps(j, d);
		p->on |= p->bps[d] != 0;
		if (p->bps[d] && p->process == RATE_POISSON)
			p->mean_us[d] = 1000000 / (p->bps[d] / j->bs);
		rng_seed(&p->rng[d], j->randseed ^ (0x706f6973736f6e00ull + (uint64_t)d)); /* "poisson", per direction */
	}
	pacer_restart(p, now);
}

static uint64_t due_ns(const struct pacer *p, int ddir)
{
	return p->epoch + p->next_us[ddir] * 1000;
}

int pacer_next(const struct pacer *p, int ddir, int other, uint64_t now, uint64_t *due)
{
	uint64_t t = due_ns(p, ddir);

	/* Not due yet: a mixed job takes the other direction when that one is behind or due first (which is
	 * the same test, o < t; fio keeps ddir on a tie). */
	if (t > now && other && due_ns(p, ddir ^ 1) < t) {
		ddir ^= 1;
		t = due_ns(p, ddir);
	}
	*due = t;
	return ddir;
}

void pacer_started(struct pacer *p, int ddir, uint64_t bytes)
{
	uint64_t bps = p->bps[ddir];

	if (!bps)
		return;
	if (p->process == RATE_POISSON) {
		p->next_us[ddir] += rate_exp_gap_us(p->mean_us[ddir], &p->rng[ddir]);
		return;
	}
	p->issued[ddir] += bytes;
	p->next_us[ddir] = p->issued[ddir] / bps * 1000000 + p->issued[ddir] % bps * 1000000 / bps;
}

/* log2(x) for x >= 1 in Q24 fixed point: the integer part from the top bit, then 24 fraction bits by
 * repeated squaring of the mantissa (in [1, 2), Q62): each square at or above 2 is a 1 bit. */
static uint64_t log2_q24(uint64_t x)
{
	unsigned msb = 63u - (unsigned)__builtin_clzll(x);
	uint64_t m = x << (62 - msb), frac = 0; /* x <= 2^32 here */

	for (int i = 0; i < 24; i++) {
		m = (uint64_t)(((eng_u128)m * m) >> 62);
		frac <<= 1;
		if (m >> 63) {
			m >>= 1;
			frac |= 1;
		}
	}
	return ((uint64_t)msb << 24) | frac;
}

#define LN2_Q32 2977044472ull /* ln 2 * 2^32 */

uint64_t rate_exp_gap_us(uint64_t mean_us, struct eng_rng *r)
{
	/* U = (x + 1) / 2^32 with x uniform on 32 bits, as fio's __rand_0_1(); -ln U = (32 - log2(x + 1)) ln 2 */
	uint64_t u = (rng_next(r) >> 32) + 1;
	uint64_t neg_log2 = (32ull << 24) - log2_q24(u); /* Q24, in [0, 32] */

	return (uint64_t)(((eng_u128)mean_us * neg_log2 * LN2_Q32) >> 56);
}

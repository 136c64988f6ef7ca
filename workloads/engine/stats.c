/* stats.c - latency statistics in integers: min/max/mean/stddev and fio's log-linear histogram. */
#include "eng.h"

/* fio's default percentile list (stat.c), in millionths: 99.99% is 99990000. */
const uint64_t pct_list[PCT_NR] = {
	1000000,  5000000,  10000000, 20000000, 30000000, 40000000, 50000000, 60000000, 70000000,
	80000000, 90000000, 95000000, 99000000, 99500000, 99900000, 99950000, 99990000,
};

void lat_add(struct lat_stat *s, uint64_t v)
{
	if (!s->n || v < s->min)
		s->min = v;
	if (v > s->max)
		s->max = v;
	s->n++;
	s->sum += v;
	s->sumsq += (eng_u128)v * v;
}

/* Restoring shift-subtract division: the guest is freestanding and links no __udivti3. Only used when
 * results are printed, so 128 iterations cost nothing. */
eng_u128 u128_div(eng_u128 a, eng_u128 b, eng_u128 *rem)
{
	eng_u128 q = 0, r = 0;
	for (int i = 127; i >= 0; i--) {
		int carry = (int)(r >> 127);
		r = (r << 1) | ((a >> i) & 1);
		if (carry || r >= b) {
			r -= b;
			q |= (eng_u128)1 << i;
		}
	}
	if (rem)
		*rem = r;
	return q;
}

uint64_t isqrt128(eng_u128 v)
{
	eng_u128 res = 0, bit = (eng_u128)1 << 126;
	while (bit > v)
		bit >>= 2;
	for (; bit; bit >>= 2) {
		if (v >= res + bit) {
			v -= res + bit;
			res = (res >> 1) + bit;
		} else {
			res >>= 1;
		}
	}
	return (uint64_t)res;
}

struct fix6 fix6_ratio(uint64_t value, uint64_t mul, uint64_t div)
{
	struct fix6 f = {0};
	if (div)
		f.micro = (uint64_t)u128_div((eng_u128)value * mul * 1000000u + div / 2, div, NULL);
	return f;
}

int fix6_format(char *out, size_t outlen, struct fix6 v)
{
	return snprintf(out, outlen, "%llu.%06llu", (unsigned long long)(v.micro / 1000000),
			(unsigned long long)(v.micro % 1000000));
}

struct fix6 lat_mean(const struct lat_stat *s)
{
	return fix6_ratio(s->sum, 1, s->n);
}

/* Sample standard deviation (n - 1), as fio: sqrt((n*sumsq - sum^2) / (n(n-1))), scaled by 10^6
 * before the root so six decimals survive: var*10^12 = q*10^12 + r*10^12/(n(n-1)). */
struct fix6 lat_stddev(const struct lat_stat *s)
{
	struct fix6 f = {0};
	if (s->n < 2)
		return f;
	eng_u128 d = (eng_u128)s->n * s->sumsq - (eng_u128)s->sum * s->sum;
	eng_u128 den = (eng_u128)s->n * (s->n - 1), r;
	eng_u128 q = u128_div(d, den, &r);
	eng_u128 scaled = q * 1000000000000ull + u128_div(r * 1000000000000ull, den, NULL);
	f.micro = isqrt128(scaled);
	if (scaled - (eng_u128)f.micro * f.micro > f.micro)
		f.micro++; /* round to nearest, as fio's %f does */
	return f;
}

/* fio's plat_val_to_idx(): values below 2*64 have their own bucket; above, each power of two is split
 * into 64 buckets, so the error stays under 1/64 (1.6%). */
unsigned hist_index(uint64_t v)
{
	unsigned msb = v ? 63u - (unsigned)__builtin_clzll(v) : 0;
	if (msb <= HIST_BITS)
		return (unsigned)v;
	unsigned err_bits = msb - HIST_BITS;
	unsigned base = (err_bits + 1) << HIST_BITS;
	unsigned idx = base + (unsigned)((HIST_VAL - 1) & (v >> err_bits));
	return idx < HIST_NR - 1 ? idx : HIST_NR - 1;
}

/* fio's plat_idx_to_val(): the middle of the bucket. */
uint64_t hist_value(unsigned idx)
{
	if (idx < (HIST_VAL << 1))
		return idx;
	unsigned err_bits = (idx >> HIST_BITS) - 1;
	uint64_t base = 1ull << (err_bits + HIST_BITS);
	uint64_t k = idx % HIST_VAL;
	return base + ((2 * k + 1) << err_bits) / 2;
}

/* fio's calc_clat_percentiles(): the first bucket where the running count reaches p% of n. */
void hist_percentiles(const uint64_t *hist, uint64_t n, uint64_t out[PCT_NR])
{
	eng_u128 sum = 0;
	unsigned j = 0;
	memset(out, 0, PCT_NR * sizeof(out[0]));
	for (unsigned i = 0; i < HIST_NR && j < PCT_NR; i++) {
		sum += hist[i];
		while (j < PCT_NR && sum * 100000000u >= (eng_u128)pct_list[j] * n)
			out[j++] = hist_value(i);
	}
}

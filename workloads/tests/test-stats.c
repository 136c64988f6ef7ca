/* test-stats.c - integer statistics: fio's histogram buckets and percentiles, mean/stddev, JSON numbers. */
#include "unit.h"

static void histogram(void)
{
	ok(hist_index(5) == 5 && hist_value(5) == 5, "small values have exact buckets");
	ok(hist_index(1087) == 323 && hist_value(323) == 1080, "1087 ns lands in fio's bucket 323 (1080)");
	ok(hist_value(hist_index(49387)) == 49408, "49387 ns reports as 49408, as fio does");
	ok(hist_index(~0ull) == HIST_NR - 1, "huge values land in the last bucket");
}

static void percentiles(void)
{
	static uint64_t hist[HIST_NR];
	uint64_t out[PCT_NR];
	memset(hist, 0, sizeof(hist));
	for (uint64_t v = 1; v <= 100; v++)
		hist[hist_index(v)]++;
	hist_percentiles(hist, 100, out);
	ok(out[0] == 1 && out[6] == 50 && out[10] == 90 && out[12] == 99 && out[16] == 100,
	       "percentiles of 1..100: p1=1 p50=50 p90=90 p99=99 p99.99=100 (got %llu %llu %llu %llu %llu)",
	       (unsigned long long)out[0], (unsigned long long)out[6], (unsigned long long)out[10],
	       (unsigned long long)out[12], (unsigned long long)out[16]);
	memset(hist, 0, sizeof(hist));
	hist[hist_index(1000000)] = 999;
	hist[hist_index(5000000)] = 1;
	hist_percentiles(hist, 1000, out);
	ok(out[14] == hist_value(hist_index(1000000)) && out[15] == hist_value(hist_index(5000000)),
	       "p99.9 sits in the bulk, p99.95 catches the one outlier in 1000");
}

static void moments(void)
{
	struct lat_stat s;
	char buf[32];
	memset(&s, 0, sizeof(s));
	for (uint64_t v = 1; v <= 100; v++)
		lat_add(&s, v);
	fix6_format(buf, sizeof(buf), lat_mean(&s));
	ok(!strcmp(buf, "50.500000"), "mean of 1..100 is 50.500000 (%s)", buf);
	fix6_format(buf, sizeof(buf), lat_stddev(&s));
	ok(!strcmp(buf, "29.011492"), "sample stddev of 1..100 is 29.011492 (%s)", buf);
	ok(s.min == 1 && s.max == 100 && s.n == 100, "min, max, N");
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 1000; i++)
		lat_add(&s, 10000000000ull + (uint64_t)(i % 2) * 2);
	fix6_format(buf, sizeof(buf), lat_stddev(&s));
	ok(!strcmp(buf, "1.000500"), "stddev stays exact around 10 s latencies (%s)", buf);
}

static void wide_math(void)
{
	eng_u128 r, big = (eng_u128)0x123456789abcdefull * 0xfedcba987654321ull;
	ok(u128_div(big, 0xfedcba987654321ull, &r) == 0x123456789abcdefull && r == 0, "128-bit division");
	ok(isqrt128(big * 0) == 0 && isqrt128((eng_u128)1 << 100) == 1ull << 50, "128-bit square root");
}

static char out[4096];
static size_t outlen;
static void capture(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	memcpy(out + outlen, s, n);
	outlen += n;
	out[outlen] = 0;
}

static void json_numbers(void)
{
	char buf[32];
	fix6_format(buf, sizeof(buf), (struct fix6){12345678901ull});
	ok(!strcmp(buf, "12345.678901"), "fixed point 12345.678901");
	fix6_format(buf, sizeof(buf), (struct fix6){5});
	ok(!strcmp(buf, "0.000005"), "fixed point 0.000005");
	fix6_format(buf, sizeof(buf), fix6_ratio(1, 1, 3));
	ok(!strcmp(buf, "0.333333"), "1/3 as 0.333333");
	struct json w;
	outlen = 0;
	json_begin(&w, capture, NULL);
	json_fix6(&w, "iops", fix6_ratio(46, 1000, 1));
	json_str(&w, "s", "a\"b\\c\n");
	json_obj(&w, "o");
	json_obj_end(&w);
	json_end(&w);
	ok(!strcmp(out, "{\n  \"iops\" : 46000.000000,\n  \"s\" : \"a\\\"b\\\\c\\u000a\",\n  \"o\" : {}\n}\n"),
	       "JSON layout and escaping like fio's");
}

void test_stats(void)
{
	histogram();
	percentiles();
	moments();
	wide_math();
	json_numbers();
}

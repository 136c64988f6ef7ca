/* unit-json.c - the JSON writer (lib/json.c) on the host: layout, escaping, null and bool, chunks across the
 * buffer, and fixed-point decimals against the host's printf on values a double holds exactly. TAP output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tap.h"

static char out[1 << 16];
static size_t outlen;
static unsigned chunks;

static void capture(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	if (outlen + n < sizeof(out)) {
		memcpy(out + outlen, s, n);
		outlen += n;
		out[outlen] = 0;
	}
	chunks++;
}

static void start(struct json *w)
{
	outlen = 0, chunks = 0;
	out[0] = 0;
	json_begin(w, capture, NULL);
}

/* The text json_ratio writes for num/den at d decimals, alone in a document. */
static const char *ratio(uint64_t num, uint64_t den, int d)
{
	static char v[64];
	struct json w;
	const char *p;

	start(&w);
	json_ratio(&w, "v", num, den, d);
	json_end(&w);
	p = strstr(out, " : ");
	snprintf(v, sizeof(v), "%.*s", p ? (int)strcspn(p + 3, "\n") : 0, p ? p + 3 : "");
	return v;
}

static void layout(void)
{
	struct json w;

	start(&w);
	json_u64(&w, "n", 18446744073709551615ull);
	json_str(&w, "s", "a\"b\\c\n\x01");
	json_bool(&w, "t", 1);
	json_null(&w, "z");
	json_arr(&w, "a");
	json_obj(&w, NULL);
	json_u64(&w, "k", 1);
	json_obj_end(&w);
	json_arr_end(&w);
	json_obj(&w, "e");
	json_obj_end(&w);
	json_end(&w);
	ok(!strcmp(out, "{\n  \"n\" : 18446744073709551615,\n  \"s\" : \"a\\\"b\\\\c\\u000a\\u0001\",\n  \"t\" : true,\n"
			"  \"z\" : null,\n  \"a\" : [\n    {\n      \"k\" : 1\n    }\n  ],\n  \"e\" : {}\n}\n"),
	   "fio's layout, escaping, null, bool, nesting");
	start(&w);
	for (int i = 0; i < 500; i++)
		json_u64(&w, "counter", (uint64_t)i);
	json_end(&w);
	ok(chunks > 1 && strstr(out, "\"counter\" : 499\n}\n") && !strstr(out, "\"counter\" : 500"),
	   "a long document reaches the sink in %u chunks, whole", chunks);
}

static void decimals(void)
{
	static const struct { uint64_t num, den; int d; const char *want; } c[] = {
		{ 3, 8, 2, "0.38" }, { 1, 8, 2, "0.13" }, { 1500, 1000, 1, "1.5" }, { 46000000000ull, 1000000, 6, "46000.000000" },
		{ 2, 3, 6, "0.666667" }, { 999999, 1000000, 3, "1.000" }, { 7, 1, 0, "7" }, { 5, 0, 3, "0.000" },
		{ 1, 2, 0, "1" }, { 18446744073709551615ull, 18446744073709551614ull, 9, "1.000000000" },
		{ 12345, 1000, 1, "12.3" }, { 12355, 1000, 2, "12.36" },
	};
	int all = 1;

	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const char *got = ratio(c[i].num, c[i].den, c[i].d);
		if (strcmp(got, c[i].want)) {
			printf("# %llu/%llu at %d: want %s, got %s\n", (unsigned long long)c[i].num,
			       (unsigned long long)c[i].den, c[i].d, c[i].want, got);
			all = 0;
		}
	}
	ok(all, "num/den rounded half up in integers (%zu cases)", sizeof(c) / sizeof(c[0]));
	all = 1;
	for (uint64_t n = 0; n < 4096; n += 7) { /* n/8 and n/512 are exact in a double and in 3 and 9 decimals */
		char want[64];
		snprintf(want, sizeof(want), "%.3f", (double)n / 8);
		all &= !strcmp(ratio(n, 8, 3), want);
		snprintf(want, sizeof(want), "%.9f", (double)n / 512);
		all &= !strcmp(ratio(n, 512, 9), want);
	}
	ok(all, "the same digits as printf where the value is exact");
}

int main(void)
{
	layout();
	decimals();
	return tap_done();
}

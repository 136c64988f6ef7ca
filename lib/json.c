/* json.c - the streaming JSON writer of json.h (fio's layout), hosted or freestanding. */
#if __STDC_HOSTED__
#include <stdio.h>
#include <string.h>
#else
#include "klib.h"
#endif

#include "json.h"

__extension__ typedef unsigned __int128 json_u128;

static void flush(struct json *w)
{
	if (w->used && w->sink)
		w->sink(w->ctx, w->buf, w->used);
	w->used = 0;
}

static void put(struct json *w, const char *s, size_t n)
{
	while (n) {
		size_t room = sizeof(w->buf) - w->used, k = n < room ? n : room;

		memcpy(w->buf + w->used, s, k);
		w->used += k, s += k, n -= k;
		if (w->used == sizeof(w->buf))
			flush(w);
	}
}

static void puts_(struct json *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_string(struct json *w, const char *s)
{
	char esc[8];

	put(w, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\', esc[1] = (char)c;
			put(w, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(w, esc, 6);
		} else {
			put(w, (const char *)&c, 1);
		}
	}
	put(w, "\"", 1);
}

/* Starts a member: separator from the previous one, indentation, and the key (fio writes "key" : v). */
static void member(struct json *w, const char *key)
{
	puts_(w, w->first ? "\n" : ",\n");
	w->first = 0;
	for (int i = 0; i < w->depth; i++)
		put(w, "  ", 2);
	if (key) {
		put_string(w, key);
		put(w, " : ", 3);
	}
}

static void open_(struct json *w, const char *key, const char *brace)
{
	if (w->depth)
		member(w, key);
	puts_(w, brace);
	w->depth++;
	w->first = 1;
}

static void close_(struct json *w, const char *brace)
{
	w->depth--;
	if (!w->first) {
		put(w, "\n", 1);
		for (int i = 0; i < w->depth; i++)
			put(w, "  ", 2);
	}
	puts_(w, brace);
	w->first = 0;
}

void json_begin(struct json *w, json_sink *sink, void *ctx)
{
	memset(w, 0, sizeof(*w));
	w->sink = sink;
	w->ctx = ctx;
	open_(w, NULL, "{");
}

void json_end(struct json *w)
{
	close_(w, "}");
	put(w, "\n", 1);
	flush(w);
}

void json_obj(struct json *w, const char *key) { open_(w, key, "{"); }
void json_obj_end(struct json *w) { close_(w, "}"); }
void json_arr(struct json *w, const char *key) { open_(w, key, "["); }
void json_arr_end(struct json *w) { close_(w, "]"); }

void json_u64(struct json *w, const char *key, uint64_t v)
{
	char s[24];

	member(w, key);
	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	puts_(w, s);
}

void json_str(struct json *w, const char *key, const char *s)
{
	member(w, key);
	put_string(w, s);
}

void json_bool(struct json *w, const char *key, int v)
{
	member(w, key);
	puts_(w, v ? "true" : "false");
}

void json_null(struct json *w, const char *key)
{
	member(w, key);
	puts_(w, "null");
}

/* Long division one decimal digit at a time: each digit by at most nine subtractions, so no 128-bit division
 * (the guest links no libgcc); the remainder times 10 may need 68 bits, hence json_u128. */
void json_ratio(struct json *w, const char *key, uint64_t num, uint64_t den, int decimals)
{
	char s[40], frac[10];
	uint64_t ip = den ? num / den : 0, r = den ? num % den : 0;
	int n = decimals < 0 ? 0 : decimals > 9 ? 9 : decimals, carry;

	for (int i = 0; i < n; i++) {
		json_u128 t = (json_u128)r * 10;
		char d = '0';

		while (t >= den && den)
			t -= den, d++;
		frac[i] = d;
		r = (uint64_t)t;
	}
	carry = den && (json_u128)r * 2 >= den; /* round half up */
	for (int i = n - 1; i >= 0 && carry; i--) {
		carry = frac[i] == '9';
		frac[i] = carry ? '0' : (char)(frac[i] + 1);
	}
	ip += (uint64_t)carry;
	frac[n] = 0;
	snprintf(s, sizeof(s), "%llu%s%s", (unsigned long long)ip, n ? "." : "", frac);
	member(w, key);
	puts_(w, s);
}

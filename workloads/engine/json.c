/* json.c - a streaming JSON writer laid out like fio's output, with fixed-point decimals (no floats). */
#include "eng.h"

static void flush(struct jw *w)
{
	if (w->used && w->env->results)
		w->env->results(w->buf, w->used);
	w->used = 0;
}

static void put(struct jw *w, const char *s, size_t n)
{
	while (n) {
		size_t room = sizeof(w->buf) - w->used, k = n < room ? n : room;
		memcpy(w->buf + w->used, s, k);
		w->used += k, s += k, n -= k;
		if (w->used == sizeof(w->buf))
			flush(w);
	}
}

static void puts_(struct jw *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_string(struct jw *w, const char *s)
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
static void member(struct jw *w, const char *key)
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

static void open_(struct jw *w, const char *key, const char *brace)
{
	if (w->depth)
		member(w, key);
	puts_(w, brace);
	w->depth++;
	w->first = 1;
}

static void close_(struct jw *w, const char *brace)
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

void jw_begin(struct jw *w, const struct eng_env *env)
{
	memset(w, 0, sizeof(*w));
	w->env = env;
	open_(w, NULL, "{");
}

void jw_end(struct jw *w)
{
	close_(w, "}");
	put(w, "\n", 1);
	flush(w);
}

void jw_obj(struct jw *w, const char *key) { open_(w, key, "{"); }
void jw_obj_end(struct jw *w) { close_(w, "}"); }
void jw_arr(struct jw *w, const char *key) { open_(w, key, "["); }
void jw_arr_end(struct jw *w) { close_(w, "]"); }

void jw_u64(struct jw *w, const char *key, uint64_t v)
{
	char s[24];
	member(w, key);
	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	puts_(w, s);
}

int fix6_format(char *out, size_t outlen, struct fix6 v)
{
	return snprintf(out, outlen, "%llu.%06llu", (unsigned long long)(v.micro / 1000000),
			(unsigned long long)(v.micro % 1000000));
}

void jw_fix(struct jw *w, const char *key, struct fix6 v)
{
	char s[32];
	member(w, key);
	fix6_format(s, sizeof(s), v);
	puts_(w, s);
}

void jw_str(struct jw *w, const char *key, const char *s)
{
	member(w, key);
	put_string(w, s);
}

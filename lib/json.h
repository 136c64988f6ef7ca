/* json.h - the one JSON writer: the VMM's stats (--stats) and the guest engine's fio results. Streaming, in
 * fio's layout ("key" : value, a member per line, two spaces of indent per level), integers and fixed-point
 * decimals only (the guest has no floating point). Builds hosted (the VMM, host tools) and freestanding (the
 * guest, against klib.h). */
#ifndef EXITLESS_JSON_H
#define EXITLESS_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Where the text goes: called with consecutive chunks of one document. */
typedef void json_sink(void *ctx, const char *text, size_t len);

struct json {
	json_sink *sink;
	void *ctx;
	char buf[1024]; /* text not yet handed to the sink */
	size_t used;
	int depth;
	int first;      /* nothing written yet at this depth */
};

/* Starts a document (its top-level object) that goes to sink(ctx, ...). */
void json_begin(struct json *w, json_sink *sink, void *ctx);
/* Closes the top-level object, ends the line and hands everything left to the sink. */
void json_end(struct json *w);
/* A member (key) of the object being written, or (key NULL) an element of the array being written. */
void json_obj(struct json *w, const char *key);
void json_obj_end(struct json *w);
void json_arr(struct json *w, const char *key);
void json_arr_end(struct json *w);
void json_u64(struct json *w, const char *key, uint64_t v);
void json_str(struct json *w, const char *key, const char *s); /* escaped: quote, backslash, control bytes */
void json_bool(struct json *w, const char *key, int v);
void json_null(struct json *w, const char *key);
/* num / den written with `decimals` digits after the point (0 to 9; 0: no point), rounded half up, in integers
 * only; den 0 writes zero. E.g. (3, 8, 2) is 0.38, (1500, 1000, 1) is 1.5. */
void json_ratio(struct json *w, const char *key, uint64_t num, uint64_t den, int decimals);

#endif

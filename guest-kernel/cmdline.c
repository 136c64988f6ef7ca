/* cmdline.c - the boot command line split once into `key=value` words, then looked up by key. */
#include "kernel.h"

#define KCMD_MAX_LEN   4096
#define KCMD_MAX_WORDS 256

static const char *kcmd_raw = "";
static char kcmd_buf[KCMD_MAX_LEN];
static const char *kcmd_words[KCMD_MAX_WORDS];
static int kcmd_nwords;

/* Splits at blanks outside double quotes; the quotes themselves are dropped (Linux's rules, simplified).
 * Words past the limits are ignored: the command line comes from a trusted VMM. */
void kcmd_init(const char *raw)
{
	char *out = kcmd_buf, *end = kcmd_buf + sizeof(kcmd_buf) - 1;
	int quoted = 0;

	kcmd_nwords = 0;
	kcmd_raw = raw ? raw : "";
	for (const char *p = kcmd_raw; *p && kcmd_nwords < KCMD_MAX_WORDS;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p || out >= end)
			break;
		kcmd_words[kcmd_nwords++] = out;
		for (; *p && (quoted || (*p != ' ' && *p != '\t' && *p != '\n')) && out < end; p++) {
			if (*p == '"')
				quoted = !quoted;
			else
				*out++ = *p;
		}
		*out++ = '\0';
	}
}

const char *kcmd_line(void) { return kcmd_raw; }

const char *kcmd_get_nth(const char *key, int n)
{
	size_t klen = strlen(key);

	for (int i = 0; i < kcmd_nwords; i++) {
		const char *w = kcmd_words[i];

		if (strncmp(w, key, klen) || (w[klen] != '=' && w[klen] != '\0'))
			continue;
		if (n-- == 0)
			return w[klen] ? w + klen + 1 : w + klen;
	}
	return NULL;
}

const char *kcmd_get(const char *key) { return kcmd_get_nth(key, 0); }

uint64_t kcmd_u64(const char *key, uint64_t def, int *ok)
{
	const char *v = kcmd_get(key), *end;
	uint64_t n;

	if (ok)
		*ok = 1;
	if (!v)
		return def;
	n = kstrtoull(v, &end, 0);
	if (end == v || *end) {
		if (ok)
			*ok = 0;
		return def;
	}
	return n;
}

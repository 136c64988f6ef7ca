/* options.c - the declarative table of supported fio options and the parsers of their values. */
#include "eng.h"

enum opt_type {
	OT_STR,    /* copied into a char array */
	OT_SIZE,   /* uint64_t bytes, fio size suffixes */
	OT_U32,    /* uint32_t, plain integer */
	OT_U64,    /* uint64_t, plain integer */
	OT_BOOL,   /* uint32_t 0/1; a bare flag means 1 */
	OT_TIME,   /* uint64_t ns; a bare number is seconds (fio's runtime/ramp_time/startdelay unit) */
	OT_USEC,   /* uint64_t ns; a bare number is microseconds (fio's thinktime unit) */
	OT_RW,     /* uint32_t enum eng_rw */
	OT_VERIFY, /* uint32_t 0 none / 1 crc32c */
	OT_MIXW,   /* rwmixwrite: stored as rwmixread = 100 - value */
	OT_HOST,   /* host-side only: accepted with any value, ignored */
	OT_FLAG,   /* accepted, no effect in this engine (bare or 0/1) */
	OT_DIRS,   /* uint64_t[DDIR_NR]: fio's read,write[,trim] list of sizes (see parse_dirs) */
	OT_RPROC,  /* uint32_t RATE_LINEAR / RATE_POISSON */
};

struct opt_def {
	const char *name;
	uint8_t type;
	uint16_t off;    /* offsetof(struct job, field) */
	uint16_t size;   /* field size for OT_STR */
	uint64_t min, max;
	const char *def; /* default, parsed like a job-file value; NULL: left zero */
	const char *help;
};

#define F(field) (uint16_t) offsetof(struct job, field)
#define U32MAX   0xffffffffull
#define U64MAX   0xffffffffffffffffull

static const struct opt_def opts[] = {
	{"name", OT_STR, F(name), JOB_NAME_MAX, 0, 0, NULL, "job name (defaults to the section name)"},
	{"description", OT_STR, F(description), JOB_DESC_MAX, 0, 0, NULL, "free text"},
	{"rw", OT_RW, F(rw), 0, 0, 0, "read", "read, write, randread, randwrite, rw/readwrite or randrw"},
	{"readwrite", OT_RW, F(rw), 0, 0, 0, NULL, "alias of rw"},
	{"rwmixread", OT_U32, F(rwmixread), 0, 0, 100, "50", "percentage of reads in mixed jobs (0-100)"},
	{"rwmixwrite", OT_MIXW, F(rwmixread), 0, 0, 100, NULL, "percentage of writes in mixed jobs (0-100)"},
	{"bs", OT_SIZE, F(bs), 0, 1, 1ull << 30, "4k", "block size, e.g. 4k, 128k, 1m"},
	{"blocksize", OT_SIZE, F(bs), 0, 1, 1ull << 30, NULL, "alias of bs"},
	{"size", OT_SIZE, F(size), 0, 1, U64MAX, NULL, "bytes of the region to use (default: device from offset)"},
	{"offset", OT_SIZE, F(offset), 0, 0, U64MAX, "0", "start of the region in bytes"},
	{"iodepth", OT_U32, F(iodepth), 0, 1, 65536, "1", "requests kept in flight"},
	{"iodepth_batch", OT_U32, F(iodepth_batch), 0, 1, 65536, "1", "requests queued per commit"},
	{"iodepth_batch_submit", OT_U32, F(iodepth_batch), 0, 1, 65536, NULL, "alias of iodepth_batch"},
	{"runtime", OT_TIME, F(runtime_ns), 0, 0, U64MAX, "0", "run time limit (s unless us/ms/s/m/h/d)"},
	{"timeout", OT_TIME, F(runtime_ns), 0, 0, U64MAX, NULL, "alias of runtime"},
	{"time_based", OT_BOOL, F(time_based), 0, 0, 1, "0", "repeat the region until runtime expires"},
	{"ramp_time", OT_TIME, F(ramp_ns), 0, 0, U64MAX, "0", "warm-up time excluded from statistics"},
	{"number_ios", OT_U64, F(number_ios), 0, 0, U64MAX, "0", "stop after this many I/Os (0: no limit)"},
	{"thinktime", OT_USEC, F(thinktime_ns), 0, 0, U64MAX, "0", "pause after thinktime_blocks I/Os (us unless ms/s/m/h/d)"},
	{"thinktime_blocks", OT_U32, F(thinktime_blocks), 0, 0, U32MAX, "1", "completed I/Os between thinktime pauses"},
	{"rate", OT_DIRS, F(rate), 0, 0, RATE_BPS_MAX, NULL, "offered bytes/s per direction, e.g. 8m, or read,write: 8m,1m / ,1m / 8m,"},
	{"rate_iops", OT_DIRS, F(rate_iops), 0, 0, U32MAX, NULL, "offered I/Os per second per direction, e.g. 2000, or read,write: 2000,500"},
	{"rate_process", OT_RPROC, F(rate_process), 0, 0, 1, "linear", "linear (evenly spaced) or poisson (exponential gaps)"},
	{"startdelay", OT_TIME, F(startdelay_ns), 0, 0, U64MAX, "0", "delay from the start of the run (s unless us/ms/m/h/d)"},
	{"randrepeat", OT_BOOL, F(randrepeat), 0, 0, 1, "1", "same random sequence every run"},
	{"randseed", OT_U64, F(randseed), 0, 0, U64MAX, NULL, "seed of the random generators"},
	{"direct", OT_BOOL, F(direct), 0, 0, 1, "0", "host-side only: O_DIRECT (the guest has no page cache)"},
	{"verify", OT_VERIFY, F(verify), 0, 0, 1, "0", "crc32c (alias crc32c-intel) or 0/none"},
	{"do_verify", OT_BOOL, F(do_verify), 0, 0, 1, NULL, "read back and check after a write job"},
	{"numjobs", OT_U32, F(numjobs), 0, 1, CLONES_MAX, "1", "clones of the job, run at once: in the guest each on its own CPU and queue"},
	{"offset_increment", OT_SIZE, F(offset_increment), 0, 0, U64MAX, "0", "clone k starts at offset + k * offset_increment"},
	{"lat_percentiles", OT_BOOL, F(lat_percentiles), 0, 0, 1, "0", "percentiles of lat (submission to completion) too"},
	{"clat_percentiles", OT_FLAG, F(flags_ignored), 0, 0, 1, NULL, "accepted: clat percentiles are always reported"},
	{"ioengine", OT_HOST, 0, 0, 0, 0, NULL, "host-side only: ignored in the guest"},
	{"filename", OT_HOST, 0, 0, 0, 0, NULL, "host-side only: the guest uses its disk"},
	{"stonewall", OT_FLAG, F(flags_ignored), 0, 0, 1, NULL, "accepted: jobs always run one after another"},
	{"group_reporting", OT_FLAG, F(flags_ignored), 0, 0, 1, NULL, "accepted: every job is reported alone"},
	{"thread", OT_FLAG, F(flags_ignored), 0, 0, 1, NULL, "host-side only: ignored"},
};

#define OPTS_NR (sizeof(opts) / sizeof(opts[0]))
_Static_assert(OPTS_NR <= 64, "struct job's set has one bit per option");

static const char *const rw_names[] = {"read", "write", "randread", "randwrite", "rw", "randrw"};

const char *opt_rw_name(uint32_t rw)
{
	return rw < 6 ? rw_names[rw] : "?";
}

int opt_index(const char *key)
{
	for (unsigned i = 0; i < OPTS_NR; i++)
		if (!strcmp(opts[i].name, key))
			return (int)i;
	return -1;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Decimal or 0x hex digits; *end after them. Returns -1 on no digit or overflow. */
static int parse_uint(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0, base = 10;
	const char *p = s;
	if (p[0] == '0' && lower(p[1]) == 'x' && p[2])
		base = 16, p += 2;
	const char *digits = p;
	for (;; p++) {
		int c = lower(*p), d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			break;
		if (v > (U64MAX - (uint64_t)d) / base)
			return -1;
		v = v * base + (uint64_t)d;
	}
	*end = p;
	*out = v;
	return p == digits ? -1 : 0;
}

static int suffix_is(const char *s, const char *a, const char *b)
{
	char l[8];
	size_t n = strlen(s);
	if (n >= sizeof(l))
		return 0;
	for (size_t i = 0; i <= n; i++)
		l[i] = (char)lower(s[i]);
	return !strcmp(l, a) || (b && !strcmp(l, b));
}

/* fio's kb_base=1024 (compatibility) semantics: k/kb = 1024, ki/kib = 1000 ("opposite units"). */
int opt_parse_size(const char *s, uint64_t *out)
{
	static const char pfx[] = "bkmgtp";
	const char *end;
	uint64_t v;
	if (parse_uint(s, &end, &v))
		return -1;
	if (!*end) {
		*out = v;
		return 0;
	}
	const char *p = strchr(pfx, lower(*end));
	if (!p)
		return -1;
	unsigned pow = (unsigned)(p - pfx);
	uint64_t mult = 1024;
	if (pow && (suffix_is(end + 1, "ib", "i")))
		mult = 1000;
	else if (end[1] && !suffix_is(end + 1, "b", NULL))
		return -1;
	for (; pow; pow--) {
		if (v > U64MAX / mult)
			return -1;
		v *= mult;
	}
	*out = v;
	return 0;
}

/* A number with one of fio's time units; a bare number counts bare_ns each (s for runtime, us for thinktime). */
int opt_parse_time_unit(const char *s, uint64_t bare_ns, uint64_t *out)
{
	static const struct { const char *a, *b; uint64_t ns; } units[] = {
		{"", NULL, 0}, {"s", "sec", 1000000000ull}, {"us", "usec", 1000ull},
		{"ms", "msec", 1000000ull}, {"m", "min", 60000000000ull}, {"h", NULL, 3600000000000ull},
		{"d", NULL, 86400000000000ull}, {"ns", "nsec", 1ull},
	};
	const char *end;
	uint64_t v;
	if (parse_uint(s, &end, &v))
		return -1;
	for (unsigned i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t ns = i ? units[i].ns : bare_ns;
		if (!suffix_is(end, units[i].a, units[i].b))
			continue;
		if (v > U64MAX / ns)
			return -1;
		*out = v * ns;
		return 0;
	}
	return -1;
}

int opt_parse_time_ns(const char *s, uint64_t *out)
{
	return opt_parse_time_unit(s, 1000000000ull, out);
}

static int parse_rw(const char *s, uint32_t *out)
{
	for (uint32_t i = 0; i < 6; i++)
		if (!strcmp(s, rw_names[i]))
			return *out = i, 0;
	if (!strcmp(s, "readwrite"))
		return *out = RW_RW, 0;
	return -1;
}

static int parse_rate_process(const char *s, uint32_t *out)
{
	if (!strcmp(s, "linear"))
		return *out = RATE_LINEAR, 0;
	if (!strcmp(s, "poisson"))
		return *out = RATE_POISSON, 0;
	return -1;
}

/* fio's list of values for reads, writes and trims (parse.c handle_option): "a" sets every direction,
 * "a,b" reads a and writes b, ",b" writes only, "a," reads only; a value not followed by a comma also
 * applies to the directions after it, and a direction left out keeps its value. Trims are accepted and
 * ignored (this engine issues none). */
static int parse_dirs(const struct opt_def *o, const char *val, uint64_t out[DDIR_NR])
{
	char part[32];
	size_t n = strlen(val);
	int trailing = n && val[n - 1] == ',';

	if (!n)
		return -1;
	for (unsigned d = 0; d < 3; d++) {
		const char *comma = strchr(val, ',');
		size_t len = comma ? (size_t)(comma - val) : strlen(val);
		uint64_t v = 0;

		if (len >= sizeof(part))
			return -1;
		memcpy(part, val, len);
		part[len] = 0;
		if (len && (opt_parse_size(part, &v) || v < o->min || v > o->max))
			return -1;
		for (unsigned k = d; len && k < DDIR_NR && (k == d || (!comma && !trailing)); k++)
			out[k] = v;
		if (!comma || (trailing && !comma[1]))
			return 0;
		val = comma + 1;
	}
	return -1; /* more than three values */
}

static int parse_verify(const char *s, uint32_t *out)
{
	if (!strcmp(s, "crc32c") || !strcmp(s, "crc32c-intel") || !strcmp(s, "1"))
		return *out = 1, 0;
	if (!strcmp(s, "0") || !strcmp(s, "none"))
		return *out = 0, 0;
	return -1;
}

/* Parses val for o into *v (numbers) and returns 0, or -1 when it is not a valid value. */
static int parse_value(const struct opt_def *o, const char *val, uint64_t *v)
{
	const char *end;
	uint32_t u = 0;
	switch (o->type) {
	case OT_SIZE: return opt_parse_size(val, v);
	case OT_TIME: return opt_parse_time_ns(val, v);
	case OT_USEC: return opt_parse_time_unit(val, 1000ull, v);
	case OT_RW: return parse_rw(val, &u) ? -1 : (*v = u, 0);
	case OT_VERIFY: return parse_verify(val, &u) ? -1 : (*v = u, 0);
	case OT_RPROC: return parse_rate_process(val, &u) ? -1 : (*v = u, 0);
	case OT_U32: case OT_U64: case OT_BOOL: case OT_MIXW: case OT_FLAG:
		return parse_uint(val, &end, v) || *end ? -1 : 0;
	default: return 0;
	}
}

static void store(struct job *j, const struct opt_def *o, const char *val, uint64_t v)
{
	char *field = (char *)j + o->off;
	uint32_t v32 = (uint32_t)v;
	switch (o->type) {
	case OT_STR: snprintf(field, o->size, "%s", val); break;
	case OT_SIZE: case OT_TIME: case OT_USEC: case OT_U64: memcpy(field, &v, sizeof(v)); break;
	case OT_MIXW: v32 = 100 - v32; /* fall through */
	case OT_U32: case OT_BOOL: case OT_RW: case OT_VERIFY: case OT_RPROC: memcpy(field, &v32, sizeof(v32)); break;
	default: break;
	}
}

static int bad_value(const struct opt_def *o, const char *val, char *err, size_t errlen)
{
	if (o->type == OT_U32 && o->min == o->max)
		snprintf(err, errlen, "%s=%s not supported (%s)", o->name, val, o->help);
	else
		snprintf(err, errlen, "bad value '%s' for option '%s' (%s)", val, o->name, o->help);
	return -1;
}

int opt_set(struct job *j, const char *key, const char *val, char *err, size_t errlen)
{
	int i = opt_index(key);
	if (i < 0) {
		snprintf(err, errlen, "unknown option '%s'", key);
		return -1;
	}
	const struct opt_def *o = &opts[i];
	int flag = o->type == OT_BOOL || o->type == OT_FLAG || o->type == OT_HOST;
	if (!val && !flag) {
		snprintf(err, errlen, "option '%s' needs a value (%s)", key, o->help);
		return -1;
	}
	uint64_t v = 1;
	if (o->type == OT_DIRS) {
		uint64_t dirs[DDIR_NR]; /* a direction the value leaves out keeps what it had (as in fio) */
		memcpy(dirs, (char *)j + o->off, sizeof(dirs));
		if (parse_dirs(o, val, dirs))
			return bad_value(o, val, err, errlen);
		memcpy((char *)j + o->off, dirs, sizeof(dirs));
		j->set |= 1ull << i;
		return 0;
	}
	if (val && parse_value(o, val, &v))
		return bad_value(o, val, err, errlen);
	if (o->type != OT_STR && o->type != OT_HOST && o->type != OT_RW && o->type != OT_VERIFY &&
	    o->type != OT_RPROC && (v < o->min || v > o->max))
		return bad_value(o, val ? val : "", err, errlen);
	store(j, o, val, v);
	j->set |= 1ull << i;
	return 0;
}

void opt_defaults(struct job *j)
{
	char err[160];
	for (unsigned i = 0; i < OPTS_NR; i++)
		if (opts[i].def)
			opt_set(j, opts[i].name, opts[i].def, err, sizeof(err));
	j->set = 0;
	j->randseed = VFY_DEFAULT_SEED;
}

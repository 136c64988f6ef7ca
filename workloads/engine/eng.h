/* eng.h - the engine's internal header: libc switch (hosted/freestanding), job model, module prototypes. */
#ifndef EXITLESS_ENG_H
#define EXITLESS_ENG_H

/* The same sources build hosted (unit tests, host tools) and freestanding (the guest, against lib/klib.h).
 * Only memcpy, memmove, memset, memcmp, strlen, strcmp, strncmp, strchr, snprintf are used from libc. */
#if __STDC_HOSTED__
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#else
#include "klib.h"
#endif
#include <stdarg.h>
#include <stddef.h>

#include "engine.h"
#include "json.h"

__extension__ typedef unsigned __int128 eng_u128;

/* ---- job model (jobfile.c, options.c) ---- */

enum eng_rw { RW_READ, RW_WRITE, RW_RANDREAD, RW_RANDWRITE, RW_RW, RW_RANDRW };
enum { DDIR_READ = 0, DDIR_WRITE = 1, DDIR_NR = 2 }; /* statistics and rate directions */
enum { RATE_LINEAR = 0, RATE_POISSON = 1 };          /* rate_process */
#define RW_IS_RAND(rw)  ((rw) == RW_RANDREAD || (rw) == RW_RANDWRITE || (rw) == RW_RANDRW)
#define RW_HAS_READ(rw) ((rw) != RW_WRITE && (rw) != RW_RANDWRITE)
#define RW_HAS_WRITE(rw) ((rw) != RW_READ && (rw) != RW_RANDREAD)

#define JOB_NAME_MAX 64
#define JOB_DESC_MAX 256
#define JOB_OPTS_MAX 40  /* key=value pairs kept per section for fio's "job options" */
#define JOBS_MAX     32 /* job sections and clones (numjobs) together */
#define CLONES_MAX   16 /* numjobs */
#define JOB_POOL     8192 /* bytes of option text kept for the JSON report */

struct job_kv {
	const char *key, *val;
};

/* One job section, with [global] values applied. Times in ns, sizes in bytes. */
struct job {
	char name[JOB_NAME_MAX];
	char description[JOB_DESC_MAX];
	uint32_t rw, rwmixread, iodepth, iodepth_batch, numjobs;
	uint64_t bs, size, offset, offset_increment, number_ios, runtime_ns, ramp_ns, randseed;
	uint32_t clone, nclones; /* numjobs: this is clone `clone` of `nclones` (run at once); 0 of 1 alone */
	uint64_t thinktime_ns, startdelay_ns; /* startdelay counts from the start of the run, as in fio */
	uint32_t thinktime_blocks;            /* completed I/Os between thinktime pauses */
	uint64_t rate[DDIR_NR];               /* rate: bytes/s per direction (0: not limited) */
	uint64_t rate_iops[DDIR_NR];          /* rate_iops: I/Os per second per direction (0: not limited) */
	uint32_t rate_process;                /* RATE_LINEAR or RATE_POISSON */
	uint32_t time_based, randrepeat, direct, verify, do_verify, lat_percentiles;
	uint32_t flags_ignored; /* stonewall, group_reporting, thread: accepted, no effect */
	uint64_t set;           /* bit i: option i of the table was given (for defaults that depend on others) */
	unsigned line;          /* line of the section header */
	struct job_kv kv[JOB_OPTS_MAX];
	unsigned nkv;
};

struct jobfile {
	struct job global; /* the [global] values seen so far */
	struct job jobs[JOBS_MAX];
	unsigned njobs;
	char pool[JOB_POOL];
	size_t pool_used;
	char err[200]; /* the one-line error when parsing fails */
};

/* Parses text[0..len) into jf (zeroed by the caller). Returns 0, or -1 with jf->err set. */
int jobfile_parse(struct jobfile *jf, const char *text, size_t len);

/* options.c: the declarative option table. */
void opt_defaults(struct job *j);
/* Sets option `key` (NUL-terminated) to `val` (NULL for a bare flag) in j. Returns 0, or -1 with err set
 * (without the "job file line N: " prefix). */
int opt_set(struct job *j, const char *key, const char *val, char *err, size_t errlen);
int opt_index(const char *key);
int opt_parse_size(const char *s, uint64_t *out);
int opt_parse_time_ns(const char *s, uint64_t *out); /* a bare number is seconds */
int opt_parse_time_unit(const char *s, uint64_t bare_ns, uint64_t *out); /* a bare number counts bare_ns */
const char *opt_rw_name(uint32_t rw);

/* ---- offsets and random numbers (offsets.c) ---- */

struct eng_rng {
	uint64_t s;
};

void rng_seed(struct eng_rng *r, uint64_t seed);
uint64_t rng_next(struct eng_rng *r);
uint64_t rng_below(struct eng_rng *r, uint64_t n); /* uniform in [0, n), n > 0 */

/* Where the next I/O goes: fio's sequential/random generators over [start, start + len). */
struct offgen {
	uint64_t start, len, bs, nblocks;
	uint64_t perm_ctr, perm_key; /* random: position in this pass of the block permutation, its key */
	unsigned perm_half;          /* bits of each Feistel half */
	uint64_t next[2];        /* sequential position per direction, relative to start */
	uint32_t rw, rwmixread;
	struct eng_rng off_rng, mix_rng;
};

void offgen_init(struct offgen *g, const struct job *j, uint64_t start, uint64_t len, uint64_t seed);
uint8_t offgen_ddir(struct offgen *g);              /* 0 read, 1 write */
uint64_t offgen_offset(struct offgen *g, uint8_t ddir);
uint64_t offgen_ios_per_pass(const struct offgen *g); /* fio: seq ceil(len/bs), random floor(len/bs) */

/* ---- offered load (rate.c): fio's rate, rate_iops and rate_process ---- */

#define RATE_BPS_MAX (1ull << 44) /* bytes/s: fio's microsecond arithmetic (remainder * 10^6) stays in 64 bits */

/* The schedule of one job, per direction, in fio's integer microseconds from `epoch` (the job's start, and
 * again the end of ramp_time). A direction with bps 0 is not limited: its next I/O is always due. */
struct pacer {
	int on;                         /* some direction is limited */
	uint32_t process;               /* RATE_LINEAR or RATE_POISSON */
	uint64_t epoch;                 /* now_ns() the schedule counts from */
	uint64_t bps[DDIR_NR];          /* bytes per second offered (rate, or rate_iops * bs) */
	uint64_t mean_us[DDIR_NR];      /* poisson: fio's mean gap, 10^6 / (bps / bs), whole microseconds */
	uint64_t issued[DDIR_NR];       /* linear: bytes started since epoch */
	uint64_t next_us[DDIR_NR];      /* when the next I/O of the direction is due, from epoch */
	struct eng_rng rng[DDIR_NR];    /* poisson: the gaps' random stream */
};

/* The job's offered load per direction in bytes/s (rate, else rate_iops * bs; 0: not limited). */
uint64_t rate_bps(const struct job *j, int ddir);
/* Checks the rate options of a finished job: returns NULL, or what is wrong (fio's own limits). */
const char *rate_check(const struct job *j);
/* Sets up the schedule of job j, starting at now. */
void pacer_init(struct pacer *p, const struct job *j, uint64_t now);
/* Starts the schedule again at now (fio resets it when ramp_time ends); the random stream goes on. */
void pacer_restart(struct pacer *p, uint64_t now);
/* fio's rate_ddir(): the direction the next I/O takes (`ddir` as drawn, or the other one when `other` is
 * allowed, i.e. a mixed job with rwmix for it, and that one is due first) and when it is due (*due, in
 * now_ns() time; <= now: at once). */
int pacer_next(const struct pacer *p, int ddir, int other, uint64_t now, uint64_t *due);
/* fio's usec_for_io(): an I/O of `bytes` in ddir was started; schedules the next one. */
void pacer_started(struct pacer *p, int ddir, uint64_t bytes);
/* One exponential gap of mean `mean_us` (fio: mean * -ln(U), U uniform in (0, 1]), truncated to whole
 * microseconds as fio does; integers only. */
uint64_t rate_exp_gap_us(uint64_t mean_us, struct eng_rng *r);

/* ---- statistics (stats.c) ---- */

#define HIST_BITS   6
#define HIST_VAL    (1u << HIST_BITS)
#define HIST_GROUPS 29
#define HIST_NR     (HIST_GROUPS * HIST_VAL)
#define PCT_NR      17

struct lat_stat {
	uint64_t n, min, max, sum;
	eng_u128 sumsq;
};

struct dir_stat {
	uint64_t ios, bytes;
	struct lat_stat slat, clat, lat;
	uint64_t *hist; /* HIST_NR buckets of clat, fio's log-linear layout; with lat_percentiles HIST_NR more, of
			 * lat (issue to completion) */
};

/* Fixed point: value * 10^6, as fio prints its doubles with %f. */
struct fix6 {
	uint64_t micro;
};

void lat_add(struct lat_stat *s, uint64_t v);
struct fix6 lat_mean(const struct lat_stat *s);
struct fix6 lat_stddev(const struct lat_stat *s);
unsigned hist_index(uint64_t v);
/* Buckets of a direction's hist for job j: clat's, and lat's too with lat_percentiles. */
static inline size_t hist_buckets(const struct job *j) { return (j->lat_percentiles ? 2u : 1u) * HIST_NR; }
uint64_t hist_value(unsigned idx);
/* fio's percentile list in millionths of a percent (99.99 -> 99990000) and their values. */
extern const uint64_t pct_list[PCT_NR];
void hist_percentiles(const uint64_t *hist, uint64_t n, uint64_t out[PCT_NR]);
eng_u128 u128_div(eng_u128 a, eng_u128 b, eng_u128 *rem); /* no libgcc: the guest links none */
uint64_t isqrt128(eng_u128 v);
/* value*10^6 / div (div > 0) as fixed point */
struct fix6 fix6_ratio(uint64_t value, uint64_t mul, uint64_t div);

/* ---- verify (verify.c) ---- */

#define VFY_MAGIC        0x42565845u /* "EXVB" little-endian */
#define VFY_HDR_SIZE     32
#define VFY_DEFAULT_SEED 0xb1899bedull /* fio's default randseed: the same data from guest and host tools */

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* Fills blk[0..len) (len >= VFY_HDR_SIZE, a multiple of 8) for device offset `off`. */
void vfy_fill(void *blk, uint32_t len, uint64_t off, uint64_t seed);
/* Checks blk; returns 0 if good, else 1 and a one-line description (no trailing newline) in msg. */
int vfy_check(const void *blk, uint32_t len, uint64_t off, uint64_t seed, char *msg, size_t msglen);

/* ---- JSON output: lib/json.c, the writer the VMM's stats use too ---- */

/* fix6 as fio prints a double with %f: "12.345678". */
int fix6_format(char *out, size_t outlen, struct fix6 v);
/* A fix6 member of the JSON document being written. */
static inline void json_fix6(struct json *w, const char *key, struct fix6 v)
{
	json_ratio(w, key, v.micro, 1000000, 6);
}

/* ---- report (report.c): fio's JSON document ---- */


struct job_result {
	const struct job *job;
	struct dir_stat d[DDIR_NR];
	uint64_t runtime_ns;     /* measured window */
	uint64_t job_runtime_ns; /* whole job, ramp included */
	uint64_t io_errors, verify_errors, verified_blocks;
	struct lat_stat sync;    /* FLUSH latency (fio's "sync" block) */
	uint64_t t_end;          /* last completion (now_ns) */
	uint64_t think_units, think_ns; /* thinktime's loop in the measured window: work units, time */
	int error;               /* fio's "error": 0 or an errno-like value */
};

struct run_report {
	const struct jobfile *jf;
	struct job_result *res;
	unsigned nres;
	uint64_t wall_s;
};

void report_json(const struct run_report *r, const struct eng_env *env);

/* ---- console (engine.c) ---- */

void eng_log(const struct eng_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Busy-waits until now_ns() is ns past `from` (the engine has no sleep); returns the last now_ns(). */
uint64_t eng_wait(const struct eng_env *env, uint64_t from, uint64_t ns);
/* Waits until now_ns() reaches deadline: env->sleep_until first when there is one, then busy. */
void eng_wait_until(const struct eng_env *env, uint64_t deadline);

#endif

/* report.c - fio's --output-format=json document (fio 3.x field names and units) plus an "exitless" block. */
#include "eng.h"

/*
 * Mirrors fio's JSON for the fields this engine measures; units as fio: *_ns nanoseconds, runtime and
 * job_runtime milliseconds, bw KiB/s, bw_bytes B/s, io_kbytes KiB. Differences, all documented in
 * workloads/README.md: bw_bytes and iops divide by the nanosecond runtime (fio: milliseconds), bandwidth
 * and IOPS samples (bw_min... iops_samples), CPU and context-switch counts are 0, and fio's
 * iodepth_level/latency_* distributions are not emitted. "exitless" carries what fio has no field for.
 */
#define ENGINE_VERSION "exitless-engine-1"
#define REPORT_FORMAT  1

static void lat_block(struct json *w, const char *key, const struct lat_stat *s, const uint64_t *hist)
{
	json_obj(w, key);
	json_u64(w, "min", s->min);
	json_u64(w, "max", s->max);
	json_fix6(w, "mean", lat_mean(s));
	json_fix6(w, "stddev", lat_stddev(s));
	json_u64(w, "N", s->n);
	if (hist && s->n) {
		uint64_t v[PCT_NR];
		char name[24];
		hist_percentiles(hist, s->n, v);
		json_obj(w, "percentile");
		for (int i = 0; i < PCT_NR; i++) {
			fix6_format(name, sizeof(name), (struct fix6){pct_list[i]});
			json_u64(w, name, v[i]);
		}
		json_obj_end(w);
	}
	json_obj_end(w);
}

static void zero_samples(struct json *w)
{
	static const char *const u[] = {"bw_min", "bw_max"}, *const f[] = {"bw_agg", "bw_mean", "bw_dev"};
	static const char *const u2[] = {"bw_samples", "iops_min", "iops_max"};
	static const char *const f2[] = {"iops_mean", "iops_stddev"};
	struct fix6 z = {0};
	for (unsigned i = 0; i < 2; i++)
		json_u64(w, u[i], 0);
	for (unsigned i = 0; i < 3; i++)
		json_fix6(w, f[i], z);
	for (unsigned i = 0; i < 3; i++)
		json_u64(w, u2[i], 0);
	for (unsigned i = 0; i < 2; i++)
		json_fix6(w, f2[i], z);
	json_u64(w, "iops_samples", 0);
}

/* lat_pct: the job's lat_percentiles (fio then gives lat_ns percentiles too, from its own histogram) */
static void ddir_block(struct json *w, const char *key, const struct dir_stat *d, uint64_t runtime_ns, int lat_pct)
{
	uint64_t rt = d->ios ? runtime_ns : 0;
	struct fix6 bw = fix6_ratio(d->bytes, 1000000000ull, rt);
	json_obj(w, key);
	json_u64(w, "io_bytes", d->bytes);
	json_u64(w, "io_kbytes", d->bytes >> 10);
	json_u64(w, "bw_bytes", bw.micro / 1000000);
	json_u64(w, "bw", bw.micro / 1000000 / 1024);
	json_fix6(w, "iops", fix6_ratio(d->ios, 1000000000ull, rt));
	json_u64(w, "runtime", (rt + 500000) / 1000000);
	json_u64(w, "total_ios", d->ios);
	json_u64(w, "short_ios", 0);
	json_u64(w, "drop_ios", 0);
	lat_block(w, "slat_ns", &d->slat, NULL);
	lat_block(w, "clat_ns", &d->clat, d->hist);
	lat_block(w, "lat_ns", &d->lat, lat_pct && d->hist ? d->hist + HIST_NR : NULL);
	zero_samples(w);
	json_obj_end(w);
}

static void options(struct json *w, const char *key, const struct job *j)
{
	json_obj(w, key);
	for (unsigned i = 0; i < j->nkv; i++)
		json_str(w, j->kv[i].key, j->kv[i].val);
	json_obj_end(w);
}

static void job_object(struct json *w, const struct job_result *r)
{
	static const struct dir_stat none;
	const struct job *j = r->job;
	json_obj(w, NULL);
	json_str(w, "jobname", j->name);
	json_u64(w, "groupid", 0);
	json_u64(w, "error", (uint64_t)r->error);
	json_u64(w, "eta", 0);
	json_u64(w, "elapsed", (r->job_runtime_ns + 999999999) / 1000000000);
	options(w, "job options", j);
	ddir_block(w, "read", &r->d[DDIR_READ], r->runtime_ns, (int)j->lat_percentiles);
	ddir_block(w, "write", &r->d[DDIR_WRITE], r->runtime_ns, (int)j->lat_percentiles);
	ddir_block(w, "trim", &none, 0, 0);
	json_obj(w, "sync");
	json_u64(w, "total_ios", r->sync.n);
	lat_block(w, "lat_ns", &r->sync, NULL);
	json_obj_end(w);
	json_u64(w, "job_runtime", (r->job_runtime_ns + 500000) / 1000000);
	json_fix6(w, "usr_cpu", (struct fix6){0});
	json_fix6(w, "sys_cpu", (struct fix6){0});
	json_u64(w, "ctx", 0);
	json_u64(w, "majf", 0);
	json_u64(w, "minf", 0);
	if (j->description[0])
		json_str(w, "desc", j->description);
	json_obj_end(w);
}

/* ctime()-style text for a Unix time, by Howard Hinnant's days-to-civil algorithm (integers only). */
static void format_time(char *out, size_t n, uint64_t t)
{
	static const char wd[] = "ThuFriSatSunMonTueWed", mo[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	uint64_t days = t / 86400, s = t % 86400;
	uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	uint64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
	uint64_t y = yoe + era * 400 + (m <= 2);
	snprintf(out, n, "%.3s %.3s %2u %02u:%02u:%02u %u", wd + 3 * (days % 7), mo + 3 * (m - 1), (unsigned)d,
		 (unsigned)(s / 3600), (unsigned)(s / 60 % 60), (unsigned)(s % 60), (unsigned)y);
}

#define ENV_COUNTERS_MAX 16

static void exitless_block(struct json *w, const struct run_report *r, const struct eng_env *env)
{
	uint64_t io_err = 0, vfy_err = 0, vfy_blocks = 0, think_units = 0, think_ns = 0;
	const char *names[ENV_COUNTERS_MAX];
	uint64_t values[ENV_COUNTERS_MAX];
	unsigned n = env->counters ? env->counters(names, values, ENV_COUNTERS_MAX) : 0;
	for (unsigned i = 0; i < r->nres; i++) {
		io_err += r->res[i].io_errors;
		vfy_err += r->res[i].verify_errors;
		vfy_blocks += r->res[i].verified_blocks;
		think_units += r->res[i].think_units;
		think_ns += r->res[i].think_ns;
	}
	json_obj(w, "exitless");
	json_u64(w, "format", REPORT_FORMAT);
	json_str(w, "engine", ENGINE_VERSION);
	json_u64(w, "jobs", r->nres);
	json_u64(w, "io_errors", io_err);
	json_u64(w, "verify_errors", vfy_err);
	json_u64(w, "verified_blocks", vfy_blocks);
	json_str(w, "clock", "now_ns");
	json_u64(w, "think_units", think_units);
	json_u64(w, "think_ns", think_ns);
	for (unsigned i = 0; i < n && i < ENV_COUNTERS_MAX; i++)
		json_u64(w, names[i], values[i]);
	json_obj_end(w);
}

static void to_results(void *ctx, const char *text, size_t len)
{
	const struct eng_env *env = ctx;

	if (env->results)
		env->results(text, len);
}

void report_json(const struct run_report *r, const struct eng_env *env)
{
	struct json w;
	char when[40];
	format_time(when, sizeof(when), r->wall_s);
	json_begin(&w, to_results, (void *)env);
	json_str(&w, "fio version", ENGINE_VERSION);
	json_u64(&w, "timestamp", r->wall_s);
	json_u64(&w, "timestamp_ms", r->wall_s * 1000);
	json_str(&w, "time", when);
	options(&w, "global options", &r->jf->global);
	json_arr(&w, "jobs");
	for (unsigned i = 0; i < r->nres; i++)
		job_object(&w, &r->res[i]);
	json_arr_end(&w);
	exitless_block(&w, r, env);
	json_end(&w);
}

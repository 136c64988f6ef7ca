/* engine.c - engine_run(): parse the job file, check each job against the device, run jobs in order, report. */
#include "ioloop.h"

void eng_log(const struct eng_env *env, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	env->console(line, (size_t)n);
}

uint64_t eng_wait(const struct eng_env *env, uint64_t from, uint64_t ns)
{
	uint64_t now;
	while ((now = env->now_ns()) - from < ns)
		;
	return now;
}

void eng_wait_until(const struct eng_env *env, uint64_t deadline)
{
	if (env->sleep_until && env->now_ns() < deadline)
		env->sleep_until(deadline);
	while (env->now_ns() < deadline)
		;
}

void engine_work_unit(struct eng_loop *s)
{
	uint64_t x = s->x;
	for (int i = 0; i < 64; i++) { /* xorshift64*, each step a read-modify-write of the table */
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint32_t *t = &s->table[(x * 0x2545f4914f6cdd1dull) >> 54];
		*t = *t * 33 + (uint32_t)x;
	}
	s->x = x;
}

uint64_t engine_spin(const struct eng_env *env, struct eng_loop *s, uint64_t ns, uint64_t *units)
{
	uint64_t from = env->now_ns(), now = from;
	if (!s->x)
		s->x = 0x9e3779b97f4a7c15ull;
	while (now - from < ns) {
		engine_work_unit(s);
		(*units)++;
		now = env->now_ns();
	}
	return now;
}

/* I/O buffers are reused by the next job when large enough: alloc() never frees. */
struct bufpool {
	uint8_t *mem;
	size_t size;
};

static int refuse(const struct eng_env *env, const struct job *j, const char *what, unsigned long long v)
{
	eng_log(env, "job file line %u: job '%s': %s%llu\n", j->line, j->name, what, v);
	return ENG_EXIT_BADJOB;
}

/* The job's region: [offset, offset + size), size defaulting to the rest of the device like fio. */
static int check_job(const struct eng_env *env, const struct eng_dev *dev, const struct job *j, uint64_t *len)
{
	if (j->bs % dev->sector_size || j->offset % dev->sector_size)
		return refuse(env, j, "bs and offset must be multiples of the device's sector size: ", dev->sector_size);
	if (dev->max_io_bytes && j->bs > dev->max_io_bytes)
		return refuse(env, j, "bs is larger than the device's largest request: ", dev->max_io_bytes);
	if (RW_HAS_WRITE(j->rw) && dev->read_only)
		return refuse(env, j, "writes to a read-only device; device bytes: ", dev->capacity);
	if (j->offset >= dev->capacity)
		return refuse(env, j, "offset is past the end of the device; device bytes: ", dev->capacity);
	*len = j->size ? j->size : dev->capacity - j->offset;
	uint64_t blocks = RW_IS_RAND(j->rw) ? *len / j->bs : (*len + j->bs - 1) / j->bs;
	if (!blocks)
		return refuse(env, j, "size is smaller than bs: ", j->bs);
	if (blocks > (dev->capacity - j->offset) / j->bs)
		return refuse(env, j, "offset+size is past the end of the device; device bytes: ", dev->capacity);
	return 0;
}

static void *alloc_or_log(const struct eng_env *env, size_t size, size_t align)
{
	void *p = env->alloc(size, align);
	if (!p)
		eng_log(env, "engine: out of memory (%llu bytes)\n", (unsigned long long)size);
	return p;
}

/* Write buffers hold pseudo-random bytes (fio's default) so nothing below can shortcut zeroes. */
static void fill_random(uint8_t *b, size_t n, uint64_t seed)
{
	struct eng_rng r;
	rng_seed(&r, seed);
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t w = rng_next(&r);
		memcpy(b + i, &w, 8);
	}
}

static int setup_buffers(struct ioloop *l, struct bufpool *pool)
{
	size_t stride = (l->job->bs + ENG_BUF_ALIGN - 1) & ~(size_t)(ENG_BUF_ALIGN - 1);
	size_t need = stride * l->depth;
	if (need > pool->size) {
		pool->mem = alloc_or_log(l->env, need, ENG_BUF_ALIGN);
		pool->size = pool->mem ? need : 0;
		if (!pool->mem)
			return -1;
	}
	if (RW_HAS_WRITE(l->job->rw) && !l->job->verify)
		fill_random(pool->mem, need, l->job->randseed);
	for (unsigned i = 0; i < l->depth; i++) {
		l->ios[i].buf = pool->mem + i * stride;
		l->ios[i].slot = i;
		l->free[i] = &l->ios[i];
	}
	l->nfree = l->depth;
	return 0;
}

static int setup(struct ioloop *l, struct bufpool *pool, uint64_t len)
{
	const struct job *j = l->job;
	const struct eng_env *env = l->env;
	uint64_t seed = j->randrepeat || (j->set & (1ull << opt_index("randseed"))) ? j->randseed
										    : env->now_ns();
	offgen_init(&l->gen, j, j->offset, len, seed);
	l->ios_per_pass = offgen_ios_per_pass(&l->gen);
	l->depth = j->iodepth < l->dev->max_inflight ? j->iodepth : l->dev->max_inflight;
	l->depth = l->depth ? l->depth : 1;
	l->batch_max = j->iodepth_batch < l->depth ? j->iodepth_batch : l->depth;
	l->ios = alloc_or_log(env, l->depth * sizeof(*l->ios), 64);
	l->free = alloc_or_log(env, 3 * l->depth * sizeof(*l->free), 64);
	if (j->thinktime_ns && !(l->loop = alloc_or_log(env, sizeof(*l->loop), 64)))
		return -1;
	for (int d = 0; d < DDIR_NR; d++)
		l->res->d[d].hist = alloc_or_log(env, hist_buckets(j) * sizeof(uint64_t), 64);
	if (!l->ios || !l->free || !l->res->d[0].hist || !l->res->d[1].hist)
		return -1;
	l->batch = l->free + l->depth;
	l->done = l->batch + l->depth;
	if (j->verify && RW_HAS_WRITE(j->rw) && j->do_verify) {
		l->nblocks_map = l->ios_per_pass;
		l->written = alloc_or_log(env, (size_t)(l->nblocks_map + 7) / 8, 8);
		if (!l->written)
			return -1;
	}
	return setup_buffers(l, pool);
}

static void summary(const struct eng_env *env, const struct job_result *r)
{
	static const char *const dir[DDIR_NR] = {"read", "write"};
	char iops[32], mean[32];
	for (int d = 0; d < DDIR_NR; d++) {
		const struct dir_stat *s = &r->d[d];
		if (!s->ios)
			continue;
		fix6_format(iops, sizeof(iops), fix6_ratio(s->ios, 1000000000ull, r->runtime_ns));
		fix6_format(mean, sizeof(mean), lat_mean(&s->clat));
		eng_log(env, "job '%s': %s: %llu ios, %llu bytes in %llu us: iops=%s clat mean %s ns max %llu ns\n",
			r->job->name, dir[d], (unsigned long long)s->ios, (unsigned long long)s->bytes,
			(unsigned long long)(r->runtime_ns / 1000), iops, mean, (unsigned long long)s->clat.max);
	}
	if (r->verified_blocks || r->verify_errors)
		eng_log(env, "job '%s': verify: %llu blocks checked, %llu mismatches\n", r->job->name,
			(unsigned long long)r->verified_blocks, (unsigned long long)r->verify_errors);
}

/* Runs the write (or read) phase, then for a write job with do_verify a FLUSH and the read-back. */
static int run_phases(struct ioloop *l)
{
	int rc = ioloop_run(l);
	if (rc || !l->written)
		return rc;
	if (ioloop_flush(l))
		return -1;
	l->verify_phase = 1;
	return ioloop_run(l);
}

/* Checks job j against the device and sets up its loop and buffers (alloc is called only here). */
static int prepare(struct ioloop *l, const struct eng_env *env, const struct eng_dev *dev, const struct job *j,
		   struct job_result *res, struct bufpool *pool)
{
	uint64_t len;
	*l = (struct ioloop){.env = env, .dev = dev, .job = j, .res = res};
	res->job = j;
	int rc = check_job(env, dev, j, &len);
	if (rc)
		return rc;
	if (setup(l, pool, len))
		return ENG_EXIT_FAIL;
	l->region = len;
	l->next_ddir = -1;
	return ENG_EXIT_OK;
}

/* The job's line on the console (a clone's before the group starts, so that none falls in the window). */
static void announce(const struct ioloop *l)
{
	const struct job *j = l->job;
	char think[64] = "", who[16] = "", rate[96] = "";
	if (j->thinktime_ns)
		snprintf(think, sizeof(think), " thinktime=%lluus thinktime_blocks=%u",
			 (unsigned long long)(j->thinktime_ns / 1000), j->thinktime_blocks);
	if (j->nclones > 1)
		snprintf(who, sizeof(who), " clone %u", j->clone);
	if (rate_bps(j, DDIR_READ) || rate_bps(j, DDIR_WRITE))
		snprintf(rate, sizeof(rate), " offered %llu,%llu B/s (read,write; 0 = unlimited) %s",
			 (unsigned long long)rate_bps(j, DDIR_READ), (unsigned long long)rate_bps(j, DDIR_WRITE),
			 j->rate_process == RATE_POISSON ? "poisson" : "linear");
	eng_log(l->env, "job '%s'%s: rw=%s bs=%llu iodepth=%u region %llu+%llu%s%s%s\n", j->name, who,
		opt_rw_name(j->rw), (unsigned long long)j->bs, l->depth, (unsigned long long)j->offset,
		(unsigned long long)l->region, j->verify ? " verify=crc32c" : "", think, rate);
}

/* t_run: when engine_run() began. fio counts startdelay from its own start, not from the previous job's end,
 * so a job whose turn comes later than that starts at once. A clone (nclones > 1) was announced already and
 * leaves ENG_MARK_END to its group. */
static int execute(struct ioloop *l, uint64_t t_run)
{
	const struct eng_env *env = l->env;
	const struct job *j = l->job;
	struct job_result *res = l->res;
	int alone = j->nclones <= 1;
	if (j->startdelay_ns)
		eng_wait(env, t_run, j->startdelay_ns);
	if (alone)
		announce(l);
	l->t_begin = env->now_ns();
	pacer_init(&l->pace, j, l->t_begin);
	int rc = run_phases(l);
	uint64_t end = env->now_ns();
	res->job_runtime_ns = end - l->t_begin;
	res->runtime_ns = l->t_measure ? end - l->t_measure : 0;
	if (alone && l->t_measure && env->mark)
		env->mark(ENG_MARK_END);
	return rc ? ENG_EXIT_FAIL : ENG_EXIT_OK;
}

static int run_job(const struct eng_env *env, const struct eng_dev *dev, const struct job *j,
		   struct job_result *res, struct bufpool *pool, uint64_t t_run)
{
	struct ioloop l;
	int rc = prepare(&l, env, dev, j, res, pool);
	if (rc)
		return rc;
	rc = execute(&l, t_run);
	summary(env, res);
	return rc;
}

/* ---- numjobs: the clones of one job, at once ----
 * The measured window of the group opens when the first clone's statistics start (the others wait until
 * that marker is written, so none of their measured I/O precedes it) and closes when the last clone is
 * done, so the window holds every measured I/O of every clone. One group runs at a time: its state is
 * static. */
struct group {
	const struct eng_env *env;	/* the caller's */
	struct eng_env clone_env;	/* the same, with group_mark */
	struct eng_dev devs[CLONES_MAX];
	struct ioloop loops[CLONES_MAX];
	int rc[CLONES_MAX];
	unsigned n;
	uint64_t t_run;
	uint32_t begun, marked, ended;
};

static struct group *cur_group;

static void group_mark(int what)
{
	struct group *g = cur_group;
	if (what != ENG_MARK_BEGIN)
		return;
	if (__atomic_fetch_add(&g->begun, 1, __ATOMIC_ACQ_REL) == 0) {
		if (g->env->mark)
			g->env->mark(ENG_MARK_BEGIN);
		__atomic_store_n(&g->marked, 1, __ATOMIC_RELEASE);
	}
	while (!__atomic_load_n(&g->marked, __ATOMIC_ACQUIRE))
		;
}

static void clone_main(void *arg, unsigned i)
{
	struct group *g = arg;
	g->rc[i] = execute(&g->loops[i], g->t_run);
	if (__atomic_add_fetch(&g->ended, 1, __ATOMIC_ACQ_REL) == g->n && g->begun && g->env->mark)
		g->env->mark(ENG_MARK_END);
}

/* Runs the n clones jobs[0 .. n) at once (env->parallel, each on its own queue), or one after another
 * without env->parallel. Returns the worst exit code. */
static int run_group(const struct eng_env *env, const struct eng_dev *dev, const struct job *jobs, unsigned n,
		     struct job_result *res, struct bufpool *pools, uint64_t t_run)
{
	struct group *g = alloc_or_log(env, sizeof(*g), 64);
	int worst = ENG_EXIT_OK;
	if (!g)
		return ENG_EXIT_FAIL;
	if (env->parallel && dev->nqueues < n) {
		res[0].job = &jobs[0];
		eng_log(env, "job file line %u: job '%s': numjobs=%u runs its clones at once, each on a queue of its "
			"own; there are %u (in the guest: its disk's queues or its vCPUs, the fewer)\n", jobs[0].line,
			jobs[0].name, n, dev->nqueues ? dev->nqueues : 1);
		return ENG_EXIT_BADJOB;
	}
	*g = (struct group){.env = env, .clone_env = *env, .n = n, .t_run = t_run};
	g->clone_env.mark = group_mark;
	for (unsigned i = 0; i < n; i++) {
		g->devs[i] = *dev;
		if (dev->nqueues)
			g->devs[i].ctx = dev->queues[i % dev->nqueues];
		int rc = prepare(&g->loops[i], &g->clone_env, &g->devs[i], &jobs[i], &res[i], &pools[i]);
		if (rc)
			return rc;
		announce(&g->loops[i]);
	}
	cur_group = g;
	if (env->parallel) {
		if (env->parallel(n, clone_main, g) != 0)
			return ENG_EXIT_BADJOB;
	} else {
		for (unsigned i = 0; i < n; i++)
			clone_main(g, i);
	}
	cur_group = NULL;
	for (unsigned i = 0; i < n; i++) {
		summary(env, &res[i]);
		worst = g->rc[i] > worst ? g->rc[i] : worst;
	}
	return worst;
}

int engine_run(const char *text, size_t len, const struct eng_env *env, const struct eng_dev *dev)
{
	uint64_t t_run = env->now_ns(); /* fio's genesis: startdelay counts from here */
	struct jobfile *jf = alloc_or_log(env, sizeof(*jf), 64);
	if (!jf)
		return ENG_EXIT_FAIL;
	if (jobfile_parse(jf, text, len)) {
		eng_log(env, "%s\n", jf->err);
		return ENG_EXIT_BADJOB;
	}
	struct job_result *res = alloc_or_log(env, jf->njobs * sizeof(*res), 64);
	if (!res)
		return ENG_EXIT_FAIL;
	struct bufpool pools[CLONES_MAX] = {{0}};
	struct run_report rep = {jf, res, 0, env->wall_s ? env->wall_s() : 0};
	int worst = ENG_EXIT_OK;
	for (unsigned i = 0; i < jf->njobs && worst != ENG_EXIT_BADJOB;) {
		unsigned n = jf->jobs[i].nclones > 1 ? jf->jobs[i].nclones : 1;
		int rc = n > 1 ? run_group(env, dev, &jf->jobs[i], n, &res[i], pools, t_run)
			       : run_job(env, dev, &jf->jobs[i], &res[i], &pools[0], t_run);
		if (rc != ENG_EXIT_BADJOB)
			rep.nres += n;
		worst = rc > worst ? rc : worst;
		i += n;
	}
	report_json(&rep, env);
	return worst;
}

int engine_check(const char *text, size_t len, const struct eng_env *env)
{
	struct jobfile *jf = alloc_or_log(env, sizeof(*jf), 64);
	if (!jf)
		return ENG_EXIT_FAIL;
	if (!jobfile_parse(jf, text, len))
		return ENG_EXIT_OK;
	eng_log(env, "%s\n", jf->err);
	return ENG_EXIT_BADJOB;
}

/* ioloop.c - one job's I/O loop: keep iodepth requests in flight, time them, verify, stop on the limits. */
#include "ioloop.h"

#define ERRORS_SHOWN 5 /* I/O errors and verify mismatches named on the console per job */

static int measuring(const struct ioloop *l)
{
	return l->t_measure != 0;
}

/* The ramp is over: statistics and the size/number_ios budgets start from zero (fio's reset_all_stats). */
static void begin_measure(struct ioloop *l, uint64_t now)
{
	struct job_result *res = l->res;
	for (int d = 0; d < DDIR_NR; d++) {
		uint64_t *hist = res->d[d].hist;
		memset(hist, 0, hist_buckets(l->job) * sizeof(*hist));
		memset(&res->d[d], 0, sizeof(res->d[d]));
		res->d[d].hist = hist;
	}
	l->think_mark -= l->completed; /* thinktime_blocks keeps counting across the reset (fio rebases it too) */
	l->issued = l->completed = 0;
	l->t_measure = now ? now : 1;
	pacer_restart(&l->pace, now); /* the offered load starts again with the statistics (as fio) */
	if (l->env->mark)
		l->env->mark(ENG_MARK_BEGIN);
}

/* Whether another request may start: fio's size (one pass unless time_based), number_ios, runtime. */
static int may_issue(struct ioloop *l, uint64_t now)
{
	const struct job *j = l->job;
	if (l->failed)
		return 0;
	if (l->verify_phase) {
		while (l->verify_next < l->nblocks_map && !(l->written[l->verify_next / 8] & (1u << (l->verify_next % 8))))
			l->verify_next++;
		return l->verify_next < l->nblocks_map;
	}
	if (!measuring(l) && now - l->t_begin >= j->ramp_ns)
		begin_measure(l, now);
	if (!measuring(l))
		return 1;
	if (j->number_ios && l->issued >= j->number_ios)
		return 0;
	if (!j->time_based && l->issued >= l->ios_per_pass)
		return 0;
	return !j->runtime_ns || now - l->t_measure < j->runtime_ns;
}

static void fill_verify(struct ioloop *l, struct eng_io *io)
{
	uint8_t *b = io->buf;
	for (uint32_t k = 0; k + l->job->bs <= io->length; k += (uint32_t)l->job->bs)
		vfy_fill(b + k, (uint32_t)l->job->bs, io->offset + k, l->job->randseed);
}

static void verify_read_target(struct ioloop *l, struct eng_io *io)
{
	io->offset = l->gen.start + l->verify_next++ * l->job->bs;
	io->ddir = DDIR_READ;
}

static void prepare(struct ioloop *l, struct eng_io *io, uint64_t now)
{
	if (l->verify_phase) {
		verify_read_target(l, io);
	} else {
		io->ddir = l->next_ddir >= 0 ? (uint8_t)l->next_ddir : offgen_ddir(&l->gen);
		l->next_ddir = -1;
		io->offset = offgen_offset(&l->gen, io->ddir);
		pacer_started(&l->pace, io->ddir, l->job->bs);
	}
	io->op = io->ddir == DDIR_READ ? ENG_OP_READ : ENG_OP_WRITE;
	io->length = (uint32_t)l->job->bs;
	io->status = 0;
	io->phase = measuring(l);
	if (io->op == ENG_OP_WRITE && l->job->verify)
		fill_verify(l, io);
	l->issued++;
	io->t_start = l->job->verify && io->op == ENG_OP_WRITE ? l->env->now_ns() : now;
}

static void commit(struct ioloop *l)
{
	if (!l->nbatch)
		return;
	l->dev->ops->commit(l->dev->ctx);
	uint64_t now = l->env->now_ns();
	for (unsigned i = 0; i < l->nbatch; i++)
		l->batch[i]->t_issue = now;
	l->inflight += l->nbatch;
	l->nbatch = 0;
}

static void io_error(struct ioloop *l, const struct eng_io *io, const char *why)
{
	l->res->io_errors++;
	l->failed = 1;
	if (l->res->io_errors <= ERRORS_SHOWN)
		eng_log(l->env, "job '%s': I/O error: %s offset %llu (LBA %llu) length %u: %s %d\n",
			l->job->name, io->op == ENG_OP_WRITE ? "write" : io->op == ENG_OP_READ ? "read" : "flush",
			(unsigned long long)io->offset, (unsigned long long)(io->offset / 512), io->length, why,
			(int)io->status);
	if (!l->res->error)
		l->res->error = 5; /* EIO, as fio reports it */
}

/* Queues io (prepared) unless the device is full; returns 1 when queued, 0 when it must wait. */
static int submit(struct ioloop *l, struct eng_io *io)
{
	int rc = l->dev->ops->queue(l->dev->ctx, io);
	if (rc == ENG_Q_FULL)
		return 0;
	if (rc != ENG_Q_OK) {
		io_error(l, io, "refused by the driver, code");
		l->free[l->nfree++] = io;
		return 1;
	}
	l->batch[l->nbatch++] = io;
	if (l->nbatch >= l->batch_max)
		commit(l);
	return 1;
}

static void check_read(struct ioloop *l, const struct eng_io *io)
{
	char msg[160];
	const uint8_t *b = io->buf;
	for (uint32_t k = 0; k + l->job->bs <= io->length; k += (uint32_t)l->job->bs) {
		l->res->verified_blocks++;
		if (!vfy_check(b + k, (uint32_t)l->job->bs, io->offset + k, l->job->randseed, msg, sizeof(msg)))
			continue;
		l->res->verify_errors++;
		l->failed = 1;
		if (!l->res->error)
			l->res->error = 84; /* EILSEQ, fio's verify failure */
		if (l->res->verify_errors <= ERRORS_SHOWN)
			eng_log(l->env, "job '%s': verify: %s\n", l->job->name, msg);
	}
}

static void account(struct ioloop *l, const struct eng_io *io, uint64_t now)
{
	struct dir_stat *d = &l->res->d[io->ddir];
	d->ios++;
	d->bytes += io->length;
	lat_add(&d->slat, io->t_issue - io->t_start);
	lat_add(&d->clat, now - io->t_issue);
	lat_add(&d->lat, now - io->t_start);
	d->hist[hist_index(now - io->t_issue)]++;
	if (l->job->lat_percentiles)
		d->hist[HIST_NR + hist_index(now - io->t_start)]++;
}

static void complete(struct ioloop *l, struct eng_io *io, uint64_t now)
{
	l->inflight--;
	l->free[l->nfree++] = io;
	if (io->status) {
		io_error(l, io, "status");
		return;
	}
	l->completed++;
	if (io->op == ENG_OP_READ && l->job->verify)
		check_read(l, io);
	if (io->op == ENG_OP_WRITE && l->written) {
		uint64_t blk = (io->offset - l->gen.start) / l->job->bs;
		l->written[blk / 8] |= (uint8_t)(1u << (blk % 8));
	}
	if (io->phase && measuring(l))
		account(l, io, now);
}

static int reap(struct ioloop *l, int wait)
{
	int n = l->dev->ops->reap(l->dev->ctx, l->done, l->depth, wait);
	if (n < 0) {
		eng_log(l->env, "job '%s': the device failed (reap returned %d)\n", l->job->name, n);
		l->res->io_errors++;
		l->res->error = 5;
		l->failed = 1;
		l->inflight = 0; /* nothing more will come back */
		return -1;
	}
	uint64_t now = l->env->now_ns();
	for (int i = 0; i < n; i++)
		complete(l, l->done[i], now);
	return n;
}

/* Commits what is queued and waits until nothing of the job is in flight (fio's io_u_quiesce). */
static void quiesce(struct ioloop *l)
{
	commit(l);
	while (l->inflight && reap(l, 1) >= 0)
		;
}

/* fio's handle_thinktime(): once thinktime_blocks more I/Os have completed, let every request in flight
 * complete (fio's io_u_quiesce), then wait thinktime, cut short where runtime ends. fio checks after each
 * request it starts (after reaping, when that filled the queue), never in the verify read-back. A request
 * prepared but refused with ENG_Q_FULL (`pending`) is restamped so its slat leaves the pause out. */
static void think(struct ioloop *l, struct eng_io *pending)
{
	const struct job *j = l->job;
	if (!j->thinktime_ns || l->verify_phase || l->failed || l->completed - l->think_mark < j->thinktime_blocks)
		return;
	uint64_t mark = l->completed;
	quiesce(l);
	if (l->failed)
		return;
	uint64_t now = l->env->now_ns(), ns = j->thinktime_ns;
	if (j->runtime_ns && measuring(l)) {
		uint64_t ran = now - l->t_measure, left = ran < j->runtime_ns ? j->runtime_ns - ran : 0;
		ns = ns < left ? ns : left;
	}
	uint64_t units = 0, from = now;
	now = engine_spin(l->env, l->loop, ns, &units); /* the pause does countable work: a neighbour's progress */
	if (measuring(l)) {
		l->res->think_units += units;
		l->res->think_ns += now - from;
	}
	l->think_mark = mark;
	if (pending)
		pending->t_start = now;
}

/* Whether a mixed job may switch to the other direction to keep its offered load (fio: rwmix of it > 0). */
static int other_allowed(const struct job *j, int ddir)
{
	if (j->rw != RW_RW && j->rw != RW_RANDRW)
		return 0;
	return ddir == DDIR_READ ? j->rwmixread < 100 : j->rwmixread > 0;
}

/* fio's rate_ddir(): with rate or rate_iops the next request (its direction drawn now and kept) waits for
 * its turn. A wait first lets every request in flight complete (fio's io_u_quiesce: a paced job at any
 * iodepth only has requests in flight while it is behind), and ends early where runtime or ramp_time ends.
 * Returns 1 after a wait (the caller checks the limits again), 0 when the request may start now. */
static int pace(struct ioloop *l, uint64_t now)
{
	const struct job *j = l->job;
	uint64_t due, end;

	if (!l->pace.on || l->verify_phase)
		return 0;
	if (l->next_ddir < 0)
		l->next_ddir = offgen_ddir(&l->gen);
	l->next_ddir = pacer_next(&l->pace, l->next_ddir, other_allowed(j, l->next_ddir), now, &due);
	if (due <= now)
		return 0;
	quiesce(l);
	end = measuring(l) ? (j->runtime_ns ? l->t_measure + j->runtime_ns : due) : l->t_begin + j->ramp_ns;
	eng_wait_until(l->env, due < end ? due : end);
	return 1;
}

/* fio's do_io(): fill the queue, and when it is full (or nothing more may start) wait for at least one
 * completion and take every one that is ready. Ends when nothing may start and nothing is in flight.
 * thinktime is considered after every request started, once the queue has room again (as fio does); the
 * final drain, when nothing more may start, never pauses. */
int ioloop_run(struct ioloop *l)
{
	struct eng_io *pending = NULL;
	for (;;) {
		uint64_t now = l->env->now_ns();
		if (!pending && l->nfree && may_issue(l, now)) {
			if (pace(l, now))
				continue;
			pending = l->free[--l->nfree];
			prepare(l, pending, now);
		}
		if (pending && submit(l, pending)) {
			pending = NULL;
			if (l->nfree)
				think(l, NULL);
			continue;
		}
		int full = pending || !l->nfree;
		commit(l);
		if (!l->inflight) {
			if (pending) /* full with nothing outstanding: the driver broke its contract */
				io_error(l, pending, "device full with nothing in flight, code");
			break;
		}
		if (reap(l, 1) < 0)
			break;
		if (full)
			think(l, pending);
	}
	return l->failed ? -1 : 0;
}

/* One FLUSH through the same queue, timed into fio's "sync" block. */
int ioloop_flush(struct ioloop *l)
{
	struct eng_io *io = l->free[--l->nfree];
	void *buf = io->buf; /* the slot keeps its data buffer for later reads */
	uint32_t slot = io->slot;
	memset(io, 0, sizeof(*io));
	io->op = ENG_OP_FLUSH;
	io->t_start = l->env->now_ns();
	int n = l->dev->ops->queue(l->dev->ctx, io);
	if (n == ENG_Q_OK) {
		l->dev->ops->commit(l->dev->ctx);
		while ((n = l->dev->ops->reap(l->dev->ctx, l->done, 1, 1)) == 0)
			;
	}
	io->buf = buf;
	io->slot = slot;
	l->free[l->nfree++] = io;
	if (n < 0 || io->status) {
		io_error(l, io, "status");
		return -1;
	}
	lat_add(&l->res->sync, l->env->now_ns() - io->t_start);
	return 0;
}

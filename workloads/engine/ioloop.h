/* ioloop.h - the state of one running job, shared by its setup (engine.c) and its I/O loop (ioloop.c). */
#ifndef EXITLESS_IOLOOP_H
#define EXITLESS_IOLOOP_H

#include "eng.h"

struct ioloop {
	const struct eng_env *env;
	const struct eng_dev *dev;
	const struct job *job;
	struct job_result *res;
	struct offgen gen;
	struct eng_io *ios;                   /* depth requests, each with its own bs-sized buffer */
	struct eng_io **free, **batch, **done; /* depth entries each */
	unsigned depth;                        /* min(iodepth, device max_inflight) */
	unsigned batch_max;                    /* iodepth_batch: queued requests per commit */
	unsigned nfree, nbatch, inflight;
	uint64_t issued;                       /* requests started in this phase (the budgets count these) */
	uint64_t completed, think_mark;        /* successful completions; their count at the last thinktime pause */
	uint64_t ios_per_pass;                 /* fio: seq ceil(size/bs), random floor(size/bs) */
	uint64_t t_begin, t_measure;           /* job start; statistics start (0 while ramping) */
	uint64_t region;                       /* bytes of the job's region */
	struct eng_loop *loop;                 /* thinktime's work (engine_spin); NULL without thinktime */
	struct pacer pace;                     /* rate, rate_iops: when the next request is due */
	int next_ddir;                         /* direction drawn for the next request (paced), or -1 */
	uint8_t *written;                      /* verify: bitmap of blocks written, per bs from offset */
	uint64_t nblocks_map, verify_next;     /* bitmap length in blocks; next block to read back */
	int verify_phase;
	int failed;
};

/* Runs requests until the job's limits are reached (or, in the verify phase, every written block has
 * been read back and checked). Returns 0, or -1 after an I/O error or a verify mismatch. */
int ioloop_run(struct ioloop *l);
/* Sends one FLUSH and waits for it; nothing may be in flight. Returns 0 or -1 (I/O error). */
int ioloop_flush(struct ioloop *l);

#endif

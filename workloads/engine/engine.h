/* engine.h - the fio job engine's contract with its environment: clock, outputs, memory, block device, entry. */
#ifndef EXITLESS_ENGINE_H
#define EXITLESS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Who calls what. The caller (the guest kernel's CPL3 main, or build/engine-host on a host) fills one
 * struct eng_env and one struct eng_dev, then calls engine_run() once with the job file text. The engine
 * runs every job section in order, calling only the function pointers below, from the caller's thread;
 * the clones of a numjobs=N job run at once through env->parallel when there is one (then queue/commit/reap
 * of different queues and now_ns, console and mark are called concurrently; alloc never is), else one after
 * another. It prints fio's JSON on env->results after
 * the last job and returns an exit code (ENG_EXIT_*). Nothing here uses floating point.
 */

/* Exit codes of engine_run(): the same values as include/abi.h's ABI_EXIT_OK / _FAIL / _BADARG. */
#define ENG_EXIT_OK     0 /* every job ran, no I/O error, no verify mismatch */
#define ENG_EXIT_FAIL   1 /* an I/O error or a verify mismatch (named on the console) */
#define ENG_EXIT_BADJOB 2 /* bad job file, or a job that does not fit the device (one line on the console) */

/* Every I/O buffer is aligned to this. In the guest gpa == va and alloc() memory is contiguous, so a
 * buffer of `length` bytes is one physically contiguous DMA region (one descriptor). */
#define ENG_BUF_ALIGN 4096

/* Measured-window markers passed to env->mark (the guest writes them to ABI_MARKER_PORT). */
#define ENG_MARK_BEGIN 1 /* statistics start: after ramp_time, just before the first measured I/O */
#define ENG_MARK_END   2 /* the job's last I/O has completed (before verify read-back and output) */

struct eng_env {
	/* Monotonic nanoseconds (guest: rdtsc scaled by tsc_khz). Called around every I/O: keep it cheap. */
	uint64_t (*now_ns)(void);
	/* Human-readable log lines (guest: COM1). Text ends with '\n'; not NUL-terminated. */
	void (*console)(const char *text, size_t len);
	/* Machine output, fio JSON (guest: COM2). Called with consecutive chunks of one document. */
	void (*results)(const char *text, size_t len);
	/* Zeroed memory of `size` bytes aligned to `align` (a power of two, at most ENG_BUF_ALIGN); never
	 * freed. Returns NULL when out of memory (the engine then fails the job). Buffers for I/O come from
	 * here, so in the guest this memory must be identity-mapped (gpa == va) and DMA-able. */
	void *(*alloc)(size_t size, size_t align);
	/* Optional (may be NULL): the measured window markers ENG_MARK_*. */
	void (*mark)(int what);
	/* Optional (may be NULL): lets the CPU rest until now_ns() reaches `deadline` (fio sleeps there); it may
	 * return early, the engine busy-waits on now_ns() for the rest. NULL: the engine busy-waits. Used for
	 * the gaps of an offered load (rate, rate_iops), never for thinktime (a CPU-bound loop on purpose). */
	void (*sleep_until)(uint64_t deadline);
	/* Optional (may be NULL): wall-clock seconds since 1970 for fio's "timestamp"/"time"; 0 if unknown. */
	uint64_t (*wall_s)(void);
	/* Optional (may be NULL): runs fn(arg, i) for i = 0 .. n-1 at once (i = 0 on the calling thread) and
	 * returns when all have returned: 0, or -1 (after its own console line) when it cannot run n at once. */
	int (*parallel)(unsigned n, void (*fn)(void *arg, unsigned i), void *arg);
	/* Optional: the environment's own numbers for the "exitless" block of the results, read once at the end:
	 * fills names[i]/values[i] and returns how many (at most max). */
	unsigned (*counters)(const char **names, uint64_t *values, unsigned max);
};

enum eng_op { ENG_OP_READ = 0, ENG_OP_WRITE = 1, ENG_OP_FLUSH = 2 };

/*
 * One request. The engine owns it; it lends it to the driver from queue() until reap() hands it back.
 * The driver reads op/offset/length/buf, writes status, and may use `drv` as it likes meanwhile.
 */
struct eng_io {
	uint64_t offset;  /* bytes from the start of the device; a multiple of sector_size */
	void *buf;        /* ENG_BUF_ALIGN-aligned, `length` bytes; NULL for a flush */
	uint32_t length;  /* bytes; a multiple of sector_size, at most max_io_bytes; 0 for a flush */
	uint8_t op;       /* enum eng_op */
	int32_t status;   /* set by the driver when it completes the request: 0 ok, anything else an error */
	uintptr_t drv;    /* driver-private, e.g. a descriptor head; untouched by the engine */
	/* Engine-private below: the driver must not touch these. */
	uint64_t t_start; /* handed to queue() */
	uint64_t t_issue; /* commit() returned: submitted to the device */
	uint32_t slot;    /* index in the engine's request array */
	uint8_t ddir;     /* statistics direction */
	uint8_t phase;    /* 1: started after ramp_time, so it is counted */
};

/* Return values of eng_dev_ops.queue(). */
#define ENG_Q_OK    0  /* added to the current batch */
#define ENG_Q_FULL  1  /* no room now: the engine commits, reaps at least one completion and retries */
#define ENG_Q_ERROR -1 /* rejected outright (e.g. past the end): counted as an I/O error, not retried */

/* A block device: state behind ctx plus a const ops table (the fio engines/ style). */
struct eng_dev_ops {
	/* Adds io to the current batch. Must not block and need not make it visible to the device yet. */
	int (*queue)(void *ctx, struct eng_io *io);
	/* Publishes every request queued since the last commit (the driver kicks the device if it must). */
	void (*commit)(void *ctx);
	/* Moves up to max completed requests into done[] and returns how many (0 when none and wait == 0),
	 * or a negative value on a dead device. wait == 1: block until at least one completes (poll or halt
	 * for the interrupt, the driver's choice); the engine asks for it only while it has requests
	 * committed and not yet reaped. Completions may come back in any order. */
	int (*reap)(void *ctx, struct eng_io **done, unsigned max, int wait);
};

struct eng_dev {
	const struct eng_dev_ops *ops;
	void *ctx;             /* passed to every op */
	uint64_t capacity;     /* bytes */
	uint32_t sector_size;  /* bytes, a power of two (usually 512): offsets and lengths are multiples */
	uint32_t max_inflight; /* the engine never has more requests queued + in flight (iodepth is capped) */
	uint32_t max_io_bytes; /* largest length of one request; 0 = no limit. A job with a larger bs is refused */
	int read_only;         /* 1: write jobs are refused before any I/O */
	/* Optional: independent queues of the device (ctx values, e.g. virtio-blk's request queues). Clone k of
	 * a numjobs job uses queues[k]; with env->parallel a job needs a queue per clone. nqueues 0: ctx only. */
	void *const *queues;
	unsigned nqueues;
};

/* The CPU-bound loop of thinktime (and of a neighbour's progress, measured by the environment): one unit is a
 * fixed amount of integer work on a 4 KiB table in *state (cache-resident, so what pollutes the cache slows
 * it down). engine_spin runs units for ns nanoseconds of now_ns(), adds them to *units and returns the last
 * now_ns(). */
struct eng_loop {
	uint64_t x;
	uint32_t table[1024];
};
void engine_work_unit(struct eng_loop *state);
uint64_t engine_spin(const struct eng_env *env, struct eng_loop *state, uint64_t ns, uint64_t *units);

/* Runs every job of the fio job file text[0..len) on dev, in order; prints fio JSON on env->results.
 * Returns ENG_EXIT_OK, ENG_EXIT_FAIL or ENG_EXIT_BADJOB. text need not be NUL-terminated. */
int engine_run(const char *text, size_t len, const struct eng_env *env, const struct eng_dev *dev);

/* Parses the job file only (no I/O; uses env->console and env->alloc). Returns ENG_EXIT_OK or ENG_EXIT_BADJOB
 * after printing the one-line error. */
int engine_check(const char *text, size_t len, const struct eng_env *env);

#endif

/* app.c - the guest application: runs the fio job of PVH module 0 with the engine on the first virtio-blk disk. */
#include "guest.h"
#include "engine.h"
#include "virtio_blk.h"

#define PAGE        4096
#define CHUNK_PAGES 16	/* small engine allocations are carved out of chunks this big */
#define REAP_BATCH  64

static struct blk_dev app_disk;
static void *app_queues[BLK_MAX_QUEUES];

/* ---- the engine's environment ---- */

static uint64_t env_now_ns(void) { return clock_ns(); }

/* A paced job's wait for its next request (rate, rate_iops): the vCPU halts on the LAPIC timer, as fio sleeps
 * between paced requests on bare metal, instead of spinning (a vCPU busy at any offered load). It wakes
 * SLEEP_EARLY_NS before the deadline and the engine spins the rest (the timer's wake-up latency); a wait shorter
 * than SLEEP_MIN_NS spins. Where the kernel has no timer for it (-ENODEV: not CPU 0, no TSC-deadline timer),
 * the engine spins. */
#define SLEEP_EARLY_NS 20000
#define SLEEP_MIN_NS   50000

static void env_sleep_until(uint64_t deadline)
{
	uint64_t tsc = clock_tsc(), now = clock_tsc_to_ns(tsc), khz = clock_tsc_khz(), wait;

	if (!khz || deadline < now + SLEEP_MIN_NS)
		return;
	wait = deadline - SLEEP_EARLY_NS - now;
	sys_sleep_until(tsc + wait / 1000000 * khz + wait % 1000000 * khz / 1000000); /* no 64-bit overflow */
}

/* Zeroed, aligned, never freed. Big requests get their own pages (contiguous, gpa == va: DMA-able as one
 * descriptor); small ones share a chunk so that the engine's bookkeeping does not burn a page each. */
static void *env_alloc(size_t size, size_t align)
{
	static uintptr_t pos, end;
	void *p;

	if (size == 0)
		size = 1;
	if (size >= PAGE / 2) {
		p = page_alloc((size + PAGE - 1) / PAGE);
		if (p)
			memset(p, 0, (size + PAGE - 1) & ~(size_t)(PAGE - 1));
		return p;
	}
	if (align < 8)
		align = 8;
	pos = (pos + align - 1) & ~(uintptr_t)(align - 1);
	if (!pos || pos + size > end) {
		p = page_alloc(CHUNK_PAGES);
		if (!p)
			return NULL;
		memset(p, 0, CHUNK_PAGES * PAGE);
		pos = (uintptr_t)p;
		end = pos + CHUNK_PAGES * PAGE;
	}
	p = (void *)pos;
	pos += size;
	return p;
}

/* ---- neighbour=same|other|both: the progress of a CPU-bound loop beside the I/O ----
 * same: the loop (the engine's work unit) runs alone on CPU 0 for REF_NS first (the reference, CPU 1 halted);
 * the job's thinktime pauses run it between I/Os (the engine counts those). other: the loop runs alone on
 * CPU 1 for REF_NS (CPU 0 spinning, as it would poll), then on CPU 1 from the window's first marker to its
 * last while CPU 0 runs the job. both: the two, at once (each then also feels the other's CPU use). Every
 * count goes to the "exitless" block of the results as loop_* (units and ns). */
enum { NB_SAME = 1, NB_OTHER = 2 };
#define REF_NS 300000000ull

static struct {
	int on;		/* NB_SAME | NB_OTHER */
	uint32_t phase;	/* CPU 1 during the job: 0 wait, 1 count, 2 stop; written by CPU 0 */
	uint32_t done;	/* CPU 1 published its counts */
	uint64_t ref_units, ref_ns, other_ref_units, other_ref_ns, other_units, other_ns;
	struct eng_loop loop[2];
} nb;

static uint32_t nb_load(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void nb_store(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/* CPU 1's loop during the job: counts between phase 1 and phase 2. */
static void nb_beside(void)
{
	uint64_t units = 0, t0 = 0;

	while (nb_load(&nb.phase) == 0)
		__asm__ volatile("pause");
	t0 = clock_ns();
	while (nb_load(&nb.phase) == 1) {
		engine_work_unit(&nb.loop[1]);
		units++;
	}
	nb.other_ns = clock_ns() - t0;
	nb.other_units = units;
	nb_store(&nb.done, 1);
}

/* Ends CPU 1's count (once): at the window's last marker, or when the job ends without one. */
static void nb_stop(void)
{
	if (!(nb.on & NB_OTHER) || nb_load(&nb.phase) == 2)
		return;
	nb_store(&nb.phase, 2);
	while (!nb_load(&nb.done))
		__asm__ volatile("pause");
}

/* The measured window (after ramp_time .. last I/O of the job): build/vmm snapshots its counters here. */
static void env_mark(int what)
{
	if (what == ENG_MARK_BEGIN) {
		mark_begin();
		if ((nb.on & NB_OTHER) && nb_load(&nb.phase) == 0)
			nb_store(&nb.phase, 1);
	} else if (what == ENG_MARK_END) {
		nb_stop();
		mark_end();
	}
}

static unsigned env_counters(const char **names, uint64_t *values, unsigned max)
{
	static const char *const keys[] = { "loop_ref_units", "loop_ref_ns", "loop_other_ref_units",
					    "loop_other_ref_ns", "loop_other_units", "loop_other_ns" };
	uint64_t v[] = { nb.ref_units, nb.ref_ns, nb.other_ref_units, nb.other_ref_ns, nb.other_units, nb.other_ns };
	unsigned n = 0;

	for (unsigned i = 0; i < 6 && n < max; i++)
		if ((i < 2 && (nb.on & NB_SAME)) || (i >= 2 && (nb.on & NB_OTHER))) {
			names[n] = keys[i];
			values[n++] = v[i];
		}
	return n;
}

/* host_haltpoll=: whether KVM polls after a vCPU of the job halts (1) or blocks it at once (0), applied on every CPU
 * the job runs on; -1 leaves KVM's default (no KVM_FEATURE_POLL_CONTROL). */
static int host_haltpoll = -1;

static struct {
	void (*fn)(void *arg, unsigned i);
	void *arg;
} par;

static void par_entry(void *unused, unsigned i)
{
	(void)unused;
	if (i && host_haltpoll >= 0)
		sys_host_haltpoll(host_haltpoll);
	par.fn(par.arg, i);
}

/* numjobs: the clones run on CPUs 0 .. n-1 at once, each on its own queue. */
static int env_parallel(unsigned n, void (*fn)(void *arg, unsigned i), void *arg)
{
	if (nb.on & NB_OTHER) {
		kprintf("app: neighbour=other keeps CPU 1 for its loop: a job with numjobs=%u cannot run beside it\n", n);
		return -1;
	}
	par.fn = fn, par.arg = arg;
	return smp_run(n, par_entry, NULL);
}

static const struct eng_env app_env = {
	.now_ns = env_now_ns,
	.sleep_until = env_sleep_until,
	.console = con_write,
	.results = res_write,
	.alloc = env_alloc,
	.mark = env_mark,
	.wall_s = NULL,
	.parallel = env_parallel,
	.counters = env_counters,
};

/* ---- the engine's block device, mapped onto the driver ---- */

static int dev_queue(void *ctx, struct eng_io *io)
{
	static const uint32_t type[] = {
		[ENG_OP_READ] = VIRTIO_BLK_T_IN, [ENG_OP_WRITE] = VIRTIO_BLK_T_OUT, [ENG_OP_FLUSH] = VIRTIO_BLK_T_FLUSH,
	};
	int r;

	if (io->op > ENG_OP_FLUSH)
		return ENG_Q_ERROR;
	r = blk_queue(ctx, type[io->op], io->offset, io->buf, io->length, io);
	return r == BLK_Q_OK ? ENG_Q_OK : r == BLK_Q_FULL ? ENG_Q_FULL : ENG_Q_ERROR;
}

static void dev_commit(void *ctx) { blk_commit(ctx); }

static int dev_reap(void *ctx, struct eng_io **done, unsigned max, int wait)
{
	void *cookies[REAP_BATCH];
	uint8_t status[REAP_BATCH];
	int n = blk_reap(ctx, cookies, status, max < REAP_BATCH ? max : REAP_BATCH, wait);

	for (int i = 0; i < n; i++) {
		done[i] = cookies[i];
		done[i]->status = status[i];	/* VIRTIO_BLK_S_OK is 0; IOERR, UNSUPP, BLK_S_NONE are errors */
	}
	return n;
}

static const struct eng_dev_ops app_dev_ops = {
	.queue = dev_queue,
	.commit = dev_commit,
	.reap = dev_reap,
};

/* ---- start-up ---- */

/* `completion=poll|irq|hybrid` (the VMM passes its --completion mode; default poll). -1 on a bad value. */
static int completion_from_cmdline(void)
{
	const char *v = kcmd_get("completion");

	if (!v || !strcmp(v, "poll"))
		return BLK_POLL;
	if (!strcmp(v, "irq"))
		return BLK_IRQ;
	if (!strcmp(v, "hybrid"))
		return BLK_HYBRID;
	kprintf("app: bad completion=%s on the command line: use completion=poll, irq or hybrid\n", v);
	return -1;
}

/* `host_haltpoll=on|off`: KVM's halt polling for the job's vCPUs (MSR_KVM_POLL_CONTROL, when KVM offers it). Off by
 * default when the guest polls itself (completion=poll, hybrid: the wait's own window, and a paced sleep spins its
 * last 20 us), as Linux's cpuidle-haltpoll turns it off; on (KVM's default) with completion=irq. 0 or -1 (bad value). */
static int host_haltpoll_from_cmdline(int mode)
{
	const char *v = kcmd_get("host_haltpoll");

	if (!v)
		return mode == BLK_IRQ;
	if (!strcmp(v, "on") || !strcmp(v, "off"))
		return !strcmp(v, "on");
	kprintf("app: bad host_haltpoll=%s on the command line: use host_haltpoll=on or off\n", v);
	return -1;
}

/* `neighbour=same|other|both` (absent: off). -1 on a bad value, or other/both on one CPU. */
static int neighbour_from_cmdline(void)
{
	const char *v = kcmd_get("neighbour");
	int m;

	if (!v)
		return 0;
	m = !strcmp(v, "same") ? NB_SAME : !strcmp(v, "other") ? NB_OTHER : !strcmp(v, "both") ? NB_SAME | NB_OTHER : -1;
	if (m < 0)
		kprintf("app: bad neighbour=%s on the command line: use neighbour=same, other or both\n", v);
	else if ((m & NB_OTHER) && smp_cpus() < 2)
		kprintf("app: neighbour=%s needs a second CPU (build/vmm --cpus 2)\n", v), m = -1;
	return m;
}

static void print_disk(struct blk_dev *b)
{
	char id[VIRTIO_BLK_ID_BYTES + 1];
	int st = blk_get_id(b, id);

	kprintf("virtio-blk on %s: transport v%u, %lu sectors (%lu MiB), blk_size %u, queue %u, "
		"queues %u of %u, cpus %u, features %#lx%s, id \"%s\"%s\n", b->dev.name, b->dev.version,
		b->capacity, b->capacity >> 11, b->blk_size, b->q[0].vq.num, b->nq, b->dev_queues, smp_cpus(),
		b->features, b->read_only ? " (read-only)" : "",
		st == VIRTIO_BLK_S_OK ? id : "", st == VIRTIO_BLK_S_OK ? "" : " (GET_ID unsupported)");
}

/* The references: the loop alone on CPU 0, then on CPU 1 (CPU 0 waiting). */
static void nb_reference(void *arg, unsigned cpu)
{
	(void)arg;
	if (cpu == 1) {
		uint64_t t0 = clock_ns();
		nb.other_ref_ns = engine_spin(&app_env, &nb.loop[1], REF_NS, &nb.other_ref_units) - t0;
		nb_store(&nb.done, 1);
		return;
	}
	while (!nb_load(&nb.done))
		__asm__ volatile("pause");
}

struct app_run {
	const void *job;
	size_t len;
	struct eng_dev *dev;
	int code;
};

/* neighbour=1 on 2+ CPUs: the job on CPU 0, the loop beside it on CPU 1. */
static void nb_run(void *arg, unsigned cpu)
{
	struct app_run *r = arg;

	if (cpu == 1) {
		nb_beside();
		return;
	}
	r->code = engine_run(r->job, r->len, &app_env, r->dev);
	nb_stop();
}

static int run_job(const void *job, size_t job_len, struct eng_dev *dev)
{
	struct app_run r = { job, job_len, dev, 0 };
	uint64_t t0;

	if (nb.on & NB_SAME) {
		t0 = clock_ns();
		nb.ref_ns = engine_spin(&app_env, &nb.loop[0], REF_NS, &nb.ref_units) - t0;
		kprintf("app: neighbour: cpu 0: the loop alone %lu units in %lu us (between I/Os: the job's thinktime)\n",
			nb.ref_units, nb.ref_ns / 1000);
	}
	if (!(nb.on & NB_OTHER))
		return engine_run(job, job_len, &app_env, dev);
	if (smp_run(2, nb_reference, NULL) != 0)
		return ABI_EXIT_FAIL;
	nb.done = 0;
	if (smp_run(2, nb_run, &r) != 0)
		return ABI_EXIT_FAIL;
	kprintf("app: neighbour: cpu 1: the loop alone %lu units in %lu us, beside the I/O %lu in %lu us\n",
		nb.other_ref_units, nb.other_ref_ns / 1000, nb.other_units, nb.other_ns / 1000);
	return r.code;
}

int app_main(const void *job, size_t job_len)
{
	struct vdev m;
	struct eng_dev dev;
	int mode = completion_from_cmdline(), code, hp;
	int ok;

	if (!job)
		return ABI_EXIT_OK;
	if (mode < 0)
		return ABI_EXIT_BADARG;
	if ((hp = host_haltpoll_from_cmdline(mode)) < 0)
		return ABI_EXIT_BADARG;
	if ((nb.on = neighbour_from_cmdline()) < 0)
		return ABI_EXIT_BADARG;
	if (vdev_find(VIRTIO_ID_BLOCK, &m) != 0) {
		kprintf("app: a job file was given but there is no virtio-blk device: "
			"attach a disk (build/vmm --disk IMG, QEMU -device virtio-blk-device or virtio-blk-pci)\n");
		return ABI_EXIT_BADARG;
	}
	if (blk_open(&app_disk, &m, (enum blk_completion)mode, smp_cpus()) != 0)
		return ABI_EXIT_FAIL;
	app_disk.hybrid_max_ns = kcmd_u64("hybrid_poll_us", BLK_HYBRID_MAX_NS / 1000, &ok) * 1000;
	if (!ok || !app_disk.hybrid_max_ns) {
		kprintf("app: bad hybrid_poll_us= on the command line: the largest polling window, in microseconds (> 0)\n");
		return ABI_EXIT_BADARG;
	}
	for (unsigned i = 0; i < app_disk.nq; i++)
		app_queues[i] = &app_disk.q[i];
	print_disk(&app_disk);
	host_haltpoll = sys_host_haltpoll(hp) == 0 ? hp : -1;
	if (host_haltpoll < 0)
		kprintf("app: host halt polling: as the host sets it (KVM offers no poll control)\n");
	else
		kprintf("app: host halt polling: %s (MSR_KVM_POLL_CONTROL)\n", hp ? "on" : "off");
	dev = (struct eng_dev){
		.ops = &app_dev_ops,
		.ctx = &app_disk.q[0],
		.capacity = app_disk.capacity * 512,
		.sector_size = app_disk.blk_size,
		.max_inflight = blk_max_inflight(&app_disk),
		.max_io_bytes = blk_max_io_bytes(&app_disk),
		.read_only = app_disk.read_only,
		.queues = app_queues,
		.nqueues = app_disk.nq,
	};
	code = run_job(job, job_len, &dev);
	blk_summary(&app_disk);
	return code;
}

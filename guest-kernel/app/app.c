/* app.c - the guest application: runs the fio job of PVH module 0 with the engine on the first virtio-blk disk. */
#include "guest.h"
#include "engine.h"
#include "virtio_blk.h"

#define PAGE        4096
#define CHUNK_PAGES 16	/* small engine allocations are carved out of chunks this big */
#define REAP_BATCH  64

static struct blk_dev app_disk;

/* ---- the engine's environment ---- */

static uint64_t env_now_ns(void) { return clock_ns(); }

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

/* The measured window (after ramp_time .. last I/O of the job): build/vmm snapshots its counters here. */
static void env_mark(int what)
{
	if (what == ENG_MARK_BEGIN)
		mark_begin();
	else if (what == ENG_MARK_END)
		mark_end();
}

static const struct eng_env app_env = {
	.now_ns = env_now_ns,
	.console = con_write,
	.results = res_write,
	.alloc = env_alloc,
	.mark = env_mark,
	.wall_s = NULL,
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

/* `completion=poll|irq` (the VMM passes its --completion mode; default poll). -1 on a bad value. */
static int completion_from_cmdline(void)
{
	const char *v = kcmd_get("completion");

	if (!v || !strcmp(v, "poll"))
		return BLK_POLL;
	if (!strcmp(v, "irq"))
		return BLK_IRQ;
	kprintf("app: bad completion=%s on the command line: use completion=poll or completion=irq\n", v);
	return -1;
}

static void print_disk(struct blk_dev *b)
{
	char id[VIRTIO_BLK_ID_BYTES + 1];
	int st = blk_get_id(b, id);

	kprintf("virtio-blk@%#lx: irq %d, transport v%u, %lu sectors (%lu MiB), blk_size %u, queue %u, "
		"features %#lx%s, id \"%s\"%s\n", b->mmio.base, b->mmio.irq, b->mmio.version, b->capacity,
		b->capacity >> 11, b->blk_size, b->vq.num, b->features, b->read_only ? " (read-only)" : "",
		st == VIRTIO_BLK_S_OK ? id : "", st == VIRTIO_BLK_S_OK ? "" : " (GET_ID unsupported)");
}

int app_main(const void *job, size_t job_len)
{
	struct vmmio m;
	struct eng_dev dev;
	int mode = completion_from_cmdline(), code;

	if (!job)
		return ABI_EXIT_OK;
	if (mode < 0)
		return ABI_EXIT_BADARG;
	if (vmmio_find(VIRTIO_ID_BLOCK, &m) != 0) {
		kprintf("app: a job file was given but there is no virtio-blk device: "
			"attach a disk (build/vmm --disk IMG, QEMU -device virtio-blk-device)\n");
		return ABI_EXIT_BADARG;
	}
	if (blk_open(&app_disk, &m, (enum blk_completion)mode) != 0)
		return ABI_EXIT_FAIL;
	print_disk(&app_disk);
	dev = (struct eng_dev){
		.ops = &app_dev_ops,
		.ctx = &app_disk,
		.capacity = app_disk.capacity * 512,
		.sector_size = app_disk.blk_size,
		.max_inflight = blk_max_inflight(&app_disk),
		.max_io_bytes = blk_max_io_bytes(&app_disk),
		.read_only = app_disk.read_only,
	};
	code = engine_run(job, job_len, &app_env, &dev);
	blk_summary(&app_disk);
	return code;
}

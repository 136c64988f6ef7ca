/* virtio_blk.c - virtio-blk driver at CPL3: negotiation, request chains, batched submit, polled or irq reaping. */
#include "guest.h"
#include "virtio_blk.h"

#define PAGE         4096
#define MAX_SEGS     8	/* data descriptors per request; our buffers are contiguous, so 1 is usual */
#define SEG_NOLIMIT  (1u << 30)

static uint64_t bit(unsigned n) { return 1ull << n; }

static int blk_fail(struct blk_dev *b, const char *why)
{
	vmmio_fail(&b->mmio, why);
	return -1;
}

/* Zeroed pages from the kernel allocator (never freed: the driver lives as long as the guest). */
static void *zpages(uint64_t bytes)
{
	size_t n = (size_t)((bytes + PAGE - 1) / PAGE);
	void *p = page_alloc(n);

	if (p)
		memset(p, 0, n * PAGE);
	return p;
}

/* Steps 4-6 of §3.1.1: take the subset of the device's features this driver understands. */
static int blk_negotiate(struct blk_dev *b)
{
	uint64_t dev = vmmio_device_features(&b->mmio);
	uint64_t want = bit(VIRTIO_BLK_F_SIZE_MAX) | bit(VIRTIO_BLK_F_SEG_MAX) | bit(VIRTIO_BLK_F_RO) |
			bit(VIRTIO_BLK_F_BLK_SIZE) | bit(VIRTIO_BLK_F_FLUSH) | bit(VIRTIO_BLK_F_MQ) |
			bit(VIRTIO_RING_F_EVENT_IDX);

	if (b->mmio.version == 2) {
		if (!(dev & bit(VIRTIO_F_VERSION_1)))
			return blk_fail(b, "modern transport but the device does not offer VIRTIO_F_VERSION_1");
		want |= bit(VIRTIO_F_VERSION_1);
	}
	b->features = dev & want;
	if (vmmio_set_features(&b->mmio, b->features) != 0) {
		kprintf("virtio-blk: device offered %#lx, driver accepted %#lx\n", dev, b->features);
		return blk_fail(b, "device refused the feature set (FEATURES_OK not kept)");
	}
	return 0;
}

/* Reads the configuration space fields the negotiated features make valid. */
static void blk_read_config(struct blk_dev *b)
{
	uint32_t v;

	b->capacity = vmmio_config64(&b->mmio, VIRTIO_BLK_CFG_CAPACITY);
	b->blk_size = 512;
	if (b->features & bit(VIRTIO_BLK_F_BLK_SIZE)) {
		v = vmmio_config32(&b->mmio, VIRTIO_BLK_CFG_BLK_SIZE);
		if (v >= 512 && v <= 65536 && !(v & (v - 1)))
			b->blk_size = v;
	}
	b->seg_bytes = SEG_NOLIMIT;
	if (b->features & bit(VIRTIO_BLK_F_SIZE_MAX)) {
		v = vmmio_config32(&b->mmio, VIRTIO_BLK_CFG_SIZE_MAX);
		if (v >= PAGE && v < SEG_NOLIMIT)
			b->seg_bytes = v & ~(uint32_t)(PAGE - 1);
	}
	b->seg_count = MAX_SEGS;
	if (b->features & bit(VIRTIO_BLK_F_SEG_MAX)) {
		v = vmmio_config32(&b->mmio, VIRTIO_BLK_CFG_SEG_MAX);
		b->seg_count = v == 0 ? 1 : v < MAX_SEGS ? v : MAX_SEGS;
	}
	b->read_only = !!(b->features & bit(VIRTIO_BLK_F_RO));
	b->dev_queues = 1;
	if (b->features & bit(VIRTIO_BLK_F_MQ)) {
		v = vmmio_config32(&b->mmio, VIRTIO_BLK_CFG_NUM_QUEUES & ~3u) >> 16;	/* le16 at 34 */
		b->dev_queues = v ? v : 1;
	}
}

/* Queue qi: the largest power of two <= min(QueueNumMax, 256), rings and per-head state from the allocator. */
static int blk_setup_queue(struct blk_dev *b, unsigned qi)
{
	struct blk_q *q = &b->q[qi];
	uint32_t max = vmmio_queue_max(&b->mmio, qi), num = ABI_VIRTQ_MAX_SIZE;
	void *rings, **cookies;

	if (max == 0) {
		kprintf("virtio-blk: request queue %u: QueueNumMax 0\n", qi);
		return blk_fail(b, "a request queue is missing (QueueNumMax 0) or already in use");
	}
	while (num > max)
		num >>= 1;
	if (num < 4)
		return blk_fail(b, "request queue too small (QueueNumMax < 4)");
	q->dev = b;
	q->index = qi;
	rings = zpages(vq_layout_bytes(num));
	cookies = zpages(num * sizeof(void *));
	q->hdr = zpages(num * sizeof(struct virtio_blk_outhdr));
	q->status = zpages(num);
	if (!rings || !cookies || !q->hdr || !q->status)
		return blk_fail(b, "out of guest memory for the request queue");
	vq_init(&q->vq, num, !!(b->features & bit(VIRTIO_RING_F_EVENT_IDX)), rings, cookies);
	vmmio_queue_set(&b->mmio, qi, num, (uintptr_t)q->vq.desc, (uintptr_t)q->vq.avail, (uintptr_t)q->vq.used);
	return 0;
}

/* Routes the device's IOAPIC pin to us; the CPL0 handler reads InterruptStatus and writes it to InterruptACK.
 * Done in both modes: with completion=poll the line only counts interrupts the device should not have sent
 * (suppression broken), so the summary's "interrupts 0" is measured, not assumed. */
static int blk_attach_irq(struct blk_dev *b)
{
	long r = sys_irq_attach(b->mmio.irq, (uintptr_t)(b->mmio.base + VIRTIO_MMIO_INTERRUPT_STATUS),
				(uintptr_t)(b->mmio.base + VIRTIO_MMIO_INTERRUPT_ACK));
	long c;

	if (r == -16)	/* -EBUSY: routed already, by an earlier blk_open of this transport (a re-init after a reset) */
		r = 0;
	if (r < 0) {
		kprintf("virtio-blk: irq_attach(gsi %d) failed: %ld\n", b->mmio.irq, r);
		if (b->completion == BLK_POLL)
			return 0;	/* polling works without the line; interrupts just go uncounted */
		return blk_fail(b, "cannot attach the device's interrupt line (completion=irq)");
	}
	b->irq_attached = 1;
	c = sys_irq_count(b->mmio.irq);
	for (unsigned i = 0; i < b->nq; i++)
		b->q[i].irq_seen = c < 0 ? 0 : (uint64_t)c;
	return 0;
}

int blk_open(struct blk_dev *b, const struct vmmio *m, enum blk_completion completion, unsigned want_queues)
{
	memset(b, 0, sizeof(*b));
	b->mmio = *m;
	b->completion = completion;
	vmmio_reset(&b->mmio);
	vmmio_add_status(&b->mmio, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vmmio_add_status(&b->mmio, VIRTIO_CONFIG_S_DRIVER);
	if (blk_negotiate(b) != 0)
		return -1;
	blk_read_config(b);
	b->nq = want_queues < b->dev_queues ? want_queues : b->dev_queues;
	b->nq = b->nq < 1 ? 1 : b->nq > BLK_MAX_QUEUES ? BLK_MAX_QUEUES : b->nq;
	for (unsigned i = 0; i < b->nq; i++)
		if (blk_setup_queue(b, i) != 0)
			return -1;
	if (blk_attach_irq(b) != 0)
		return -1;
	vmmio_add_status(&b->mmio, VIRTIO_CONFIG_S_DRIVER_OK);
	if (vmmio_status(&b->mmio) & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED))
		return blk_fail(b, "device reports an error right after DRIVER_OK");
	return 0;
}

int blk_queue_restart(struct blk_dev *b, unsigned qi)
{
	if (qi >= b->nq || b->mmio.version != 2)
		return blk_fail(b, "queue restart: no such queue, or a legacy transport");
	if (vmmio_queue_stop(&b->mmio, qi) != 0)
		return blk_fail(b, "queue restart: QueueReady still reads 1");
	return blk_setup_queue(b, qi);
}

uint32_t blk_max_io_bytes(const struct blk_dev *b)
{
	uint64_t n = (uint64_t)b->seg_bytes * b->seg_count;

	return n > SEG_NOLIMIT ? SEG_NOLIMIT : (uint32_t)n;
}

uint32_t blk_max_inflight(const struct blk_dev *b)
{
	return b->q[0].vq.num / 3;	/* header + one data segment + status per request (every queue alike) */
}

/* 0 when a T_IN/T_OUT request fits the device: aligned, inside the capacity, writable if a write. */
static int blk_check_rw(const struct blk_dev *b, uint32_t type, uint64_t off, uint32_t len)
{
	if (len == 0 || len > blk_max_io_bytes(b) || (off | len) % b->blk_size)
		return -1;
	if (off / 512 > b->capacity || len / 512 > b->capacity - off / 512)
		return -1;
	return type == VIRTIO_BLK_T_OUT && b->read_only ? -1 : 0;
}

/* Splits the data buffer into segments of at most seg_bytes; returns how many. */
static unsigned blk_segments(const struct blk_dev *b, struct vq_buf *bufs, void *buf, uint32_t len, int write)
{
	unsigned n = 0;
	uint64_t at = (uintptr_t)buf;	/* gpa == va */

	while (len) {
		uint32_t l = len < b->seg_bytes ? len : b->seg_bytes;

		bufs[n++] = (struct vq_buf){ at, l, write };
		at += l;
		len -= l;
	}
	return n;
}

int blk_queue(struct blk_q *q, uint32_t type, uint64_t off, void *buf, uint32_t len, void *cookie)
{
	const struct blk_dev *b = q->dev;
	struct vq_buf bufs[MAX_SEGS + 2];
	unsigned head, nseg = 0;
	int in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;

	if (type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_OUT) {
		if (blk_check_rw(b, type, off, len) != 0)
			return BLK_Q_ERROR;
	} else if (type == VIRTIO_BLK_T_GET_ID) {
		len = VIRTIO_BLK_ID_BYTES;
	} else if (type != VIRTIO_BLK_T_FLUSH) {
		return BLK_Q_ERROR;
	}
	if (type != VIRTIO_BLK_T_FLUSH)
		nseg = blk_segments(b, bufs + 1, buf, len, in);
	if (q->vq.num_free < nseg + 2)
		return BLK_Q_FULL;
	head = vq_next_head(&q->vq);
	q->hdr[head] = (struct virtio_blk_outhdr){ type, 0, type == VIRTIO_BLK_T_FLUSH ? 0 : off / 512 };
	q->status[head] = BLK_S_NONE;	/* a device that never writes it is caught as an error */
	bufs[0] = (struct vq_buf){ (uintptr_t)&q->hdr[head], sizeof(struct virtio_blk_outhdr), 0 };
	bufs[nseg + 1] = (struct vq_buf){ (uintptr_t)&q->status[head], 1, 1 };
	if (vq_add(&q->vq, bufs, in ? 1 : nseg + 1, in ? nseg + 1 : 1, cookie) < 0)
		return BLK_Q_FULL;
	q->requests++;
	return BLK_Q_OK;
}

void blk_commit(struct blk_q *q)
{
	if (q->vq.num_added == 0)
		return;
	q->commits++;
	if (vq_publish(&q->vq))
		vmmio_notify(&q->dev->mmio, q->index);	/* the only data-path exit, only when the device wants it */
}

/* Harvests up to max completions; the status bytes are read after vq_harvest's acquire barrier. */
static int blk_harvest(struct blk_q *q, void **cookies, uint8_t *status, unsigned max)
{
	uint16_t heads[64];
	int n = vq_harvest(&q->vq, cookies, heads, max < 64 ? max : 64);

	if (n < 0 && q->vq.bad_used == 1)
		kprintf("virtio-blk@%#lx: queue %u: the device returned a descriptor that is not in flight: "
			"treating it as dead\n", q->dev->mmio.base, q->index);
	for (int i = 0; i < n; i++) {
		status[i] = q->status[heads[i]];
		if (status[i] != VIRTIO_BLK_S_OK)
			q->errors++;
	}
	if (n > 0)
		q->completions += (uint64_t)n;
	return n;
}

/* completion=irq, nothing harvested: re-enable interrupts, re-check (no lost wake-up), halt, disable again.
 * irq_wait compares against the count it returned last time, so an interrupt taken while we were busy makes
 * it return at once instead of halting. Returns 0, or -1 if the kernel refused the wait. */
static int blk_wait_irq(struct blk_q *q)
{
	long c;

	if (vq_enable_cb(&q->vq)) {
		vq_disable_cb(&q->vq);
		return 0;
	}
	if (smp_this_cpu() == 0) {
		c = sys_irq_wait(q->dev->mmio.irq, q->irq_seen);
	} else {	/* CPU 0 takes the interrupt: watch its count (a plain read, no system call) */
		while ((c = (long)irq_count(q->dev->mmio.irq)) >= 0 && (uint64_t)c == q->irq_seen)
			__asm__ volatile("pause");
	}
	q->irq_waits++;
	vq_disable_cb(&q->vq);
	if (c < 0)
		return -1;
	q->irq_seen = (uint64_t)c;
	return 0;
}

int blk_reap(struct blk_q *q, void **cookies, uint8_t *status, unsigned max, int wait)
{
	int n;

	for (;;) {
		n = blk_harvest(q, cookies, status, max);
		if (n != 0 || !wait)
			return n;
		if (q->dev->completion == BLK_IRQ) {
			if (blk_wait_irq(q) != 0)
				return -1;
			continue;
		}
		q->spins++;
		while (!vq_has_used(&q->vq))
			__asm__ volatile("pause");
	}
}

int blk_get_id(struct blk_dev *b, char id[VIRTIO_BLK_ID_BYTES + 1])
{
	static char buf[VIRTIO_BLK_ID_BYTES] __attribute__((aligned(64)));
	void *cookie;
	uint8_t st;

	memset(id, 0, VIRTIO_BLK_ID_BYTES + 1);
	if (blk_queue(&b->q[0], VIRTIO_BLK_T_GET_ID, 0, buf, 0, buf) != BLK_Q_OK)
		return -1;
	blk_commit(&b->q[0]);
	if (blk_reap(&b->q[0], &cookie, &st, 1, 1) != 1 || cookie != buf)
		return -1;
	if (st == VIRTIO_BLK_S_OK)
		memcpy(id, buf, VIRTIO_BLK_ID_BYTES);
	return st;
}

/* x/y with three decimals, no floating point. */
static void ratio(char *out, size_t n, uint64_t x, uint64_t y)
{
	uint64_t m = y ? x * 1000 / y : 0;

	snprintf(out, n, "%lu.%03lu", m / 1000, m % 1000);
}

void blk_summary(const struct blk_dev *b)
{
	long irqs = b->irq_attached ? sys_irq_count(b->mmio.irq) : 0;
	struct blk_q t = { 0 };
	char np[24], ip[24];

	if (irqs < 0)
		irqs = 0;
	for (unsigned i = 0; i < b->nq; i++) {
		const struct blk_q *q = &b->q[i];

		t.requests += q->requests, t.errors += q->errors, t.commits += q->commits;
		t.completions += q->completions, t.irq_waits += q->irq_waits;
		t.vq.kicks += q->vq.kicks, t.vq.suppressed += q->vq.suppressed;
		if (b->nq > 1)
			kprintf("virtio-blk: queue %u: requests %lu errors %lu commits %lu notifies %lu suppressed %lu "
				"irq_waits %lu\n", i, q->requests, q->errors, q->commits, q->vq.kicks, q->vq.suppressed,
				q->irq_waits);
	}
	ratio(np, sizeof(np), t.vq.kicks, t.completions);
	ratio(ip, sizeof(ip), (uint64_t)irqs, t.completions);
	kprintf("virtio-blk: summary: %s v%u features %#lx completion=%s queues %u requests %lu errors %lu "
		"commits %lu notifies %lu suppressed %lu irq_waits %lu interrupts %ld notifies/io %s interrupts/io %s\n",
		b->q[0].vq.event_idx ? "event_idx" : "flags", b->mmio.version, b->features,
		b->completion == BLK_IRQ ? "irq" : "poll", b->nq, t.requests, t.errors, t.commits, t.vq.kicks,
		t.vq.suppressed, t.irq_waits, irqs, np, ip);
}

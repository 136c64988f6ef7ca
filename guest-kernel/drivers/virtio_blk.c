/* virtio_blk.c - virtio-blk driver at CPL3: negotiation, request chains, batched submit, polled or irq reaping. */
#include "guest.h"
#include "virtio_blk.h"

#define PAGE         4096
#define MAX_SEGS     8	/* data descriptors per request; our buffers are contiguous, so 1 is usual */
#define SEG_NOLIMIT  (1u << 30)

static uint64_t bit(unsigned n) { return 1ull << n; }

static int blk_fail(struct blk_dev *b, const char *why)
{
	vdev_fail(&b->dev, why);
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
	uint64_t dev = b->dev.ops->device_features(&b->dev);
	uint64_t want = bit(VIRTIO_BLK_F_SIZE_MAX) | bit(VIRTIO_BLK_F_SEG_MAX) | bit(VIRTIO_BLK_F_RO) |
			bit(VIRTIO_BLK_F_BLK_SIZE) | bit(VIRTIO_BLK_F_FLUSH) | bit(VIRTIO_BLK_F_MQ) |
			bit(VIRTIO_RING_F_EVENT_IDX);

	if (b->dev.version == 2) {
		if (!(dev & bit(VIRTIO_F_VERSION_1)))
			return blk_fail(b, "modern transport but the device does not offer VIRTIO_F_VERSION_1");
		want |= bit(VIRTIO_F_VERSION_1);
	}
	b->features = dev & want;
	if (vdev_set_features(&b->dev, b->features) != 0) {
		kprintf("virtio-blk: device offered %#lx, driver accepted %#lx\n", dev, b->features);
		return blk_fail(b, "device refused the feature set (FEATURES_OK not kept)");
	}
	return 0;
}

/* Reads the configuration space fields the negotiated features make valid. */
static void blk_read_config(struct blk_dev *b)
{
	uint32_t v;

	b->capacity = vdev_config64(&b->dev, VIRTIO_BLK_CFG_CAPACITY);
	b->blk_size = 512;
	if (b->features & bit(VIRTIO_BLK_F_BLK_SIZE)) {
		v = b->dev.ops->config32(&b->dev, VIRTIO_BLK_CFG_BLK_SIZE);
		if (v >= 512 && v <= 65536 && !(v & (v - 1)))
			b->blk_size = v;
	}
	b->seg_bytes = SEG_NOLIMIT;
	if (b->features & bit(VIRTIO_BLK_F_SIZE_MAX)) {
		v = b->dev.ops->config32(&b->dev, VIRTIO_BLK_CFG_SIZE_MAX);
		if (v >= PAGE && v < SEG_NOLIMIT)
			b->seg_bytes = v & ~(uint32_t)(PAGE - 1);
	}
	b->seg_count = MAX_SEGS;
	if (b->features & bit(VIRTIO_BLK_F_SEG_MAX)) {
		v = b->dev.ops->config32(&b->dev, VIRTIO_BLK_CFG_SEG_MAX);
		b->seg_count = v == 0 ? 1 : v < MAX_SEGS ? v : MAX_SEGS;
	}
	b->read_only = !!(b->features & bit(VIRTIO_BLK_F_RO));
	b->dev_queues = 1;
	if (b->features & bit(VIRTIO_BLK_F_MQ)) {
		v = b->dev.ops->config32(&b->dev, VIRTIO_BLK_CFG_NUM_QUEUES & ~3u) >> 16;	/* le16 at 34 */
		b->dev_queues = v ? v : 1;
	}
}

/* Queue qi: the largest power of two <= min(QueueNumMax, 256), rings and per-head state from the allocator. */
static int blk_setup_queue(struct blk_dev *b, unsigned qi)
{
	struct blk_q *q = &b->q[qi];
	uint32_t max = b->dev.ops->queue_max(&b->dev, qi), num = ABI_VIRTQ_MAX_SIZE;
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
	b->dev.ops->queue_set(&b->dev, qi, num, (uintptr_t)q->vq.desc, (uintptr_t)q->vq.avail, (uintptr_t)q->vq.used);
	return 0;
}

/* Connects the queues' interrupts through the transport (virtio-mmio: its IOAPIC pin, whose CPL0 handler reads
 * InterruptStatus and writes InterruptACK; virtio-pci: an MSI-X vector per queue, whose handler touches no device
 * register). Done in both modes: with completion=poll the lines only count interrupts the device should not have
 * sent (suppression broken), so the summary's "interrupts 0" is measured, not assumed. */
static int blk_attach_irq(struct blk_dev *b)
{
	long line[BLK_MAX_QUEUES + 1];

	if (b->dev.ops->irq_setup(&b->dev, b->nq, line) != 0) {
		if (b->completion == BLK_POLL)
			return 0;	/* polling works without interrupts; they just go uncounted */
		return blk_fail(b, "cannot connect the device's interrupts (completion=irq)");
	}
	b->irq_attached = 1;
	b->config_line = line[b->nq];
	for (unsigned i = 0; i < b->nq; i++) {
		long c = sys_irq_count(line[i]);

		b->q[i].line = line[i];
		b->q[i].irq_seen = c < 0 ? 0 : (uint64_t)c;
	}
	return 0;
}

int blk_open(struct blk_dev *b, const struct vdev *d, enum blk_completion completion, unsigned want_queues)
{
	memset(b, 0, sizeof(*b));
	b->dev = *d;
	b->completion = completion;
	b->hybrid_max_ns = BLK_HYBRID_MAX_NS;
	b->dev.ops->reset(&b->dev);
	vdev_add_status(&b->dev, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vdev_add_status(&b->dev, VIRTIO_CONFIG_S_DRIVER);
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
	vdev_add_status(&b->dev, VIRTIO_CONFIG_S_DRIVER_OK);
	if (b->dev.ops->status(&b->dev) & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED))
		return blk_fail(b, "device reports an error right after DRIVER_OK");
	return 0;
}

int blk_queue_restart(struct blk_dev *b, unsigned qi)
{
	if (qi >= b->nq)
		return blk_fail(b, "queue restart: no such queue");
	if (b->dev.ops->queue_stop(&b->dev, qi) != 0)
		return blk_fail(b, "queue restart: the queue cannot be stopped (it still runs, or the transport cannot)");
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
		q->dev->dev.ops->notify(&q->dev->dev, q->index);	/* the only data-path exit, only when the device wants it */
}

/* Harvests up to max completions; the status bytes are read after vq_harvest's acquire barrier. */
static int blk_harvest(struct blk_q *q, void **cookies, uint8_t *status, unsigned max)
{
	uint16_t heads[64];
	int n = vq_harvest(&q->vq, cookies, heads, max < 64 ? max : 64);

	if (n < 0 && q->vq.bad_used == 1)
		kprintf("virtio-blk@%s: queue %u: the device returned a descriptor that is not in flight: "
			"treating it as dead\n", q->dev->dev.name, q->index);
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
		c = sys_irq_wait(q->line, q->irq_seen);
	} else {	/* CPU 0 takes the interrupt: watch its count (a plain read, no system call) */
		while ((c = (long)irq_count(q->line)) >= 0 && (uint64_t)c == q->irq_seen)
			__asm__ volatile("pause");
	}
	q->irq_waits++;
	vq_disable_cb(&q->vq);
	if (c < 0)
		return -1;
	q->irq_seen = (uint64_t)c;
	return 0;
}

/* hybrid: the window doubles, from a quarter of the largest, up to the largest, until it covers the wait `waited`
 * (one step for a halted wait, which only says the window was short; as many as a probe's wait needs: it measured
 * the gap, and one step short of it would miss, halt and shrink again). */
static void blk_hybrid_grow(struct blk_q *q, uint64_t max, uint64_t waited)
{
	do
		q->window_ns = q->window_ns * 2 < max / 4 ? max / 4 : q->window_ns * 2 > max ? max : q->window_ns * 2;
	while (q->window_ns < waited && q->window_ns < max);
	q->grows++;
}

/* completion=hybrid, nothing harvested: poll the used ring for the queue's window with interrupts suppressed (a
 * completion inside it costs no interrupt at all); only when nothing came, arm, re-check and halt (blk_wait_irq:
 * spin -> arm -> re-check -> halt). The window adapts as Linux's guest halt polling does (haltpoll's
 * adjust_poll_limit): a halt that ended within the largest window means polling longer would have caught it, so
 * the window grows (from a quarter of the largest, doubling); a halt after polling the largest window means polling
 * was wasted, so it halves.
 * A deep queue (BLK_HYBRID_DEEP or more requests in flight) is polled until its next completion instead: the gap
 * to it is about the service time over the depth, and a halt there, besides its own cost, lets every request
 * complete meanwhile, so the driver takes and resubmits them as one batch that completes as one again: the
 * queue falls into lock step, a halt per batch.
 * A halt's own wake-up counts in the wait it ends. Where waking costs more than the largest window (an interrupt
 * path the hypervisor emulates: PVM's is 100-250 µs) every halted wait looks too long: so a halt from a window
 * below the largest that ended after the largest says nothing (wait or wake-up?) and moves nothing, and every
 * BLK_HYBRID_PROBE-th wait of a window below the largest polls the largest instead (a probe): a completion it
 * catches, later than the window, grows the window to cover it; one it misses halves it. So does the wait right
 * after a halt from the largest window that followed a caught wait: one late completion (a host that descheduled
 * the device's thread) must not cost the waits after it, each halting until the next probe. Returns 0, or -1 if
 * the kernel refused the wait. */
static int blk_wait_hybrid(struct blk_q *q)
{
	uint64_t max = q->dev->hybrid_max_ns, t0, waited, win = q->window_ns;
	int caught = q->caught;

	if (q->requests - q->completions >= BLK_HYBRID_DEEP) {
		q->deep++;
		while (!vq_has_used(&q->vq))
			__asm__ volatile("pause");
		return 0;
	}
	if (win < max && ++q->since_probe >= BLK_HYBRID_PROBE) {
		q->since_probe = 0;
		q->probes++;
		win = max;
	}
	t0 = clock_ns();

	q->caught = 1;
	while ((waited = clock_ns() - t0) < win)
		if (vq_has_used(&q->vq)) {
			q->polled++;
			if (waited > q->window_ns) /* a probe caught what the window would have missed */
				blk_hybrid_grow(q, max, waited);
			return 0;
		}
	q->caught = 0;
	if (blk_wait_irq(q) != 0)
		return -1;
	waited = clock_ns() - t0;
	if (waited <= max) {
		if (waited > q->window_ns)
			blk_hybrid_grow(q, max, 0);
	} else if (win >= max && q->window_ns > 0) { /* the largest was polled, and missed */
		q->window_ns /= 2;
		q->shrinks++;
		if (caught) /* the wait before was caught: the next one probes */
			q->since_probe = BLK_HYBRID_PROBE - 1;
	}
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
		if (q->dev->completion == BLK_HYBRID) {
			if (blk_wait_hybrid(q) != 0)
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

/* Interrupts taken on the queues' lines, each line counted once (virtio-mmio's queues share one). */
static long blk_irqs(const struct blk_dev *b)
{
	long n = 0;

	for (unsigned i = 0; b->irq_attached && i < b->nq; i++) {
		unsigned k = 0;
		long c;

		while (k < i && b->q[k].line != b->q[i].line)
			k++;
		if (k == i && (c = sys_irq_count(b->q[i].line)) > 0)
			n += c;
	}
	return n;
}

void blk_summary(const struct blk_dev *b)
{
	long irqs = blk_irqs(b);
	struct blk_q t = { 0 };
	char np[24], ip[24];

	for (unsigned i = 0; i < b->nq; i++) {
		const struct blk_q *q = &b->q[i];

		t.requests += q->requests, t.errors += q->errors, t.commits += q->commits;
		t.completions += q->completions, t.irq_waits += q->irq_waits;
		t.polled += q->polled, t.grows += q->grows, t.shrinks += q->shrinks, t.deep += q->deep;
		t.probes += q->probes;
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
		b->q[0].vq.event_idx ? "event_idx" : "flags", b->dev.version, b->features,
		b->completion == BLK_IRQ ? "irq" : b->completion == BLK_HYBRID ? "hybrid" : "poll", b->nq, t.requests,
		t.errors, t.commits, t.vq.kicks, t.vq.suppressed, t.irq_waits, irqs, np, ip);
	if (b->completion == BLK_HYBRID) /* the waits the window caught, those that halted, how it moved */
		kprintf("virtio-blk: hybrid: window max %lu us, waits polled %lu halted %lu, grew %lu shrank %lu, "
			"queue 0 window now %lu us, probes %lu; deep-queue waits polled %lu\n", b->hybrid_max_ns / 1000,
			t.polled, t.irq_waits, t.grows, t.shrinks, b->q[0].window_ns / 1000, t.probes, t.deep);
}

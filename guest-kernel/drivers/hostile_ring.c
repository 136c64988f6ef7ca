/* hostile_ring.c - hostile rings: looping and over-long chains, bad heads, avail index jumps, resets and re-inits. */
#include "guest.h"
#include "hostile.h"

#define B  H_RAW_BASE
#define NX VRING_DESC_F_NEXT
#define WR VRING_DESC_F_WRITE

static inline void pause(void) { __asm__ volatile("pause" ::: "memory"); }
static uint64_t va(const void *p) { return (uintptr_t)p; }

static void hdr_at(unsigned slot, uint32_t type, uint64_t sector)
{
	*(struct virtio_blk_outhdr *)(H.scratch + slot * 16) = (struct virtio_blk_outhdr){ type, 0, sector };
}

static int all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

/* Three looping or dangling chains: a descriptor linked to itself, a 3-cycle, a next index out of range. */
static void build_loops(uint8_t *st)
{
	hdr_at(0, VIRTIO_BLK_T_IN, H_LBA);
	hdr_at(1, VIRTIO_BLK_T_IN, H_LBA);
	hdr_at(2, VIRTIO_BLK_T_IN, H_LBA);
	memset(st, 0xff, 48);
	memset(H.data, 0xdb, 4096);
	h_desc(B, va(H.scratch), 16, NX, B);
	h_desc(B + 1, va(H.scratch + 16), 16, NX, B + 2);
	h_desc(B + 2, va(H.data), 512, NX | WR, B + 3);
	h_desc(B + 3, va(st + 16), 1, NX | WR, B + 1);
	h_desc(B + 4, va(H.scratch + 32), 16, NX, B + 5);
	h_desc(B + 5, va(st + 32), 1, NX | WR, 0x8000);
}

int hc_chain_loop(void)
{
	static const uint16_t heads[3] = { B, B + 1, B + 4 };
	const struct probe indirect = { "INDIRECT data descriptor (not negotiated)", VIRTIO_BLK_T_IN, H_LBA,
					{ B_HDR, 0, 16 }, { B_DATA, 0, 512 }, { B_STATUS, 0, 1 }, 1, 4, X_IOERR };
	struct vring_used_elem e[3];
	uint8_t *st = H.scratch + 2048;
	int r;

	h_save_desc();
	build_loops(st);
	for (unsigned i = 0; i < 3; i++)
		h_push(heads[i]);
	h_kick();
	if ((r = h_collect(heads, 3, e)) != 0)
		return r < 0 ? -1 : 0;
	h_restore_desc();
	h_check(e[0].len != 0, "self-linked descriptor: used.len %u with no writable byte in the chain", e[0].len);
	h_check(st[16] != VIRTIO_BLK_S_IOERR, "3-cycle: status %#x, want IOERR", st[16]);
	h_check(!all_bytes(H.data, 4096, 0xdb) || e[1].len > 1, "3-cycle: data moved (used.len %u)", e[1].len);
	h_check(st[32] != VIRTIO_BLK_S_IOERR, "next index 0x8000: status %#x, want IOERR", st[32]);
	H.errors += 3;
	return h_probes(&indirect, 1);
}

/* One chain over every descriptor of the queue: header, num-2 data buffers of 256 bytes, status. With
 * wrap set the status descriptor links back to the header: num+1 descriptors, longer than the queue. */
static void build_full_chain(unsigned num, int wrap)
{
	hdr_at(0, VIRTIO_BLK_T_IN, H_LBA);
	H.scratch[2048] = 0xff;
	memset(H.data, 0xdb, (num - 2) * 256);
	h_desc(0, va(H.scratch), 16, NX, 1);
	for (unsigned i = 1; i < num - 1; i++)
		h_desc(i, va(H.data + (i - 1) * 256), 256, NX | WR, (uint16_t)(i + 1));
	h_desc(num - 1, va(H.scratch + 2048), 1, WR | (wrap ? NX : 0), 0);
}

static int full_chain(int wrap)
{
	static const uint16_t head = 0;
	unsigned num = H.b.q[H.qi].vq.num, seg_max = H.dev.ops->config32(&H.dev, 12);
	struct vring_used_elem e;
	int r;

	h_save_desc();
	build_full_chain(num, wrap);
	h_push(head);
	h_kick();
	if ((r = h_collect(&head, 1, &e)) != 0)
		return r < 0 ? -1 : 0;
	h_restore_desc();
	if (wrap) {
		h_check(H.scratch[2048] != VIRTIO_BLK_S_IOERR, "chain of num+1: status %#x, want IOERR", H.scratch[2048]);
		h_check(!all_bytes(H.data, (num - 2) * 256, 0xdb) || e.len > 1, "chain of num+1: data moved (used.len %u)",
			e.len);
		H.errors++;
		return 0;
	}
	if (seg_max < num - 2)	/* more segments than the device allows: an error is as good an answer */
		return 0;
	h_check(H.scratch[2048] != VIRTIO_BLK_S_OK, "chain of exactly num: status %#x, want OK", H.scratch[2048]);
	h_check(e.len != (num - 2) * 256 + 1, "chain of exactly num: used.len %u, want %u", e.len, (num - 2) * 256 + 1);
	h_check(memcmp(H.data, H.pattern, 4096) != 0, "chain of exactly num: the data read is not the pattern");
	return 0;
}

int hc_chain_too_long(void)
{
	if (full_chain(0) != 0)
		return -1;
	return full_chain(1);
}

/* A head index beyond the queue: the device can only drop it (counted) or ask for a reset; a used entry for
 * it would be a lie. */
int hc_bad_head(void)
{
	struct vring_used_elem e = { 0, 0 };

	h_push(0x1234);
	h_kick();
	if (h_check(h_wait_used(1, &e, 200) != 0, "the device completed head 0x1234 (used id %#x)", e.id))
		return -1;
	H.errors++;
	if (h_status() & VIRTIO_CONFIG_S_NEEDS_RESET) {
		kprintf("hostile-bad-head: the device chose DEVICE_NEEDS_RESET: resetting it\n");
		return h_open();
	}
	kprintf("hostile-bad-head: head 0x1234 was dropped without a used entry\n");
	return 0;
}

/* Moves avail->idx to idx with nothing behind it, notifies, and expects NEEDS_RESET with a configuration
 * interrupt; then a reset and a normal open must bring the device back. */
static int jump(uint16_t idx, const char *what)
{
	long irq0 = H.b.irq_attached ? sys_irq_count(H.b.config_line) : 0;
	uint64_t dl = h_deadline(H_WAIT_MS);

	*(volatile uint16_t *)&H.b.q[H.qi].vq.avail->idx = idx;
	__asm__ volatile("lock addl $0, (%%rsp)" ::: "memory", "cc");
	H.dev.ops->notify(&H.dev, H.qi);
	if (h_wait_status(VIRTIO_CONFIG_S_NEEDS_RESET) != 0)
		return h_check(1, "avail index %s: no DEVICE_NEEDS_RESET", what), -1;
	H.errors++;
	while (H.b.irq_attached && sys_irq_count(H.b.config_line) == irq0 && !h_expired(dl))
		pause();
	h_check(H.b.irq_attached && sys_irq_count(H.b.config_line) == irq0,
		"avail index %s: NEEDS_RESET without a configuration-change interrupt", what);
	if (h_open() != 0)
		return -1;
	return h_responsive();
}

int hc_avail_jump(void)
{
	struct vq *q = &H.b.q[H.qi].vq;

	if (jump((uint16_t)(q->avail_idx + q->num + 1), "num+1 ahead") != 0)
		return -1;
	q = &H.b.q[H.qi].vq;	/* reopened: new rings */
	if (jump((uint16_t)(q->avail_idx - 1), "one behind (65535 ahead)") != 0)
		return -1;
	q = &H.b.q[H.qi].vq;
	return jump((uint16_t)(q->avail_idx + 0x8000), "0x8000 ahead");
}

/* Resets in every phase of initialisation, and re-inits onto rings at new addresses (nothing in flight). */
int hc_reinit(void)
{
	uintptr_t old = (uintptr_t)H.b.q[H.qi].vq.desc;
	struct vq *q;

	if (h_open() != 0 || h_check((uintptr_t)H.b.q[H.qi].vq.desc == old, "the re-init did not move the rings") ||
	    h_responsive() != 0)
		return -1;
	if (h_reset() != 0)
		return -1;
	vdev_add_status(&H.dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	if (h_reset() != 0)
		return -1;
	vdev_add_status(&H.dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	h_check(vdev_set_features(&H.dev, 1ull << VIRTIO_F_VERSION_1) != 0, "FEATURES_OK refused");
	q = &H.b.q[H.qi].vq;
	H.dev.ops->queue_set(&H.dev, H.qi, q->num, va(q->desc), va(q->avail), va(q->used));
	if (h_reset() != 0 || h_open() != 0 || h_responsive() != 0)	/* reset with a ready queue, no DRIVER_OK */
		return -1;
	H.dev.ops->set_status(&H.dev, h_status());	/* DRIVER_OK written again while serving */
	return 0;
}

/* A reset with reads and writes in flight, then a re-init onto new rings: the reset must not return while
 * the device can still complete into the old rings, and the new queue must never see an old request. */
#define RI_BYTES (256u << 10)

static unsigned queue_inflight(uint8_t *bufs, unsigned n)
{
	uint64_t span = H.b.capacity - RI_BYTES / 512;
	unsigned i;

	for (i = 0; i < n; i++) {
		int r = i % 8 == 0 ? blk_queue(&H.b.q[H.qi], VIRTIO_BLK_T_OUT, H_LBA * 512ull, H.pattern, 4096, bufs + i * RI_BYTES)
				   : blk_queue(&H.b.q[H.qi], VIRTIO_BLK_T_IN, (i * 512ull) % span * 512, bufs + i * RI_BYTES,
					       RI_BYTES, bufs + i * RI_BYTES);

		if (r != BLK_Q_OK)
			break;
	}
	blk_commit(&H.b.q[H.qi]);
	return i;
}

int hc_reset_inflight(void)
{
	unsigned n = blk_max_inflight(&H.b), queued;
	uint8_t *bufs = page_alloc(n * (RI_BYTES / 4096));
	volatile struct vring_used *old;
	uint64_t dl;
	uint16_t done;

	if (h_check(!bufs, "out of guest memory") || h_open() != 0)
		return -1;
	old = H.b.q[H.qi].vq.used;
	queued = queue_inflight(bufs, n);
	if (h_reset() != 0)
		return -1;
	done = old->idx;
	for (dl = h_deadline(100); !h_expired(dl);)
		pause();
	kprintf("hostile-reset-inflight: %u requests published, %u completed into the old ring before Status read 0\n",
		queued, done);
	h_check(old->idx != done, "the device wrote %u used entries into the old ring after the reset",
		(uint16_t)(old->idx - done));
	if (h_open() != 0)
		return -1;
	for (unsigned i = 0; i < 16; i++)
		if (h_responsive() != 0)
			return -1;
	return h_check(h_io(VIRTIO_BLK_T_OUT, H_LBA, H.pattern, 4096) != VIRTIO_BLK_S_OK, "a write after the re-init failed");
}

/* queue-restart (a disk of 2+ queues): 16 reads in flight on another queue and 16 on this one; this queue is
 * stopped (QueueReady 0, read back) and set up on new rings while the other keeps running. The other queue's
 * reads all complete with the pattern, nothing reaches this queue's old used ring after the stop, the new
 * rings serve, and the device never asks for a reset. */
#define QR_N (H_MAX_PROBE / 2)	/* reads in flight per queue: H.data holds H_MAX_PROBE pages */

int hc_queue_restart(void)
{
	struct blk_q *q = &H.b.q[H.qi], *o = &H.b.q[H.qi == 0 ? 1 : 0];
	volatile struct vring_used *old;
	uint8_t st[QR_N];
	void *ck[QR_N];
	unsigned got = 0;
	uint16_t done, before = q->vq.used->idx;
	uint64_t dl;
	int r;

	if (h_check(H.b.nq < 2, "queue-restart needs a disk of 2 or more queues (build/vmm --disk IMG,queues=2)"))
		return -1;
	for (unsigned i = 0; i < 2 * QR_N; i++) {
		uint8_t *b = H.data + i * 4096;
		if (h_check(blk_queue(i < QR_N ? o : q, VIRTIO_BLK_T_IN, H_LBA * 512ull, b, 4096, b) != BLK_Q_OK,
			    "queue refused"))
			return -1;
	}
	blk_commit(o);
	blk_commit(q);
	old = q->vq.used;
	if (h_check(blk_queue_restart(&H.b, H.qi) != 0, "the queue did not stop and restart"))
		return -1;
	done = old->idx;
	for (dl = h_deadline(H_WAIT_MS); got < QR_N && !h_expired(dl);) {
		if (h_check((r = blk_reap(o, ck + got, st + got, QR_N - got, 0)) < 0, "broken used ring on the other queue"))
			return -1;
		got += (unsigned)r;
	}
	h_check(got != QR_N, "%u of %u reads in flight on the other queue completed", got, QR_N);
	for (unsigned i = 0; i < got; i++)
		h_check(st[i] != VIRTIO_BLK_S_OK || memcmp(ck[i], H.pattern, 4096) != 0,
			"a read on the other queue: status %u or wrong data", st[i]);
	for (dl = h_deadline(100); !h_expired(dl);)
		pause();
	h_check(old->idx != done, "the device wrote %u used entries into the stopped queue's old ring",
		(uint16_t)(old->idx - done));
	kprintf("hostile-queue-restart: queue %u stopped with %u of its %u reads completed, queue %u kept serving\n",
		H.qi, (uint16_t)(done - before), QR_N, o->index);
	if (H.bad)
		return -1;
	for (unsigned i = 0; i < 8; i++)
		if (h_responsive() != 0)
			return -1;
	return 0;
}

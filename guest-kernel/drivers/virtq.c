/* virtq.c - split virtqueue, driver side: descriptor free list, batched publish, used-ring harvest, suppression. */
#include "guest.h"
#include "virtq.h"
#include "virtio_mmio.h"

/*
 * Memory ordering on x86-64 (TSO), and what each barrier below is for:
 *  - store -> store and load -> load are never reordered by the CPU, so release (descriptors and ring entries
 *    before avail->idx) and acquire (used->idx before the used entries and the data they describe) only need
 *    the compiler held back: vq_barrier(). Linux's virtio_wmb/virtio_rmb compile to the same on x86.
 *  - store -> load CAN be reordered (the store buffer). Where we write a flag and must then read the other
 *    side's flag (publish then check NO_NOTIFY/avail_event; re-enable interrupts then re-check used->idx),
 *    a full fence is required, or both sides can miss each other: a lost kick or a lost interrupt.
 *    vq_mb() is the locked add Linux's smp_mb() uses on x86-64 (cheaper than mfence).
 * The device side (another CPU: the VMM's IOCore or QEMU's thread) runs the mirror protocol with its own fences.
 */
static inline void vq_barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void vq_mb(void) { __asm__ volatile("lock addl $0, (%%rsp)" ::: "memory", "cc"); }

/* Shared fields the device writes: always read through volatile so each check really reloads them. */
static inline uint16_t rd16(const uint16_t *p) { return *(const volatile uint16_t *)p; }
static inline void wr16(uint16_t *p, uint16_t v) { *(volatile uint16_t *)p = v; }

static uint16_t *used_event(struct vq *q) { return vring_used_event(q->avail, q->num); }
static uint16_t *avail_event(struct vq *q) { return vring_avail_event(q->used, q->num); }

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

/* The legacy layout (§2.7.2 "Legacy Interfaces"), which a modern device accepts too: one allocation works
 * for both transports. */
static uint64_t used_offset(unsigned num)
{
	return align_up(VRING_DESC_BYTES(num) + VRING_AVAIL_BYTES(num), VRING_LEGACY_ALIGN);
}

uint64_t vq_layout_bytes(unsigned num)
{
	return align_up(used_offset(num) + VRING_USED_BYTES(num), 4096);
}

void vq_init(struct vq *q, unsigned num, int event_idx, void *mem, void **cookies)
{
	memset(q, 0, sizeof(*q));
	q->num = num;
	q->desc = mem;
	q->avail = (struct vring_avail *)((char *)mem + VRING_DESC_BYTES(num));
	q->used = (struct vring_used *)((char *)mem + used_offset(num));
	q->cookie = cookies;
	q->event_idx = event_idx;
	for (unsigned i = 0; i < num; i++) {
		q->desc[i].next = (uint16_t)(i + 1);
		cookies[i] = NULL;
	}
	q->num_free = (uint16_t)num;
	q->free_head = 0;
	vq_disable_cb(q);
}

int vq_add(struct vq *q, const struct vq_buf *bufs, unsigned n_out, unsigned n_in, void *cookie)
{
	unsigned n = n_out + n_in, i, head = q->free_head, d = head, last = head;

	if (n == 0 || n > q->num_free)
		return -1;
	/* Free descriptors are already linked through .next: keep those links as the chain's links. */
	for (i = 0; i < n; i++) {
		last = d;
		q->desc[d].addr = bufs[i].addr;
		q->desc[d].len = bufs[i].len;
		q->desc[d].flags = (i + 1 < n ? VRING_DESC_F_NEXT : 0) | (bufs[i].write ? VRING_DESC_F_WRITE : 0);
		d = q->desc[d].next;
	}
	q->free_head = q->desc[last].next;
	q->num_free = (uint16_t)(q->num_free - n);
	q->cookie[head] = cookie;
	q->avail->ring[q->avail_idx & (q->num - 1)] = (uint16_t)head;
	q->avail_idx++;
	q->num_added++;
	return (int)head;
}

int vq_publish(struct vq *q)
{
	uint16_t new_idx = q->avail_idx, old = (uint16_t)(new_idx - q->num_added);
	int kick;

	if (q->num_added == 0)
		return 0;
	q->num_added = 0;
	vq_barrier();		/* release: descriptors and ring entries are written before the index */
	wr16(&q->avail->idx, new_idx);
	vq_mb();		/* store -> load: the index must be visible before we read the device's wish */
	if (q->event_idx)
		kick = vring_need_event(rd16(avail_event(q)), new_idx, old);
	else
		kick = !(rd16(&q->used->flags) & VRING_USED_F_NO_NOTIFY);
	if (kick)
		q->kicks++;
	else
		q->suppressed++;
	return kick;
}

int vq_has_used(const struct vq *q)
{
	return rd16(&q->used->idx) != q->last_used;
}

/* Returns the chain starting at head to the free list. Walks at most num links: a chain we built. */
static void free_chain(struct vq *q, unsigned head)
{
	unsigned i = head, n = 1;

	while ((q->desc[i].flags & VRING_DESC_F_NEXT) && n < q->num) {
		i = q->desc[i].next;
		n++;
	}
	q->desc[i].next = q->free_head;
	q->free_head = (uint16_t)head;
	q->num_free = (uint16_t)(q->num_free + n);
	q->cookie[head] = NULL;
}

int vq_harvest(struct vq *q, void **cookies, uint16_t *heads, unsigned max)
{
	uint16_t end = rd16(&q->used->idx);
	unsigned n = 0;

	vq_barrier();		/* acquire: entries (and the data/status they cover) are read after the index */
	while (q->last_used != end && n < max) {
		const struct vring_used_elem *e = &q->used->ring[q->last_used & (q->num - 1)];
		uint32_t id = e->id;

		if (id >= q->num || !q->cookie[id]) {
			q->bad_used++;
			return -1;
		}
		cookies[n] = q->cookie[id];
		if (heads)
			heads[n] = (uint16_t)id;
		n++;
		free_chain(q, id);
		q->last_used++;
	}
	/* While interrupts are off with EVENT_IDX, keep used_event half the index space away from where the
	 * device is, so vring_need_event() can never fire (Linux parks it at 0 instead, which fires once per
	 * 65536 completions). One store per harvest that found something. */
	if (n && q->event_idx && (q->avail_flags & VRING_AVAIL_F_NO_INTERRUPT))
		wr16(used_event(q), (uint16_t)(q->last_used + 0x8000));
	return (int)n;
}

void vq_disable_cb(struct vq *q)
{
	q->avail_flags |= VRING_AVAIL_F_NO_INTERRUPT;
	/* §2.7.7: with EVENT_IDX the driver must leave avail->flags at 0 and steer with used_event instead. */
	if (q->event_idx)
		wr16(used_event(q), (uint16_t)(q->last_used + 0x8000));
	else
		wr16(&q->avail->flags, q->avail_flags);
}

int vq_enable_cb(struct vq *q)
{
	q->avail_flags &= (uint16_t)~VRING_AVAIL_F_NO_INTERRUPT;
	if (q->event_idx)
		wr16(used_event(q), q->last_used);	/* interrupt on the very next used entry */
	else
		wr16(&q->avail->flags, q->avail_flags);
	/* store -> load: the device must be able to see the re-enable before we conclude the ring is empty;
	 * otherwise it can complete in between, see interrupts still off, and we halt with work pending. */
	vq_mb();
	return vq_has_used(q);
}

/* virtqueue.c - the device side of a split virtqueue (virtio 1.x §2.7).
 *
 * Ownership: the avail side (last_avail, the notification flag / avail_event) belongs to the
 * thread that pops requests: the vCPU thread with request=exit, the IOCore otherwise. The used
 * side (used_idx, used ring entries, signalled_used) belongs to the emulation context. The guest
 * can rewrite any ring byte at any time, so every value read from a ring is read once, into a
 * local, and validated before use. */
#include <string.h>

#include "virtio.h"

#define READ_ONCE(x)     (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

int vq_activate(struct vq *q, const struct guest_mem *m)
{
	uint64_t n = q->num;

	if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)))
		return err_set("queue size %llu is not a power of two in [1, %d]",
			       (unsigned long long)n, VQ_MAX_SIZE);
	q->desc = gmem_ptr(m, q->desc_gpa, VRING_DESC_BYTES(n));
	q->avail = gmem_ptr(m, q->avail_gpa, VRING_AVAIL_BYTES(n));
	q->used = gmem_ptr(m, q->used_gpa, VRING_USED_BYTES(n));
	if (!q->desc || !q->avail || !q->used)
		return err_set("a ring of the queue lies outside guest RAM");
	if ((q->desc_gpa % VRING_DESC_ALIGN) || (q->avail_gpa % VRING_AVAIL_ALIGN) ||
	    (q->used_gpa % VRING_USED_ALIGN))
		return err_set("a ring of the queue is misaligned");
	q->last_avail = q->used_idx = q->signalled_used = 0;
	return 0;
}

int vq_avail_pending(struct vq *q)
{
	uint16_t idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(idx - q->last_avail);

	return pending > q->num ? -1 : pending;
}

/* avail_event with notifications disabled: half the index space ahead, so vring_need_event() stays
 * false for any batch the driver can publish (at most num entries). Enabled: the next entry. */
static uint16_t avail_event_value(const struct vq *q)
{
	return q->notify ? q->last_avail : (uint16_t)(q->last_avail + 0x8000);
}

uint16_t vq_pop(struct vq *q)
{
	uint16_t head = READ_ONCE(q->avail->ring[q->last_avail & (q->num - 1)]);

	q->last_avail++;
	if (q->event_idx) /* keep avail_event where vq_set_notify() put it, relative to us */
		WRITE_ONCE(*vring_avail_event(q->used, q->num), avail_event_value(q));
	return head;
}

void vq_set_notify(struct vq *q, bool enable)
{
	q->notify = enable;
	if (q->event_idx) {
		WRITE_ONCE(*vring_avail_event(q->used, q->num), avail_event_value(q));
	} else {
		uint16_t f = READ_ONCE(q->used->flags);

		WRITE_ONCE(q->used->flags, enable ? f & ~VRING_USED_F_NO_NOTIFY : f | VRING_USED_F_NO_NOTIFY);
	}
	/* Store (flag) -> load (avail idx) ordering: without this fence the re-check that follows
	 * an enable could read a stale idx while the driver reads a stale flag: a lost kick. */
	smp_mb();
}

int vq_read_chain(struct vq *q, const struct guest_mem *m, uint16_t head, struct vq_chain *c)
{
	uint64_t seen[VQ_MAX_SIZE / 64] = { 0 }; /* visiting a descriptor twice is a loop */
	uint16_t i = head;
	int bad = 0;

	c->n = 0;
	if (head >= q->num)
		return err_set("descriptor head %u out of range", head);
	for (;;) {
		struct vring_desc d;

		if (seen[i / 64] & (1ull << (i % 64)))
			return err_set("descriptor chain loops back to descriptor %u", i);
		seen[i / 64] |= 1ull << (i % 64);
		memcpy(&d, &q->desc[i], sizeof(d)); /* snapshot: the guest may change it under us */
		/* A buffer outside RAM (or an indirect table, not negotiated) is recorded as NULL and
		 * the walk goes on, so the device can still reach the status byte at the end of the
		 * chain to report the error. */
		c->buf[c->n].p = d.flags & VRING_DESC_F_INDIRECT ? NULL : gmem_ptr(m, d.addr, d.len);
		if (d.flags & VRING_DESC_F_INDIRECT)
			bad = err_set("indirect descriptors were not negotiated");
		else if (!c->buf[c->n].p)
			bad = err_set("descriptor [0x%llx, +%u) lies outside guest RAM",
				      (unsigned long long)d.addr, d.len);
		c->buf[c->n].len = d.len;
		c->buf[c->n].write = d.flags & VRING_DESC_F_WRITE;
		c->n++;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return bad;
		if (d.next >= q->num)
			return err_set("descriptor next index %u out of range", d.next);
		i = d.next;
	}
}

void vq_push_used(struct vq *q, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &q->used->ring[q->used_idx & (q->num - 1)];

	WRITE_ONCE(e->id, head);
	WRITE_ONCE(e->len, len);
	q->used_idx++;
}

bool vq_publish_used(struct vq *q)
{
	uint16_t old = q->signalled_used, now = q->used_idx;

	if (old == now)
		return false;
	/* Release: the entries (and the data written into guest buffers) before the index. */
	__atomic_store_n(&q->used->idx, now, __ATOMIC_RELEASE);
	/* Store (used idx) -> load (driver's flag / used_event): the driver re-enables interrupts
	 * and then re-checks used->idx; both sides need the store-load fence for no lost wake-up. */
	smp_mb();
	q->signalled_used = now;
	if (q->event_idx)
		return vring_need_event(READ_ONCE(*vring_used_event(q->avail, q->num)), now, old);
	return !(READ_ONCE(q->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
}

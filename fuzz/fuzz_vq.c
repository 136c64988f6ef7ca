/* fuzz_vq.c - fuzz-vq: the split-virtqueue walker and the virtio-blk request parser over arbitrary guest RAM.
 *
 * Input (every field little-endian; a short input reads as zeros past its end):
 *   u8  queue size: n < 9 means 1 << n, anything else is taken as is (mostly refused)
 *   u8  flags: 1 EVENT_IDX, 2 ram backend (else null), 4 read-only disk, 8 big RAM (256 MiB)
 *   u32 desc, avail, used: ring addresses (masked to twice the RAM size, so about half lie inside)
 *   u8  rounds - 1 (0..7)
 *   u16 n, then n bytes: guest RAM from address 0 (the rest is zero)
 *   per round: u8 patch count (0..3), each {u16 address, u8 len, len bytes} written into guest RAM
 *              (the guest changing its rings between kicks), then u8 notify (1: set, 2: enable).
 * Each round pops every pending avail entry, walks its chain, starts it on the disk and flushes,
 * as the request path does. Invariants: vq_activate accepts exactly the layouts inside RAM and
 * aligned; an avail index jump beyond the queue size is refused; every walked buffer lies inside
 * RAM; every request the backend receives lies inside RAM and the disk (fuzz_dev.c); each accepted
 * head completes exactly once and used.idx moves by the number completed. Guard pages around RAM
 * and AddressSanitizer catch any other stray access. */
#include <string.h>

#include "fuzz.h"

static bool span_in(uint64_t gpa, uint64_t len, uint64_t size)
{
	return len <= size && gpa <= size - len;
}

/* The layouts vq_activate must accept, computed independently. */
static bool layout_valid(const struct vq *q, const struct guest_mem *m)
{
	uint64_t n = q->num;

	if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)))
		return false;
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return false;
	return span_in(q->desc_gpa, 16 * n, m->size) && span_in(q->avail_gpa, 6 + 2 * n, m->size) &&
	       span_in(q->used_gpa, 6 + 8 * n, m->size);
}

static void patch(struct fuzz_in *in)
{
	uint16_t addr = fin_u16(in);
	uint8_t len = fin_u8(in);
	size_t room = FUZZ_RAM_SMALL - addr;

	fin_bytes(in, fuzz_ram_bytes() + addr, len < room ? len : room);
}

/* Walks the chain at head on its own and checks what vq_read_chain reports. */
static void check_chain(struct vq *q, const struct guest_mem *m, uint16_t head)
{
	static struct vq_chain c;
	int rc = vq_read_chain(q, m, head, &c);

	FUZZ_ASSERT(c.n >= 0 && c.n <= q->num);
	if (head >= q->num)
		FUZZ_ASSERT(rc < 0 && c.n == 0);
	for (int i = 0; i < c.n; i++) {
		if (c.buf[i].p)
			FUZZ_ASSERT(fuzz_in_ram(m, c.buf[i].p, c.buf[i].len));
		else
			FUZZ_ASSERT(rc < 0);
	}
}

/* One kick: takes every pending entry. Returns false when the device stops (index jump, NEEDS_RESET). */
static bool round_run(struct fuzz_disk *k, const struct guest_mem *m, struct fuzz_in *in)
{
	struct vq *q = &k->q->vq;
	uint8_t patches = fin_u8(in) % 4;
	uint16_t idx, last = q->last_avail;
	int pending;

	if (!atomic_load(&k->q->active)) /* NEEDS_RESET: the request path pops no more */
		return false;
	for (int i = 0; i < patches; i++)
		patch(in);
	uint8_t notify = fin_u8(in);
	if (notify & 1)
		vq_set_notify(q, notify & 2);
	idx = q->avail->idx;
	pending = vq_avail_pending(q);
	if ((uint16_t)(idx - last) > q->num) {
		FUZZ_ASSERT(pending < 0);
		return false;
	}
	FUZZ_ASSERT(pending == (uint16_t)(idx - last));
	for (int i = 0; i < pending; i++) {
		uint16_t head = vq_pop(q);

		check_chain(q, m, head);
		fuzz_start(k, head);
	}
	FUZZ_ASSERT(q->last_avail == (uint16_t)(last + pending));
	fuzz_flush(k);
	return true;
}

int fuzz_vq(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t qsize = fin_u8(&in), flags = fin_u8(&in);
	struct guest_mem *m = fuzz_ram(flags & 8);
	struct fuzz_disk *k = fuzz_disk(flags & 2 ? FUZZ_BE_RAM : FUZZ_BE_NULL, m, flags & 4);
	uint32_t mask = flags & 8 ? 2 * FUZZ_RAM_BIG - 1 : 2 * FUZZ_RAM_SMALL - 1;
	struct vq *q = &k->q->vq;
	int rounds, rc;
	uint16_t image;
	bool valid;

	q->num = qsize < 9 ? 1u << qsize : qsize;
	q->event_idx = flags & 1;
	q->desc_gpa = fin_u32(&in) & mask;
	q->avail_gpa = fin_u32(&in) & mask;
	q->used_gpa = fin_u32(&in) & mask;
	rounds = 1 + fin_u8(&in) % 8;
	image = fin_u16(&in);
	fin_bytes(&in, fuzz_ram_bytes(), image);
	valid = layout_valid(q, m);
	rc = vq_activate(q, m);
	FUZZ_ASSERT((rc == 0) == valid);
	if (rc < 0)
		return 0;
	FUZZ_ASSERT(fuzz_vq_consistent(q, m) && q->last_avail == 0 && q->used_idx == 0);
	atomic_store(&k->q->active, 1);
	for (int r = 0; r < rounds && round_run(k, m, &in); r++)
		;
	return 0;
}

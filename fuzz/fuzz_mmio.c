/* fuzz_mmio.c - fuzz-mmio: the virtio-mmio register interface of a disk, interleaved with ring contents.
 *
 * Input: u8 setup (bits 0-1 ignored, 4 ram backend, 8 read-only
 * disk, 16 big RAM), then operations until the input ends, each a u8 opcode and its operands:
 *   0 write   u16 offset, u8 size (1 << n&3), u32 value   a guest store to the transport's window
 *   1 read    u16 offset, u8 size                        a guest load, its value checked
 *   2 poke    u16 address, u8 len, len bytes             the guest writing its RAM (rings, requests)
 *   3 device  -                                          the emulation context takes what was handed off
 *   4 poll    u8 notify (1: set, 2: on)                  the IOCore polls the avail ring (emu_handoff)
 * The emulation context can run between any two guest accesses, as it does on its own thread.
 * Invariants: constant registers read their values, sub-word register accesses read zero, a read
 * fills only its size; STATUS shows DEVICE_NEEDS_RESET exactly when the device is broken;
 * InterruptStatus is the device's isr; whenever the device may use its queue (active, or heads
 * handed off and not yet taken) the queue is the checked layout it was activated with; and every
 * request obeys fuzz_dev.c's checks. */
#include <string.h>

#include "abi.h"
#include "fuzz.h"

enum { OP_WRITE, OP_READ, OP_POKE, OP_DEVICE, OP_POLL, OP_COUNT };

static void check_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtio_dev *d = t->s.dev;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: FUZZ_ASSERT(v == VIRTIO_MMIO_MAGIC); break;
	case VIRTIO_MMIO_VERSION: FUZZ_ASSERT(v == 2); break;
	case VIRTIO_MMIO_DEVICE_ID: FUZZ_ASSERT(v == VIRTIO_ID_BLOCK); break;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: FUZZ_ASSERT(v == (t->s.queue_sel < (uint32_t)d->nqueues ? VQ_MAX_SIZE : 0)); break;
	case VIRTIO_MMIO_INTERRUPT_STATUS: FUZZ_ASSERT(v == atomic_load(&t->sh->isr)); break;
	case VIRTIO_MMIO_STATUS:
		FUZZ_ASSERT(!!(v & VIRTIO_CONFIG_S_NEEDS_RESET) == !!atomic_load(&d->broken));
		break;
	}
}

static void reg_read(struct virtio_mmio *t, uint64_t off, uint32_t size)
{
	uint8_t buf[8], zero[8] = { 0 };
	uint64_t cap = blk_of(t->s.dev)->capacity;
	uint32_t v;

	memset(buf, 0xa5, sizeof(buf));
	virtio_mmio_access(t, off, buf, size, false);
	for (uint32_t i = size; i < sizeof(buf); i++)
		FUZZ_ASSERT(buf[i] == 0xa5);
	if (off >= VIRTIO_MMIO_CONFIG) {
		for (uint32_t i = 0; i < size; i++) /* capacity, in sectors, at offset 0 */
			if (off - VIRTIO_MMIO_CONFIG + i < 8)
				FUZZ_ASSERT(buf[i] == ((uint8_t *)&cap)[off - VIRTIO_MMIO_CONFIG + i]);
		return;
	}
	if (size != 4 || (off & 3)) {
		FUZZ_ASSERT(memcmp(buf, zero, size) == 0);
		return;
	}
	memcpy(&v, buf, 4);
	check_reg(t, off, v);
}

static void poke(struct fuzz_in *in)
{
	uint16_t addr = fin_u16(in);
	uint8_t len = fin_u8(in);
	size_t room = FUZZ_RAM_SMALL - addr;

	fin_bytes(in, fuzz_ram_bytes() + addr, len < room ? len : room);
}

/* Whether the device side may touch its queue now: it is serving it, or it still has heads to take. */
static bool queue_in_use(const struct vqueue *q)
{
	return atomic_load(&q->active) || atomic_load(&q->ring.head) != atomic_load(&q->ring.tail);
}

static void one_op(struct virtio_mmio *t, struct fuzz_disk *k, struct fuzz_in *in)
{
	struct vqueue *q = k->q;
	uint8_t buf[8] = { 0 };
	uint16_t off;
	uint32_t size, v;

	switch (fin_u8(in) % OP_COUNT) {
	case OP_WRITE:
		off = fin_u16(in) % ABI_VIRTIO_MMIO_SIZE;
		size = 1u << (fin_u8(in) & 3);
		v = fin_u32(in);
		memcpy(buf, &v, 4);
		virtio_mmio_access(t, off, buf, size, true);
		break;
	case OP_READ:
		off = fin_u16(in) % ABI_VIRTIO_MMIO_SIZE;
		reg_read(t, off, 1u << (fin_u8(in) & 3));
		break;
	case OP_POKE:
		poke(in);
		break;
	case OP_DEVICE:
		if (atomic_load(&q->ring.head) != atomic_load(&q->ring.tail))
			FUZZ_ASSERT(fuzz_vq_consistent(&q->vq, k->d->mem));
		fuzz_emu_run(k);
		break;
	case OP_POLL:
		v = fin_u8(in);
		if (!atomic_load(&q->active))
			break;
		if (v & 1) /* the IOCore turns notifications off while it polls, on before it sleeps */
			vq_set_notify(&q->vq, v & 2);
		emu_handoff(q);
		break;
	}
	if (queue_in_use(q))
		FUZZ_ASSERT(fuzz_vq_consistent(&q->vq, k->d->mem));
}

int fuzz_mmio(const uint8_t *data, size_t size)
{
	static struct virtio_mmio t;
	struct fuzz_in in = { data, size };
	uint8_t setup = fin_u8(&in);
	struct guest_mem *m = fuzz_ram(setup & 16);
	struct fuzz_disk *k = fuzz_disk(setup & 4 ? FUZZ_BE_RAM : FUZZ_BE_NULL, m, setup & 8);

	if (virtio_mmio_init(&t, k->d, 0, ABI_VIRTIO_IRQ_BASE) < 0)
		fuzz_fail(__FILE__, __LINE__, "binding the transport");
	for (int ops = 0; ops < 4096 && !fin_empty(&in); ops++)
		one_op(&t, k, &in);
	return 0;
}

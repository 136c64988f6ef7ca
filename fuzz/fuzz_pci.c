/* fuzz_pci.c - fuzz-pci: a disk's virtio-pci function, its configuration space, BAR 0 (common configuration, ISR,
 * device configuration, notify, the MSI-X table and PBA) and its interrupts, interleaved with ring contents.
 *
 * Input: u8 setup (4 ram backend, 8 read-only disk, 16 big RAM), then operations until the input ends, each a
 * u8 opcode and its operands:
 *   0 config write  u16 register, u8 size (1 << n&3), u32 value   a guest store to the function's ECAM space
 *   1 config read   u16 register, u8 size                        a guest load, its value checked
 *   2 bar write     u16 offset, u8 size, u32 value               a store where BAR 0 decodes (or would)
 *   3 bar read      u16 offset, u8 size                          a load there
 *   4 poke          u16 address, u8 len, len bytes               the guest writing its RAM (rings, requests)
 *   5 device        -                                            the emulation context takes what was handed off
 *   6 poll          u8 notify                                    the IOCore polls the avail ring (emu_handoff)
 *   7 signal        u8 queue                                     the device asks for a queue's interrupt (or config)
 * Invariants: the identity registers read their values; BAR 0 decodes only inside the bridge's window with memory
 * decoding on; a vector is unblocked only when MSI-X is on, neither the function nor the vector is masked and a
 * valid message (a LAPIC address, a vector of 16 or more) is routed to it; whenever the device may use its queue
 * the queue is the checked layout it was activated with; and every request obeys fuzz_dev.c's checks. */
#include <string.h>

#include "fuzz.h"
#include "pci.h"

enum { OP_CWRITE, OP_CREAD, OP_BWRITE, OP_BREAD, OP_POKE, OP_DEVICE, OP_POLL, OP_SIGNAL, OP_COUNT };

static struct vmm V;
static struct virtio_pci T;

static void check_identity(void)
{
	uint8_t id[4];

	pci_config_access(&T.fn, PCI_VENDOR_ID, id, 4, false);
	FUZZ_ASSERT(id[0] == 0xf4 && id[1] == 0x1a && id[2] == 0x42 && id[3] == 0x10);
}

/* BAR 0 on the bus only inside the window and with memory decoding on; each vector's blocked state as the
 * capability, the table and the routes say. */
static void check_state(void)
{
	uint16_t ctl = (uint16_t)pci_cfg_get(&T.fn, T.msix.cap + PCI_MSIX_FLAGS, 2);
	uint64_t at = T.fn.bar[0].at;

	if (at) {
		FUZZ_ASSERT(pci_cfg_get(&T.fn, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
		FUZZ_ASSERT(at >= PCI_MMIO_BASE && at + T.fn.bar[0].size <= PCI_MMIO_BASE + PCI_MMIO_SIZE);
	}
	for (int i = 0; i < T.msix.n; i++) {
		bool open = (ctl & PCI_MSIX_FLAGS_ENABLE) && !(ctl & PCI_MSIX_FLAGS_MASKALL) &&
			    !(T.msix.entry[i][3] & PCI_MSIX_ENTRY_MASKED) && T.msix.routed[i];

		FUZZ_ASSERT(atomic_load(&T.msix.vec[i].blocked) == !open);
		if (T.msix.routed[i]) {
			FUZZ_ASSERT((T.msix.route[i][0] & MSI_ADDR_MASK) == MSI_ADDR_BASE && T.msix.route[i][1] == 0);
			FUZZ_ASSERT((T.msix.route[i][2] & MSI_DATA_VECTOR_MASK) >= 16);
		}
	}
}

/* A BAR access where BAR 0 decodes now, or where its register says (then it must reach nothing of ours). */
static void bar_op(struct fuzz_in *in, bool is_write)
{
	uint16_t off = fin_u16(in);
	uint32_t size = 1u << (fin_u8(in) & 3), v = is_write ? fin_u32(in) : 0;
	uint64_t base = T.fn.bar[0].at ? T.fn.bar[0].at : pci_cfg_get(&T.fn, PCI_BAR0, 4) & PCI_BAR_MEM_MASK;
	uint8_t buf[8];

	memset(buf, 0xa5, sizeof(buf));
	if (is_write)
		memcpy(buf, &v, 4);
	bus_access(&V.mmio, base + off, buf, size, is_write);
	for (uint32_t i = size; !is_write && i < sizeof(buf); i++) /* a read fills only its size */
		FUZZ_ASSERT(buf[i] == 0xa5);
}

static void config_op(struct fuzz_in *in, bool is_write)
{
	uint16_t reg = fin_u16(in) % PCI_ECAM_FN_SIZE;
	uint32_t size = 1u << (fin_u8(in) & 3), v = is_write ? fin_u32(in) : 0;
	uint8_t buf[8];

	memset(buf, 0xa5, sizeof(buf));
	if (is_write)
		memcpy(buf, &v, 4);
	pci_config_access(&T.fn, reg, buf, size, is_write);
	for (uint32_t i = size; !is_write && i < sizeof(buf); i++)
		FUZZ_ASSERT(buf[i] == 0xa5);
}

static void poke(struct fuzz_in *in)
{
	uint16_t addr = fin_u16(in);
	uint8_t len = fin_u8(in);
	size_t room = FUZZ_RAM_SMALL - addr;

	fin_bytes(in, fuzz_ram_bytes() + addr, len < room ? len : room);
}

static void one_op(struct fuzz_disk *k, struct fuzz_in *in)
{
	struct vqueue *q = k->q;
	uint8_t v;

	switch (fin_u8(in) % OP_COUNT) {
	case OP_CWRITE: config_op(in, true); break;
	case OP_CREAD: config_op(in, false); break;
	case OP_BWRITE: bar_op(in, true); break;
	case OP_BREAD: bar_op(in, false); break;
	case OP_POKE: poke(in); break;
	case OP_DEVICE:
		if (atomic_load(&q->ring.head) != atomic_load(&q->ring.tail))
			FUZZ_ASSERT(fuzz_vq_consistent(&q->vq, k->d->mem));
		fuzz_emu_run(k);
		break;
	case OP_POLL:
		v = fin_u8(in);
		if (!atomic_load(&q->active))
			break;
		if (v & 1)
			vq_set_notify(&q->vq, v & 2);
		emu_handoff(q);
		break;
	case OP_SIGNAL:
		v = fin_u8(in);
		k->d->transport->signal(k->d, v & 1 ? VIRTIO_SIGNAL_CONFIG : 0);
		break;
	}
	check_identity();
	check_state();
	if (atomic_load(&q->active) || atomic_load(&q->ring.head) != atomic_load(&q->ring.tail))
		FUZZ_ASSERT(fuzz_vq_consistent(&q->vq, k->d->mem));
}

int fuzz_pci(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t setup = fin_u8(&in);
	struct guest_mem *m = fuzz_ram(setup & 16);
	struct fuzz_disk *k = fuzz_disk(setup & 4 ? FUZZ_BE_RAM : FUZZ_BE_NULL, m, setup & 8);

	/* a machine without KVM: a bus for BAR 0, a fresh layout of GSIs each input */
	V = (struct vmm){ .mem = *m, .kvm = { .kvm_fd = -1, .vm_fd = -1 } };
	if (virtio_pci_init(&T, &V, k->d, false) < 0)
		fuzz_fail(__FILE__, __LINE__, "virtio_pci_init");
	pci_cfg_put(&T.fn, PCI_BAR0, 4, (uint32_t)PCI_MMIO_BASE); /* where the VMM places it */
	for (int ops = 0; ops < 4096 && !fin_empty(&in); ops++)
		one_op(k, &in);
	return 0;
}

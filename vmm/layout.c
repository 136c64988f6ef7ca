/* layout.c - the machine's guest-physical layout and interrupt lines, handed out in one place: every
 * transport asks here for the window and the line of a device, so no file assumes "slot = disk index". */
#include "abi.h"
#include "vmm.h"

/* virtio-mmio windows where QEMU microvm puts them: slot n at ABI_VIRTIO_MMIO_BASE + n * SIZE, with IOAPIC
 * pin ABI_VIRTIO_IRQ_BASE + n. */
int layout_mmio_slot(struct vmm *v, unsigned *gsi)
{
	int slot = v->layout.mmio_slots;

	if (slot == ABI_VIRTIO_MAX_SLOTS)
		return err_set("no virtio-mmio window left (the machine has %d)", ABI_VIRTIO_MAX_SLOTS);
	v->layout.mmio_slots++;
	*gsi = ABI_VIRTIO_IRQ_BASE + (unsigned)slot;
	return slot;
}

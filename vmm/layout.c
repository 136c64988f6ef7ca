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

/* PCI devices on bus 0 from 1 up (00:01.0, 00:02.0, ...), function 0 each. */
int layout_pci_slot(struct vmm *v)
{
	if (v->layout.pci_devs == PCI_LAYOUT_DEVS - 1)
		return err_set("no PCI slot left (bus 0 has %d)", PCI_LAYOUT_DEVS - 1);
	return ++v->layout.pci_devs;
}

/* MSI routes on GSIs above the IOAPIC's pins (KVM's GSI space, not a pin). */
int layout_msi_gsi(struct vmm *v)
{
	if (v->layout.msi_gsis == LAYOUT_MAX_MSI)
		return err_set("no GSI left for an MSI route (%d taken)", LAYOUT_MAX_MSI);
	return LAYOUT_MSI_GSI_BASE + v->layout.msi_gsis++;
}

/* virtio_pci.h - the virtio-pci transport (virtio 1.x §4.1, modern), found on the PCI bus, with MSI-X. */
#ifndef EXITLESS_VIRTIO_PCI_H
#define EXITLESS_VIRTIO_PCI_H

#include <stdint.h>

#include "pci.h"

#define VPCI_MAX_QUEUES 16

/* One function's virtio structures, where its capabilities put them in its BARs (gpa == va). */
struct vpci {
	struct pci_dev pci;
	uint64_t common, isr, device, notify;
	uint32_t notify_mult;
	uint16_t notify_off[VPCI_MAX_QUEUES]; /* each queue's queue_notify_off, read when it is set up */
	unsigned msix_cap;                    /* the MSI-X capability's offset in configuration space (0: none) */
	uint64_t msix_table;
	unsigned msix_size;                   /* vectors in the table */
};

#endif

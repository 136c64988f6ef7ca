/* pci.h - PCI as the guest's drivers use it: bus 0 through ECAM (found in ACPI's MCFG), configuration reads
 * and writes, the capability list, BAR 0. Every access is MMIO (an exit under any VMM): set-up only. */
#ifndef EXITLESS_GUEST_PCI_H
#define EXITLESS_GUEST_PCI_H

#include <stdint.h>

#include "pci_spec.h"

/* A function on bus 0 (function 0 of a device). */
struct pci_dev {
	uint64_t cfg;        /* its 4 KiB of configuration space (ECAM) */
	unsigned dev;        /* device number */
	uint16_t vendor, device;
};

/* Finds the next function after *d (d->dev = -1u starts the scan) with this vendor and device id, on bus 0 of
 * the ECAM window ACPI's MCFG names. Returns 0 with *d filled, -1 when there is none (or no MCFG: a console line
 * once). */
int pci_find(uint16_t vendor, uint16_t device, struct pci_dev *d);

uint32_t pci_read(const struct pci_dev *d, unsigned off, unsigned size);
void pci_write(const struct pci_dev *d, unsigned off, unsigned size, uint32_t v);
/* The offset of the next capability with id after the one at offset `from` (0: from the start of the list), 0
 * when there is none. */
unsigned pci_cap(const struct pci_dev *d, uint8_t id, unsigned from);
/* BAR n's memory address (a 32-bit or 64-bit memory BAR), or 0 when unset or not memory. */
uint64_t pci_bar(const struct pci_dev *d, unsigned n);

#endif

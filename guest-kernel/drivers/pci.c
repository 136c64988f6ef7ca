/* pci.c - bus 0 through ECAM: where MCFG says, function 0 of each device, capability walks. */
#include "guest.h"
#include "acpi.h"
#include "pci.h"

static uint64_t ecam; /* bus 0's window, from MCFG (0: not looked up yet) */

/* MCFG: 36-byte header, 8 reserved bytes, then allocations {u64 base, u16 segment, u8 start bus, u8 end bus}. */
static int ecam_find(void)
{
	const uint8_t *m;
	uint32_t len;

	if (ecam)
		return 0;
	m = acpi_table("MCFG");
	if (!m)
		return -1;
	memcpy(&len, m + 4, 4);
	for (uint32_t off = 44; off + 16 <= len; off += 16) {
		uint64_t base;
		uint16_t seg;

		memcpy(&base, m + off, 8);
		memcpy(&seg, m + off + 8, 2);
		if (seg == 0 && m[off + 10] == 0 && base && base < (1ull << 32)) {
			ecam = base;
			return 0;
		}
	}
	return -1;
}

uint32_t pci_read(const struct pci_dev *d, unsigned off, unsigned size)
{
	uintptr_t a = (uintptr_t)(d->cfg + off);

	return size == 1 ? *(volatile uint8_t *)a : size == 2 ? *(volatile uint16_t *)a : *(volatile uint32_t *)a;
}

void pci_write(const struct pci_dev *d, unsigned off, unsigned size, uint32_t v)
{
	uintptr_t a = (uintptr_t)(d->cfg + off);

	if (size == 1)
		*(volatile uint8_t *)a = (uint8_t)v;
	else if (size == 2)
		*(volatile uint16_t *)a = (uint16_t)v;
	else
		*(volatile uint32_t *)a = v;
}

int pci_find(uint16_t vendor, uint16_t device, struct pci_dev *d)
{
	static int told;

	if (ecam_find() != 0) {
		if (!told++)
			kprintf("pci: no MCFG table in ACPI: no PCI bus to scan\n");
		return -1;
	}
	for (unsigned dev = d->dev + 1; dev < 32; dev++) {
		struct pci_dev f = { ecam + PCI_ECAM_OFFSET(dev, 0), dev, 0, 0 };
		uint32_t id = pci_read(&f, PCI_VENDOR_ID, 4);

		f.vendor = (uint16_t)id, f.device = (uint16_t)(id >> 16);
		if (f.vendor == vendor && f.device == device) {
			*d = f;
			return 0;
		}
	}
	return -1;
}

unsigned pci_cap(const struct pci_dev *d, uint8_t id, unsigned from)
{
	unsigned at = from ? pci_read(d, from + 1, 1) : pci_read(d, PCI_CAPABILITY_LIST, 1);

	if (!from && !(pci_read(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return 0;
	for (int hops = 0; at >= 0x40 && at < PCI_CFG_SPACE && hops < 48; hops++) {
		if (pci_read(d, at, 1) == id)
			return at;
		at = pci_read(d, at + 1, 1) & ~3u;
	}
	return 0;
}

uint64_t pci_bar(const struct pci_dev *d, unsigned n)
{
	uint32_t lo = pci_read(d, PCI_BAR0 + 4 * n, 4);

	if (lo & 1)
		return 0; /* an I/O BAR */
	if ((lo & 6) == 4 && n < 5) /* 64-bit */
		return (lo & PCI_BAR_MEM_MASK) | (uint64_t)pci_read(d, PCI_BAR0 + 4 * (n + 1), 4) << 32;
	return lo & PCI_BAR_MEM_MASK;
}

/* hostile_pci.c - hostile cases for the virtio-pci transport: configuration space abuse, BARs aimed at RAM or
 * at other devices, MSI-X messages the VMM must refuse, masking and the pending bits, bus mastering turned off
 * under requests. Each ends with the device restored and serving a normal read (run_case checks it). */
#include "guest.h"
#include "hostile.h"

static const struct pci_dev *F(void) { return &H.dev.t.pci.pci; }

static uint32_t cfg(unsigned off, unsigned size) { return pci_read(F(), off, size); }
static void set_cfg(unsigned off, unsigned size, uint32_t v) { pci_write(F(), off, size, v); }

/* ---- configuration space -------------------------------------------------------------------------- */

/* The read-only header, the capability chain, the extended space, absent functions and the access window. */
int hc_pci_config(void)
{
	uint32_t id = cfg(PCI_VENDOR_ID, 4), cls = cfg(PCI_REVISION_ID, 4), caps = cfg(PCI_CAPABILITY_LIST, 1);
	unsigned msix = H.dev.t.pci.msix_cap, win = pci_cap(F(), PCI_CAP_ID_VNDR, 0);
	struct pci_dev absent = { F()->cfg - PCI_ECAM_OFFSET(F()->dev, 0) + PCI_ECAM_OFFSET(31, 0), 31, 0, 0 };

	set_cfg(PCI_VENDOR_ID, 4, 0x12345678);
	set_cfg(PCI_REVISION_ID, 4, 0);
	set_cfg(PCI_CAPABILITY_LIST, 1, 0x80);
	set_cfg(msix + 1, 1, 0x44);             /* a capability's next pointer */
	set_cfg(msix + PCI_MSIX_TABLE, 4, 0);   /* the table's place */
	h_check(cfg(PCI_VENDOR_ID, 4) != id || cfg(PCI_REVISION_ID, 4) != cls || cfg(PCI_CAPABILITY_LIST, 1) != caps,
		"read-only header fields changed");
	h_check(cfg(msix + 1, 1) == 0x44 || cfg(msix + PCI_MSIX_TABLE, 4) == 0, "the capability list was rewritten");
	set_cfg(0x100, 4, ~0u);                 /* the extended space holds nothing */
	set_cfg(0xffc, 4, ~0u);
	h_check(cfg(0x100, 4) != 0 || cfg(0xffc, 4) != 0, "the extended space kept a write");
	*(volatile uint64_t *)(uintptr_t)(F()->cfg + 0x40) = ~0ull; /* wider than a configuration access */
	h_check(cfg(PCI_VENDOR_ID, 4) != id, "an 8-byte access changed the header");
	pci_write(&absent, PCI_COMMAND, 2, 0xffff);
	h_check(pci_read(&absent, PCI_VENDOR_ID, 4) != ~0u, "an absent function reads %#x, not all-ones",
		pci_read(&absent, PCI_VENDOR_ID, 4));
	h_check(*(volatile uint32_t *)(uintptr_t)(F()->cfg + PCI_ECAM_OFFSET(0, 3)) != ~0u,
		"function 3 of the device reads as present");
	/* the PCI configuration access window: nonsense in its fields, then a valid read of num_queues */
	while (win && cfg(win + VIRTIO_PCI_CAP_TYPE, 1) != VIRTIO_PCI_CAP_PCI_CFG)
		win = pci_cap(F(), PCI_CAP_ID_VNDR, win);
	if (h_check(!win, "no PCI configuration access capability"))
		return -1;
	set_cfg(win + VIRTIO_PCI_CAP_BAR, 1, 5), set_cfg(win + VIRTIO_PCI_CAP_LENGTH, 4, 3);
	set_cfg(win + VIRTIO_PCI_CFG_DATA, 4, ~0u);
	set_cfg(win + VIRTIO_PCI_CAP_BAR, 1, 0), set_cfg(win + VIRTIO_PCI_CAP_OFFSET, 4, 0xfffffffe);
	set_cfg(win + VIRTIO_PCI_CAP_LENGTH, 4, 4), set_cfg(win + VIRTIO_PCI_CFG_DATA, 4, ~0u);
	set_cfg(win + VIRTIO_PCI_CAP_OFFSET, 4, VIRTIO_PCI_COMMON_NUMQ), set_cfg(win + VIRTIO_PCI_CAP_LENGTH, 4, 2);
	h_check((cfg(win + VIRTIO_PCI_CFG_DATA, 4) & 0xffff) != H.b.dev_queues,
		"num_queues through the access window reads %u, not %u", cfg(win + VIRTIO_PCI_CFG_DATA, 4) & 0xffff,
		H.b.dev_queues);
	return 0;
}

/* ---- BARs ----------------------------------------------------------------------------------------- */

/* The common configuration's offset in BAR 0, taken before the case moves the BAR. */
static uint64_t common_off;

/* BAR 0 at bar: the common configuration's num_queues there reads the device's, or all-ones when not decoded. */
static uint32_t numq_at(uint64_t bar)
{
	return *(volatile uint16_t *)(uintptr_t)(bar + common_off + VIRTIO_PCI_COMMON_NUMQ);
}

int hc_pci_bar(void)
{
	/* RAM, virtio-mmio's window, ECAM, no address */
	static const uint32_t bad[] = { 0x00100000, 0xfeb00000, 0xe0000000, 0 };
	uint32_t bar = cfg(PCI_BAR0, 4), cmd = cfg(PCI_COMMAND, 2), size, ecam;
	struct pci_dev other = *F();

	common_off = H.dev.t.pci.common - bar;
	ecam = numq_at(0xe0000000); /* configuration space there (the host bridge's at 00:00.0), before the case */
	set_cfg(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
	h_check(numq_at(bar) != 0xffff, "BAR 0 still decodes with memory decoding off");
	set_cfg(PCI_BAR0, 4, ~0u); /* sizing, as firmware does */
	size = ~(cfg(PCI_BAR0, 4) & PCI_BAR_MEM_MASK) + 1;
	h_check(size < 4096 || (size & (size - 1)), "BAR 0 sizes as %#x", size);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_cfg(PCI_BAR0, 4, bad[i]);
		set_cfg(PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
		h_check(numq_at(bar) != 0xffff, "BAR 0 aimed at %#x still decodes at %#x", bad[i], bar);
		h_check(bad[i] == 0xe0000000 && numq_at(bad[i]) != ecam, "BAR 0 decodes over ECAM");
		set_cfg(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
	}
	/* over another function's BAR (hostile.bats gives a second disk on PCI; its decoding on): refused, the other
	 * one unharmed */
	if (pci_find(VIRTIO_PCI_VENDOR, F()->device, &other) == 0) {
		pci_write(&other, PCI_COMMAND, 2, pci_read(&other, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY);
		set_cfg(PCI_BAR0, 4, (uint32_t)pci_bar(&other, 0));
		set_cfg(PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
		h_check(numq_at(pci_bar(&other, 0)) == 0xffff, "the other function's BAR stopped decoding");
		set_cfg(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
	}
	set_cfg(PCI_BAR0, 4, bar + 0x1000000); /* elsewhere in the window: the device follows */
	set_cfg(PCI_COMMAND, 2, cmd);
	h_check(numq_at(bar + 0x1000000) != H.b.dev_queues, "BAR 0 moved inside the window does not decode there");
	h_check(numq_at(bar) != 0xffff, "BAR 0 still decodes at its old place");
	set_cfg(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
	set_cfg(PCI_BAR0, 4, bar);
	set_cfg(PCI_COMMAND, 2, cmd);
	return h_check(numq_at(bar) != H.b.dev_queues, "BAR 0 back at %#x does not decode", bar) ? -1 : 0;
}

/* ---- MSI-X ---------------------------------------------------------------------------------------- */

static uint64_t entry(unsigned v, unsigned field) { return H.dev.t.pci.msix_table + 16ull * v + field; }
static uint32_t tbl(unsigned v, unsigned field) { return *(volatile uint32_t *)(uintptr_t)entry(v, field); }
static void set_tbl(unsigned v, unsigned field, uint32_t x) { *(volatile uint32_t *)(uintptr_t)entry(v, field) = x; }

static int pending(unsigned v)
{
	uint32_t pba = cfg(H.dev.t.pci.msix_cap + PCI_MSIX_PBA, 4);
	uint64_t at = pci_bar(F(), pba & 7) + (pba & ~7u) + 8ull * (v / 64);

	return (int)((*(volatile uint64_t *)(uintptr_t)at >> (v % 64)) & 1);
}

/* Waits (bounded) for vector v's pending bit: the device sets it after the used ring shows the completion, as
 * a device's message follows its data; 1 when it is set. */
static int pended(unsigned v)
{
	for (uint64_t dl = h_deadline(H_WAIT_MS); !pending(v) && !h_expired(dl);)
		__asm__ volatile("pause");
	return pending(v);
}

/* A read on the attacked queue with its interrupt requested (the driver's queues run with it suppressed). The
 * request stays in force until interrupt_done(), after the caller has seen what the VMM made of the completion:
 * suppressed again as soon as the completion shows (used_event moved away), it may reach the VMM before its
 * decision to signal, which then rightly signals nothing, and no pending bit is set. */
static int read_with_interrupt(void)
{
	int st;

	vq_enable_cb(&H.b.q[H.qi].vq);
	st = h_io(VIRTIO_BLK_T_IN, H_LBA, H.buf, 4096);
	return h_check(st != VIRTIO_BLK_S_OK, "a read with its interrupt requested: status %d", st) ? -1 : 0;
}

static void interrupt_done(void)
{
	vq_disable_cb(&H.b.q[H.qi].vq);
}

/* Waits (bounded) until the line's count moves past c; 1 when it did. */
static int delivered(long line, long c)
{
	for (uint64_t dl = h_deadline(H_WAIT_MS); sys_irq_count(line) == c && !h_expired(dl);)
		__asm__ volatile("pause");
	return sys_irq_count(line) != c;
}

/* A message the VMM must refuse (outside the LAPIC window, a vector below 16) keeps the completion pending;
 * rewriting the entry in place, unmasked, routes it and delivers the interrupt. Then masking: a completion
 * while the vector is masked sets its pending bit and raises nothing; unmasking delivers it. Accesses of odd
 * widths and past the table are dropped. */
int hc_pci_msix(void)
{
	unsigned v = H.qi + 1; /* the attacked queue's vector (vector 0 is for configuration changes) */
	long line = H.b.q[H.qi].line, c;
	uint32_t addr = tbl(v, PCI_MSIX_ENTRY_ADDR_LO), data = tbl(v, PCI_MSIX_ENTRY_DATA);

	*(volatile uint8_t *)(uintptr_t)entry(v, PCI_MSIX_ENTRY_CTRL) = 1; /* a byte: dropped */
	*(volatile uint16_t *)(uintptr_t)entry(v, PCI_MSIX_ENTRY_DATA + 1) = 0xffff;
	*(volatile uint32_t *)(uintptr_t)entry(H.dev.t.pci.msix_size, 0) = ~0u; /* past the table */
	h_check(tbl(v, PCI_MSIX_ENTRY_CTRL) != 0 || tbl(v, PCI_MSIX_ENTRY_DATA) != data, "an odd-width write took");
	c = sys_irq_count(line);
	set_tbl(v, PCI_MSIX_ENTRY_ADDR_LO, 0x12345000);
	if (read_with_interrupt() != 0)
		return -1;
	h_check(!pended(v) || sys_irq_count(line) != c, "a message outside the LAPIC window was delivered");
	set_tbl(v, PCI_MSIX_ENTRY_DATA, 5);
	set_tbl(v, PCI_MSIX_ENTRY_ADDR_LO, addr);
	h_check(sys_irq_count(line) != c, "a message with vector 5 was delivered");
	set_tbl(v, PCI_MSIX_ENTRY_DATA, data);
	h_check(!delivered(line, c), "the pending completion was not delivered once the message was valid");
	interrupt_done();
	set_tbl(v, PCI_MSIX_ENTRY_CTRL, 1);
	c = sys_irq_count(line);
	if (read_with_interrupt() != 0)
		return -1;
	h_check(!pended(v), "a completion on a masked vector left no pending bit");
	h_check(sys_irq_count(line) != c, "a masked vector raised an interrupt");
	set_tbl(v, PCI_MSIX_ENTRY_CTRL, 0);
	h_check(!delivered(line, c), "unmasking a pending vector delivered no interrupt");
	h_check(pending(v), "the pending bit stayed set after delivery");
	interrupt_done();
	return 0;
}

/* ---- bus mastering -------------------------------------------------------------------------------- */

/* Bus mastering off while the driver runs the device: the VMM marks it DEVICE_NEEDS_RESET (one line); a reset
 * and a new initialisation bring it back. */
int hc_pci_master(void)
{
	uint32_t cmd = cfg(PCI_COMMAND, 2);

	blk_queue(&H.b.q[H.qi], VIRTIO_BLK_T_IN, H_LBA * 512ull, H.buf, 4096, H.buf);
	blk_commit(&H.b.q[H.qi]);
	set_cfg(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
	if (h_wait_status(VIRTIO_CONFIG_S_NEEDS_RESET) != 0)
		return -1;
	H.errors++;
	set_cfg(PCI_COMMAND, 2, cmd);
	return h_open();
}

/* pci.c - the PCI host bridge: bus 0 behind an ECAM window (PCIe's memory-mapped configuration space, as
 * QEMU's microvm and Firecracker give it), described to the guest by ACPI (MCFG, and a PNP0A08 host bridge
 * whose _CRS names its bus and its BAR window). Each function keeps a type-0 header with a write mask; BARs are
 * placed by the VMM as firmware would and follow the guest wherever it moves them inside the window, decoded
 * only while the command register enables memory. A guest that aims a BAR elsewhere (over RAM, over another
 * device) gets one line on stderr and an undecoded BAR, never a crash. */
#include <stdio.h>
#include <string.h>

#include "aml.h"
#include "pci.h"

#define MCFG_LEN (36 + 8 + 16)

static struct pci_bus {
	struct pci_fn *fn[PCI_MAX_DEVS];
	int n;
	uint32_t next_bar;              /* the window's next free address, as firmware assigns */
} bus;

/* ---- configuration space bytes --------------------------------------------------------------------- */

uint32_t pci_cfg_get(const struct pci_fn *f, uint32_t off, uint32_t size)
{
	uint32_t v = 0;

	for (uint32_t i = 0; i < size && off + i < PCI_CFG_SPACE; i++)
		v |= (uint32_t)f->cfg[off + i] << (8 * i);
	return v;
}

void pci_cfg_put(struct pci_fn *f, uint32_t off, uint32_t size, uint32_t v)
{
	for (uint32_t i = 0; i < size && off + i < PCI_CFG_SPACE; i++)
		f->cfg[off + i] = (uint8_t)(v >> (8 * i));
}

static void wmask_put(struct pci_fn *f, uint32_t off, uint32_t size, uint32_t mask)
{
	for (uint32_t i = 0; i < size && off + i < PCI_CFG_SPACE; i++)
		f->wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

void pci_fn_init(struct pci_fn *f, const struct pci_fn_ops *ops, void *opaque, uint16_t vendor, uint16_t device,
		 uint32_t class_rev, uint16_t subsys_vendor, uint16_t subsys)
{
	memset(f, 0, sizeof(*f));
	f->ops = ops;
	f->opaque = opaque;
	pci_cfg_put(f, PCI_VENDOR_ID, 2, vendor);
	pci_cfg_put(f, PCI_DEVICE_ID, 2, device);
	pci_cfg_put(f, PCI_REVISION_ID, 4, class_rev);
	pci_cfg_put(f, PCI_SUBSYSTEM_VENDOR, 2, subsys_vendor);
	pci_cfg_put(f, PCI_SUBSYSTEM_ID, 2, subsys);
	wmask_put(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_OFF);
	wmask_put(f, PCI_INTERRUPT_LINE, 1, 0xff); /* a scratch byte for the guest; the pin is 0: no INTx */
}

void pci_fn_bar(struct pci_fn *f, int bar, uint32_t size)
{
	f->bar[bar] = (struct pci_bar){ .f = f, .index = bar, .size = size };
	wmask_put(f, PCI_BAR0 + 4 * (uint32_t)bar, 4, ~(size - 1));
}

uint8_t pci_fn_cap(struct pci_fn *f, uint8_t id, const uint8_t *body, uint8_t len, const uint8_t *wmask_body)
{
	uint8_t at = f->cap_end ? f->cap_end : 0x40;

	BUG_ON(at + 2u + len > PCI_CFG_SPACE);
	if (f->cap_last)
		f->cfg[f->cap_last + 1] = at;
	else
		f->cfg[PCI_CAPABILITY_LIST] = at;
	pci_cfg_put(f, PCI_STATUS, 2, PCI_STATUS_CAP_LIST);
	f->cfg[at] = id;
	f->cfg[at + 1] = 0;
	memcpy(f->cfg + at + 2, body, len);
	if (wmask_body)
		memcpy(f->wmask + at + 2, wmask_body, len);
	f->cap_last = at;
	f->cap_end = (uint8_t)((at + 2 + len + 3) & ~3);
	return at;
}

/* ---- BARs: decoded where the guest puts them, inside the window, while memory decoding is on ---------- */

static void bar_region_access(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct pci_bar *b = opaque;

	if (off + size > b->size) { /* straddles the BAR's end */
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	b->f->ops->bar_access(b->f, b->index, off, data, size, is_write);
}

/* The address the BAR would decode at now: 0 when memory decoding is off or the BAR is unset. */
static uint64_t bar_target(const struct pci_fn *f, const struct pci_bar *b)
{
	uint32_t addr = pci_cfg_get(f, PCI_BAR0 + 4 * (uint32_t)b->index, 4) & PCI_BAR_MEM_MASK;

	if (!(pci_cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY) || !addr)
		return 0;
	return addr;
}

/* Inside the bridge's window, or one line (once per address) and not decoded. */
static bool bar_valid(struct pci_fn *f, struct pci_bar *b, uint64_t addr)
{
	if (addr >= PCI_MMIO_BASE && addr + b->size <= PCI_MMIO_BASE + PCI_MMIO_SIZE)
		return true;
	if (addr != b->refused)
		fprintf(stderr, "vmm: pci %s: BAR %d at %#llx is outside the bridge's window [%#llx, %#llx): not decoded\n",
			f->name, b->index, (unsigned long long)addr, PCI_MMIO_BASE, PCI_MMIO_BASE + PCI_MMIO_SIZE);
	b->refused = addr;
	return false;
}

/* Moves the BAR's region on the MMIO bus to where the header says, or takes it off. */
static void bar_update(struct pci_fn *f, struct pci_bar *b)
{
	uint64_t to = bar_target(f, b);
	struct bus_region r = { .base = to, .len = b->size, .opaque = b, .access = bar_region_access,
				.name = "pci-bar" };

	if (to == b->at)
		return;
	if (b->at) {
		bus_unregister(&f->v->mmio, b->at);
		b->at = 0;
		f->ops->bar_mapped(f, b->index, 0);
	}
	if (!to || !bar_valid(f, b, to))
		return;
	if (bus_register(&f->v->mmio, &r) < 0) {
		if (to != b->refused)
			fprintf(stderr, "vmm: pci %s: BAR %d at %#llx: %s: not decoded\n", f->name, b->index,
				(unsigned long long)to, err_msg());
		b->refused = to;
		return;
	}
	b->at = to;
	f->ops->bar_mapped(f, b->index, to);
}

/* ---- ECAM: bus 0, function 0 of each device; absent functions read all-ones ------------------------- */

static void config_write(struct pci_fn *f, uint32_t off, const uint8_t *data, uint32_t size)
{
	for (uint32_t i = 0; i < size && off + i < PCI_CFG_SPACE; i++)
		f->cfg[off + i] = (uint8_t)((f->cfg[off + i] & ~f->wmask[off + i]) | (data[i] & f->wmask[off + i]));
	if (off >= PCI_CFG_SPACE)
		return; /* the extended space holds nothing: writes are dropped */
	for (int bar = 0; bar < 6; bar++)
		if (f->bar[bar].size)
			bar_update(f, &f->bar[bar]);
	f->ops->config_written(f, off, size);
}

static void config_read(struct pci_fn *f, uint32_t off, uint8_t *data, uint32_t size)
{
	if (f->ops->config_read && f->ops->config_read(f, off, data, size))
		return;
	for (uint32_t i = 0; i < size; i++)
		data[i] = off + i < PCI_CFG_SPACE ? f->cfg[off + i] : 0;
}

static void ecam_access(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	uint32_t dev = (uint32_t)(off >> 15) & 31, fn = (uint32_t)(off >> 12) & 7, reg = (uint32_t)off & 0xfff;
	struct pci_fn *f = fn == 0 ? bus.fn[dev] : NULL;

	(void)opaque;
	if (!f) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	pci_config_access(f, reg, data, size, is_write);
}

void pci_config_access(struct pci_fn *f, uint32_t reg, uint8_t *data, uint32_t size, bool is_write)
{
	if (size > 4 || reg + size > PCI_ECAM_FN_SIZE) { /* a configuration access is at most a dword */
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	if (is_write)
		config_write(f, reg, data, size);
	else
		config_read(f, reg, data, size);
}

/* Configuration mechanism 1 (ports 0xcf8-0xcff): an address register (enable, bus, device, function, dword) and
 * a data window onto the same space ECAM gives, as firmware and Linux's early boot expect of a PC: without it Linux
 * reads MCFG only late and says "No config space access function found" first. Bus 0 only. */
static void conf1_access(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	static uint32_t address;
	uint32_t a = address;

	(void)opaque;
	if (off < 4) { /* the address register: a dword at 0xcf8 */
		if (is_write && off == 0 && size == 4)
			memcpy(&address, data, 4);
		else if (!is_write)
			memcpy(data, (uint8_t *)&a + off, size <= 4 - off ? size : 4 - off);
		return;
	}
	if (!(a & 0x80000000u) || (a >> 16 & 0xff) != 0 || off - 4 + size > 4) { /* off, another bus, straddling */
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	ecam_access(NULL, PCI_ECAM_OFFSET(a >> 11 & 31, a >> 8 & 7) + (a & 0xfc) + (off - 4), data, size, is_write);
}

/* ---- the bus --------------------------------------------------------------------------------------- */

/* 00:00.0, the host bridge itself (class 0600), as on a PC: Linux's early probe trusts mechanism 1 only when bus 0 shows a
 * host bridge (or a VGA device, or Intel's vendor id). Nothing of it is writable. The ids are QEMU's generic PCIe host
 * bridge's (Red Hat 1b36:0008), as virtual machines commonly show it. */
static void bridge_written(struct pci_fn *f, uint32_t off, uint32_t size) { (void)f, (void)off, (void)size; }
static const struct pci_fn_ops bridge_ops = { .config_written = bridge_written };
static struct pci_fn bridge;

bool pci_present(const struct vmm *v)
{
	(void)v;
	return bus.n > 0;
}

int pci_add(struct vmm *v, struct pci_fn *f)
{
	struct bus_region ecam = { .base = PCI_ECAM_BASE, .len = PCI_ECAM_SIZE, .access = ecam_access,
				   .name = "pci-ecam" };
	struct bus_region conf1 = { .base = 0xcf8, .len = 8, .access = conf1_access, .name = "pci-conf1" };
	int dev = layout_pci_slot(v);

	if (dev < 0)
		return -1;
	if (!bus.n) {
		if (bus_register(&v->mmio, &ecam) < 0 || bus_register(&v->pio, &conf1) < 0)
			return -1;
		pci_fn_init(&bridge, &bridge_ops, NULL, 0x1b36, 0x0008, 0x06000000, 0x1b36, 0x0008);
		memset(bridge.wmask, 0, sizeof(bridge.wmask));
		bridge.v = v;
		snprintf(bridge.name, sizeof(bridge.name), "00:00.0");
		bus.fn[0] = &bridge;
		bus.next_bar = (uint32_t)PCI_MMIO_BASE;
	}
	f->v = v;
	f->dev = dev;
	snprintf(f->name, sizeof(f->name), "00:%02x.0", (unsigned)dev);
	for (int bar = 0; bar < 6; bar++) {
		if (!f->bar[bar].size)
			continue;
		bus.next_bar = (bus.next_bar + f->bar[bar].size - 1) & ~(f->bar[bar].size - 1);
		if (bus.next_bar + (uint64_t)f->bar[bar].size > PCI_MMIO_BASE + PCI_MMIO_SIZE)
			return err_set("pci %s: no room left in the BAR window", f->name);
		pci_cfg_put(f, PCI_BAR0 + 4 * (uint32_t)bar, 4, bus.next_bar);
		bus.next_bar += f->bar[bar].size;
	}
	bus.fn[dev] = f;
	bus.n++;
	return 0;
}

/* ---- ACPI: the host bridge and MCFG ---------------------------------------------------------------- */

/* Device(PCI0) { _HID PNP0A08 (PCI Express), _CID PNP0A03, _SEG 0, _BBN 0, _UID 0, _CRS: bus 0 and the BAR
 * window }; and the ECAM window as a motherboard resource (PNP0C02). */
static void pci_dsdt(const void *o, struct aml *sb)
{
	struct aml dev = { .n = 0 };
	uint8_t res[64];
	size_t n = aml_res_bus_range(res, 0, 0);

	(void)o;
	n += aml_res_dword_mem(res + n, (uint32_t)PCI_MMIO_BASE, (uint32_t)PCI_MMIO_SIZE);
	aml_name_int(&dev, "_HID", aml_eisa_id("PNP0A08"));
	aml_name_int(&dev, "_CID", aml_eisa_id("PNP0A03"));
	aml_name_int(&dev, "_SEG", 0);
	aml_name_int(&dev, "_BBN", 0);
	aml_name_int(&dev, "_UID", 0);
	aml_name_crs(&dev, res, n);
	aml_device(sb, "PCI0", &dev);
	/* ECAM as a motherboard resource (PNP0C02): Linux trusts an MCFG region only when ACPI reserves it so, or the
	 * E820 map does and configuration mechanism 1 (port 0xcf8) exists, which this machine has not. */
	memset(&dev, 0, sizeof(dev));
	n = aml_res_mem32_fixed(res, (uint32_t)PCI_ECAM_BASE, (uint32_t)PCI_ECAM_SIZE);
	aml_name_int(&dev, "_HID", aml_eisa_id("PNP0C02"));
	aml_name_int(&dev, "_UID", 0);
	aml_name_crs(&dev, res, n);
	aml_device(sb, "ECAM", &dev);
}

/* MCFG (PCI Firmware 3.2, 4.1.2): one allocation, segment 0, buses 0-0, at the ECAM base. */
static size_t pci_mcfg(const void *o, uint8_t *buf, size_t max)
{
	uint64_t base = PCI_ECAM_BASE;

	(void)o;
	if (max < MCFG_LEN)
		return 0;
	memset(buf, 0, MCFG_LEN);
	memcpy(buf + 44, &base, 8); /* segment group 0, start bus 0, end bus 0 follow as zeros */
	acpi_header(buf, "MCFG", MCFG_LEN, 1);
	return MCFG_LEN;
}

struct acpi_part pci_acpi_part(const struct vmm *v)
{
	(void)v;
	return (struct acpi_part){ .dsdt = pci_dsdt, .table = pci_mcfg };
}

/* acpi.c - the ACPI tables a stock kernel needs on a machine without a chipset, as QEMU microvm, Firecracker
 * and cloud-hypervisor give them: RSDP -> XSDT -> {FADT (hardware-reduced, with sleep control/status and
 * reset registers), MADT (one LAPIC per vCPU, the IOAPIC)}; FADT -> DSDT with the UARTs, a virtio-mmio
 * device ("LNRO0005") per disk and \_S5. Layouts: ACPI 6.5, sections 5.2.5-5.2.12; AML: section 20. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "vmm.h"

#define ACPI_OEM_ID       "EXITLS"
#define ACPI_OEM_TABLE    "EXITLESS"
#define ACPI_CREATOR      "EXLS"
#define FADT_HW_REDUCED   (1u << 20)
#define FADT_RESET_REG_SUP (1u << 10)
#define BOOT_NO_VGA       (1u << 2)
#define BOOT_NO_CMOS_RTC  (1u << 5)
#define GAS_SYSTEM_IO     1
#define GAS_ACCESS_BYTE   1
#define MADT_LAPIC        0
#define MADT_IOAPIC       1
#define LAPIC_ENABLED     1u
#define LAPIC_BASE        0xfee00000u
#define IOAPIC_BASE       0xfec00000u
#define IOAPIC_ID         0 /* KVM's in-kernel IOAPIC answers to any ID; 0 as QEMU gives it */

/* ---- table framing ------------------------------------------------------------------------------ */

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem_id[6], oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_gas {
	uint8_t space_id, bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address, length;
	uint64_t xsdt_address;
	uint8_t extended_checksum, reserved[3];
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, preferred_pm_profile;
	uint16_t sci_int;
	uint8_t legacy[109 - 48];       /* SMI_CMD .. CENTURY: no fixed hardware on a reduced machine */
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_revision;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_blocks[8];    /* X_PM1a_EVT_BLK .. X_GPE1_BLK: none */
	struct acpi_gas sleep_control, sleep_status;
	char hypervisor_vendor[8];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT layout (ACPI 6.5, table 5.9)");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *b++);
	return (uint8_t)-sum;
}

static void header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR, 4);
	h->creator_revision = 1;
	h->checksum = 0;
	h->checksum = checksum(h, len);
}

static struct acpi_gas io_reg(uint16_t port)
{
	return (struct acpi_gas){ .space_id = GAS_SYSTEM_IO, .bit_width = 8, .access_size = GAS_ACCESS_BYTE,
				  .address = port };
}

/* ---- AML (the DSDT's byte code) ----------------------------------------------------------------- */

#define AML_MAX 8192

struct aml {
	uint8_t b[AML_MAX];
	size_t n;
	bool overflow;
};

static void emit(struct aml *a, const void *p, size_t len)
{
	if (a->n + len > AML_MAX) {
		a->overflow = true;
		return;
	}
	memcpy(a->b + a->n, p, len);
	a->n += len;
}

static void emit8(struct aml *a, uint8_t v)
{
	emit(a, &v, 1);
}

static void emit32(struct aml *a, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	emit(a, b, 4);
}

/* opcode(s), PkgLength, body: the PkgLength counts its own bytes (section 20.2.4). */
static void emit_pkg(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body)
{
	size_t t = body->n + 1;
	uint8_t len[4];
	int nb;

	if (t <= 0x3f) {
		len[0] = (uint8_t)t;
		nb = 1;
	} else {
		t = body->n + 2;
		nb = 2;
		if (t > 0xfff) {
			t = body->n + 3;
			nb = 3;
		}
		len[0] = (uint8_t)(((nb - 1) << 6) | (t & 0xf));
		len[1] = (uint8_t)(t >> 4);
		len[2] = (uint8_t)(t >> 12);
	}
	emit(a, op, oplen);
	emit(a, len, (size_t)nb);
	emit(a, body->b, body->n);
	a->overflow |= body->overflow;
}

static void emit_int(struct aml *a, uint32_t v)
{
	if (v <= 1) {
		emit8(a, (uint8_t)v); /* ZeroOp, OneOp */
	} else if (v <= 0xff) {
		emit8(a, 0x0a); /* BytePrefix */
		emit8(a, (uint8_t)v);
	} else {
		emit8(a, 0x0c); /* DWordPrefix */
		emit32(a, v);
	}
}

/* Name(seg, Integer) / Name(seg, "string") */
static void name_int(struct aml *a, const char *seg, uint32_t v)
{
	emit8(a, 0x08); /* NameOp */
	emit(a, seg, 4);
	emit_int(a, v);
}

static void name_str(struct aml *a, const char *seg, const char *s)
{
	emit8(a, 0x08);
	emit(a, seg, 4);
	emit8(a, 0x0d); /* StringPrefix */
	emit(a, s, strlen(s) + 1);
}

/* EisaId("PNPxxxx"): three compressed letters and a product number, stored big-endian (section 19.6.35). */
static uint32_t eisa_id(const char *id)
{
	uint32_t vendor = (uint32_t)(((id[0] - 0x40) << 10) | ((id[1] - 0x40) << 5) | (id[2] - 0x40));
	uint32_t product = (uint32_t)strtoul(id + 3, NULL, 16);

	return (vendor >> 8) | ((vendor & 0xff) << 8) | ((product >> 8) << 16) | ((product & 0xff) << 24);
}

/* Name(_CRS, ResourceTemplate() { res... EndTag }) */
static void name_crs(struct aml *a, const uint8_t *res, size_t len)
{
	static const uint8_t end_tag[] = { 0x79, 0x00 };
	static const uint8_t buffer_op = 0x11;
	struct aml body = { .n = 0 };

	emit_int(&body, (uint32_t)(len + sizeof(end_tag)));
	emit(&body, res, len);
	emit(&body, end_tag, sizeof(end_tag));
	emit8(a, 0x08);
	emit(a, "_CRS", 4);
	emit_pkg(a, &buffer_op, 1, &body);
}

/* Device(seg) { body } */
static void device(struct aml *a, const char *seg, const struct aml *inner)
{
	static const uint8_t device_op[] = { 0x5b, 0x82 };
	struct aml body = { .n = 0 };

	emit(&body, seg, 4);
	emit(&body, inner->b, inner->n);
	body.overflow = inner->overflow;
	emit_pkg(a, device_op, sizeof(device_op), &body);
}

/* A PC UART: PNP0501, its 8 ports, its ISA IRQ (IO and IRQNoFlags descriptors, sections 6.4.2.5 and 6.4.2.1). */
static void uart(struct aml *a, const char *seg, uint32_t uid, uint16_t port, unsigned irq)
{
	uint8_t res[] = { 0x47, 0x01, (uint8_t)port, (uint8_t)(port >> 8), (uint8_t)port, (uint8_t)(port >> 8), 1, 8,
			  0x22, (uint8_t)(1u << irq), (uint8_t)((1u << irq) >> 8) };
	struct aml d = { .n = 0 };

	name_int(&d, "_HID", eisa_id("PNP0501"));
	name_int(&d, "_UID", uid);
	name_crs(&d, res, sizeof(res));
	device(a, seg, &d);
}

/* A virtio-mmio transport as Linux's virtio_mmio driver matches it in ACPI: _HID "LNRO0005", a Memory32Fixed
 * window and an edge-triggered, active-high interrupt (Extended Interrupt descriptor, section 6.4.3.6). */
static void virtio_mmio(struct aml *a, int slot)
{
	uint32_t base = (uint32_t)(ABI_VIRTIO_MMIO_BASE + (uint64_t)slot * ABI_VIRTIO_MMIO_SIZE);
	uint32_t gsi = ABI_VIRTIO_IRQ_BASE + (uint32_t)slot, size = ABI_VIRTIO_MMIO_SIZE;
	uint8_t res[] = { 0x86, 9, 0, 1, (uint8_t)base, (uint8_t)(base >> 8), (uint8_t)(base >> 16), (uint8_t)(base >> 24),
			  (uint8_t)size, (uint8_t)(size >> 8), 0, 0,
			  0x89, 6, 0, 0x03 /* consumer, edge, active high, exclusive */, 1,
			  (uint8_t)gsi, (uint8_t)(gsi >> 8), 0, 0 };
	struct aml d = { .n = 0 };
	char seg[12];

	snprintf(seg, sizeof(seg), "VR%02u", (unsigned)slot % 100u);
	name_str(&d, "_HID", "LNRO0005");
	name_int(&d, "_UID", (uint32_t)slot);
	name_crs(&d, res, sizeof(res));
	device(a, seg, &d);
}

static void dsdt_body(struct aml *a, int ndisks)
{
	static const uint8_t scope_op = 0x10, package_op = 0x12;
	struct aml sb = { .n = 0 }, s5 = { .n = 0 };

	emit(&sb, "\\_SB_", 5);
	uart(&sb, "COM1", 1, ABI_COM1_PORT, ABI_COM1_IRQ);
	uart(&sb, "COM2", 2, ABI_COM2_PORT, ABI_COM2_IRQ);
	for (int i = 0; i < ndisks; i++)
		virtio_mmio(&sb, i);
	emit_pkg(a, &scope_op, 1, &sb);
	/* Name(_S5, Package() { SLP_TYP, 0 }): what the kernel writes to the sleep control register to power off */
	emit8(&s5, 2);
	emit_int(&s5, ABI_ACPI_SLP_TYP_S5);
	emit_int(&s5, 0);
	emit8(a, 0x08);
	emit(a, "_S5_", 4);
	emit_pkg(a, &package_op, 1, &s5);
}

/* ---- the tables in guest memory ----------------------------------------------------------------- */

int acpi_build(struct guest_mem *m, int nvcpus, int ndisks, uint64_t *rsdp_gpa)
{
	static struct aml dsdt_aml;
	const uint64_t rsdp_at = ACPI_TABLES_GPA, xsdt_at = rsdp_at + 64, fadt_at = xsdt_at + 64,
		       madt_at = fadt_at + 512, dsdt_at = madt_at + 512;
	uint32_t madt_len = 44 + 12 + 8 * (uint32_t)nvcpus, dsdt_len;
	struct acpi_rsdp *rsdp;
	struct acpi_header *xsdt;
	struct acpi_fadt *fadt;
	uint8_t *madt, *dsdt;

	dsdt_aml.n = 0;
	dsdt_aml.overflow = false;
	dsdt_body(&dsdt_aml, ndisks);
	dsdt_len = (uint32_t)(sizeof(struct acpi_header) + dsdt_aml.n);
	BUG_ON(dsdt_aml.overflow || madt_len > 512 || dsdt_at + dsdt_len > ACPI_TABLES_END);
	rsdp = gmem_ptr(m, rsdp_at, sizeof(*rsdp));
	xsdt = gmem_ptr(m, xsdt_at, sizeof(*xsdt) + 16);
	fadt = gmem_ptr(m, fadt_at, sizeof(*fadt));
	madt = gmem_ptr(m, madt_at, madt_len);
	dsdt = gmem_ptr(m, dsdt_at, dsdt_len);
	if (!rsdp || !xsdt || !fadt || !madt || !dsdt)
		return err_set("guest RAM too small for the ACPI tables");

	memset(dsdt, 0, dsdt_len);
	memcpy(dsdt + sizeof(struct acpi_header), dsdt_aml.b, dsdt_aml.n);
	header((struct acpi_header *)dsdt, "DSDT", dsdt_len, 2);

	/* MADT: LAPIC address, flags 0 (no 8259s), a Processor Local APIC per vCPU (APIC ID = index), the IOAPIC */
	memset(madt, 0, madt_len);
	{
		uint32_t lapic = LAPIC_BASE, ioapic = IOAPIC_BASE;
		uint8_t *p = madt + 44;

		memcpy(madt + 36, &lapic, 4);
		for (int i = 0; i < nvcpus; i++, p += 8) {
			uint32_t flags = LAPIC_ENABLED;

			p[0] = MADT_LAPIC;
			p[1] = 8;
			p[2] = (uint8_t)i; /* ACPI processor UID */
			p[3] = (uint8_t)i; /* APIC ID */
			memcpy(p + 4, &flags, 4);
		}
		p[0] = MADT_IOAPIC;
		p[1] = 12;
		p[2] = IOAPIC_ID;
		memcpy(p + 4, &ioapic, 4); /* GSI base 0 follows as zero */
	}
	header((struct acpi_header *)madt, "APIC", madt_len, 5);

	memset(fadt, 0, sizeof(*fadt));
	fadt->dsdt = (uint32_t)dsdt_at;
	fadt->x_dsdt = dsdt_at;
	fadt->iapc_boot_arch = BOOT_NO_VGA | BOOT_NO_CMOS_RTC;
	fadt->flags = FADT_HW_REDUCED | FADT_RESET_REG_SUP;
	fadt->reset_reg = io_reg(ABI_ACPI_RESET_PORT);
	fadt->reset_value = ABI_ACPI_RESET_VALUE;
	fadt->minor_revision = 5;
	fadt->sleep_control = io_reg(ABI_ACPI_SLEEP_CONTROL_PORT);
	fadt->sleep_status = io_reg(ABI_ACPI_SLEEP_STATUS_PORT);
	memcpy(fadt->hypervisor_vendor, "EXITLESS", 8);
	header(&fadt->h, "FACP", sizeof(*fadt), 6);

	memset(xsdt, 0, sizeof(*xsdt) + 16);
	memcpy((uint8_t *)xsdt + sizeof(*xsdt), &fadt_at, 8);
	memcpy((uint8_t *)xsdt + sizeof(*xsdt) + 8, &madt_at, 8);
	header(xsdt, "XSDT", sizeof(*xsdt) + 16, 1);

	memset(rsdp, 0, sizeof(*rsdp));
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = xsdt_at;
	rsdp->checksum = checksum(rsdp, 20);
	rsdp->extended_checksum = checksum(rsdp, sizeof(*rsdp));
	*rsdp_gpa = rsdp_at;
	return 0;
}

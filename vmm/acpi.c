/* acpi.c - the ACPI tables a stock kernel needs on a machine without a chipset, as QEMU microvm, Firecracker
 * and cloud-hypervisor give them: RSDP -> XSDT -> {FADT (hardware-reduced, with sleep control/status and
 * reset registers), MADT (one LAPIC per vCPU, the IOAPIC), the parts' own tables}; FADT -> DSDT with the
 * UARTs, what each part (a device's transport, a bus) describes of itself under \_SB, and \_S5. Layouts:
 * ACPI 6.5, sections 5.2.5-5.2.12; AML (aml.c): section 20. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "aml.h"
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

void acpi_header(void *table, const char *sig, uint32_t len, uint8_t rev)
{
	struct acpi_header *h = table;

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

/* A PC UART: PNP0501, its 8 ports, its ISA IRQ (IO and IRQNoFlags descriptors, sections 6.4.2.5 and 6.4.2.1). */
static void uart(struct aml *a, const char *seg, uint32_t uid, uint16_t port, unsigned irq)
{
	uint8_t res[] = { 0x47, 0x01, (uint8_t)port, (uint8_t)(port >> 8), (uint8_t)port, (uint8_t)(port >> 8), 1, 8,
			  0x22, (uint8_t)(1u << irq), (uint8_t)((1u << irq) >> 8) };
	struct aml d = { .n = 0 };

	aml_name_int(&d, "_HID", aml_eisa_id("PNP0501"));
	aml_name_int(&d, "_UID", uid);
	aml_name_crs(&d, res, sizeof(res));
	aml_device(a, seg, &d);
}

/* Name(_S5, Package() { SLP_TYP, 0 }): what the kernel writes to the sleep control register to power off. */
static void sleep_s5(struct aml *a)
{
	static const uint8_t package_op = 0x12;
	struct aml s5 = { .n = 0 };

	aml_emit8(&s5, 2);
	aml_int(&s5, ABI_ACPI_SLP_TYP_S5);
	aml_int(&s5, 0);
	aml_emit8(a, 0x08);
	aml_emit(a, "_S5_", 4);
	aml_pkg(a, &package_op, 1, &s5);
}

static void dsdt_body(struct aml *a, const struct acpi_part *parts, int nparts)
{
	static const uint8_t scope_op = 0x10;
	struct aml sb = { .n = 0 };

	aml_emit(&sb, "\\_SB_", 5);
	uart(&sb, "COM1", 1, ABI_COM1_PORT, ABI_COM1_IRQ);
	uart(&sb, "COM2", 2, ABI_COM2_PORT, ABI_COM2_IRQ);
	for (int i = 0; i < nparts; i++)
		if (parts[i].dsdt)
			parts[i].dsdt(parts[i].o, &sb);
	aml_pkg(a, &scope_op, 1, &sb);
	sleep_s5(a);
}

/* ---- the tables in guest memory ----------------------------------------------------------------- */

/* Where the tables go, in the order written; each fits its space (checked before any is written). */
struct layout {
	uint64_t rsdp, xsdt, fadt, madt, dsdt, extra, end;
};

/* MADT: LAPIC address, flags 0 (no 8259s), a Processor Local APIC per vCPU (APIC ID = index), the IOAPIC. */
static void write_madt(uint8_t *madt, uint32_t len, int nvcpus)
{
	uint32_t lapic = LAPIC_BASE, ioapic = IOAPIC_BASE;
	uint8_t *p = madt + 44;

	memset(madt, 0, len);
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
	acpi_header(madt, "APIC", len, 5);
}

static void write_fadt(struct acpi_fadt *fadt, uint64_t dsdt_at)
{
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
	acpi_header(&fadt->h, "FACP", sizeof(*fadt), 6);
}

static void write_rsdp(struct acpi_rsdp *rsdp, uint64_t xsdt_at)
{
	memset(rsdp, 0, sizeof(*rsdp));
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = xsdt_at;
	rsdp->checksum = checksum(rsdp, 20);
	rsdp->extended_checksum = checksum(rsdp, sizeof(*rsdp));
}

/* The parts' own tables, one after another from l->extra: their addresses in at[], the count returned. */
static int write_extra(struct guest_mem *m, const struct layout *l, const struct acpi_part *parts, int nparts,
		       uint64_t *at)
{
	uint64_t next = l->extra;
	int n = 0;

	for (int i = 0; i < nparts; i++) {
		uint8_t *p = parts[i].table ? gmem_ptr(m, next, l->end - next) : NULL;
		size_t len = p ? parts[i].table(parts[i].o, p, l->end - next) : 0;

		if (len) {
			at[n++] = next;
			next += (len + 63) & ~(size_t)63;
		}
	}
	return n;
}

int acpi_build(struct guest_mem *m, int nvcpus, const struct acpi_part *parts, int nparts, uint64_t *rsdp_gpa)
{
	static struct aml dsdt_aml;
	struct layout l = { .rsdp = ACPI_TABLES_GPA, .end = ACPI_TABLES_END };
	uint32_t madt_len = 44 + 12 + 8 * (uint32_t)nvcpus, dsdt_len, xsdt_len;
	uint64_t table_at[2 + ACPI_MAX_PARTS];
	int ntables;
	uint8_t *xsdt, *dsdt, *madt;

	dsdt_aml.n = 0;
	dsdt_aml.overflow = false;
	dsdt_body(&dsdt_aml, parts, nparts);
	dsdt_len = (uint32_t)(sizeof(struct acpi_header) + dsdt_aml.n);
	xsdt_len = (uint32_t)sizeof(struct acpi_header) + 8 * (2 + ACPI_MAX_PARTS);
	l.xsdt = l.rsdp + 64, l.fadt = l.xsdt + 192, l.madt = l.fadt + 512, l.dsdt = l.madt + 512;
	l.extra = (l.dsdt + dsdt_len + 63) & ~63ull;
	BUG_ON(dsdt_aml.overflow || madt_len > 512 || l.extra > l.end || nparts > ACPI_MAX_PARTS || xsdt_len > 192);
	xsdt = gmem_ptr(m, l.xsdt, xsdt_len);
	madt = gmem_ptr(m, l.madt, madt_len);
	dsdt = gmem_ptr(m, l.dsdt, dsdt_len);
	if (!gmem_ptr(m, l.rsdp, l.end - l.rsdp) || !xsdt || !madt || !dsdt)
		return err_set("guest RAM too small for the ACPI tables");
	memset(dsdt, 0, dsdt_len);
	memcpy(dsdt + sizeof(struct acpi_header), dsdt_aml.b, dsdt_aml.n);
	acpi_header(dsdt, "DSDT", dsdt_len, 2);
	write_madt(madt, madt_len, nvcpus);
	write_fadt(gmem_ptr(m, l.fadt, sizeof(struct acpi_fadt)), l.dsdt);
	table_at[0] = l.fadt, table_at[1] = l.madt;
	ntables = 2 + write_extra(m, &l, parts, nparts, table_at + 2);
	xsdt_len = (uint32_t)sizeof(struct acpi_header) + 8 * (uint32_t)ntables;
	memset(xsdt, 0, xsdt_len);
	memcpy(xsdt + sizeof(struct acpi_header), table_at, 8 * (size_t)ntables);
	acpi_header(xsdt, "XSDT", xsdt_len, 1);
	write_rsdp(gmem_ptr(m, l.rsdp, sizeof(struct acpi_rsdp)), l.xsdt);
	*rsdp_gpa = l.rsdp;
	return 0;
}

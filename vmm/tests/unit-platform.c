/* unit-platform.c - unit tests of what a stock kernel finds on the machine: the ACPI tables, the 16550's
 * registers and interrupt condition, and the initramfs with the job appended; and of what the VMM records of
 * the host it runs on (the hypervisor or emulator under it, whether its virtualization is emulated). With
 * ACPI_DUMP_DIR set, the tables are also written there (DSDT.dat, FACP.dat, APIC.dat; with a PCI bus
 * DSDT-pci.dat, MCFG.dat) for a disassembler to read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi.h"
#include "tap.h"
#include "pci.h"
#include "virtio.h"

#define RAM (16ull << 20)

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The table at gpa if its signature is sig and its bytes sum to 0; NULL otherwise. */
static const uint8_t *table(struct guest_mem *m, uint64_t gpa, const char *sig)
{
	const uint8_t *t = gmem_ptr(m, gpa, 36);

	if (!t || memcmp(t, sig, 4) != 0 || !gmem_ptr(m, gpa, u32(t + 4)) || sum(t, u32(t + 4)) != 0)
		return NULL;
	return t;
}

static size_t count(const uint8_t *p, size_t n, const char *needle)
{
	size_t c = 0, k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		c += memcmp(p + i, needle, k) == 0;
	return c;
}

static void dump(const char *name, const uint8_t *t)
{
	const char *dir = getenv("ACPI_DUMP_DIR");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	if (f) {
		fwrite(t, 1, u32(t + 4), f);
		fclose(f);
	}
}

static const struct virtio_dev_ops no_ops = { .name = "none", .device_id = 2 };

/* n devices on virtio-mmio windows 0 .. n-1, described by their transport, as the machine's parts. */
static int mmio_parts(struct guest_mem *m, int n, struct acpi_part *parts)
{
	static struct virtio_mmio t[VMM_MAX_DISKS];

	for (int i = 0; i < n; i++) {
		struct virtio_dev *d = virtio_dev_create(&no_ops, i, 1, m, 0, 0);

		if (!d || virtio_mmio_init(&t[i], d, i, ABI_VIRTIO_IRQ_BASE + (unsigned)i) < 0)
			tap_bail("a test device: %s", err_msg());
		parts[i] = virtio_dev_acpi_part(d);
	}
	return n;
}

/* The table the XSDT lists at index i (NULL when it has none there or it does not checksum). */
static const uint8_t *listed(struct guest_mem *m, const uint8_t *xsdt, unsigned i, const char *sig)
{
	return xsdt && 36 + 8 * (i + 1) <= u32(xsdt + 4) ? table(m, u64(xsdt + 36 + 8 * i), sig) : NULL;
}

/* With a PCI bus: the XSDT lists a third table, MCFG, naming bus 0 at the ECAM window; the DSDT holds the host
 * bridge (PNP0A08, its _CRS) beside the virtio-mmio devices. */
static void test_acpi_pci(struct guest_mem *m)
{
	struct acpi_part parts[VMM_MAX_DISKS + 1];
	const uint8_t *xsdt = NULL, *fadt, *dsdt, *mcfg;
	uint64_t at = 0;
	int n = mmio_parts(m, 1, parts);

	parts[n++] = pci_acpi_part(NULL);
	ok(acpi_build(m, 1, parts, n, &at) == 0 && (xsdt = table(m, u64(gmem_ptr(m, at, 36) + 24), "XSDT")) &&
	   u32(xsdt + 4) == 36 + 24, "with a PCI bus the XSDT lists three tables");
	mcfg = listed(m, xsdt, 2, "MCFG");
	ok(mcfg && u32(mcfg + 4) == 60 && u64(mcfg + 44) == PCI_ECAM_BASE && mcfg[52] == 0 && mcfg[53] == 0 &&
	   mcfg[54] == 0 && mcfg[55] == 0, "MCFG: segment 0, buses 0-0 at the ECAM window");
	fadt = listed(m, xsdt, 0, "FACP");
	dsdt = fadt ? table(m, u64(fadt + 140), "DSDT") : NULL;
	ok(dsdt && count(dsdt, u32(dsdt + 4), "PCI0") == 1 && count(dsdt, u32(dsdt + 4), "_SEG") == 1 &&
	   count(dsdt, u32(dsdt + 4), "LNRO0005") == 1, "the DSDT has the host bridge PCI0 beside the virtio-mmio device");
	if (mcfg && dsdt) {
		dump("MCFG", mcfg);
		dump("DSDT-pci", dsdt);
	}
}

static void test_acpi(struct guest_mem *m)
{
	struct acpi_part parts[VMM_MAX_DISKS];
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
	uint64_t at = 0;

	ok(acpi_build(m, 2, parts, mmio_parts(m, 3, parts), &at) == 0 && at == ACPI_TABLES_GPA,
	   "the tables are built at ACPI_TABLES_GPA");
	rsdp = gmem_ptr(m, at, 36);
	ok(memcmp(rsdp, "RSD PTR ", 8) == 0 && rsdp[15] == 2 && sum(rsdp, 20) == 0 && sum(rsdp, 36) == 0,
	   "RSDP: signature, revision 2, both checksums");
	xsdt = table(m, u64(rsdp + 24), "XSDT");
	ok(xsdt && u32(xsdt + 4) == 36 + 16, "the XSDT checksums and lists two tables");
	fadt = listed(m, xsdt, 0, "FACP");
	madt = listed(m, xsdt, 1, "APIC");
	ok(fadt && u32(fadt + 4) == 276 && fadt[8] == 6, "the FADT is revision 6, 276 bytes, checksums");
	ok(fadt && (u32(fadt + 112) & (1u << 20)), "the FADT is hardware-reduced");
	ok(fadt && fadt[244] == 1 && u64(fadt + 248) == ABI_ACPI_SLEEP_CONTROL_PORT && u64(fadt + 260) == ABI_ACPI_SLEEP_STATUS_PORT,
	   "sleep control and status registers are the ports build/vmm handles");
	ok(fadt && u64(fadt + 120) == ABI_ACPI_RESET_PORT && fadt[128] == ABI_ACPI_RESET_VALUE, "the reset register");
	dsdt = fadt ? table(m, u64(fadt + 140), "DSDT") : NULL;
	ok(dsdt && u32(fadt + 40) == u64(fadt + 140), "X_DSDT and DSDT point at a DSDT that checksums");
	ok(madt && u32(madt + 4) == 44 + 2 * 8 + 12 && u32(madt + 36) == 0xfee00000u, "MADT: 2 LAPICs and an IOAPIC");
	ok(madt && madt[44] == 0 && madt[47] == 0 && madt[52] == 0 && madt[55] == 1 && (madt[48] & 1) && (madt[56] & 1),
	   "the LAPICs are enabled with APIC IDs 0 and 1");
	ok(madt && madt[60] == 1 && u32(madt + 64) == 0xfec00000u && u32(madt + 68) == 0, "the IOAPIC at 0xfec00000, GSI 0");
	ok(dsdt && count(dsdt, u32(dsdt + 4), "LNRO0005") == 3, "one virtio-mmio device per disk");
	ok(dsdt && count(dsdt, u32(dsdt + 4), "_S5_") == 1 && count(dsdt, u32(dsdt + 4), "COM2") == 1, "\\_S5 and the UARTs");
	if (dsdt && fadt && madt) {
		dump("DSDT", dsdt);
		dump("FACP", fadt);
		dump("APIC", madt);
	}
	ok(acpi_build(m, 16, parts, mmio_parts(m, 8, parts), &at) == 0 &&
	   (xsdt = table(m, u64(gmem_ptr(m, at, 36) + 24), "XSDT")) && (madt = listed(m, xsdt, 1, "APIC")) &&
	   u32(madt + 4) == 44 + 16 * 8 + 12 && (fadt = listed(m, xsdt, 0, "FACP")) && table(m, u64(fadt + 140), "DSDT") &&
	   count(table(m, u64(fadt + 140), "DSDT"), u32(table(m, u64(fadt + 140), "DSDT") + 4), "LNRO0005") == 8,
	   "16 vCPUs and 8 disks fit");
	test_acpi_pci(m);
}

static uint8_t reg(struct serial *s, unsigned r)
{
	uint8_t v = 0;

	serial_access(s, r, &v, 1, false);
	return v;
}

static void put(struct serial *s, unsigned r, uint8_t v)
{
	serial_access(s, r, &v, 1, true);
}

static void test_uart(void)
{
	struct serial s;

	serial_init(&s, -1, false);
	ok(reg(&s, 2) == 0x01 && reg(&s, 5) == 0x60, "idle: no interrupt, transmitter empty");
	put(&s, 2, 0x07);
	ok((reg(&s, 2) & 0xc0) == 0xc0, "FCR enables the FIFOs: IIR identifies a 16550A");
	put(&s, 4, 0x10 | 0x0a);
	ok((reg(&s, 6) & 0xf0) == 0x90, "loopback with OUT2|RTS reads DCD|CTS in MSR (the 8250 probe's test)");
	put(&s, 4, 0x00);
	ok((reg(&s, 6) & 0xf0) == 0xb0, "out of loopback: DCD, DSR, CTS");
	put(&s, 1, 0x0f);
	ok(reg(&s, 1) == 0x0f, "IER keeps its four bits");
	ok((reg(&s, 2) & 0x0f) == 0x02 && s.thri_pending == false, "enabling ETBEI raises THRI; reading IIR clears it");
	ok((reg(&s, 2) & 0x0f) == 0x01, "then no interrupt is pending");
	put(&s, 0, 'x');
	ok((reg(&s, 2) & 0x0f) == 0x02, "a byte sent empties THR again: THRI");
	put(&s, 0, 'y');
	put(&s, 1, 0x00);
	ok((reg(&s, 2) & 0x0f) == 0x01, "with IER cleared the condition is not reported");
	put(&s, 3, 0x80);
	put(&s, 0, 0x01);
	put(&s, 1, 0x00);
	ok(reg(&s, 0) == 0x01 && reg(&s, 1) == 0x00, "DLAB selects the divisor latch");
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, 1, n, f) != n)
		tap_bail("cannot write %s", path);
	fclose(f);
}

static void test_initrd(struct guest_mem *m)
{
	static const char trailer[] = "07070100000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000b00000000TRAILER!!!\0\0\0\0";
	char base[] = "/tmp/unit-initrd-XXXXXX", job[] = "/tmp/unit-job-XXXXXX";
	struct pvh_image img = { .lo = 0x100000, .hi = 0x200000 };
	struct pvh_module files[1] = { { .path = job } }, out;
	const char *p;

	close(mkstemp(base));
	close(mkstemp(job));
	write_bytes(base, trailer, sizeof(trailer) - 1);
	write_bytes(job, "[j]\nrw=read\n", 12);
	ok(pvh_load_initrd(m, &img, base, files, 1, &out) == 0, "an initramfs loads with a job appended");
	p = gmem_ptr(m, out.gpa, out.size);
	ok(p && out.gpa % 4096 == 0 && out.gpa + out.size <= RAM && memcmp(p, "070701", 6) == 0, "at the top of RAM, page-aligned");
	ok(p && count((const uint8_t *)p, out.size, "exitless/job.fio") == 1 && count((const uint8_t *)p, out.size, "[j]\nrw=read\n") == 1,
	   "the job is in it as exitless/job.fio");
	ok(p && (sizeof(trailer) - 1) % 4 == 0 && memcmp(p + sizeof(trailer) - 1, "070701", 6) == 0,
	   "the appended archive starts 4-byte aligned after the base");
	ok(p && memcmp(p + out.size - 14, "TRAILER!!!", 10) == 0, "and ends with its own trailer");
	write_bytes(base, "\x1f\x8b\x08", 3);
	ok(pvh_load_initrd(m, &img, base, files, 1, &out) < 0 && strstr(err_msg(), "not an uncompressed newc"),
	   "a compressed initramfs is refused (\"%s\")", err_msg());
	unlink(base);
	unlink(job);
}

/* host_identify then host_emulated on one host's facts: the name recorded must be want, emulated as said. */
static void identify(const char *sig, const char *vendor, const char *version, const char *want, bool emulated,
		     const char *what)
{
	char name[64];

	host_identify(sig, vendor, version, name, sizeof(name));
	ok(strcmp(name, want) == 0 && host_emulated(name) == emulated, "%s: \"%s\", emulated %s", what, name,
	   host_emulated(name) ? "true" : "false");
}

static void test_host(void)
{
	identify("", "", "", "", false, "bare metal without DMI");
	identify("", "Dell Inc.", "2.19.0", "", false, "bare metal with its firmware's DMI");
	identify("TCGTCGTCGTCG", "SeaBIOS", "1.16.2-debian-1.16.2-1", "TCGTCGTCGTCG", true, "QEMU TCG (the SVM rig)");
	identify("KVMKVMKVM", "SeaBIOS", "1.16.2-debian-1.16.2-1", "KVMKVMKVM", false, "a KVM guest: nested VT-x/SVM is the hardware's");
	identify("", "The Bochs Project", "Bochs 2.7", "Bochs 2.7", true, "Bochs (the VMX rig): no hypervisor bit, its BIOS in DMI");
	identify("", "Bochs", "Bochs", "Bochs", true, "QEMU's old Bochs BIOS without a hypervisor bit");
	identify("KVMKVMKVM", "The Bochs Project", "Bochs 2.7", "KVMKVMKVM", false, "a signature outranks DMI");
	identify("", "SeaBIOS", "rel-1.16.2-0-gea1b7a073390-prebuilt.qemu.org", "", false, "SeaBIOS without a hypervisor bit");
}

int main(void)
{
	struct guest_mem m;

	if (gmem_init(&m, RAM, MEM_4K, true) < 0)
		tap_bail("gmem_init: %s", err_msg());
	test_acpi(&m);
	test_uart();
	test_initrd(&m);
	test_host();
	gmem_destroy(&m);
	return tap_done();
}

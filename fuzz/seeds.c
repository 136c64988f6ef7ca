/* seeds.c - writes the generated seed inputs of fuzz/corpus/: good request chains, a driver's register sequence, a tiny PVH ELF.
 * Usage: fuzz-seeds DIR   (writes into DIR/fuzz-vq, DIR/fuzz-mmio, DIR/fuzz-pci and DIR/fuzz-elf) */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pci_spec.h"

struct seed {
	uint8_t b[1 << 17];
	size_t n;
};

static void put(struct seed *s, const void *p, size_t n)
{
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void u8(struct seed *s, uint8_t v) { put(s, &v, 1); }
static void u16(struct seed *s, uint16_t v) { put(s, &v, 2); }
static void u32(struct seed *s, uint32_t v) { put(s, &v, 4); }

static void save(const char *dir, const char *target, const char *name, const struct seed *s)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->b, 1, s->n, f) != s->n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* The layout of the seeds' guest RAM: a queue of 16, then per request i a 16-byte header, a status
 * byte and a data buffer of len bytes at DATA + i * 0x1000 (outside the image: zero). */
#define DESC   0x100u
#define AVAIL  0x200u
#define USED   0x280u
#define STATUS 0x320u
#define HDR    0x340u
#define DATA   0x1000u
#define IMAGE  0x380u
static void ram_image(uint8_t *ram, const uint32_t *types, int count, uint32_t len)
{
	uint16_t *avail = (uint16_t *)(ram + AVAIL);

	for (int i = 0; i < count; i++) {
		struct virtio_blk_outhdr h = { types[i], 0, (uint64_t)i * 8 };
		uint16_t w = types[i] == VIRTIO_BLK_T_OUT ? 0 : VRING_DESC_F_WRITE;
		struct vring_desc d[3] = {
			{ HDR + i * 16, 16, VRING_DESC_F_NEXT, (uint16_t)(3 * i + 1) },
			{ DATA + i * 0x1000, len, (uint16_t)(w | VRING_DESC_F_NEXT), (uint16_t)(3 * i + 2) },
			{ STATUS + i, 1, VRING_DESC_F_WRITE, 0 },
		};

		if (types[i] == VIRTIO_BLK_T_FLUSH) /* header and status only */
			d[0].next = (uint16_t)(3 * i + 2);
		memcpy(ram + DESC + 3 * i * sizeof(d[0]), d, sizeof(d));
		memcpy(ram + HDR + i * 16, &h, sizeof(h));
		avail[2 + i] = (uint16_t)(3 * i);
	}
	avail[1] = (uint16_t)count;
}

/* fuzz-vq: header, the RAM image (rings, headers, status bytes), then one round per kick. */
static void vq_seed(const char *dir, const char *name, uint8_t flags, const uint32_t *types, int count,
		    uint32_t len, int rounds)
{
	static struct seed s;
	static uint8_t ram[IMAGE];

	memset(ram, 0, sizeof(ram));
	ram_image(ram, types, count, len);
	s.n = 0;
	u8(&s, 4); /* a queue of 16 (descriptors 0..3*count) */
	u8(&s, flags);
	u32(&s, DESC), u32(&s, AVAIL), u32(&s, USED);
	u8(&s, (uint8_t)(rounds - 1));
	u16(&s, sizeof(ram));
	put(&s, ram, sizeof(ram));
	for (int r = 0; r < rounds; r++) {
		if (r == 0) {
			u8(&s, 0), u8(&s, 3); /* no patch; ask for notifications */
			continue;
		}
		/* the driver reuses the heads: avail.idx moves by count again */
		u8(&s, 1), u16(&s, AVAIL + 2), u8(&s, 2), u16(&s, (uint16_t)((r + 1) * count)), u8(&s, 0);
	}
	save(dir, "fuzz-vq", name, &s);
}

static void reg(struct seed *s, int write, uint16_t off, uint32_t v)
{
	u8(s, write ? 0 : 1), u16(s, off), u8(s, 2);
	if (write)
		u32(s, v);
}

/* fuzz-mmio: a driver's initialisation, one request or more, the interrupt, the config space. */
static void mmio_seed(const char *dir, const char *name, uint8_t setup, uint32_t features_lo, int reset)
{
	static struct seed s;
	static uint8_t ram[IMAGE];
	const uint32_t types[] = { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_GET_ID };

	memset(ram, 0, sizeof(ram));
	ram_image(ram, types, 3, 512);
	s.n = 0;
	u8(&s, setup);
	for (int pass = 0; pass <= reset; pass++) {
		reg(&s, 0, VIRTIO_MMIO_MAGIC_VALUE, 0), reg(&s, 0, VIRTIO_MMIO_VERSION, 0);
		reg(&s, 1, VIRTIO_MMIO_STATUS, 0);
		reg(&s, 1, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
		reg(&s, 1, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1), reg(&s, 0, VIRTIO_MMIO_DEVICE_FEATURES, 0);
		reg(&s, 1, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1), reg(&s, 1, VIRTIO_MMIO_DRIVER_FEATURES, 1);
		reg(&s, 1, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0), reg(&s, 1, VIRTIO_MMIO_DRIVER_FEATURES, features_lo);
		reg(&s, 1, VIRTIO_MMIO_STATUS, 11), reg(&s, 0, VIRTIO_MMIO_STATUS, 0);
		reg(&s, 1, VIRTIO_MMIO_QUEUE_SEL, 0), reg(&s, 0, VIRTIO_MMIO_QUEUE_NUM_MAX, 0);
		reg(&s, 1, VIRTIO_MMIO_QUEUE_NUM, 16);
		reg(&s, 1, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC), reg(&s, 1, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		reg(&s, 1, VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL), reg(&s, 1, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
		reg(&s, 1, VIRTIO_MMIO_QUEUE_USED_LOW, USED), reg(&s, 1, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
		reg(&s, 1, VIRTIO_MMIO_QUEUE_READY, 1);
		for (unsigned off = 0; off < sizeof(ram); off += 255) { /* the rings and requests */
			unsigned n = sizeof(ram) - off < 255 ? sizeof(ram) - off : 255;

			if (memcmp(ram + off, (uint8_t[255]){ 0 }, n) == 0)
				continue;
			u8(&s, 2), u16(&s, (uint16_t)off), u8(&s, (uint8_t)n), put(&s, ram + off, n);
		}
		reg(&s, 1, VIRTIO_MMIO_STATUS, 15);
		if (setup & 3)
			u8(&s, 4), u8(&s, 1); /* the IOCore polls, notifications off */
		else
			reg(&s, 1, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		u8(&s, 3); /* the emulation context serves */
		reg(&s, 0, VIRTIO_MMIO_INTERRUPT_STATUS, 0), reg(&s, 1, VIRTIO_MMIO_INTERRUPT_ACK, 1);
		u8(&s, 1), u16(&s, VIRTIO_MMIO_CONFIG), u8(&s, 3);
	}
	save(dir, "fuzz-mmio", name, &s);
}

/* fuzz-pci: a config write (0), a BAR write (2) or read (3) of 32 bits. */
static void cfg(struct seed *s, uint16_t reg, uint8_t size_log2, uint32_t v) { u8(s, 0), u16(s, reg), u8(s, size_log2), u32(s, v); }
static void bar(struct seed *s, uint16_t off, uint8_t size_log2, uint32_t v) { u8(s, 2), u16(s, off), u8(s, size_log2), u32(s, v); }
static void bar_rd(struct seed *s, uint16_t off) { u8(s, 3), u16(s, off), u8(s, 2); }

/* fuzz-pci: memory decoding and bus mastering on, MSI-X with vectors 0 and 1 aimed at a LAPIC, a driver's
 * initialisation through the common configuration, requests, the IOCore, the device, interrupts, the PBA. */
static void pci_seed(const char *dir, const char *name, uint8_t setup, uint32_t features_lo)
{
	static struct seed s;
	static uint8_t ram[IMAGE];
	const uint32_t types[] = { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_GET_ID };
	const uint16_t msix = 0xac; /* after the five virtio capabilities (virtio_pci.c) */

	memset(ram, 0, sizeof(ram));
	ram_image(ram, types, 3, 512);
	s.n = 0;
	u8(&s, setup);
	cfg(&s, PCI_COMMAND, 1, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cfg(&s, msix + PCI_MSIX_FLAGS, 1, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	for (uint16_t v = 0; v < 2; v++) {
		bar(&s, 0x4000 + 16 * v, 2, MSI_ADDR_BASE), bar(&s, 0x4000 + 16 * v + 4, 2, 0);
		bar(&s, 0x4000 + 16 * v + 8, 2, 0x40 + v), bar(&s, 0x4000 + 16 * v + 12, 2, 0);
	}
	cfg(&s, msix + PCI_MSIX_FLAGS, 1, PCI_MSIX_FLAGS_ENABLE);
	bar(&s, VIRTIO_PCI_COMMON_STATUS, 0, 0);
	bar(&s, VIRTIO_PCI_COMMON_STATUS, 0, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	bar(&s, VIRTIO_PCI_COMMON_GFSELECT, 2, 1), bar(&s, VIRTIO_PCI_COMMON_GF, 2, 1);
	bar(&s, VIRTIO_PCI_COMMON_GFSELECT, 2, 0), bar(&s, VIRTIO_PCI_COMMON_GF, 2, features_lo);
	bar(&s, VIRTIO_PCI_COMMON_STATUS, 0, 11);
	bar(&s, VIRTIO_PCI_COMMON_Q_SELECT, 1, 0), bar(&s, VIRTIO_PCI_COMMON_Q_SIZE, 1, 16);
	bar(&s, VIRTIO_PCI_COMMON_Q_MSIX, 1, 1), bar(&s, VIRTIO_PCI_COMMON_MSIX, 1, 0);
	bar(&s, VIRTIO_PCI_COMMON_Q_DESCLO, 2, DESC), bar(&s, VIRTIO_PCI_COMMON_Q_AVAILLO, 2, AVAIL);
	bar(&s, VIRTIO_PCI_COMMON_Q_USEDLO, 2, USED), bar(&s, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 1);
	for (unsigned off = 0; off < sizeof(ram); off += 255) {
		unsigned n = sizeof(ram) - off < 255 ? sizeof(ram) - off : 255;

		if (memcmp(ram + off, (uint8_t[255]){ 0 }, n) == 0)
			continue;
		u8(&s, 4), u16(&s, (uint16_t)off), u8(&s, (uint8_t)n), put(&s, ram + off, n);
	}
	bar(&s, VIRTIO_PCI_COMMON_STATUS, 0, 15);
	u8(&s, 6), u8(&s, 1);  /* the IOCore polls, notifications off */
	u8(&s, 5);             /* the emulation context serves */
	u8(&s, 7), u8(&s, 0);  /* queue 0's vector */
	cfg(&s, msix + PCI_MSIX_FLAGS, 1, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	u8(&s, 7), u8(&s, 1);  /* a configuration change, masked: pending */
	bar_rd(&s, 0x5000), bar_rd(&s, 0x1000);
	cfg(&s, msix + PCI_MSIX_FLAGS, 1, PCI_MSIX_FLAGS_ENABLE);
	save(dir, "fuzz-pci", name, &s);
}

/* fuzz-elf: the smallest PVH kernel: one PT_LOAD at 1 MiB holding a hlt, and the entry note. */
static void elf_seed(const char *dir)
{
	static struct seed s;
	struct {
		Elf64_Nhdr nh;
		char name[4];
		uint32_t entry;
	} note = { { 4, 4, 18 }, "Xen", 0x100000 };
	Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			  .e_entry = 0x100000, .e_phoff = sizeof(eh), .e_ehsize = sizeof(eh),
			  .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2 };
	uint64_t data = sizeof(eh) + 2 * sizeof(Elf64_Phdr);
	Elf64_Phdr ph[2] = {
		{ PT_LOAD, PF_R | PF_X, data, 0x100000, 0x100000, 4, 0x2000, 0x1000 },
		{ PT_NOTE, PF_R, data + 4, 0, 0, sizeof(note), sizeof(note), 4 },
	};
	uint8_t code[4] = { 0xf4, 0xeb, 0xfd, 0x90 }; /* hlt; jmp hlt; nop */

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64, eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	s.n = 0;
	put(&s, &eh, sizeof(eh)), put(&s, ph, sizeof(ph)), put(&s, code, sizeof(code));
	put(&s, &note, sizeof(note));
	save(dir, "fuzz-elf", "tiny-pvh.elf", &s);
}

int main(int argc, char **argv)
{
	const uint32_t rd[] = { VIRTIO_BLK_T_IN }, wr[] = { VIRTIO_BLK_T_OUT },
		       mix[] = { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID };

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-seeds DIR\n");
		return 2;
	}
	vq_seed(argv[1], "read-null", 0, rd, 1, 4096, 1);
	vq_seed(argv[1], "write-ram-event-idx", 1 | 2, wr, 1, 4096, 2);
	vq_seed(argv[1], "mixed-ram", 2, mix, 4, 512, 1);
	vq_seed(argv[1], "mixed-ram-big", 2 | 8, mix, 4, 1024, 2);
	mmio_seed(argv[1], "init-exit", 0, 0, 0);
	mmio_seed(argv[1], "init-exitless-ram-event-idx", 2 | 4, 1u << VIRTIO_RING_F_EVENT_IDX, 0);
	mmio_seed(argv[1], "init-reset-init", 4, 0, 1);
	pci_seed(argv[1], "init-msix", 0, 0);
	pci_seed(argv[1], "init-msix-ram-event-idx", 4, 1u << VIRTIO_RING_F_EVENT_IDX);
	elf_seed(argv[1]);
	return 0;
}

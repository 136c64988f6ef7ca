/* unit-pvh.c - unit tests of the PVH/ELF loader, the start-info writer and the checked gpa helper. */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "vmm.h"

#define RAM (16ull << 20)
#define LOAD_GPA 0x100000ull

/* A synthetic PVH ELF: header, two program headers (PT_LOAD, PT_NOTE), the note, a code blob. */
struct test_elf {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	struct {
		Elf64_Nhdr nh;
		char name[4];
		uint32_t entry;
	} note;
	uint8_t code[64];
};

static void make_elf(struct test_elf *e)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->eh.e_ident, ELFMAG, SELFMAG);
	e->eh.e_ident[EI_CLASS] = ELFCLASS64;
	e->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	e->eh.e_type = ET_EXEC;
	e->eh.e_machine = EM_X86_64;
	e->eh.e_phoff = offsetof(struct test_elf, ph);
	e->eh.e_phentsize = sizeof(Elf64_Phdr);
	e->eh.e_phnum = 2;
	e->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = offsetof(struct test_elf, code),
				 .p_paddr = LOAD_GPA, .p_filesz = 64, .p_memsz = 4096 };
	e->ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = offsetof(struct test_elf, note),
				 .p_filesz = sizeof(e->note), .p_align = 4 };
	e->note.nh = (Elf64_Nhdr){ .n_namesz = 4, .n_descsz = 4, .n_type = 18 };
	memcpy(e->note.name, "Xen", 4);
	e->note.entry = LOAD_GPA + 8;
	memset(e->code, 0xcc, sizeof(e->code));
}

static int load(struct guest_mem *m, const struct test_elf *e, size_t len, struct pvh_image *img)
{
	return pvh_load_elf(m, (const uint8_t *)e, len, img);
}

/* Loads a mutated ELF and checks that it fails with a message containing `want`. */
static void expect_error(struct guest_mem *m, const struct test_elf *e, size_t len,
			 const char *want, const char *name)
{
	struct pvh_image img;
	int rc = load(m, e, len, &img);

	ok(rc < 0 && strstr(err_msg(), want), "%s is rejected (\"%s\")", name, err_msg());
}

static void test_good_elf(struct guest_mem *m)
{
	struct test_elf e;
	struct pvh_image img;
	uint8_t *p;

	make_elf(&e);
	memset(gmem_ptr(m, LOAD_GPA, 4096), 0x55, 4096);
	ok(load(m, &e, sizeof(e), &img) == 0, "a good PVH ELF loads (%s)", err_msg());
	ok(img.entry32 == LOAD_GPA + 8, "the PVH entry comes from the Xen note");
	ok(img.lo == LOAD_GPA && img.hi == LOAD_GPA + 4096, "the image span covers memsz");
	p = gmem_ptr(m, LOAD_GPA, 4096);
	ok(p[0] == 0xcc && p[63] == 0xcc, "file bytes are copied to the segment's paddr");
	ok(p[64] == 0 && p[4095] == 0, "memory beyond filesz is zeroed");
}

static void test_truncated(struct guest_mem *m)
{
	struct test_elf e;

	make_elf(&e);
	expect_error(m, &e, 10, "not an ELF", "a 10-byte file");
	expect_error(m, &e, sizeof(Elf64_Ehdr) + 8, "program headers", "a file cut inside the phdrs");
	expect_error(m, &e, offsetof(struct test_elf, code) + 63, "truncated ELF", "a file cut inside the segment");
	e.eh.e_phoff = UINT64_MAX - 8;
	expect_error(m, &e, sizeof(e), "program headers", "phoff overflowing");
	make_elf(&e);
	e.ph[0].p_offset = UINT64_MAX - 16;
	expect_error(m, &e, sizeof(e), "truncated ELF", "a segment offset that overflows");
}

static void test_malformed(struct guest_mem *m)
{
	struct test_elf e;

	make_elf(&e);
	e.eh.e_ident[EI_CLASS] = ELFCLASS32;
	expect_error(m, &e, sizeof(e), "ELF64", "a 32-bit ELF");
	make_elf(&e);
	e.eh.e_machine = EM_AARCH64;
	expect_error(m, &e, sizeof(e), "x86-64", "an arm64 ELF");
	make_elf(&e);
	e.eh.e_type = ET_DYN;
	expect_error(m, &e, sizeof(e), "not an executable", "a shared object");
	make_elf(&e);
	e.ph[0].p_filesz = 8192;
	e.ph[0].p_memsz = 4096;
	expect_error(m, &e, sizeof(e), "truncated", "filesz > memsz past the file end");
	make_elf(&e);
	e.ph[0].p_memsz = 32;
	expect_error(m, &e, sizeof(e), "exceeds its memory size", "filesz > memsz");
	make_elf(&e);
	e.note.nh.n_namesz = 0x7fffffff;
	expect_error(m, &e, sizeof(e), "malformed ELF note", "a note with a huge name size");
}

static void test_placement(struct guest_mem *m)
{
	struct test_elf e;

	make_elf(&e);
	e.ph[0].p_paddr = RAM - 100;
	expect_error(m, &e, sizeof(e), "does not fit in guest RAM", "a segment past the end of RAM");
	make_elf(&e);
	e.ph[0].p_paddr = UINT64_MAX - 100;
	expect_error(m, &e, sizeof(e), "does not fit in guest RAM", "a segment address that wraps");
	make_elf(&e);
	e.ph[0].p_paddr = 0x1000;
	expect_error(m, &e, sizeof(e), "below 1 MiB", "a segment over the start-info pages");
}

static void test_pvh_note(struct guest_mem *m)
{
	struct test_elf e;

	make_elf(&e);
	e.note.nh.n_type = 1;
	expect_error(m, &e, sizeof(e), "no XEN_ELFNOTE_PHYS32_ENTRY", "an ELF without the PVH note");
	make_elf(&e);
	memcpy(e.note.name, "Gnu", 4);
	expect_error(m, &e, sizeof(e), "no XEN_ELFNOTE_PHYS32_ENTRY", "a type-18 note not from Xen");
	make_elf(&e);
	e.note.entry = LOAD_GPA + 4096;
	expect_error(m, &e, sizeof(e), "outside the loaded image", "an entry just past the image");
	make_elf(&e);
	e.note.entry = 0x1000;
	expect_error(m, &e, sizeof(e), "outside the loaded image", "an entry below the image");
}

static void test_gmem_edges(struct guest_mem *m)
{
	uint64_t s = m->size;

	ok(gmem_ptr(m, 0, s) == m->host, "gpa 0 with the whole RAM is valid");
	ok(gmem_ptr(m, s - 1, 1) == m->host + s - 1, "the last byte is valid");
	ok(gmem_ptr(m, s, 0) != NULL, "an empty range at the end is valid");
	ok(!gmem_ptr(m, s, 1), "one byte past the end is rejected");
	ok(!gmem_ptr(m, s - 1, 2), "a range straddling the end is rejected");
	ok(!gmem_ptr(m, 0, s + 1), "a length larger than RAM is rejected");
	ok(!gmem_ptr(m, UINT64_MAX, 2), "gpa + len wrapping around is rejected");
	ok(!gmem_ptr(m, 2, UINT64_MAX - 1), "a huge length wrapping around is rejected");
	ok(!gmem_ptr(m, UINT64_MAX, 0), "an empty range far past the end is rejected");
}

static void write_file(const char *path, size_t len)
{
	FILE *f = fopen(path, "w");

	for (size_t i = 0; i < len; i++)
		fputc('a' + (int)(i % 26), f);
	fclose(f);
}

static void test_modules(struct guest_mem *m)
{
	char small[] = "/tmp/unit-pvh-small-XXXXXX", big[] = "/tmp/unit-pvh-big-XXXXXX";
	struct pvh_image img = { .lo = LOAD_GPA, .hi = LOAD_GPA + 4096 };
	struct pvh_module mods[2] = { { .path = small }, { .path = big } };

	close(mkstemp(small));
	close(mkstemp(big));
	write_file(small, 100);
	write_file(big, RAM);
	ok(pvh_load_modules(m, &img, mods, 1) == 0, "a small module loads");
	ok(mods[0].gpa == RAM - 4096 && mods[0].size == 100, "it sits page-aligned at the top of RAM");
	ok(memcmp(gmem_ptr(m, mods[0].gpa, 3), "abc", 3) == 0, "its bytes are in guest RAM");
	ok(pvh_load_modules(m, &img, mods, 2) < 0 && strstr(err_msg(), "does not fit"),
	   "a module larger than the free RAM is rejected (\"%s\")", err_msg());
	mods[0].path = "/nonexistent/module";
	ok(pvh_load_modules(m, &img, mods, 1) < 0 && strstr(err_msg(), "cannot open /nonexistent"),
	   "a missing module is named");
	unlink(small);
	unlink(big);
}

static void test_start_info(struct guest_mem *m)
{
	struct pvh_module mod = { .gpa = 0x200000, .size = 77 };
	uint32_t *si = gmem_ptr(m, PVH_START_INFO_GPA, 56);
	uint64_t *si64 = (uint64_t *)si;
	char *huge = malloc(PVH_CMDLINE_MAX + 1);

	ok(pvh_write_start_info(m, "test=all", &mod, 1, 0, NULL, 0) == 0, "start info is written");
	ok(si[0] == 0x336ec578 && si[1] == 1 && si[3] == 1, "magic, version 1, one module");
	ok(strcmp((char *)gmem_ptr(m, si64[3], 9), "test=all") == 0, "cmdline_paddr points at it");
	ok(((uint64_t *)gmem_ptr(m, si64[2], 16))[1] == 77, "the module list carries the size");
	ok(si[12] == 3 && ((uint64_t *)gmem_ptr(m, si64[5], 72))[7] == RAM - 0x100000,
	   "the memory map has 3 entries and ends at the top of RAM");
	{
		struct pvh_range ecam = { 0xe0000000ull, 1ull << 20 };
		uint64_t *mm;

		ok(pvh_write_start_info(m, "x", NULL, 0, 0, &ecam, 1) == 0 && si[12] == 4 &&
		   (mm = gmem_ptr(m, si64[5], 96)) && mm[9] == 0xe0000000ull && mm[10] == 1ull << 20 && mm[11] == 2,
		   "a reserved range (the PCI ECAM window) is a fourth entry of type reserved");
	}
	memset(huge, 'x', PVH_CMDLINE_MAX);
	huge[PVH_CMDLINE_MAX] = 0;
	ok(pvh_write_start_info(m, huge, NULL, 0, 0, NULL, 0) < 0 && strstr(err_msg(), "too long"),
	   "an oversized command line is rejected");
	free(huge);
}

static void nop_access(void *o, uint64_t off, uint8_t *d, uint32_t s, bool w)
{
	(void)o, (void)off, (void)d, (void)s, (void)w;
}

static void test_bus(void)
{
	struct bus b = { 0 };
	struct bus_region r1 = { 0x100, 8, NULL, nop_access, "a" }, r2 = { 0x107, 2, NULL, nop_access, "b" };
	uint8_t d[4] = { 0 };

	ok(bus_register(&b, &r1) == 0, "a region registers");
	ok(bus_register(&b, &r2) < 0 && strstr(err_msg(), "overlaps"), "an overlapping region is refused");
	bus_access(&b, 0x200, d, 4, false);
	ok(d[0] == 0xff && d[3] == 0xff && b.unclaimed == 1, "an unclaimed read returns all-ones");
}

int main(void)
{
	struct guest_mem m;

	if (gmem_init(&m, RAM, MEM_4K, true) < 0) {
		printf("Bail out! %s\n", err_msg());
		return 1;
	}
	test_good_elf(&m);
	test_truncated(&m);
	test_malformed(&m);
	test_placement(&m);
	test_pvh_note(&m);
	test_gmem_edges(&m);
	test_modules(&m);
	test_start_info(&m);
	test_bus();
	gmem_destroy(&m);
	return tap_done();
}

/* fuzz_files.c - fuzz-elf and fuzz-job: the files a user hands over, a PVH kernel (pvh.c) and a fio job file (the engine).
 *
 * fuzz-elf: the whole input is the ELF file. Its last byte also picks the command line's length
 * (that many 4 KiB, so some are too long) and the number of modules (0..PVH_MAX_MODULES).
 * Guest RAM is 4 MiB between two inaccessible pages.
 * Invariants: a refused file leaves a reason; an accepted one spans [lo, hi) with 1 MiB <= lo <
 * hi <= RAM size and the entry inside, and its last loadable segment (copied last) starts in RAM
 * with the file's bytes; pvh_write_start_info refuses exactly the command lines longer than
 * PVH_CMDLINE_MAX - 1, and otherwise writes the start info (magic, memory map, modules, command
 * line) without touching the loaded image.
 *
 * fuzz-job: the whole input is the job file (not NUL-terminated; it may hold any byte), parsed by
 * engine_check() as the guest and engine-host do.
 * Invariants: engine_check returns ENG_EXIT_OK or ENG_EXIT_BADJOB; OK prints nothing; BADJOB prints
 * exactly one non-empty line, ending in '\n' with no NUL in it, through env->console; nothing goes
 * to env->results; the parser reads no byte outside the input (AddressSanitizer: libFuzzer hands
 * each input in a buffer of exactly its size). */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fuzz.h"

/* ---- fuzz-elf -------------------------------------------------------------------------------- */
#define ELF_RAM         (4u << 20)
#define HVM_START_MAGIC 0x336ec578u

struct start_info_head {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

static char cmdline[0xa0000];

static void check_loaded(const struct guest_mem *m, const uint8_t *data, const struct pvh_image *img)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph, last = { 0 };
	uint64_t n;

	FUZZ_ASSERT(img->lo >= PVH_KERNEL_MIN && img->lo < img->hi && img->hi <= m->size);
	FUZZ_ASSERT(img->entry32 >= img->lo && img->entry32 < img->hi);
	memcpy(&eh, data, sizeof(eh)); /* accepted: the header and program headers are in the file */
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD && ph.p_memsz)
			last = ph;
	}
	n = last.p_filesz < 64 ? last.p_filesz : 64;
	FUZZ_ASSERT(memcmp(gmem_ptr(m, last.p_paddr, n), data + last.p_offset, n) == 0);
}

static void check_start_info(const struct guest_mem *m, size_t cl, int nmods)
{
	struct start_info_head si;

	memcpy(&si, gmem_ptr(m, PVH_START_INFO_GPA, sizeof(si)), sizeof(si));
	FUZZ_ASSERT(si.magic == HVM_START_MAGIC && si.version == 1);
	FUZZ_ASSERT(si.nr_modules == (uint32_t)nmods && si.memmap_entries == 3);
	FUZZ_ASSERT(si.cmdline_paddr == PVH_CMDLINE_GPA);
	FUZZ_ASSERT(memcmp(gmem_ptr(m, PVH_CMDLINE_GPA, cl + 1), cmdline, cl + 1) == 0);
}

int fuzz_elf(const uint8_t *data, size_t size)
{
	static struct guest_mem m;
	struct pvh_module mods[PVH_MAX_MODULES] = { { 0 } };
	struct pvh_image img = { 0 };
	uint8_t last = size ? data[size - 1] : 0, image[64];
	size_t cl = (size_t)last * 0x1000 % sizeof(cmdline), keep = 0;
	int nmods = last % (PVH_MAX_MODULES + 1), loaded, rc;

	if (!m.host)
		fuzz_ram_alloc(&m, ELF_RAM);
	err_set("%s", ""); /* so a refusal must leave its own reason */
	loaded = pvh_load_elf(&m, data, size, &img) == 0;
	if (!loaded) {
		FUZZ_ASSERT(err_msg()[0] != 0);
	} else {
		check_loaded(&m, data, &img);
		keep = img.hi - img.lo < sizeof(image) ? img.hi - img.lo : sizeof(image);
		memcpy(image, gmem_ptr(&m, img.lo, keep), keep);
	}
	for (int i = 0; i < nmods; i++)
		mods[i] = (struct pvh_module){ "module", ELF_RAM - (uint64_t)(i + 1) * 4096, 4096 };
	memset(cmdline, 'x', cl);
	cmdline[cl] = 0;
	rc = pvh_write_start_info(&m, cmdline, mods, nmods, 0, NULL, 0);
	FUZZ_ASSERT((rc == 0) == (cl <= PVH_CMDLINE_MAX - 1));
	if (rc == 0)
		check_start_info(&m, cl, nmods);
	if (loaded) /* the start info lies below 1 MiB, the image above */
		FUZZ_ASSERT(memcmp(image, gmem_ptr(&m, img.lo, keep), keep) == 0);
	return 0;
}

/* ---- fuzz-job -------------------------------------------------------------------------------- */

#define MAX_ALLOCS 64

static char said[4096];
static size_t said_len;
static int said_calls;
static void *allocs[MAX_ALLOCS];
static int nallocs;

static uint64_t fake_now_ns(void)
{
	return 0;
}

static void console(const char *text, size_t len)
{
	size_t room = sizeof(said) - said_len;

	memcpy(said + said_len, text, len < room ? len : room);
	said_len += len < room ? len : room;
	said_calls++;
}

static void results(const char *text, size_t len)
{
	(void)text, (void)len;
	FUZZ_ASSERT(!"engine_check writes no results");
}

/* The engine never frees: every block is kept here and freed after the input. */
static void *tracked_alloc(size_t size, size_t align)
{
	void *p = NULL;

	FUZZ_ASSERT(align && !(align & (align - 1)) && align <= ENG_BUF_ALIGN);
	FUZZ_ASSERT(nallocs < MAX_ALLOCS);
	if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size ? size : 1))
		return NULL;
	allocs[nallocs++] = p;
	return memset(p, 0, size);
}

int fuzz_job(const uint8_t *data, size_t size)
{
	struct eng_env env = { .now_ns = fake_now_ns, .console = console, .results = results, .alloc = tracked_alloc };
	int rc;

	said_len = 0;
	said_calls = 0;
	rc = engine_check((const char *)data, size, &env);
	FUZZ_ASSERT(rc == ENG_EXIT_OK || rc == ENG_EXIT_BADJOB);
	if (rc == ENG_EXIT_OK) {
		FUZZ_ASSERT(said_calls == 0);
	} else {
		FUZZ_ASSERT(said_calls == 1 && said_len > 1 && said[said_len - 1] == '\n');
		FUZZ_ASSERT(memchr(said, '\n', said_len) == said + said_len - 1);
		FUZZ_ASSERT(!memchr(said, 0, said_len));
	}
	while (nallocs)
		free(allocs[--nallocs]);
	return 0;
}

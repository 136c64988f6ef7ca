/* pvh.c - PVH direct boot as QEMU does it: ELF64 PT_LOAD segments, XEN_ELFNOTE_PHYS32_ENTRY,
 * hvm_start_info (version 1) with command line, memory map and module list. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC          0x336ec578u
#define E820_RAM                 1
#define E820_RESERVED            2
#define PAGE_SIZE                4096ull

/* Layouts from Xen's public/arch-x86/hvm/start_info.h. */
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_table_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

#define PVH_MEMMAP_GPA  (PVH_START_INFO_GPA + 0x100)
#define PVH_MODLIST_GPA (PVH_START_INFO_GPA + 0x200)

/* True when [off, off+len) lies inside a buffer of `size` bytes, without overflowing. */
static bool span_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return len <= size && off <= size - len;
}

/* Headers are copied out of the file before use: the file gives no alignment guarantee. */
static int check_header(const uint8_t *buf, size_t len, Elf64_Ehdr *eh)
{
	if (len < sizeof(*eh) || memcmp(buf, ELFMAG, SELFMAG) != 0)
		return err_set("not an ELF file");
	memcpy(eh, buf, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64)
		return err_set("not an x86-64 little-endian ELF64 file");
	if (eh->e_type != ET_EXEC)
		return err_set("not an executable ELF (e_type %u)", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    !span_ok(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len))
		return err_set("truncated or malformed ELF program headers");
	return 0;
}

static int load_segment(struct guest_mem *m, const uint8_t *buf, size_t len, const Elf64_Phdr *ph)
{
	uint8_t *dst;

	if (!span_ok(ph->p_offset, ph->p_filesz, len))
		return err_set("truncated ELF: segment at file offset 0x%llx runs past the end",
			       (unsigned long long)ph->p_offset);
	if (ph->p_filesz > ph->p_memsz)
		return err_set("malformed ELF: segment file size exceeds its memory size");
	if (ph->p_paddr < PVH_KERNEL_MIN)
		return err_set("ELF segment at 0x%llx is below 1 MiB", (unsigned long long)ph->p_paddr);
	dst = gmem_ptr(m, ph->p_paddr, ph->p_memsz);
	if (!dst)
		return err_set("ELF segment [0x%llx, +0x%llx) does not fit in guest RAM (%llu MiB)",
			       (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz,
			       (unsigned long long)(m->size >> 20));
	memcpy(dst, buf + ph->p_offset, ph->p_filesz);
	memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	return 0;
}

/* Walks the notes of one PT_NOTE segment for XEN_ELFNOTE_PHYS32_ENTRY; 1 if found, 0 if not. */
static int find_entry_note(const uint8_t *buf, size_t len, const Elf64_Phdr *ph, uint32_t *entry)
{
	uint64_t off = 0;

	if (!span_ok(ph->p_offset, ph->p_filesz, len))
		return err_set("truncated ELF: note segment runs past the end");
	while (off + sizeof(Elf64_Nhdr) <= ph->p_filesz) {
		const uint8_t *name = buf + ph->p_offset + off + sizeof(Elf64_Nhdr);
		uint64_t name_sz, desc_sz;
		Elf64_Nhdr nh;

		memcpy(&nh, buf + ph->p_offset + off, sizeof(nh));
		name_sz = (nh.n_namesz + 3ull) & ~3ull;
		desc_sz = (nh.n_descsz + 3ull) & ~3ull;
		off += sizeof(nh);
		if (name_sz + desc_sz > ph->p_filesz - off)
			return err_set("malformed ELF note");
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    memcmp(name, "Xen", 4) == 0 && nh.n_descsz >= 4) {
			memcpy(entry, name + name_sz, sizeof(*entry));
			return 1;
		}
		off += name_sz + desc_sz;
	}
	return 0;
}

int pvh_load_elf(struct guest_mem *m, const uint8_t *buf, size_t len, struct pvh_image *img)
{
	Elf64_Ehdr eh;
	int found = 0;

	if (check_header(buf, len, &eh) < 0)
		return -1;
	img->lo = UINT64_MAX;
	img->hi = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD && ph.p_memsz) {
			if (load_segment(m, buf, len, &ph) < 0)
				return -1;
			img->lo = ph.p_paddr < img->lo ? ph.p_paddr : img->lo;
			img->hi = ph.p_paddr + ph.p_memsz > img->hi ? ph.p_paddr + ph.p_memsz : img->hi;
		} else if (ph.p_type == PT_NOTE && !found) {
			found = find_entry_note(buf, len, &ph, &img->entry32);
			if (found < 0)
				return -1;
		}
	}
	if (img->hi == 0)
		return err_set("ELF has no loadable segment");
	if (!found)
		return err_set("not a PVH kernel: no XEN_ELFNOTE_PHYS32_ENTRY note");
	if (img->entry32 < img->lo || img->entry32 >= img->hi)
		return err_set("PVH entry 0x%x lies outside the loaded image [0x%llx, 0x%llx)",
			       img->entry32, (unsigned long long)img->lo, (unsigned long long)img->hi);
	return 0;
}

int pvh_read_file(const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set("cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set("%s is not a regular file", path);
	}
	*buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!*buf) {
		close(fd);
		return err_set("out of memory reading %s", path);
	}
	n = pread(fd, *buf, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size) {
		free(*buf);
		*buf = NULL;
		return err_set("cannot read %s", path);
	}
	*len = (size_t)st.st_size;
	return 0;
}

/* Copies data[0, len) page-aligned to the top of the RAM below *top and lowers *top to it; -1 (nothing
 * copied) when it would reach into the loaded image. */
static int place_below(struct guest_mem *m, const struct pvh_image *img, uint64_t *top, const uint8_t *data,
		       size_t len)
{
	uint64_t need = (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);

	if (need > *top - img->hi)
		return -1;
	*top -= need;
	memcpy(gmem_ptr(m, *top, len), data, len);
	return 0;
}

int pvh_load_modules(struct guest_mem *m, const struct pvh_image *img, struct pvh_module *mods,
		     int n)
{
	uint64_t top = m->size;

	for (int i = 0; i < n; i++) {
		uint8_t *data;
		size_t len;
		int rc;

		if (pvh_read_file(mods[i].path, &data, &len) < 0)
			return -1;
		rc = place_below(m, img, &top, data, len);
		free(data);
		if (rc < 0)
			return err_set("module %s (%zu bytes) does not fit in guest RAM above the "
				       "kernel: use a larger --mem", mods[i].path, len);
		mods[i].gpa = top;
		mods[i].size = len;
	}
	return 0;
}

/* ---- the initramfs of a Linux guest ------------------------------------------------------------ */

struct blob {
	uint8_t *b;
	size_t n, cap;
};

static int blob_put(struct blob *o, const void *p, size_t len)
{
	if (len == 0)
		return 0; /* an entry without data passes p = NULL, which memcpy must not get */
	if (o->n + len > o->cap) {
		size_t cap = (o->n + len) * 2;
		uint8_t *b = realloc(o->b, cap);

		if (!b)
			return err_set("out of memory building the initramfs");
		o->b = b;
		o->cap = cap;
	}
	memcpy(o->b + o->n, p, len);
	o->n += len;
	return 0;
}

static int blob_pad4(struct blob *o)
{
	static const uint8_t zero[4];

	return blob_put(o, zero, (4 - (o->n & 3)) & 3);
}

/* One newc ("070701") entry: header, NUL-terminated name, data, each padded to 4 bytes. */
static int cpio_entry(struct blob *o, unsigned ino, unsigned mode, const char *name, const uint8_t *data,
		      size_t len)
{
	char hdr[120];

	if (len > UINT32_MAX)
		return err_set("%s: too large for an initramfs entry", name);
	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode, 0u, 0u,
		 (mode & 0040000) ? 2u : 1u, 0u, (unsigned)len, 0u, 0u, 0u, 0u, (unsigned)strlen(name) + 1, 0u);
	if (blob_put(o, hdr, 110) < 0 || blob_put(o, name, strlen(name) + 1) < 0 || blob_pad4(o) < 0 ||
	    blob_put(o, data, len) < 0 || blob_pad4(o) < 0)
		return -1;
	return 0;
}

static int append_files(struct blob *o, const struct pvh_module *files, int n)
{
	unsigned ino = 0x7e000000u; /* clear of the inode numbers of the base archive */

	if (blob_pad4(o) < 0 || cpio_entry(o, ino++, 0040755, "exitless", NULL, 0) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		const char *base = strrchr(files[i].path, '/');
		char name[256];
		uint8_t *data;
		size_t len;
		int rc;

		snprintf(name, sizeof(name), "exitless/%s", i == 0 ? "job.fio" : base ? base + 1 : files[i].path);
		if (pvh_read_file(files[i].path, &data, &len) < 0)
			return -1;
		rc = cpio_entry(o, ino++, 0100644, name, data, len);
		free(data);
		if (rc < 0)
			return -1;
	}
	return cpio_entry(o, ino, 0, "TRAILER!!!", NULL, 0);
}

int pvh_load_initrd(struct guest_mem *m, const struct pvh_image *img, const char *initrd,
		    const struct pvh_module *files, int n, struct pvh_module *out)
{
	struct blob o = { 0 };

	if (pvh_read_file(initrd, &o.b, &o.n) < 0)
		return -1;
	o.cap = o.n;
	if (o.n < 6 || memcmp(o.b, "070701", 6) != 0) {
		free(o.b);
		return err_set("%s is not an uncompressed newc cpio archive (an initramfs)", initrd);
	}
	if (append_files(&o, files, n) < 0) {
		free(o.b);
		return -1;
	}
	out->gpa = m->size;
	if (place_below(m, img, &out->gpa, o.b, o.n) < 0) {
		free(o.b);
		return err_set("the initramfs %s (%zu bytes with the job) does not fit in guest RAM above the "
			       "kernel: use a larger --mem", initrd, o.n);
	}
	out->path = initrd;
	out->size = o.n;
	free(o.b);
	return 0;
}

/* What a Linux guest needs to unpack its initramfs, in MiB: the kernel image, the archive and the page
 * structures (1/64 of RAM) stay reserved while the kernel unpacks the archive into rootfs; rootfs is a tmpfs
 * limited to half the RAM left, so that must hold the files (about the archive's size), and after them the
 * kernel needs INITRD_RUNTIME_MIB of its own (with rootfstype=ramfs only that: no limit). Measured with
 * Debian's 6.1 kernel (58 MiB) and its 84.5 MiB initramfs in the SVM rig: tmpfs 312 MiB failed and 316 ran
 * (this gives 316); ramfs 248 MiB ran out of memory and 256 ran (this gives 255). */
#define INITRD_RUNTIME_MIB 24

static uint64_t initrd_need_mib(const struct pvh_image *img, uint64_t archive, uint64_t ram, bool ramfs)
{
	uint64_t fixed = (img->hi - img->lo) + archive + ram / 64;
	uint64_t files = archive + ((uint64_t)INITRD_RUNTIME_MIB << 20);

	if (!ramfs && 2 * archive > files)
		files = 2 * archive;
	return (fixed + files) >> 20;
}

int pvh_initrd_fits(const struct guest_mem *m, const struct pvh_image *img, const struct pvh_module *initramfs,
		    const char *cmdline)
{
	bool ramfs = cmdline && strstr(cmdline, "rootfstype=ramfs");
	uint64_t need = initrd_need_mib(img, initramfs->size, m->size, ramfs);

	if ((m->size >> 20) >= need)
		return 0;
	return err_set("the initramfs %s (%llu MiB with the job) needs --mem %llu or more: this kernel takes %llu MiB and "
		       "keeps the archive while it unpacks it into %s", initramfs->path,
		       (unsigned long long)(initramfs->size >> 20), (unsigned long long)need,
		       (unsigned long long)((img->hi - img->lo) >> 20),
		       ramfs ? "a ramfs" : "a tmpfs of at most half the RAM left (rootfstype=ramfs on --cmdline needs less)");
}

int pvh_write_start_info(struct guest_mem *m, const char *cmdline, const struct pvh_module *mods,
			 int n, uint64_t rsdp, const struct pvh_range *reserved, int nreserved)
{
	size_t cl = strlen(cmdline) + 1;
	struct hvm_start_info *si = gmem_ptr(m, PVH_START_INFO_GPA, sizeof(*si));
	struct hvm_memmap_table_entry *mm = gmem_ptr(m, PVH_MEMMAP_GPA, (3 + PVH_MAX_RESERVED) * sizeof(*mm));
	struct hvm_modlist_entry *ml = gmem_ptr(m, PVH_MODLIST_GPA, PVH_MAX_MODULES * sizeof(*ml));

	BUG_ON(!si || !mm || !ml || n > PVH_MAX_MODULES || nreserved > PVH_MAX_RESERVED);
	if (cl > PVH_CMDLINE_MAX)
		return err_set("command line too long (%zu bytes, max %llu)", cl - 1,
			       (unsigned long long)PVH_CMDLINE_MAX - 1);
	memcpy(gmem_ptr(m, PVH_CMDLINE_GPA, cl), cmdline, cl);
	mm[0] = (struct hvm_memmap_table_entry){ 0, PVH_LOW_RAM_END, E820_RAM, 0 };
	mm[1] = (struct hvm_memmap_table_entry){ PVH_LOW_RAM_END, PVH_KERNEL_MIN - PVH_LOW_RAM_END,
						 E820_RESERVED, 0 };
	mm[2] = (struct hvm_memmap_table_entry){ PVH_KERNEL_MIN, m->size - PVH_KERNEL_MIN, E820_RAM, 0 };
	for (int i = 0; i < nreserved; i++) /* device ranges firmware would reserve (PCI ECAM) */
		mm[3 + i] = (struct hvm_memmap_table_entry){ reserved[i].base, reserved[i].size, E820_RESERVED, 0 };
	for (int i = 0; i < n; i++)
		ml[i] = (struct hvm_modlist_entry){ mods[i].gpa, mods[i].size, 0, 0 };
	*si = (struct hvm_start_info){
		.magic = HVM_START_MAGIC,
		.version = 1,
		.nr_modules = (uint32_t)n,
		.modlist_paddr = n ? PVH_MODLIST_GPA : 0,
		.cmdline_paddr = PVH_CMDLINE_GPA,
		.rsdp_paddr = rsdp,
		.memmap_paddr = PVH_MEMMAP_GPA,
		.memmap_entries = 3 + (uint32_t)nreserved,
	};
	return 0;
}

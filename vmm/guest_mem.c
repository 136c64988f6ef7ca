/* guest_mem.c - guest RAM on a memfd (a device process maps the same pages), backed by 2 MiB pages when the
 * host allows it, and the one checked guest-physical -> host translation.
 *
 * Backings: hugetlb (a MFD_HUGETLB memfd: 2 MiB pages reserved at start-up, from the host's hugepage
 * pool), thp (a shmem memfd with MADV_HUGEPAGE: transparent huge pages, when the host's
 * transparent_hugepage/shmem_enabled lets shmem have them), 4k (plain shmem). auto takes the first the
 * host can give. O_DIRECT and io_uring pin guest pages for every request: on 4 KiB pages that is 32 pins
 * for a 128 KiB read, one on a huge page. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm.h"

#define HUGE_2M (2ull << 20)

const char *const mem_backing_names[MEM_BACKINGS] = {
	[MEM_AUTO] = "auto", [MEM_HUGETLB] = "hugetlb", [MEM_THP] = "thp", [MEM_4K] = "4k",
};

static uint64_t read_u64(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 ? strtoull(buf, NULL, 10) : 0;
}

/* Whether shmem may get transparent huge pages on madvise: shmem_enabled is always, within_size or
 * advise (the bracketed word). */
static bool shmem_thp_allowed(void)
{
	char buf[128] = "";
	int fd = open("/sys/kernel/mm/transparent_hugepage/shmem_enabled", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 && (strstr(buf, "[always]") || strstr(buf, "[within_size]") || strstr(buf, "[advise]"));
}

static uint64_t free_hugepages_bytes(void)
{
	return read_u64("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") * HUGE_2M;
}

/* Creates the memfd and maps it; returns 0 or -1 (err_set), leaving m untouched on failure. */
static int map_ram(struct guest_mem *m, uint64_t size, enum mem_backing kind)
{
	unsigned flags = MFD_CLOEXEC | (kind == MEM_HUGETLB ? MFD_HUGETLB | MFD_HUGE_2MB : 0);
	int fd = memfd_create("exitless-guest-ram", flags);
	void *p;

	if (fd < 0)
		return err_set("memfd_create: %s", strerror(errno));
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return err_set("cannot size guest RAM to %llu bytes: %s", (unsigned long long)size, strerror(errno));
	}
	/* hugetlb: no MAP_NORESERVE, so a pool too small fails here, not with SIGBUS at the guest's touch. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | (kind == MEM_HUGETLB ? 0 : MAP_NORESERVE), fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return err_set("cannot map guest RAM (%s): %s", mem_backing_names[kind], strerror(errno));
	}
	if (kind == MEM_THP && madvise(p, size, MADV_HUGEPAGE) < 0) {
		munmap(p, size);
		close(fd);
		return err_set("madvise(MADV_HUGEPAGE): %s", strerror(errno));
	}
	*m = (struct guest_mem){ .fd = fd, .host = p, .size = size, .backing = kind };
	return 0;
}

int gmem_init(struct guest_mem *m, uint64_t size, enum mem_backing want)
{
	bool hugetlb_fits = size % HUGE_2M == 0 && free_hugepages_bytes() >= size;

	*m = (struct guest_mem){ .fd = -1, .requested = want };
	switch (want) {
	case MEM_HUGETLB:
		if (size % HUGE_2M)
			return err_set("--mem-backing hugetlb: guest RAM must be a multiple of 2 MiB");
		if (!hugetlb_fits)
			return err_set("--mem-backing hugetlb: %llu MiB of free 2 MiB hugepages needed, %llu free "
				       "(reserve them: echo N > /proc/sys/vm/nr_hugepages)",
				       (unsigned long long)(size >> 20), (unsigned long long)(free_hugepages_bytes() >> 20));
		return map_ram(m, size, MEM_HUGETLB);
	case MEM_THP:
		if (!shmem_thp_allowed())
			fprintf(stderr, "vmm: warning: --mem-backing thp: transparent_hugepage/shmem_enabled keeps "
					"shmem on 4 KiB pages (set it to advise)\n");
		return map_ram(m, size, MEM_THP);
	case MEM_4K:
		return map_ram(m, size, MEM_4K);
	default:
		if (hugetlb_fits && map_ram(m, size, MEM_HUGETLB) == 0)
			return 0;
		return map_ram(m, size, shmem_thp_allowed() ? MEM_THP : MEM_4K);
	}
}

void gmem_destroy(struct guest_mem *m)
{
	if (m->host)
		munmap(m->host, m->size);
	if (m->fd >= 0)
		close(m->fd);
	m->host = NULL;
	m->fd = -1;
	m->size = 0;
}

void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	/* Written so that no sum can overflow: len <= size first, then gpa <= size - len. */
	if (!m->host || len > m->size || gpa > m->size - len)
		return NULL;
	return m->host + gpa;
}

static uint64_t field_kib(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

int gmem_huge_open(void)
{
	return open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
}

uint64_t gmem_huge_kib(int fd)
{
	char buf[4096];
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;

	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* Guest RAM is the process's only shmem mapping that may have huge pages (hugetlb RAM is huge by
	 * construction: its pages are reserved when it is mapped). */
	return field_kib(buf, "ShmemPmdMapped:");
}

/* guest_mem.c - guest RAM, backed by 2 MiB pages when the host allows it, and the one checked
 * guest-physical -> host translation.
 *
 * Backings: hugetlb (a MFD_HUGETLB memfd: 2 MiB pages reserved at start-up, from the host's hugepage
 * pool), thp (transparent huge pages by MADV_HUGEPAGE), 4k (MADV_NOHUGEPAGE). Where the RAM lives depends
 * on who shares it: for in-VMM emulation private anonymous memory (THP for it needs only
 * transparent_hugepage/enabled = madvise, Debian's default, as QEMU's RAM gets), for --emulation process a
 * shmem memfd that the forked device process maps too (THP for shmem needs shmem_enabled = advise, which
 * stock hosts leave at never). auto takes the best the host gives: hugetlb when the free pool holds the RAM,
 * else thp when allowed, else 4k with a one-line note saying what would give huge pages. O_DIRECT and
 * io_uring pin guest pages for every request: on 4 KiB pages that is 32 pins for a 128 KiB read, one on a
 * huge page. */
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

/* Whether a transparent_hugepage knob lets madvised memory have huge pages: the bracketed word is one of
 * `ok` ("[always]", "[madvise]", "[advise]", "[within_size]"). */
static bool thp_allowed(const char *knob)
{
	static const char *const ok[] = { "[always]", "[madvise]", "[advise]", "[within_size]" };
	char path[96], buf[128] = "";
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/kernel/mm/transparent_hugepage/%s", knob);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; n > 0 && i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strstr(buf, ok[i]))
			return true;
	return false;
}

/* The knob that rules THP for this RAM: shmem's when shared with a device process, else anonymous memory's. */
static const char *thp_knob(bool shared)
{
	return shared ? "shmem_enabled" : "enabled";
}

static uint64_t free_hugepages_bytes(void)
{
	return read_u64("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") * HUGE_2M;
}

/* Private anonymous RAM aligned to 2 MiB (so every 2 MiB of guest-physical memory can be one huge page, in
 * this process and in KVM's mapping); NULL on failure. */
static void *map_private(uint64_t size)
{
	uint8_t *raw = mmap(NULL, size + HUGE_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0);
	uint8_t *p;

	if (raw == MAP_FAILED)
		return NULL;
	p = (uint8_t *)(((uintptr_t)raw + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + HUGE_2M > p)
		munmap(p + size, (size_t)(raw + HUGE_2M - p));
	return p;
}

/* A memfd of `size` bytes (hugetlb or shmem) mapped shared, so a forked device process sees the same pages;
 * sets *fd. NULL on failure (err_set). */
static void *map_shared(uint64_t size, enum mem_backing kind, int *fd)
{
	unsigned flags = MFD_CLOEXEC | (kind == MEM_HUGETLB ? MFD_HUGETLB | MFD_HUGE_2MB : 0);
	void *p;

	*fd = memfd_create("exitless-guest-ram", flags);
	if (*fd < 0) {
		err_set("memfd_create: %s", strerror(errno));
		return NULL;
	}
	if (ftruncate(*fd, (off_t)size) < 0) {
		err_set("cannot size guest RAM to %llu bytes: %s", (unsigned long long)size, strerror(errno));
		close(*fd);
		return NULL;
	}
	/* hugetlb: no MAP_NORESERVE, so a pool too small fails here, not with SIGBUS at the guest's touch. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | (kind == MEM_HUGETLB ? 0 : MAP_NORESERVE), *fd, 0);
	if (p == MAP_FAILED) {
		err_set("cannot map guest RAM (%s): %s", mem_backing_names[kind], strerror(errno));
		close(*fd);
		return NULL;
	}
	return p;
}

/* Maps the RAM as `kind` asks (hugetlb is always a shared memfd); returns 0 or -1 (err_set), leaving m
 * untouched on failure. */
static int map_ram(struct guest_mem *m, uint64_t size, enum mem_backing kind, bool shared)
{
	int fd = -1;
	void *p = shared || kind == MEM_HUGETLB ? map_shared(size, kind, &fd) : map_private(size);

	if (!p)
		return shared || kind == MEM_HUGETLB ? -1 : err_set("cannot map guest RAM: %s", strerror(errno));
	if (kind != MEM_HUGETLB && madvise(p, size, kind == MEM_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) < 0) {
		int e = errno;

		munmap(p, size);
		if (fd >= 0)
			close(fd);
		return err_set("madvise(%s): %s", kind == MEM_THP ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE", strerror(e));
	}
	*m = (struct guest_mem){ .fd = fd, .host = p, .size = size, .backing = kind, .requested = m->requested };
	return 0;
}

/* auto, when neither the hugetlb pool nor THP can back the RAM: 4 KiB pages, and one line saying what would
 * give it huge pages. */
static int auto_4k(struct guest_mem *m, uint64_t size, bool shared)
{
	unsigned long long pages = (size + HUGE_2M - 1) / HUGE_2M;

	fprintf(stderr, "vmm: note: guest RAM is on 4 KiB pages (%llu free 2 MiB hugepages needed, %llu free; "
			"transparent_hugepage/%s is off%s): reserve them (echo %llu > /proc/sys/vm/nr_hugepages) or set "
			"transparent_hugepage/%s to %s\n",
		pages, (unsigned long long)(free_hugepages_bytes() / HUGE_2M), thp_knob(shared),
		shared ? " for the memory a device process shares" : "", pages, thp_knob(shared),
		shared ? "advise" : "madvise");
	return map_ram(m, size, MEM_4K, shared);
}

int gmem_init(struct guest_mem *m, uint64_t size, enum mem_backing want, bool shared)
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
		return map_ram(m, size, MEM_HUGETLB, shared);
	case MEM_THP:
		if (!thp_allowed(thp_knob(shared)))
			fprintf(stderr, "vmm: warning: --mem-backing thp: transparent_hugepage/%s keeps this RAM on 4 KiB "
					"pages (set it to %s)\n", thp_knob(shared), shared ? "advise" : "madvise");
		return map_ram(m, size, MEM_THP, shared);
	case MEM_4K:
		return map_ram(m, size, MEM_4K, shared);
	default:
		if (hugetlb_fits && map_ram(m, size, MEM_HUGETLB, shared) == 0)
			return 0;
		if (thp_allowed(thp_knob(shared)))
			return map_ram(m, size, MEM_THP, shared);
		return auto_4k(m, size, shared);
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
	/* Guest RAM is the process's only memory madvised for huge pages (shmem when shared with a device
	 * process, anonymous otherwise); hugetlb RAM is huge by construction: its pages are reserved when it
	 * is mapped. With transparent_hugepage/enabled = always other anonymous memory may count too. */
	return field_kib(buf, "ShmemPmdMapped:") + field_kib(buf, "AnonHugePages:");
}

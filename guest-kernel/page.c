/* page.c - a bump allocator of 4 KiB pages over the PVH memory map's RAM, skipping the image and boot data. */
#include "kernel.h"

#define PAGE_SIZE    4096ull
#define E820_RAM     1
#define IDENTITY_END (1ull << 32)	/* entry.S maps the first 4 GiB */

static uint64_t next_free;	/* every page below it is taken or unusable */

static uint64_t align_up(uint64_t v) { return (v + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); }

void page_init(void) { next_free = align_up((uintptr_t)_end); }

/* The end of the boot-data range that [start, start + len) overlaps, or 0 when it overlaps none. */
static uint64_t boot_overlap_end(uint64_t start, uint64_t len)
{
	uint64_t a, s;

	for (unsigned i = 0; pvh_boot_range(i, &a, &s) == 0; i++)
		if (s && a < start + len && start < a + s)
			return a + s;
	return 0;
}

/* Tries to place len bytes in RAM range r at or above next_free. */
static uint64_t place_in(const struct pvh_mem_range *r, uint64_t len)
{
	uint64_t start = align_up(r->addr > next_free ? r->addr : next_free), end = r->addr + r->size, skip;

	if (end > IDENTITY_END)
		end = IDENTITY_END;
	while (start < end && len <= end - start) {
		skip = boot_overlap_end(start, len);
		if (!skip)
			return start;
		start = align_up(skip);
	}
	return 0;
}

void *page_alloc(size_t npages)
{
	struct pvh_mem_range r;
	uint64_t len = (uint64_t)npages * PAGE_SIZE, at;

	if (!npages || npages > IDENTITY_END / PAGE_SIZE)
		return NULL;
	for (unsigned i = 0; pvh_memmap(i, &r) == 0; i++) {
		if (r.type != E820_RAM || r.addr + r.size <= next_free)
			continue;
		at = place_in(&r, len);
		if (at) {
			next_free = at + len;
			return (void *)(uintptr_t)at;
		}
	}
	return NULL;
}

/* RAM above next_free in the identity map, boot data included: an upper bound of what page_alloc can give. */
uint64_t page_free_bytes(void)
{
	struct pvh_mem_range r;
	uint64_t total = 0, start, end;

	for (unsigned i = 0; pvh_memmap(i, &r) == 0; i++) {
		start = align_up(r.addr > next_free ? r.addr : next_free);
		end = r.addr + r.size < IDENTITY_END ? r.addr + r.size : IDENTITY_END;
		if (r.type == E820_RAM && end > start)
			total += end - start;
	}
	return total;
}

/* A free RAM page in [4 KiB, 640 KiB) (real-mode reachable: the APs' trampoline), or 0. Not handed out by
 * page_alloc, which starts above the image. */
uint64_t page_low(void)
{
	struct pvh_mem_range r;

	for (uint64_t at = PAGE_SIZE; at < 0xa0000; at += PAGE_SIZE) {
		if (boot_overlap_end(at, PAGE_SIZE))
			continue;
		for (unsigned i = 0; pvh_memmap(i, &r) == 0; i++)
			if (r.type == E820_RAM && r.addr <= at && at + PAGE_SIZE <= r.addr + r.size)
				return at;
	}
	return 0;
}

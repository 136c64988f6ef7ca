/* pvh.c - the PVH hvm_start_info (version 1): command line, module list and memory map. */
#include "kernel.h"

#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;	/* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

static const struct hvm_start_info *pvh;

static const void *phys(uint64_t paddr) { return (const void *)(uintptr_t)paddr; }

/* Accepts the start info only inside the identity map (below 4 GiB) and with the PVH magic. */
int pvh_init(uint64_t paddr)
{
	const struct hvm_start_info *si = phys(paddr);

	if (!paddr || paddr >= (1ull << 32) - sizeof(*si) || si->magic != HVM_START_MAGIC)
		return -1;
	pvh = si;
	return 0;
}

const char *pvh_cmdline(void) { return pvh && pvh->cmdline_paddr ? phys(pvh->cmdline_paddr) : ""; }

unsigned pvh_module_count(void) { return pvh && pvh->modlist_paddr ? pvh->nr_modules : 0; }

int pvh_module(unsigned n, const void **addr, size_t *size)
{
	const struct hvm_modlist_entry *m;

	if (n >= pvh_module_count())
		return -1;
	m = (const struct hvm_modlist_entry *)phys(pvh->modlist_paddr) + n;
	*addr = phys(m->paddr);
	*size = (size_t)m->size;
	return 0;
}

static unsigned memmap_count(void)
{
	return pvh && pvh->version >= 1 && pvh->memmap_paddr ? pvh->memmap_entries : 0;
}

int pvh_memmap(unsigned n, struct pvh_mem_range *out)
{
	const struct hvm_memmap_entry *e;

	if (n >= memmap_count())
		return -1;
	e = (const struct hvm_memmap_entry *)phys(pvh->memmap_paddr) + n;
	*out = (struct pvh_mem_range){ e->addr, e->size, e->type };
	return 0;
}

/* The n-th range of boot data the page allocator must not hand out: the start info, the command line,
 * the module list, the memory map, then each module. */
int pvh_boot_range(unsigned n, uint64_t *addr, uint64_t *size)
{
	const struct hvm_modlist_entry *m;

	if (!pvh)
		return -1;
	switch (n) {
	case 0: *addr = (uintptr_t)pvh; *size = sizeof(*pvh); return 0;
	case 1: *addr = pvh->cmdline_paddr; *size = strlen(pvh_cmdline()) + 1; return 0;
	case 2: *addr = pvh->modlist_paddr; *size = pvh_module_count() * sizeof(*m); return 0;
	case 3: *addr = pvh->memmap_paddr; *size = memmap_count() * sizeof(struct hvm_memmap_entry); return 0;
	}
	if (n - 4 >= pvh_module_count())
		return -1;
	m = (const struct hvm_modlist_entry *)phys(pvh->modlist_paddr) + (n - 4);
	*addr = m->paddr;
	*size = m->size;
	return 0;
}

uint64_t pvh_rsdp(void)
{
	return pvh ? pvh->rsdp_paddr : 0;
}

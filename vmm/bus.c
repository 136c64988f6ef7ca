/* bus.c - port-I/O and MMIO buses: regions of {base, len, handler}, looked up on every access. */
#include <string.h>

#include "vmm.h"

int bus_register(struct bus *b, const struct bus_region *r)
{
	if (b->n == BUS_MAX_REGIONS)
		return err_set("too many device regions (max %d)", BUS_MAX_REGIONS);
	if (r->len == 0 || r->base + r->len < r->base)
		return err_set("device region %s has a bad size", r->name);
	for (int i = 0; i < b->n; i++) {
		const struct bus_region *o = &b->r[i];

		if (r->base < o->base + o->len && o->base < r->base + r->len)
			return err_set("device region %s overlaps %s", r->name, o->name);
	}
	b->r[b->n++] = *r;
	return 0;
}

void bus_access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t size, bool is_write)
{
	for (int i = 0; i < b->n; i++) {
		struct bus_region *r = &b->r[i];

		if (addr >= r->base && addr - r->base < r->len) {
			r->access(r->opaque, addr - r->base, data, size, is_write);
			return;
		}
	}
	b->unclaimed++;
	if (!is_write)
		memset(data, 0xff, size);
}

int bus_unregister(struct bus *b, uint64_t base)
{
	for (int i = 0; i < b->n; i++)
		if (b->r[i].base == base) {
			b->r[i] = b->r[--b->n];
			return 0;
		}
	return err_set("no device region at %#llx", (unsigned long long)base);
}

/* irq.c - KVM's GSI routing: the table KVM_CREATE_IRQCHIP starts with (GSIs 0-15 to both PICs, 0-23 to the
 * IOAPIC's pins), plus one MSI route per vector a device's MSI-X table aims at a LAPIC. KVM_SET_GSI_ROUTING
 * replaces the whole table, so it is always written whole. An irqfd bound to an MSI route is delivered inline
 * in the eventfd write (no kernel worker, unlike an IOAPIC pin). Runs on a vCPU thread (MSI-X table writes)
 * under the bus lock, or at set-up. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "pci.h"

#define IOAPIC_PINS 24
#define PIC_PINS    16
#define MAX_ROUTES  (PIC_PINS + IOAPIC_PINS + LAYOUT_MAX_MSI)

/* The whole table as KVM_SET_GSI_ROUTING takes it: a header and its entries. */
static struct kvm_irq_routing *table;

static int add_default_routes(void)
{
	table = calloc(1, sizeof(*table) + MAX_ROUTES * sizeof(table->entries[0]));
	if (!table)
		return err_set("out of memory");
	for (unsigned pin = 0; pin < PIC_PINS; pin++)
		table->entries[table->nr++] = (struct kvm_irq_routing_entry){
			.gsi = pin, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = pin < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, .pin = pin % 8 } };
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		table->entries[table->nr++] = (struct kvm_irq_routing_entry){
			.gsi = pin, .type = KVM_IRQ_ROUTING_IRQCHIP, .u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = pin } };
	return 0;
}

static struct kvm_irq_routing_entry *find(unsigned gsi)
{
	for (uint32_t i = 0; i < table->nr; i++)
		if (table->entries[i].gsi == gsi && table->entries[i].type == KVM_IRQ_ROUTING_MSI)
			return &table->entries[i];
	return NULL;
}

int irq_route_msi(struct vmm *v, unsigned gsi, bool route, uint32_t addr_lo, uint32_t addr_hi, uint32_t data)
{
	struct kvm_irq_routing_entry *e;

	if (!table && add_default_routes() < 0)
		return -1;
	e = find(gsi);
	if (route && !e) {
		BUG_ON(table->nr == MAX_ROUTES);
		e = &table->entries[table->nr++];
	}
	if (route)
		*e = (struct kvm_irq_routing_entry){ .gsi = gsi, .type = KVM_IRQ_ROUTING_MSI,
						     .u.msi = { .address_lo = addr_lo, .address_hi = addr_hi, .data = data } };
	else if (e)
		*e = table->entries[--table->nr];
	else
		return 0;
	if (v->kvm.vm_fd >= 0 && ioctl(v->kvm.vm_fd, KVM_SET_GSI_ROUTING, table) < 0) /* no VM: the fuzz target */
		return err_set("KVM_SET_GSI_ROUTING: %s", strerror(errno));
	return 0;
}

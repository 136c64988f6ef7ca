/* irq.c - interrupt lines for CPL3 drivers: attach an IOAPIC pin, count its interrupts, halt until one comes. */
#include "kernel.h"

#define EINVAL 22
#define EBUSY  16

struct irq_line irq_lines[IRQ_MAX_GSI];
volatile uint64_t irq_total;

_Static_assert(sizeof(struct irq_line) == 32, "isr.S indexes irq_lines with a shift by 5");

long irq_attach(long gsi, uint64_t status_mmio, uint64_t ack_mmio)
{
	struct irq_line *l;

	if (gsi < 0 || gsi >= IRQ_MAX_GSI)
		return -EINVAL;
	l = &irq_lines[gsi];
	if (l->attached)
		return -EBUSY;
	apic_setup(-1);	/* a no-op when main's start-up code already chose the EOI mode */
	l->status_mmio = status_mmio;
	l->ack_mmio = ack_mmio;
	l->attached = 1;
	ioapic_route((unsigned)gsi, (uint8_t)(IRQ_VECTOR_BASE + gsi), apic_id());
	return IRQ_VECTOR_BASE + gsi;
}

long irq_count(long gsi)
{
	if (gsi == IRQ_ANY)
		return (long)irq_total;
	if (gsi < 0 || gsi >= IRQ_MAX_GSI)
		return -EINVAL;
	return (long)irq_lines[gsi].count;
}

/* Entered with interrupts off (interrupt gate). `sti; hlt`: sti takes effect after the next instruction,
 * so an interrupt arriving after the check can only be taken inside hlt, which it then ends: no lost
 * wake-up. The handler runs nested on this stack and iretq returns here with IF set; cli re-closes. */
long irq_wait(long gsi, uint64_t seen)
{
	long c;

	for (;;) {
		c = irq_count(gsi);
		if (c < 0 || (uint64_t)c != seen)
			return c;
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}

/* Delivers gsi's vector to this CPU through the LAPIC, without the device: exercises the same handler. */
long irq_raise(long gsi)
{
	if (gsi < 0 || gsi >= IRQ_MAX_GSI || !irq_lines[gsi].attached)
		return -EINVAL;
	apic_self_ipi((uint8_t)(IRQ_VECTOR_BASE + gsi));
	return 0;
}

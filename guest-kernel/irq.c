/* irq.c - interrupt lines for CPL3 drivers: attach an IOAPIC pin or take a message-signalled line, count its
 * interrupts, halt until one comes. */
#include "kernel.h"

#define EINVAL 22
#define EBUSY  16

struct irq_line irq_lines[IRQ_MAX_LINES];
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

/* A line no pin raises: whatever writes its vector to this CPU's LAPIC (a device's MSI) does. The handler
 * reads no device register (status_mmio 0). out[0] = the vector, out[1] = this CPU's APIC ID. */
long irq_msi(uint64_t out)
{
	uint32_t *o = (uint32_t *)(uintptr_t)out;

	apic_setup(-1);
	for (int line = IRQ_MAX_GSI; line < IRQ_TIMER_LINE; line++) {
		struct irq_line *l = &irq_lines[line];

		if (l->attached)
			continue;
		l->status_mmio = l->ack_mmio = 0;
		l->attached = 1;
		o[0] = IRQ_VECTOR_BASE + (uint32_t)line;
		o[1] = apic_id();
		return line;
	}
	return -EBUSY;
}

long irq_count(long line)
{
	if (line == IRQ_ANY)
		return (long)irq_total;
	if (line < 0 || line >= IRQ_MAX_LINES)
		return -EINVAL;
	return (long)irq_lines[line].count;
}

/* Entered with interrupts off (interrupt gate). `sti; hlt`: sti takes effect after the next instruction,
 * so an interrupt arriving after the check can only be taken inside hlt, which it then ends: no lost
 * wake-up. The handler runs nested on this stack and iretq returns here with IF set; cli re-closes. */
long irq_wait(long line, uint64_t seen)
{
	long c;

	for (;;) {
		c = irq_count(line);
		if (c < 0 || (uint64_t)c != seen)
			return c;
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}

/* Delivers the line's vector to this CPU through the LAPIC, without the device: exercises the same handler. */
long irq_raise(long line)
{
	if (line < 0 || line >= IRQ_MAX_LINES || !irq_lines[line].attached)
		return -EINVAL;
	apic_self_ipi((uint8_t)(IRQ_VECTOR_BASE + line));
	return 0;
}

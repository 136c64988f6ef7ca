/* apic.c - LAPIC (x2APIC or xAPIC, optional KVM PV EOI) and IOAPIC programming, at CPL0. */
#include "kernel.h"

#define MSR_APIC_BASE     0x1b
#define APIC_BASE_EN      (1u << 11)
#define APIC_BASE_EXTD    (1u << 10)
#define MSR_X2APIC_ID     0x802
#define MSR_X2APIC_SVR    0x80f
#define MSR_X2APIC_TIMER  0x832
#define MSR_X2APIC_LINT0  0x835
#define MSR_X2APIC_SELF_IPI 0x83f
#define MSR_X2APIC_ICR    0x830
#define MSR_KVM_PV_EOI_EN 0x4b564d04
#define MSR_TSC_DEADLINE  0x6e0
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)

#define XAPIC_BASE  0xfee00000ull
#define XAPIC_ID    0x020
#define XAPIC_SVR   0x0f0
#define XAPIC_TIMER 0x320
#define XAPIC_LINT0 0x350
#define XAPIC_ICR_LO 0x300
#define XAPIC_ICR_HI 0x310
#define XAPIC_ICR_SELF (1u << 18)
#define XAPIC_ICR_BUSY (1u << 12)
#define ICR_INIT_ASSERT 0xc500	/* INIT, level-triggered, assert (what Linux sends) */
#define ICR_STARTUP     0x0600	/* STARTUP: the AP starts in real mode at vector << 12 */

#define IOAPIC_BASE 0xfec00000ull
#define IOAPIC_WIN  0x10
#define IOAPIC_REDIR(pin) (0x10 + 2 * (pin))

#define SVR_ENABLE_SPURIOUS_FF 0x1ff
#define LVT_MASKED             0x10000
#define LVT_TSC_DEADLINE       (2u << 17)

uint8_t apic_x2apic, apic_pv_eoi;
volatile uint32_t apic_pv_eoi_word __attribute__((aligned(4)));
static uint8_t apic_ready;

static int cpu_has_x2apic(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	return (r[2] >> 21) & 1;
}

/* KVM's paravirtual EOI: advertised in CPUID 0x40000001 eax bit 6 behind the "KVMKVMKVM" signature. */
static int cpu_has_pv_eoi(void) { return (kvm_features() & KVM_FEATURE_PV_EOI) != 0; }

/* Enables the LAPIC with spurious vector 0xff; the timer and LINT0 (ExtINT from the legacy PIC after a
 * KVM reset) stay masked: this guest takes IOAPIC interrupts only. */
static void lapic_enable(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if (apic_x2apic) {
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
		wrmsr(MSR_X2APIC_SVR, SVR_ENABLE_SPURIOUS_FF);
		wrmsr(MSR_X2APIC_TIMER, LVT_MASKED);
		wrmsr(MSR_X2APIC_LINT0, LVT_MASKED);
		return;
	}
	wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN);
	*mmio32(XAPIC_BASE + XAPIC_SVR) = SVR_ENABLE_SPURIOUS_FF;
	*mmio32(XAPIC_BASE + XAPIC_TIMER) = LVT_MASKED;
	*mmio32(XAPIC_BASE + XAPIC_LINT0) = LVT_MASKED;
}

/* eoi_mode: IRQ_EOI_* or -1 for the default: KVM's PV EOI when CPUID offers it (as Linux takes it), on the x2APIC
 * when CPUID has one. x2APIC cannot be left again
 * without a reset, so after the first call the APIC mode is fixed; later calls only report it.
 * Returns the mode in effect. */
long apic_setup(int eoi_mode)
{
	int x2;

	if (apic_ready)
		return apic_eoi_mode();
	x2 = cpu_has_x2apic();
	apic_x2apic = x2 && eoi_mode != IRQ_EOI_XAPIC;
	lapic_enable();
	if ((eoi_mode == IRQ_EOI_PV || eoi_mode < 0) && cpu_has_pv_eoi()) {
		apic_pv_eoi_word = 0;
		wrmsr(MSR_KVM_PV_EOI_EN, (uint64_t)(uintptr_t)&apic_pv_eoi_word | 1);
		apic_pv_eoi = 1;
	}
	apic_ready = 1;
	return apic_eoi_mode();
}

/* Plain memory reads: callable at CPL3 too (every page is user-accessible). */
int apic_eoi_mode(void)
{
	if (!apic_ready)
		return -1;
	return apic_pv_eoi ? IRQ_EOI_PV : apic_x2apic ? IRQ_EOI_X2APIC : IRQ_EOI_XAPIC;
}

uint32_t apic_id(void)
{
	if (apic_x2apic)
		return (uint32_t)rdmsr(MSR_X2APIC_ID);
	return *mmio32(XAPIC_BASE + XAPIC_ID) >> 24;
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	*mmio32(IOAPIC_BASE) = reg;
	*mmio32(IOAPIC_BASE + IOAPIC_WIN) = v;
}

/* Fixed delivery, physical destination, active high, edge-triggered, unmasked (all those bits 0).
 * The high word goes first so the pin is never live with a stale destination. */
void ioapic_route(unsigned gsi, uint8_t vector, uint32_t dest_apic_id)
{
	ioapic_write(IOAPIC_REDIR(gsi) + 1, dest_apic_id << 24);
	ioapic_write(IOAPIC_REDIR(gsi), vector);
}

/* Fixed-delivery IPI to self: the x2APIC SELF_IPI register, or the xAPIC ICR with the "self" shorthand. */
void apic_self_ipi(uint8_t vector)
{
	if (apic_x2apic)
		wrmsr(MSR_X2APIC_SELF_IPI, vector);
	else
		*mmio32(XAPIC_BASE + XAPIC_ICR_LO) = XAPIC_ICR_SELF | vector;
}

/* An IPI with ICR low word lo to the CPU with APIC ID dest (physical destination). */
static void apic_ipi(uint32_t dest, uint32_t lo)
{
	if (apic_x2apic) {
		wrmsr(MSR_X2APIC_ICR, (uint64_t)dest << 32 | lo);
		return;
	}
	*mmio32(XAPIC_BASE + XAPIC_ICR_HI) = dest << 24;
	*mmio32(XAPIC_BASE + XAPIC_ICR_LO) = lo;
	while (*mmio32(XAPIC_BASE + XAPIC_ICR_LO) & XAPIC_ICR_BUSY)
		;
}

/* INIT (when init) and one STARTUP IPI to CPU apic_id: it runs the trampoline at vector << 12 in real mode.
 * No delays between them: KVM's in-kernel LAPIC takes them in order (hardware wants 10 ms after INIT, which
 * a guest on hardware would have to add). The boot CPU (0) cannot be started. */
long apic_start_cpu(uint32_t dest, uint32_t vector, int init)
{
	if (dest == 0 || dest >= GUEST_MAX_CPUS || vector == 0 || vector >= 0xa0)
		return -22;	/* -EINVAL */
	apic_setup(-1);	/* the boot CPU's LAPIC sends the IPIs */
	if (init)
		apic_ipi(dest, ICR_INIT_ASSERT);
	apic_ipi(dest, ICR_STARTUP | vector);
	return 0;
}

/* Halts the boot CPU until its TSC reaches tsc: the LAPIC timer in TSC-deadline mode raises line IRQ_TIMER_LINE
 * (a handler that only counts and EOIs); another interrupt ends one halt and the loop halts again; a deadline
 * already past fires at once, one that fires early is armed again. -ENODEV, and the caller spins instead, without the TSC-deadline timer in CPUID
 * or on another CPU (smp.c sets up no LAPIC there). Entered with interrupts off (the gate): `sti; hlt` as in
 * irq_wait, so the timer cannot fire unseen between the check and the halt. */
long apic_sleep_until(uint64_t tsc)
{
	static int8_t has_deadline = -1, lvt_set;
	uint32_t r[4], lvt = LVT_TSC_DEADLINE | (IRQ_VECTOR_BASE + IRQ_TIMER_LINE);

	if (has_deadline < 0) {
		cpuid(1, 0, r);
		has_deadline = (r[2] & CPUID_1_ECX_TSC_DEADLINE) != 0;
	}
	if (!has_deadline || !apic_ready || smp_this_cpu() != 0)
		return -19;	/* -ENODEV */
	if (!lvt_set) {	/* the mode first: a deadline written before it is ignored (SDM 10.5.4.1) */
		if (apic_x2apic) {
			wrmsr(MSR_X2APIC_TIMER, lvt);
		} else {
			*mmio32(XAPIC_BASE + XAPIC_TIMER) = lvt;
			__asm__ volatile("mfence" ::: "memory");	/* the SDM's order: the LVT, then the MSR */
		}
		lvt_set = 1;
	}
	wrmsr(MSR_TSC_DEADLINE, tsc);
	for (;;) {
		uint64_t seen = irq_lines[IRQ_TIMER_LINE].count;

		if (clock_tsc() >= tsc)
			return 0;
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		/* A timer that fired before the guest's TSC got there (a hypervisor's host timer runs on host
		 * time) disarmed itself: arm it again, or the next halt would wait for another interrupt. */
		if (irq_lines[IRQ_TIMER_LINE].count != seen && clock_tsc() < tsc)
			wrmsr(MSR_TSC_DEADLINE, tsc);
	}
}

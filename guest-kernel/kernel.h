/* kernel.h - internals of the guest kernel: CPL0 parts (entry.S, isr.S, trap.c, apic.c, irq.c, syscall.c) and start-up. */
#ifndef EXITLESS_GUEST_KERNEL_H
#define EXITLESS_GUEST_KERNEL_H

#include "guest.h"
#include "smp.h"

/* Selectors of the GDT in entry.S. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1b
#define SEL_UDATA 0x23
#define SEL_TSS   0x28	/* CPU i: SEL_TSS + 16 * i (entry.S) */

/* What exc_entry in isr.S saves, lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;	/* pushed by the CPU */
};

/* One IOAPIC pin as irq_entry in isr.S reads it: keep the layout (32 bytes, offsets 0/8/16) in sync. */
struct irq_line {
	uint64_t status_mmio;
	uint64_t ack_mmio;
	volatile uint64_t count;
	uint64_t attached;
};
extern struct irq_line irq_lines[IRQ_MAX_LINES];
extern volatile uint64_t irq_total;

/* EOI state read by irq_entry: apic_x2apic selects wrmsr vs MMIO, apic_pv_eoi enables the PV EOI test. */
extern uint8_t apic_x2apic, apic_pv_eoi;
extern volatile uint32_t apic_pv_eoi_word;

__attribute__((noreturn)) void trap_crash(struct trap_frame *f);
long syscall_dispatch(long nr, long a, long b, long c);
long apic_setup(int eoi_mode);
int apic_eoi_mode(void);	/* IRQ_EOI_* in effect, -1 before apic_setup; readable at CPL3 */
void ioapic_route(unsigned gsi, uint8_t vector, uint32_t apic_id);
uint32_t apic_id(void);
long irq_attach(long gsi, uint64_t status_mmio, uint64_t ack_mmio);
long irq_wait(long gsi, uint64_t seen);
long irq_raise(long gsi);
long irq_msi(uint64_t out);
void apic_self_ipi(uint8_t vector);
long apic_sleep_until(uint64_t tsc);
long apic_start_cpu(uint32_t apic_id, uint32_t vector, int init);

/* The hvm_start_info address from ebx at the PVH entry (entry.S). */
extern uint64_t pvh_start_info_paddr;

/* Start-up at CPL3 (start.c, pvh.c, cmdline.c, clock.c, page.c, selftest.c). */
int pvh_init(uint64_t start_info_paddr);
const char *pvh_cmdline(void);
int pvh_boot_range(unsigned n, uint64_t *addr, uint64_t *size);
void kcmd_init(const char *raw);
void clock_init(void);
void page_init(void);
int selftest_run(const char *names);
extern char _kernel_start[], _end[];

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define KVM_FEATURE_PV_EOI       (1u << 6)
#define KVM_FEATURE_POLL_CONTROL (1u << 12)

/* KVM's paravirtual features (CPUID 0x40000001 eax, KVM_FEATURE_* bits) behind the "KVMKVMKVM" signature; 0 when
 * the hypervisor is not KVM. */
static inline uint32_t kvm_features(void)
{
	uint32_t r[4];

	cpuid(0x40000000, 0, r);
	if (r[1] != 0x4b4d564b || r[2] != 0x564b4d56 || r[3] != 0x4d || r[0] < 0x40000001)
		return 0;
	cpuid(0x40000001, 0, r);
	return r[0];
}

static inline volatile uint32_t *mmio32(uint64_t addr) { return (volatile uint32_t *)(uintptr_t)addr; }

#endif

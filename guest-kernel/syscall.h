/* syscall.h - the guest's system-call ABI: CPL3 code reaches CPL0 through int3 (a DPL3 #BP interrupt gate).
 *
 * Why int3: under PVM, `syscall` stays at CPL3 and `int n` raises #UD; int3 reaches a DPL3 gate everywhere.
 * Convention: number in rax, arguments in rdi, rsi, rdx; the result comes back in rax (negative = -errno).
 * The kernel entry saves nothing but what it uses itself, so rcx, rdx, rsi, rdi, r8-r11 are clobbered
 * (as in a C call): every CPL0 instruction is emulated under PVM (~0.55 us), so the gate stays minimal.
 *
 *   nr  name        arguments                              result
 *   0   exit        code                                   does not return (writes port 0xf4)
 *   1   ping        a, b, c                                a + 2*b + 3*c (checks the gate's argument path)
 *   2   irq_setup   eoi mode (IRQ_EOI_*)                   the mode in effect (pv falls back when absent)
 *   3   irq_attach  gsi, status_mmio_addr, ack_mmio_addr   vector, or -EINVAL (bad gsi), -EBUSY (taken)
 *   4   irq_wait    gsi (or IRQ_ANY), seen_count           the count once it differs from seen_count
 *   5   irq_count   gsi (or IRQ_ANY)                       the count of interrupts taken on gsi
 *   6   cpuid       leaf, subleaf, uint32_t out[4]         0; out = eax, ebx, ecx, edx as the VMM emulates them
 *   7   kvmclock    paddr of a struct pvclock_vcpu_time_info, 0 to stop  0, or -ENODEV without KVM clocksource2
 *   8   irq_raise   gsi                                    0: a self-IPI on gsi's vector, as if the pin fired (tests)
 *   9   hold        -                                      does not return: halts with interrupts off (hold=1)
 *  10   cpu_start   cpu, SIPI vector, with INIT (1) or not (0) 0, or -EINVAL: INIT (then) STARTUP IPIs to CPU cpu
 *  11   irq_msi     uint32_t out[2]                        a free MSI line (>= IRQ_MAX_GSI), or -EBUSY: out = its vector and
 *                                                          this CPU's APIC ID, what a device's MSI message names
 *  12   sleep_until TSC value                              0 once the TSC reached it (the CPU halted meanwhile), or
 *                                                          -ENODEV (no TSC-deadline timer, or not CPU 0): spin instead
 *  13   host_haltpoll 0 or 1                                0, or -ENODEV without KVM_FEATURE_POLL_CONTROL: 0 turns KVM's halt
 *                                                          polling for this vCPU off (MSR_KVM_POLL_CONTROL), 1 on again
 *
 * irq_attach routes IOAPIC pin gsi (edge-triggered, active high, fixed delivery to this CPU) to vector
 * IRQ_VECTOR_BASE + gsi. Its CPL0 handler reads 32 bits at status_mmio_addr, writes that value to
 * ack_mmio_addr (virtio-mmio InterruptStatus / InterruptACK; status 0 skips both), counts the interrupt and
 * EOIs the LAPIC. irq_msi hands out a line that no pin raises: a device's MSI (address 0xfee00000 | APIC ID << 12,
 * data = the vector) raises it, and its handler touches no device register, only counts and EOIs. * EOIs the LAPIC. irq_wait returns at once when the count already differs, otherwise halts (sti; hlt, whose
 * interrupt shadow closes the lost-wake-up window) until an interrupt changes it.
 */
#ifndef EXITLESS_GUEST_SYSCALL_H
#define EXITLESS_GUEST_SYSCALL_H

#define SYS_EXIT       0
#define SYS_PING       1
#define SYS_IRQ_SETUP  2
#define SYS_IRQ_ATTACH 3
#define SYS_IRQ_WAIT   4
#define SYS_IRQ_COUNT  5
#define SYS_CPUID      6
#define SYS_KVMCLOCK   7
#define SYS_IRQ_RAISE  8
#define SYS_HOLD       9
#define SYS_CPU_START  10
#define SYS_IRQ_MSI    11
#define SYS_SLEEP_UNTIL 12
#define SYS_HOST_HALTPOLL 13
#define SYS_COUNT      14

#define IRQ_EOI_XAPIC  0	/* MMIO write to the LAPIC EOI register */
#define IRQ_EOI_X2APIC 1	/* wrmsr 0x80b */
#define IRQ_EOI_PV     2	/* KVM PV EOI (MSR 0x4b564d04): skips the EOI write when KVM marked it unneeded */

#define IRQ_VECTOR_BASE 0x30
#define IRQ_MAX_GSI     24	/* IOAPIC pins: lines 0 .. 23 */
#define IRQ_MAX_MSI     33	/* message-signalled lines: IRQ_MAX_GSI .. IRQ_MAX_LINES - 1, the last the timer's */
#define IRQ_MAX_LINES   (IRQ_MAX_GSI + IRQ_MAX_MSI)
#define IRQ_TIMER_LINE  (IRQ_MAX_LINES - 1)	/* sleep_until's LAPIC timer: the last MSI line, never handed out (32 left) */
#define IRQ_ANY         (-1L)	/* irq_wait / irq_count: the sum over all lines (the timer's included) */

#ifndef __ASSEMBLER__
#include <stdint.h>

static inline long syscall3(long nr, long a, long b, long c)
{
	register long rdx __asm__("rdx") = c;

	__asm__ volatile("int3"
			 : "+a"(nr), "+D"(a), "+S"(b), "+r"(rdx)
			 :
			 : "rcx", "r8", "r9", "r10", "r11", "memory", "cc");
	return nr;
}

static inline __attribute__((noreturn)) void sys_exit(int code)
{
	syscall3(SYS_EXIT, code, 0, 0);
	__builtin_unreachable();
}

static inline __attribute__((noreturn)) void sys_hold(void)
{
	syscall3(SYS_HOLD, 0, 0, 0);
	__builtin_unreachable();
}

static inline long sys_ping(long a, long b, long c) { return syscall3(SYS_PING, a, b, c); }
static inline long sys_irq_setup(int eoi_mode) { return syscall3(SYS_IRQ_SETUP, eoi_mode, 0, 0); }
static inline long sys_irq_wait(long gsi, uint64_t seen) { return syscall3(SYS_IRQ_WAIT, gsi, (long)seen, 0); }
static inline long sys_irq_count(long gsi) { return syscall3(SYS_IRQ_COUNT, gsi, 0, 0); }

static inline long sys_irq_attach(int gsi, uintptr_t status_mmio, uintptr_t ack_mmio)
{
	return syscall3(SYS_IRQ_ATTACH, gsi, (long)status_mmio, (long)ack_mmio);
}

static inline long sys_kvmclock(uintptr_t paddr) { return syscall3(SYS_KVMCLOCK, (long)paddr, 0, 0); }

static inline long sys_irq_raise(long gsi) { return syscall3(SYS_IRQ_RAISE, gsi, 0, 0); }

static inline long sys_irq_msi(uint32_t out[2]) { return syscall3(SYS_IRQ_MSI, (long)out, 0, 0); }

static inline long sys_sleep_until(uint64_t tsc) { return syscall3(SYS_SLEEP_UNTIL, (long)tsc, 0, 0); }
/* 0: KVM does not poll after this vCPU halts (the guest polls itself); 1: it does (the default). */
static inline long sys_host_haltpoll(int on) { return syscall3(SYS_HOST_HALTPOLL, on, 0, 0); }

static inline long sys_cpu_start(unsigned cpu, unsigned vector, int init)
{
	return syscall3(SYS_CPU_START, cpu, vector, init);
}

static inline void sys_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	syscall3(SYS_CPUID, leaf, subleaf, (long)out);
}
#endif

#endif

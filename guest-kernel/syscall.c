/* syscall.c - the CPL0 side of the int3 system-call gate: one switch over the numbers of syscall.h. */
#include "kernel.h"

#define EINVAL 22
#define ENODEV 19

#define MSR_KVM_SYSTEM_TIME_NEW   0x4b564d01
#define MSR_KVM_POLL_CONTROL      0x4b564d05

static long sys_cpuid_into(uint32_t leaf, uint32_t sub, uint64_t out)
{
	uint32_t r[4];

	cpuid(leaf, sub, r);	/* at CPL0 the VMM's CPUID answers; at CPL3 the CPU may answer natively */
	memcpy((void *)(uintptr_t)out, r, sizeof(r));
	return 0;
}

/* Points KVM's per-vCPU time structure at paddr (CPL3 reads it: version, tsc_to_system_mul, tsc_shift). */
static long sys_kvmclock_at(uint64_t paddr)
{
	if (!(kvm_features() & KVM_FEATURE_CLOCKSOURCE2))
		return -ENODEV;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, paddr ? paddr | 1 : 0);
	return 0;
}

/* KVM's poll control (as Linux's cpuidle-haltpoll writes it): bit 0 of the MSR clear, a halt of this vCPU blocks at
 * once instead of KVM polling for a wake-up first (halt_poll_ns); set, KVM polls again. For a guest that polls
 * where polling pays itself (completion=poll or hybrid), the host's polling after its halt only burns the CPU. */
static long host_haltpoll_set(long on)
{
	if (!(kvm_features() & KVM_FEATURE_POLL_CONTROL))
		return -ENODEV;
	wrmsr(MSR_KVM_POLL_CONTROL, on ? 1 : 0);
	return 0;
}

/* Entered from syscall_entry (isr.S) with interrupts off (the #BP gate is an interrupt gate). */
long syscall_dispatch(long nr, long a, long b, long c)
{
	switch (nr) {
	case SYS_EXIT:
		guest_exit((int)a);
	case SYS_PING:
		return a + 2 * b + 3 * c;
	case SYS_IRQ_SETUP:
		return apic_setup((int)a);
	case SYS_IRQ_ATTACH:
		return irq_attach(a, (uint64_t)b, (uint64_t)c);
	case SYS_IRQ_WAIT:
		return irq_wait(a, (uint64_t)b);
	case SYS_IRQ_COUNT:
		return irq_count(a);
	case SYS_CPUID:
		return sys_cpuid_into((uint32_t)a, (uint32_t)b, (uint64_t)c);
	case SYS_KVMCLOCK:
		return sys_kvmclock_at((uint64_t)a);
	case SYS_IRQ_RAISE:
		return irq_raise(a);
	case SYS_IRQ_MSI:
		return irq_msi((uint64_t)a);
	case SYS_HOST_HALTPOLL:
		return host_haltpoll_set(a);
	case SYS_SLEEP_UNTIL:
		return apic_sleep_until((uint64_t)a);
	case SYS_CPU_START:
		return apic_start_cpu((uint32_t)a, (uint32_t)b, (int)c);
	case SYS_HOLD:
		for (;;)
			__asm__ volatile("cli; hlt");
	default:
		return -EINVAL;
	}
}

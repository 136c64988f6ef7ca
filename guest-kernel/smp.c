/* smp.c - the application processors, at CPL3: how many there are, and running one function on several.
 *
 * An AP is started for each smp_run(): INIT and STARTUP IPIs (SYS_CPU_START) send it through the real-mode
 * trampoline of entry.S, which a copy in a free page below 1 MiB makes reachable, into long mode and CPL3 at
 * ap_user_start(cpu). It runs its slot's function, says it is done and halts with interrupts off until the
 * next INIT. So an idle AP costs nothing, and no AP takes an interrupt: its LAPIC stays as INIT left it
 * (software-disabled), every device interrupt goes to CPU 0. */
#include "kernel.h"

#define START_TIMEOUT_NS 200000000ull	/* per attempt: a STARTUP IPI again after this, then give up */

enum { SLOT_IDLE, SLOT_GIVEN, SLOT_RUNNING, SLOT_DONE };

struct smp_slot {
	void (*fn)(void *arg, unsigned cpu);
	void *arg;
	uint32_t state;	/* SLOT_*, written with release and read with acquire ordering */
};

static struct smp_slot slots[GUEST_MAX_CPUS];
extern char kstacks[], ustacks[];
static uint64_t trampoline_page;
extern const char ap_trampoline[], ap_trampoline_end[];

unsigned smp_this_cpu(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	if (sp >= (uintptr_t)ustacks)
		return (unsigned)((sp - (uintptr_t)ustacks) >> USTACK_SHIFT);
	return (unsigned)((sp - (uintptr_t)kstacks) >> KSTACK_SHIFT);
}

unsigned smp_cpus(void)
{
	static unsigned n;
	uint32_t r[4];
	int ok = 1;
	uint64_t cap;

	if (n)
		return n;
	n = 1;
	sys_cpuid(0, 0, r);
	if (r[0] >= 0xb) {
		uint32_t t[4];

		sys_cpuid(0xb, 1, t);	/* the core level: logical processors in the package */
		if (((t[2] >> 8) & 0xff) == 2 && (t[1] & 0xffff))
			n = t[1] & 0xffff;
	}
	if (n == 1) {
		sys_cpuid(1, 0, r);
		if (r[3] & (1u << 28))	/* HTT: EBX[23:16] counts the package's logical processors */
			n = (r[1] >> 16) & 0xff;
	}
	if (n < 1)
		n = 1;
	if (n > GUEST_MAX_CPUS)
		n = GUEST_MAX_CPUS;
	cap = kcmd_u64("cpus", n, &ok);
	if (ok && cap >= 1 && cap < n)
		n = (unsigned)cap;
	return n;
}

/* The trampoline's copy: the first free RAM page below 640 KiB, above page 0 (the real-mode IVT). */
static int place_trampoline(void)
{
	uint64_t len = (uint64_t)(ap_trampoline_end - ap_trampoline), at = page_low();

	if (trampoline_page)
		return 0;
	if (!at || len > 4096) {
		kprintf("smp: no free page below 640 KiB for the AP trampoline\n");
		return -1;
	}
	memcpy((void *)(uintptr_t)at, ap_trampoline, (size_t)len);
	trampoline_page = at;
	return 0;
}

static uint32_t slot_state(unsigned cpu) { return __atomic_load_n(&slots[cpu].state, __ATOMIC_ACQUIRE); }

/* Starts CPU cpu on its slot: INIT + STARTUP, then one more STARTUP if it has not reached CPL3 in time. */
static int start_cpu(unsigned cpu)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		uint64_t t0 = clock_ns();

		if (sys_cpu_start(cpu, (unsigned)(trampoline_page >> 12), attempt == 0) != 0)
			return -1;
		while (slot_state(cpu) == SLOT_GIVEN && clock_ns() - t0 < START_TIMEOUT_NS)
			__asm__ volatile("pause");
		if (slot_state(cpu) != SLOT_GIVEN)
			return 0;
	}
	kprintf("smp: CPU %u did not start (INIT, STARTUP twice, %llu ms each)\n", cpu,
		START_TIMEOUT_NS / 1000000);
	return -1;
}

int smp_run(unsigned n, void (*fn)(void *arg, unsigned cpu), void *arg)
{
	unsigned cpu;

	if (n == 0 || n > smp_cpus()) {
		kprintf("smp: %u CPUs asked for, the guest has %u (build/vmm --cpus N, QEMU -smp N)\n", n, smp_cpus());
		return -1;
	}
	if (n > 1 && place_trampoline() != 0)
		return -1;
	for (cpu = 1; cpu < n; cpu++) {
		slots[cpu].fn = fn;
		slots[cpu].arg = arg;
		__atomic_store_n(&slots[cpu].state, SLOT_GIVEN, __ATOMIC_RELEASE);
		if (start_cpu(cpu) != 0)
			guest_exit(ABI_EXIT_FAIL);	/* CPUs already started run fn: nothing sane is left to do */
	}
	fn(arg, 0);
	for (cpu = 1; cpu < n; cpu++)
		while (slot_state(cpu) != SLOT_DONE)
			__asm__ volatile("pause");
	for (cpu = 1; cpu < n; cpu++)	/* releases the APs into their halt: not before every fn returned */
		__atomic_store_n(&slots[cpu].state, SLOT_IDLE, __ATOMIC_RELEASE);
	return 0;
}

/* entry.S irets here at CPL3 on an AP, with its own stacks. */
__attribute__((noreturn)) void ap_user_start(unsigned cpu)
{
	struct smp_slot *s = &slots[cpu];

	if (cpu < GUEST_MAX_CPUS && slot_state(cpu) == SLOT_GIVEN) {
		__atomic_store_n(&s->state, SLOT_RUNNING, __ATOMIC_RELEASE);
		s->fn(s->arg, cpu);
		__atomic_store_n(&s->state, SLOT_DONE, __ATOMIC_RELEASE);
		while (slot_state(cpu) == SLOT_DONE)	/* a halt is an exit: not while other CPUs still measure */
			__asm__ volatile("pause");
	}
	sys_hold();
}

/* clock.c - TSC time: the frequency from `tsc_khz=`, else from the CPUID leaves the VMM emulates. */
#include "kernel.h"

static uint32_t tsc_khz;
static const char *tsc_source = "none";
static uint64_t ns_per_tick_q32;	/* nanoseconds per tick, 32.32 fixed point: no division per reading */

/* CPUID at CPL0 (through the gate): at CPL3 a PVM guest may see the host CPU's own answer. */
static uint32_t cpuid_khz(void)
{
	uint32_t r[4];

	sys_cpuid(0x40000000, 0, r);
	if (r[0] >= 0x40000010 && r[0] < 0x40000100) {
		sys_cpuid(0x40000010, 0, r);	/* VMware/QEMU timing leaf: eax = TSC kHz */
		if (r[0]) {
			tsc_source = "cpuid-0x40000010";
			return r[0];
		}
	}
	sys_cpuid(0, 0, r);
	if (r[0] >= 0x15) {
		uint32_t max = r[0];

		sys_cpuid(0x15, 0, r);	/* TSC = crystal (ecx Hz) * ebx / eax */
		if (r[0] && r[1] && r[2]) {
			tsc_source = "cpuid-0x15";
			return (uint32_t)((uint64_t)r[2] * r[1] / r[0] / 1000);
		}
		if (max >= 0x16) {
			sys_cpuid(0x16, 0, r);	/* base frequency in MHz */
			if (r[0]) {
				tsc_source = "cpuid-0x16";
				return r[0] * 1000;
			}
		}
	}
	return 0;
}

/* KVM's pvclock scales TSC ticks to ns by mul / 2^32 after a shift: its inverse is the TSC frequency, as exact
 * as KVM knows it (Linux's pvclock_tsc_khz). Asked for only when nothing above answered. */
struct pvclock_time {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
};

static uint32_t kvmclock_khz(void)
{
	static volatile struct pvclock_time pvt __attribute__((aligned(32)));
	uint64_t khz = 1000000ull << 32;

	if (sys_kvmclock((uintptr_t)&pvt) != 0)
		return 0;
	sys_kvmclock(0);	/* KVM filled it in on the MSR write; stop further updates */
	if (!pvt.tsc_to_system_mul || (pvt.version & 1))
		return 0;
	khz /= pvt.tsc_to_system_mul;
	khz = pvt.tsc_shift < 0 ? khz << -pvt.tsc_shift : khz >> pvt.tsc_shift;
	tsc_source = "kvmclock";
	return (uint32_t)khz;
}

void clock_init(void)
{
	int ok;
	uint64_t khz = kcmd_u64("tsc_khz", 0, &ok);

	if (khz && ok && khz < (1ull << 32)) {
		tsc_khz = (uint32_t)khz;
		tsc_source = "cmdline";
	} else {
		tsc_khz = cpuid_khz();
		if (!tsc_khz)
			tsc_khz = kvmclock_khz();
	}
	ns_per_tick_q32 = (1000000ull << 32) / (tsc_khz ? tsc_khz : 1000000);
}

uint32_t clock_tsc_khz(void) { return tsc_khz; }
const char *clock_source(void) { return tsc_source; }

uint64_t clock_tsc_to_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * ns_per_tick_q32) >> 32);
}

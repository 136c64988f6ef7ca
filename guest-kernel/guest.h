/* guest.h - what the guest kernel offers the code that runs at CPL3: console, results, command line, modules, clock, memory. */
#ifndef EXITLESS_GUEST_H
#define EXITLESS_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include "abi.h"
#include "klib.h"
#include "syscall.h"

/* Port I/O. At CPL3 only the ports cleared in the TSS I/O bitmap work (COM1, COM2, 0xf4-0xf7, 0xf8); each
 * access is an exit to the VMM (~25 us under PVM), so the console never polls the line status. */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* console.c - COM1 is the human console, COM2 the machine-readable results channel. Both write whole
 * buffers with one `rep outsb` (one exit per call, not per byte); usable at CPL3 and at CPL0. */
void con_write(const char *s, size_t n);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
void res_write(const char *s, size_t n);
int res_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Ends the VM through the debug-exit port with an ABI_EXIT_* code (QEMU's status is (code << 1) | 1). */
__attribute__((noreturn)) void guest_exit(int code);

/* Brackets the measured window: the VMM snapshots KVM statistics and thread CPU time at each mark. */
static inline void mark_begin(void) { outb(ABI_MARKER_PORT, ABI_MARK_BEGIN); }
static inline void mark_end(void) { outb(ABI_MARKER_PORT, ABI_MARK_END); }

/* cmdline.c - the boot command line as `key=value` words (Linux style; "double quotes" may wrap blanks).
 * kcmd_get: the value of the first word `key=...` ("" for a bare `key`), or NULL when absent.
 * kcmd_get_nth: the value of the n-th (from 0) word with that key, for repeated keys such as
 * `virtio_mmio.device=`. kcmd_u64: a number (base prefixes 0x/0 accepted) or def when absent;
 * *ok (if not NULL) is 0 when the value is present but not a whole number. */
const char *kcmd_line(void);
const char *kcmd_get(const char *key);
const char *kcmd_get_nth(const char *key, int n);
uint64_t kcmd_u64(const char *key, uint64_t def, int *ok);

/* pvh.c - the hvm_start_info the loader handed over. pvh_module: address and size of module n (0 = the job
 * file), returns 0, or -1 when there is no such module. Memory map entries use E820 types (1 = RAM). */
struct pvh_mem_range {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};
int pvh_module(unsigned n, const void **addr, size_t *size);
unsigned pvh_module_count(void);
int pvh_memmap(unsigned n, struct pvh_mem_range *out);
/* The RSDP address the loader gave (0: none; then ACPI is found by scanning the BIOS area). */
uint64_t pvh_rsdp(void);

/* clock.c - TSC time. The frequency comes from `tsc_khz=` (build/vmm passes KVM_GET_TSC_KHZ), else CPUID
 * 0x40000010, else 0x15/0x16, else KVM's pvclock scale; clock_tsc_khz() is 0 when none of them told it (clock_ns then assumes 1 GHz). */
static inline uint64_t clock_tsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
uint32_t clock_tsc_khz(void);
const char *clock_source(void);	/* "cmdline", "cpuid-0x40000010", "cpuid-0x15", "cpuid-0x16", "kvmclock" or "none" */
uint64_t clock_tsc_to_ns(uint64_t ticks);
static inline uint64_t clock_ns(void) { return clock_tsc_to_ns(clock_tsc()); }

/* page.c - a bump allocator of 4 KiB pages over the RAM of the PVH memory map, above the kernel image and
 * around the boot data (start info, command line, modules). Never frees; pages come as the VMM left them
 * (zero in a fresh VM). gpa == va: the first 4 GiB are identity-mapped and user-accessible. NULL when out. */
void *page_alloc(size_t npages);
uint64_t page_free_bytes(void);
uint64_t page_low(void);

/* smp.c - the other vCPUs. smp_cpus(): the CPUs of the guest (CPUID topology; `cpus=N` on the command line
 * uses fewer). smp_run(n, fn, arg): runs fn(arg, i) at CPL3 on CPUs 0..n-1 at once (i = the CPU; 0 is the
 * caller's) and returns when every one has returned: 0, or -1 after a console line when n is more than
 * smp_cpus(). The functions share memory; nothing else (the console, the allocator) is made safe for them. */
unsigned smp_cpus(void);
int smp_run(unsigned n, void (*fn)(void *arg, unsigned cpu), void *arg);
unsigned smp_this_cpu(void);	/* the CPU running the caller (from the stack it runs on) */

/* irq.c - the count of interrupts CPU 0 took on pin gsi (or IRQ_ANY), -EINVAL for a bad gsi: plain reads of
 * volatile counters, so callable on any CPU at CPL3 too (what SYS_IRQ_COUNT returns, without the gate). */
long irq_count(long gsi);

/* selftest.c - built-in self-tests, run by `test=NAME[,NAME...]`. Any source file can add one: */
struct guest_test {
	const char *name;
	int (*run)(void);	/* 0 = PASS */
	int in_all;		/* part of test=all (0 for the destructive ones: fault, spin) */
};
#define GUEST_TEST(tname, fn, all) \
	static const struct guest_test guest_test_##fn \
		__attribute__((used, no_reorder, section("guest_tests"), aligned(8))) = { tname, fn, all }

/* The application hook: when a file linked into the guest defines app_main, main() calls it with module 0
 * (the job file) and exits with its result; guest-kernel/app/app.c runs it through the fio engine. */
int app_main(const void *job, size_t job_len) __attribute__((weak));

#endif

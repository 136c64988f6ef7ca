/* trap.c - the crash report of a CPU exception (CPL0): vector name, error code, rip, cr2, CPL, registers; exit 3. */
#include "kernel.h"

static const char *const exception_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range exceeded", "invalid opcode",
	"device not available", "double fault", "coprocessor segment overrun", "invalid TSS",
	"segment not present", "stack-segment fault", "general protection fault", "page fault", "reserved",
	"x87 floating-point error", "alignment check", "machine check", "SIMD floating-point error",
	"virtualization exception", "control protection exception", "reserved", "reserved", "reserved",
	"reserved", "reserved", "reserved", "hypervisor injection exception", "VMM communication exception",
	"security exception", "reserved",
};

static uint64_t read_cr2(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

/* Called from exc_entry with interrupts off; formatting at CPL0 is slow under PVM (a few ms) but a crash
 * happens once. The report's first two lines are matched by tests: keep their words. */
void trap_crash(struct trap_frame *f)
{
	const char *name = f->vector < 32 ? exception_names[f->vector] : "unknown vector";

	kprintf("exitless guest: CPU exception: %s (vector %lu) at CPL %lu\n", name, f->vector, f->cs & 3);
	kprintf("  error=%#lx rip=%#lx cr2=%#lx rsp=%#lx rflags=%#lx\n", f->error, f->rip, read_cr2(), f->rsp,
		f->rflags);
	kprintf("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	kprintf("  rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
	kprintf("  r9 =%016lx r10=%016lx r11=%016lx r12=%016lx\n", f->r9, f->r10, f->r11, f->r12);
	kprintf("  r13=%016lx r14=%016lx r15=%016lx cs=%#lx ss=%#lx\n", f->r13, f->r14, f->r15, f->cs, f->ss);
	guest_exit(ABI_EXIT_CRASH);
}

/* start.c - the first CPL3 code: checks the PVH hand-over, initialises the runtime, runs main, exits. */
#include "kernel.h"

int main(void);

/* `eoi=x2apic|xapic|pv`; absent: -1, the kernel's default (PV EOI when KVM offers it, on the x2APIC when CPUID has
 * one). */
static int eoi_mode_from_cmdline(void)
{
	const char *v = kcmd_get("eoi");

	if (!v)
		return -1;
	if (!strcmp(v, "x2apic"))
		return IRQ_EOI_X2APIC;
	if (!strcmp(v, "xapic"))
		return IRQ_EOI_XAPIC;
	if (!strcmp(v, "pv"))
		return IRQ_EOI_PV;
	kprintf("exitless guest: bad eoi=%s on the command line: use eoi=x2apic, eoi=xapic or eoi=pv\n", v);
	guest_exit(ABI_EXIT_BADARG);
}

/* The end of a run: the exit code through port 0xf4, or with hold=1 on the command line a halt that keeps
 * the VM (and its counters) in place for a VMM that reads them afterwards (the kit's QEMU exit counts). */
__attribute__((noreturn)) static void finish(int code)
{
	if (kcmd_get("hold")) {
		kprintf("exitless guest: exit code %d, holding (hold=1)\n", code);
		sys_hold();
	}
	guest_exit(code);
}

/* entry.S irets here at CPL3 with interrupts enabled and the user stack. */
__attribute__((noreturn)) void user_start(void)
{
	if (pvh_init(pvh_start_info_paddr) != 0) {
		kprintf("exitless guest: no PVH start info (ebx=%#lx): boot this ELF through its PVH note\n",
			pvh_start_info_paddr);
		guest_exit(ABI_EXIT_BADARG);
	}
	kcmd_init(pvh_cmdline());
	page_init();
	clock_init();
	sys_irq_setup(eoi_mode_from_cmdline());
	finish(main());
}

/* modes.c - the experiment switches as tables: each mode's name, its help line and what it does.
 * These tables drive the options (choices and errors), --help, the guest's command line and the stats. */
#include "virtio.h"

const struct request_mode request_modes[] = {
	{ { "exit", "QueueNotify traps to the vCPU thread, which hands the requests off" },
	  .ioeventfd = false, .polls = false },
	{ { "ioeventfd", "QueueNotify is caught in-kernel and wakes the IOCore" },
	  .ioeventfd = true, .polls = false },
	{ { "exitless", "notifications stay suppressed; the IOCore polls every avail ring" },
	  .ioeventfd = true, .polls = true },
};

const struct emu_mode emu_modes[] = {
	{ { "thread", "an emulation thread in the VMM, woken only when it sleeps" }, .kind = "thread",
	  .start = emu_thread_start, .stop = emu_thread_stop },
	{ { "process", "a device process, woken through an eventfd for every hand-off" }, .kind = "process",
	  .always_wake = true, .start = emu_process_start, .stop = emu_process_stop },
	{ { "inline", "the IOCore runs the device itself: submits to the backend, polls its completions" },
	  .kind = "iocore", .on_iocore = true },
	{ { "auto", "inline when the emulation has no CPU of its own (it would share the IOCore's or a vCPU's), "
	    "else thread (the default: the best measured, README \"Threads and cores\")" }, .kind = "auto", .resolve = true },
};

const struct completion_mode completion_modes[] = {
	{ { "irq", "an interrupt per completion batch; the guest's handler acknowledges it" } },
	{ { "poll", "no interrupts: the guest polls the used ring" } },
	{ { "hybrid", "the guest polls the used ring for an adaptive window with interrupts suppressed, then arms "
	    "them, re-checks and halts; the device raises an interrupt only when asked, as with irq" } },
};

const struct transport_mode transport_modes[] = {
	{ { "mmio", "virtio-mmio: a register window and an interrupt line (an IOAPIC pin) per device; the guest's "
	    "handler reads and acknowledges InterruptStatus (two exits per interrupt)" }, &virtio_mmio_transport },
	{ { "pci", "virtio-pci (modern) behind an ECAM host bridge: MSI-X, a vector per queue routed straight to the "
	    "LAPIC, so the guest's handler touches no device register" }, &virtio_pci_transport },
};

const struct hlt_mode hlt_modes[] = {
	{ { "on", "a halting vCPU exits to KVM, which runs another task or polls for a while (halt_poll_ns)" }, true },
	{ { "off", "a vCPU on a CPU of its own halts inside the guest: no exit (KVM_CAP_X86_DISABLE_EXITS; a host that "
	    "ignores it still counts halt exits in the stats)" }, false },
};

const int n_request_modes = sizeof(request_modes) / sizeof(request_modes[0]);
const int n_emu_modes = sizeof(emu_modes) / sizeof(emu_modes[0]);
const int n_completion_modes = sizeof(completion_modes) / sizeof(completion_modes[0]);
const int n_transport_modes = sizeof(transport_modes) / sizeof(transport_modes[0]);
const int n_hlt_modes = sizeof(hlt_modes) / sizeof(hlt_modes[0]);

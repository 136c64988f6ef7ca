/* machine.c - assembles the machine: RAM, guest image and modules, KVM, the platform devices. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk.h"
#include "pci.h"

/* isa-debug-exit: the written value becomes the exit status (clamped to 255 so that no value
 * can wrap around to 0 = success). */
static void debug_exit_access(void *opaque, uint64_t off, uint8_t *data, uint32_t size,
			      bool is_write)
{
	struct vmm *v = opaque;
	uint32_t value = 0;

	if (!is_write || off != 0) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	memcpy(&value, data, size < 4 ? size : 4);
	atomic_store(&v->guest_exit, value > 255 ? 255 : (int)value);
}

static void marker_access(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct vmm *v = opaque;

	(void)off;
	if (is_write)
		stats_mark(v, data[0]);
	else
		memset(data, 0, size);
}

/* The hardware-reduced ACPI registers: SLP_EN with SLP_TYP S5 in the sleep control register is a power-off
 * (the run ends with the debug-exit code written before, else 0); the reset value in the reset register is a
 * reboot, which this VMM does not do (a kernel panic with panic=-1 ends here): the run fails. */
static void acpi_pm_access(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct vmm *v = opaque;
	int unset = -1;

	if (!is_write) {
		memset(data, 0, size); /* sleep status: WAK_STS never set */
		return;
	}
	if (off == ABI_ACPI_SLEEP_CONTROL_PORT - ABI_ACPI_SLEEP_CONTROL_PORT && (data[0] & 0x20) &&
	    ((data[0] >> 2) & 7) == ABI_ACPI_SLP_TYP_S5) {
		atomic_compare_exchange_strong(&v->guest_exit, &unset, 0);
	} else if (off == ABI_ACPI_RESET_PORT - ABI_ACPI_SLEEP_CONTROL_PORT && data[0] == ABI_ACPI_RESET_VALUE) {
		serial_flush(&v->com1);
		fprintf(stderr, "vmm: the guest reset the machine (a reboot or a kernel panic: see the console)\n");
		atomic_compare_exchange_strong(&v->guest_exit, &unset, VMM_EXIT_FAILURE);
	}
}

static int open_output(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		die(VMM_EXIT_USAGE, "cannot create %s: %s", path, strerror(errno));
	return fd;
}

static void add_region(struct bus *b, uint64_t base, uint64_t len, void *opaque,
		       void (*access)(void *, uint64_t, uint8_t *, uint32_t, bool), const char *name)
{
	struct bus_region r = { .base = base, .len = len, .opaque = opaque, .access = access, .name = name };

	if (bus_register(b, &r) < 0)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
}

static void setup_platform_devices(struct vmm *v)
{
	const struct vmm_config *c = &v->cfg;

	serial_init(&v->com1, c->console ? open_output(c->console) : STDOUT_FILENO, !c->console);
	serial_init(&v->com2, c->results ? open_output(c->results) : -1, false);
	serial_set_irq(&v->com1, v->kvm.vm_fd, ABI_COM1_IRQ);
	serial_set_irq(&v->com2, v->kvm.vm_fd, ABI_COM2_IRQ);
	add_region(&v->pio, ABI_COM1_PORT, 8, &v->com1, serial_access, "com1");
	add_region(&v->pio, ABI_COM2_PORT, 8, &v->com2, serial_access, "com2");
	add_region(&v->pio, ABI_DEBUG_EXIT_PORT, 4, v, debug_exit_access, "debug-exit");
	add_region(&v->pio, ABI_MARKER_PORT, 1, v, marker_access, "marker");
	add_region(&v->pio, ABI_ACPI_SLEEP_CONTROL_PORT, ABI_ACPI_RESET_PORT - ABI_ACPI_SLEEP_CONTROL_PORT + 1, v,
		   acpi_pm_access, "acpi");
}

/* ---- placement ------------------------------------------------------------------------------ */

static void list_range(struct cpu_list *l, int first, int last)
{
	l->n = 0;
	for (int c = first; c <= last && l->n < (int)(sizeof(l->cpu) / sizeof(l->cpu[0])); c++)
		l->cpu[l->n++] = c;
}

/* Default placement when --pin is not given: the vCPUs first, each on a CPU of its own, then the IOCore,
 * then the emulation contexts on the CPUs left (sharing the IOCore's when none is left). On 2 CPUs with
 * one vCPU: vCPU on CPU 0, IOCore and emulation on CPU 1 (the best measured; README "Threads and cores").
 * Recorded in the stats. */
static void default_pin(struct vmm_config *c)
{
	int host = (int)sysconf(_SC_NPROCESSORS_ONLN), vcpus;

	if (c->pin_given || host < 2)
		return;
	vcpus = host >= c->cpus + 2 ? c->cpus : host - 1;
	list_range(&c->pin.vcpu, 0, vcpus - 1);
	list_range(&c->pin.iocore, vcpus, vcpus);
	list_range(&c->pin.dev, vcpus + 1 < host ? vcpus + 1 : vcpus, host - 1);
}

static bool on_vcpu_cpu(const struct vmm_config *c, int cpu)
{
	for (int i = 0; i < c->cpus; i++)
		if (cpu_for(&c->pin.vcpu, i) == cpu)
			return true;
	return false;
}

/* Whether every vCPU has a CPU of its own: pinned, each to another CPU, and no other thread of the VMM pinned
 * there. Only then may the guest be told so (KVM_HINTS_REALTIME) and halt-poll. */
static bool vcpus_dedicated(const struct vmm_config *c)
{
	for (int i = 0; i < c->cpus; i++) {
		int cpu = cpu_for(&c->pin.vcpu, i);

		if (cpu < 0 || cpu == cpu_for(&c->pin.iocore, 0))
			return false;
		for (int k = 0; k < i; k++)
			if (cpu_for(&c->pin.vcpu, k) == cpu)
				return false;
		for (int k = 0; k < c->pin.dev.n; k++)
			if (c->pin.dev.cpu[k] == cpu)
				return false;
	}
	return true;
}

/* Where each context runs and how it waits. An emulation thread polls only on a CPU of its own: on a
 * CPU it shares with the IOCore (or a vCPU) polling would only take turns with it, and a context switch
 * per turn costs more than the wake-up it saves. A device process never polls. A context sharing the
 * polling IOCore's CPU runs at SCHED_FIFO 1 so a wake-up preempts the IOCore at once. */
static void place_context(const struct vmm_config *c, struct emu_ctx *x)
{
	static const struct poll_policy at_once = { POLL_FIXED, 0 };
	int cpu = cpu_for(&c->pin.dev, x->index), io = cpu_for(&c->pin.iocore, 0);
	bool shared = cpu < 0 || cpu == io || on_vcpu_cpu(c, cpu);

	x->cpu = cpu;
	pollwin_init(&x->win, x->mode->always_wake || shared ? &at_once : &c->poll, true); /* emu_idle: the backend's event */
	x->realtime = shared && c->request->ioeventfd && !x->mode->on_iocore;
}

/* --emulation auto: inline when the emulation contexts would share a CPU (the IOCore's, a vCPU's, or any when
 * nothing is pinned): there a hand-off thread costs a sleep and a wake-up per I/O. A thread where they have CPUs
 * of their own. */
static void resolve_emulation(struct vmm_config *c)
{
	int cpu = cpu_for(&c->pin.dev, 0);
	bool shared = cpu < 0 || cpu == cpu_for(&c->pin.iocore, 0) || on_vcpu_cpu(c, cpu);

	c->emulation_asked = c->emulation;
	if (!c->emulation->resolve)
		return;
	for (int i = 0; i < n_emu_modes; i++)
		if (strcmp(emu_modes[i].m.name, shared ? "inline" : "thread") == 0)
			c->emulation = &emu_modes[i];
}

void machine_plan(struct vmm_config *c)
{
	default_pin(c);
	resolve_emulation(c);
}

/* ---- devices and their contexts ------------------------------------------------------------- */

static int disk_count(const struct vmm *v)
{
	return v->cfg.ndisks;
}

/* A Linux guest with polled completions: virtio_blk gives poll queues only when more than one CPU is possible
 * (num_vqs is capped by nr_cpu_ids, and one queue stays for interrupts). */
static bool linux_poll_queues(const struct vmm_config *c)
{
	return c->initrd && strcmp(c->completion->m.name, "poll") == 0;
}

int machine_disk_queues(const struct vmm_config *c, int i)
{
	if (c->disks[i].queues)
		return c->disks[i].queues;
	return c->cpus + (linux_poll_queues(c) && c->cpus == 1);
}

const struct transport_mode *machine_disk_transport(const struct vmm_config *c, int i)
{
	return c->disks[i].transport ? c->disks[i].transport : c->transport;
}

static struct virtio_dev *disk_create(struct vmm *v, int i)
{
	struct disk_config dc = v->cfg.disks[i];

	dc.queues = machine_disk_queues(&v->cfg, i);
	return blk_create(i, &dc, &v->mem);
}

static const struct transport_mode *disk_transport(const struct vmm *v, int i)
{
	return machine_disk_transport(&v->cfg, i);
}

/* Every kind of device the machine can have: how many the configuration asks for, how to make one, which
 * transport it is attached to. A new kind of device is one entry here. */
static const struct device_kind {
	int (*count)(const struct vmm *v);
	struct virtio_dev *(*create)(struct vmm *v, int i);
	const struct transport_mode *(*transport)(const struct vmm *v, int i);
} device_kinds[] = {
	{ disk_count, disk_create, disk_transport },
};

static void setup_devices(struct vmm *v)
{
	for (size_t k = 0; k < sizeof(device_kinds) / sizeof(device_kinds[0]); k++)
		for (int i = 0; i < device_kinds[k].count(v); i++) {
			struct virtio_dev *d = device_kinds[k].create(v, i);

			if (!d)
				die(VMM_EXIT_USAGE, "%s", err_msg());
			if (device_kinds[k].transport(v, i)->ops->attach(v, d, v->cfg.request->ioeventfd) < 0)
				die(VMM_EXIT_FAILURE, "%s", err_msg());
			v->disks[v->ndisks++] = d;
		}
}

static void add_context(struct vmm *v, struct vqueue **q, int nq)
{
	struct emu_ctx *c = emu_ctx_create(v->nctx, v->cfg.emulation, q, nq);

	if (!c)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
	place_context(&v->cfg, c);
	v->ctx[v->nctx++] = c;
}

/* One context per device (it serves every queue of the device) or one per queue. */
static void setup_contexts(struct vmm *v)
{
	for (int i = 0; i < v->ndisks; i++) {
		struct virtio_dev *d = v->disks[i];
		struct vqueue *q[VIRTIO_MAX_QUEUES];

		for (int k = 0; k < d->nqueues; k++)
			q[k] = &d->queues[k];
		if (v->cfg.contexts == CTX_PER_DEVICE)
			add_context(v, q, d->nqueues);
		else
			for (int k = 0; k < d->nqueues; k++)
				add_context(v, &q[k], 1);
	}
}

static void start_iocore(struct vmm *v)
{
	static struct vqueue *queues[VMM_MAX_DISKS * VIRTIO_MAX_QUEUES];
	static struct emu_ctx *inl[VMM_MAX_DISKS * VIRTIO_MAX_QUEUES];
	const struct vmm_config *c = &v->cfg;
	struct iocore_config io = { .req = c->request, .poll = c->poll, .queues = queues,
				    .inline_ctx = inl, .cpu = cpu_for(&c->pin.iocore, 0) };

	if (!v->ndisks || !iocore_needed(c->request, c->emulation))
		return;
	for (int i = 0; i < v->ndisks && c->request->ioeventfd; i++)
		for (int k = 0; k < v->disks[i]->nqueues; k++)
			queues[io.nqueues++] = &v->disks[i]->queues[k];
	io.share_cpu = io.cpu < 0;
	for (int i = 0; i < v->nctx; i++) {
		if (v->ctx[i]->mode->on_iocore)
			inl[io.ninline++] = v->ctx[i];
		else if (v->ctx[i]->cpu == io.cpu)
			io.share_cpu = true;
	}
	if (iocore_start(&io) < 0)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
}

/* Device processes are forked before any thread exists; then the emulation threads, the IOCore and the
 * application processors. */
static void start_threads(struct vmm *v)
{
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < v->nctx; i++)
			if ((pass == 0) == v->ctx[i]->mode->always_wake && emu_ctx_start(v->ctx[i]) < 0)
				die(VMM_EXIT_FAILURE, "disk %d: %s", v->ctx[i]->dev->index, err_msg());
	start_iocore(v);
	if (vcpu_start_aps(v) < 0)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
	for (int i = 1; i < v->cfg.cpus; i++)
		if (cpu_for(&v->cfg.pin.vcpu, i) >= 0)
			pin_thread(v->vcpu_thread[i], cpu_for(&v->cfg.pin.vcpu, i));
}

/* The threads inherit a mask without the signals the main thread handles, so a timeout, a stop
 * signal or a device process's death always interrupts KVM_RUN on the main thread. */
static void start_threads_masked(struct vmm *v)
{
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	start_threads(v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The guest's command line: the user's words, then what the VMM tells the guest. The tiny guest: what each
 * device's transport says of it (virtio-mmio: the Linux virtio_mmio.device= syntax, as QEMU microvm passes it), the modes, the TSC rate. A Linux guest
 * finds its disks in ACPI; it gets the console, a reset through the FADT's reset register for a reboot or a
 * panic (without reboot=acpi a hardware-reduced machine is reset through EFI, which it lacks), the modes (its init reads
 * completion=) and, for polled completions, a virtio_blk poll queue (and a second possible CPU for it on one
 * vCPU). */
size_t machine_cmdline_words(const struct vmm_config *c, bool head, char *s, size_t len)
{
	size_t n;

	if (head)
		return (size_t)snprintf(s, len, "%s%s%s", c->initrd ? "console=ttyS0 reboot=acpi panic=-1" : "",
					c->initrd && c->cmdline ? " " : "", c->cmdline ? c->cmdline : "");
	n = (size_t)snprintf(s, len, " request=%s emulation=%s completion=%s", c->request->m.name,
			     c->emulation->m.name, c->completion->m.name);
	if (linux_poll_queues(c) && n < len)
		n += (size_t)snprintf(s + n, len - n, " virtio_blk.poll_queues=1%s", c->cpus == 1 ? " possible_cpus=2" : "");
	return n;
}

static char *guest_cmdline(struct vmm *v)
{
	size_t len = (v->cfg.cmdline ? strlen(v->cfg.cmdline) : 0) + 256 + 64 * (size_t)v->ndisks, n;
	char *s = malloc(len);

	if (!s)
		die(VMM_EXIT_FAILURE, "out of memory");
	n = machine_cmdline_words(&v->cfg, true, s, len);
	for (int i = 0; i < v->ndisks && !v->cfg.initrd; i++) {
		const struct virtio_dev *d = v->disks[i];

		if (d->transport->cmdline && n < len)
			n += (size_t)d->transport->cmdline(d, s + n, len - n);
	}
	if (n < len)
		n += machine_cmdline_words(&v->cfg, false, s + n, len - n);
	if (!v->cfg.initrd && n < len)
		snprintf(s + n, len - n, " tsc_khz=%u", v->kvm.tsc_khz);
	if (s[0] == ' ') /* no user words: no leading blank */
		memmove(s, s + 1, strlen(s));
	return s;
}

/* The ACPI tables: the CPUs, the platform devices, and what each device's transport describes. */
static int build_acpi(struct vmm *v, uint64_t *rsdp)
{
	struct acpi_part parts[ACPI_MAX_PARTS];
	int n = 0;

	for (int i = 0; i < v->ndisks && n < ACPI_MAX_PARTS; i++)
		parts[n++] = virtio_dev_acpi_part(v->disks[i]);
	if (pci_present(v))
		parts[n++] = pci_acpi_part(v);
	return acpi_build(&v->mem, v->cfg.cpus, parts, n, rsdp);
}

static void load_guest(struct vmm *v, struct pvh_image *img)
{
	uint8_t *elf;
	size_t len;

	if (pvh_read_file(v->cfg.guest, &elf, &len) < 0)
		die(VMM_EXIT_USAGE, "%s", err_msg());
	if (pvh_load_elf(&v->mem, elf, len, img) < 0)
		die(VMM_EXIT_USAGE, "%s: %s", v->cfg.guest, err_msg());
	free(elf);
	if (v->cfg.initrd ? pvh_load_initrd(&v->mem, img, v->cfg.initrd, v->cfg.modules, v->cfg.nmodules, &v->initramfs)
			  : pvh_load_modules(&v->mem, img, v->cfg.modules, v->cfg.nmodules))
		die(VMM_EXIT_USAGE, "%s", err_msg());
	if (v->cfg.initrd && pvh_initrd_fits(&v->mem, img, &v->initramfs, v->cfg.cmdline) < 0)
		die(VMM_EXIT_USAGE, "%s", err_msg());
}

/* Warns about every thread whose pinning did not take effect (the stats record what did). */
static void check_pins(struct vmm *v)
{
	char want[16], got[64];

	for (int i = 0; i < v->kvm.nvcpus; i++) {
		int cpu = cpu_for(&v->cfg.pin.vcpu, i);

		snprintf(want, sizeof(want), "%d", cpu);
		task_affinity(v->vcpu_tid[i], got, sizeof(got));
		if (cpu >= 0 && strcmp(want, got) != 0)
			fprintf(stderr, "vmm: warning: vcpu %d was to run on CPU %d, runs on %s\n", i, cpu, got);
	}
}

void machine_setup(struct vmm *v)
{
	struct pvh_image img;
	const struct pvh_range ecam = { PCI_ECAM_BASE, PCI_ECAM_SIZE }; /* reserved, as Linux wants MMCONFIG */
	struct kvm_opts kopts;
	uint64_t rsdp;
	char *cmdline;

	v->mem.fd = -1;
	v->stats_fd = -1;
	atomic_store(&v->exit_code, -1);
	atomic_store(&v->guest_exit, -1);
	pthread_mutex_init(&v->bus_lock, NULL);
	/* a device process (--emulation process) maps guest RAM too: it must be shared memory */
	if (gmem_init(&v->mem, v->cfg.mem_mib << 20, v->cfg.mem_backing, strcmp(v->cfg.emulation->kind, "process") == 0) < 0)
		die(VMM_EXIT_USAGE, "%s", err_msg());
	load_guest(v, &img);
	machine_plan(&v->cfg);
	kopts = (struct kvm_opts){ .hints_realtime = strcmp(v->cfg.completion->m.name, "hybrid") == 0 && vcpus_dedicated(&v->cfg),
				  .disable_hlt_exits = !v->cfg.hlt_exits->exits };
	if (kvm_vm_create(&v->kvm, &v->mem, v->cfg.cpus, &kopts) < 0)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
	if (kopts.disable_hlt_exits && !v->kvm.hlt_exits_off)
		fprintf(stderr, "vmm: warning: --hlt-exits off: KVM refused KVM_CAP_X86_DISABLE_EXITS (HLT); halts exit as usual\n");
	setup_devices(v);
	setup_contexts(v);
	if (build_acpi(v, &rsdp) < 0)
		die(VMM_EXIT_USAGE, "%s", err_msg());
	cmdline = guest_cmdline(v);
	/* a Linux guest gets one module, the initramfs with the job appended; the tiny guest the modules */
	if (pvh_write_start_info(&v->mem, cmdline, v->cfg.initrd ? &v->initramfs : v->cfg.modules,
				 v->cfg.initrd ? 1 : v->cfg.nmodules, rsdp, &ecam, pci_present(v)) < 0)
		die(VMM_EXIT_USAGE, "%s", err_msg());
	free(cmdline);
	if (kvm_vcpu_pvh_entry(&v->kvm, img.entry32, (uint32_t)PVH_START_INFO_GPA) < 0)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
	setup_platform_devices(v);
	if (v->cfg.stats)
		v->stats_fd = open_output(v->cfg.stats);
	start_threads_masked(v);
	if (cpu_for(&v->cfg.pin.vcpu, 0) >= 0 && pin_self(cpu_for(&v->cfg.pin.vcpu, 0)) < 0)
		fprintf(stderr, "vmm: warning: %s\n", err_msg());
	check_pins(v);
	if (stats_init(v) < 0)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
}

void machine_teardown(struct vmm *v)
{
	uint64_t halts;

	stats_close_window(v);
	if (v->kvm.hlt_exits_off && stats_kvm_delta(v, "halt_exits", -1, &halts) && halts)
		fprintf(stderr, "vmm: warning: --hlt-exits off: KVM took it, yet counted %" PRIu64 " halt exits in the window: this "
				"host ignores KVM_CAP_X86_DISABLE_EXITS\n", halts);
	iocore_stop();
	for (int i = 0; i < v->nctx; i++)
		emu_ctx_stop(v->ctx[i]);
	stats_drained(v);
	if (v->stats_fd >= 0 && stats_write(v, v->stats_fd) < 0)
		fprintf(stderr, "vmm: %s\n", err_msg());
	serial_flush(&v->com1);
	serial_flush(&v->com2);
	if (v->cfg.console && v->com1.out_fd >= 0)
		close(v->com1.out_fd);
	if (v->com2.out_fd >= 0)
		close(v->com2.out_fd);
	kvm_vm_destroy(&v->kvm);
	gmem_destroy(&v->mem);
}

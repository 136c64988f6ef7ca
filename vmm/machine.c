/* machine.c - assembles the machine: RAM, guest image and modules, KVM, the platform devices. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/abi.h"
#include "dev.h"

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
	v->exit_code = value > 255 ? 255 : (int)value;
	v->stop = true;
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
	struct bus_region r = { base, len, opaque, access, name };

	if (bus_register(b, &r) < 0)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
}

static void setup_platform_devices(struct vmm *v)
{
	const struct vmm_config *c = &v->cfg;

	serial_init(&v->com1, c->console ? open_output(c->console) : STDOUT_FILENO, !c->console);
	serial_init(&v->com2, c->results ? open_output(c->results) : -1, false);
	add_region(&v->pio, ABI_COM1_PORT, 8, &v->com1, serial_access, "com1");
	add_region(&v->pio, ABI_COM2_PORT, 8, &v->com2, serial_access, "com2");
	add_region(&v->pio, ABI_DEBUG_EXIT_PORT, 4, v, debug_exit_access, "debug-exit");
	add_region(&v->pio, ABI_MARKER_PORT, 1, v, marker_access, "marker");
}

/* Default placement when --pin is not given: the vCPU alone on CPU 0, the IOCore and the
 * emulation contexts on CPU 1 (on 3+ CPUs each gets its own). Recorded in the stats. */
static void default_pin(struct vmm_config *c)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (c->pin_given || ncpu < 2)
		return;
	c->pin = (struct pin_config){ 0, 1, ncpu >= 3 ? 2 : 1 };
}

static void setup_disks(struct vmm *v)
{
	for (int i = 0; i < v->cfg.ndisks; i++) {
		struct blk_dev *d = blk_create(i, &v->cfg.disks[i], &v->mem);

		v->transports[i] = calloc(1, sizeof(struct virtio_mmio));
		if (!d)
			die(VMM_EXIT_USAGE, "%s", err_msg());
		if (!v->transports[i] || virtio_mmio_attach(v, v->transports[i], d) < 0)
			die(VMM_EXIT_FAILURE, "%s", err_msg());
		v->disks[i] = d;
		v->ndisks++;
	}
}

/* Device processes are forked before any thread exists; then threads and the IOCore. */
static void start_io_path(struct vmm *v)
{
	const struct vmm_config *c = &v->cfg;

	for (int i = 0; i < v->ndisks; i++) {
		struct blk_dev *d = v->disks[i];

		/* An emulation thread polls only on a CPU of its own: on a CPU it shares with the
		 * IOCore (or the vCPU) polling would only take turns with it, and a context switch per
		 * turn costs more than the wake-up it saves. A device process never polls. */
		bool share_cpu = c->pin.dev < 0 || c->pin.dev == c->pin.iocore || c->pin.dev == c->pin.vcpu;

		d->spin_ns = c->emulation == EMU_PROCESS || share_cpu ? 0
			     : c->poll_us < 0 ? -1 : c->poll_us * 1000;
		d->realtime = share_cpu && c->request != REQ_EXIT;
	}
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < v->ndisks; i++)
			if ((pass == 0) == (c->emulation == EMU_PROCESS) &&
			    emu_start(v->disks[i], c->emulation, c->pin.dev) < 0)
				die(VMM_EXIT_FAILURE, "disk %d: %s", i, err_msg());
	if (v->ndisks && c->request != REQ_EXIT &&
	    iocore_start(v->disks, v->ndisks, c->request, c->poll_us, c->pin.iocore,
			 c->pin.iocore < 0 || c->pin.iocore == c->pin.dev) < 0)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
}

/* The I/O threads inherit a mask without the signals the vCPU thread handles, so a timeout,
 * a stop signal or a device process's death always interrupts KVM_RUN on the vCPU thread. */
static void start_io_path_masked(struct vmm *v)
{
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	start_io_path(v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static const char *const request_names[] = { "exit", "ioeventfd", "exitless" };
static const char *const emulation_names[] = { "thread", "process" };
static const char *const completion_names[] = { "irq", "poll" };

/* The guest's command line: the user's words, then what the VMM tells the guest: its disks
 * (the Linux virtio_mmio.device= syntax, as QEMU microvm passes them), the modes, the TSC rate. */
static char *guest_cmdline(struct vmm *v)
{
	const char *user = v->cfg.cmdline ? v->cfg.cmdline : "";
	size_t len = strlen(user) + 256 + 64 * (size_t)v->ndisks, n;
	char *s = malloc(len);

	if (!s)
		die(VMM_EXIT_FAILURE, "out of memory");
	n = (size_t)snprintf(s, len, "%s", user);
	for (int i = 0; i < v->ndisks; i++)
		n += (size_t)snprintf(s + n, len - n, " virtio_mmio.device=%u@0x%llx:%d", ABI_VIRTIO_MMIO_SIZE,
				      ABI_VIRTIO_MMIO_BASE + (unsigned long long)i * ABI_VIRTIO_MMIO_SIZE,
				      ABI_VIRTIO_IRQ_BASE + i);
	snprintf(s + n, len - n, " request=%s emulation=%s completion=%s tsc_khz=%u",
		 request_names[v->cfg.request], emulation_names[v->cfg.emulation],
		 completion_names[v->cfg.completion], v->kvm.tsc_khz);
	if (s[0] == ' ') /* no user words: no leading blank */
		memmove(s, s + 1, strlen(s));
	return s;
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
	if (pvh_load_modules(&v->mem, img, v->cfg.modules, v->cfg.nmodules) < 0)
		die(VMM_EXIT_USAGE, "%s", err_msg());
}

void machine_setup(struct vmm *v)
{
	struct pvh_image img;
	char *cmdline;

	v->mem.fd = -1;
	v->kvm = (struct kvm_vm){ .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1 };
	if (gmem_init(&v->mem, v->cfg.mem_mib << 20) < 0)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
	load_guest(v, &img);
	if (kvm_vm_create(&v->kvm, &v->mem) < 0)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
	setup_disks(v);
	cmdline = guest_cmdline(v);
	if (pvh_write_start_info(&v->mem, cmdline, v->cfg.modules, v->cfg.nmodules) < 0)
		die(VMM_EXIT_USAGE, "%s", err_msg());
	free(cmdline);
	if (kvm_vcpu_pvh_entry(&v->kvm, img.entry32, (uint32_t)PVH_START_INFO_GPA) < 0)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
	setup_platform_devices(v);
	default_pin(&v->cfg);
	start_io_path_masked(v);
	if (v->cfg.pin.vcpu >= 0 && pin_self(v->cfg.pin.vcpu) < 0)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
	if (stats_init(v) < 0)
		die(VMM_EXIT_FAILURE, "%s", err_msg());
}

void machine_teardown(struct vmm *v)
{
	iocore_stop();
	for (int i = 0; i < v->ndisks; i++)
		emu_stop(v->disks[i]);
	if (v->cfg.stats && stats_write(v, v->cfg.stats) < 0)
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

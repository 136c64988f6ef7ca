/* virtio_mmio.c - the virtio-mmio transport, version 2 (virtio 1.x §4.2.2), for any virtio device: its
 * register window (on a vCPU thread, under the bus lock) mapped onto the state every transport shares
 * (virtio_transport.c), InterruptStatus/ACK and the one interrupt line (an IOAPIC pin through an irqfd), and
 * how the guest learns of it (a `virtio_mmio.device=` word, an ACPI "LNRO0005" device). QueueNotify reaches
 * the VMM only with request=exit; otherwise KVM catches the write in-kernel (an ioeventfd per queue) and the
 * IOCore takes over. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "aml.h"
#include "virtio.h"

#define VENDOR_ID 0x4c585845u /* "EXXL" */

static struct mmio_shared *shared_of(const struct virtio_dev *d)
{
	return d->tstate;
}

static void mmio_reset(struct virtio_mmio *t)
{
	vstate_reset(&t->s);
	t->dev_features_sel = t->drv_features_sel = 0;
	atomic_store(&t->sh->isr, 0);
}

static void mmio_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtio_state *s = &t->s;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->dev_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->drv_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES: vstate_driver_features(s, t->drv_features_sel, v); break;
	case VIRTIO_MMIO_QUEUE_SEL: s->queue_sel = v; break;
	case VIRTIO_MMIO_QUEUE_NUM: vstate_queue_write(s, VQF_NUM, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: vstate_queue_write(s, VQF_DESC_LO, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: vstate_queue_write(s, VQF_DESC_HI, v); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: vstate_queue_write(s, VQF_AVAIL_LO, v); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: vstate_queue_write(s, VQF_AVAIL_HI, v); break;
	case VIRTIO_MMIO_QUEUE_USED_LOW: vstate_queue_write(s, VQF_USED_LO, v); break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH: vstate_queue_write(s, VQF_USED_HI, v); break;
	case VIRTIO_MMIO_QUEUE_READY: vstate_queue_ready(s, v & 1); break;
	case VIRTIO_MMIO_QUEUE_NOTIFY: vstate_queue_notify(s, v); break;
	case VIRTIO_MMIO_INTERRUPT_ACK: atomic_fetch_and(&t->sh->isr, ~v); break;
	case VIRTIO_MMIO_STATUS:
		if (v == 0)
			mmio_reset(t);
		else
			vstate_write_status(s, v);
		break;
	}
}

static uint32_t mmio_read(struct virtio_mmio *t, uint64_t off)
{
	struct virtio_state *s = &t->s;
	struct vstate_queue *q = vstate_selected(s);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return s->dev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES: return vstate_device_features(s, t->dev_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? VQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return atomic_load(&t->sh->isr);
	case VIRTIO_MMIO_STATUS: return vstate_read_status(s);
	case VIRTIO_MMIO_CONFIG_GENERATION: return 0; /* the configuration never changes while running */
	default: return 0;
	}
}

void virtio_mmio_access(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct virtio_mmio *t = opaque;
	struct virtio_dev *d = t->s.dev;
	uint32_t v = 0;

	if (off >= VIRTIO_MMIO_CONFIG) {
		if (is_write)
			d->ops->config_write(d, off - VIRTIO_MMIO_CONFIG, data, size);
		else
			d->ops->config_read(d, off - VIRTIO_MMIO_CONFIG, data, size);
		return;
	}
	if (size != 4 || (off & 3)) { /* registers are 32-bit only (§4.2.2) */
		if (!is_write)
			memset(data, 0, size);
		return;
	}
	if (is_write) {
		memcpy(&v, data, 4);
		mmio_write(t, off, v);
	} else {
		v = mmio_read(t, off);
		memcpy(data, &v, 4);
	}
}

/* ---- interrupts: InterruptStatus and the line, from whichever context completes requests ----------- */

static bool mmio_signal(struct virtio_dev *d, int q)
{
	struct mmio_shared *irq = shared_of(d);
	uint64_t one = 1;

	atomic_fetch_or(&irq->isr, q == VIRTIO_SIGNAL_CONFIG ? VIRTIO_MMIO_INT_CONFIG : VIRTIO_MMIO_INT_VRING);
	return irq->fd >= 0 && write(irq->fd, &one, sizeof(one)) == sizeof(one);
}

static int mmio_irq_state(const struct virtio_dev *d, char *s, size_t len)
{
	return snprintf(s, len, "isr %#x", atomic_load(&shared_of(d)->isr));
}

/* ---- set-up ---------------------------------------------------------------------------------------- */

int virtio_mmio_init(struct virtio_mmio *t, struct virtio_dev *d, int slot, unsigned gsi)
{
	struct mmio_shared *sh = d->tstate;

	if (!sh) {
		sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (sh == MAP_FAILED)
			return err_set("cannot allocate the transport's shared state: %s", strerror(errno));
		sh->fd = -1;
	}
	memset(t, 0, sizeof(*t));
	vstate_init(&t->s, d);
	t->sh = sh;
	sh->slot = slot;
	sh->base = ABI_VIRTIO_MMIO_BASE + (uint64_t)slot * ABI_VIRTIO_MMIO_SIZE;
	sh->gsi = gsi;
	atomic_store(&sh->isr, 0);
	d->tstate = sh;
	d->transport = &virtio_mmio_transport;
	return 0;
}

/* The interrupt line, and a notify eventfd per queue that KVM signals on a QueueNotify write of the queue's
 * index (datamatch), so the kick never leaves the kernel. */
static int kvm_bind_fds(struct vmm *v, struct virtio_mmio *t, bool with_ioeventfd)
{
	struct virtio_dev *d = t->s.dev;
	struct mmio_shared *sh = t->sh;
	struct kvm_irqfd irqfd = { .gsi = sh->gsi };

	sh->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	irqfd.fd = (uint32_t)sh->fd;
	if (sh->fd < 0 || ioctl(v->kvm.vm_fd, KVM_IRQFD, &irqfd) < 0)
		return err_set("KVM_IRQFD: %s", strerror(errno));
	if (virtio_dev_keep_fd(d, sh->fd) < 0)
		return -1;
	for (int i = 0; with_ioeventfd && i < d->nqueues; i++) {
		struct vqueue *q = &d->queues[i];
		struct kvm_ioeventfd ioev = { .addr = sh->base + VIRTIO_MMIO_QUEUE_NOTIFY, .len = 4,
					      .datamatch = (uint64_t)i, .flags = KVM_IOEVENTFD_FLAG_DATAMATCH };

		q->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ioev.fd = q->notify_fd;
		if (q->notify_fd < 0 || ioctl(v->kvm.vm_fd, KVM_IOEVENTFD, &ioev) < 0)
			return err_set("KVM_IOEVENTFD: %s", strerror(errno));
	}
	return 0;
}

static int mmio_attach(struct vmm *v, struct virtio_dev *d, bool with_ioeventfd)
{
	struct virtio_mmio *t = calloc(1, sizeof(*t)); /* lives as long as the machine */
	struct bus_region r = { .len = ABI_VIRTIO_MMIO_SIZE, .opaque = t, .access = virtio_mmio_access,
				.name = "virtio-mmio" };
	unsigned gsi;
	int slot;

	if (!t)
		return err_set("out of memory");
	if ((slot = layout_mmio_slot(v, &gsi)) < 0 || virtio_mmio_init(t, d, slot, gsi) < 0 ||
	    kvm_bind_fds(v, t, with_ioeventfd) < 0)
		return -1;
	r.base = t->sh->base;
	return bus_register(&v->mmio, &r);
}

/* ---- what the guest is told ------------------------------------------------------------------------ */

/* The Linux `virtio_mmio.device=<size>@<base>:<irq>` word, as QEMU microvm passes it. */
static int mmio_cmdline(const struct virtio_dev *d, char *s, size_t len)
{
	const struct mmio_shared *sh = shared_of(d);

	return snprintf(s, len, " virtio_mmio.device=%u@0x%llx:%u", ABI_VIRTIO_MMIO_SIZE,
			(unsigned long long)sh->base, sh->gsi);
}

/* As Linux's virtio_mmio driver matches it in ACPI: _HID "LNRO0005", a Memory32Fixed window and an
 * edge-triggered, active-high interrupt (an Extended Interrupt descriptor). */
static void mmio_acpi(const struct virtio_dev *d, struct aml *sb)
{
	const struct mmio_shared *sh = shared_of(d);
	struct aml dev = { .n = 0 };
	uint8_t res[32];
	size_t n = aml_res_mem32_fixed(res, (uint32_t)sh->base, ABI_VIRTIO_MMIO_SIZE);
	char seg[12];

	n += aml_res_ext_irq(res + n, sh->gsi);
	snprintf(seg, sizeof(seg), "VR%02u", (unsigned)sh->slot % 100u);
	aml_name_str(&dev, "_HID", "LNRO0005");
	aml_name_int(&dev, "_UID", (uint32_t)sh->slot);
	aml_name_crs(&dev, res, n);
	aml_device(sb, seg, &dev);
}

const struct virtio_transport virtio_mmio_transport = {
	.name = "mmio",
	.attach = mmio_attach,
	.signal = mmio_signal,
	.acpi = mmio_acpi,
	.cmdline = mmio_cmdline,
	.irq_state = mmio_irq_state,
};

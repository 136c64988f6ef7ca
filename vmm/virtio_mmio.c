/* virtio_mmio.c - the virtio-mmio transport, version 2 (virtio 1.x §4.2.2), for any virtio device.
 * Runs on a vCPU thread (under the bus lock): feature negotiation, status, queue setup,
 * InterruptStatus/ACK, config space; the device is reached only through its ops table. QueueNotify
 * reaches it only with request=exit; otherwise KVM catches the write in-kernel (an ioeventfd per queue)
 * and the IOCore takes over. */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include "virtio.h"

#define VENDOR_ID 0x4c585845u /* "EXXL" */

static void set_hi_lo(uint64_t *v, uint32_t val, bool high)
{
	*v = high ? (*v & 0xffffffffull) | (uint64_t)val << 32 : (*v & ~0xffffffffull) | val;
}

/* The queue QueueSel names, or NULL when the device has no such queue. */
static struct mmio_queue *selected(struct virtio_mmio *t)
{
	return t->queue_sel < (uint32_t)t->dev->nqueues ? &t->q[t->queue_sel] : NULL;
}

/* Stops every queue: the emulation context ignores them until the next DRIVER_OK. The device's
 * queues (struct vq) stay as they were: heads handed off before the reset must still meet the layout
 * they were checked against. */
static void transport_reset(struct virtio_mmio *t)
{
	struct virtio_dev *d = t->dev;
	bool quiet = true;

	for (int i = 0; i < d->nqueues; i++)
		quiet &= d->ops->queue_stop(d, &d->queues[i]);
	t->status = 0;
	t->drv_features = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
	memset(t->q, 0, sizeof(t->q));
	atomic_store(&d->isr, 0);
	if (quiet)
		atomic_store(&d->broken, 0);
	else /* requests still in the backend may yet complete into the old rings */
		virtio_dev_broken(d, NULL, "requests in flight did not drain at reset");
}

/* Checks queue i's rings and hands it to the device. The new layout is checked on a copy and installed
 * only when valid, and never under a queue that is still served (DRIVER_OK cleared and set again without
 * a reset) or a device that needs a reset. Returns false when the device is now broken. */
static bool queue_activate(struct virtio_mmio *t, int i)
{
	struct virtio_dev *d = t->dev;
	struct vqueue *q = &d->queues[i];
	struct vq v = q->vq;

	if (atomic_load(&q->active) || atomic_load(&d->broken))
		return true;
	v.num = t->q[i].num;
	v.desc_gpa = t->q[i].desc, v.avail_gpa = t->q[i].avail, v.used_gpa = t->q[i].used;
	v.event_idx = t->drv_features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	if (vq_activate(&v, d->mem) < 0) {
		virtio_dev_broken(d, q, err_msg());
		return false;
	}
	q->vq = v;
	d->ops->queue_ready(d, q);
	return true;
}

/* DRIVER_OK: every queue the driver made ready is served; one without rings breaks the device. Queue 0
 * must be ready (every device here needs it). */
static void transport_activate(struct virtio_mmio *t)
{
	if (!t->q[0].ready) {
		virtio_dev_broken(t->dev, NULL, "DRIVER_OK without a ready queue");
		return;
	}
	for (int i = 0; i < t->dev->nqueues; i++)
		if (t->q[i].ready && !queue_activate(t, i))
			return;
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	uint64_t offered = t->dev->ops->features(t->dev);

	v &= ~VIRTIO_CONFIG_S_NEEDS_RESET; /* the device's bit: reads show it only when broken */
	if (v == 0) {
		transport_reset(t);
		return;
	}
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(t->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    ((t->drv_features & ~offered) || !(t->drv_features & (1ull << VIRTIO_F_VERSION_1))))
		v &= ~VIRTIO_CONFIG_S_FEATURES_OK; /* refused: the driver reads FEATURES_OK back as 0 */
	if ((v & VIRTIO_CONFIG_S_DRIVER_OK) && !(t->status & VIRTIO_CONFIG_S_DRIVER_OK))
		transport_activate(t);
	t->status = v;
}

static void queue_notify(struct virtio_mmio *t, uint32_t index)
{
	struct virtio_dev *d = t->dev;

	if (index < (uint32_t)d->nqueues)
		d->ops->notify(d, &d->queues[index]);
	else /* a kick for no queue: counted, nothing to serve */
		atomic_fetch_add(&d->queues[0].c.notifies, 1);
}

/* Queue registers may only change while the queue is not ready (§4.2.2.2). */
static void write_queue_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct mmio_queue *q = selected(t);

	if (!q || q->ready)
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM: q->num = (uint16_t)(v <= VQ_MAX_SIZE ? v : 0); break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: set_hi_lo(&q->desc, v, false); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: set_hi_lo(&q->desc, v, true); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: set_hi_lo(&q->avail, v, false); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: set_hi_lo(&q->avail, v, true); break;
	case VIRTIO_MMIO_QUEUE_USED_LOW: set_hi_lo(&q->used, v, false); break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH: set_hi_lo(&q->used, v, true); break;
	}
}

/* QueueReady 1 -> 0 stops the queue: the driver may free the rings once it reads 0 back, so the
 * device lets go of them first. Set again while DRIVER_OK, the queue is re-checked and served. */
static void write_queue_ready(struct virtio_mmio *t, uint32_t ready)
{
	struct mmio_queue *q = selected(t);
	struct virtio_dev *d = t->dev;
	struct vqueue *vq;

	if (!q || ready == q->ready)
		return;
	vq = &d->queues[t->queue_sel];
	if (!ready && !d->ops->queue_stop(d, vq))
		virtio_dev_broken(d, vq, "requests in flight did not drain when the queue was stopped");
	q->ready = ready;
	if (ready && (t->status & VIRTIO_CONFIG_S_DRIVER_OK))
		queue_activate(t, (int)t->queue_sel);
}

static void mmio_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->dev_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->drv_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->drv_features_sel < 2 && !(t->status & VIRTIO_CONFIG_S_FEATURES_OK))
			set_hi_lo(&t->drv_features, v, t->drv_features_sel == 1);
		break;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = v; break;
	case VIRTIO_MMIO_QUEUE_READY: write_queue_ready(t, v & 1); break;
	case VIRTIO_MMIO_QUEUE_NOTIFY: queue_notify(t, v); break;
	case VIRTIO_MMIO_INTERRUPT_ACK: atomic_fetch_and(&t->dev->isr, ~v); break;
	case VIRTIO_MMIO_STATUS: write_status(t, v); break;
	default: write_queue_reg(t, off, v); break;
	}
}

static uint32_t mmio_read(struct virtio_mmio *t, uint64_t off)
{
	struct virtio_dev *d = t->dev;
	uint64_t f = d->ops->features(d);
	struct mmio_queue *q = selected(t);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->dev_features_sel == 0 ? (uint32_t)f : t->dev_features_sel == 1 ? (uint32_t)(f >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? VQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return atomic_load(&d->isr);
	case VIRTIO_MMIO_STATUS:
		return t->status | (atomic_load(&d->broken) ? VIRTIO_CONFIG_S_NEEDS_RESET : 0);
	case VIRTIO_MMIO_CONFIG_GENERATION: return 0; /* the configuration never changes while running */
	default: return 0;
	}
}

void virtio_mmio_access(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct virtio_mmio *t = opaque;
	uint32_t v = 0;

	if (off >= VIRTIO_MMIO_CONFIG) {
		if (is_write)
			t->dev->ops->config_write(t->dev, off - VIRTIO_MMIO_CONFIG, data, size);
		else
			t->dev->ops->config_read(t->dev, off - VIRTIO_MMIO_CONFIG, data, size);
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

/* The interrupt line, and a notify eventfd per queue that KVM signals on a QueueNotify write of the
 * queue's index (datamatch), so the kick never leaves the kernel. */
static int kvm_bind_fds(struct vmm *v, struct virtio_dev *d, uint64_t base, bool with_ioeventfd)
{
	struct kvm_irqfd irqfd = { .gsi = ABI_VIRTIO_IRQ_BASE + (uint32_t)d->index };

	d->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	irqfd.fd = (uint32_t)d->irq_fd;
	if (d->irq_fd < 0 || ioctl(v->kvm.vm_fd, KVM_IRQFD, &irqfd) < 0)
		return err_set("KVM_IRQFD: %s", strerror(errno));
	for (int i = 0; with_ioeventfd && i < d->nqueues; i++) {
		struct vqueue *q = &d->queues[i];
		struct kvm_ioeventfd ioev = { .addr = base + VIRTIO_MMIO_QUEUE_NOTIFY, .len = 4,
					      .datamatch = (uint64_t)i, .flags = KVM_IOEVENTFD_FLAG_DATAMATCH };

		q->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ioev.fd = q->notify_fd;
		if (q->notify_fd < 0 || ioctl(v->kvm.vm_fd, KVM_IOEVENTFD, &ioev) < 0)
			return err_set("KVM_IOEVENTFD: %s", strerror(errno));
	}
	return 0;
}

void virtio_mmio_init(struct virtio_mmio *t, struct virtio_dev *d)
{
	memset(t, 0, sizeof(*t));
	t->dev = d;
	t->base = ABI_VIRTIO_MMIO_BASE + (uint64_t)d->index * ABI_VIRTIO_MMIO_SIZE;
}

int virtio_mmio_attach(struct vmm *v, struct virtio_mmio *t, struct virtio_dev *d, bool with_ioeventfd)
{
	struct bus_region r = { .len = ABI_VIRTIO_MMIO_SIZE, .opaque = t,
				.access = virtio_mmio_access, .name = "virtio-mmio" };

	virtio_mmio_init(t, d);
	r.base = t->base;
	if (kvm_bind_fds(v, d, t->base, with_ioeventfd) < 0)
		return -1;
	return bus_register(&v->mmio, &r);
}

/* virtio_mmio.c - the virtio-mmio transport, version 2 (virtio 1.x §4.2.2), for one disk.
 * Runs on the vCPU thread: feature negotiation, status, queue setup, InterruptStatus/ACK, config
 * space. QueueNotify reaches it only with request=exit; otherwise KVM catches the write in-kernel
 * (an ioeventfd) and the IOCore takes over. */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include "../include/abi.h"
#include "dev.h"

#define VENDOR_ID 0x4c585845u /* "EXXL" */

static uint64_t slot_base(int index)
{
	return ABI_VIRTIO_MMIO_BASE + (uint64_t)index * ABI_VIRTIO_MMIO_SIZE;
}

static void set_hi_lo(uint64_t *v, uint32_t val, bool high)
{
	*v = high ? (*v & 0xffffffffull) | (uint64_t)val << 32 : (*v & ~0xffffffffull) | val;
}

/* Stops the device: the emulation context ignores the queue until the next DRIVER_OK. The device's
 * queue (d->vq) stays as it was: heads handed off before the reset must still meet the layout they
 * were checked against. */
static void transport_reset(struct virtio_mmio *t)
{
	struct blk_dev *d = t->dev;
	bool quiet = emu_quiesce(d);

	t->status = 0;
	t->drv_features = 0;
	t->queue_ready = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
	atomic_store(&d->isr, 0);
	if (quiet)
		atomic_store(&d->broken, 0);
	else /* requests still in the backend may yet complete into the old rings */
		blk_mark_broken(d, "requests in flight did not drain at reset");
	t->queue_num = 0;
	t->queue_desc = t->queue_avail = t->queue_used = 0;
}

/* DRIVER_OK: checks the rings and hands the queue to the request path chosen by --request. The new
 * layout is checked on a copy and installed only when valid, and never under a device that is still
 * serving (DRIVER_OK cleared and set again without a reset) or that needs a reset. */
static void transport_activate(struct virtio_mmio *t)
{
	struct blk_dev *d = t->dev;
	struct vq q = d->vq;

	if (atomic_load(&d->active) || atomic_load(&d->broken))
		return;
	q.num = t->queue_num;
	q.desc_gpa = t->queue_desc, q.avail_gpa = t->queue_avail, q.used_gpa = t->queue_used;
	q.event_idx = t->drv_features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	d->features = t->drv_features;
	if (!t->queue_ready || vq_activate(&q, d->mem) < 0) {
		blk_mark_broken(d, t->queue_ready ? err_msg() : "DRIVER_OK without a ready queue");
		return;
	}
	d->vq = q;
	/* Notifications start on, except with an IOCore that never sleeps (request=exitless,
	 * --poll-us 0): an IOCore that may be asleep turns them off when it next polls, and until
	 * then the driver's first kick (an ioeventfd) is what wakes it. */
	vq_set_notify(&d->vq, !(t->vmm->cfg.request == REQ_EXITLESS && t->vmm->cfg.poll_us < 0));
	atomic_store_explicit(&d->active, 1, memory_order_release);
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	uint64_t offered = blk_features(t->dev);

	v &= ~VIRTIO_STATUS_DEVICE_NEEDS_RESET; /* the device's bit: reads show it only when broken */
	if (v == 0) {
		transport_reset(t);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(t->status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((t->drv_features & ~offered) || !(t->drv_features & (1ull << VIRTIO_F_VERSION_1))))
		v &= ~VIRTIO_STATUS_FEATURES_OK; /* refused: the driver reads FEATURES_OK back as 0 */
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(t->status & VIRTIO_STATUS_DRIVER_OK))
		transport_activate(t);
	t->status = v;
}

static void queue_notify(struct virtio_mmio *t, uint32_t queue)
{
	struct blk_dev *d = t->dev;

	atomic_fetch_add(&d->c.notifies, 1);
	if (queue == 0 && atomic_load(&d->active))
		emu_handoff(d);
}

/* Queue registers may only change while the queue is not ready (§4.2.2.2). */
static void write_queue_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	if (t->queue_sel != 0 || t->queue_ready)
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM: t->queue_num = (uint16_t)(v <= VQ_MAX_SIZE ? v : 0); break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: set_hi_lo(&t->queue_desc, v, false); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: set_hi_lo(&t->queue_desc, v, true); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: set_hi_lo(&t->queue_avail, v, false); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: set_hi_lo(&t->queue_avail, v, true); break;
	case VIRTIO_MMIO_QUEUE_USED_LOW: set_hi_lo(&t->queue_used, v, false); break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH: set_hi_lo(&t->queue_used, v, true); break;
	}
}

/* QueueReady 1 -> 0 stops the queue: the driver may free the rings once it reads 0 back, so the
 * device lets go of them first. Set again while DRIVER_OK, the queue is re-checked and served. */
static void write_queue_ready(struct virtio_mmio *t, uint32_t ready)
{
	if (t->queue_sel != 0 || ready == t->queue_ready)
		return;
	if (!ready && !emu_quiesce(t->dev))
		blk_mark_broken(t->dev, "requests in flight did not drain when the queue was stopped");
	t->queue_ready = ready;
	if (ready && (t->status & VIRTIO_STATUS_DRIVER_OK))
		transport_activate(t);
}

static void mmio_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->dev_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->drv_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->drv_features_sel < 2 && !(t->status & VIRTIO_STATUS_FEATURES_OK))
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
	uint64_t f = blk_features(t->dev);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return VIRTIO_ID_BLOCK;
	case VIRTIO_MMIO_VENDOR_ID: return VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->dev_features_sel == 0 ? (uint32_t)f : t->dev_features_sel == 1 ? (uint32_t)(f >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return t->queue_sel == 0 ? VQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY: return t->queue_sel == 0 ? t->queue_ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return atomic_load(&t->dev->isr);
	case VIRTIO_MMIO_STATUS:
		return t->status | (atomic_load(&t->dev->broken) ? VIRTIO_STATUS_DEVICE_NEEDS_RESET : 0);
	case VIRTIO_MMIO_CONFIG_GENERATION: return t->config_generation;
	default: return 0;
	}
}

void virtio_mmio_access(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct virtio_mmio *t = opaque;
	uint32_t v = 0;

	if (off >= VIRTIO_MMIO_CONFIG) {
		if (!is_write) /* the config space is read-only for virtio-blk's fields we offer */
			blk_config_read(t->dev, off - VIRTIO_MMIO_CONFIG, data, size);
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

static int kvm_bind_fds(struct vmm *v, struct blk_dev *d, uint64_t base)
{
	struct kvm_irqfd irqfd = { .gsi = ABI_VIRTIO_IRQ_BASE + (uint32_t)d->index };
	struct kvm_ioeventfd ioev = { .addr = base + VIRTIO_MMIO_QUEUE_NOTIFY, .len = 4 };

	d->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	irqfd.fd = (uint32_t)d->irq_fd;
	if (d->irq_fd < 0 || ioctl(v->kvm.vm_fd, KVM_IRQFD, &irqfd) < 0)
		return err_set("KVM_IRQFD: %s", strerror(errno));
	if (v->cfg.request == REQ_EXIT)
		return 0; /* QueueNotify exits to userspace */
	d->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ioev.fd = d->notify_fd;
	if (d->notify_fd < 0 || ioctl(v->kvm.vm_fd, KVM_IOEVENTFD, &ioev) < 0)
		return err_set("KVM_IOEVENTFD: %s", strerror(errno));
	return 0;
}

void virtio_mmio_init(struct virtio_mmio *t, struct vmm *v, struct blk_dev *d)
{
	memset(t, 0, sizeof(*t));
	t->dev = d;
	t->vmm = v;
	t->base = slot_base(d->index);
}

int virtio_mmio_attach(struct vmm *v, struct virtio_mmio *t, struct blk_dev *d)
{
	struct bus_region r = { .len = ABI_VIRTIO_MMIO_SIZE, .opaque = t,
				.access = virtio_mmio_access, .name = "virtio-mmio" };

	virtio_mmio_init(t, v, d);
	r.base = t->base;
	if (kvm_bind_fds(v, d, t->base) < 0)
		return -1;
	return bus_register(&v->mmio, &r);
}

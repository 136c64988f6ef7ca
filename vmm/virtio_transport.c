/* virtio_transport.c - what every virtio transport shares (virtio 1.x §2, §3.1): the device status and its
 * reset, feature negotiation, each queue's set-up and its activation at DRIVER_OK or when re-enabled, the
 * notification that reached the VMM. virtio-mmio and virtio-pci map their registers onto this; the device is
 * reached only through its ops table. Runs on a vCPU thread, under the bus lock. */
#include <string.h>

#include "virtio.h"

static void set_hi_lo(uint64_t *v, uint32_t val, bool high)
{
	*v = high ? (*v & 0xffffffffull) | (uint64_t)val << 32 : (*v & ~0xffffffffull) | val;
}

void vstate_init(struct virtio_state *s, struct virtio_dev *d)
{
	memset(s, 0, sizeof(*s));
	s->dev = d;
}

struct vstate_queue *vstate_selected(struct virtio_state *s)
{
	return s->queue_sel < (uint32_t)s->dev->nqueues ? &s->q[s->queue_sel] : NULL;
}

/* Stops every queue: the emulation context ignores them until the next DRIVER_OK. The device's queues
 * (struct vq) stay as they were: heads handed off before the reset must still meet the layout they were
 * checked against. */
void vstate_reset(struct virtio_state *s)
{
	struct virtio_dev *d = s->dev;
	bool quiet = true;

	for (int i = 0; i < d->nqueues; i++)
		quiet &= d->ops->queue_stop(d, &d->queues[i]);
	s->status = 0;
	s->drv_features = 0;
	s->queue_sel = 0;
	memset(s->q, 0, sizeof(s->q));
	if (quiet)
		atomic_store(&d->broken, 0);
	else /* requests still in the backend may yet complete into the old rings */
		virtio_dev_broken(d, NULL, "requests in flight did not drain at reset");
}

/* Checks queue i's rings and hands it to the device. The new layout is checked on a copy and installed only
 * when valid, and never under a queue that is still served (DRIVER_OK cleared and set again without a reset)
 * or a device that needs a reset. Returns false when the device is now broken. */
static bool queue_activate(struct virtio_state *s, int i)
{
	struct virtio_dev *d = s->dev;
	struct vqueue *q = &d->queues[i];
	struct vq v = q->vq;

	if (atomic_load(&q->active) || atomic_load(&d->broken))
		return true;
	v.num = s->q[i].num;
	v.desc_gpa = s->q[i].desc, v.avail_gpa = s->q[i].avail, v.used_gpa = s->q[i].used;
	v.event_idx = s->drv_features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	if (vq_activate(&v, d->mem) < 0) {
		virtio_dev_broken(d, q, err_msg());
		return false;
	}
	q->vq = v;
	d->ops->queue_ready(d, q);
	return true;
}

/* DRIVER_OK: every queue the driver made ready is served; one without rings breaks the device. Queue 0 must
 * be ready (every device here needs it). */
static void activate_all(struct virtio_state *s)
{
	if (!s->q[0].ready) {
		virtio_dev_broken(s->dev, NULL, "DRIVER_OK without a ready queue");
		return;
	}
	for (int i = 0; i < s->dev->nqueues; i++)
		if (s->q[i].ready && !queue_activate(s, i))
			return;
}

void vstate_write_status(struct virtio_state *s, uint32_t v)
{
	uint64_t offered = s->dev->ops->features(s->dev);

	v &= ~VIRTIO_CONFIG_S_NEEDS_RESET; /* the device's bit: reads show it only when broken */
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(s->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    ((s->drv_features & ~offered) || !(s->drv_features & (1ull << VIRTIO_F_VERSION_1))))
		v &= ~VIRTIO_CONFIG_S_FEATURES_OK; /* refused: the driver reads FEATURES_OK back as 0 */
	if ((v & VIRTIO_CONFIG_S_DRIVER_OK) && !(s->status & VIRTIO_CONFIG_S_DRIVER_OK))
		activate_all(s);
	s->status = v;
}

uint32_t vstate_read_status(const struct virtio_state *s)
{
	return s->status | (atomic_load(&s->dev->broken) ? VIRTIO_CONFIG_S_NEEDS_RESET : 0);
}

uint32_t vstate_device_features(const struct virtio_state *s, uint32_t sel)
{
	uint64_t f = s->dev->ops->features(s->dev);

	return sel == 0 ? (uint32_t)f : sel == 1 ? (uint32_t)(f >> 32) : 0;
}

void vstate_driver_features(struct virtio_state *s, uint32_t sel, uint32_t v)
{
	if (sel < 2 && !(s->status & VIRTIO_CONFIG_S_FEATURES_OK))
		set_hi_lo(&s->drv_features, v, sel == 1);
}

/* Queue registers may only change while the queue is not ready (§4.2.2.2, §4.1.4.3). */
void vstate_queue_write(struct virtio_state *s, enum vstate_field f, uint32_t v)
{
	struct vstate_queue *q = vstate_selected(s);

	if (!q || q->ready)
		return;
	switch (f) {
	case VQF_NUM: q->num = (uint16_t)(v <= VQ_MAX_SIZE ? v : 0); break;
	case VQF_DESC_LO: set_hi_lo(&q->desc, v, false); break;
	case VQF_DESC_HI: set_hi_lo(&q->desc, v, true); break;
	case VQF_AVAIL_LO: set_hi_lo(&q->avail, v, false); break;
	case VQF_AVAIL_HI: set_hi_lo(&q->avail, v, true); break;
	case VQF_USED_LO: set_hi_lo(&q->used, v, false); break;
	case VQF_USED_HI: set_hi_lo(&q->used, v, true); break;
	}
}

/* Ready 1 -> 0 stops the queue: the driver may free the rings once it reads 0 back, so the device lets go
 * of them first. Set again while DRIVER_OK, the queue is re-checked and served. */
void vstate_queue_ready(struct virtio_state *s, uint32_t ready)
{
	struct vstate_queue *q = vstate_selected(s);
	struct virtio_dev *d = s->dev;
	struct vqueue *vq;

	if (!q || ready == q->ready)
		return;
	vq = &d->queues[s->queue_sel];
	if (!ready && !d->ops->queue_stop(d, vq))
		virtio_dev_broken(d, vq, "requests in flight did not drain when the queue was stopped");
	q->ready = ready;
	if (ready && (s->status & VIRTIO_CONFIG_S_DRIVER_OK))
		queue_activate(s, (int)s->queue_sel);
}

void vstate_queue_notify(struct virtio_state *s, uint32_t index)
{
	struct virtio_dev *d = s->dev;

	if (index < (uint32_t)d->nqueues)
		d->ops->notify(d, &d->queues[index]);
	else /* a kick for no queue: counted, nothing to serve */
		atomic_fetch_add(&d->queues[0].c.notifies, 1);
}

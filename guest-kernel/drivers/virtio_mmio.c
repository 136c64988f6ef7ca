/* virtio_mmio.c - the virtio-mmio transport: command-line discovery, probe, and the operations of vdev.h. */
#include "guest.h"
#include "vdev.h"

/* Every register access is an uncached MMIO access and, under any VMM, an exit (~25 us from CPL3 under
 * PVM): this file is used at set-up only, but for QueueNotify, written only when the device asks. */
static uint32_t rd(const struct vmmio *m, unsigned off)
{
	return *(volatile uint32_t *)(uintptr_t)(m->base + off);
}

static void wr(const struct vmmio *m, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(m->base + off) = v;
}

/* Linux memparse(): a number (0x for hex) with an optional K/M/G suffix. */
static uint64_t parse_size(const char *s, const char **end)
{
	uint64_t v = kstrtoull(s, end, 0);

	switch (**end) {
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; (*end)++; break;
	}
	return v;
}

int vmmio_parse(const char *word, struct vmmio *m)
{
	const char *p = word, *e;

	m->size = parse_size(p, &e);
	if (e == p || *e != '@' || m->size == 0)
		return -1;
	p = e + 1;
	m->base = kstrtoull(p, &e, 0);
	if (e == p || *e != ':' || (m->base & 3))
		return -1;
	p = e + 1;
	m->irq = (int)kstrtoull(p, &e, 0);
	if (e == p)
		return -1;
	if (*e == ':') {	/* the optional platform device id: not needed here */
		p = e + 1;
		kstrtoull(p, &e, 0);
		if (e == p)
			return -1;
	}
	/* kcmd_get_nth returns one NUL-terminated word: anything left after the numbers is junk. */
	if (*e != '\0')
		return -1;
	m->version = 0;
	m->device_id = 0;
	return 0;
}

int vmmio_probe(struct vmmio *m)
{
	uint32_t magic = rd(m, VIRTIO_MMIO_MAGIC_VALUE);

	if (magic != VIRTIO_MMIO_MAGIC) {
		kprintf("virtio-mmio@%#lx: bad magic %#x (want %#x): no transport there\n", m->base, magic,
			VIRTIO_MMIO_MAGIC);
		return -1;
	}
	m->version = rd(m, VIRTIO_MMIO_VERSION);
	if (m->version != 1 && m->version != 2) {
		kprintf("virtio-mmio@%#lx: transport version %u is not supported (1 legacy or 2 modern)\n",
			m->base, m->version);
		return -1;
	}
	m->device_id = rd(m, VIRTIO_MMIO_DEVICE_ID);
	return 0;
}

int vmmio_find(uint32_t device_id, struct vmmio *m)
{
	const char *w;
	int n;

	for (n = 0; (w = kcmd_get_nth("virtio_mmio.device", n)) != NULL; n++) {
		if (vmmio_parse(w, m) != 0) {
			kprintf("virtio-mmio: ignoring malformed virtio_mmio.device=%s "
				"(want <size>@<base>:<irq>[:<id>])\n", w);
			continue;
		}
		if (vmmio_probe(m) == 0 && m->device_id == device_id)
			return 0;
	}
	return -1;
}

/* ---- the transport's operations (vdev.h) ---------------------------------------------------------- */

static const struct vmmio *M(const struct vdev *d) { return &d->t.mmio; }

static void op_reset(struct vdev *d)
{
	wr(M(d), VIRTIO_MMIO_STATUS, 0);
	/* §4.2.3.1: the driver must wait for the reset to finish (status reads 0) before using the device. */
	while (rd(M(d), VIRTIO_MMIO_STATUS) != 0)
		__asm__ volatile("pause");
}

static uint32_t op_status(struct vdev *d) { return rd(M(d), VIRTIO_MMIO_STATUS); }
static void op_set_status(struct vdev *d, uint32_t s) { wr(M(d), VIRTIO_MMIO_STATUS, s); }

static uint64_t op_device_features(struct vdev *d)
{
	uint64_t f;

	wr(M(d), VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = rd(M(d), VIRTIO_MMIO_DEVICE_FEATURES);
	if (d->version == 1)
		return f;	/* legacy: 32 feature bits only */
	wr(M(d), VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)rd(M(d), VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

static void op_driver_features(struct vdev *d, uint64_t features)
{
	wr(M(d), VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(M(d), VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	if (d->version == 1)
		return;
	wr(M(d), VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(M(d), VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

/* QueueReady 0, read back until the device shows 0 (it has let go of the rings): modern only. */
static int op_queue_stop(struct vdev *d, unsigned idx)
{
	if (d->version != 2)
		return -1;
	wr(M(d), VIRTIO_MMIO_QUEUE_SEL, idx);
	wr(M(d), VIRTIO_MMIO_QUEUE_READY, 0);
	for (unsigned i = 0; i < 1000000; i++)
		if (rd(M(d), VIRTIO_MMIO_QUEUE_READY) == 0)
			return 0;
	return -1;
}

static uint32_t op_queue_max(struct vdev *d, unsigned idx)
{
	wr(M(d), VIRTIO_MMIO_QUEUE_SEL, idx);
	if (d->version == 1)
		return rd(M(d), VIRTIO_MMIO_QUEUE_PFN) ? 0 : rd(M(d), VIRTIO_MMIO_QUEUE_NUM_MAX);
	return rd(M(d), VIRTIO_MMIO_QUEUE_READY) ? 0 : rd(M(d), VIRTIO_MMIO_QUEUE_NUM_MAX);
}

static void wr64(const struct vmmio *m, unsigned lo, uint64_t v)
{
	wr(m, lo, (uint32_t)v);
	wr(m, lo + 4, (uint32_t)(v >> 32));
}

/* Modern: the three ring addresses, then QueueReady. Legacy: GuestPageSize, QueueAlign = VRING_LEGACY_ALIGN and
 * QueuePFN = desc >> 12; the caller must have laid the rings out the legacy way. */
static void op_queue_set(struct vdev *d, unsigned idx, unsigned num, uint64_t desc, uint64_t avail, uint64_t used)
{
	const struct vmmio *m = M(d);

	wr(m, VIRTIO_MMIO_QUEUE_SEL, idx);
	wr(m, VIRTIO_MMIO_QUEUE_NUM, num);
	if (d->version == 1) {
		wr(m, VIRTIO_MMIO_GUEST_PAGE_SIZE, VRING_LEGACY_ALIGN);
		wr(m, VIRTIO_MMIO_QUEUE_ALIGN, VRING_LEGACY_ALIGN);
		wr(m, VIRTIO_MMIO_QUEUE_PFN, (uint32_t)(desc / VRING_LEGACY_ALIGN));
		return;
	}
	wr64(m, VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	wr64(m, VIRTIO_MMIO_QUEUE_AVAIL_LOW, avail);
	wr64(m, VIRTIO_MMIO_QUEUE_USED_LOW, used);
	wr(m, VIRTIO_MMIO_QUEUE_READY, 1);
}

static uint32_t op_config32(struct vdev *d, unsigned off) { return rd(M(d), VIRTIO_MMIO_CONFIG + off); }

static uint32_t op_config_generation(struct vdev *d)
{
	return d->version == 2 ? rd(M(d), VIRTIO_MMIO_CONFIG_GENERATION) : 0;
}

/* QueueNotify: a 32-bit write of the queue index. */
static void op_notify(struct vdev *d, unsigned idx)
{
	*(volatile uint32_t *)(uintptr_t)(M(d)->base + VIRTIO_MMIO_QUEUE_NOTIFY) = idx;
}

/* One IOAPIC pin for every queue; the CPL0 handler reads InterruptStatus and writes it to InterruptACK (two
 * exits per interrupt). A second attach of the same pin (a re-init after a reset) finds it routed already. */
static int op_irq_setup(struct vdev *d, unsigned nq, long *line)
{
	long r = sys_irq_attach(M(d)->irq, (uintptr_t)(M(d)->base + VIRTIO_MMIO_INTERRUPT_STATUS),
				(uintptr_t)(M(d)->base + VIRTIO_MMIO_INTERRUPT_ACK));

	if (r < 0 && r != -16) { /* -EBUSY: routed already */
		kprintf("%s: irq_attach(gsi %d) failed: %ld\n", d->name, M(d)->irq, r);
		return -1;
	}
	for (unsigned i = 0; i <= nq; i++) /* the queues and configuration changes alike */
		line[i] = M(d)->irq;
	return 0;
}

static const struct vdev_ops vmmio_ops = {
	.name = "mmio",
	.reset = op_reset,
	.status = op_status,
	.set_status = op_set_status,
	.device_features = op_device_features,
	.driver_features = op_driver_features,
	.queue_max = op_queue_max,
	.queue_stop = op_queue_stop,
	.queue_set = op_queue_set,
	.config32 = op_config32,
	.config_generation = op_config_generation,
	.notify = op_notify,
	.irq_setup = op_irq_setup,
};

void vmmio_vdev(const struct vmmio *m, struct vdev *d)
{
	memset(d, 0, sizeof(*d));
	d->ops = &vmmio_ops;
	d->t.mmio = *m;
	d->device_id = m->device_id;
	d->version = m->version;
	snprintf(d->name, sizeof(d->name), "virtio-mmio@%#lx", m->base);
}

int vmmio_vdev_find(uint32_t device_id, struct vdev *d)
{
	struct vmmio m;

	if (vmmio_find(device_id, &m) != 0)
		return -1;
	vmmio_vdev(&m, d);
	return 0;
}

/* virtio_mmio.c - the virtio-mmio transport: command-line discovery, probe, status, features, queues, config. */
#include "guest.h"
#include "virtio_mmio.h"

/* Every register access is an uncached MMIO access and, under any VMM, an exit (~25 us from CPL3 under
 * PVM): this file is used at set-up only. The one data-path register, QueueNotify, is in the header. */
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

void vmmio_reset(const struct vmmio *m)
{
	wr(m, VIRTIO_MMIO_STATUS, 0);
	/* §4.2.3.1: the driver must wait for the reset to finish (status reads 0) before using the device. */
	while (rd(m, VIRTIO_MMIO_STATUS) != 0)
		__asm__ volatile("pause");
}

void vmmio_add_status(const struct vmmio *m, uint32_t bits)
{
	wr(m, VIRTIO_MMIO_STATUS, rd(m, VIRTIO_MMIO_STATUS) | bits);
}

uint32_t vmmio_status(const struct vmmio *m)
{
	return rd(m, VIRTIO_MMIO_STATUS);
}

void vmmio_fail(const struct vmmio *m, const char *why)
{
	kprintf("virtio-mmio@%#lx: %s\n", m->base, why);
	vmmio_add_status(m, VIRTIO_CONFIG_S_FAILED);
}

uint64_t vmmio_device_features(const struct vmmio *m)
{
	uint64_t f;

	wr(m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = rd(m, VIRTIO_MMIO_DEVICE_FEATURES);
	if (m->version == 1)
		return f;	/* legacy: 32 feature bits only */
	wr(m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)rd(m, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

int vmmio_set_features(const struct vmmio *m, uint64_t features)
{
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	if (m->version == 1)
		return 0;	/* legacy: no FEATURES_OK handshake (§4.2.4) */
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	vmmio_add_status(m, VIRTIO_CONFIG_S_FEATURES_OK);
	/* §3.1.1 step 6: re-read; a device that cannot work with this subset clears the bit. */
	return (vmmio_status(m) & VIRTIO_CONFIG_S_FEATURES_OK) ? 0 : -1;
}

int vmmio_queue_stop(const struct vmmio *m, unsigned idx)
{
	wr(m, VIRTIO_MMIO_QUEUE_SEL, idx);
	wr(m, VIRTIO_MMIO_QUEUE_READY, 0);
	for (unsigned i = 0; i < 1000000; i++)
		if (rd(m, VIRTIO_MMIO_QUEUE_READY) == 0)
			return 0;
	return -1;
}

uint32_t vmmio_queue_max(const struct vmmio *m, unsigned idx)
{
	wr(m, VIRTIO_MMIO_QUEUE_SEL, idx);
	if (m->version == 1)
		return rd(m, VIRTIO_MMIO_QUEUE_PFN) ? 0 : rd(m, VIRTIO_MMIO_QUEUE_NUM_MAX);
	return rd(m, VIRTIO_MMIO_QUEUE_READY) ? 0 : rd(m, VIRTIO_MMIO_QUEUE_NUM_MAX);
}

static void wr64(const struct vmmio *m, unsigned lo, uint64_t v)
{
	wr(m, lo, (uint32_t)v);
	wr(m, lo + 4, (uint32_t)(v >> 32));
}

void vmmio_queue_set(const struct vmmio *m, unsigned idx, unsigned num, uint64_t desc, uint64_t avail,
		     uint64_t used)
{
	wr(m, VIRTIO_MMIO_QUEUE_SEL, idx);
	wr(m, VIRTIO_MMIO_QUEUE_NUM, num);
	if (m->version == 1) {
		/* Legacy: the device derives avail and used from the PFN, the size and the alignment. */
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

uint32_t vmmio_config32(const struct vmmio *m, unsigned off)
{
	return rd(m, VIRTIO_MMIO_CONFIG + off);
}

uint64_t vmmio_config64(const struct vmmio *m, unsigned off)
{
	uint32_t gen, lo, hi;

	if (m->version == 1) {
		/* Legacy has no ConfigGeneration: re-read until the high half is stable around the low one. */
		do {
			hi = vmmio_config32(m, off + 4);
			lo = vmmio_config32(m, off);
		} while (hi != vmmio_config32(m, off + 4));
		return (uint64_t)hi << 32 | lo;
	}
	do {
		gen = rd(m, VIRTIO_MMIO_CONFIG_GENERATION);
		lo = vmmio_config32(m, off);
		hi = vmmio_config32(m, off + 4);
	} while (gen != rd(m, VIRTIO_MMIO_CONFIG_GENERATION));
	return (uint64_t)hi << 32 | lo;
}

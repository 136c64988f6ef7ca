/* hostile_regs.c - hostile register traffic: ring registers while running, read-only fields, storms, bad queue set-ups. */
#include "guest.h"
#include "hostile.h"

#define STORM 10000

static void wr8(unsigned off, uint8_t v) { *(volatile uint8_t *)(uintptr_t)(H.mmio.base + off) = v; }
static void wr16(unsigned off, uint16_t v) { *(volatile uint16_t *)(uintptr_t)(H.mmio.base + off) = v; }
static void wr64(unsigned off, uint64_t v) { *(volatile uint64_t *)(uintptr_t)(H.mmio.base + off) = v; }

static void wr_pair(unsigned lo, uint64_t v)
{
	h_wr(lo, (uint32_t)v);
	h_wr(lo + 4, (uint32_t)(v >> 32));
}

/* Queue 0's registers pointed outside RAM and its size at 3. */
static void junk_queue_regs(void)
{
	uint64_t junk = H.ram_end + (1ull << 20);

	h_wr(VIRTIO_MMIO_QUEUE_SEL, H.qi);
	h_wr(VIRTIO_MMIO_QUEUE_NUM, 3);
	wr_pair(VIRTIO_MMIO_QUEUE_DESC_LOW, junk | 0xdead00000000ull);
	wr_pair(VIRTIO_MMIO_QUEUE_AVAIL_LOW, junk + 8);
	wr_pair(VIRTIO_MMIO_QUEUE_USED_LOW, 0xfffffffffffff000ull);
}

/* After QueueReady=0 (read back as 0) the driver may consider the queue stopped and reuse its memory.
 * Informational: is a request published now still served? 1 when it was (the queue is in a known state). */
static int served_after_unready(void)
{
	uint64_t dl = h_deadline(200);
	void *cookie;
	uint8_t st;
	int n;

	if (h_check(blk_queue(&H.b.q[H.qi], VIRTIO_BLK_T_IN, H_LBA * 512ull, H.buf, 4096, H.buf) != BLK_Q_OK, "queue refused"))
		return 0;
	blk_commit(&H.b.q[H.qi]);
	H.dev.ops->notify(&H.dev, H.qi);
	while ((n = blk_reap(&H.b.q[H.qi], &cookie, &st, 1, 0)) == 0 && !h_expired(dl))
		__asm__ volatile("pause");
	kprintf("hostile-%s: NOTE: a request published after QueueReady=0 was %s\n", H.name,
		n == 1 ? "still served (the device kept using the queue)" : "not served within 200 ms");
	return n == 1;
}

/* §4.2.2.2: ring addresses and QueueNum written while QueueReady=1 must not reach the running queue. */
int hc_queue_regs_running(void)
{
	uint32_t r0;

	junk_queue_regs();
	if (h_check(h_rd(VIRTIO_MMIO_QUEUE_READY) != 1, "QueueReady reads %u after ring writes while ready",
		    h_rd(VIRTIO_MMIO_QUEUE_READY)))
		return -1;
	for (unsigned i = 0; i < 3; i++)
		if (h_responsive() != 0)
			return -1;
	/* QueueReady=0 while DRIVER_OK, junk addresses, QueueReady=1 again: serving the rings checked at DRIVER_OK
	 * or asking for a reset are both safe; using the junk would not be. */
	h_wr(VIRTIO_MMIO_QUEUE_READY, 0);
	r0 = h_rd(VIRTIO_MMIO_QUEUE_READY);
	if (h_check(r0 != 0, "QueueReady reads %u right after the driver wrote 0", r0) || !served_after_unready())
		return h_open();
	junk_queue_regs();
	h_wr(VIRTIO_MMIO_QUEUE_READY, 1);
	if (h_rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET) {
		kprintf("hostile-%s: QueueReady 0 -> 1 while running: the device asks for a reset\n", H.name);
		H.errors++;
	} else if (h_responsive() == 0) {
		kprintf("hostile-%s: QueueReady 0 -> 1 while running: the device kept the rings of DRIVER_OK\n", H.name);
	}
	return h_open();
}

static const unsigned ro_regs[] = { VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION, VIRTIO_MMIO_DEVICE_ID, VIRTIO_MMIO_VENDOR_ID,
				    VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_QUEUE_NUM_MAX, VIRTIO_MMIO_CONFIG_GENERATION };
#define NRO (sizeof(ro_regs) / sizeof(ro_regs[0]))

/* Writes of every width to read-only registers and reserved offsets, the device's own status bit, feature
 * selectors out of range and driver features after FEATURES_OK. */
static void ro_storm(uint32_t s0)
{
	for (unsigned i = 0; i < NRO; i++) {
		h_wr(ro_regs[i], ~h_rd(ro_regs[i]));
		h_wr(ro_regs[i], 0);
	}
	h_wr(VIRTIO_MMIO_INTERRUPT_STATUS, 0xffffffff);
	wr8(VIRTIO_MMIO_MAGIC_VALUE, 0);
	wr16(VIRTIO_MMIO_DEVICE_ID, 0x1234);
	wr8(VIRTIO_MMIO_QUEUE_NUM_MAX + 1, 0xff);
	h_wr(VIRTIO_MMIO_MAGIC_VALUE + 2, 0);	/* misaligned 32-bit */
	h_wr(0x0ac, ~0u);
	h_wr(0x0c0, ~0u);
	h_wr(0x0f0, ~0u);
	h_wr(VIRTIO_MMIO_STATUS, s0 | VIRTIO_CONFIG_S_NEEDS_RESET);
	h_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	h_wr(VIRTIO_MMIO_DRIVER_FEATURES, ~0u);
	h_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	h_wr(VIRTIO_MMIO_DRIVER_FEATURES, ~0u);
	h_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0x12345678);
	h_wr(VIRTIO_MMIO_DRIVER_FEATURES, ~0u);
}

int hc_ro_regs(void)
{
	uint32_t before[NRO], s0, s1, f;

	h_wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	h_wr(VIRTIO_MMIO_QUEUE_SEL, H.qi);
	for (unsigned i = 0; i < NRO; i++)
		before[i] = h_rd(ro_regs[i]);
	s0 = h_rd(VIRTIO_MMIO_STATUS);
	ro_storm(s0);
	for (unsigned i = 0; i < NRO; i++)
		h_check(h_rd(ro_regs[i]) != before[i], "register %#x changed from %#x to %#x", ro_regs[i], before[i],
			h_rd(ro_regs[i]));
	s1 = h_rd(VIRTIO_MMIO_STATUS);
	h_check(s1 != s0, "Status %#x became %#x after the driver wrote the NEEDS_RESET bit", s0, s1);
	h_wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	f = h_rd(VIRTIO_MMIO_DEVICE_FEATURES);
	h_wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	h_check(f != 0, "DeviceFeatures reads %#x for selector 7", f);
	return H.bad ? -1 : 0;
}

/* virtio-blk's configuration space is read-only: capacity, seg_max, blk_size and the generation stay put,
 * and the capacity the device enforces is still the one it reports. */
int hc_config_write(void)
{
	uint64_t cap = vdev_config64(&H.dev, 0);
	uint32_t seg = H.dev.ops->config32(&H.dev, VIRTIO_BLK_CFG_SEG_MAX), bsz = H.dev.ops->config32(&H.dev, VIRTIO_BLK_CFG_BLK_SIZE), gen = h_rd(VIRTIO_MMIO_CONFIG_GENERATION);
	const struct probe p[] = {
		{ "T_OUT at the old capacity after config writes", 1, cap, { B_HDR, 0, 16 }, { B_DATA, 0, 4096 },
		  { B_STATUS, 0, 1 }, 0, 0, X_IOERR },
		{ "T_IN of the last sector after config writes", 0, cap - 1, { B_HDR, 0, 16 }, { B_DATA, 0, 512 },
		  { B_STATUS, 0, 1 }, 1, 0, X_OK },
	};

	h_check(cap != H.b.capacity, "capacity %lu, the driver read %lu at open", cap, H.b.capacity);
	h_wr(VIRTIO_MMIO_CONFIG, ~0u);
	h_wr(VIRTIO_MMIO_CONFIG + 4, 0x7fffffff);
	wr8(VIRTIO_MMIO_CONFIG, 0);
	wr16(VIRTIO_MMIO_CONFIG + 2, 0xffff);
	wr64(VIRTIO_MMIO_CONFIG, 1);
	h_wr(VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_SEG_MAX, 1);
	h_wr(VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_BLK_SIZE, 4096);
	h_wr(0x1fc, ~0u);
	h_check(vdev_config64(&H.dev, 0) != cap, "capacity changed from %lu to %lu", cap, vdev_config64(&H.dev, 0));
	h_check(H.dev.ops->config32(&H.dev, VIRTIO_BLK_CFG_SEG_MAX) != seg, "seg_max changed from %u", seg);
	h_check(H.dev.ops->config32(&H.dev, VIRTIO_BLK_CFG_BLK_SIZE) != bsz, "blk_size changed from %u", bsz);
	h_check(h_rd(VIRTIO_MMIO_CONFIG_GENERATION) != gen, "ConfigGeneration moved without a config change");
	if (H.bad)
		return -1;
	return h_probes(p, sizeof(p) / sizeof(p[0]));
}

static void notify_storm(void)
{
	static const uint32_t other[] = { 1, 7, 0xffff, 0xffffffff };

	for (unsigned i = 0; i < STORM; i++)
		H.dev.ops->notify(&H.dev, H.qi);
	for (unsigned i = 0; i < 100; i++)
		H.dev.ops->notify(&H.dev, other[i % 4]);
}

static void ack_storm(void)
{
	static const uint32_t v[] = { 0xffffffff, 1, 2, 3, 0, 0x80000000 };

	for (unsigned i = 0; i < STORM; i++)
		h_wr(VIRTIO_MMIO_INTERRUPT_ACK, v[i % 6]);
}

/* 16 reads of the pattern in flight, the storm, then every read must complete with the pattern. */
static int storm_with_reads(void (*storm)(void), const char *what)
{
	void *ck[H_MAX_PROBE];
	uint8_t st[H_MAX_PROBE];
	unsigned got = 0;
	uint64_t t0, t1, dl;
	int r;

	for (unsigned i = 0; i < H_MAX_PROBE; i++) {
		memset(H.data + i * 4096, 0, 4096);
		if (h_check(blk_queue(&H.b.q[H.qi], VIRTIO_BLK_T_IN, H_LBA * 512ull, H.data + i * 4096, 4096, H.data + i * 4096) !=
			    BLK_Q_OK, "the driver refused read %u", i))
			return -1;
	}
	blk_commit(&H.b.q[H.qi]);
	t0 = clock_ns();
	storm();
	t1 = clock_ns();
	for (dl = h_deadline(H_WAIT_MS); got < H_MAX_PROBE && !h_expired(dl); got += (unsigned)r)
		if (h_check((r = blk_reap(&H.b.q[H.qi], ck + got, st + got, H_MAX_PROBE - got, 0)) < 0, "broken used ring"))
			return -1;
	if (h_check(got != H_MAX_PROBE, "%u of %u reads completed around the %s", got, H_MAX_PROBE, what))
		return -1;
	for (unsigned i = 0; i < got; i++)
		h_check(st[i] != VIRTIO_BLK_S_OK || memcmp(ck[i], H.pattern, 4096) != 0, "read %u: status %u or data wrong", i,
			st[i]);
	kprintf("hostile-%s: %u %s in %lu ms with %u reads in flight\n", H.name, STORM, what, (t1 - t0) / 1000000,
		H_MAX_PROBE);
	return H.bad ? -1 : 0;
}

int hc_notify_storm(void) { return storm_with_reads(notify_storm, "QueueNotify writes"); }
int hc_ack_storm(void) { return storm_with_reads(ack_storm, "InterruptACK writes"); }

struct ringcfg {
	const char *what;
	uint32_t num;
	uint64_t desc, avail, used;
	int ready;
};

/* Sets the device up by hand with the given queue and expects DEVICE_NEEDS_RESET at DRIVER_OK. */
static int try_rings(const struct ringcfg *c)
{
	if (h_reset() != 0)
		return -1;
	vdev_add_status(&H.dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	if (h_check(vdev_set_features(&H.dev, 1ull << VIRTIO_F_VERSION_1) != 0, "%s: FEATURES_OK refused", c->what))
		return -1;
	h_wr(VIRTIO_MMIO_QUEUE_SEL, H.qi);
	h_wr(VIRTIO_MMIO_QUEUE_NUM, c->num);
	wr_pair(VIRTIO_MMIO_QUEUE_DESC_LOW, c->desc);
	wr_pair(VIRTIO_MMIO_QUEUE_AVAIL_LOW, c->avail);
	wr_pair(VIRTIO_MMIO_QUEUE_USED_LOW, c->used);
	if (c->ready)
		h_wr(VIRTIO_MMIO_QUEUE_READY, 1);
	vdev_add_status(&H.dev, VIRTIO_CONFIG_S_DRIVER_OK);
	if (h_wait_status(VIRTIO_CONFIG_S_NEEDS_RESET) != 0)
		return h_check(1, "%s: accepted at DRIVER_OK", c->what), 0;
	H.errors++;
	return 0;
}

int hc_bad_ring_setup(void)
{
	static uint8_t *rings;
	uint64_t r, e = H.ram_end;

	if (!rings && h_check(!(rings = page_alloc(3)), "out of guest memory"))
		return -1;
	memset(rings, 0, 3 * 4096);
	r = (uintptr_t)rings;
	const struct ringcfg c[] = {
		{ "descriptor table outside RAM", 256, e + 0x10000, r + 4096, r + 8192, 1 },
		{ "descriptor table in the virtio-mmio window", 256, 0xfeb00000, r + 4096, r + 8192, 1 },
		{ "used ring straddling RAM's end", 256, r, r + 4096, e - 1024, 1 },
		{ "avail ring wrapping the address space", 256, r, 0xfffffffffffff000ull, r + 8192, 1 },
		{ "misaligned descriptor table", 256, r + 8, r + 4096, r + 8192, 1 },
		{ "queue size 100 (not a power of two)", 100, r, r + 4096, r + 8192, 1 },
		{ "queue size 0", 0, r, r + 4096, r + 8192, 1 },
		{ "queue size 512 (above QueueNumMax)", 512, r, r + 4096, r + 8192, 1 },
		{ "DRIVER_OK without QueueReady", 256, r, r + 4096, r + 8192, 0 },
	};

	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (try_rings(&c[i]) != 0)
			return -1;
	return h_open();
}

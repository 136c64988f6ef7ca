/* hostile.c - hostile-guest self-tests: set-up, reporting, device life cycle, crafted-chain plumbing, registration. */
#include "guest.h"
#include "hostile.h"

struct hostile H;

static inline void pause(void) { __asm__ volatile("pause" ::: "memory"); }

int h_check(int cond, const char *fmt, ...)
{
	va_list ap;

	if (!cond)
		return 0;
	kprintf("hostile-%s: ", H.name);
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	H.bad++;
	return 1;
}

uint32_t h_status(void) { return H.dev.ops->status(&H.dev); }
uint32_t h_rd(unsigned off) { return *(volatile uint32_t *)(uintptr_t)(H.mmio.base + off); }
void h_wr(unsigned off, uint32_t v) { *(volatile uint32_t *)(uintptr_t)(H.mmio.base + off) = v; }
uint64_t h_deadline(uint64_t ms) { return clock_ns() + ms * 1000000ull; }
int h_expired(uint64_t deadline) { return clock_ns() >= deadline; }

int h_reset(void)
{
	uint64_t dl = h_deadline(10000);	/* a reset may wait for requests in flight to drain */
	uint32_t s;

	H.dev.ops->set_status(&H.dev, 0);
	while ((s = h_status()) != 0 && !h_expired(dl))
		pause();
	return h_check(s != 0, "Status reads %#x, not 0, 10 s after a reset", s) ? -1 : 0;
}

int h_open(void)
{
	if (h_reset() != 0)
		return -1;
	if (h_check(blk_open(&H.b, &H.dev, BLK_POLL, BLK_MAX_QUEUES) != 0, "the normal driver could not open the device"))
		return -1;
	return h_check(H.b.nq <= H.qi, "hostile_queue=%u: the device has %u queue(s)", H.qi, H.b.nq) ? -1 : 0;
}

int h_wait_status(uint32_t bits)
{
	uint64_t dl = h_deadline(H_WAIT_MS);
	uint32_t s;

	while (((s = h_status()) & bits) != bits && !h_expired(dl))
		pause();
	return h_check((s & bits) != bits, "Status %#x still lacks %#x after %u ms", s, bits, H_WAIT_MS) ? -1 : 0;
}

/* A normal request, reaped within ms. */
static int h_io_within(uint32_t type, uint64_t lba, void *buf, uint32_t len, unsigned ms)
{
	uint64_t dl = h_deadline(ms);
	void *cookie;
	uint8_t st;
	int n, r = blk_queue(&H.b.q[H.qi], type, lba * 512, buf, len, buf ? buf : (void *)&H);

	if (h_check(r != BLK_Q_OK, "the driver refused a normal request (type %u, lba %lu): %d", type, lba, r))
		return -1;
	blk_commit(&H.b.q[H.qi]);
	while ((n = blk_reap(&H.b.q[H.qi], &cookie, &st, 1, 0)) == 0 && !h_expired(dl))
		pause();
	if (h_check(n < 0, "the device returned a descriptor that is not in flight") ||
	    h_check(n == 0, "a normal request (type %u, lba %lu) did not complete within %u ms", type, lba, ms))
		return -1;
	return st;
}

int h_io(uint32_t type, uint64_t lba, void *buf, uint32_t len)
{
	return h_io_within(type, lba, buf, len, H_WAIT_MS);
}

int h_responsive(void)
{
	uint32_t s = h_status();
	int st;

	if (h_check((s & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)) || !(s & VIRTIO_CONFIG_S_DRIVER_OK),
		    "Status %#x: the device is not serving", s))
		return -1;
	memset(H.buf, 0, 4096);
	if ((st = h_io(VIRTIO_BLK_T_IN, H_LBA, H.buf, 4096)) < 0)
		return -1;
	if (h_check(st != VIRTIO_BLK_S_OK, "a normal read of lba %u: status %d", H_LBA, st) ||
	    h_check(memcmp(H.buf, H.pattern, 4096) != 0, "lba %u-%u no longer hold the pattern", H_LBA,
		    H_LBA + H_LBA_COUNT - 1))
		return -1;
	return 0;
}

void h_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = &H.b.q[H.qi].vq.desc[i];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

void h_push(uint16_t head)
{
	struct vq *q = &H.b.q[H.qi].vq;

	q->avail->ring[q->avail_idx & (q->num - 1)] = head;
	q->avail_idx++;
	q->num_added++;
}

void h_kick(void) { blk_commit(&H.b.q[H.qi]); }

int h_wait_used(unsigned n, struct vring_used_elem *out, uint64_t ms)
{
	struct vq *q = &H.b.q[H.qi].vq;
	uint64_t dl = h_deadline(ms);
	unsigned got = 0;

	while (got < n) {
		if (*(volatile uint16_t *)&q->used->idx == q->last_used) {
			if (h_expired(dl))
				break;
			pause();
			continue;
		}
		__asm__ volatile("" ::: "memory");	/* acquire: the entry after the index */
		out[got].id = ((volatile struct vring_used_elem *)q->used->ring)[q->last_used & (q->num - 1)].id;
		out[got].len = ((volatile struct vring_used_elem *)q->used->ring)[q->last_used & (q->num - 1)].len;
		got++;
		q->last_used++;
	}
	vq_disable_cb(q);	/* re-park used_event relative to the new last_used */
	return (int)got;
}

static struct vring_desc saved_desc[ABI_VIRTQ_MAX_SIZE];

void h_save_desc(void) { memcpy(saved_desc, H.b.q[H.qi].vq.desc, H.b.q[H.qi].vq.num * sizeof(struct vring_desc)); }
void h_restore_desc(void) { memcpy(H.b.q[H.qi].vq.desc, saved_desc, H.b.q[H.qi].vq.num * sizeof(struct vring_desc)); }

/* The pattern of LBA H_LBA..: a readable line per sector (the host counts them), then a fixed byte series. */
static void make_pattern(void)
{
	for (unsigned i = 0; i < 4096; i++)
		H.pattern[i] = (uint8_t)(i * 31 + 7);
	for (unsigned s = 0; s < H_LBA_COUNT; s++)
		snprintf((char *)H.pattern + s * 512, 32, "exitless hostile lba %04u\n", H_LBA + s);
}

static uint64_t ram_end(void)
{
	struct pvh_mem_range r;
	uint64_t end = 0;

	for (unsigned i = 0; pvh_memmap(i, &r) == 0; i++)
		if (r.type == 1 && r.addr + r.size > end)
			end = r.addr + r.size;
	return end;
}

/* Once per boot: find and open the disk, write the pattern (the only legitimate write), flush, read it back. */
static int h_setup(void)
{
	static int done;
	int ok = 1;

	if (done)
		return done < 0 ? -1 : 0;
	done = -1;
	H.name = "setup";
	H.qi = (unsigned)kcmd_u64("hostile_queue", 0, &ok);
	if (h_check(!ok || H.qi >= BLK_MAX_QUEUES, "hostile_queue= takes a queue index below %u", BLK_MAX_QUEUES))
		return -1;
	if (h_check(vdev_find(VIRTIO_ID_BLOCK, &H.dev) != 0, "no virtio-blk device (virtio-mmio or virtio-pci)") ||
	    h_check(H.dev.version != 2, "transport version %u: the hostile tests need a modern (v2) transport",
		    H.dev.version))
		return -1;
	H.on_mmio = !strcmp(H.dev.ops->name, "mmio");
	if (H.on_mmio)
		H.mmio = H.dev.t.mmio;
	H.ram_end = ram_end();
	H.scratch = page_alloc(1);
	H.data = page_alloc(H_MAX_PROBE);
	H.pattern = page_alloc(1);
	H.buf = page_alloc(1);
	if (h_check(!H.scratch || !H.data || !H.pattern || !H.buf || !H.ram_end, "out of guest memory") ||
	    h_open() != 0)
		return -1;
	make_pattern();
	/* the first request may also wait for the device to come up: a device process (--emulation process) can
	 * still be starting, which takes seconds of guest time in an emulated rig (Bochs's VMX) */
	if (h_check(h_io_within(VIRTIO_BLK_T_OUT, H_LBA, H.pattern, 4096, H_START_MS) != VIRTIO_BLK_S_OK,
		    "writing the pattern failed") ||
	    h_check(h_io(VIRTIO_BLK_T_FLUSH, 0, NULL, 0) != VIRTIO_BLK_S_OK, "flush failed") || h_responsive() != 0)
		return -1;
	kprintf("hostile: RAM ends at %#lx, disk %lu sectors, queue %u of %u (%u entries), pattern at lba %u-%u\n",
		H.ram_end, H.b.capacity, H.qi, H.b.nq, H.b.q[H.qi].vq.num, H_LBA, H_LBA + H_LBA_COUNT - 1);
	done = 1;
	return 0;
}

/* Where a case applies: any transport, or only one (it drives that transport's own registers). */
enum hwhere { ANY, MMIO, PCI };

struct hcase {
	const char *name;
	int (*run)(void);
	int in_all;	/* part of test=hostile-all */
	enum hwhere where;
};

static const struct hcase cases[] = {
	{ "outside-ram", hc_outside_ram, 1, ANY },	{ "straddle-ram-end", hc_straddle, 1, ANY },
	{ "chain-loop", hc_chain_loop, 1, ANY },	{ "chain-too-long", hc_chain_too_long, 1, ANY },
	{ "zero-len", hc_zero_len, 1, ANY },		{ "huge-len", hc_huge_len, 1, ANY },
	{ "unknown-type", hc_unknown_type, 1, ANY },	{ "past-end", hc_past_end, 1, ANY },
	{ "bad-head", hc_bad_head, 1, ANY },		{ "queue-regs-running", hc_queue_regs_running, 1, MMIO },
	{ "ro-regs", hc_ro_regs, 1, MMIO },	{ "config-write", hc_config_write, 1, MMIO },
	{ "notify-storm", hc_notify_storm, 1, MMIO }, { "ack-storm", hc_ack_storm, 1, MMIO },
	{ "reinit", hc_reinit, 1, ANY },		{ "avail-jump", hc_avail_jump, 1, ANY },
	{ "framing", hc_framing, 1, ANY },		{ "dup-head", hc_dup_head, 1, ANY },
	{ "bad-ring-setup", hc_bad_ring_setup, 1, MMIO }, { "aliased-rings", hc_aliased_rings, 1, ANY },
	{ "reset-inflight", hc_reset_inflight, 0, ANY },	{ "queue-restart", hc_queue_restart, 0, MMIO },
	{ "pci-config", hc_pci_config, 1, PCI },	{ "pci-bar", hc_pci_bar, 1, PCI },
	{ "pci-msix", hc_pci_msix, 1, PCI },	{ "pci-master", hc_pci_master, 1, PCI },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static int applies(const struct hcase *c)
{
	return c->where == ANY || (c->where == MMIO) == H.on_mmio;
}

/* One case: run it, then the device must still serve a normal read. Prints its PASS/FAIL line. */
static int run_case(const struct hcase *c, int print)
{
	H.name = c->name;
	H.bad = 0;
	if (c->run() == 0 && H.bad == 0)
		h_responsive();
	if (print)
		kprintf("%s hostile-%s\n", H.bad ? "FAIL" : "PASS", c->name);
	if (H.bad)
		h_open();	/* leave a fresh device to the next case */
	return H.bad != 0;
}

static void summary(unsigned run, unsigned failed)
{
	kprintf("hostile: %u case(s) run, %u failed; provoked errors %lu unsupported %lu\n", run, failed, H.errors,
		H.unsupp);
}

static int run_named(const char *name)
{
	int failed;

	if (h_setup() != 0)
		return 1;
	for (unsigned i = 0; i < NCASES; i++) {
		if (strcmp(cases[i].name, name) != 0)
			continue;
		if (!applies(&cases[i])) {
			kprintf("hostile-%s: this case drives virtio-%s registers; the disk is on virtio-%s\n", name,
				cases[i].where == MMIO ? "mmio" : "pci", H.dev.ops->name);
			return 1;
		}
		failed = run_case(&cases[i], 0);
		summary(1, (unsigned)failed);
		return failed;
	}
	return 1;
}

static int t_all(void)
{
	unsigned run = 0, failed = 0;

	if (h_setup() != 0)
		return 1;
	for (unsigned i = 0; i < NCASES; i++)
		if (cases[i].in_all && applies(&cases[i])) {
			failed += (unsigned)run_case(&cases[i], 1);
			run++;
		}
	summary(run, failed);
	return failed != 0;
}
GUEST_TEST("hostile-all", t_all, 0);

/* One GUEST_TEST per case (none in test=all: they need a disk and write to it); the selftest runner prints
 * their PASS/FAIL line. */
#define HOSTILE_TEST(cname, fn) \
	static int fn(void) { return run_named(cname); } \
	GUEST_TEST("hostile-" cname, fn, 0)

HOSTILE_TEST("outside-ram", t_outside_ram);
HOSTILE_TEST("straddle-ram-end", t_straddle);
HOSTILE_TEST("chain-loop", t_chain_loop);
HOSTILE_TEST("chain-too-long", t_chain_too_long);
HOSTILE_TEST("zero-len", t_zero_len);
HOSTILE_TEST("huge-len", t_huge_len);
HOSTILE_TEST("unknown-type", t_unknown_type);
HOSTILE_TEST("past-end", t_past_end);
HOSTILE_TEST("bad-head", t_bad_head);
HOSTILE_TEST("queue-regs-running", t_queue_regs_running);
HOSTILE_TEST("ro-regs", t_ro_regs);
HOSTILE_TEST("config-write", t_config_write);
HOSTILE_TEST("notify-storm", t_notify_storm);
HOSTILE_TEST("ack-storm", t_ack_storm);
HOSTILE_TEST("reinit", t_reinit);
HOSTILE_TEST("avail-jump", t_avail_jump);
HOSTILE_TEST("framing", t_framing);
HOSTILE_TEST("dup-head", t_dup_head);
HOSTILE_TEST("bad-ring-setup", t_bad_ring_setup);
HOSTILE_TEST("aliased-rings", t_aliased_rings);
HOSTILE_TEST("reset-inflight", t_reset_inflight);
HOSTILE_TEST("queue-restart", t_queue_restart);
HOSTILE_TEST("pci-config", t_pci_config);
HOSTILE_TEST("pci-bar", t_pci_bar);
HOSTILE_TEST("pci-msix", t_pci_msix);
HOSTILE_TEST("pci-master", t_pci_master);

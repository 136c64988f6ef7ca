/* hostile_frame.c - odd but legal message framing, a head made available twice, and all three rings at one address. */
#include "guest.h"
#include "hostile.h"

#define B  H_RAW_BASE
#define NX VRING_DESC_F_NEXT
#define WR VRING_DESC_F_WRITE

struct seg {
	uint8_t *p;
	uint32_t len;
	uint16_t w;
};

/* Links segs into one chain at descriptors base..base+n-1; returns the head. */
static uint16_t chain(uint16_t base, const struct seg *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		h_desc(base + i, (uintptr_t)s[i].p, s[i].len, (s[i].w ? WR : 0) | (i + 1 < n ? NX : 0),
		       (uint16_t)(base + i + 1));
	return base;
}

static void put_hdr(uint8_t *at, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { type, 0, sector };

	memcpy(at, &h, sizeof(h));
}

/* §2.6.4: the device must not assume any particular framing. Four chains in one batch:
 *  A: the header split 5+5+6 over three descriptors, the data in eight 512-byte descriptors (T_IN);
 *  B: data and status in one 4097-byte writable descriptor (T_IN);
 *  C: header and data in one readable descriptor (T_OUT of the pattern to its own sectors);
 *  D: a readable descriptor after a writable one (the driver broke the order: OK or IOERR). */
static unsigned build_framing(uint16_t *heads, uint8_t *st)
{
	uint8_t *h = H.scratch, *d = H.data;
	struct seg a[12] = { { h, 5, 0 }, { h + 5, 5, 0 }, { h + 10, 6, 0 } };
	const struct seg b[2] = { { h + 16, 16, 0 }, { d + 4096, 4097, 1 } };
	const struct seg c[2] = { { d + 3 * 4096, 16 + 4096, 0 }, { st + 2, 1, 1 } };
	const struct seg e[4] = { { h + 48, 16, 0 }, { d + 5 * 4096, 4096, 1 }, { d + 6 * 4096, 512, 0 }, { st + 3, 1, 1 } };

	put_hdr(h, VIRTIO_BLK_T_IN, H_LBA);
	put_hdr(h + 16, VIRTIO_BLK_T_IN, H_LBA);
	put_hdr(h + 48, VIRTIO_BLK_T_IN, H_LBA);
	put_hdr(d + 3 * 4096, VIRTIO_BLK_T_OUT, H_LBA);
	memcpy(d + 3 * 4096 + 16, H.pattern, 4096);
	for (unsigned i = 0; i < 8; i++)
		a[3 + i] = (struct seg){ d + i * 512, 512, 1 };
	a[11] = (struct seg){ st, 1, 1 };
	memset(d, 0, 3 * 4096);
	memset(d + 5 * 4096, 0, 4096);
	memset(st, 0xff, 4);
	heads[0] = chain(B, a, 12);
	heads[1] = chain(B + 12, b, 2);
	heads[2] = chain(B + 14, c, 2);
	heads[3] = chain(B + 16, e, 4);
	return 4;
}

int hc_framing(void)
{
	uint16_t heads[4];
	struct vring_used_elem u[4];
	uint8_t *st = H.scratch + 2048, *d = H.data;
	unsigned n;
	int r;

	h_save_desc();
	n = build_framing(heads, st);
	for (unsigned i = 0; i < n; i++)
		h_push(heads[i]);
	h_kick();
	if ((r = h_collect(heads, n, u)) != 0)
		return r < 0 ? -1 : 0;
	h_restore_desc();
	h_check(st[0] != VIRTIO_BLK_S_OK || memcmp(d, H.pattern, 4096) || u[0].len != 4097,
		"split header: status %#x, used.len %u, data %s", st[0], u[0].len, memcmp(d, H.pattern, 4096) ? "wrong" : "ok");
	h_check(d[4096 + 4096] != VIRTIO_BLK_S_OK || memcmp(d + 4096, H.pattern, 4096) || u[1].len != 4097,
		"data and status in one descriptor: status %#x, used.len %u", d[8192], u[1].len);
	h_check(st[2] != VIRTIO_BLK_S_OK, "header and data in one descriptor: status %#x", st[2]);
	h_check(st[3] != VIRTIO_BLK_S_OK && st[3] != VIRTIO_BLK_S_IOERR, "readable after writable: status %#x", st[3]);
	h_check(st[3] == VIRTIO_BLK_S_OK && memcmp(d + 5 * 4096, H.pattern, 4096), "readable after writable: OK, wrong data");
	if (st[3] == VIRTIO_BLK_S_IOERR)
		H.errors++;
	return H.bad ? -1 : 0;
}

/* The same head made available twice while the first is in flight: served twice, or the second dropped
 * (counted), or NEEDS_RESET; never a used id that was not made available, never a wrong status. */
int hc_dup_head(void)
{
	const struct seg s[3] = { { H.scratch, 16, 0 }, { H.data, 4096, 1 }, { H.scratch + 2048, 1, 1 } };
	struct vring_used_elem u[2];
	int got;

	h_save_desc();
	put_hdr(H.scratch, VIRTIO_BLK_T_IN, H_LBA);
	H.scratch[2048] = 0xff;
	h_push(chain(B, s, 3));
	h_push(B);
	h_kick();
	got = h_wait_used(1, u, H_WAIT_MS);
	got += h_wait_used(1, u + got, 300);	/* a second completion, if the device serves it twice */
	h_restore_desc();
	for (int i = 0; i < got; i++)
		h_check(u[i].id != B, "used id %u, only %u was made available", u[i].id, B);
	if (got < 2 && (h_status() & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		kprintf("hostile-%s: the device chose DEVICE_NEEDS_RESET: resetting it\n", H.name);
		H.errors++;
		return h_open();
	}
	if (h_check(got == 0, "no completion at all") ||
	    h_check(H.scratch[2048] != VIRTIO_BLK_S_OK || memcmp(H.data, H.pattern, 4096), "status %#x or data wrong",
		    H.scratch[2048]))
		return -1;
	kprintf("hostile-%s: the head made available twice was %s\n", H.name, got == 2 ? "served twice" : "served once");
	H.errors += got == 1;	/* the device counts the dropped duplicate */
	return 0;
}

/* Descriptor table, avail ring and used ring all at one address: valid addresses, nonsense layout. The
 * device may refuse it (NEEDS_RESET) or serve garbage; it must survive and come back after a reset. */
int hc_aliased_rings(void)
{
	static uint8_t *r;
	volatile uint16_t *avail;

	if (!r && h_check(!(r = page_alloc(2)), "out of guest memory"))
		return -1;
	memset(r, 0, 2 * 4096);
	avail = (volatile uint16_t *)r;
	if (h_reset() != 0)
		return -1;
	vdev_add_status(&H.dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	if (h_check(vdev_set_features(&H.dev, 1ull << VIRTIO_F_VERSION_1) != 0, "FEATURES_OK refused"))
		return -1;
	H.dev.ops->queue_set(&H.dev, H.qi, 256, (uintptr_t)r, (uintptr_t)r, (uintptr_t)r);
	vdev_add_status(&H.dev, VIRTIO_CONFIG_S_DRIVER_OK);
	if (h_status() & VIRTIO_CONFIG_S_NEEDS_RESET) {
		kprintf("hostile-%s: the device refused aliased rings with DEVICE_NEEDS_RESET\n", H.name);
		H.errors++;
	} else {
		avail[2] = 0;	/* ring[0] = head 0 */
		avail[1] = 1;	/* idx */
		H.dev.ops->notify(&H.dev, H.qi);
		for (uint64_t dl = h_deadline(200); !h_expired(dl);)
			__asm__ volatile("pause");
		kprintf("hostile-%s: aliased rings accepted; Status %#x after one request\n", H.name, h_status());
	}
	return h_open();
}

/* hostile_probe.c - crafted requests: buffers outside or across RAM's end, zero/huge lengths, bad types, past the end. */
#include "guest.h"
#include "hostile.h"

#define DATA(o, l)   { B_DATA, (o), (l) }
#define ST1          { B_STATUS, 0, 1 }
#define NODATA       { B_NONE, 0, 0 }
#define HDR_OK       { B_HDR, 0, 16 }
#define MiB          (1ll << 20)

static uint64_t addr_of(const struct haddr *a, unsigned k)
{
	switch (a->base) {
	case B_HDR: return (uintptr_t)H.scratch + k * 16 + (uint64_t)a->off;
	case B_STATUS: return (uintptr_t)H.scratch + 2048 + k * 16 + (uint64_t)a->off;
	case B_DATA: return (uintptr_t)H.data + k * 4096ull + (uint64_t)a->off;
	case B_RAM_END: return H.ram_end + (uint64_t)a->off;
	default: return (uint64_t)a->off;
	}
}

/* Probe k's chain at descriptors H_RAW_BASE + 3k..: header -> [data] -> status; its buffers prefilled. */
static uint16_t build(const struct probe *p, unsigned k)
{
	uint16_t d = (uint16_t)(H_RAW_BASE + 3 * k), n = p->data.base != B_NONE;

	*(struct virtio_blk_outhdr *)(H.scratch + k * 16) = (struct virtio_blk_outhdr){ p->type, 0, p->sector };
	memset(H.scratch + 2048 + k * 16, 0xff, 16);
	memset(H.data + k * 4096, 0xdb, 4096);
	h_desc(d, addr_of(&p->hdr, k), p->hdr.len, VRING_DESC_F_NEXT, d + 1);
	if (n)
		h_desc(d + 1, addr_of(&p->data, k), p->data.len,
		       VRING_DESC_F_NEXT | (p->data_w ? VRING_DESC_F_WRITE : 0) | p->xflags, d + 2);
	h_desc(d + 1 + n, addr_of(&p->st, k), p->st.len, VRING_DESC_F_WRITE, 0);
	return d;
}

/* What the device did with probe k: its status byte (when it is ours to read) and the used length. */
static unsigned outcome(const struct probe *p, unsigned k, const struct vring_used_elem *e, uint8_t *sb)
{
	int ours = p->st.base == B_STATUS && p->st.len >= 1 && p->st.len <= 16 - p->st.off;

	*sb = ours ? H.scratch[2048 + k * 16 + p->st.off + p->st.len - 1] : 0xff;
	switch (*sb) {
	case VIRTIO_BLK_S_OK: return X_OK;
	case VIRTIO_BLK_S_IOERR: return X_IOERR;
	case VIRTIO_BLK_S_UNSUPP: return X_UNSUPP;
	case 0xff: return e->len == 0 ? X_NONE : 0;
	default: return 0;
	}
}

/* A failed request must not have moved data: our data slot keeps its fill (but for the last byte of the data
 * buffer, where a device may put the status when the status descriptor is unusable). */
static int data_untouched(const struct probe *p, unsigned k)
{
	const uint8_t *d = H.data + k * 4096;
	uint64_t last = (uint64_t)p->data.off + p->data.len - 1;

	if (p->data.base != B_DATA)
		return 1;
	for (unsigned i = 0; i < 4096; i++)
		if (d[i] != 0xdb && !(p->data.len && i == last))
			return 0;
	return 1;
}

static const char *xname(unsigned x)
{
	return x == X_OK ? "OK" : x == X_IOERR ? "IOERR" : x == X_UNSUPP ? "UNSUPP" : x == X_NONE ? "no status" : "garbage";
}

static void judge(const struct probe *p, unsigned k, const struct vring_used_elem *e)
{
	uint8_t sb;
	unsigned x = outcome(p, k, e, &sb);

	if (h_check(!(x & p->expect), "%s: %s (status byte %#x, used.len %u), not what the spec allows", p->what,
		    xname(x), sb, e->len))
		return;
	if (x == X_OK)
		return;
	h_check(e->len > 1, "%s: failed but used.len %u claims data was written", p->what, e->len);
	h_check(!data_untouched(p, k), "%s: failed but the data buffer was modified", p->what);
	if (x == X_UNSUPP)
		H.unsupp++;
	else
		H.errors++;
}

int h_collect(const uint16_t *heads, unsigned n, struct vring_used_elem *by_head)
{
	struct vring_used_elem got[H_MAX_PROBE];
	unsigned have = (unsigned)h_wait_used(n, got, H_WAIT_MS), seen = 0;

	for (unsigned i = 0; i < have; i++) {
		unsigned k = 0;

		while (k < n && heads[k] != got[i].id)
			k++;
		if (h_check(k == n || (seen & (1u << k)), "the device returned used id %u, which is not in flight",
			    got[i].id))
			return -1;
		seen |= 1u << k;
		by_head[k] = got[i];
	}
	if (have < n && (h_status() & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		kprintf("hostile-%s: the device chose DEVICE_NEEDS_RESET (allowed): resetting it\n", H.name);
		H.errors++;
		return h_open() ? -1 : 1;
	}
	return h_check(have < n, "only %u of %u crafted requests completed within %u ms", have, n, H_WAIT_MS) ? -1 : 0;
}

int h_probes(const struct probe *p, unsigned n)
{
	uint16_t heads[H_MAX_PROBE];
	struct vring_used_elem e[H_MAX_PROBE];
	int r;

	for (unsigned at = 0; at < n; at += H_MAX_PROBE) {
		unsigned m = n - at < H_MAX_PROBE ? n - at : H_MAX_PROBE;

		h_save_desc();
		for (unsigned k = 0; k < m; k++)
			h_push(heads[k] = build(&p[at + k], k));
		h_kick();
		r = h_collect(heads, m, e);
		for (unsigned k = 0; r == 0 && k < m; k++)
			judge(&p[at + k], k, &e[k]);
		if (r != 1)
			h_restore_desc();	/* 1: the device was reset onto new rings */
	}
	return H.bad ? -1 : 0;
}

int hc_outside_ram(void)
{
	const struct probe p[] = {
		{ "T_IN data 1 MiB past RAM's end", 0, H_LBA, HDR_OK, { B_RAM_END, MiB, 4096 }, ST1, 1, 0, X_IOERR },
		{ "T_OUT data at RAM's end", 1, H_BAD_LBA, HDR_OK, { B_RAM_END, 0, 512 }, ST1, 0, 0, X_IOERR },
		{ "T_IN data in the virtio-mmio window", 0, H_LBA, HDR_OK, { B_ABS, 0xfeb00000, 512 }, ST1, 1, 0, X_IOERR },
		{ "T_IN data wrapping the address space", 0, H_LBA, HDR_OK, { B_ABS, -4096, 8192 }, ST1, 1, 0, X_IOERR },
		{ "T_OUT data at 1 TiB", 1, H_BAD_LBA, HDR_OK, { B_ABS, 1ll << 40, 4096 }, ST1, 0, 0, X_IOERR },
		{ "header outside RAM", 0, H_LBA, { B_RAM_END, 4096, 16 }, DATA(0, 512), ST1, 1, 0, X_IOERR },
		{ "status byte outside RAM (T_OUT)", 1, H_BAD_LBA, HDR_OK, DATA(0, 512), { B_RAM_END, 8192, 1 }, 0, 0, X_NONE },
		{ "status byte at 0xffffffffffffffff", 1, H_BAD_LBA, HDR_OK, DATA(0, 512), { B_ABS, -1, 1 }, 0, 0, X_NONE },
	};

	return h_probes(p, sizeof(p) / sizeof(p[0]));
}

/* The last page of RAM is free when no module was loaded (the VMM puts modules at the top). */
static int top_page_free(void) { return pvh_module_count() == 0; }

static int exact_fit_read(void)
{
	uint8_t *top = (uint8_t *)(uintptr_t)(H.ram_end - 4096);
	const struct probe p = { "T_IN data ending exactly at RAM's end", 0, H_LBA, HDR_OK, { B_RAM_END, -4096, 4096 },
				 ST1, 1, 0, X_OK };

	memset(top, 0, 4096);
	if (h_probes(&p, 1) != 0)
		return -1;
	return h_check(memcmp(top, H.pattern, 4096) != 0, "the exact-fit read did not land in RAM's last page") ? -1 : 0;
}

int hc_straddle(void)
{
	const struct probe p[] = {
		{ "T_IN data straddling RAM's end", 0, H_LBA, HDR_OK, { B_RAM_END, -2048, 4096 }, ST1, 1, 0, X_IOERR },
		{ "T_IN data one byte past RAM's end", 0, H_LBA, HDR_OK, { B_RAM_END, -4095, 4096 }, ST1, 1, 0, X_IOERR },
		{ "T_OUT data straddling RAM's end", 1, H_BAD_LBA, HDR_OK, { B_RAM_END, -512, 1024 }, ST1, 0, 0, X_IOERR },
		{ "header straddling RAM's end", 0, H_LBA, { B_RAM_END, -8, 16 }, DATA(0, 512), ST1, 1, 0, X_IOERR },
		{ "status straddling RAM's end (T_OUT)", 1, H_BAD_LBA, HDR_OK, DATA(0, 512), { B_RAM_END, -1, 2 }, 0, 0, X_NONE },
	};
	uint8_t *tail = (uint8_t *)(uintptr_t)(H.ram_end - 2048);
	int free_top = top_page_free();

	if (free_top)
		memset(tail, 0x5c, 2048);
	if (h_probes(p, sizeof(p) / sizeof(p[0])) != 0)
		return -1;
	for (unsigned i = 0; free_top && i < 2048; i++)
		if (h_check(tail[i] != 0x5c, "RAM's last 2 KiB changed under a failed straddling read"))
			return -1;
	return free_top ? exact_fit_read() : 0;
}

int hc_zero_len(void)
{
	const struct probe p[] = {
		{ "zero-length header", 0, H_LBA, { B_HDR, 0, 0 }, DATA(0, 512), ST1, 1, 0, X_IOERR },
		{ "zero-length T_IN data", 0, H_LBA, HDR_OK, DATA(0, 0), ST1, 1, 0, X_OK | X_IOERR },
		{ "zero-length T_OUT data", 1, H_BAD_LBA, HDR_OK, DATA(0, 0), ST1, 0, 0, X_OK | X_IOERR },
		{ "zero-length status (T_OUT)", 1, H_BAD_LBA, HDR_OK, DATA(0, 512), { B_STATUS, 0, 0 }, 0, 0, X_NONE },
		{ "header and a zero-length status only", 0, H_LBA, HDR_OK, NODATA, { B_STATUS, 0, 0 }, 0, 0, X_NONE },
		{ "zero-length header, no data (T_FLUSH)", 4, 0, { B_HDR, 0, 0 }, NODATA, ST1, 0, 0, X_IOERR },
	};

	return h_probes(p, sizeof(p) / sizeof(p[0]));
}

int hc_huge_len(void)
{
	const struct probe p[] = {
		{ "T_IN data of 0xffffffff bytes", 0, H_LBA, HDR_OK, DATA(0, 0xffffffffu), ST1, 1, 0, X_IOERR },
		{ "T_OUT data of 0xffffffff bytes", 1, H_BAD_LBA, HDR_OK, DATA(0, 0xffffffffu), ST1, 0, 0, X_IOERR },
		{ "T_IN data of 2 GiB", 0, H_LBA, HDR_OK, DATA(0, 0x80000000u), ST1, 1, 0, X_IOERR },
		{ "header of 0xffffffff bytes", 0, H_LBA, { B_HDR, 0, 0xffffffffu }, DATA(0, 512), ST1, 1, 0, X_IOERR },
		{ "status of 0xffffffff bytes (T_OUT)", 1, H_BAD_LBA, HDR_OK, DATA(0, 512), { B_STATUS, 0, 0xffffffffu },
		  0, 0, X_NONE },
		/* Inside RAM but larger than the disk: a device that skipped the capacity check would write 128 MiB. */
		{ "T_OUT of 128 MiB of RAM (more than the disk)", 1, 0, HDR_OK, { B_ABS, 16 * MiB, 128u << 20 }, ST1, 0, 0,
		  X_IOERR },
	};
	unsigned n = sizeof(p) / sizeof(p[0]);

	if (H.ram_end < 144ull << 20 || H.b.capacity * 512 >= 128ull << 20)
		n--;	/* the last probe needs 144 MiB of RAM and a disk below 128 MiB */
	return h_probes(p, n);
}

int hc_unknown_type(void)
{
	const struct probe p[] = {
		{ "type 2 (legacy SCSI)", 2, H_LBA, HDR_OK, DATA(0, 512), ST1, 1, 0, X_UNSUPP },
		{ "type 11 (DISCARD, not offered)", 11, 0, HDR_OK, DATA(0, 16), ST1, 0, 0, X_UNSUPP },
		{ "type 0x7f", 0x7f, H_LBA, HDR_OK, DATA(0, 512), ST1, 1, 0, X_UNSUPP },
		{ "type 0xffffffff, no data", 0xffffffffu, 0, HDR_OK, NODATA, ST1, 0, 0, X_UNSUPP },
	};

	return h_probes(p, sizeof(p) / sizeof(p[0]));
}

int hc_past_end(void)
{
	uint64_t c = H.b.capacity;
	const struct probe p[] = {
		{ "T_OUT at the capacity", 1, c, HDR_OK, DATA(0, 4096), ST1, 0, 0, X_IOERR },
		{ "T_OUT across the end", 1, c - 4, HDR_OK, DATA(0, 4096), ST1, 0, 0, X_IOERR },
		{ "T_OUT at sector 2^55 (byte offset wraps to 0)", 1, 1ull << 55, HDR_OK, DATA(0, 512), ST1, 0, 0, X_IOERR },
		{ "T_OUT at sector 2^64-1", 1, ~0ull, HDR_OK, DATA(0, 512), ST1, 0, 0, X_IOERR },
		{ "T_IN at the capacity", 0, c, HDR_OK, DATA(0, 4096), ST1, 1, 0, X_IOERR },
		{ "T_OUT of 100 bytes (not whole sectors)", 1, H_BAD_LBA, HDR_OK, DATA(0, 100), ST1, 0, 0, X_IOERR },
		{ "T_IN of the last 8 sectors (valid)", 0, c - 8, HDR_OK, DATA(0, 4096), ST1, 1, 0, X_OK },
	};

	return h_probes(p, sizeof(p) / sizeof(p[0]));
}

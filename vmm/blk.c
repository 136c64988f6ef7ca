/* blk.c - the virtio-blk device: request parsing and validation, completion, config space.
 * Runs in the emulation context (a thread of the VMM or a device process). A malformed request
 * goes back to the guest as VIRTIO_BLK_S_IOERR / UNSUPP and is counted; it never touches memory
 * outside guest RAM. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dev.h"

#define BLK_SEG_MAX (VQ_MAX_SIZE - 2)

struct blk_dev *blk_create(int index, const struct disk_config *cfg, const struct guest_mem *m)
{
	struct blk_dev *d = mmap(NULL, sizeof(*d), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (d == MAP_FAILED)
		return err_set("cannot allocate disk state: %s", strerror(errno)), NULL;
	d->index = index;
	d->cfg = *cfg;
	d->mem = m;
	d->wake_fd = d->irq_fd = d->notify_fd = d->be.fd = d->be.fd_buffered = -1;
	d->be.ops = backend_find(cfg->backend);
	if (!d->be.ops) {
		err_set("--disk %s: unknown backend '%s' (uring, sync, null, ram)", cfg->path,
			cfg->backend);
		goto fail;
	}
	if (backend_open_image(&d->be, cfg) < 0)
		goto fail;
	d->capacity = d->be.size / SECTOR_SIZE;
	return d;
fail:
	munmap(d, sizeof(*d));
	return NULL;
}

uint64_t blk_features(const struct blk_dev *d)
{
	uint64_t f = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX |
		     1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
		     1ull << VIRTIO_BLK_F_FLUSH;

	return d->cfg.ro ? f | 1ull << VIRTIO_BLK_F_RO : f;
}

void blk_config_read(const struct blk_dev *d, uint64_t off, uint8_t *data, uint32_t size)
{
	/* struct virtio_blk_config: capacity@0, size_max@8, seg_max@12, geometry@16, blk_size@20 */
	uint8_t cfg[64] = { 0 };
	uint32_t seg_max = BLK_SEG_MAX, blk_size = SECTOR_SIZE;

	memcpy(cfg, &d->capacity, 8);
	memcpy(cfg + 12, &seg_max, 4);
	memcpy(cfg + 20, &blk_size, 4);
	for (uint32_t i = 0; i < size; i++)
		data[i] = off + i < sizeof(cfg) ? cfg[off + i] : 0;
}

/* Copies the first `len` device-readable bytes of the chain into dst. Returns 0 or -1. */
static int chain_read(const struct vq_chain *c, void *dst, uint32_t len)
{
	uint8_t *out = dst;

	for (int i = 0; i < c->n && len; i++) {
		uint32_t n = c->buf[i].len < len ? c->buf[i].len : len;

		if (c->buf[i].write || !c->buf[i].p)
			return -1;
		memcpy(out, c->buf[i].p, n);
		out += n;
		len -= n;
	}
	return len ? -1 : 0;
}

/* Builds r->iov over the data part of the chain: readable bytes after the 16-byte header for
 * T_OUT, writable bytes before the status byte for T_IN. Returns 0 or -1 (bad layout). */
static int chain_data(struct blk_req *r, const struct vq_chain *c, bool data_writable)
{
	uint32_t skip = sizeof(struct virtio_blk_req_hdr);
	uint64_t total = 0; /* up to 256 buffers of up to 4 GiB: 32 bits would wrap */
	int last_w = c->n - 1;

	if (last_w < 0 || !c->buf[last_w].write || c->buf[last_w].len == 0)
		return -1;
	r->status_p = c->buf[last_w].p + c->buf[last_w].len - 1;
	r->niov = 0;
	for (int i = 0; i < c->n; i++) {
		uint8_t *p = c->buf[i].p;
		uint32_t len = c->buf[i].len;

		if (!c->buf[i].write) {
			uint32_t s = skip < len ? skip : len;

			skip -= s, p += s, len -= s;
		} else if (i > 0 && !c->buf[i - 1].write && skip) {
			return -1; /* the header is not complete before the writable part */
		}
		if (i == last_w)
			len--; /* the status byte */
		if (!len || c->buf[i].write != data_writable)
			continue;
		r->iov[r->niov++] = (struct iovec){ p, len };
		total += len;
	}
	if (total > INT32_MAX)
		return -1; /* r->len and the backends' int result must hold it */
	r->len = (uint32_t)total;
	return 0;
}

/* For a malformed chain: the last byte of the last valid device-writable buffer, where the
 * driver expects the status, or NULL when there is none. */
static uint8_t *last_status_byte(const struct vq_chain *c)
{
	for (int i = c->n - 1; i >= 0; i--)
		if (c->buf[i].write && c->buf[i].p && c->buf[i].len)
			return c->buf[i].p + c->buf[i].len - 1;
	return NULL;
}

static void blk_finish(struct blk_dev *d, struct blk_req *r, uint8_t status)
{
	r->status = status;
	r->op = BLK_OP_DONE;
	if (status != VIRTIO_BLK_S_OK)
		atomic_fetch_add(status == VIRTIO_BLK_S_UNSUPP ? &d->c.unsupported : &d->c.errors, 1);
	blk_complete(r);
}

/* Validates a parsed read/write against the disk; returns a VIRTIO_BLK_S_* status. */
static uint8_t blk_check_rw(struct blk_dev *d, struct blk_req *r, uint64_t sector)
{
	if (r->len % SECTOR_SIZE)
		return VIRTIO_BLK_S_IOERR;
	if (sector > d->capacity || r->len / SECTOR_SIZE > d->capacity - sector)
		return VIRTIO_BLK_S_IOERR; /* past the end of the disk */
	if (r->op == BLK_OP_WRITE && d->cfg.ro)
		return VIRTIO_BLK_S_IOERR;
	r->offset = sector * SECTOR_SIZE;
	return VIRTIO_BLK_S_OK;
}

static void blk_get_id(struct blk_dev *d, struct blk_req *r)
{
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };
	uint32_t left = VIRTIO_BLK_ID_BYTES;

	snprintf(id, sizeof(id), "exitless-vd%c", 'a' + d->index);
	for (int i = 0; i < r->niov && left; i++) {
		uint32_t n = r->iov[i].iov_len < left ? (uint32_t)r->iov[i].iov_len : left;

		memcpy(r->iov[i].iov_base, id + VIRTIO_BLK_ID_BYTES - left, n);
		left -= n;
		r->used_len += n;
	}
	blk_finish(d, r, VIRTIO_BLK_S_OK);
}

void blk_start(struct blk_dev *d, uint16_t head)
{
	static __thread struct vq_chain chain;
	struct blk_req *r = &d->req[head & (VQ_MAX_SIZE - 1)];
	struct virtio_blk_req_hdr hdr;
	uint8_t st;

	atomic_fetch_add(&d->c.requests, 1);
	if (head >= d->vq.num || d->inflight[head]) {
		/* A head outside the queue or already in flight: the driver broke the ring protocol.
		 * No used entry can name it truthfully, so the device stops and asks for a reset
		 * instead of leaving the driver waiting for a completion that never comes. */
		blk_mark_broken(d, head >= d->vq.num ? "a descriptor head outside the queue"
						     : "a descriptor head made available twice");
		return;
	}
	d->inflight[head] = 1;
	*r = (struct blk_req){ .dev = d, .head = head, .used_len = 1 };
	if (vq_read_chain(&d->vq, d->mem, head, &chain) < 0 || chain_read(&chain, &hdr, sizeof(hdr)) < 0 ||
	    chain_data(r, &chain, hdr.type != VIRTIO_BLK_T_OUT) < 0) {
		r->status_p = last_status_byte(&chain);
		r->used_len = r->status_p ? 1 : 0;
		blk_finish(d, r, VIRTIO_BLK_S_IOERR);
		return;
	}
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		r->op = hdr.type == VIRTIO_BLK_T_IN ? BLK_OP_READ : BLK_OP_WRITE;
		st = blk_check_rw(d, r, hdr.sector);
		break;
	case VIRTIO_BLK_T_FLUSH:
		r->op = BLK_OP_FLUSH;
		st = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID:
		blk_get_id(d, r);
		return;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
	}
	if (st != VIRTIO_BLK_S_OK) {
		blk_finish(d, r, st);
		return;
	}
	if (d->be.ops->submit(&d->be, r) == 1)
		blk_complete(r);
}

void blk_complete(struct blk_req *r)
{
	struct blk_dev *d = r->dev;

	if (r->op == BLK_OP_READ || r->op == BLK_OP_WRITE) {
		bool full = r->result >= 0 && (uint32_t)r->result == r->len;

		r->status = full ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		if (r->op == BLK_OP_READ && full)
			r->used_len += r->len;
		atomic_fetch_add(r->op == BLK_OP_READ ? &d->c.bytes_read : &d->c.bytes_written,
				 full ? r->len : 0);
	} else if (r->op == BLK_OP_FLUSH) {
		r->status = r->result == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		atomic_fetch_add(&d->c.flushes, 1);
	}
	if (r->op != BLK_OP_DONE && r->status != VIRTIO_BLK_S_OK)
		atomic_fetch_add(&d->c.errors, 1);
	if (r->status_p)
		*r->status_p = r->status;
	vq_push_used(&d->vq, r->head, r->used_len);
	d->inflight[r->head] = 0;
	atomic_fetch_add(&d->c.completed, 1);
}

void blk_flush_completions(struct blk_dev *d)
{
	uint64_t one = 1;

	if (!vq_publish_used(&d->vq))
		return;
	atomic_fetch_or(&d->isr, VIRTIO_MMIO_INT_VRING);
	if (write(d->irq_fd, &one, sizeof(one)) == sizeof(one))
		atomic_fetch_add(&d->c.irqs, 1);
}

void blk_mark_broken(struct blk_dev *d, const char *why)
{
	uint64_t one = 1;

	atomic_store(&d->active, 0);
	if (atomic_exchange(&d->broken, 1))
		return;
	fprintf(stderr, "vmm: disk %d needs a reset: %s\n", d->index, why);
	atomic_fetch_add(&d->c.errors, 1);
	atomic_fetch_or(&d->isr, VIRTIO_MMIO_INT_CONFIG);
	if (write(d->irq_fd, &one, sizeof(one)) == sizeof(one))
		atomic_fetch_add(&d->c.irqs, 1);
}

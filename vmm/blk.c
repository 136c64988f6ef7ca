/* blk.c - the virtio-blk device: its ops table (features, config space, the request path), request
 * parsing and validation, completion. Requests run in an emulation context (a thread of the VMM, a
 * device process or the IOCore). A malformed request goes back to the guest as VIRTIO_BLK_S_IOERR /
 * UNSUPP and is counted; it never touches memory outside guest RAM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk.h"

static uint64_t blk_features(const struct virtio_dev *d)
{
	uint64_t f = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX |
		     1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
		     1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_MQ;

	return blk_of(d)->cfg.ro ? f | 1ull << VIRTIO_BLK_F_RO : f;
}

static void blk_config_read(const struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t size)
{
	struct virtio_blk_config cfg = {
		.capacity = blk_of(d)->capacity,
		.seg_max = BLK_SEG_MAX,
		.blk_size = SECTOR_SIZE,
		.num_queues = (uint16_t)d->nqueues,
	};
	const uint8_t *src = (const uint8_t *)&cfg;

	for (uint32_t i = 0; i < size; i++)
		data[i] = off + i < sizeof(cfg) ? src[off + i] : 0;
}

static void blk_config_write(struct virtio_dev *d, uint64_t off, const uint8_t *data, uint32_t size)
{
	(void)d, (void)off, (void)data, (void)size; /* every field offered is read-only */
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
	uint32_t skip = sizeof(struct virtio_blk_outhdr);
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
		if (r->niov == BLK_SEG_MAX)
			return -1; /* more data segments than seg_max allows */
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

static void blk_finish(struct blk_req *r, uint8_t status)
{
	r->status = status;
	r->op = BLK_OP_DONE;
	if (status != VIRTIO_BLK_S_OK)
		atomic_fetch_add(status == VIRTIO_BLK_S_UNSUPP ? &r->q->c.unsupported : &r->q->c.errors, 1);
	blk_complete(r);
}

/* Validates a parsed read/write against the disk; returns a VIRTIO_BLK_S_* status. */
static uint8_t blk_check_rw(const struct blk_dev *b, struct blk_req *r, uint64_t sector)
{
	if (r->len % SECTOR_SIZE)
		return VIRTIO_BLK_S_IOERR;
	if (sector > b->capacity || r->len / SECTOR_SIZE > b->capacity - sector)
		return VIRTIO_BLK_S_IOERR; /* past the end of the disk */
	if (r->op == BLK_OP_WRITE && b->cfg.ro)
		return VIRTIO_BLK_S_IOERR;
	r->offset = sector * SECTOR_SIZE;
	return VIRTIO_BLK_S_OK;
}

static void blk_get_id(const struct virtio_dev *d, struct blk_req *r)
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
	blk_finish(r, VIRTIO_BLK_S_OK);
}

/* The request type decides the operation, or completes the request at once. Returns the status to
 * finish with, or VIRTIO_BLK_S_OK when the request goes to the backend. */
static int blk_parse(const struct virtio_dev *d, struct blk_req *r, const struct virtio_blk_outhdr *hdr)
{
	switch (hdr->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		r->op = hdr->type == VIRTIO_BLK_T_IN ? BLK_OP_READ : BLK_OP_WRITE;
		return blk_check_rw(blk_of(d), r, hdr->sector);
	case VIRTIO_BLK_T_FLUSH:
		r->op = BLK_OP_FLUSH;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		blk_get_id(d, r);
		return -1; /* done */
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void blk_start(struct emu_ctx *c, struct vqueue *q, uint16_t head)
{
	static __thread struct vq_chain chain;
	struct blk_req *r = &((struct blk_queue *)q->priv)->req[head & (VQ_MAX_SIZE - 1)];
	struct backend *be = c->priv;
	struct virtio_blk_outhdr hdr;
	int st;

	atomic_fetch_add(&q->c.requests, 1);
	if (head >= q->vq.num || q->inflight[head]) {
		/* A head outside the queue or already in flight: the driver broke the ring protocol.
		 * No used entry can name it truthfully, so the device stops and asks for a reset
		 * instead of leaving the driver waiting for a completion that never comes. */
		virtio_dev_broken(q->dev, q, head >= q->vq.num ? "a descriptor head outside the queue"
							      : "a descriptor head made available twice");
		return;
	}
	q->inflight[head] = 1;
	*r = (struct blk_req){ .q = q, .head = head, .used_len = 1 };
	if (vq_read_chain(&q->vq, q->dev->mem, head, &chain) < 0 || chain_read(&chain, &hdr, sizeof(hdr)) < 0 ||
	    chain_data(r, &chain, hdr.type != VIRTIO_BLK_T_OUT) < 0) {
		r->status_p = last_status_byte(&chain);
		r->used_len = r->status_p ? 1 : 0;
		blk_finish(r, VIRTIO_BLK_S_IOERR);
		return;
	}
	st = blk_parse(q->dev, r, &hdr);
	if (st < 0)
		return;
	if (st != VIRTIO_BLK_S_OK)
		blk_finish(r, (uint8_t)st);
	else if (be->ops->submit(be, r) == 1)
		blk_complete(r);
}

void blk_complete(struct blk_req *r)
{
	struct vqueue *q = r->q;

	if (r->op == BLK_OP_READ || r->op == BLK_OP_WRITE) {
		bool full = r->result >= 0 && (uint32_t)r->result == r->len;

		r->status = full ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		if (r->op == BLK_OP_READ && full)
			r->used_len += r->len;
		atomic_fetch_add(r->op == BLK_OP_READ ? &q->c.bytes_read : &q->c.bytes_written, full ? r->len : 0);
	} else if (r->op == BLK_OP_FLUSH) {
		r->status = r->result == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		atomic_fetch_add(&q->c.flushes, 1);
	}
	if (r->op != BLK_OP_DONE && r->status != VIRTIO_BLK_S_OK)
		atomic_fetch_add(&q->c.errors, 1);
	if (r->status_p)
		*r->status_p = r->status;
	vq_push_used(&q->vq, r->head, r->used_len);
	q->inflight[r->head] = 0;
	atomic_fetch_add(&q->c.completed, 1);
	atomic_fetch_sub_explicit(&q->outstanding, 1, memory_order_relaxed);
}

/* ---- the emulation context's backend --------------------------------------------------------- */

static int blk_ctx_open(struct emu_ctx *c)
{
	struct blk_dev *b = blk_of(c->dev);
	struct backend *be = calloc(1, sizeof(*be));

	if (!be)
		return err_set("out of memory");
	*be = (struct backend){ .ops = b->be_ops, .img = &b->img, .mem = c->dev->mem,
				.depth = (unsigned)c->nq * VQ_MAX_SIZE, .latency_ns = b->cfg.latency_us * 1000ull,
				.serial = b->cfg.serial };
	snprintf(be->info, sizeof(be->info), "%s", be->ops->name);
	if (be->ops->open(be) < 0) {
		free(be);
		return -1;
	}
	snprintf(c->info, sizeof(c->info), "%s", be->info);
	c->priv = be;
	return 0;
}

static void blk_ctx_close(struct emu_ctx *c)
{
	struct backend *be = c->priv;

	if (!be)
		return;
	be->ops->close(be);
	free(be);
	c->priv = NULL;
}

static int blk_ctx_poll(struct emu_ctx *c)
{
	struct backend *be = c->priv;

	be->ops->kick(be);
	return be->ops->reap(be, blk_complete);
}

static int blk_ctx_event_fd(struct emu_ctx *c)
{
	struct backend *be = c->priv;

	return be->ops->event_fd(be);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = blk_features,
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.queue_ready = emu_queue_ready,
	.queue_stop = emu_quiesce,
	.notify = emu_notify,
	.start = blk_start,
	.ctx_open = blk_ctx_open,
	.ctx_close = blk_ctx_close,
	.ctx_poll = blk_ctx_poll,
	.ctx_event_fd = blk_ctx_event_fd,
};

struct virtio_dev *blk_create(int index, const struct disk_config *cfg, const struct guest_mem *m)
{
	struct virtio_dev *d = virtio_dev_create(&blk_ops, index, cfg->queues ? cfg->queues : 1, m,
						 sizeof(struct blk_dev), sizeof(struct blk_queue));
	struct blk_dev *b;

	if (!d)
		return NULL;
	b = blk_of(d);
	b->cfg = *cfg;
	b->img.fd = b->img.fd_buffered = -1;
	b->be_ops = backend_find(cfg->backend);
	if (!b->be_ops)
		return err_set("--disk %s: unknown backend '%s' (%s)", cfg->path, cfg->backend, backend_names), NULL;
	if (blk_image_open(&b->img, cfg) < 0)
		return NULL;
	b->capacity = b->img.size / SECTOR_SIZE;
	if (virtio_dev_keep_fd(d, b->img.fd) < 0 || virtio_dev_keep_fd(d, b->img.fd_buffered) < 0)
		return NULL;
	return d;
}

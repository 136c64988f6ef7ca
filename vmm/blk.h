/* blk.h - the virtio-blk device (blk.c) and its backends (backend*.c): request parsing and validation,
 * completion, the image, and the engines that move the data (io_uring, sync, null, ram). */
#ifndef BLK_H
#define BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio.h"
#include "virtio_blk_spec.h"

#define SECTOR_SIZE VIRTIO_BLK_SECTOR_SIZE
#define BLK_SEG_MAX (VQ_MAX_SIZE - 2) /* data descriptors per request: the chain minus header and status */

/* The disk's image: opened once at set-up, shared by every emulation context of the disk. */
struct blk_image {
	int fd;            /* opened for the fast path (O_DIRECT where the file system has it) */
	int fd_buffered;   /* the same image without O_DIRECT (misaligned requests, flush) */
	uint64_t size;     /* bytes */
	uint8_t *ram;      /* backend=ram: the image in MAP_SHARED memory (every context sees it) */
};

enum blk_op { BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH, BLK_OP_DONE };

struct blk_req {
	struct vqueue *q;
	uint16_t head;
	uint8_t op;         /* enum blk_op; BLK_OP_DONE: completed while parsing */
	uint8_t status;     /* VIRTIO_BLK_S_* */
	uint8_t *status_p;  /* the device-writable status byte in guest RAM (NULL: none) */
	uint64_t offset;    /* bytes */
	uint32_t len;       /* data bytes */
	uint32_t used_len;  /* bytes written into the guest buffers, incl. status */
	int result;         /* backend: bytes transferred, or -errno */
	int niov;
	struct iovec iov[BLK_SEG_MAX];
};

/* Per queue (vqueue.priv): the request of each head. */
struct blk_queue {
	struct blk_req req[VQ_MAX_SIZE];
};

/* One engine instance, owned by one emulation context. */
struct backend {
	const struct backend_ops *ops;
	struct blk_image *img;
	const struct guest_mem *mem;
	unsigned depth;     /* requests the context may have in flight (its queues' sizes) */
	uint64_t latency_ns; /* backend=null: each request's service time (0: completes at once) */
	bool serial;        /* backend=null: one request in service at a time (else all at once) */
	char info[48];      /* what the engine uses, for the stats ("uring fixed-buffers fixed-files") */
	void *priv;        /* engine state (io_uring) */
};

struct backend_ops {
	const char *name;
	/* Prepares the engine in the emulating context. Returns 0 or -1 (err_set). */
	int (*open)(struct backend *b);
	/* Starts a request. Returns 1 when it completed at once (r->result set), 0 when queued. */
	int (*submit)(struct backend *b, struct blk_req *r);
	/* Hands queued requests to the kernel. */
	void (*kick)(struct backend *b);
	/* Completes finished requests through `done`; never blocks. Returns how many. */
	int (*reap)(struct backend *b, void (*done)(struct blk_req *r));
	/* An fd readable when completions are pending, for an idle wait; -1 if none. */
	int (*event_fd)(struct backend *b);
	void (*close)(struct backend *b);
};

/* virtio-blk's device state (virtio_dev.priv). */
struct blk_dev {
	struct disk_config cfg;
	uint64_t capacity;  /* sectors */
	struct blk_image img;
	const struct backend_ops *be_ops;
};

/* Creates disk `index` from cfg in shared memory with cfg->queues request queues and checks its image
 * (one-line error on a missing, short or unwritable image). Returns NULL on error (err_set). */
struct virtio_dev *blk_create(int index, const struct disk_config *cfg, const struct guest_mem *m);
/* The device state behind a virtio device made by blk_create. */
static inline struct blk_dev *blk_of(const struct virtio_dev *d)
{
	return d->priv;
}
/* Backend completion callback: records the result and pushes the used entry. */
void blk_complete(struct blk_req *r);

/* Looks up a backend by name; NULL when unknown. backend_names lists them ("uring|sync|null|ram"). */
const struct backend_ops *backend_find(const char *name);
extern const char backend_names[];
/* The fd for a request: the O_DIRECT one unless a buffer or length is not sector-aligned. */
int backend_fd_for(const struct blk_image *img, const struct blk_req *r);
/* Opens the image file or block device of a disk and checks size and permissions; backend=ram also
 * loads the image into shared memory. Returns 0 or -1 with a one-line reason (err_set). */
int blk_image_open(struct blk_image *img, const struct disk_config *cfg);

#endif

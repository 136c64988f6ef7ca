/* virtio_blk.h - the guest's virtio-blk driver (virtio 1.x §5.2): one request queue, batched, polled or irq. */
#ifndef EXITLESS_VIRTIO_BLK_H
#define EXITLESS_VIRTIO_BLK_H

#include <stdint.h>
#include "vdev.h"
#include "virtq.h"
#include "virtio_blk_spec.h"

#define BLK_S_NONE 0xff /* the device completed the request without writing a status */

enum blk_completion { BLK_POLL = 0, BLK_IRQ = 1, BLK_HYBRID = 2 };

#define BLK_HYBRID_MAX_NS 200000 /* the largest hybrid polling window by default: Linux's guest_halt_poll_ns */
#define BLK_HYBRID_PROBE 16 /* hybrid: every this many waits of a window below the largest, one polls the largest */
#define BLK_HYBRID_DEEP 2 /* hybrid: with this many requests of a queue in flight, a wait polls until the next completes (the VMM's POLLWIN_DEEP) */

/* Return values of blk_queue. */
#define BLK_Q_OK    0
#define BLK_Q_FULL  1  /* not enough free descriptors: commit and reap, then retry */
#define BLK_Q_ERROR -1 /* never valid (past the end, misaligned, write to a read-only disk, too large) */

#define BLK_MAX_QUEUES 16

struct blk_dev;

/* One request queue (virtqueue) with its per-head request state and counters. Each queue is used by one
 * CPU at a time; queues of one device are independent (VIRTIO_BLK_F_MQ). */
struct blk_q {
	struct blk_dev *dev;
	unsigned index;
	struct vq vq;
	struct virtio_blk_outhdr *hdr;	/* per head descriptor */
	uint8_t *status;	/* per head descriptor: device-writable */
	long line;		/* the interrupt line its completions raise (syscall.h) */
	uint64_t irq_seen;	/* the interrupt count this queue's last wait returned */
	uint64_t requests, completions, errors, commits, irq_waits, spins;
	uint64_t window_ns;	/* hybrid: how long the next wait polls before it halts */
	uint64_t polled, grows, shrinks; /* hybrid: waits the window caught; window changes */
	uint64_t deep;		/* hybrid: waits polled to the end because the queue was deep */
	uint64_t probes, since_probe; /* hybrid: waits that polled the largest window to test a smaller one */
	int caught;		/* hybrid: the last shallow wait was caught by polling */
};

struct blk_dev {
	struct vdev dev;		/* the device on its transport */
	enum blk_completion completion;
	uint64_t features;	/* negotiated */
	uint64_t capacity;	/* in 512-byte sectors */
	uint32_t blk_size;	/* logical block size in bytes (512 unless BLK_SIZE says otherwise) */
	uint32_t seg_bytes;	/* largest data segment (size_max, or 1 GiB when the device sets no limit) */
	uint32_t seg_count;	/* largest number of data segments per request */
	uint32_t dev_queues;	/* request queues the device offers (num_queues with MQ, else 1) */
	int read_only;
	uint64_t hybrid_max_ns;	/* hybrid: the largest window (BLK_HYBRID_MAX_NS unless the caller sets it) */
	long config_line;	/* the interrupt line of configuration changes (DEVICE_NEEDS_RESET) */
	int irq_attached;	/* the interrupts are connected (always tried; required for BLK_IRQ) */
	unsigned nq;		/* queues set up: q[0 .. nq) */
	struct blk_q q[BLK_MAX_QUEUES];
};

/* Negotiates with the virtio-blk device d (found by vdev_find, device_id 2) and sets up its request
 * queues: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (modern), queues 0 .. n-1 with n the smallest of
 * want_queues, the device's num_queues (VIRTIO_BLK_F_MQ; 1 without) and BLK_MAX_QUEUES, DRIVER_OK. It also
 * connects the queues' interrupts (virtio-mmio: one line for all; virtio-pci: an MSI-X vector each; needed by
 * BLK_IRQ, with BLK_POLL only to count stray interrupts). Returns 0, or -1 after a console line saying why (and FAILED status when the
 * device itself refused). */
int blk_open(struct blk_dev *b, const struct vdev *d, enum blk_completion completion, unsigned want_queues);

/* Stops request queue qi (QueueReady 0, read back: the device has let go of its rings) and sets it up again
 * on new rings; what was in flight on it is dropped. The other queues keep running (virtio-mmio §4.2.3.2; a
 * transport that cannot stop one queue, virtio-pci before 1.2, refuses).
 * Returns 0, or -1 after a console line. */
int blk_queue_restart(struct blk_dev *b, unsigned qi);

/* The largest request in bytes (data segments permitting) and the most requests in flight at once. */
uint32_t blk_max_io_bytes(const struct blk_dev *b);
uint32_t blk_max_inflight(const struct blk_dev *b);

/* Adds one request to the current batch without telling the device: type T_IN/T_OUT (buf, len bytes at
 * byte offset off, multiples of blk_size), T_FLUSH (no data) or T_GET_ID (buf of VIRTIO_BLK_ID_BYTES).
 * cookie (not NULL) comes back from blk_reap. Returns BLK_Q_OK, BLK_Q_FULL or BLK_Q_ERROR. */
int blk_queue(struct blk_q *q, uint32_t type, uint64_t off, void *buf, uint32_t len, void *cookie);

/* Publishes the batch with one avail->idx store; notifies (an exit) only if the device asked for it. */
void blk_commit(struct blk_q *q);

/* Moves up to max completions to cookies[]/status[] (VIRTIO_BLK_S_* or BLK_S_NONE). wait == 0: returns
 * at once (0 when none). wait == 1: at least one, spinning on the used ring (BLK_POLL) or waiting for the
 * device's interrupt (BLK_IRQ: CPU 0 halts until it comes; another CPU, which takes no interrupts, watches
 * CPU 0's count of them). Returns the count, or -1 when the device broke the ring protocol. */
int blk_reap(struct blk_q *q, void **cookies, uint8_t *status, unsigned max, int wait);

/* T_GET_ID, synchronously (only while nothing else is in flight): the id string, NUL-terminated, in id[21].
 * Returns the virtio status (VIRTIO_BLK_S_UNSUPP when the device has none), or -1 on a broken ring. */
int blk_get_id(struct blk_dev *b, char id[VIRTIO_BLK_ID_BYTES + 1]);

/* One console line: negotiated features, requests, notifies, suppressed publishes, interrupts waited for
 * (summed over the queues), and with several queues one line per queue. */
void blk_summary(const struct blk_dev *b);

#endif

/* virtq.h - the driver side of a split virtqueue (virtio 1.x §2.7): rings, free list, batching, suppression. */
#ifndef EXITLESS_VIRTQ_H
#define EXITLESS_VIRTQ_H

#include <stdint.h>

#include "abi.h"
#include "virtio_spec.h" /* ring layouts and flags */

/* One buffer of a chain: device-readable (write == 0) or device-writable (write == 1). */
struct vq_buf {
	uint64_t addr;
	uint32_t len;
	int write;
};

/*
 * Who owns what. The driver (this code, one CPL3 thread) is the only writer of desc[], avail->ring[],
 * avail->idx, avail->flags and used_event; the device is the only writer of used->ring[], used->idx,
 * used->flags and avail_event. Everything below the ring pointers is private driver state.
 */
struct vq {
	unsigned num;			/* entries, a power of two */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	void **cookie;			/* per head descriptor: what vq_add was given */
	uint16_t free_head;		/* free descriptors linked through desc[].next */
	uint16_t num_free;
	uint16_t avail_idx;		/* shadow of avail->idx including unpublished entries */
	uint16_t num_added;		/* entries added since the last vq_publish */
	uint16_t last_used;		/* next used->ring entry to harvest */
	uint16_t avail_flags;		/* shadow of avail->flags */
	int event_idx;			/* VIRTIO_RING_F_EVENT_IDX negotiated */
	uint64_t kicks;			/* vq_publish calls that asked for a notify */
	uint64_t suppressed;		/* vq_publish calls where the device had notifications off */
	uint64_t bad_used;		/* used entries naming a descriptor that is not in flight */
};

/* Bytes of the legacy-compatible layout for num entries (desc + avail, then used at a 4 KiB boundary). */
uint64_t vq_layout_bytes(unsigned num);

/* Lays the rings out in mem (zeroed, 4 KiB-aligned, vq_layout_bytes(num) long; gpa == va) and builds the free
 * list; cookies is an array of num pointers. Interrupts start disabled (vq_disable_cb). */
void vq_init(struct vq *q, unsigned num, int event_idx, void *mem, void **cookies);

/* Adds a chain of n_out device-readable then n_in device-writable buffers to the avail ring without making
 * it visible to the device. Returns the head descriptor, or -1 when fewer than n_out + n_in are free. */
int vq_add(struct vq *q, const struct vq_buf *bufs, unsigned n_out, unsigned n_in, void *cookie);

/* Publishes every chain added since the last call with one avail->idx store, then decides, the way Linux's
 * virtqueue_kick_prepare does, whether the device wants a notify. Returns 1: notify now; 0: suppressed. */
int vq_publish(struct vq *q);

/* Moves up to max completed chains to cookies[] (and their head descriptors to heads[], if not NULL),
 * recycling their descriptors. Returns the count, 0 when none, -1 when the device returned a bad id. */
int vq_harvest(struct vq *q, void **cookies, uint16_t *heads, unsigned max);

/* The head descriptor the next vq_add will use (valid while num_free > 0): lets a caller fill per-head
 * state (a request header) before adding the chain. */
static inline unsigned vq_next_head(const struct vq *q) { return q->free_head; }

/* 1 when the device has used entries not yet harvested. */
int vq_has_used(const struct vq *q);

/* Interrupt suppression (Linux's virtqueue_disable_cb / virtqueue_enable_cb). enable returns 1 when entries
 * are already waiting (the caller must harvest instead of sleeping), 0 when it is safe to wait. */
void vq_disable_cb(struct vq *q);
int vq_enable_cb(struct vq *q);

#endif

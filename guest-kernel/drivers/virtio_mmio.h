/* virtio_mmio.h - the virtio-mmio transport (virtio 1.x §4.2, modern and legacy), found on the command line. */
#ifndef EXITLESS_VIRTIO_MMIO_H
#define EXITLESS_VIRTIO_MMIO_H

#include <stdint.h>

#include "virtio_spec.h"

/* The registers, status and feature bits are the shared virtio ABI (include/virtio_spec.h). */

/* One transport, as announced by `virtio_mmio.device=<size>@<base>:<irq>[:<id>]`. */
struct vmmio {
	uint64_t base;      /* gpa of the register window; identity-mapped (gpa == va) */
	uint64_t size;      /* bytes of the window */
	int irq;            /* GSI of its interrupt line */
	uint32_t version;   /* 1 legacy, 2 modern (valid after vmmio_probe) */
	uint32_t device_id; /* 0 = an empty slot (valid after vmmio_probe) */
};

/* Parses one value of `virtio_mmio.device=` into *m (size: decimal/hex with K/M/G; base hex; irq; an
 * optional platform id is accepted and ignored). Returns 0, or -1 on a malformed word. */
int vmmio_parse(const char *word, struct vmmio *m);

/* Finds the first transport on the command line whose device has type device_id: parses every
 * `virtio_mmio.device=` word in order, probes it and skips empty slots and other types. Malformed words
 * and bad magic/version are reported on the console and skipped. Returns 0 with *m filled, or -1. */
int vmmio_find(uint32_t device_id, struct vmmio *m);

/* Reads MagicValue, Version and DeviceID. Returns 0 when the window holds a virtio-mmio transport of a
 * version we drive (1 or 2), else -1 (with a console line naming the address and what was wrong). */
int vmmio_probe(struct vmmio *m);

/* Status register: reset (write 0, then wait for it to read back 0), OR-in bits, read. */
void vmmio_reset(const struct vmmio *m);
void vmmio_add_status(const struct vmmio *m, uint32_t bits);
uint32_t vmmio_status(const struct vmmio *m);

/* Marks the device FAILED and prints "virtio-mmio@BASE: WHY" on the console. */
void vmmio_fail(const struct vmmio *m, const char *why);

/* The device's feature bits (64 of them; a legacy transport only has the low 32). */
uint64_t vmmio_device_features(const struct vmmio *m);

/* Writes the driver's feature bits. Modern: then sets FEATURES_OK and checks that the device kept it;
 * legacy has no FEATURES_OK. Returns 0, or -1 when the device refused (caller then fails the device). */
int vmmio_set_features(const struct vmmio *m, uint64_t features);

/* QueueNumMax of queue idx: 0 when the queue does not exist (or is already in use, modern). */
uint32_t vmmio_queue_max(const struct vmmio *m, unsigned idx);
/* Stops queue idx (modern transport): QueueReady 0, read back until the device shows 0 (it has let go of the
 * rings). 0, or -1 when it still reads 1 after a million reads. */
int vmmio_queue_stop(const struct vmmio *m, unsigned idx);

/* Hands queue idx of num entries to the device. Modern: the three ring addresses, then QueueReady.
 * Legacy: GuestPageSize, QueueAlign = VRING_LEGACY_ALIGN and QueuePFN = desc >> 12; the caller must have laid
 * the rings out the legacy way (avail right after desc, used at the next VRING_LEGACY_ALIGN boundary). */
void vmmio_queue_set(const struct vmmio *m, unsigned idx, unsigned num, uint64_t desc, uint64_t avail,
		     uint64_t used);

/* Device-specific configuration (§4.2.2.2): a 32-bit read at byte offset off, and a 64-bit field read as two
 * halves that retries until it is consistent (ConfigGeneration when modern, a re-read when legacy). */
uint32_t vmmio_config32(const struct vmmio *m, unsigned off);
uint64_t vmmio_config64(const struct vmmio *m, unsigned off);

/* QueueNotify: a 32-bit write of the queue index. An exit to the VMM (or an ioeventfd): call it only when
 * the device asked for notifications (the virtqueue code decides). */
static inline void vmmio_notify(const struct vmmio *m, unsigned idx)
{
	*(volatile uint32_t *)(uintptr_t)(m->base + VIRTIO_MMIO_QUEUE_NOTIFY) = idx;
}

#endif

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

#endif

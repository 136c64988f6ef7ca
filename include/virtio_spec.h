/* virtio_spec.h - the virtio 1.x ABI both sides speak (the VMM's devices, the guest's driver, the fuzzers):
 * device status and transport feature bits (§2.1, §6), the virtio-mmio registers (§4.2.2, legacy §4.2.4) and the
 * split virtqueue (§2.7). Names follow Linux's include/uapi/linux/virtio_*.h. Little-endian, as x86 is. */
#ifndef EXITLESS_VIRTIO_SPEC_H
#define EXITLESS_VIRTIO_SPEC_H

#include <stdint.h>

/* ---- device status (§2.1) ---- */
#define VIRTIO_CONFIG_S_ACKNOWLEDGE 1
#define VIRTIO_CONFIG_S_DRIVER      2
#define VIRTIO_CONFIG_S_DRIVER_OK   4
#define VIRTIO_CONFIG_S_FEATURES_OK 8
#define VIRTIO_CONFIG_S_NEEDS_RESET 0x40
#define VIRTIO_CONFIG_S_FAILED      0x80

/* ---- transport feature bits (§6) ---- */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

/* ---- virtio-mmio registers ("L": legacy only, "M": modern only) ---- */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000
#define VIRTIO_MMIO_VERSION             0x004
#define VIRTIO_MMIO_DEVICE_ID           0x008
#define VIRTIO_MMIO_VENDOR_ID           0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_GUEST_PAGE_SIZE     0x028 /* L */
#define VIRTIO_MMIO_QUEUE_SEL           0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define VIRTIO_MMIO_QUEUE_NUM           0x038
#define VIRTIO_MMIO_QUEUE_ALIGN         0x03c /* L */
#define VIRTIO_MMIO_QUEUE_PFN           0x040 /* L */
#define VIRTIO_MMIO_QUEUE_READY         0x044 /* M */
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064
#define VIRTIO_MMIO_STATUS              0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080 /* M */
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084 /* M */
#define VIRTIO_MMIO_QUEUE_AVAIL_LOW     0x090 /* M: the driver area */
#define VIRTIO_MMIO_QUEUE_AVAIL_HIGH    0x094 /* M */
#define VIRTIO_MMIO_QUEUE_USED_LOW      0x0a0 /* M: the device area */
#define VIRTIO_MMIO_QUEUE_USED_HIGH     0x0a4 /* M */
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc /* M */
#define VIRTIO_MMIO_CONFIG              0x100 /* device-specific configuration from here */

#define VIRTIO_MMIO_MAGIC     0x74726976u /* "virt" */
#define VIRTIO_MMIO_INT_VRING  1          /* InterruptStatus: a used buffer */
#define VIRTIO_MMIO_INT_CONFIG 2          /* InterruptStatus: a configuration change (e.g. NEEDS_RESET) */

/* ---- split virtqueue (§2.7) ---- */
#define VRING_DESC_F_NEXT          1
#define VRING_DESC_F_WRITE         2
#define VRING_DESC_F_INDIRECT      4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY     1

/* The legacy layout's alignment of the used ring (and the GuestPageSize a legacy driver announces). */
#define VRING_LEGACY_ALIGN 4096

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* num entries, then used_event (EVENT_IDX) */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[]; /* num entries, then avail_event (EVENT_IDX) */
};

/* Bytes of each ring of a num-entry queue, event-index fields included (§2.7: "Queue Part Sizes"), and the
 * alignment each must have. */
#define VRING_DESC_BYTES(num)  (16ull * (num))
#define VRING_AVAIL_BYTES(num) (6ull + 2ull * (num))
#define VRING_USED_BYTES(num)  (6ull + 8ull * (num))
#define VRING_DESC_ALIGN  16
#define VRING_AVAIL_ALIGN 2
#define VRING_USED_ALIGN  4

/* The event-index fields past the rings (§2.7.10): the driver's used_event, the device's avail_event. */
static inline uint16_t *vring_used_event(struct vring_avail *a, unsigned num)
{
	return &a->ring[num];
}

static inline uint16_t *vring_avail_event(struct vring_used *u, unsigned num)
{
	return (uint16_t *)&u->ring[num];
}

/* The event-index rule (§2.7.10): true when moving the index from old to new_idx passed event. */
static inline int vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

#endif

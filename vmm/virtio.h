/* virtio.h - virtio 1.x constants and split-virtqueue layouts used by the transport and devices. */
#ifndef VIRTIO_H
#define VIRTIO_H

#include <stdint.h>

#include "../include/virtio_blk_spec.h"

/* Device status (virtio 1.x §2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE      1
#define VIRTIO_STATUS_DRIVER           2
#define VIRTIO_STATUS_DRIVER_OK        4
#define VIRTIO_STATUS_FEATURES_OK      8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED           128

/* Feature bits. */
#define VIRTIO_F_VERSION_1        32
#define VIRTIO_RING_F_EVENT_IDX   29
#define VIRTIO_RING_F_INDIRECT_DESC 28

/* virtio-mmio registers (version 2, §4.2.2). */
#define VIRTIO_MMIO_MAGIC_VALUE       0x000
#define VIRTIO_MMIO_VERSION           0x004
#define VIRTIO_MMIO_DEVICE_ID         0x008
#define VIRTIO_MMIO_VENDOR_ID         0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES   0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES   0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL         0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX     0x034
#define VIRTIO_MMIO_QUEUE_NUM         0x038
#define VIRTIO_MMIO_QUEUE_READY       0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY      0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS  0x060
#define VIRTIO_MMIO_INTERRUPT_ACK     0x064
#define VIRTIO_MMIO_STATUS            0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW    0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH   0x084
#define VIRTIO_MMIO_QUEUE_AVAIL_LOW   0x090
#define VIRTIO_MMIO_QUEUE_AVAIL_HIGH  0x094
#define VIRTIO_MMIO_QUEUE_USED_LOW    0x0a0
#define VIRTIO_MMIO_QUEUE_USED_HIGH   0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG            0x100
#define VIRTIO_MMIO_MAGIC             0x74726976u /* "virt" */
#define VIRTIO_MMIO_INT_VRING         1
#define VIRTIO_MMIO_INT_CONFIG        2

/* Split virtqueue (§2.7). */
#define VRING_DESC_F_NEXT      1
#define VRING_DESC_F_WRITE     2
#define VRING_DESC_F_INDIRECT  4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
struct vring_avail {
	uint16_t flags, idx;
	uint16_t ring[]; /* then used_event */
};
struct vring_used_elem {
	uint32_t id, len;
};
struct vring_used {
	uint16_t flags, idx;
	struct vring_used_elem ring[]; /* then avail_event */
};

/* virtio-blk (§5.2; the constants are in include/virtio_blk_spec.h). */
#define SECTOR_SIZE 512

struct virtio_blk_req_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

/* The event-index rule (§2.7.10): true when moving from old to new_idx passed event. */
static inline int vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

#endif

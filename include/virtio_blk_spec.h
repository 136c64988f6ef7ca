/* virtio_blk_spec.h - virtio-blk from the virtio 1.x specification (§5.2): device id, feature bits, the
 * configuration layout and the request format, shared by the VMM's device, the guest's driver and the fuzzers. */
#ifndef EXITLESS_VIRTIO_BLK_SPEC_H
#define EXITLESS_VIRTIO_BLK_SPEC_H

#include <stdint.h>

#define VIRTIO_ID_BLOCK 2

/* Feature bits (§5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9
#define VIRTIO_BLK_F_MQ       12

/* Sector numbers in requests are always in these units, whatever blk_size says. */
#define VIRTIO_BLK_SECTOR_SIZE 512

/* The configuration space (§5.2.4), at VIRTIO_MMIO_CONFIG; each field valid when its feature is offered. */
struct virtio_blk_config {
	uint64_t capacity;		/* in 512-byte sectors */
	uint32_t size_max;		/* SIZE_MAX: largest segment */
	uint32_t seg_max;		/* SEG_MAX: most data segments per request */
	uint16_t cylinders;		/* GEOMETRY */
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;		/* BLK_SIZE: logical block size */
	uint8_t physical_block_exp;	/* TOPOLOGY */
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;		/* CONFIG_WCE */
	uint8_t unused0;
	uint16_t num_queues;		/* MQ: request queues */
} __attribute__((packed));

/* Offsets of the fields a driver reads one by one. */
#define VIRTIO_BLK_CFG_CAPACITY   0
#define VIRTIO_BLK_CFG_SIZE_MAX   8
#define VIRTIO_BLK_CFG_SEG_MAX    12
#define VIRTIO_BLK_CFG_BLK_SIZE   20
#define VIRTIO_BLK_CFG_NUM_QUEUES 34

/* Request types and status values (§5.2.6). */
#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20

/* The device-readable header that starts every request. */
struct virtio_blk_outhdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

_Static_assert(sizeof(struct virtio_blk_outhdr) == 16, "virtio-blk request header is 16 bytes");
_Static_assert(__builtin_offsetof(struct virtio_blk_config, blk_size) == VIRTIO_BLK_CFG_BLK_SIZE, "blk_size at 20");
_Static_assert(__builtin_offsetof(struct virtio_blk_config, num_queues) == VIRTIO_BLK_CFG_NUM_QUEUES,
	       "num_queues at 34");

#endif

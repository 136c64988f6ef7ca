/* hostile.h - shared state and helpers of the hostile-guest self-tests (test=hostile-*): a driver that misbehaves. */
#ifndef EXITLESS_HOSTILE_H
#define EXITLESS_HOSTILE_H

#include <stdint.h>
#include "virtio_blk.h"

/* The only sectors a hostile test may legitimately write (4 KiB at byte offset 1 MiB): every boot writes the
 * same pattern there, so the host can compare the rest of the image with a copy taken before the boot. */
#define H_LBA       2048
#define H_LBA_COUNT 8
#define H_BAD_LBA   8192	/* where malformed writes aim: it must stay untouched */

#define H_RAW_BASE  192		/* crafted chains use descriptors from here up (normal I/O stays below) */
#define H_MAX_PROBE 16		/* crafted requests in flight at once */
#define H_WAIT_MS   5000	/* how long a completion or a status change may take (the host is shared) */
#define H_START_MS  60000	/* how long the first request may take (the device may still be starting) */

/* Outcomes of a crafted request, as a mask of what a case accepts. */
#define X_OK     1	/* VIRTIO_BLK_S_OK */
#define X_IOERR  2	/* VIRTIO_BLK_S_IOERR */
#define X_UNSUPP 4	/* VIRTIO_BLK_S_UNSUPP */
#define X_NONE   8	/* completed without a status byte (no valid device-writable byte): used.len 0 */

struct hostile {
	struct vmmio mmio;	/* its virtio-mmio transport: the register tests write it directly */
	struct vdev dev;	/* the device under attack, through its transport's interface */
	int on_mmio;		/* it is on virtio-mmio (then mmio holds its registers for the register cases) */
	struct blk_dev b;
	unsigned qi;		/* the queue under attack: hostile_queue= on the command line (default 0) */
	uint64_t ram_end;	/* the end of the highest RAM range of the PVH memory map */
	uint8_t *scratch;	/* 1 page: crafted headers (16 bytes each) from 0, status bytes from 2048 */
	uint8_t *data;		/* H_MAX_PROBE pages of data buffers for crafted requests */
	uint8_t *pattern;	/* 4 KiB: what LBA H_LBA.. must hold */
	uint8_t *buf;		/* 4 KiB bounce buffer for normal reads */
	const char *name;	/* the case running */
	int bad;		/* failed checks in this case */
	uint64_t errors;	/* device errors provoked on purpose (IOERR, no status, NEEDS_RESET, drops) */
	uint64_t unsupp;	/* UNSUPP statuses provoked */
};
extern struct hostile H;

/* Base of a crafted buffer address: the per-probe header/status/data slot, RAM's end, or an absolute value. */
enum hbase { B_NONE, B_HDR, B_DATA, B_STATUS, B_RAM_END, B_ABS };
struct haddr {
	enum hbase base;
	int64_t off;
	uint32_t len;
};

/* One crafted request: header -> [data] -> status, each place and length chosen by the case. */
struct probe {
	const char *what;
	uint32_t type;
	uint64_t sector;
	struct haddr hdr, data, st;
	int data_w;		/* the data descriptor is device-writable */
	uint16_t xflags;	/* extra flags on the data descriptor (INDIRECT) */
	unsigned expect;	/* X_* mask */
};

/* Reporting: a failed check prints "hostile-CASE: ..." and counts. Returns 1 when cond failed. */
int h_check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The device status through its transport; virtio-mmio registers, raw (each access is an exit). */
uint32_t h_status(void);
uint32_t h_rd(unsigned off);
void h_wr(unsigned off, uint32_t v);
uint64_t h_deadline(uint64_t ms);
int h_expired(uint64_t deadline);

/* Device life cycle: open with the normal driver (reset, negotiate, new rings, DRIVER_OK); reset with a
 * deadline (status must read 0 again); wait for Status bits. Return 0 or -1 (after a failed check). */
int h_open(void);
int h_reset(void);
int h_wait_status(uint32_t bits);

/* Normal I/O through the driver with a deadline: the virtio status, or -1 (timeout or broken ring). */
int h_io(uint32_t type, uint64_t lba, void *buf, uint32_t len);
/* The device still serves: a normal read of LBA H_LBA returns the pattern and Status shows no error. */
int h_responsive(void);

/* Crafted chains on the open queue: write descriptor i, queue a head (not yet published), publish and notify
 * when the device asks, wait for n used entries (copied to out). Save/restore the descriptor table around
 * crafted chains so the driver's free list survives. */
void h_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
void h_push(uint16_t head);
void h_kick(void);
int h_wait_used(unsigned n, struct vring_used_elem *out, uint64_t ms);
void h_save_desc(void);
void h_restore_desc(void);

/* Waits for one used entry per head and files it under its head (by_head[k] for heads[k]); unknown or
 * duplicate ids fail. Returns 0, 1 when the device chose NEEDS_RESET instead (it has been reset and reopened on
 * new rings: the caller must not restore the old descriptor table), or -1 after a failed check. */
int h_collect(const uint16_t *heads, unsigned n, struct vring_used_elem *by_head);

/* Runs crafted probes (up to H_MAX_PROBE per batch) and checks each outcome against its mask. */
int h_probes(const struct probe *p, unsigned n);

/* The cases (0 = PASS). */
int hc_outside_ram(void);
int hc_straddle(void);
int hc_chain_loop(void);
int hc_chain_too_long(void);
int hc_zero_len(void);
int hc_huge_len(void);
int hc_unknown_type(void);
int hc_past_end(void);
int hc_bad_head(void);
int hc_avail_jump(void);
int hc_queue_regs_running(void);
int hc_reinit(void);
int hc_reset_inflight(void);
int hc_queue_restart(void);
int hc_ro_regs(void);
int hc_config_write(void);
int hc_notify_storm(void);
int hc_ack_storm(void);
int hc_bad_ring_setup(void);
int hc_framing(void);
int hc_dup_head(void);
int hc_aliased_rings(void);
/* virtio-pci only (hostile_pci.c). */
int hc_pci_config(void);
int hc_pci_bar(void);
int hc_pci_msix(void);
int hc_pci_master(void);

#endif

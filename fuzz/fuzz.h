/* fuzz.h - what the fuzz targets share: entry points, the input reader, guarded guest RAM, test disks. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk.h"

/* The targets. Each takes one input and returns 0 (libFuzzer's convention); a broken invariant
 * aborts with file:line, so libFuzzer saves the input and the replay driver reports it. fuzz/entry.c
 * calls these, as libFuzzer's entry or as the regression tests' replay driver. */
int fuzz_vq(const uint8_t *data, size_t size);
int fuzz_mmio(const uint8_t *data, size_t size);
int fuzz_pci(const uint8_t *data, size_t size);
int fuzz_elf(const uint8_t *data, size_t size);
int fuzz_job(const uint8_t *data, size_t size);

/* A broken invariant: prints file:line and the condition on stderr and aborts. */
#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail(__FILE__, __LINE__, #cond);                                      \
	} while (0)
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/* ---- the input, read front to back; past its end every read yields zeros ------------------- */

struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

uint8_t fin_u8(struct fuzz_in *in);
uint16_t fin_u16(struct fuzz_in *in);
uint32_t fin_u32(struct fuzz_in *in);
/* Copies up to n bytes into dst; returns how many the input still had. */
size_t fin_bytes(struct fuzz_in *in, void *dst, size_t n);
bool fin_empty(const struct fuzz_in *in);

/* ---- guest RAM ------------------------------------------------------------------------------ */

#define FUZZ_RAM_SMALL (64u << 10)  /* every byte of it comes from the input */
#define FUZZ_RAM_BIG   (256u << 20) /* the small RAM mapped 4096 times: large lengths, little RSS */

/* Guest RAM of FUZZ_RAM_SMALL bytes (big: FUZZ_RAM_BIG bytes whose every 64 KiB shows the same
 * pages), zeroed, with an inaccessible page on each side so a stray access faults at once.
 * Mapped once per process; each call zeroes the pages again. */
struct guest_mem *fuzz_ram(bool big);
/* A RAM of its own: `size` bytes (a multiple of 4 KiB) between two inaccessible pages, zeroed. */
void fuzz_ram_alloc(struct guest_mem *m, uint64_t size);
/* The FUZZ_RAM_SMALL bytes behind both RAMs (writing here is writing guest RAM). */
uint8_t *fuzz_ram_bytes(void);
/* True when host [p, p+len) lies inside m's RAM. */
bool fuzz_in_ram(const struct guest_mem *m, const void *p, uint64_t len);

/* ---- test disks ----------------------------------------------------------------------------- */

#define FUZZ_DISK_SECTORS 64

enum fuzz_backend { FUZZ_BE_NULL, FUZZ_BE_RAM };

/* A disk with one queue and the emulation context that serves it (run by hand, as its thread would). */
struct fuzz_disk {
	struct virtio_dev *d;
	struct vqueue *q;
	struct emu_ctx *c;
};

/* Disk 0 on the null or ram backend (an all-zero 32 KiB image), back in its just-created state,
 * reaching guest RAM m; irq_fd is -1. Every request its backend receives is checked first: a read,
 * write or flush, inside the disk, its iovecs inside guest RAM and adding up to its length, no write
 * to a read-only disk. */
struct fuzz_disk *fuzz_disk(enum fuzz_backend be, const struct guest_mem *m, bool ro);
/* True when the queue is usable as it stands: activated, num a power of two up to VQ_MAX_SIZE, each
 * host ring pointer the checked translation of its address for that size. */
bool fuzz_vq_consistent(const struct vq *q, const struct guest_mem *m);
/* The emulation context for one head, as emu.c runs it: the device's start, then checks that an
 * accepted head (inside the queue, not in flight) completed exactly once with one used entry naming it,
 * and that a refused one left no trace in the used ring and marked the device NEEDS_RESET. */
void fuzz_start(struct fuzz_disk *k, uint16_t head);
/* Publishes the used entries, then checks that used.idx in guest RAM moved by the number of entries
 * pushed since the last flush. */
void fuzz_flush(struct fuzz_disk *k);
/* Starts every head handed to the emulation context through the queue's SPSC ring (what emu.c's
 * loop does), then flushes. Returns how many heads it took. */
int fuzz_emu_run(struct fuzz_disk *k);

#endif

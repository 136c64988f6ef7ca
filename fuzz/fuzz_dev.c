/* fuzz_dev.c - the fuzz targets' test bench: input reader, guard-paged guest RAM, checked test disks. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "fuzz.h"

#define GUARD 4096u

/* Printed through the sanitizer runtime: libFuzzer's -close_fd_mask discards the program's own
 * stderr but keeps the sanitizers' reports. */
void fuzz_fail(const char *file, int line, const char *what)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "fuzz: %s:%d: invariant broken: %s", file, line, what);
	__sanitizer_report_error_summary(msg);
	abort();
}

/* ---- input ---------------------------------------------------------------------------------- */

size_t fin_bytes(struct fuzz_in *in, void *dst, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, n - k);
	in->p += k;
	in->left -= k;
	return k;
}

uint8_t fin_u8(struct fuzz_in *in)
{
	uint8_t v;

	fin_bytes(in, &v, 1);
	return v;
}

uint16_t fin_u16(struct fuzz_in *in)
{
	uint16_t v;

	fin_bytes(in, &v, 2);
	return v;
}

uint32_t fin_u32(struct fuzz_in *in)
{
	uint32_t v;

	fin_bytes(in, &v, 4);
	return v;
}

bool fin_empty(const struct fuzz_in *in)
{
	return in->left == 0;
}

/* ---- guest RAM: one memfd, mapped once small and 4096 times in a row for the big RAM --------- */

static struct guest_mem small_mem, big_mem;

/* Maps `size` bytes made of the memfd's first `chunk` bytes repeated, between two PROT_NONE pages. */
static uint8_t *map_guarded(int fd, uint64_t size, uint64_t chunk)
{
	uint8_t *base = mmap(NULL, size + 2 * GUARD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			     -1, 0);

	if (base == MAP_FAILED)
		fuzz_fail(__FILE__, __LINE__, "mmap of the guest RAM area");
	for (uint64_t off = 0; off < size; off += chunk)
		if (mmap(base + GUARD + off, chunk, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
		    MAP_FAILED)
			fuzz_fail(__FILE__, __LINE__, "mmap of a guest RAM chunk");
	return base + GUARD;
}

void fuzz_ram_alloc(struct guest_mem *m, uint64_t size)
{
	int fd = memfd_create("fuzz-guest-ram", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		fuzz_fail(__FILE__, __LINE__, "memfd for guest RAM");
	*m = (struct guest_mem){ fd, map_guarded(fd, size, size), size };
}

struct guest_mem *fuzz_ram(bool big)
{
	if (!small_mem.host) {
		fuzz_ram_alloc(&small_mem, FUZZ_RAM_SMALL);
		big_mem = (struct guest_mem){ small_mem.fd, map_guarded(small_mem.fd, FUZZ_RAM_BIG, FUZZ_RAM_SMALL),
					      FUZZ_RAM_BIG };
	}
	memset(small_mem.host, 0, FUZZ_RAM_SMALL);
	return big ? &big_mem : &small_mem;
}

uint8_t *fuzz_ram_bytes(void)
{
	return small_mem.host;
}

bool fuzz_in_ram(const struct guest_mem *m, const void *p, uint64_t len)
{
	uintptr_t a = (uintptr_t)p, base = (uintptr_t)m->host;

	return a >= base && len <= m->size && a - base <= m->size - len;
}

/* ---- test disks ----------------------------------------------------------------------------- */

struct fuzz_disk {
	struct blk_dev *d;
	const struct backend_ops *real; /* null or ram */
	struct backend_ops checked;     /* the same with submit checked first */
	uint8_t pristine[offsetof(struct blk_dev, req)]; /* the state before any request */
};

static struct fuzz_disk disks[2];

static int checked_submit(struct backend *b, struct blk_req *r)
{
	struct blk_dev *d = r->dev;
	uint64_t sum = 0;

	FUZZ_ASSERT(d && &d->be == b);
	FUZZ_ASSERT(r->op == BLK_OP_READ || r->op == BLK_OP_WRITE || r->op == BLK_OP_FLUSH);
	FUZZ_ASSERT(r->niov >= 0 && r->niov <= VQ_MAX_SIZE);
	for (int i = 0; i < r->niov; i++) {
		FUZZ_ASSERT(fuzz_in_ram(d->mem, r->iov[i].iov_base, r->iov[i].iov_len));
		sum += r->iov[i].iov_len;
	}
	FUZZ_ASSERT(!r->status_p || fuzz_in_ram(d->mem, r->status_p, 1));
	if (r->op != BLK_OP_FLUSH) {
		FUZZ_ASSERT(sum == r->len);
		FUZZ_ASSERT(r->len % SECTOR_SIZE == 0 && r->offset % SECTOR_SIZE == 0);
		FUZZ_ASSERT(r->offset <= b->size && r->len <= b->size - r->offset);
		FUZZ_ASSERT(r->op != BLK_OP_WRITE || !d->cfg.ro);
	}
	return disks[d == disks[1].d].real->submit(b, r);
}

/* Creates the disk once: an all-zero memfd image reached through /proc/self/fd. */
static void disk_init(struct fuzz_disk *fd, const char *backend)
{
	static char path[2][64];
	int i = (int)(fd - disks), img = memfd_create("fuzz-disk", MFD_CLOEXEC);
	struct disk_config cfg = { .path = path[i], .backend = backend };

	if (img < 0 || ftruncate(img, FUZZ_DISK_SECTORS * SECTOR_SIZE) < 0)
		fuzz_fail(__FILE__, __LINE__, "memfd for the disk image");
	snprintf(path[i], sizeof(path[i]), "/proc/self/fd/%d", img);
	fd->d = blk_create(0, &cfg, &small_mem);
	if (!fd->d || fd->d->be.ops->open(&fd->d->be) < 0) {
		fprintf(stderr, "fuzz: %s\n", err_msg());
		fuzz_fail(__FILE__, __LINE__, "creating the test disk");
	}
	fd->real = fd->d->be.ops;
	fd->checked = *fd->real;
	fd->checked.submit = checked_submit;
	fd->d->be.ops = &fd->checked;
	memcpy(fd->pristine, fd->d, sizeof(fd->pristine));
}

struct blk_dev *fuzz_disk(enum fuzz_backend be, const struct guest_mem *m, bool ro)
{
	struct fuzz_disk *fd = &disks[be == FUZZ_BE_RAM];
	struct blk_dev *d;

	if (!fd->d)
		disk_init(fd, be == FUZZ_BE_RAM ? "ram" : "null");
	d = fd->d;
	memcpy(d, fd->pristine, sizeof(fd->pristine));
	d->mem = m;
	d->cfg.ro = ro;
	if (d->be.ram)
		memset(d->be.ram, 0, d->be.size);
	return d;
}

/* ---- the emulation context, checked --------------------------------------------------------- */

bool fuzz_vq_consistent(const struct vq *q, const struct guest_mem *m)
{
	uint64_t n = q->num;

	if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)) || !q->desc || !q->avail || !q->used)
		return false;
	return (void *)q->desc == gmem_ptr(m, q->desc_gpa, n * sizeof(struct vring_desc)) &&
	       (void *)q->avail == gmem_ptr(m, q->avail_gpa, sizeof(struct vring_avail) + (n + 1) * 2) &&
	       (void *)q->used == gmem_ptr(m, q->used_gpa, sizeof(struct vring_used) +
							   n * sizeof(struct vring_used_elem) + 2);
}

void fuzz_start(struct blk_dev *d, uint16_t head)
{
	struct vq *q = &d->vq;
	bool accept = head < q->num && !d->inflight[head];
	uint64_t req0 = d->c.requests, done0 = d->c.completed;
	uint16_t used0 = q->used_idx;

	FUZZ_ASSERT(fuzz_vq_consistent(q, d->mem));
	blk_start(d, head);
	FUZZ_ASSERT(d->c.requests == req0 + 1);
	if (!accept) { /* outside the queue or already in flight: NEEDS_RESET, no used entry */
		FUZZ_ASSERT(d->c.completed == done0 && q->used_idx == used0);
		FUZZ_ASSERT(atomic_load(&d->broken) && !atomic_load(&d->active));
		return;
	}
	/* The null and ram backends finish at once: started, completed, one used entry for it. */
	FUZZ_ASSERT(d->c.completed == done0 + 1 && !d->inflight[head]);
	FUZZ_ASSERT(q->used_idx == (uint16_t)(used0 + 1));
	FUZZ_ASSERT(q->used->ring[used0 & (q->num - 1)].id == head);
}

void fuzz_flush(struct blk_dev *d)
{
	struct vq *q = &d->vq;
	bool pushed = q->used_idx != q->signalled_used;

	blk_flush_completions(d);
	if (pushed) /* used.idx now shows every entry pushed: one per completed request */
		FUZZ_ASSERT(q->used->idx == q->used_idx && q->signalled_used == q->used_idx);
}

int fuzz_emu_run(struct blk_dev *d)
{
	uint32_t tail = atomic_load(&d->ring.tail), head = atomic_load(&d->ring.head);
	int n = 0;

	FUZZ_ASSERT(head - tail <= SPSC_SIZE);
	for (; tail != head; tail++, n++)
		fuzz_start(d, d->ring.slot[tail & (SPSC_SIZE - 1)]);
	atomic_store(&d->ring.tail, tail);
	if (n)
		fuzz_flush(d);
	return n;
}

/* A device reset (virtio_mmio.c) waits in emu_quiesce() for the emulation context to take and
 * complete what it was handed. Here that context runs only when called: the targets are linked
 * with -Wl,--wrap=emu_quiesce so that it serves its ring while the reset waits, as its own thread
 * or process would, before the real wait (which then finds nothing left). */
bool __real_emu_quiesce(struct blk_dev *d);
bool __wrap_emu_quiesce(struct blk_dev *d);

bool __wrap_emu_quiesce(struct blk_dev *d)
{
	if (atomic_load(&d->ring.head) != atomic_load(&d->ring.tail))
		FUZZ_ASSERT(fuzz_vq_consistent(&d->vq, d->mem));
	fuzz_emu_run(d);
	return __real_emu_quiesce(d);
}

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
	*m = (struct guest_mem){ .fd = fd, .host = map_guarded(fd, size, size), .size = size, .backing = MEM_4K };
}

struct guest_mem *fuzz_ram(bool big)
{
	if (!small_mem.host) {
		fuzz_ram_alloc(&small_mem, FUZZ_RAM_SMALL);
		big_mem = (struct guest_mem){ .fd = small_mem.fd, .size = FUZZ_RAM_BIG, .backing = MEM_4K,
					      .host = map_guarded(small_mem.fd, FUZZ_RAM_BIG, FUZZ_RAM_SMALL) };
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

struct test_disk {
	struct fuzz_disk k;
	const struct backend_ops *real; /* null or ram */
	struct backend_ops checked;     /* the same with submit checked first */
	struct backend *be;             /* the context's backend (held here too: the context is in shared
					 * memory, which LeakSanitizer does not scan) */
};

static struct test_disk disks[2];

static int checked_submit(struct backend *b, struct blk_req *r)
{
	struct test_disk *t = &disks[b->ops == &disks[1].checked];
	struct virtio_dev *d = t->k.d;
	uint64_t sum = 0;

	FUZZ_ASSERT(r->q == t->k.q && b == t->k.c->priv);
	FUZZ_ASSERT(r->op == BLK_OP_READ || r->op == BLK_OP_WRITE || r->op == BLK_OP_FLUSH);
	FUZZ_ASSERT(r->niov >= 0 && r->niov <= BLK_SEG_MAX);
	for (int i = 0; i < r->niov; i++) {
		FUZZ_ASSERT(fuzz_in_ram(d->mem, r->iov[i].iov_base, r->iov[i].iov_len));
		sum += r->iov[i].iov_len;
	}
	FUZZ_ASSERT(!r->status_p || fuzz_in_ram(d->mem, r->status_p, 1));
	if (r->op != BLK_OP_FLUSH) {
		FUZZ_ASSERT(sum == r->len);
		FUZZ_ASSERT(r->len % SECTOR_SIZE == 0 && r->offset % SECTOR_SIZE == 0);
		FUZZ_ASSERT(r->offset <= b->img->size && r->len <= b->img->size - r->offset);
		FUZZ_ASSERT(r->op != BLK_OP_WRITE || !blk_of(d)->cfg.ro);
	}
	return t->real->submit(b, r);
}

/* Creates the disk once: an all-zero memfd image reached through /proc/self/fd. */
static void disk_init(struct test_disk *t, const char *backend)
{
	static char path[2][64];
	int i = (int)(t - disks), img = memfd_create("fuzz-disk", MFD_CLOEXEC);
	struct disk_config cfg = { .path = path[i], .backend = backend, .queues = 1 };
	struct backend *be;

	if (img < 0 || ftruncate(img, FUZZ_DISK_SECTORS * SECTOR_SIZE) < 0)
		fuzz_fail(__FILE__, __LINE__, "memfd for the disk image");
	snprintf(path[i], sizeof(path[i]), "/proc/self/fd/%d", img);
	t->k.d = blk_create(0, &cfg, &small_mem);
	if (t->k.d) {
		t->k.q = &t->k.d->queues[0];
		t->k.c = emu_ctx_create(0, &emu_modes[0], &t->k.q, 1);
	}
	if (!t->k.d || !t->k.c || t->k.d->ops->ctx_open(t->k.c) < 0) {
		fprintf(stderr, "fuzz: %s\n", err_msg());
		fuzz_fail(__FILE__, __LINE__, "creating the test disk");
	}
	be = t->be = t->k.c->priv;
	t->real = be->ops;
	t->checked = *t->real;
	t->checked.submit = checked_submit;
	be->ops = &t->checked;
}

/* Back to the state blk_create and emu_ctx_create left: queue, hand-off ring, counters, flags. */
static void disk_reset(struct test_disk *t, const struct guest_mem *m, bool ro)
{
	struct virtio_dev *d = t->k.d;
	struct vqueue *q = t->k.q;

	memset(&q->vq, 0, sizeof(q->vq));
	atomic_store(&q->ring.head, 0);
	atomic_store(&q->ring.tail, 0);
	atomic_store(&q->active, 0);
	atomic_store(&q->popping, 0);
	memset(q->inflight, 0, sizeof(q->inflight));
	memset(&q->c, 0, sizeof(q->c));
	d->transport = NULL; /* fuzz-mmio binds its transport again (its state in d->tstate is reused) */
	atomic_store(&d->broken, 0);
	d->mem = m;
	((struct backend *)t->k.c->priv)->mem = m;
	blk_of(d)->cfg.ro = ro;
	if (blk_of(d)->img.ram)
		memset(blk_of(d)->img.ram, 0, blk_of(d)->img.size);
}

struct fuzz_disk *fuzz_disk(enum fuzz_backend be, const struct guest_mem *m, bool ro)
{
	struct test_disk *t = &disks[be == FUZZ_BE_RAM];

	if (!t->k.d)
		disk_init(t, be == FUZZ_BE_RAM ? "ram" : "null");
	disk_reset(t, m, ro);
	return &t->k;
}

/* ---- the emulation context, checked --------------------------------------------------------- */

bool fuzz_vq_consistent(const struct vq *q, const struct guest_mem *m)
{
	uint64_t n = q->num;

	if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)) || !q->desc || !q->avail || !q->used)
		return false;
	return (void *)q->desc == gmem_ptr(m, q->desc_gpa, VRING_DESC_BYTES(n)) &&
	       (void *)q->avail == gmem_ptr(m, q->avail_gpa, VRING_AVAIL_BYTES(n)) &&
	       (void *)q->used == gmem_ptr(m, q->used_gpa, VRING_USED_BYTES(n));
}

void fuzz_start(struct fuzz_disk *k, uint16_t head)
{
	struct vqueue *q = k->q;
	struct vq *v = &q->vq;
	bool accept = head < v->num && !q->inflight[head];
	uint64_t req0 = q->c.requests, done0 = q->c.completed;
	uint16_t used0 = v->used_idx;

	FUZZ_ASSERT(fuzz_vq_consistent(v, k->d->mem));
	k->d->ops->start(k->c, q, head);
	FUZZ_ASSERT(q->c.requests == req0 + 1);
	if (!accept) { /* outside the queue or already in flight: NEEDS_RESET, no used entry */
		FUZZ_ASSERT(q->c.completed == done0 && v->used_idx == used0);
		FUZZ_ASSERT(atomic_load(&k->d->broken) && !atomic_load(&q->active));
		return;
	}
	/* The null and ram backends finish at once: started, completed, one used entry for it. */
	FUZZ_ASSERT(q->c.completed == done0 + 1 && !q->inflight[head]);
	FUZZ_ASSERT(v->used_idx == (uint16_t)(used0 + 1));
	FUZZ_ASSERT(v->used->ring[used0 & (v->num - 1)].id == head);
}

void fuzz_flush(struct fuzz_disk *k)
{
	struct vq *v = &k->q->vq;
	bool pushed = v->used_idx != v->signalled_used;

	virtio_queue_flush(k->q);
	if (pushed) /* used.idx now shows every entry pushed: one per completed request */
		FUZZ_ASSERT(v->used->idx == v->used_idx && v->signalled_used == v->used_idx);
}

int fuzz_emu_run(struct fuzz_disk *k)
{
	struct vqueue *q = k->q;
	uint32_t tail = atomic_load(&q->ring.tail), head = atomic_load(&q->ring.head);
	int n = 0;

	FUZZ_ASSERT(head - tail <= SPSC_SIZE);
	for (; tail != head; tail++, n++)
		fuzz_start(k, q->ring.slot[tail & (SPSC_SIZE - 1)]);
	atomic_store(&q->ring.tail, tail);
	if (n)
		fuzz_flush(k);
	return n;
}

/* A device reset (virtio_mmio.c) waits in emu_quiesce() for the emulation context to take and
 * complete what it was handed. Here that context runs only when called: the targets are linked
 * with -Wl,--wrap=emu_quiesce so that it serves its ring while the reset waits, as its own thread
 * or process would, before the real wait (which then finds nothing left). */
bool __real_emu_quiesce(struct virtio_dev *d, struct vqueue *q);
bool __wrap_emu_quiesce(struct virtio_dev *d, struct vqueue *q);

bool __wrap_emu_quiesce(struct virtio_dev *d, struct vqueue *q)
{
	struct fuzz_disk *k = &disks[d == disks[1].k.d].k;

	if (atomic_load(&q->ring.head) != atomic_load(&q->ring.tail))
		FUZZ_ASSERT(fuzz_vq_consistent(&q->vq, d->mem));
	fuzz_emu_run(k);
	return __real_emu_quiesce(d, q);
}

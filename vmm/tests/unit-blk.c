/* unit-blk.c - the virtio-blk device against well-formed and hostile requests: every bad request
 * gets an error status (when the guest gave a status byte), is counted, and nothing outside guest
 * RAM or outside the disk is touched. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk.h"
#include "tap.h"

#define RAM (16ull << 20)
#define QSZ 8
#define DESC_GPA 0x10000ull
#define AVAIL_GPA 0x11000ull
#define USED_GPA 0x12000ull
#define HDR_GPA 0x20000ull
#define DATA_GPA 0x30000ull
#define STATUS_GPA 0x40000ull
#define DISK_SECTORS 64

static struct guest_mem mem;
static char img_path[] = "/tmp/unit-blk-XXXXXX";

/* A disk, its queue 0 and the emulation context that serves it, as the request path sets them up. */
struct disk {
	struct virtio_dev *d;
	struct vqueue *q;
	struct emu_ctx *c;
};

static void *gpa(uint64_t a)
{
	return gmem_ptr(&mem, a, 1);
}

static struct disk make_disk(const char *backend, bool ro)
{
	struct disk_config cfg = { .path = img_path, .backend = backend, .ro = ro, .queues = 1 };
	struct disk k = { blk_create(0, &cfg, &mem), NULL, NULL };

	if (!k.d)
		tap_bail("%s", err_msg());
	k.q = &k.d->queues[0];
	k.c = emu_ctx_create(0, &emu_modes[0], &k.q, 1);
	if (!k.c || k.d->ops->ctx_open(k.c) < 0)
		tap_bail("%s", err_msg());
	k.q->vq.num = QSZ;
	k.q->vq.desc_gpa = DESC_GPA, k.q->vq.avail_gpa = AVAIL_GPA, k.q->vq.used_gpa = USED_GPA;
	memset(gpa(DESC_GPA), 0, 0x3000);
	if (vq_activate(&k.q->vq, &mem) < 0)
		tap_bail("%s", err_msg());
	atomic_store(&k.q->active, 1);
	return k;
}

static void set_desc(int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = (struct vring_desc *)gpa(DESC_GPA) + i;

	*d = (struct vring_desc){ addr, len, flags, next };
}

static void set_hdr(uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { type, 0, sector };

	memcpy(gpa(HDR_GPA), &h, sizeof(h));
}

/* A standard 3-descriptor request: header, data (len bytes), status. */
static void std_chain(uint32_t type, uint64_t sector, uint32_t len)
{
	uint16_t dflag = type == VIRTIO_BLK_T_OUT ? 0 : VRING_DESC_F_WRITE;

	set_hdr(type, sector);
	set_desc(0, HDR_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(1, DATA_GPA, len, dflag | VRING_DESC_F_NEXT, 2);
	set_desc(2, STATUS_GPA, 1, VRING_DESC_F_WRITE, 0);
}

/* Publishes head 0, lets the device take it and complete it; returns the status byte. */
static uint8_t run(struct disk *k)
{
	struct vring_avail *av = gpa(AVAIL_GPA);

	*(uint8_t *)gpa(STATUS_GPA) = 0xee;
	av->ring[av->idx % QSZ] = 0;
	av->idx++;
	while (vq_avail_pending(&k->q->vq) > 0)
		k->d->ops->start(k->c, k->q, vq_pop(&k->q->vq));
	virtio_queue_flush(k->q);
	return *(uint8_t *)gpa(STATUS_GPA);
}
static uint32_t last_used_len(void)
{
	struct vring_used *u = gpa(USED_GPA);

	return u->ring[(uint16_t)(u->idx - 1) % QSZ].len;
}

static void test_good(struct disk *k)
{
	uint8_t disk[4096];
	uint64_t req0 = k->q->c.requests;

	pread(blk_of(k->d)->img.fd_buffered, disk, sizeof(disk), 512);
	std_chain(VIRTIO_BLK_T_IN, 1, 4096);
	ok(run(k) == VIRTIO_BLK_S_OK, "a well-formed read completes OK");
	ok(memcmp(gpa(DATA_GPA), disk, 4096) == 0, "it returns the image's bytes at the sector");
	ok(last_used_len() == 4097, "used.len counts the data and the status byte");
	ok(k->q->c.requests == req0 + 1 && k->q->c.errors == 0, "it is counted as one request, no error");
	memset(gpa(DATA_GPA), 0x5a, 4096);
	std_chain(VIRTIO_BLK_T_OUT, 2, 4096);
	ok(run(k) == VIRTIO_BLK_S_OK, "a well-formed write completes OK");
	std_chain(VIRTIO_BLK_T_FLUSH, 0, 0);
	set_desc(0, HDR_GPA, 16, VRING_DESC_F_NEXT, 2);
	ok(run(k) == VIRTIO_BLK_S_OK, "a flush completes OK");
	std_chain(VIRTIO_BLK_T_GET_ID, 0, 20);
	ok(run(k) == VIRTIO_BLK_S_OK && strcmp(gpa(DATA_GPA), "exitless-vda") == 0,
	   "GET_ID returns the disk's id");
}

static void expect_err(struct disk *k, uint8_t want, const char *what)
{
	uint64_t e0 = k->q->c.errors + k->q->c.unsupported;
	uint8_t st = run(k);

	ok(st == want && k->q->c.errors + k->q->c.unsupported == e0 + 1, "%s -> status %u, counted", what, st);
}

static void test_hostile(struct disk *k)
{
	std_chain(VIRTIO_BLK_T_IN, 0, 4096);
	set_desc(1, RAM - 100, 4096, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	expect_err(k, VIRTIO_BLK_S_IOERR, "a data buffer straddling the end of RAM");
	set_desc(1, 1ull << 40, 4096, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	expect_err(k, VIRTIO_BLK_S_IOERR, "a data buffer far outside RAM");
	set_desc(1, DATA_GPA, 0xffffffffu, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	expect_err(k, VIRTIO_BLK_S_IOERR, "a 4 GiB length (overflow)");
	std_chain(VIRTIO_BLK_T_IN, 0, 4096);
	set_desc(2, STATUS_GPA, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	expect_err(k, VIRTIO_BLK_S_IOERR, "a descriptor loop");
	std_chain(VIRTIO_BLK_T_IN, 0, 4096);
	set_desc(2, STATUS_GPA, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 200);
	expect_err(k, VIRTIO_BLK_S_IOERR, "a next index beyond the queue");
	std_chain(VIRTIO_BLK_T_IN, 0, 4096);
	set_desc(1, DATA_GPA, 4096, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 2);
	expect_err(k, VIRTIO_BLK_S_IOERR, "an indirect descriptor that was not negotiated");
	std_chain(VIRTIO_BLK_T_IN, DISK_SECTORS, 512);
	expect_err(k, VIRTIO_BLK_S_IOERR, "a read at the first sector past the end");
	std_chain(VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 4096);
	expect_err(k, VIRTIO_BLK_S_IOERR, "a read running past the end");
	std_chain(VIRTIO_BLK_T_OUT, UINT64_MAX / 256, 4096);
	expect_err(k, VIRTIO_BLK_S_IOERR, "a sector whose byte offset overflows");
	std_chain(VIRTIO_BLK_T_IN, 0, 100);
	expect_err(k, VIRTIO_BLK_S_IOERR, "a length that is not a multiple of 512");
	std_chain(99, 0, 512);
	expect_err(k, VIRTIO_BLK_S_UNSUPP, "an unknown request type");
	std_chain(VIRTIO_BLK_T_IN, 0, 512);
	set_desc(0, HDR_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(1, DATA_GPA, 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	expect_err(k, VIRTIO_BLK_S_IOERR, "a header shorter than 16 bytes");
}

static void test_read_only(void)
{
	struct disk dk = make_disk("sync", true), *k = &dk;
	uint8_t before[4096], after[4096];

	pread(blk_of(k->d)->img.fd_buffered, before, sizeof(before), 0);
	memset(gpa(DATA_GPA), 0x77, 4096);
	std_chain(VIRTIO_BLK_T_OUT, 0, 4096);
	expect_err(k, VIRTIO_BLK_S_IOERR, "a write to a read-only disk");
	pread(blk_of(k->d)->img.fd_buffered, after, sizeof(after), 0);
	ok(memcmp(before, after, sizeof(before)) == 0, "the read-only image is untouched");
	ok(k->d->ops->features(k->d) & (1ull << VIRTIO_BLK_F_RO), "the read-only disk offers VIRTIO_BLK_F_RO");
}

static void test_avail_jump(struct disk *k)
{
	struct vring_avail *av = gpa(AVAIL_GPA);

	av->idx = (uint16_t)(k->q->vq.last_avail + QSZ + 1);
	ok(emu_handoff(k->q) == 0 && atomic_load(&k->d->broken) && !atomic_load(&k->q->active),
	   "an avail index more than the queue size ahead marks the device NEEDS_RESET");
}

static void test_activation(void)
{
	struct vq q = { .num = QSZ, .desc_gpa = RAM - 64, .avail_gpa = AVAIL_GPA, .used_gpa = USED_GPA };

	ok(vq_activate(&q, &mem) < 0, "a descriptor table past the end of RAM is refused");
	q = (struct vq){ .num = 6, .desc_gpa = DESC_GPA, .avail_gpa = AVAIL_GPA, .used_gpa = USED_GPA };
	ok(vq_activate(&q, &mem) < 0, "a queue size that is not a power of two is refused");
}

int main(void)
{
	int fd = mkstemp(img_path);
	uint8_t buf[512];
	struct disk k;

	for (int i = 0; i < DISK_SECTORS; i++) {
		memset(buf, i, sizeof(buf));
		write(fd, buf, sizeof(buf));
	}
	close(fd);
	if (gmem_init(&mem, RAM, MEM_4K, true) < 0)
		tap_bail("%s", err_msg());
	k = make_disk("sync", false);
	test_good(&k);
	test_hostile(&k);
	test_read_only();
	test_activation();
	test_avail_jump(&k);
	unlink(img_path);
	return tap_done();
}

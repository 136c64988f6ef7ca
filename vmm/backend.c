/* backend.c - a disk's image (file or block device), and the synchronous backends: sync
 * (preadv/pwritev), null (no data movement, at once or after a fixed service time) and ram (an in-memory
 * copy of the image). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "blk.h"

extern const struct backend_ops backend_uring_ops;
static const struct backend_ops backend_sync_ops, backend_null_ops, backend_ram_ops;

const char backend_names[] = "uring|sync|null|ram";

static int image_size(int fd, const struct stat *st, uint64_t *size)
{
	if (S_ISREG(st->st_mode)) {
		*size = (uint64_t)st->st_size;
		return 0;
	}
	return ioctl(fd, BLKGETSIZE64, size);
}

/* backend=ram: the whole image, read once into memory every emulation context of the disk shares. */
static int image_load(struct blk_image *img, const char *path)
{
	uint64_t done = 0;

	img->ram = mmap(NULL, img->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (img->ram == MAP_FAILED) {
		img->ram = NULL;
		return err_set("--disk %s: backend=ram cannot allocate %llu bytes", path, (unsigned long long)img->size);
	}
	while (done < img->size) {
		ssize_t n = pread(img->fd_buffered, img->ram + done, img->size - done, (off_t)done);

		if (n <= 0)
			return err_set("--disk %s: backend=ram cannot read the image: %s", path,
				       n < 0 ? strerror(errno) : "unexpected end of file");
		done += (uint64_t)n;
	}
	return 0;
}

int blk_image_open(struct blk_image *img, const struct disk_config *cfg)
{
	struct stat st;
	bool ro = cfg->ro;
	int flags;

	if (stat(cfg->path, &st) < 0)
		return err_set("--disk %s: %s", cfg->path, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return err_set("--disk %s: not a regular file or block device", cfg->path);
	if (S_ISBLK(st.st_mode) && !ro && !cfg->rw_device)
		return err_set("--disk %s: a block device is opened read-only unless ,rw-device is "
			       "given (or use ,ro)", cfg->path);
	flags = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	img->fd_buffered = open(cfg->path, flags);
	if (img->fd_buffered < 0)
		return err_set("--disk %s: %s", cfg->path, strerror(errno));
	img->fd = open(cfg->path, flags | O_DIRECT);
	if (img->fd < 0) /* a filesystem without O_DIRECT (tmpfs): buffered I/O only */
		img->fd = dup(img->fd_buffered);
	if (image_size(img->fd_buffered, &st, &img->size) < 0)
		return err_set("--disk %s: cannot read its size: %s", cfg->path, strerror(errno));
	if (img->size < SECTOR_SIZE || img->size % SECTOR_SIZE)
		return err_set("--disk %s: size %llu is not a positive multiple of %d bytes", cfg->path,
			       (unsigned long long)img->size, SECTOR_SIZE);
	if (strcmp(cfg->backend, "ram") == 0)
		return image_load(img, cfg->path);
	return 0;
}

/* O_DIRECT needs sector-aligned buffers and lengths; other requests use the buffered fd. */
int backend_fd_for(const struct blk_image *img, const struct blk_req *r)
{
	for (int i = 0; i < r->niov; i++)
		if (((uintptr_t)r->iov[i].iov_base | r->iov[i].iov_len) & (SECTOR_SIZE - 1))
			return img->fd_buffered;
	return img->fd;
}

static int nop_open(struct backend *b)
{
	(void)b;
	return 0;
}

/* preadv/pwritev until the whole request moved: short transfers are retried, EOF is an error. */
static int sync_rw(struct backend *b, struct blk_req *r)
{
	struct iovec iov[BLK_SEG_MAX];
	int fd = backend_fd_for(b->img, r), niov = r->niov, first = 0;
	uint32_t done = 0;

	memcpy(iov, r->iov, sizeof(iov[0]) * (size_t)niov);
	while (done < r->len) {
		ssize_t n = r->op == BLK_OP_READ ? preadv(fd, iov + first, niov - first, (off_t)(r->offset + done))
						 : pwritev(fd, iov + first, niov - first, (off_t)(r->offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (uint32_t)n;
		while (first < niov && (size_t)n >= iov[first].iov_len)
			n -= (ssize_t)iov[first++].iov_len;
		if (first < niov) {
			iov[first].iov_base = (uint8_t *)iov[first].iov_base + n;
			iov[first].iov_len -= (size_t)n;
		}
	}
	return (int)done;
}

static int sync_submit(struct backend *b, struct blk_req *r)
{
	if (r->op == BLK_OP_FLUSH)
		r->result = fdatasync(b->img->fd_buffered) < 0 ? -errno : 0;
	else
		r->result = sync_rw(b, r);
	return 1;
}

static void nop_kick(struct backend *b)
{
	(void)b;
}

static int nop_reap(struct backend *b, void (*done)(struct blk_req *r))
{
	(void)b, (void)done;
	return 0;
}

static int no_event_fd(struct backend *b)
{
	(void)b;
	return -1;
}

static void nop_close(struct backend *b)
{
	(void)b;
}

/* backend=null,latency=US: a device with a fixed service time, as null_blk's completion_nsec: every
 * request completes latency_ns after it started, in the order started, so requests stay in flight
 * (queue depth, a stop while the device holds requests). Requests that start together end together.
 * With ,serial one request is in service at a time: each completes latency_ns after the later of its start
 * and the completion of the one before (a device of fixed throughput, 1/latency: a deep queue completes one
 * request at a time, as a disk does in parts). A timerfd set to the oldest deadline wakes a sleeping
 * context; a polling one finds the due requests in reap. */
struct delay_line {
	int tfd;
	unsigned first, n; /* FIFO of started requests: n slots from slot first, mod depth */
	struct {
		struct blk_req *r;
		uint64_t due;
	} slot[];
};

static void delay_arm(struct backend *b)
{
	struct delay_line *d = b->priv;
	uint64_t due = d->slot[d->first].due;
	struct itimerspec t = { .it_value = { (time_t)(due / 1000000000ull), (long)(due % 1000000000ull) } };

	timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &t, NULL);
}

static int null_open(struct backend *b)
{
	struct delay_line *d;

	if (!b->latency_ns)
		return 0;
	d = calloc(1, sizeof(*d) + b->depth * sizeof(d->slot[0]));
	if (!d)
		return err_set("backend=null: out of memory");
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->tfd < 0) {
		free(d);
		return err_set("backend=null: timerfd: %s", strerror(errno));
	}
	b->priv = d;
	snprintf(b->info, sizeof(b->info), "null latency=%lluus%s", (unsigned long long)(b->latency_ns / 1000),
		 b->serial ? " serial" : "");
	return 0;
}

static int null_submit(struct backend *b, struct blk_req *r)
{
	struct delay_line *d = b->priv;

	r->result = r->op == BLK_OP_FLUSH ? 0 : (int)r->len;
	if (!d)
		return 1;
	unsigned i = (d->first + d->n) % b->depth; /* never full: depth covers every head of the queues */
	uint64_t start = mono_ns();

	if (b->serial && d->n) { /* after the one before it */
		uint64_t before = d->slot[(i + b->depth - 1) % b->depth].due;

		start = before > start ? before : start;
	}
	d->slot[i].r = r;
	d->slot[i].due = start + b->latency_ns;
	if (d->n++ == 0)
		delay_arm(b);
	return 0;
}

static int null_reap(struct backend *b, void (*done)(struct blk_req *r))
{
	struct delay_line *d = b->priv;
	uint64_t now;
	int n = 0;

	if (!d || !d->n)
		return 0;
	now = mono_ns();
	for (; d->n && d->slot[d->first].due <= now; d->first = (d->first + 1) % b->depth, d->n--, n++)
		done(d->slot[d->first].r);
	if (n && d->n)
		delay_arm(b);
	return n;
}

static int null_event_fd(struct backend *b)
{
	struct delay_line *d = b->priv;

	return d ? d->tfd : -1;
}

static void null_close(struct backend *b)
{
	struct delay_line *d = b->priv;

	if (!d)
		return;
	close(d->tfd);
	free(d);
	b->priv = NULL;
}

static int ram_submit(struct backend *b, struct blk_req *r)
{
	uint64_t off = r->offset;

	for (int i = 0; i < r->niov; i++) {
		if (r->op == BLK_OP_READ)
			memcpy(r->iov[i].iov_base, b->img->ram + off, r->iov[i].iov_len);
		else if (r->op == BLK_OP_WRITE)
			memcpy(b->img->ram + off, r->iov[i].iov_base, r->iov[i].iov_len);
		off += r->iov[i].iov_len;
	}
	r->result = r->op == BLK_OP_FLUSH ? 0 : (int)r->len;
	return 1;
}

static const struct backend_ops backend_sync_ops = {
	.name = "sync", .open = nop_open, .submit = sync_submit, .kick = nop_kick, .reap = nop_reap,
	.event_fd = no_event_fd, .close = nop_close,
};
static const struct backend_ops backend_null_ops = {
	.name = "null", .open = null_open, .submit = null_submit, .kick = nop_kick, .reap = null_reap,
	.event_fd = null_event_fd, .close = null_close,
};
static const struct backend_ops backend_ram_ops = {
	.name = "ram", .open = nop_open, .submit = ram_submit, .kick = nop_kick, .reap = nop_reap,
	.event_fd = no_event_fd, .close = nop_close,
};

const struct backend_ops *backend_find(const char *name)
{
	static const struct backend_ops *const all[] = {
		&backend_uring_ops, &backend_sync_ops, &backend_null_ops, &backend_ram_ops,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

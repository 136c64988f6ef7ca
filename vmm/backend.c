/* backend.c - opening a disk's image, and the synchronous backends: sync (preadv/pwritev),
 * null (no data movement) and ram (an in-memory copy of the image). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev.h"

extern const struct backend_ops backend_uring_ops;

static int image_size(int fd, const struct stat *st, uint64_t *size)
{
	if (S_ISREG(st->st_mode)) {
		*size = (uint64_t)st->st_size;
		return 0;
	}
	return ioctl(fd, BLKGETSIZE64, size);
}

int backend_open_image(struct backend *b, const struct disk_config *cfg)
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
	b->fd_buffered = open(cfg->path, flags);
	if (b->fd_buffered < 0)
		return err_set("--disk %s: %s", cfg->path, strerror(errno));
	b->fd = open(cfg->path, flags | O_DIRECT);
	if (b->fd < 0) /* a filesystem without O_DIRECT (tmpfs): buffered I/O only */
		b->fd = dup(b->fd_buffered);
	if (image_size(b->fd_buffered, &st, &b->size) < 0)
		return err_set("--disk %s: cannot read its size: %s", cfg->path, strerror(errno));
	if (b->size < SECTOR_SIZE || b->size % SECTOR_SIZE)
		return err_set("--disk %s: size %llu is not a positive multiple of %d bytes", cfg->path,
			       (unsigned long long)b->size, SECTOR_SIZE);
	return 0;
}

/* O_DIRECT needs sector-aligned buffers and lengths; other requests use the buffered fd. */
int backend_fd_for(const struct backend *b, const struct blk_req *r)
{
	for (int i = 0; i < r->niov; i++)
		if (((uintptr_t)r->iov[i].iov_base | r->iov[i].iov_len) & (SECTOR_SIZE - 1))
			return b->fd_buffered;
	return b->fd;
}

static int sync_open(struct backend *b)
{
	(void)b;
	return 0;
}

/* preadv/pwritev until the whole request moved: short transfers are retried, EOF is an error. */
static int sync_rw(struct backend *b, struct blk_req *r)
{
	struct iovec iov[VQ_MAX_SIZE];
	int fd = backend_fd_for(b, r), niov = r->niov, first = 0;
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
		r->result = fdatasync(b->fd_buffered) < 0 ? -errno : 0;
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

static int null_submit(struct backend *b, struct blk_req *r)
{
	(void)b;
	r->result = r->op == BLK_OP_FLUSH ? 0 : (int)r->len;
	return 1;
}

static int ram_open(struct backend *b)
{
	uint64_t done = 0;

	b->ram = malloc(b->size);
	if (!b->ram)
		return err_set("backend=ram: cannot allocate %llu bytes", (unsigned long long)b->size);
	while (done < b->size) {
		ssize_t n = pread(b->fd_buffered, b->ram + done, b->size - done, (off_t)done);

		if (n <= 0)
			return err_set("backend=ram: cannot read the image: %s",
				       n < 0 ? strerror(errno) : "unexpected end of file");
		done += (uint64_t)n;
	}
	return 0;
}

static int ram_submit(struct backend *b, struct blk_req *r)
{
	uint64_t off = r->offset;

	for (int i = 0; i < r->niov; i++) {
		if (r->op == BLK_OP_READ)
			memcpy(r->iov[i].iov_base, b->ram + off, r->iov[i].iov_len);
		else if (r->op == BLK_OP_WRITE)
			memcpy(b->ram + off, r->iov[i].iov_base, r->iov[i].iov_len);
		off += r->iov[i].iov_len;
	}
	r->result = r->op == BLK_OP_FLUSH ? 0 : (int)r->len;
	return 1;
}

static void ram_close(struct backend *b)
{
	free(b->ram);
	b->ram = NULL;
}

static const struct backend_ops backend_sync_ops = {
	"sync", sync_open, sync_submit, nop_kick, nop_reap, no_event_fd, nop_close,
};
static const struct backend_ops backend_null_ops = {
	"null", sync_open, null_submit, nop_kick, nop_reap, no_event_fd, nop_close,
};
static const struct backend_ops backend_ram_ops = {
	"ram", ram_open, ram_submit, nop_kick, nop_reap, no_event_fd, ram_close,
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

/* backend_uring.c - the default backend: io_uring (liburing) on the image opened O_DIRECT, with every
 * request of the context's queues in flight. Guest RAM is registered once as fixed buffers and the image
 * as fixed files, so a request pins no pages and takes no file reference (the fixed opcodes), falling
 * back to the plain ones where the kernel refuses the registration or a request spans several buffers.
 * Completions also signal an eventfd, so an idle emulation context can sleep. */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blk.h"

#define FIXED_CHUNK (1ull << 30) /* the largest buffer io_uring registers */
#define MAX_CHUNKS 4            /* guest RAM is at most 3 GiB */
#define FILE_DIRECT 0           /* fixed file indices */
#define FILE_BUFFERED 1

struct uring {
	struct io_uring ring;
	int efd;
	unsigned queued;       /* SQEs prepared since the last kick */
	bool fixed_bufs;       /* guest RAM is registered, in chunks of FIXED_CHUNK */
	bool fixed_files;      /* the image's fds are registered */
	uint8_t *ram;          /* guest RAM in this process */
	uint64_t ram_size;
};

/* Registers guest RAM (fixed buffers) and the image (fixed files); either may be refused (an old kernel,
 * a memlock limit): the backend then uses the plain opcodes for it. */
static void uring_register(struct uring *u, const struct backend *b)
{
	struct iovec iov[MAX_CHUNKS];
	int fds[2] = { b->img->fd, b->img->fd_buffered }, n = 0;

	u->ram = b->mem->host;
	u->ram_size = b->mem->size;
	for (uint64_t off = 0; off < u->ram_size && n < MAX_CHUNKS; off += FIXED_CHUNK, n++)
		iov[n] = (struct iovec){ u->ram + off, u->ram_size - off < FIXED_CHUNK ? u->ram_size - off : FIXED_CHUNK };
	u->fixed_bufs = io_uring_register_buffers(&u->ring, iov, (unsigned)n) == 0;
	u->fixed_files = io_uring_register_files(&u->ring, fds, 2) == 0;
}

static int uring_open(struct backend *b)
{
	struct uring *u = calloc(1, sizeof(*u));
	int rc;

	if (!u)
		return err_set("backend=uring: out of memory");
	rc = io_uring_queue_init(b->depth, &u->ring, 0);
	if (rc < 0) {
		free(u);
		return err_set("backend=uring: io_uring_queue_init: %s", strerror(-rc));
	}
	u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->efd < 0 || io_uring_register_eventfd(&u->ring, u->efd) < 0) {
		io_uring_queue_exit(&u->ring);
		free(u);
		return err_set("backend=uring: cannot register an eventfd");
	}
	uring_register(u, b);
	snprintf(b->info, sizeof(b->info), "uring%s%s", u->fixed_bufs ? " fixed-buffers" : "",
		 u->fixed_files ? " fixed-files" : "");
	b->priv = u;
	return 0;
}

static void uring_kick(struct backend *b)
{
	struct uring *u = b->priv;

	if (u->queued) {
		io_uring_submit(&u->ring);
		u->queued = 0;
	}
}

/* The registered buffer holding [p, p+len), or -1. */
static int fixed_index(const struct uring *u, const void *p, size_t len)
{
	uint64_t off = (uint64_t)((const uint8_t *)p - u->ram);

	if (!u->fixed_bufs || (const uint8_t *)p < u->ram || off >= u->ram_size)
		return -1;
	return off / FIXED_CHUNK == (off + len - 1) / FIXED_CHUNK ? (int)(off / FIXED_CHUNK) : -1;
}

static void prep_rw(struct uring *u, struct io_uring_sqe *sqe, const struct backend *b, struct blk_req *r)
{
	int fd = backend_fd_for(b->img, r);
	int file = u->fixed_files ? (fd == b->img->fd ? FILE_DIRECT : FILE_BUFFERED) : fd;
	int buf = r->niov == 1 ? fixed_index(u, r->iov[0].iov_base, r->iov[0].iov_len) : -1;

	if (buf >= 0 && r->op == BLK_OP_READ)
		io_uring_prep_read_fixed(sqe, file, r->iov[0].iov_base, (unsigned)r->iov[0].iov_len, r->offset, buf);
	else if (buf >= 0)
		io_uring_prep_write_fixed(sqe, file, r->iov[0].iov_base, (unsigned)r->iov[0].iov_len, r->offset, buf);
	else if (r->op == BLK_OP_READ)
		io_uring_prep_readv(sqe, file, r->iov, (unsigned)r->niov, r->offset);
	else
		io_uring_prep_writev(sqe, file, r->iov, (unsigned)r->niov, r->offset);
	if (u->fixed_files)
		sqe->flags |= IOSQE_FIXED_FILE;
}

static int uring_submit(struct backend *b, struct blk_req *r)
{
	struct uring *u = b->priv;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) { /* the SQ is full: hand what is queued to the kernel and retry */
		uring_kick(b);
		sqe = io_uring_get_sqe(&u->ring);
		BUG_ON(!sqe);
	}
	if (r->op == BLK_OP_FLUSH) {
		io_uring_prep_fsync(sqe, u->fixed_files ? FILE_DIRECT : b->img->fd, IORING_FSYNC_DATASYNC);
		if (u->fixed_files)
			sqe->flags |= IOSQE_FIXED_FILE;
	} else {
		prep_rw(u, sqe, b, r);
	}
	io_uring_sqe_set_data(sqe, r);
	u->queued++;
	return 0;
}

static int uring_reap(struct backend *b, void (*done)(struct blk_req *r))
{
	struct uring *u = b->priv;
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe) {
		struct blk_req *r = io_uring_cqe_get_data(cqe);

		r->result = cqe->res;
		done(r);
		n++;
	}
	io_uring_cq_advance(&u->ring, n);
	return (int)n;
}

static int uring_event_fd(struct backend *b)
{
	return ((struct uring *)b->priv)->efd;
}

static void uring_close(struct backend *b)
{
	struct uring *u = b->priv;

	if (!u)
		return;
	io_uring_queue_exit(&u->ring);
	close(u->efd);
	free(u);
	b->priv = NULL;
}

const struct backend_ops backend_uring_ops = {
	.name = "uring", .open = uring_open, .submit = uring_submit, .kick = uring_kick, .reap = uring_reap,
	.event_fd = uring_event_fd, .close = uring_close,
};

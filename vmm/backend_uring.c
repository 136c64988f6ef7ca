/* backend_uring.c - the default backend: io_uring (liburing) on the image opened O_DIRECT, with
 * many requests in flight; completions signal an eventfd so an idle emulation context can sleep. */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blk.h"

#define URING_ENTRIES VQ_MAX_SIZE

struct uring {
	struct io_uring ring;
	int efd;
	unsigned queued; /* SQEs prepared since the last kick */
};

static int uring_open(struct backend *b)
{
	struct uring *u = calloc(1, sizeof(*u));
	int rc;

	if (!u)
		return err_set("backend=uring: out of memory");
	rc = io_uring_queue_init(URING_ENTRIES, &u->ring, 0);
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

static int uring_submit(struct backend *b, struct blk_req *r)
{
	struct uring *u = b->priv;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) { /* the SQ is full: hand what is queued to the kernel and retry */
		uring_kick(b);
		sqe = io_uring_get_sqe(&u->ring);
		BUG_ON(!sqe);
	}
	if (r->op == BLK_OP_FLUSH)
		io_uring_prep_fsync(sqe, b->img->fd, IORING_FSYNC_DATASYNC);
	else if (r->op == BLK_OP_READ)
		io_uring_prep_readv(sqe, backend_fd_for(b->img, r), r->iov, (unsigned)r->niov, r->offset);
	else
		io_uring_prep_writev(sqe, backend_fd_for(b->img, r), r->iov, (unsigned)r->niov, r->offset);
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

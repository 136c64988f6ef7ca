/* emu.c - device emulation contexts and the hand-off to them.
 *
 * A context serves some queues of one device (all of them, or one: --emulation-contexts). Heads arrive
 * through each queue's SPSC ring; the producer (the IOCore, or the vCPU thread with request=exit) writes
 * the context's wake eventfd only when it sleeps.
 *   thread:  the context is a thread of the VMM;
 *   process: a forked device process sharing guest RAM (the memfd mapping) and the device state
 *            (MAP_SHARED); every hand-off also goes through the eventfd, a kernel-mediated wake-up as in
 *            a QEMU- or dom0-style split;
 *   inline:  the IOCore runs the context itself between its passes over the rings (iocore.c).
 *
 * The sleep protocol (no lost wake-up): the consumer sets `sleeping`, fences, re-checks the rings,
 * then blocks; the producer publishes the ring head, fences, then reads `sleeping`. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "virtio.h"

static bool ring_empty(const struct vqueue *q)
{
	return atomic_load_explicit(&q->ring.head, memory_order_acquire) ==
	       atomic_load_explicit(&q->ring.tail, memory_order_relaxed);
}

static bool rings_empty(const struct emu_ctx *c)
{
	for (int i = 0; i < c->nq; i++)
		if (!ring_empty(c->q[i]))
			return false;
	return true;
}

static void drain_fd(int fd)
{
	uint64_t v;

	if (fd >= 0 && read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
}

static const char *const ctx_names[] = { EMU_CTX_COUNTERS(COUNTER_NAME) POLLWIN_COUNTERS(COUNTER_NAME, COUNTER_NAME) };
static const bool ctx_gauge[] = { EMU_CTX_COUNTERS(COUNTER_NOT_GAUGE)
				  POLLWIN_COUNTERS(COUNTER_NOT_GAUGE, COUNTER_GAUGE) };
static const struct counter_table ctx_table = { ctx_names, ctx_gauge, ECC_COUNT + PWC_COUNT };

static void ctx_read(const void *obj, uint64_t *out)
{
	const struct emu_ctx *c = obj;

	for (int i = 0; i < ECC_COUNT; i++)
		out[i] = atomic_load_explicit(&c->n[i], memory_order_relaxed);
	pollwin_counters_read(&c->win, out + ECC_COUNT);
}

struct counter_set emu_ctx_counters(const struct emu_ctx *c)
{
	return (struct counter_set){ &ctx_table, ctx_read, c };
}

struct emu_ctx *emu_ctx_create(int index, const struct emu_mode *mode, struct vqueue **q, int nq)
{
	struct emu_ctx *c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (c == MAP_FAILED)
		return err_set("cannot allocate an emulation context: %s", strerror(errno)), NULL;
	c->index = index;
	c->mode = mode;
	c->dev = q[0]->dev;
	c->nq = nq;
	c->cpu = -1;
	for (int i = 0; i < nq; i++) {
		c->q[i] = q[i];
		q[i]->ctx = c;
	}
	c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->wake_fd < 0)
		return err_set("eventfd: %s", strerror(errno)), NULL;
	return c;
}

/* Starts every head the producer handed over on q. Returns how many. */
static int take(struct emu_ctx *c, struct vqueue *q)
{
	uint32_t tail = atomic_load_explicit(&q->ring.tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&q->ring.head, memory_order_acquire);
	int n = 0;

	for (; tail != head; tail++, n++)
		if (!atomic_load_explicit(&c->dev->broken, memory_order_relaxed)) /* else dropped: reset needed */
			c->dev->ops->start(c, q, q->ring.slot[tail & (SPSC_SIZE - 1)]);
	atomic_store_explicit(&q->ring.tail, tail, memory_order_release);
	return n;
}

static void flush_all(struct emu_ctx *c)
{
	for (int i = 0; i < c->nq; i++)
		virtio_queue_flush(c->q[i]);
}

int emu_ctx_service(struct emu_ctx *c)
{
	int work = 0;

	for (int i = 0; i < c->nq; i++)
		work += take(c, c->q[i]);
	work += c->dev->ops->ctx_poll(c);
	if (work)
		flush_all(c);
	return work;
}

int emu_ctx_inflight(const struct emu_ctx *c)
{
	int n = 0;

	for (int i = 0; i < c->nq; i++)
		for (int h = 0; h < VQ_MAX_SIZE; h++)
			n += c->q[i]->inflight[h];
	return n;
}

static void emu_idle(struct emu_ctx *c)
{
	struct pollfd p[2] = { { c->wake_fd, POLLIN, 0 }, { c->dev->ops->ctx_event_fd(c), POLLIN, 0 } };

	atomic_store(&c->sleeping, 1);
	smp_mb();
	if (rings_empty(c) && !atomic_load(&c->stop)) {
		poll(p, p[1].fd >= 0 ? 2 : 1, -1);
		atomic_fetch_add(&c->n[ECC_wakeups], 1);
	}
	atomic_store(&c->sleeping, 0);
	drain_fd(c->wake_fd);
	drain_fd(p[1].fd);
}

/* What context c (an emu_ctx) waits for (pollwin_expired). */
static void emu_looks(const void *arg, struct pollwin_look *l)
{
	const struct emu_ctx *c = arg;

	queues_look(c->q, c->nq, l);
}

/* Serves until stopped. An emulation thread on a CPU of its own polls its rings and its backend for its
 * window (--poll-us: fixed, adaptive, or never ending) after the last work, then sleeps; a device process,
 * or a context sharing the IOCore's CPU, has a window of 0: it sleeps at once. The clock is read only where
 * an idle period starts and ends, and never when the window never ends. */
static void emu_loop(struct emu_ctx *c)
{
	while (!atomic_load(&c->stop)) {
		if (emu_ctx_service(c))
			pollwin_busy(&c->win);
		else if (!pollwin_expired(&c->win, emu_looks, c))
			__builtin_ia32_pause();
		else
			emu_idle(c); /* the next round takes what woke it, and ends the idle period */
	}
}

/* Stopping: requests the backend already has finish (complete or fail) and their status reaches
 * the guest's ring, so no write is left half-done without a status. Bounded by a 10 s wait. Runs in
 * the thread that served the context (its own, its process's, or the IOCore's for inline), under
 * that thread's allowlist. */
void emu_drain(struct emu_ctx *c)
{
	struct pollfd p = { c->dev->ops->ctx_event_fd(c), POLLIN, 0 };

	for (int waits = 0; emu_ctx_inflight(c) && waits < 1000;) {
		if (c->dev->ops->ctx_poll(c)) {
			flush_all(c);
		} else {
			poll(&p, p.fd >= 0 ? 1 : 0, 10);
			drain_fd(p.fd);
			waits++;
		}
	}
}

/* A context that shares the IOCore's CPU runs at the lowest real-time priority: it sleeps
 * between bursts, and when its ring or its backend wakes it, it preempts the polling IOCore at once
 * instead of waiting for the IOCore to yield (or for an unrelated process to finish its slice). */
static void emu_set_realtime(struct emu_ctx *c)
{
	struct sched_param p = { .sched_priority = 1 };

	if (c->realtime)
		atomic_store(&c->rt_ok, sched_setscheduler(0, SCHED_FIFO, &p) == 0);
}

static void *emu_thread(void *arg)
{
	struct emu_ctx *c = arg;

	c->tid = gettid();
	emu_set_realtime(c);
	if (sandbox_enter(SANDBOX_EMU_THREAD) < 0)
		die(VMM_EXIT_FAILURE, "emulation thread: %s", err_msg());
	emu_loop(c);
	emu_drain(c);
	return NULL;
}

int emu_thread_start(struct emu_ctx *c)
{
	if (c->dev->ops->ctx_open(c) < 0)
		return -1;
	if (pthread_create(&c->thread, NULL, emu_thread, c) != 0)
		return err_set("cannot start the emulation thread");
	while (!atomic_load(&c->tid)) /* its id, for CPU accounting, before anyone asks */
		sched_yield();
	if (c->cpu >= 0)
		pin_thread(c->thread, c->cpu);
	return 0;
}

static void wake(struct emu_ctx *c)
{
	uint64_t one = 1;

	if (write(c->wake_fd, &one, sizeof(one)) < 0)
		perror("vmm: waking the emulation context");
}

void emu_thread_stop(struct emu_ctx *c)
{
	atomic_store(&c->stop, 1);
	wake(c);
	if (c->thread) {
		pthread_join(c->thread, NULL);
		c->thread = 0;
	}
	c->dev->ops->ctx_close(c);
}

/* The device process: drops what it does not need, opens its backend, serves until stopped. */
static void emu_process(struct emu_ctx *c)
{
	struct virtio_dev *d = c->dev;
	int keep[VIRTIO_KEEP_FDS + 1], n = 0;
	char name[16];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(name, sizeof(name), "exitless-dev%d", c->index);
	prctl(PR_SET_NAME, name);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	if (c->cpu >= 0)
		pin_self(c->cpu);
	emu_set_realtime(c);
	keep[n++] = c->wake_fd;
	for (int i = 0; i < d->nkeep; i++)
		keep[n++] = d->keep_fds[i];
	sandbox_close_fds(keep, n);
	if (d->ops->ctx_open(c) < 0 || sandbox_enter(SANDBOX_DEVICE_PROCESS) < 0) {
		fprintf(stderr, "vmm: device process: %s\n", err_msg());
		_exit(VMM_EXIT_FAILURE);
	}
	emu_loop(c);
	emu_drain(c);
	d->ops->ctx_close(c);
	_exit(0);
}

int emu_process_start(struct emu_ctx *c)
{
	/* fork()'s result goes to a local: `c` is shared memory, and the child's 0 must not overwrite
	 * the parent's pid there. */
	pid_t pid = fork();

	if (pid < 0)
		return err_set("cannot start the device process: %s", strerror(errno));
	if (pid == 0)
		emu_process(c);
	c->pid = pid;
	c->tid = pid;
	return 0;
}

void emu_process_stop(struct emu_ctx *c)
{
	atomic_store(&c->stop, 1);
	wake(c);
	if (c->pid > 0) {
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
		c->pid = 0;
	}
}

int emu_ctx_start(struct emu_ctx *c)
{
	if (c->mode->start)
		return c->mode->start(c);
	return c->dev->ops->ctx_open(c); /* inline: the IOCore serves it with its backend open here */
}

void emu_ctx_stop(struct emu_ctx *c)
{
	if (c->mode->stop) {
		c->mode->stop(c);
		return;
	}
	c->dev->ops->ctx_close(c); /* inline: the IOCore drained it before it stopped */
}

int emu_handoff(struct vqueue *q)
{
	uint32_t head = atomic_load_explicit(&q->ring.head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&q->ring.tail, memory_order_acquire);
	int pending = vq_avail_pending(&q->vq), n = 0;
	struct emu_ctx *c = q->ctx;

	if (pending < 0) {
		virtio_dev_broken(q->dev, q, "the avail index moved more than the queue size");
		return 0;
	}
	for (; n < pending && head - tail < SPSC_SIZE; n++, head++)
		q->ring.slot[head & (SPSC_SIZE - 1)] = vq_pop(&q->vq);
	if (!n)
		return 0;
	atomic_fetch_add_explicit(&q->outstanding, n, memory_order_relaxed); /* before the context can complete them */
	atomic_store_explicit(&q->ring.head, head, memory_order_release);
	smp_mb(); /* head store -> sleeping load: pairs with the fence in emu_idle() */
	if (c->mode->always_wake || atomic_load(&c->sleeping))
		wake(c);
	return n;
}

void emu_queue_ready(struct virtio_dev *d, struct vqueue *q)
{
	(void)d;
	atomic_store(&q->outstanding, 0); /* a queue is made ready with nothing in flight (a reset quiesced it) */
	vq_set_notify(&q->vq, iocore_initial_notify());
	atomic_store_explicit(&q->active, 1, memory_order_release);
}

void emu_notify(struct virtio_dev *d, struct vqueue *q)
{
	(void)d;
	atomic_fetch_add(&q->c.notifies, 1);
	if (atomic_load(&q->active))
		emu_handoff(q);
}

static bool queue_drained(const struct vqueue *q)
{
	for (int h = 0; h < VQ_MAX_SIZE; h++)
		if (q->inflight[h])
			return false;
	return ring_empty(q);
}

bool emu_quiesce(struct virtio_dev *d, struct vqueue *q)
{
	(void)d;
	atomic_store(&q->active, 0); /* seq_cst: pairs with the IOCore's popping store */
	while (atomic_load(&q->popping))
		__builtin_ia32_pause();
	/* The emulation context keeps serving what it was handed: wait until it has taken every
	 * head and completed every request. */
	for (int i = 0; i < 500000; i++) {
		if (queue_drained(q))
			return true;
		usleep(10);
	}
	return false;
}

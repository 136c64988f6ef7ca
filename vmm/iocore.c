/* iocore.c - the IOCore: one host thread that dequeues requests from the avail ring of every queue of
 * every disk and hands them to the queues' emulation contexts, or (--emulation inline) runs those
 * contexts itself, submitting to the backend and reaping its completions between passes.
 *
 * request=exitless: the driver's notifications stay suppressed and the IOCore polls the rings.
 * With --poll-us N (or adaptive, a window moved by the traffic: pollwin.c) it goes to sleep after that
 * long without work, in the order spin -> enable notifications -> fence -> re-check the rings -> block
 * on the ioeventfds, so a request published just before notifications came back on is never missed.
 * request=ioeventfd: the IOCore blocks on the ioeventfds (KVM signals them in-kernel on a QueueNotify
 * write) and drains the rings. With
 * request=exit the vCPU thread pops the rings, and the IOCore exists only to run inline contexts. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio.h"

#define MAX_WATCH (VMM_MAX_DISKS * VIRTIO_MAX_QUEUES * 2 + 1)

/* What an epoll event stands for: a queue's notify eventfd, or any other fd to drain. */
struct watch {
	int fd;
	struct vqueue *q;
};

static struct {
	struct iocore_config cfg;
	int epfd, stop_fd;
	_Atomic int stop;
	pthread_t thread;
	_Atomic pid_t tid;
	struct watch w[MAX_WATCH];
	int nw;
	_Atomic uint64_t n[IOC_COUNT];
	struct pollwin win; /* the poll loop's idle window */
} io = { .epfd = -1, .stop_fd = -1 };

#define COUNT(name, k) atomic_fetch_add_explicit(&io.n[IOC_##name], (k), memory_order_relaxed)

bool iocore_needed(const struct request_mode *req, const struct emu_mode *emu)
{
	return req->ioeventfd || emu->on_iocore;
}

bool iocore_initial_notify(void)
{
	/* Notifications start on, except with an IOCore that never sleeps (request=exitless,
	 * --poll-us 0): an IOCore that may be asleep turns them off when it next polls, and until
	 * then the driver's first kick (an ioeventfd) is what wakes it. */
	return !(io.cfg.req && io.cfg.req->polls && io.cfg.poll.kind == POLL_NEVER_SLEEP);
}

static bool queue_active(struct vqueue *q)
{
	return atomic_load_explicit(&q->active, memory_order_acquire);
}

/* True when every emulation context on the IOCore's CPU runs at real-time priority, so a woken one
 * preempts the IOCore by itself and the IOCore need not yield its CPU (which would hand it to any
 * other runnable process for a whole time slice). */
static bool contexts_preempt(void)
{
	for (int i = 0; i < io.cfg.nqueues; i++) {
		struct emu_ctx *c = io.cfg.queues[i]->ctx;

		if (!c->mode->on_iocore && !atomic_load_explicit(&c->rt_ok, memory_order_relaxed))
			return false;
	}
	return true;
}

/* One pass over every queue, then over the inline contexts. Returns the work found. `polling`: the
 * IOCore is polling, so notifications are turned off on any queue that has them on: a queue activated
 * since the last pass (queues start with notifications on, so a kick can wake a sleeping IOCore), or
 * one re-armed before the last sleep. */
static int iocore_pass(bool polling)
{
	int work = 0, handed = 0;

	for (int i = 0; i < io.cfg.nqueues; i++) {
		struct vqueue *q = io.cfg.queues[i];

		/* `popping` tells a reset on the vCPU thread that this pass is using the queue: set
		 * before `active` is read (seq_cst: store -> load), cleared when done. */
		atomic_store(&q->popping, 1);
		if (queue_active(q)) {
			if (polling && q->vq.notify)
				vq_set_notify(&q->vq, false);
			handed += emu_handoff(q);
		}
		atomic_store_explicit(&q->popping, 0, memory_order_release);
	}
	if (handed)
		COUNT(handoffs, (uint64_t)handed);
	for (int i = 0; i < io.cfg.ninline; i++)
		work += emu_ctx_service(io.cfg.inline_ctx[i]);
	/* On a machine with fewer cores than busy threads an emulation context may share this CPU:
	 * give it the CPU now instead of spinning on top of it (a real-time context has preempted us
	 * already when the hand-off woke it). */
	if (handed && io.cfg.share_cpu && !contexts_preempt())
		sched_yield();
	return work + handed;
}

/* Blocks until a notify, an inline context's wake-up or backend completion, or stop; counts the kicks. */
static void iocore_wait(void)
{
	struct epoll_event ev[MAX_WATCH];
	int n = epoll_wait(io.epfd, ev, MAX_WATCH, -1);

	for (int i = 0; i < n; i++) {
		struct watch *w = ev[i].data.ptr;
		uint64_t kicks = 0;

		if (read(w->fd, &kicks, sizeof(kicks)) == sizeof(kicks) && w->q)
			atomic_fetch_add(&w->q->c.notifies, kicks);
	}
	COUNT(wakeups, 1);
}

static void set_sleeping(int on)
{
	for (int i = 0; i < io.cfg.ninline; i++)
		atomic_store(&io.cfg.inline_ctx[i]->sleeping, on);
}

/* Idle: tell the producers of inline contexts we may sleep, fence, re-check everything, then block.
 * Returns the work the re-check found (then it did not sleep). */
static int iocore_idle(void)
{
	int work;

	set_sleeping(1);
	smp_mb();
	work = iocore_pass(false);
	if (work == 0 && !atomic_load(&io.stop)) {
		COUNT(sleeps, 1);
		iocore_wait();
	}
	set_sleeping(0);
	return work;
}

static void set_notify_all(bool enable)
{
	for (int i = 0; i < io.cfg.nqueues; i++)
		if (queue_active(io.cfg.queues[i]))
			vq_set_notify(&io.cfg.queues[i]->vq, enable);
}

/* Nothing to do and the window not over: spin on, unless an emulation context woken by its backend may
 * be waiting for this CPU (spinning would starve it until the scheduler preempts us: ms). */
static void iocore_spin(void)
{
	if (io.cfg.share_cpu && !contexts_preempt())
		sched_yield();
	else
		__builtin_ia32_pause();
}

/* What the IOCore waits for (pollwin_expired). */
static void iocore_looks(const void *unused, struct pollwin_look *l)
{
	(void)unused;
	queues_look(io.cfg.queues, io.cfg.nqueues, l);
}

/* Polls the rings; with a window (--poll-us N or adaptive) an idle period that outlasts it ends in a
 * sleep: spin -> arm (notifications on) -> re-check (iocore_idle, after a fence) -> block. The clock is
 * read only where an idle period starts and ends, and never with --poll-us 0. */
static void iocore_poll_loop(void)
{
	while (!atomic_load(&io.stop)) {
		COUNT(polls, 1);
		if (iocore_pass(true)) {
			COUNT(busy_polls, 1);
			pollwin_busy(&io.win);
		} else if (!pollwin_expired(&io.win, iocore_looks, NULL)) {
			iocore_spin();
		} else {
			set_notify_all(true);
			if (iocore_idle()) /* the re-check found work: the idle period ends there */
				pollwin_busy(&io.win);
		}
	}
}

static void iocore_event_loop(void)
{
	while (!atomic_load(&io.stop)) {
		while (iocore_pass(false))
			COUNT(busy_polls, 1);
		iocore_idle();
	}
}

static void *iocore_main(void *arg)
{
	(void)arg;
	io.tid = gettid();
	if (sandbox_enter(SANDBOX_IOCORE) < 0)
		die(VMM_EXIT_FAILURE, "IOCore: %s", err_msg());
	if (io.cfg.req->polls)
		iocore_poll_loop();
	else
		iocore_event_loop();
	for (int i = 0; i < io.cfg.ninline; i++)
		emu_drain(io.cfg.inline_ctx[i]); /* what the backends of its inline contexts still hold */
	return NULL;
}

static int watch_fd(int fd, struct vqueue *q)
{
	struct watch *w = &io.w[io.nw];
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

	if (fd < 0)
		return 0;
	if (io.nw == MAX_WATCH)
		return err_set("IOCore: too many file descriptors to watch");
	*w = (struct watch){ fd, q };
	io.nw++;
	return epoll_ctl(io.epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? err_set("IOCore: epoll: %s", strerror(errno)) : 0;
}

static int watch_all(void)
{
	if (watch_fd(io.stop_fd, NULL) < 0)
		return -1;
	for (int i = 0; i < io.cfg.nqueues; i++)
		if (watch_fd(io.cfg.queues[i]->notify_fd, io.cfg.queues[i]) < 0)
			return -1;
	for (int i = 0; i < io.cfg.ninline; i++) {
		struct emu_ctx *c = io.cfg.inline_ctx[i];

		if (watch_fd(c->wake_fd, NULL) < 0 || watch_fd(c->dev->ops->ctx_event_fd(c), NULL) < 0)
			return -1;
	}
	return 0;
}

/* Every queue's emulation runs on the IOCore: its sleep ends with their backends' completions (watch_all). */
static bool all_inline(void)
{
	for (int i = 0; i < io.cfg.nqueues; i++)
		if (!io.cfg.queues[i]->ctx->mode->on_iocore)
			return false;
	return true;
}

int iocore_start(const struct iocore_config *cfg)
{
	io.cfg = *cfg;
	pollwin_init(&io.win, &cfg->poll, all_inline());
	io.epfd = epoll_create1(EPOLL_CLOEXEC);
	io.stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (io.epfd < 0 || io.stop_fd < 0)
		return err_set("IOCore: %s", strerror(errno));
	if (watch_all() < 0)
		return -1;
	if (pthread_create(&io.thread, NULL, iocore_main, NULL) != 0)
		return err_set("cannot start the IOCore thread");
	while (!atomic_load(&io.tid)) /* its id, for CPU accounting, before anyone asks */
		sched_yield();
	if (cfg->cpu >= 0)
		pin_thread(io.thread, cfg->cpu);
	return 0;
}

void iocore_stop(void)
{
	uint64_t one = 1;

	if (!io.thread)
		return;
	atomic_store(&io.stop, 1);
	if (write(io.stop_fd, &one, sizeof(one)) < 0)
		return;
	pthread_join(io.thread, NULL);
	io.thread = 0;
	close(io.epfd);
	close(io.stop_fd);
}

static const char *const iocore_names[] = { IOCORE_COUNTERS(COUNTER_NAME)
					    POLLWIN_COUNTERS(COUNTER_NAME, COUNTER_NAME) };
static const bool iocore_gauge[] = { IOCORE_COUNTERS(COUNTER_NOT_GAUGE)
				     POLLWIN_COUNTERS(COUNTER_NOT_GAUGE, COUNTER_GAUGE) };
static const struct counter_table iocore_table = { iocore_names, iocore_gauge, IOC_COUNT + PWC_COUNT };

static void iocore_read(const void *obj, uint64_t *out)
{
	(void)obj;
	for (int i = 0; i < IOC_COUNT; i++)
		out[i] = atomic_load_explicit(&io.n[i], memory_order_relaxed);
	pollwin_counters_read(&io.win, out + IOC_COUNT);
}

struct counter_set iocore_counters(void)
{
	return (struct counter_set){ &iocore_table, iocore_read, NULL };
}

pid_t iocore_tid(void)
{
	return io.tid;
}

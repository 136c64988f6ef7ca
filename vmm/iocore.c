/* iocore.c - the IOCore: one host thread that dequeues requests from the avail ring of every
 * disk and hands them to the disks' emulation contexts.
 *
 * request=exitless: the driver's notifications stay suppressed and the IOCore polls the rings.
 * With --poll-us N it goes to sleep after N µs without work, in the order spin -> enable
 * notifications -> fence -> re-check the rings -> block on the ioeventfds, so a request published
 * just before notifications came back on is never missed. request=ioeventfd: the IOCore blocks on
 * the ioeventfds (KVM signals them in-kernel on a QueueNotify write) and drains the rings. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "dev.h"

static struct {
	struct blk_dev **disks;
	int n;
	enum request_mode mode;
	long poll_us;
	bool share_cpu; /* an emulation context may run on the IOCore's CPU */
	int epfd, stop_fd;
	_Atomic int stop;
	pthread_t thread;
	pid_t tid;
	struct iocore_stats st;
} io = { .epfd = -1, .stop_fd = -1 };

static bool disk_active(struct blk_dev *d)
{
	return atomic_load_explicit(&d->active, memory_order_acquire);
}

/* True when every emulation context runs at real-time priority, so a woken one preempts the
 * IOCore by itself and the IOCore need not yield its CPU (which would hand it to any other
 * runnable process for a whole time slice). */
static bool contexts_preempt(void)
{
	for (int i = 0; i < io.n; i++)
		if (!atomic_load_explicit(&io.disks[i]->rt_ok, memory_order_relaxed))
			return false;
	return true;
}

/* One pass over every disk. Returns the number of requests handed off. `polling`: the IOCore
 * is polling, so notifications are turned off on any disk that has them on: a disk activated
 * since the last pass (the transport activates queues with notifications on, so a kick can wake
 * a sleeping IOCore), or one re-armed before the last sleep. */
static int iocore_pass(bool polling)
{
	int work = 0;

	for (int i = 0; i < io.n; i++) {
		struct blk_dev *d = io.disks[i];

		/* `popping` tells a reset on the vCPU thread that this pass is using the queue: set
		 * before `active` is read (seq_cst: store -> load), cleared when done. */
		atomic_store(&d->popping, 1);
		if (disk_active(d)) {
			if (polling && d->vq.notify)
				vq_set_notify(&d->vq, false);
			work += emu_handoff(d);
		}
		atomic_store_explicit(&d->popping, 0, memory_order_release);
	}
	if (work) {
		atomic_fetch_add(&io.st.handoffs, (uint64_t)work);
		/* On a machine with fewer cores than busy threads the emulation context may share
		 * this CPU: give it the CPU now instead of spinning on top of it (a real-time
		 * context has preempted us already when the hand-off woke it). */
		if (io.share_cpu && !contexts_preempt())
			sched_yield();
	}
	return work;
}

/* Blocks until a notify (or stop) arrives; counts the kicks it consumed. */
static void iocore_wait(void)
{
	struct epoll_event ev[VMM_MAX_DISKS + 1];
	int n = epoll_wait(io.epfd, ev, VMM_MAX_DISKS + 1, -1);

	for (int i = 0; i < n; i++) {
		uint64_t kicks = 0;

		if (read(ev[i].data.fd, &kicks, sizeof(kicks)) == sizeof(kicks) && ev[i].data.fd != io.stop_fd)
			for (int j = 0; j < io.n; j++)
				if (io.disks[j]->notify_fd == ev[i].data.fd)
					atomic_fetch_add(&io.disks[j]->c.notifies, kicks);
	}
	atomic_fetch_add(&io.st.wakeups, 1);
}

static void set_notify_all(bool enable)
{
	for (int i = 0; i < io.n; i++)
		if (disk_active(io.disks[i]))
			vq_set_notify(&io.disks[i]->vq, enable);
}

/* The spin -> arm -> re-check -> block sequence; returns after work may have arrived. */
static void iocore_sleep(void)
{
	set_notify_all(true);
	if (iocore_pass(false) == 0 && !atomic_load(&io.stop)) {
		atomic_fetch_add(&io.st.sleeps, 1);
		iocore_wait();
	}
}

/* True when every emulation context runs at real-time priority, so a woken one preempts the
 * IOCore by itself and the idle IOCore need not yield its CPU (which would hand it to any other
 * runnable process for a whole time slice). */
static void iocore_poll_loop(void)
{
	uint64_t idle_since = mono_ns(), limit = (uint64_t)io.poll_us * 1000;

	while (!atomic_load(&io.stop)) {
		atomic_fetch_add(&io.st.polls, 1);
		if (iocore_pass(true)) {
			atomic_fetch_add(&io.st.busy_polls, 1);
			idle_since = mono_ns();
		} else if (io.poll_us >= 0 && mono_ns() - idle_since >= limit) {
			iocore_sleep();
			idle_since = mono_ns();
		} else if (io.share_cpu && !contexts_preempt()) {
			/* An emulation context woken by its backend may be waiting for this CPU:
			 * spinning on would starve it until the scheduler preempts us (ms). */
			sched_yield();
		} else {
			__builtin_ia32_pause();
		}
	}
}

static void iocore_event_loop(void)
{
	while (!atomic_load(&io.stop)) {
		iocore_wait();
		while (iocore_pass(false))
			;
	}
}

static void *iocore_main(void *arg)
{
	(void)arg;
	io.tid = gettid();
	if (io.mode == REQ_EXITLESS)
		iocore_poll_loop();
	else
		iocore_event_loop();
	return NULL;
}

static int watch_fd(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(io.epfd, EPOLL_CTL_ADD, fd, &ev);
}

int iocore_start(struct blk_dev **disks, int n, enum request_mode mode, long poll_us, int pin_cpu,
		 bool share_cpu)
{
	io.share_cpu = share_cpu;
	io.disks = disks;
	io.n = n;
	io.mode = mode;
	io.poll_us = poll_us;
	io.epfd = epoll_create1(EPOLL_CLOEXEC);
	io.stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (io.epfd < 0 || io.stop_fd < 0 || watch_fd(io.stop_fd) < 0)
		return err_set("IOCore: %s", strerror(errno));
	for (int i = 0; i < n; i++)
		if (watch_fd(disks[i]->notify_fd) < 0)
			return err_set("IOCore: cannot watch the ioeventfd: %s", strerror(errno));
	if (pthread_create(&io.thread, NULL, iocore_main, NULL) != 0)
		return err_set("cannot start the IOCore thread");
	if (pin_cpu >= 0)
		pin_thread(io.thread, pin_cpu);
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

const struct iocore_stats *iocore_stats(void)
{
	return &io.st;
}

pid_t iocore_tid(void)
{
	return io.tid;
}

/* emu.c - device emulation contexts and the hand-off to them.
 *
 * emulation=thread: each disk has an emulation thread inside the VMM; heads arrive through the
 * disk's SPSC ring and the producer writes the wake eventfd only when the thread sleeps.
 * emulation=process: the same loop runs in a forked device process that shares guest RAM (the
 * memfd mapping) and the disk state (MAP_SHARED); every hand-off also goes through the eventfd,
 * a kernel-mediated wake-up as in a QEMU- or dom0-style split.
 *
 * The sleep protocol (no lost wake-up): the consumer sets `sleeping`, fences, re-checks the ring,
 * then blocks; the producer publishes the ring head, fences, then reads `sleeping`. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dev.h"

static bool ring_empty(struct blk_dev *d)
{
	return atomic_load_explicit(&d->ring.head, memory_order_acquire) ==
	       atomic_load_explicit(&d->ring.tail, memory_order_relaxed);
}

static void drain_fd(int fd)
{
	uint64_t v;

	if (fd >= 0 && read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
}

static void emu_idle(struct blk_dev *d)
{
	struct pollfd p[2] = { { d->wake_fd, POLLIN, 0 }, { d->be.ops->event_fd(&d->be), POLLIN, 0 } };

	atomic_store(&d->sleeping, 1);
	smp_mb();
	if (ring_empty(d) && !atomic_load(&d->stop)) {
		poll(p, p[1].fd >= 0 ? 2 : 1, -1);
		atomic_fetch_add(&d->c.wakeups, 1);
	}
	atomic_store(&d->sleeping, 0);
	drain_fd(d->wake_fd);
	drain_fd(p[1].fd);
}

/* Starts every head the producer handed over. Returns how many. */
static int emu_take(struct blk_dev *d)
{
	uint32_t tail = atomic_load_explicit(&d->ring.tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&d->ring.head, memory_order_acquire);
	int n = 0;

	for (; tail != head; tail++, n++)
		if (!atomic_load_explicit(&d->broken, memory_order_relaxed)) /* else dropped: reset needed */
			blk_start(d, d->ring.slot[tail & (SPSC_SIZE - 1)]);
	atomic_store_explicit(&d->ring.tail, tail, memory_order_release);
	return n;
}

/* Serves the disk until stopped. With spin_ns set (an emulation thread on a CPU of its own) it
 * polls its ring and its backend for spin_ns after the last work (forever when spin_ns < 0), then
 * sleeps; otherwise (a device process, or a CPU shared with the IOCore) it sleeps at once. */
static void emu_loop(struct blk_dev *d)
{
	struct backend *b = &d->be;
	uint64_t last = mono_ns();

	while (!atomic_load(&d->stop)) {
		int work = emu_take(d);

		b->ops->kick(b);
		work += b->ops->reap(b, blk_complete);
		if (work) {
			blk_flush_completions(d);
			if (d->spin_ns)
				last = mono_ns();
		} else if (d->spin_ns < 0 || (d->spin_ns > 0 && mono_ns() - last < (uint64_t)d->spin_ns)) {
			__builtin_ia32_pause();
		} else {
			emu_idle(d);
			last = mono_ns();
		}
	}
}

static int started_not_done(const struct blk_dev *d)
{
	int n = 0;

	for (int i = 0; i < VQ_MAX_SIZE; i++)
		n += d->inflight[i];
	return n;
}

/* Stopping: requests the backend already has finish (complete or fail) and their status reaches
 * the guest's ring, so no write is left half-done without a status. Bounded by a 10 s wait. */
static void emu_drain(struct blk_dev *d)
{
	struct backend *b = &d->be;
	struct pollfd p = { b->ops->event_fd(b), POLLIN, 0 };

	for (int waits = 0; started_not_done(d) && waits < 1000;) {
		b->ops->kick(b);
		if (b->ops->reap(b, blk_complete)) {
			blk_flush_completions(d);
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
static void emu_set_realtime(struct blk_dev *d)
{
	struct sched_param p = { .sched_priority = 1 };

	if (d->realtime)
		atomic_store(&d->rt_ok, sched_setscheduler(0, SCHED_FIFO, &p) == 0);
}

static void *emu_thread(void *arg)
{
	struct blk_dev *d = arg;

	d->emu_tid = gettid();
	emu_set_realtime(d);
	emu_loop(d);
	emu_drain(d);
	return NULL;
}

/* The device process: drops what it does not need, opens its backend, serves until stopped. */
static void emu_process(struct blk_dev *d, int pin_cpu)
{
	char name[16];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(name, sizeof(name), "exitless-dev%d", d->index);
	prctl(PR_SET_NAME, name);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	if (pin_cpu >= 0)
		pin_self(pin_cpu);
	emu_set_realtime(d);
	sandbox_close_fds((int[]){ d->be.fd, d->be.fd_buffered, d->wake_fd, d->irq_fd }, 4);
	if (d->be.ops->open(&d->be) < 0 || sandbox_seccomp() < 0) {
		fprintf(stderr, "vmm: device process: %s\n", err_msg());
		_exit(VMM_EXIT_FAILURE);
	}
	emu_loop(d);
	emu_drain(d);
	d->be.ops->close(&d->be);
	_exit(0);
}

int emu_start(struct blk_dev *d, enum emu_mode mode, int pin_cpu)
{
	d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->wake_fd < 0)
		return err_set("eventfd: %s", strerror(errno));
	d->always_wake = mode == EMU_PROCESS;
	if (mode == EMU_PROCESS) {
		/* fork()'s result goes to a local: `d` is shared memory, and the child's 0 must not
		 * overwrite the parent's pid there. */
		pid_t pid = fork();

		if (pid < 0)
			return err_set("cannot start the device process: %s", strerror(errno));
		if (pid == 0)
			emu_process(d, pin_cpu);
		d->pid = d->emu_tid = pid;
		return 0;
	}
	if (d->be.ops->open(&d->be) < 0)
		return -1;
	if (pthread_create(&d->thread, NULL, emu_thread, d) != 0)
		return err_set("cannot start the emulation thread");
	if (pin_cpu >= 0)
		pin_thread(d->thread, pin_cpu);
	return 0;
}

void emu_stop(struct blk_dev *d)
{
	uint64_t one = 1;

	atomic_store(&d->stop, 1);
	if (d->wake_fd >= 0 && write(d->wake_fd, &one, sizeof(one)) < 0)
		perror("vmm: waking the emulation context");
	if (d->pid > 0) {
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	} else if (d->thread) {
		pthread_join(d->thread, NULL);
		d->thread = 0;
		d->be.ops->close(&d->be);
	}
}

int emu_handoff(struct blk_dev *d)
{
	uint32_t head = atomic_load_explicit(&d->ring.head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&d->ring.tail, memory_order_acquire);
	int pending = vq_avail_pending(&d->vq), n = 0;
	uint64_t one = 1;

	if (pending < 0) {
		blk_mark_broken(d, "the avail index moved more than the queue size");
		return 0;
	}
	for (; n < pending && head - tail < SPSC_SIZE; n++, head++)
		d->ring.slot[head & (SPSC_SIZE - 1)] = vq_pop(&d->vq);
	if (!n)
		return 0;
	atomic_store_explicit(&d->ring.head, head, memory_order_release);
	smp_mb(); /* head store -> sleeping load: pairs with the fence in emu_idle() */
	if (d->always_wake || atomic_load(&d->sleeping))
		if (write(d->wake_fd, &one, sizeof(one)) < 0)
			perror("vmm: waking the emulation context");
	return n;
}

bool emu_quiesce(struct blk_dev *d)
{
	atomic_store(&d->active, 0); /* seq_cst: pairs with the IOCore's popping store */
	while (atomic_load(&d->popping))
		__builtin_ia32_pause();
	/* The emulation context keeps serving what it was handed: wait until it has taken every
	 * head and completed every request. */
	for (int i = 0; i < 500000; i++) {
		if (ring_empty(d) && !started_not_done(d))
			return true;
		usleep(10);
	}
	return false;
}

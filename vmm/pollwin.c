/* pollwin.c - the idle window of a polling thread (the IOCore, an emulation thread with a CPU of its own):
 * how long it spins without work before it arms notifications and sleeps; fixed, or adapted to the traffic.
 *
 * Why not QEMU's rule. QEMU (util/aio-posix.c adjust_polling_time) adapts its window from each wait alone:
 * it grows it (4 µs, then doubling, up to poll-max-ns) while events come within the maximum, and drops it
 * (to 0 by default) as soon as one wait outlasts the maximum. One long gap switches polling off and the next
 * short one starts it again from 4 µs, so under a mix of short and long idle periods it flips between the
 * two. Such mixes are the common case here: a queue-depth-1 stream alternates the device's service time
 * (tens of µs) with the guest's turnaround (about 1 µs), an offered load adds its own gaps, and a sleep is
 * not free (a wake-up's latency, and in request=exitless a guest exit for the kick that wakes us).
 *
 * The rule here: the window comes from the measured idle periods themselves. A histogram of the recent ones
 * (log2 buckets from 1 µs, halved every POLLWIN_DECAY = 32 periods: a period's weight halves with every 32
 * that follow it) gives the window that would have caught 7 of 8 of them (the upper edge of the bucket
 * holding that quantile). When it is at
 * most the maximum the thread polls that long: at a high rate (short periods) it practically never sleeps,
 * as with a fixed window. When it is longer (a low rate: most gaps outlast the maximum) it sleeps at once:
 * one wake-up per idle period, without first burning the maximum on a poll that would fail 7 times in 8.
 * Before any history the window is the maximum. The decision costs a bucket scan every 8 periods.
 *
 * A deep queue is the one wait an adaptive window never sleeps through: with POLLWIN_DEEP requests or more
 * outstanding at the thread's devices (as the guest's hybrid wait polls a deep queue to its next completion).
 * There the thread is the turnaround of a saturated device: a device of fixed service time runs at depth /
 * (service + turnaround), and requests that complete together are taken and resubmitted together, so a sleep
 * after each batch (its waits are the service time, longer than the maximum on a disk) would put a wake-up and
 * a kick into every batch for good. Such a wait starts no idle period and enters no history; with a fixed window
 * (--poll-us N) the window holds whatever the depth. */
#include <string.h>

#include "virtio.h"

#define POLLWIN_DECAY   32 /* halve the histogram every this many idle periods */
#define POLLWIN_RECOMPUTE 8 /* choose the window again every this many */

/* Bucket b holds idle periods in [2^(b+9), 2^(b+10)) ns (bucket 0: below 1.024 µs); the last is open. */
static int bucket(uint64_t ns)
{
	int b = ns < 1024 ? 0 : 63 - __builtin_clzll(ns) - 9;

	return b < POLLWIN_BUCKETS - 1 ? b : POLLWIN_BUCKETS - 1;
}

static uint64_t bucket_edge(int b)
{
	return b < POLLWIN_BUCKETS - 1 ? 1ull << (b + 10) : UINT64_MAX;
}

static void publish(struct pollwin *w, enum pollwin_counter k, uint64_t v)
{
	atomic_store_explicit(&w->n[k], v, memory_order_relaxed); /* one writer: the polling thread */
}

static void set_window(struct pollwin *w, uint64_t ns)
{
	w->window_ns = ns;
	publish(w, PWC_window_now_ns, ns);
}

void pollwin_init(struct pollwin *w, const struct poll_policy *p)
{
	memset(w, 0, sizeof(*w));
	w->policy = *p;
	set_window(w, p->kind == POLL_NEVER_SLEEP ? POLLWIN_NEVER : p->ns);
}

/* The window that would have caught 7 of 8 recent idle periods, or 0 when that is longer than the maximum. */
static uint64_t choose(const struct pollwin *w)
{
	uint32_t total = 0, sum = 0;

	for (int b = 0; b < POLLWIN_BUCKETS; b++)
		total += w->hist[b];
	for (int b = 0; b < POLLWIN_BUCKETS; b++) {
		sum += w->hist[b];
		if (8ull * sum >= 7ull * total)
			return bucket_edge(b) <= w->policy.ns ? bucket_edge(b) : 0;
	}
	return 0;
}

void pollwin_idle_end(struct pollwin *w, uint64_t idle_ns)
{
	publish(w, PWC_idles, w->n[PWC_idles] + 1);
	publish(w, PWC_idle_ns, w->n[PWC_idle_ns] + idle_ns);
	publish(w, PWC_window_ns, w->n[PWC_window_ns] + w->window_ns);
	if (w->policy.kind != POLL_ADAPTIVE)
		return;
	w->hist[bucket(idle_ns)]++;
	if (++w->periods % POLLWIN_DECAY == 0)
		for (int b = 0; b < POLLWIN_BUCKETS; b++)
			w->hist[b] >>= 1;
	if (w->periods % POLLWIN_RECOMPUTE == 0)
		set_window(w, choose(w));
}

bool pollwin_expired(struct pollwin *w, bool deep)
{
	uint64_t now;

	if (w->window_ns == POLLWIN_NEVER || (deep && pollwin_starting(w)))
		return false;
	now = mono_ns();
	w->idle_from = w->idle_from ? w->idle_from : now;
	return now - w->idle_from >= w->window_ns;
}

void pollwin_counters_read(const struct pollwin *w, uint64_t *out)
{
	for (int i = 0; i < PWC_COUNT; i++)
		out[i] = atomic_load_explicit(&w->n[i], memory_order_relaxed);
}

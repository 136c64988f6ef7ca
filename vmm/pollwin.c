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
 * that follow it) decides whether to poll: when a window within the maximum would have caught 7 of 8 of them
 * (the upper edge of the bucket holding that quantile), the thread polls: at a high rate (short periods) it
 * practically never sleeps, as with a fixed window. When that is longer (a low rate: most gaps outlast the
 * maximum) it sleeps at once: one wake-up per idle period, without first burning the maximum on a poll that would
 * fail 7 times in 8. How long it polls: long enough for every recent period the maximum can cover, not only 7 of
 * 8: the upper edge of the highest bucket within the maximum that holds 1 in POLLWIN_TAIL = 64 of them (or the
 * quantile's, if higher). A miss costs a wake-up, longer than the maximum on a nested host (100-250 µs), and for a
 * wait for the guest a kick too; a poll that catches costs only the gap. (At the 7-of-8 edge alone, saturated
 * queue-depth-1 reads on this machine's disk slept 0.025-0.03 times per I/O, each sleep a wake-up in a request's
 * latency.) Gaps beyond the maximum do not move it: no window within the maximum catches them. Before any history
 * the window is the maximum. The decision costs a bucket scan every 8 periods.
 *
 * Two windows, by what a period waits for (asked where it starts: the requests outstanding at the thread's
 * queues). A wait for the guest's next request (none outstanding) takes the window learned from every period, as
 * above: the guest's turnaround is short, but its tail (a guest preempted, a guest that halted) is long, and a
 * sleep there costs the guest a kick. A wait for the device (one outstanding: its service time) takes a window
 * learned from the device's waits alone. One history of both let the guest's gaps decide how the thread waits for
 * the device: a low offered rate, or a guest halting in its own wait (whose wake-up, 100-250 µs on PVM, lengthens
 * the gap to its next request), closed the window, the thread slept through every service time, each completion
 * reached the guest a wake-up late, later than the guest's own window, so the guest halted again: a loop that
 * kept both sides sleeping. The device's waits do not depend on the guest, so its window does not either.
 * A sleep's wake-up counts in the period it ends, and where waking is slow (this host's nested scheduler: tens to
 * hundreds of µs) a device wait slept through looks longer than the maximum however fast the device: learned, it
 * would keep a closed window closed. So a device wait slept from a window below the maximum is not learned, and
 * every POLLWIN_PROBE-th device wait of a window below the maximum polls the maximum instead (a probe, learned
 * whatever it finds): the probes close the device's window when the device is slow, and open it again when it is
 * fast. (The window for the guest keeps learning every period: its errors are on the side of sleeping.)
 *
 * A deep queue (POLLWIN_DEEP requests or more outstanding at the thread's devices; the guest's hybrid wait polls
 * one to its next completion) is polled on unless sleeping has been measured to cost nothing. There the thread
 * is the turnaround of a saturated device, and whether a sleep costs throughput depends on the device: one that
 * completes its whole queue together (a device of fixed service time: requests that start together end together)
 * stands idle through the thread's wake-up after every batch, while one that completes in parts (a disk at large
 * blocks) still has work, and the sleep costs nothing but the CPU it saves (1.9 cores against 1.1 for the same
 * throughput at 128 KiB and 1 MiB on this machine's disk). What the thread sees of one wait does not tell them
 * apart (a quick wake-up finds part of a batch not yet due, and a batch once split stays split), so it measures
 * what a sleep costs: the rate of completions. Deep waits go by phases (POLLWIN_DEEP_PHASE waits and 20 ms at
 * least; one that deep waits stop in for 20 ms starts again, so no rate spans a pause): one polled on, one sleeping (a deep wait polls the maximum, which catches the guest's next requests, as it
 * resubmits as soon as it sees its completions and a sleep there would cost a kick, then sleeps), and then the
 * faster way holds for POLLWIN_DEEP_HOLD phases before both are measured again; sleeping counts as faster unless
 * its rate is more than 1/32 below polling's (the CPU it saves is the point). Where a sleep costs the device its
 * wake-up, the thread polls on but for one sleeping phase in 18; where it costs nothing, the rates agree and it
 * sleeps through the device's gaps. The sleeping phase is tried only where the requests average 64 KiB or more and
 * one deep wait in 4 or more outlasted the maximum while polled on. Small requests make a device latency-bound: its
 * rate is depth / (service + turnaround), every wake-up lengthens the turnaround, and a phase's rate is too noisy
 * to see it (4 KiB random reads at depth 32 on this machine's disk, whose completions come in bursts with gaps past
 * the maximum: sleeping there lost 8 % of the IOPS, p = 0.05 in an 8-round A/B, while half the phases chose it).
 * Large ones make it bandwidth-bound: the requests queued behind the one completing keep it busy through a
 * wake-up. Waits that rarely outlast the maximum would save little. Only a thread whose sleep ends with its
 * devices' completions sleeps through a deep wait (an IOCore whose devices are emulated by threads of their own is
 * woken by kicks alone). A deep wait enters no history; with a fixed window (--poll-us N) the window holds whatever
 * the depth. */
#include <string.h>

#include "virtio.h"

#define POLLWIN_DECAY   32 /* halve the histogram every this many idle periods */
#define POLLWIN_RECOMPUTE 8 /* choose the window again every this many */
#define POLLWIN_TAIL    64 /* a window that polls covers the gaps within the maximum of 1 in this many recent periods */
#define POLLWIN_PROBE   16 /* every this many waits for the device with a window below the maximum, one polls the maximum */
#define POLLWIN_DEEP_PHASE 32 /* deep waits per phase (a rate measured polling on or sleeping), at least */
#define POLLWIN_DEEP_PHASE_NS 20000000ull /* and its length, at least */
#define POLLWIN_DEEP_BYTES (64u << 10) /* the mean request below which deep waits are polled on (latency-bound) */
#define POLLWIN_DEEP_HOLD  16 /* phases the faster way holds before both are measured again */

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

static void set_window(struct pollwin *w, enum pollwin_wait k, uint64_t ns)
{
	w->learned[k].window_ns = ns;
	publish(w, k == PW_DEVICE ? PWC_device_window_now_ns : PWC_window_now_ns, ns);
}

void pollwin_init(struct pollwin *w, const struct poll_policy *p, bool device_wakes)
{
	memset(w, 0, sizeof(*w));
	w->policy = *p;
	w->device_wakes = device_wakes;
	w->clock = mono_ns;
	for (int k = 0; k < PW_LEARNED; k++)
		set_window(w, (enum pollwin_wait)k, p->kind == POLL_NEVER_SLEEP ? POLLWIN_NEVER : p->ns);
}

/* 0 when a window within the maximum would not catch 7 of 8 recent idle periods of a kind; else the window that
 * catches every recent one it can: the upper edge of the highest bucket within the maximum holding 1 in
 * POLLWIN_TAIL of them, or of the 7-of-8 quantile's if that is higher. */
static uint64_t choose(const struct pollwin *w, enum pollwin_wait k)
{
	const uint32_t *hist = w->learned[k].hist;
	uint32_t total = 0, sum = 0;
	uint64_t quantile = 0, tail = 0;

	for (int b = 0; b < POLLWIN_BUCKETS; b++)
		total += hist[b];
	for (int b = 0; b < POLLWIN_BUCKETS && bucket_edge(b) <= w->policy.ns; b++) {
		sum += hist[b];
		if (!quantile && 8ull * sum >= 7ull * total)
			quantile = bucket_edge(b);
		if (hist[b] && (uint64_t)POLLWIN_TAIL * hist[b] >= total)
			tail = bucket_edge(b);
	}
	return !quantile ? 0 : tail > quantile ? tail : quantile;
}

/* Enters an idle period of idle_ns into history k and chooses its window again every POLLWIN_RECOMPUTE. */
static void learn(struct pollwin *w, enum pollwin_wait k, uint64_t idle_ns)
{
	uint32_t *hist = w->learned[k].hist, periods = ++w->learned[k].periods;

	hist[bucket(idle_ns)]++;
	if (periods % POLLWIN_DECAY == 0)
		for (int b = 0; b < POLLWIN_BUCKETS; b++)
			hist[b] >>= 1;
	if (periods % POLLWIN_RECOMPUTE == 0)
		set_window(w, k, choose(w, k));
}

void pollwin_start(struct pollwin *w, enum pollwin_wait k)
{
	uint64_t max = w->policy.ns;

	w->wait = k;
	w->in_force = k == PW_DEEP ? max : w->learned[k].window_ns;
	if (k == PW_DEVICE && w->policy.kind == POLL_ADAPTIVE && w->in_force < max &&
	    ++w->since_probe >= POLLWIN_PROBE) {
		w->since_probe = 0;
		w->in_force = max;
		publish(w, PWC_probes, w->n[PWC_probes] + 1);
	}
	w->idle_from = w->clock();
}

/* A phase of deep waits has ended at now_ns, l the thread's look there: its rate of completions, and the next phase.
 * Phase 0 polls on; phase 1 sleeps, if in phase 0 the requests averaged POLLWIN_DEEP_BYTES or more and one deep
 * wait in 4 or more outlasted the maximum (else phase 1 is skipped: polled on); after phase 1 the faster is chosen
 * (sleeping unless it lost more than 1/32 of the rate: the CPU it saves is the point), and holds POLLWIN_DEEP_HOLD
 * phases. */
static void deep_phase_end(struct pollwin *w, uint64_t now_ns, const struct pollwin_look *l)
{
	uint64_t ns = now_ns - w->deep.from_ns, n = l->completed - w->deep.from_completed;
	uint64_t rate = ns ? n * 1000000000ull / ns : 0;

	if (w->deep.phase == 0) {
		bool large = l->bytes - w->deep.from_bytes >= n * POLLWIN_DEEP_BYTES;

		w->deep.poll_rate = rate;
		w->deep.choice = false;
		w->deep.phase = large && 4 * w->deep.long_waits >= w->deep.waits ? 1 : 2;
	} else {
		if (w->deep.phase == 1)
			w->deep.choice = 32 * rate >= 31 * w->deep.poll_rate;
		w->deep.phase = (w->deep.phase + 1) % (POLLWIN_DEEP_HOLD + 2);
	}
	w->deep.sleeps = w->deep.phase == 1 || (w->deep.phase >= 2 && w->deep.choice);
	publish(w, PWC_deep_sleeps, w->deep.sleeps);
	w->deep.waits = w->deep.long_waits = 0;
}

/* A wait for a deep queue starts (adaptive, a thread its devices wake): counted in its phase (POLLWIN_DEEP_PHASE of
 * them over POLLWIN_DEEP_PHASE_NS at least); true when it polls the maximum and then sleeps, false when it polls on. */
static bool deep_wait(struct pollwin *w, const struct pollwin_look *l, uint64_t now_ns)
{
	if (now_ns - w->deep.last_ns >= POLLWIN_DEEP_PHASE_NS)
		w->deep.waits = w->deep.long_waits = 0; /* none for a phase's length: the phase in progress starts again */
	w->deep.last_ns = now_ns;
	if (w->deep.waits >= POLLWIN_DEEP_PHASE && now_ns - w->deep.from_ns >= POLLWIN_DEEP_PHASE_NS)
		deep_phase_end(w, now_ns, l);
	if (w->deep.waits++ == 0) {
		w->deep.from_ns = now_ns;
		w->deep.from_completed = l->completed;
		w->deep.from_bytes = l->bytes;
	}
	return w->deep.sleeps;
}

void pollwin_idle_end(struct pollwin *w, uint64_t idle_ns)
{
	enum pollwin_wait k = w->wait;

	if (w->in_force == POLLWIN_NEVER) { /* a deep wait polled on: no idle period to count */
		w->idle_from = 0;
		w->deep.long_waits += idle_ns >= w->policy.ns;
		return;
	}
	publish(w, PWC_idles, w->n[PWC_idles] + 1);
	publish(w, PWC_idle_ns, w->n[PWC_idle_ns] + idle_ns);
	publish(w, PWC_window_ns, w->n[PWC_window_ns] + w->in_force);
	if (k == PW_DEVICE)
		publish(w, PWC_device_idles, w->n[PWC_device_idles] + 1);
	w->idle_from = 0;
	if (w->policy.kind != POLL_ADAPTIVE)
		return;
	if (k == PW_DEEP) { /* learns nothing */
		publish(w, PWC_deep_idles, w->n[PWC_deep_idles] + 1);
		return;
	}
	learn(w, PW_GUEST, idle_ns); /* every period */
	/* the device's, unless it slept from a window below the maximum: how much of it was the wait and how much the
	 * wake-up is not known (the probes learn the rest) */
	if (k == PW_DEVICE && (idle_ns < w->in_force || w->in_force >= w->policy.ns))
		learn(w, PW_DEVICE, idle_ns);
}

bool pollwin_expired(struct pollwin *w, pollwin_look_fn *look, const void *arg)
{
	if (w->policy.kind == POLL_NEVER_SLEEP)
		return false;
	if (!w->idle_from) {
		struct pollwin_look l;

		look(arg, &l);
		if (l.wait != PW_DEEP) {
			pollwin_start(w, l.wait);
		} else if (w->policy.kind != POLL_ADAPTIVE) {
			pollwin_start(w, PW_DEVICE); /* a fixed window holds whatever the depth */
		} else if (!w->device_wakes) {
			return false; /* polled on, and no period: it could not sleep through one */
		} else {
			pollwin_start(w, PW_DEEP);
			if (!deep_wait(w, &l, w->idle_from))
				w->in_force = POLLWIN_NEVER; /* polled on: the period only marks where the wait ends */
		}
	}
	if (w->in_force == POLLWIN_NEVER)
		return false;
	return w->clock() - w->idle_from >= w->in_force;
}

void pollwin_counters_read(const struct pollwin *w, uint64_t *out)
{
	for (int i = 0; i < PWC_COUNT; i++)
		out[i] = atomic_load_explicit(&w->n[i], memory_order_relaxed);
}

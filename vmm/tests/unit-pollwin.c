/* unit-pollwin.c - unit tests of the idle window (pollwin.c): fixed and never-ending windows, the adaptive
 * window that opens when it would cover 7 of 8 recent idle periods and then covers every recent one within its
 * maximum, its memory, the waits for the guest and for the device learned apart, deep queues, and its counters. */
#include <stdio.h>

#include "tap.h"
#include "virtio.h"

#define US 1000ull

static struct pollwin w;

/* A thread whose sleep ends with its devices' completions unless wakes is false. */
static void start_wakes(enum poll_kind kind, uint64_t ns, bool wakes)
{
	struct poll_policy p = { kind, ns };

	pollwin_init(&w, &p, wakes);
}

static void start(enum poll_kind kind, uint64_t ns)
{
	start_wakes(kind, ns, true);
}

static enum pollwin_wait waiting; /* what the thread under test waits for */
static uint64_t completed;        /* the requests completed so far at its queues */
static uint64_t bytes;            /* and the bytes they moved */
static uint64_t request = 128 << 10; /* bytes per request */

static void look(const void *arg, struct pollwin_look *l)
{
	(void)arg;
	*l = (struct pollwin_look){ waiting, completed, bytes };
}

/* An idle period of ns waiting for k. */
static void period(enum pollwin_wait k, uint64_t ns)
{
	pollwin_start(&w, k);
	pollwin_idle_end(&w, ns);
}

/* n rounds of the idle periods pattern[0..k), waits for the guest */
static void feed(const uint64_t *pattern, int k, int n)
{
	for (int r = 0; r < n; r++)
		for (int i = 0; i < k; i++)
			period(PW_GUEST, pattern[i]);
}

static uint64_t counter(enum pollwin_counter k)
{
	uint64_t n[PWC_COUNT];

	pollwin_counters_read(&w, n);
	return n[k];
}

static void fixed(void)
{
	static const uint64_t gaps[] = { 1 * US, 3000 * US };

	start(POLL_NEVER_SLEEP, 0);
	ok(pollwin_window(&w, PW_GUEST) == POLLWIN_NEVER && counter(PWC_window_now_ns) == POLLWIN_NEVER,
	   "--poll-us 0: a window that never ends");
	start(POLL_FIXED, 50 * US);
	feed(gaps, 2, 50);
	ok(pollwin_window(&w, PW_GUEST) == 50 * US, "--poll-us 50: 50 us whatever the traffic");
	ok(counter(PWC_idles) == 100 && counter(PWC_idle_ns) == 50 * 3001 * US && counter(PWC_window_ns) == 100 * 50 * US,
	   "idle periods, their length and the window in force are counted (%llu, %llu, %llu)",
	   (unsigned long long)counter(PWC_idles), (unsigned long long)counter(PWC_idle_ns),
	   (unsigned long long)counter(PWC_window_ns));
	start(POLL_FIXED, 0);
	feed(gaps, 2, 50);
	ok(pollwin_window(&w, PW_GUEST) == 0, "a context that must sleep at once: a window of 0");
}

static void adaptive(void)
{
	static const uint64_t qd1[] = { 20 * US, 1 * US };           /* device time, guest turnaround */
	static const uint64_t low_rate[] = { 20 * US, 1980 * US };   /* 500 IOPS */
	static const uint64_t seven_short[] = { 3 * US, 3 * US, 3 * US, 3 * US, 3 * US, 3 * US, 3 * US, 900 * US };
	static const uint64_t six_short[] = { 3 * US, 3 * US, 3 * US, 3 * US, 3 * US, 3 * US, 900 * US, 900 * US };
	static const uint64_t tiny[] = { 300 };
	uint64_t slow_tail[16], far_tail[16];

	for (int i = 0; i < 16; i++) {
		slow_tail[i] = i ? 20 * US : 100 * US; /* a device's slower service times */
		far_tail[i] = i ? 20 * US : 900 * US;
	}

	start(POLL_ADAPTIVE, 200 * US);
	ok(pollwin_window(&w, PW_GUEST) == 200 * US, "adaptive, no history yet: the maximum");
	feed(qd1, 2, 40);
	ok(pollwin_window(&w, PW_GUEST) == 32768, "20 us and 1 us idle periods: a window of 32.8 us covers them (%llu)",
	   (unsigned long long)pollwin_window(&w, PW_GUEST));
	feed(low_rate, 2, 40);
	ok(pollwin_window(&w, PW_GUEST) == 0, "half of the periods 2 ms long (500 IOPS): it closes, the thread sleeps at once");
	feed(qd1, 2, 40);
	ok(pollwin_window(&w, PW_GUEST) == 32768, "back to the short periods: it opens again within 80 of them");
	feed(seven_short, 8, 20);
	ok(pollwin_window(&w, PW_GUEST) == 4096, "7 of 8 periods of 3 us: a window of 4.1 us (%llu)", (unsigned long long)pollwin_window(&w, PW_GUEST));
	feed(six_short, 8, 20);
	ok(pollwin_window(&w, PW_GUEST) == 0, "6 of 8: closed (a poll would fail one time in four)");
	feed(slow_tail, 16, 20);
	ok(pollwin_window(&w, PW_GUEST) == 131072,
	   "15 of 16 periods of 20 us, 1 of 100 us: it covers the 100 us too, not 7 of 8 alone (%llu)",
	   (unsigned long long)pollwin_window(&w, PW_GUEST));
	feed(far_tail, 16, 20);
	ok(pollwin_window(&w, PW_GUEST) == 32768, "1 of 16 beyond the maximum: no window catches it, 32.8 us (%llu)",
	   (unsigned long long)pollwin_window(&w, PW_GUEST));
	feed(tiny, 1, 320); /* the 20 us periods decay out of the tail (1 in 64) */
	ok(pollwin_window(&w, PW_GUEST) == 1024, "sub-microsecond periods: the smallest window, 1 us (%llu)",
	   (unsigned long long)pollwin_window(&w, PW_GUEST));
	start(POLL_ADAPTIVE, 20 * US);
	feed(qd1, 2, 40);
	ok(pollwin_window(&w, PW_GUEST) == 0, "a maximum of 20 us cannot cover the 20 us periods (its bucket ends at 32.8 us): closed");
	start(POLL_ADAPTIVE, 200 * US);
	feed(qd1, 2, 40);
	ok(counter(PWC_window_now_ns) == pollwin_window(&w, PW_GUEST) && counter(PWC_idles) == 80,
	   "the gauge follows the window; every period is counted");
}

/* A wait of kind k of idle_ns, through pollwin_expired and pollwin_busy as a polling thread does it: true when the
 * window said to sleep at its start. */
static bool wait_for(enum pollwin_wait k)
{
	bool sleeps;

	waiting = k;
	sleeps = pollwin_expired(&w, look, NULL);
	pollwin_busy(&w);
	return sleeps;
}

/* The guest's next request and the device are learned apart: at 500 IOPS on a 20 us device the thread sleeps
 * through the 2 ms gaps and polls through the device's 20 us, where one history of both would close the window for
 * both (the test above): a sleep there would put a wake-up into every request's service time. */
static void apart(void)
{
	static const uint64_t gap[] = { 1980 * US }, service[] = { 20 * US };

	start(POLL_ADAPTIVE, 200 * US);
	for (int i = 0; i < 40; i++) {
		period(PW_DEVICE, service[0]);
		period(PW_GUEST, gap[0]);
	}
	ok(pollwin_window(&w, PW_GUEST) == 0 && pollwin_window(&w, PW_DEVICE) == 32768,
	   "500 IOPS on a 20 us device: closed for the guest, 32.8 us for the device (%llu, %llu)",
	   (unsigned long long)pollwin_window(&w, PW_GUEST), (unsigned long long)pollwin_window(&w, PW_DEVICE));
	ok(counter(PWC_window_now_ns) == 0 && counter(PWC_device_window_now_ns) == 32768 &&
		   counter(PWC_idles) == 80 && counter(PWC_device_idles) == 40,
	   "each gauge follows its window; device waits are counted apart");
	ok(wait_for(PW_GUEST) && !wait_for(PW_DEVICE), "a wait for the guest sleeps at once, one for the device polls");
	ok(counter(PWC_idles) == 82 && counter(PWC_device_idles) == 41, "pollwin_expired asked what each wait was for");
}

/* A wait for the device of probe_ns if it is a probe (its window is the maximum, 200 us), else of ns. */
static void device_wait(uint64_t probe_ns, uint64_t ns)
{
	pollwin_start(&w, PW_DEVICE);
	pollwin_idle_end(&w, w.in_force == 200 * US ? probe_ns : ns);
}

/* Device waits a sleep made longer than the maximum are not learned (the wake-up is in them: on PVM 100-250 us); every
 * 16th wait for the device of a window below the maximum polls the maximum instead (a probe), and is learned. */
static void probes(void)
{
	uint64_t probes;
	int n;

	start(POLL_ADAPTIVE, 200 * US);
	for (n = 0; n < 40; n++)
		period(PW_DEVICE, 20 * US);
	ok(pollwin_window(&w, PW_DEVICE) == 32768, "a 20 us device: 32.8 us");
	probes = counter(PWC_probes);
	for (n = 0; n < 64; n++)
		device_wait(3000 * US, 250 * US);
	ok(pollwin_window(&w, PW_DEVICE) == 32768 && counter(PWC_probes) - probes == 4,
	   "64 waits that outlast the maximum after a sleep: unlearned but for 4 probes, the window holds (%llu probes)",
	   (unsigned long long)(counter(PWC_probes) - probes));
	for (n = 0; n < 128 && pollwin_window(&w, PW_DEVICE); n++)
		period(PW_DEVICE, 3000 * US);
	ok(pollwin_window(&w, PW_DEVICE) == 0, "a device that stays slow: the probes close it (in %d more waits)", n);
	for (n = 0; n < 4000 && !pollwin_window(&w, PW_DEVICE); n++)
		device_wait(20 * US, 250 * US);
	ok(pollwin_window(&w, PW_DEVICE) == 32768 && n < 1000,
	   "fast again, but every sleep woken after the maximum: the probes alone open it (in %d waits)", n);
	start(POLL_ADAPTIVE, 200 * US);
	for (n = 0; n < 64; n++)
		period(PW_GUEST, 20 * US);
	ok(counter(PWC_probes) == 0, "waits for the guest never probe");
}

static uint64_t fake_ns = 1;
static uint64_t fake_clock(void)
{
	return fake_ns;
}

/* n deep waits, each ending with a completion: poll_ns long when polled on, sleep_ns when slept through (longer by
 * what the sleep cost the device). How many slept. */
static int deep_waits(int n, uint64_t poll_ns, uint64_t sleep_ns)
{
	int slept = 0;

	waiting = PW_DEEP;
	for (int i = 0; i < n; i++) {
		bool sleeps;

		pollwin_expired(&w, look, NULL);
		sleeps = w.idle_from && w.in_force == 200 * US;
		slept += sleeps;
		fake_ns += sleeps ? sleep_ns : poll_ns;
		completed++;
		bytes += request;
		pollwin_busy(&w);
	}
	return slept;
}

/* A wait for a deep queue, adaptive: by phases (32 deep waits and 20 ms at least), one polled on and, if its requests
 * averaged 64 KiB or more and one wait in 4 or more outlasted the maximum there, one sleeping (polls the maximum,
 * then sleeps), whose rates of completions choose how the next 16 phases wait: sleeping unless it lost more than 1/32
 * of the rate. A thread not woken by its devices never sleeps through one; a fixed window does. (128 KiB requests
 * unless said.) */
static void deep(void)
{
	static const uint64_t low_rate[] = { 20 * US, 1980 * US };
	int n;

	start(POLL_ADAPTIVE, 200 * US);
	w.clock = fake_clock;
	feed(low_rate, 2, 40);
	waiting = PW_GUEST;
	ok(pollwin_window(&w, PW_GUEST) == 0 && pollwin_expired(&w, look, NULL),
	   "a closed window: a wait for the guest sleeps at once");
	pollwin_busy(&w);
	n = deep_waits(32, 1000 * US, 1500 * US);
	ok(n == 0 && counter(PWC_deep_sleeps) == 0 && counter(PWC_idles) == 81,
	   "the same window, a deep queue: the first phase polls on, and counts as no idle period (%d slept)", n);
	n = deep_waits(32, 1000 * US, 1500 * US);
	ok(n == 32 && counter(PWC_deep_idles) == 32, "its waits outlasted the maximum: the next polls the maximum and sleeps (%d)",
	   n);
	n = deep_waits(16 * 32, 1000 * US, 1500 * US);
	ok(n == 0 && counter(PWC_deep_sleeps) == 0,
	   "a sleep that cost the device a third of its rate (a whole queue completing together): 16 phases polled on (%d)",
	   n);
	n = deep_waits(18 * 32, 1000 * US, 1000 * US);
	ok(n == 17 * 32 && counter(PWC_deep_sleeps) == 1,
	   "measured again: one that cost it nothing (a device completing in parts) sleeps 17 phases of 18 (%d)", n);
	n = deep_waits(18 * 32, 1000 * US, 1020 * US);
	ok(n == 17 * 32, "so does one that lost less than 1/32 (%d)", n);
	n = deep_waits(18 * 32, 1000 * US, 1050 * US);
	ok(n == 32, "one that lost more polls on but for its measured phase (%d)", n);
	n = deep_waits(17 * 400, 50 * US, 50 * US);
	ok(n == 0, "deep waits within the maximum (a phase: 400 of 50 us): no sleeping phase is tried (%d)", n);
	request = 60 << 10;
	n = deep_waits(17 * 32, 1000 * US, 1000 * US);
	ok(n == 0, "nor with requests of 60 KiB (a latency-bound device), whatever the waits (%d)", n);
	request = 64 << 10;
	n = deep_waits(18 * 32, 1000 * US, 1000 * US);
	ok(n == 17 * 32, "64 KiB: tried, and chosen (%d)", n);
	request = 128 << 10;
	n = deep_waits(16, 1000 * US, 1000 * US);
	fake_ns += 50000 * US;
	n += deep_waits(32 + 32, 1000 * US, 1500 * US);
	ok(n == 32, "a phase that deep waits stop in for 50 ms starts again: its rate leaves the pause out (%d)", n);
	n = deep_waits(16 * 32, 1000 * US, 1500 * US);
	ok(n == 0, "and the sleeping phase that lost a third of the rate is not chosen (%d)", n);
	ok(pollwin_window(&w, PW_GUEST) == 0, "deep waits enter no history");
	start_wakes(POLL_ADAPTIVE, 200 * US, false);
	n = deep_waits(18 * 32, 1000 * US, 1000 * US);
	ok(n == 0 && !w.idle_from, "a thread its devices do not wake never sleeps through a deep wait (%d)", n);
	start(POLL_FIXED, 0);
	ok(pollwin_expired(&w, look, NULL), "a context that must sleep at once sleeps whatever the depth");
	pollwin_busy(&w);
	ok(counter(PWC_device_idles) == 1, "a fixed window counts a deep wait as one for the device");
	start(POLL_NEVER_SLEEP, 0);
	waiting = PW_GUEST;
	ok(!pollwin_expired(&w, look, NULL) && !w.idle_from, "--poll-us 0: never sleeps, and starts no idle period");
}

int main(void)
{
	fixed();
	adaptive();
	apart();
	probes();
	deep();
	return tap_done();
}

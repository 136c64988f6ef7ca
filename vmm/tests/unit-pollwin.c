/* unit-pollwin.c - unit tests of the idle window (pollwin.c): fixed and never-ending windows, the adaptive
 * window that covers 7 of 8 recent idle periods or closes, its memory, and its counters. */
#include <stdio.h>

#include "tap.h"
#include "virtio.h"

#define US 1000ull

static struct pollwin w;

static void start(enum poll_kind kind, uint64_t ns)
{
	struct poll_policy p = { kind, ns };

	pollwin_init(&w, &p);
}

/* n rounds of the idle periods pattern[0..k) */
static void feed(const uint64_t *pattern, int k, int n)
{
	for (int r = 0; r < n; r++)
		for (int i = 0; i < k; i++)
			pollwin_idle_end(&w, pattern[i]);
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
	ok(pollwin_window(&w) == POLLWIN_NEVER && counter(PWC_window_now_ns) == POLLWIN_NEVER,
	   "--poll-us 0: a window that never ends");
	start(POLL_FIXED, 50 * US);
	feed(gaps, 2, 50);
	ok(pollwin_window(&w) == 50 * US, "--poll-us 50: 50 us whatever the traffic");
	ok(counter(PWC_idles) == 100 && counter(PWC_idle_ns) == 50 * 3001 * US && counter(PWC_window_ns) == 100 * 50 * US,
	   "idle periods, their length and the window in force are counted (%llu, %llu, %llu)",
	   (unsigned long long)counter(PWC_idles), (unsigned long long)counter(PWC_idle_ns),
	   (unsigned long long)counter(PWC_window_ns));
	start(POLL_FIXED, 0);
	feed(gaps, 2, 50);
	ok(pollwin_window(&w) == 0, "a context that must sleep at once: a window of 0");
}

static void adaptive(void)
{
	static const uint64_t qd1[] = { 20 * US, 1 * US };           /* device time, guest turnaround */
	static const uint64_t low_rate[] = { 20 * US, 1980 * US };   /* 500 IOPS */
	static const uint64_t seven_short[] = { 3 * US, 3 * US, 3 * US, 3 * US, 3 * US, 3 * US, 3 * US, 900 * US };
	static const uint64_t six_short[] = { 3 * US, 3 * US, 3 * US, 3 * US, 3 * US, 3 * US, 900 * US, 900 * US };
	static const uint64_t tiny[] = { 300 };

	start(POLL_ADAPTIVE, 200 * US);
	ok(pollwin_window(&w) == 200 * US, "adaptive, no history yet: the maximum");
	feed(qd1, 2, 40);
	ok(pollwin_window(&w) == 32768, "20 us and 1 us idle periods: a window of 32.8 us covers them (%llu)",
	   (unsigned long long)pollwin_window(&w));
	feed(low_rate, 2, 40);
	ok(pollwin_window(&w) == 0, "half of the periods 2 ms long (500 IOPS): it closes, the thread sleeps at once");
	feed(qd1, 2, 40);
	ok(pollwin_window(&w) == 32768, "back to the short periods: it opens again within 80 of them");
	feed(seven_short, 8, 20);
	ok(pollwin_window(&w) == 4096, "7 of 8 periods of 3 us: a window of 4.1 us (%llu)", (unsigned long long)pollwin_window(&w));
	feed(six_short, 8, 20);
	ok(pollwin_window(&w) == 0, "6 of 8: closed (a poll would fail one time in four)");
	feed(tiny, 1, 160);
	ok(pollwin_window(&w) == 1024, "sub-microsecond periods: the smallest window, 1 us (%llu)",
	   (unsigned long long)pollwin_window(&w));
	start(POLL_ADAPTIVE, 20 * US);
	feed(qd1, 2, 40);
	ok(pollwin_window(&w) == 0, "a maximum of 20 us cannot cover the 20 us periods (its bucket ends at 32.8 us): closed");
	start(POLL_ADAPTIVE, 200 * US);
	feed(qd1, 2, 40);
	ok(counter(PWC_window_now_ns) == pollwin_window(&w) && counter(PWC_idles) == 80,
	   "the gauge follows the window; every period is counted");
}

/* A wait for a deep queue: an adaptive window never sleeps through it (and starts no idle period); a fixed one does. */
static void deep(void)
{
	static const uint64_t low_rate[] = { 20 * US, 1980 * US };

	start(POLL_ADAPTIVE, 200 * US);
	feed(low_rate, 2, 40);
	ok(pollwin_window(&w) == 0 && pollwin_expired(&w, false), "a closed window: a shallow wait sleeps at once");
	pollwin_busy(&w);
	ok(pollwin_starting(&w) && !pollwin_expired(&w, true) && !pollwin_expired(&w, true) && pollwin_starting(&w),
	   "the same window, a deep queue: it polls on, and no idle period starts");
	pollwin_busy(&w);
	ok(counter(PWC_idles) == 81, "the shallow wait was counted, the deep one enters no history");
	start(POLL_FIXED, 0);
	ok(pollwin_expired(&w, true), "a context that must sleep at once sleeps whatever the depth");
	start(POLL_NEVER_SLEEP, 0);
	ok(!pollwin_starting(&w) && !pollwin_expired(&w, false), "--poll-us 0: never sleeps, and never asks the depth");
}

int main(void)
{
	fixed();
	adaptive();
	deep();
	return tap_done();
}

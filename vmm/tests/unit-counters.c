/* unit-counters.c - counters by name: what each object publishes (its table, in its X-macro list's order,
 * gauges marked), and how the stats read a set over the window (a counter's change, a gauge's end value). */
#include <stdio.h>
#include <string.h>

#include "stats.h"
#include "tap.h"

/* The names of t joined by spaces, gauges marked with '*'. */
static const char *names_of(const struct counter_table *t)
{
	static char s[512];
	size_t n = 0;

	s[0] = 0;
	for (int i = 0; i < t->n && n < sizeof(s); i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%s%s", i ? " " : "", t->names[i],
				      t->gauge && t->gauge[i] ? "*" : "");
	return s;
}

static void tables(void)
{
	static struct vmm v;
	static struct emu_ctx c;
	const char *s;

	s = names_of(iocore_counters().table);
	ok(!strcmp(s, "polls busy_polls sleeps wakeups handoffs idles idle_ns window_ns device_idles probes deep_idles "
			"window_now_ns* device_window_now_ns* deep_sleeps*"),
	   "the IOCore publishes its counters, then its idle window's: %s", s);
	s = names_of(emu_ctx_counters(&c).table);
	ok(!strcmp(s, "wakeups idles idle_ns window_ns device_idles probes deep_idles window_now_ns* "
			"device_window_now_ns* deep_sleeps*"), "an emulation context: %s", s);
	s = names_of(vqueue_counters(NULL).table);
	ok(!strcmp(s, "requests completed errors unsupported bytes_read bytes_written flushes irqs notifies"),
	   "a queue: %s", s);
	s = names_of(vcpu_counters(&v, 0).table);
	ok(!strcmp(s, "io mmio hlt intr shutdown other"), "a vCPU, its exits by reason: %s", s);
}

static void reading(void)
{
	static struct emu_ctx c;
	struct source src = { .set = emu_ctx_counters(&c), .kind = SRC_CTX };
	uint64_t n;

	atomic_store(&c.n[ECC_wakeups], 5);
	c.win.n[PWC_window_now_ns] = 100;
	src.set.read(src.set.obj, src.at[AT_BEGIN]);
	atomic_store(&c.n[ECC_wakeups], 12);
	c.win.n[PWC_window_now_ns] = 40;
	src.set.read(src.set.obj, src.at[AT_END]);
	bool found = source_get(&src, "wakeups", &n);
	ok(found && n == 7, "a counter reads as its change over the window (%llu)", (unsigned long long)n);
	found = source_get(&src, "window_now_ns", &n);
	ok(found && n == 40, "a gauge as its value at the end (%llu)", (unsigned long long)n);
	found = source_get(&src, "nonesuch", &n);
	ok(!found && n == 0, "an unknown name is not found");
}

int main(void)
{
	tables();
	reading();
	return tap_done();
}

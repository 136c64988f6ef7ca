/* stats_json.c - the --stats document, "format": 2 (fields in the README), written with lib/json.c from the
 * window's snapshots (stats.c): every counter under the name its object publishes. A figure that could not
 * be measured (KVM statistics this kernel lacks) is null, never 0. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "stats.h"

#define STATS_FORMAT 2

/* The KVM statistics reported per vCPU (all of them are summed in "kvm"). */
static const char *const vcpu_kvm_names[] = { "exits", "irq_exits", "halt_exits", "irq_injections",
					      "io_exits", "mmio_exits", "insn_emulation" };
#define N_VCPU_KVM (int)(sizeof(vcpu_kvm_names) / sizeof(vcpu_kvm_names[0]))

/* ---- helpers ---- */

struct fd_sink {
	int fd;
	int err; /* the first write's errno, or -1 for a short write */
};

static void to_fd(void *ctx, const char *text, size_t len)
{
	struct fd_sink *o = ctx;

	while (len && !o->err) {
		ssize_t n = write(o->fd, text, len);

		if (n <= 0)
			o->err = n < 0 ? errno : -1;
		else
			text += n, len -= (size_t)n;
	}
}

static void per_io(struct json *w, const char *key, uint64_t n, uint64_t ios)
{
	json_ratio(w, key, n, ios, 6);
}

static void cpu_us(struct json *w, const char *key, uint64_t ns)
{
	json_ratio(w, key, ns, 1000, 1);
}

static void u64_or_null(struct json *w, const char *key, bool ok, uint64_t n)
{
	if (ok)
		json_u64(w, key, n);
	else
		json_null(w, key);
}

static void per_io_or_null(struct json *w, const char *key, bool ok, uint64_t n, uint64_t ios)
{
	if (ok)
		per_io(w, key, n, ios);
	else
		json_null(w, key);
}

/* Every value of a published set by its name; a gauge at UINT64_MAX (none) is null. */
static void write_set(struct json *w, const struct source *s)
{
	const struct counter_table *t = s->set.table;

	for (int i = 0; i < t->n; i++) {
		uint64_t v = source_value(s, i);

		if (t->gauge && t->gauge[i] && v == UINT64_MAX)
			json_null(w, t->names[i]);
		else
			json_u64(w, t->names[i], v);
	}
}

/* What an idle window's counters give (pollwin.c): its mean, and its idle periods per I/O. */
static void write_window(struct json *w, const struct source *s, uint64_t ios)
{
	uint64_t idles, window;

	if (!source_get(s, "idles", &idles) || !source_get(s, "window_ns", &window))
		return;
	json_ratio(w, "window_mean_ns", window, idles, 1);
	per_io(w, "idles_per_io", idles, ios);
}

/* The sum of every value of table t over the sources of a kind (none: zeros), by name. */
static void write_sum(struct json *w, const struct stats *st, enum source_kind kind, const struct counter_table *t)
{
	for (int k = 0; k < t->n; k++)
		json_u64(w, t->names[k], sources_sum(st, kind, t->names[k]));
}

static const struct source *find_source(const struct stats *st, enum source_kind kind, int index)
{
	for (int i = 0; i < st->nsrc; i++)
		if (st->src[i].kind == kind && st->src[i].index == index)
			return &st->src[i];
	return NULL;
}

/* ---- the document's parts, in its order ---- */

static void write_cpu_list(struct json *w, const char *key, const struct cpu_list *l)
{
	char s[3 * 64 + 8];

	cpu_list_format(l, s, sizeof(s));
	if (l->n)
		json_str(w, key, s);
	else
		json_null(w, key);
}

static void write_affinity(struct json *w, const struct vmm *v)
{
	const struct stats *st = v->stats;
	char key[16];

	json_obj(w, "affinity");
	for (int i = 0; i < v->kvm.nvcpus; i++) {
		snprintf(key, sizeof(key), "vcpu%d", i);
		json_str(w, key, st->vcpu[i].affinity);
	}
	if (iocore_tid())
		json_str(w, "iocore", st->iocore.affinity);
	for (int i = 0; i < v->nctx; i++)
		if (v->ctx[i]->tid) {
			snprintf(key, sizeof(key), "dev%d", i);
			json_str(w, key, st->ctx[i].affinity);
		}
	json_obj_end(w);
}

static void write_config(struct json *w, const struct vmm *v)
{
	const struct vmm_config *c = &v->cfg;

	json_obj(w, "config");
	json_str(w, "request", c->request->m.name);
	json_str(w, "emulation", c->emulation->m.name);
	json_str(w, "completion", c->completion->m.name);
	json_str(w, "transport", c->transport->m.name);
	json_str(w, "emulation_asked", c->emulation_asked->m.name);
	json_str(w, "contexts", c->contexts == CTX_PER_DEVICE ? "device" : "queue");
	json_u64(w, "poll_us", c->poll.ns / 1000);
	json_bool(w, "poll_adaptive", c->poll.kind == POLL_ADAPTIVE);
	json_u64(w, "cpus", (uint64_t)c->cpus);
	json_u64(w, "disks", (uint64_t)c->ndisks);
	json_obj(w, "pin");
	write_cpu_list(w, "vcpu", &c->pin.vcpu);
	write_cpu_list(w, "iocore", &c->pin.iocore);
	write_cpu_list(w, "dev", &c->pin.dev);
	json_obj_end(w);
	write_affinity(w, v);
	json_str(w, "kvm_flavor", v->kvm.flavor);
	json_bool(w, "emulated", v->kvm.emulated);
	json_str(w, "host_hypervisor", v->kvm.host_hv);
	json_bool(w, "posted_interrupts", v->kvm.posted_interrupts);
	json_str(w, "avic_inhibitors", v->kvm.avic_inhibitors);
	json_str(w, "hlt_exits", c->hlt_exits->m.name);
	json_bool(w, "hlt_exits_off", v->kvm.hlt_exits_off);
	json_bool(w, "hints_realtime", v->kvm.hints_realtime);
	json_bool(w, "pv_eoi", v->kvm.pv_eoi);
	json_bool(w, "poll_control", v->kvm.poll_control);
	json_obj_end(w);
}

/* The headline counts. KVM's `exits` also counts the host's own interrupts that land while a vCPU runs
 * (timer ticks, the host disk's completions, IPIs): `irq_exits`. Those occur at the host's rate whatever the
 * guest does, so `exits` here is what the guest caused (PIO/MMIO, HLT, MSR, EOI, ...) and the host-interrupt
 * exits are reported beside it. */
static void write_headline(struct json *w, const struct vmm *v, uint64_t ios)
{
	const struct stats *st = v->stats;
	uint64_t all = 0, host = 0;
	bool ok = kvm_stats_delta(&st->kvm, v->kvm.nvcpus, "exits", -1, &all) &&
		  kvm_stats_delta(&st->kvm, v->kvm.nvcpus, "irq_exits", -1, &host);
	uint64_t guest = all - (host < all ? host : all);

	json_u64(w, "ios", ios);
	u64_or_null(w, "exits", ok, guest);
	u64_or_null(w, "host_irq_exits", ok, host);
	u64_or_null(w, "exits_all", ok, all);
	per_io_or_null(w, "exits_per_io", ok, guest, ios);
	per_io_or_null(w, "host_irq_exits_per_io", ok, host, ios);
	per_io_or_null(w, "exits_all_per_io", ok, all, ios);
	per_io(w, "irqs_per_io", sources_sum(st, SRC_QUEUE, "irqs"), ios);
	per_io(w, "notifies_per_io", sources_sum(st, SRC_QUEUE, "notifies"), ios);
}

/* CPU time over the window of every host thread (with_vcpus) or of the I/O threads only. */
static uint64_t cpu_total(const struct vmm *v, bool with_vcpus)
{
	const struct stats *st = v->stats;
	uint64_t t = thread_cpu_ns(&st->iocore);

	for (int c = 0; with_vcpus && c < v->kvm.nvcpus; c++)
		t += thread_cpu_ns(&st->vcpu[c]);
	for (int i = 0; i < v->nctx; i++)
		t += thread_cpu_ns(&st->ctx[i]);
	return t;
}

static void write_kvm(struct json *w, const struct vmm *v)
{
	const struct kvm_stats *k = &v->stats->kvm;
	uint64_t n;

	if (!k->ok) {
		json_null(w, "kvm");
		return;
	}
	json_obj(w, "kvm");
	for (int i = 0; i < k->n; i++) {
		kvm_stats_delta(k, v->kvm.nvcpus, k->name[i], -1, &n);
		json_u64(w, k->name[i], n);
	}
	json_obj_end(w);
}

static void write_vcpus(struct json *w, const struct vmm *v)
{
	const struct stats *st = v->stats;
	uint64_t n;

	json_obj(w, "vmm_exits");
	write_sum(w, st, SRC_VCPU, vcpu_counters(v, 0).table);
	json_obj_end(w);
	json_arr(w, "vcpus");
	for (int c = 0; c < v->kvm.nvcpus; c++) {
		json_obj(w, NULL);
		json_u64(w, "vcpu", (uint64_t)c);
		cpu_us(w, "cpu_us", thread_cpu_ns(&st->vcpu[c]));
		json_obj(w, "vmm_exits");
		write_set(w, find_source(st, SRC_VCPU, c));
		json_obj_end(w);
		if (!st->kvm.ok) {
			json_null(w, "kvm");
		} else {
			json_obj(w, "kvm");
			for (int i = 0; i < N_VCPU_KVM; i++) {
				bool ok = kvm_stats_delta(&st->kvm, v->kvm.nvcpus, vcpu_kvm_names[i], c, &n);

				u64_or_null(w, vcpu_kvm_names[i], ok, n); /* n read after the call, not beside it */
			}
			json_obj_end(w);
		}
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void write_memory(struct json *w, const struct vmm *v)
{
	json_obj(w, "memory");
	json_str(w, "backing", mem_backing_names[v->mem.backing]);
	json_str(w, "requested", mem_backing_names[v->mem.requested]);
	json_u64(w, "size_mib", v->mem.size >> 20);
	json_u64(w, "huge_mib", v->mem.backing == MEM_HUGETLB ? v->mem.size >> 20 : gmem_huge_kib(v->stats->huge_fd) >> 10);
	json_obj_end(w);
}

static void write_queues(struct json *w, const struct stats *st)
{
	json_obj(w, "devices");
	write_sum(w, st, SRC_QUEUE, vqueue_counters(NULL).table);
	json_u64(w, "wakeups", sources_sum(st, SRC_CTX, "wakeups"));
	json_obj_end(w);
	json_arr(w, "queues");
	for (int i = 0; i < st->nsrc; i++) {
		const struct source *s = &st->src[i];

		if (s->kind != SRC_QUEUE)
			continue;
		json_obj(w, NULL);
		json_u64(w, "disk", (uint64_t)s->disk);
		json_u64(w, "queue", (uint64_t)s->queue);
		write_set(w, s);
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void write_iocore(struct json *w, const struct stats *st, uint64_t ios)
{
	static const char *const per[] = { "polls", "sleeps", "wakeups" };
	const struct source *s = find_source(st, SRC_IOCORE, 0);
	char key[32];
	uint64_t n;

	json_obj(w, "iocore");
	write_set(w, s);
	write_window(w, s, ios);
	for (unsigned i = 0; i < sizeof(per) / sizeof(per[0]); i++) {
		source_get(s, per[i], &n);
		snprintf(key, sizeof(key), "%s_per_io", per[i]);
		per_io(w, key, n, ios);
	}
	json_obj_end(w);
}

/* Each emulation context: what it serves, where and how it runs, what its backend uses, its counters. */
static void write_contexts(struct json *w, const struct vmm *v, uint64_t ios)
{
	const struct stats *st = v->stats;

	json_arr(w, "contexts");
	for (int i = 0; i < v->nctx; i++) {
		const struct emu_ctx *c = v->ctx[i];
		const struct source *s = find_source(st, SRC_CTX, i);

		json_obj(w, NULL);
		json_u64(w, "ctx", (uint64_t)i);
		json_u64(w, "disk", (uint64_t)c->dev->index);
		json_u64(w, "first_queue", c->q[0]->index);
		json_u64(w, "queues", (uint64_t)c->nq);
		json_str(w, "mode", c->mode->m.name);
		json_str(w, "affinity", c->tid ? st->ctx[i].affinity : st->iocore.affinity);
		json_bool(w, "spins", c->win.policy.kind != POLL_FIXED || c->win.policy.ns);
		json_bool(w, "realtime", atomic_load(&c->rt_ok));
		json_str(w, "backend", c->info);
		write_set(w, s);
		write_window(w, s, ios);
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void write_threads(struct json *w, const struct vmm *v)
{
	const struct stats *st = v->stats;
	uint64_t t = 0;
	char key[16];

	for (int c = 0; c < v->kvm.nvcpus; c++)
		t += thread_cpu_ns(&st->vcpu[c]);
	json_obj(w, "threads");
	json_obj(w, "vcpu");
	cpu_us(w, "cpu_us", t);
	json_obj_end(w);
	if (iocore_tid()) {
		json_obj(w, "iocore");
		cpu_us(w, "cpu_us", thread_cpu_ns(&st->iocore));
		json_obj_end(w);
	}
	for (int i = 0; i < v->nctx; i++) {
		const struct emu_ctx *c = v->ctx[i];

		if (!c->tid)
			continue; /* inline: its time is the IOCore's */
		snprintf(key, sizeof(key), "dev%d", i);
		json_obj(w, key);
		cpu_us(w, "cpu_us", thread_cpu_ns(&st->ctx[i]));
		json_str(w, "kind", c->mode->kind);
		json_bool(w, "realtime", atomic_load(&c->rt_ok));
		json_u64(w, "disk", (uint64_t)c->dev->index);
		json_u64(w, "queues", (uint64_t)c->nq);
		json_obj_end(w);
	}
	json_obj_end(w);
}

int stats_write(struct vmm *v, int fd)
{
	const struct stats *st = v->stats;
	struct fd_sink out = { fd, 0 };
	uint64_t ios = sources_sum(st, SRC_QUEUE, "completed");
	struct json w;

	json_begin(&w, to_fd, &out);
	json_u64(&w, "format", STATS_FORMAT);
	write_config(&w, v);
	json_obj(&w, "window");
	json_u64(&w, "ns", st->t_ns[AT_END] - st->t_ns[AT_BEGIN]);
	json_bool(&w, "marked", st->marks_begin && st->marks_end);
	json_obj_end(&w);
	write_headline(&w, v, ios);
	json_ratio(&w, "cpu_us_per_io", cpu_total(v, true), ios * 1000, 3);
	json_ratio(&w, "io_cpu_us_per_io", cpu_total(v, false), ios * 1000, 3);
	json_ratio(&w, "iops_per_core", ios * 1000000000ull, cpu_total(v, true), 1);
	write_kvm(&w, v);
	write_vcpus(&w, v);
	write_memory(&w, v);
	write_queues(&w, st);
	write_iocore(&w, st, ios);
	write_contexts(&w, v, ios);
	write_threads(&w, v);
	json_u64(&w, "notifies", sources_sum(st, SRC_QUEUE, "notifies"));
	json_u64(&w, "irqs_sent", sources_sum(st, SRC_QUEUE, "irqs"));
	json_end(&w);
	if (out.err)
		return err_set("cannot write the stats: %s", out.err > 0 ? strerror(out.err) : "short write");
	return 0;
}

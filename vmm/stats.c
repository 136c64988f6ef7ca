/* stats.c - exit and cost accounting over the guest's measured window (marker port writes):
 * KVM binary statistics of every vCPU, the VMM's own counts by name, and the CPU time of every host
 * thread. Output: `--stats FILE`, JSON, "format": 2 (fields documented in the README). A figure that
 * could not be measured (KVM statistics this kernel lacks) is null, never 0. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "blk.h"

#define STATS_FORMAT 2
#define MAX_KVM_STATS 96
#define KVM_NAME_MAX 64
#define MAX_QUEUES (VMM_MAX_DISKS * VIRTIO_MAX_QUEUES)
#define MAX_CTX (VMM_MAX_DISKS * VIRTIO_MAX_QUEUES)

enum exit_reason {
#define X(name) EXIT_##name,
	EXIT_REASONS(X)
#undef X
	EXIT_COUNT
};
static const char *const exit_names[EXIT_COUNT] = {
#define X(name) #name,
	EXIT_REASONS(X)
#undef X
};

/* The KVM statistics reported per vCPU (all of them are summed in "kvm"). */
static const char *const vcpu_kvm_names[] = { "exits", "irq_exits", "halt_exits", "irq_injections",
					      "io_exits", "mmio_exits", "insn_emulation" };
#define N_VCPU_KVM (int)(sizeof(vcpu_kvm_names) / sizeof(vcpu_kvm_names[0]))

struct snap {
	uint64_t t_ns;
	uint64_t kvm[VMM_MAX_VCPUS][MAX_KVM_STATS];
	uint64_t exits[VMM_MAX_VCPUS][EXIT_COUNT];
	uint64_t q[MAX_QUEUES][QC_COUNT];
	uint64_t wakeups[MAX_CTX];
	uint64_t ctx_win[MAX_CTX][PWC_COUNT];
	uint64_t io[IOC_COUNT];
	uint64_t io_win[PWC_COUNT];
	uint64_t cpu_vcpu[VMM_MAX_VCPUS], cpu_iocore, cpu_ctx[MAX_CTX];
};

struct stats {
	int n;                          /* single-value KVM statistics (vCPU 0's descriptors) */
	bool kvm_ok;                    /* every vCPU has a stats fd */
	char name[MAX_KVM_STATS][KVM_NAME_MAX];
	uint64_t off[MAX_KVM_STATS];
	int cpu_fd_vcpu[VMM_MAX_VCPUS], cpu_fd_iocore, cpu_fd_ctx[MAX_CTX];
	char aff_vcpu[VMM_MAX_VCPUS][64], aff_iocore[64], aff_ctx[MAX_CTX][64]; /* pinning that took effect */
	int huge_fd;                    /* /proc/self/smaps_rollup, for the huge pages that back guest RAM */
	struct snap begin, end;
	int marks_begin, marks_end;
};

/* Reads the descriptors of vCPU 0's binary stats: the single-value counters are kept (every vCPU has
 * the same layout). Returns false when this kernel has no binary stats. */
static bool kvm_stats_open(struct stats *s, int fd)
{
	struct kvm_stats_header h;
	size_t dsz;
	uint8_t *descs;

	if (fd < 0 || pread(fd, &h, sizeof(h), 0) != sizeof(h))
		return false;
	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = malloc(dsz * h.num_desc);
	if (!descs || pread(fd, descs, dsz * h.num_desc, h.desc_offset) != (ssize_t)(dsz * h.num_desc)) {
		free(descs);
		return false;
	}
	for (uint32_t i = 0; i < h.num_desc && s->n < MAX_KVM_STATS; i++) {
		struct kvm_stats_desc *d = (struct kvm_stats_desc *)(descs + i * dsz);

		if (d->size != 1)
			continue; /* histograms are left out */
		snprintf(s->name[s->n], KVM_NAME_MAX, "%s", d->name);
		s->off[s->n++] = h.data_offset + d->offset;
	}
	free(descs);
	return true;
}

static void read_exits(const struct exit_counts *e, uint64_t *out)
{
#define X(name) out[EXIT_##name] = atomic_load_explicit(&e->name, memory_order_relaxed);
	EXIT_REASONS(X)
#undef X
}

/* The device-side counters (shared memory: still readable once the I/O threads have stopped). */
static void take_counters(struct vmm *v, struct snap *p)
{
	int k = 0;

	for (int d = 0; d < v->ndisks; d++)
		for (int q = 0; q < v->disks[d]->nqueues; q++)
			queue_counters_read(&v->disks[d]->queues[q].c, p->q[k++]);
	for (int i = 0; i < v->nctx; i++) {
		p->wakeups[i] = atomic_load(&v->ctx[i]->wakeups);
		pollwin_counters_read(&v->ctx[i]->win, p->ctx_win[i]);
	}
	iocore_counters_read(p->io);
	iocore_window_read(p->io_win);
}

static void take(struct vmm *v, struct snap *p)
{
	struct stats *s = v->stats;

	memset(p, 0, sizeof(*p));
	p->t_ns = mono_ns();
	for (int c = 0; c < v->kvm.nvcpus; c++) {
		for (int i = 0; s->kvm_ok && i < s->n; i++)
			if (pread(v->kvm.vcpu[c].stats_fd, &p->kvm[c][i], 8, (off_t)s->off[i]) != 8)
				p->kvm[c][i] = 0;
		read_exits(&v->exits[c], p->exits[c]);
		p->cpu_vcpu[c] = task_cpu_ns(s->cpu_fd_vcpu[c]);
	}
	for (int i = 0; i < v->nctx; i++)
		p->cpu_ctx[i] = task_cpu_ns(s->cpu_fd_ctx[i]);
	p->cpu_iocore = task_cpu_ns(s->cpu_fd_iocore);
	take_counters(v, p);
}

int stats_init(struct vmm *v)
{
	struct stats *s = calloc(1, sizeof(*s));

	if (!s)
		return err_set("out of memory");
	v->stats = s;
	s->kvm_ok = kvm_stats_open(s, v->kvm.vcpu[0].stats_fd);
	s->huge_fd = gmem_huge_open();
	for (int c = 0; c < v->kvm.nvcpus; c++) {
		s->kvm_ok &= v->kvm.vcpu[c].stats_fd >= 0;
		s->cpu_fd_vcpu[c] = task_cpu_open(v->vcpu_tid[c]);
		task_affinity(v->vcpu_tid[c], s->aff_vcpu[c], sizeof(s->aff_vcpu[c]));
	}
	s->cpu_fd_iocore = iocore_tid() ? task_cpu_open(iocore_tid()) : -1;
	if (iocore_tid())
		task_affinity(iocore_tid(), s->aff_iocore, sizeof(s->aff_iocore));
	for (int i = 0; i < v->nctx; i++) {
		s->cpu_fd_ctx[i] = v->ctx[i]->tid ? task_cpu_open(v->ctx[i]->tid) : -1;
		if (v->ctx[i]->tid)
			task_affinity(v->ctx[i]->tid, s->aff_ctx[i], sizeof(s->aff_ctx[i]));
	}
	take(v, &s->begin);
	return 0;
}

void stats_mark(struct vmm *v, int which)
{
	struct stats *s = v->stats;

	if (!s)
		return;
	if (which == 1 && !s->marks_begin++) {
		take(v, &s->begin); /* the window starts at the first BEGIN */
	} else if (which == 2) {
		s->marks_end++;
		take(v, &s->end); /* and ends at the last END */
	}
}

void stats_close_window(struct vmm *v)
{
	if (v->stats && !v->stats->marks_end)
		take(v, &v->stats->end); /* no END marker: the window runs to the guest's exit */
}

void stats_drained(struct vmm *v)
{
	/* Without an END marker the requests the drain completed belong to the window too. */
	if (v->stats && !v->stats->marks_end)
		take_counters(v, &v->stats->end);
}

/* ---- the JSON ------------------------------------------------------------------------------- */

static double per_io(uint64_t n, uint64_t ios)
{
	return ios ? (double)n / (double)ios : 0.0;
}

/* Delta of one KVM statistic over the window, vCPU c (or all for -1); false when unavailable. */
static bool kvm_delta(const struct vmm *v, const char *name, int c, uint64_t *out)
{
	const struct stats *s = v->stats;

	*out = 0;
	for (int i = 0; s->kvm_ok && i < s->n; i++) {
		if (strcmp(s->name[i], name) != 0)
			continue;
		for (int k = c < 0 ? 0 : c; k < (c < 0 ? v->kvm.nvcpus : c + 1); k++)
			*out += s->end.kvm[k][i] - s->begin.kvm[k][i];
		return true;
	}
	return false;
}

static void json_u64_or_null(FILE *f, const char *key, bool ok, uint64_t n, const char *sep)
{
	if (ok)
		fprintf(f, "\"%s\": %" PRIu64 "%s", key, n, sep);
	else
		fprintf(f, "\"%s\": null%s", key, sep);
}

static void json_ratio_or_null(FILE *f, const char *key, bool ok, uint64_t n, uint64_t ios, const char *sep)
{
	if (ok)
		fprintf(f, "\"%s\": %.6f%s", key, per_io(n, ios), sep);
	else
		fprintf(f, "\"%s\": null%s", key, sep);
}

static void write_cpu_list(FILE *f, const char *key, const struct cpu_list *l, const char *sep)
{
	fprintf(f, "\"%s\": ", key);
	if (!l->n) {
		fprintf(f, "null%s", sep);
		return;
	}
	fputc('"', f);
	for (int i = 0; i < l->n; i++)
		fprintf(f, "%s%d", i ? ":" : "", l->cpu[i]);
	fprintf(f, "\"%s", sep);
}

static void write_config(FILE *f, const struct vmm *v)
{
	const struct vmm_config *c = &v->cfg;
	const struct stats *s = v->stats;

	fprintf(f, "  \"config\": {\"request\": \"%s\", \"emulation\": \"%s\", \"completion\": \"%s\", \"transport\": \"%s\", "
		   "\"emulation_asked\": \"%s\", \"contexts\": \"%s\", \"poll_us\": %" PRIu64 ", \"poll_adaptive\": %s, "
		   "\"cpus\": %d, \"disks\": %d, \"pin\": {",
		c->request->m.name, c->emulation->m.name, c->completion->m.name, c->transport->m.name, c->emulation_asked->m.name,
		c->contexts == CTX_PER_DEVICE ? "device" : "queue", c->poll.ns / 1000,
		c->poll.kind == POLL_ADAPTIVE ? "true" : "false", c->cpus, c->ndisks);
	write_cpu_list(f, "vcpu", &c->pin.vcpu, ", ");
	write_cpu_list(f, "iocore", &c->pin.iocore, ", ");
	write_cpu_list(f, "dev", &c->pin.dev, "}, \"affinity\": {");
	for (int i = 0; i < v->kvm.nvcpus; i++)
		fprintf(f, "%s\"vcpu%d\": \"%s\"", i ? ", " : "", i, s->aff_vcpu[i]);
	if (iocore_tid())
		fprintf(f, ", \"iocore\": \"%s\"", s->aff_iocore);
	for (int i = 0; i < v->nctx; i++)
		if (v->ctx[i]->tid)
			fprintf(f, ", \"dev%d\": \"%s\"", i, s->aff_ctx[i]);
	fprintf(f, "}, \"kvm_flavor\": \"%s\", \"emulated\": %s, \"host_hypervisor\": \"%s\", "
		   "\"posted_interrupts\": %s},\n", v->kvm.flavor, v->kvm.emulated ? "true" : "false", v->kvm.host_hv,
		v->kvm.posted_interrupts ? "true" : "false");
}

/* Sums of the queue counters over the window, over every queue of every disk. */
static void queue_sums(const struct vmm *v, uint64_t *sum)
{
	const struct stats *s = v->stats;
	int k = 0;

	memset(sum, 0, sizeof(uint64_t) * QC_COUNT);
	for (int d = 0; d < v->ndisks; d++)
		for (int q = 0; q < v->disks[d]->nqueues; q++, k++)
			for (int i = 0; i < QC_COUNT; i++)
				sum[i] += s->end.q[k][i] - s->begin.q[k][i];
}

/* The headline counts. KVM's `exits` also counts the host's own interrupts that land while a
 * vCPU runs (timer ticks, the host disk's completions, IPIs): `irq_exits`. Those occur at the
 * host's rate whatever the guest does, so `exits` here is what the guest caused (PIO/MMIO, HLT,
 * MSR, EOI, ...) and the host-interrupt exits are reported beside it. */
static void write_headline(FILE *f, const struct vmm *v, uint64_t ios, const uint64_t *sum)
{
	uint64_t all = 0, host = 0;
	bool ok = kvm_delta(v, "exits", -1, &all) && kvm_delta(v, "irq_exits", -1, &host);
	uint64_t guest = all - (host < all ? host : all);

	fprintf(f, "  \"ios\": %" PRIu64 ",\n  ", ios);
	json_u64_or_null(f, "exits", ok, guest, ",\n  ");
	json_u64_or_null(f, "host_irq_exits", ok, host, ",\n  ");
	json_u64_or_null(f, "exits_all", ok, all, ",\n  ");
	json_ratio_or_null(f, "exits_per_io", ok, guest, ios, ",\n  ");
	json_ratio_or_null(f, "host_irq_exits_per_io", ok, host, ios, ",\n  ");
	json_ratio_or_null(f, "exits_all_per_io", ok, all, ios, ",\n");
	fprintf(f, "  \"irqs_per_io\": %.6f,\n  \"notifies_per_io\": %.6f,\n", per_io(sum[QC_irqs], ios),
		per_io(sum[QC_notifies], ios));
}

static void write_kvm(FILE *f, const struct vmm *v)
{
	const struct stats *s = v->stats;
	uint64_t n;

	if (!s->kvm_ok) {
		fprintf(f, "  \"kvm\": null,\n");
		return;
	}
	fprintf(f, "  \"kvm\": {");
	for (int i = 0; i < s->n; i++) {
		kvm_delta(v, s->name[i], -1, &n);
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", s->name[i], n);
	}
	fprintf(f, "},\n");
}

static void write_counts(FILE *f, const char *const *names, const uint64_t *a, const uint64_t *b, int n)
{
	for (int i = 0; i < n; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", names[i], b[i] - a[i]);
}

static uint64_t exits_sum(const struct snap *p, int nvcpus, int r)
{
	uint64_t n = 0;

	for (int c = 0; c < nvcpus; c++)
		n += p->exits[c][r];
	return n;
}

static void write_vcpus(FILE *f, const struct vmm *v)
{
	const struct stats *s = v->stats;
	uint64_t a[EXIT_COUNT], b[EXIT_COUNT], n;

	for (int r = 0; r < EXIT_COUNT; r++)
		a[r] = exits_sum(&s->begin, v->kvm.nvcpus, r), b[r] = exits_sum(&s->end, v->kvm.nvcpus, r);
	fprintf(f, "  \"vmm_exits\": {");
	write_counts(f, exit_names, a, b, EXIT_COUNT);
	fprintf(f, "},\n  \"vcpus\": [");
	for (int c = 0; c < v->kvm.nvcpus; c++) {
		fprintf(f, "%s\n    {\"vcpu\": %d, \"cpu_us\": %.1f, \"vmm_exits\": {", c ? "," : "", c,
			(double)(s->end.cpu_vcpu[c] - s->begin.cpu_vcpu[c]) / 1e3);
		write_counts(f, exit_names, s->begin.exits[c], s->end.exits[c], EXIT_COUNT);
		fprintf(f, "}, \"kvm\": ");
		if (!s->kvm_ok) {
			fprintf(f, "null}");
			continue;
		}
		fputc('{', f);
		for (int i = 0; i < N_VCPU_KVM; i++) {
			bool ok = kvm_delta(v, vcpu_kvm_names[i], c, &n);

			json_u64_or_null(f, vcpu_kvm_names[i], ok, n, i + 1 < N_VCPU_KVM ? ", " : "}}");
		}
	}
	fprintf(f, "\n  ],\n");
}

/* An idle window's numbers (pollwin.c): counters over the measured window, gauges at its end (a window that
 * never ends is null), the mean window and the idle periods per I/O. */
static void write_window(FILE *f, const uint64_t *a, const uint64_t *b, uint64_t ios)
{
	uint64_t idles = b[PWC_idles] - a[PWC_idles];

	for (int i = 0; i < PWC_COUNT; i++) {
		if (!pollwin_counter_gauge[i])
			fprintf(f, "\"%s\": %" PRIu64 ", ", pollwin_counter_names[i], b[i] - a[i]);
		else if (b[i] == POLLWIN_NEVER)
			fprintf(f, "\"%s\": null, ", pollwin_counter_names[i]);
		else
			fprintf(f, "\"%s\": %" PRIu64 ", ", pollwin_counter_names[i], b[i]);
	}
	fprintf(f, "\"window_mean_ns\": %.1f, \"idles_per_io\": %.6f",
		idles ? (double)(b[PWC_window_ns] - a[PWC_window_ns]) / (double)idles : 0.0, per_io(idles, ios));
}

static uint64_t ctx_wakeups(const struct vmm *v)
{
	const struct stats *s = v->stats;
	uint64_t n = 0;

	for (int i = 0; i < v->nctx; i++)
		n += s->end.wakeups[i] - s->begin.wakeups[i];
	return n;
}

static void write_queues(FILE *f, const struct vmm *v, const uint64_t *sum)
{
	const struct stats *s = v->stats;
	int k = 0;

	fprintf(f, "  \"devices\": {");
	write_counts(f, queue_counter_names, (uint64_t[QC_COUNT]){ 0 }, sum, QC_COUNT);
	fprintf(f, ", \"wakeups\": %" PRIu64 "},\n  \"queues\": [", ctx_wakeups(v));
	for (int d = 0; d < v->ndisks; d++) {
		for (int q = 0; q < v->disks[d]->nqueues; q++, k++) {
			fprintf(f, "%s\n    {\"disk\": %d, \"queue\": %d, ", k ? "," : "", d, q);
			write_counts(f, queue_counter_names, s->begin.q[k], s->end.q[k], QC_COUNT);
			fputc('}', f);
		}
	}
	fprintf(f, "\n  ],\n  \"iocore\": {");
	write_counts(f, iocore_counter_names, s->begin.io, s->end.io, IOC_COUNT);
	fprintf(f, ", ");
	write_window(f, s->begin.io_win, s->end.io_win, sum[QC_completed]);
	fprintf(f, ", \"polls_per_io\": %.6f, \"sleeps_per_io\": %.6f, \"wakeups_per_io\": %.6f},\n",
		per_io(s->end.io[IOC_polls] - s->begin.io[IOC_polls], sum[QC_completed]),
		per_io(s->end.io[IOC_sleeps] - s->begin.io[IOC_sleeps], sum[QC_completed]),
		per_io(s->end.io[IOC_wakeups] - s->begin.io[IOC_wakeups], sum[QC_completed]));
}

static void write_memory(FILE *f, const struct vmm *v)
{
	fprintf(f, "  \"memory\": {\"backing\": \"%s\", \"requested\": \"%s\", \"size_mib\": %" PRIu64
		   ", \"huge_mib\": %" PRIu64 "},\n", mem_backing_names[v->mem.backing], mem_backing_names[v->mem.requested],
		v->mem.size >> 20, v->mem.backing == MEM_HUGETLB ? v->mem.size >> 20 : gmem_huge_kib(v->stats->huge_fd) >> 10);
}

/* Each emulation context: what it serves, where and how it runs, what its backend uses. */
static void write_contexts(FILE *f, const struct vmm *v, uint64_t ios)
{
	const struct stats *s = v->stats;

	fprintf(f, "  \"contexts\": [");
	for (int i = 0; i < v->nctx; i++) {
		const struct emu_ctx *c = v->ctx[i];

		fprintf(f, "%s\n    {\"ctx\": %d, \"disk\": %d, \"first_queue\": %d, \"queues\": %d, \"mode\": \"%s\", "
			   "\"affinity\": \"%s\", \"spins\": %s, \"realtime\": %s, \"backend\": \"%s\", \"wakeups\": %" PRIu64 ", ",
			i ? "," : "", i, c->dev->index, c->q[0]->index, c->nq, c->mode->m.name,
			c->tid ? s->aff_ctx[i] : s->aff_iocore,
			c->win.policy.kind != POLL_FIXED || c->win.policy.ns ? "true" : "false",
			atomic_load(&c->rt_ok) ? "true" : "false", c->info, s->end.wakeups[i] - s->begin.wakeups[i]);
		write_window(f, s->begin.ctx_win[i], s->end.ctx_win[i], ios);
		fputc('}', f);
	}
	fprintf(f, "\n  ],\n");
}

static void write_threads(FILE *f, const struct vmm *v)
{
	const struct stats *s = v->stats;
	uint64_t t = 0;

	for (int c = 0; c < v->kvm.nvcpus; c++)
		t += s->end.cpu_vcpu[c] - s->begin.cpu_vcpu[c];
	fprintf(f, "  \"threads\": {\"vcpu\": {\"cpu_us\": %.1f}", (double)t / 1e3);
	if (iocore_tid())
		fprintf(f, ", \"iocore\": {\"cpu_us\": %.1f}", (double)(s->end.cpu_iocore - s->begin.cpu_iocore) / 1e3);
	for (int i = 0; i < v->nctx; i++) {
		const struct emu_ctx *c = v->ctx[i];

		if (!c->tid)
			continue; /* inline: its time is the IOCore's */
		fprintf(f, ", \"dev%d\": {\"cpu_us\": %.1f, \"kind\": \"%s\", \"realtime\": %s, \"disk\": %d, "
			   "\"queues\": %d}", i, (double)(s->end.cpu_ctx[i] - s->begin.cpu_ctx[i]) / 1e3,
			c->mode->kind, atomic_load(&c->rt_ok) ? "true" : "false", c->dev->index, c->nq);
	}
	fprintf(f, "},\n");
}

static uint64_t cpu_total(const struct vmm *v, const struct snap *p, bool with_vcpus)
{
	uint64_t t = p->cpu_iocore;

	for (int c = 0; with_vcpus && c < v->kvm.nvcpus; c++)
		t += p->cpu_vcpu[c];
	for (int i = 0; i < v->nctx; i++)
		t += p->cpu_ctx[i];
	return t;
}

int stats_write(struct vmm *v, int fd)
{
	struct stats *s = v->stats;
	struct snap *a = &s->begin, *b = &s->end;
	uint64_t sum[QC_COUNT], ios, cpu, io_cpu;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return err_set("cannot write the stats: %s", strerror(errno));
	queue_sums(v, sum);
	ios = sum[QC_completed];
	cpu = cpu_total(v, b, true) - cpu_total(v, a, true);
	io_cpu = cpu_total(v, b, false) - cpu_total(v, a, false);
	fprintf(f, "{\n  \"format\": %d,\n", STATS_FORMAT);
	write_config(f, v);
	fprintf(f, "  \"window\": {\"ns\": %" PRIu64 ", \"marked\": %s},\n", b->t_ns - a->t_ns,
		s->marks_begin && s->marks_end ? "true" : "false");
	write_headline(f, v, ios, sum);
	fprintf(f, "  \"cpu_us_per_io\": %.3f,\n  \"io_cpu_us_per_io\": %.3f,\n",
		ios ? (double)cpu / 1e3 / (double)ios : 0.0, ios ? (double)io_cpu / 1e3 / (double)ios : 0.0);
	write_kvm(f, v);
	write_vcpus(f, v);
	write_memory(f, v);
	write_queues(f, v, sum);
	write_contexts(f, v, ios);
	write_threads(f, v);
	fprintf(f, "  \"notifies\": %" PRIu64 ",\n  \"irqs_sent\": %" PRIu64 "\n}\n", sum[QC_notifies], sum[QC_irqs]);
	fclose(f);
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n <= 0) {
			free(buf);
			return err_set("cannot write the stats: %s", n < 0 ? strerror(errno) : "short write");
		}
		done += (size_t)n;
	}
	free(buf);
	return 0;
}

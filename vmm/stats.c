/* stats.c - exit and cost accounting over the guest's measured window (marker port writes):
 * KVM binary statistics of the vCPU, the VMM's own counts, and the CPU time of every host thread.
 * Output: `--stats FILE`, JSON, "format": 1 (fields documented in the README). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dev.h"

#define STATS_FORMAT 1
#define MAX_KVM_STATS 96
#define KVM_NAME_MAX 64

struct snap {
	uint64_t t_ns;
	uint64_t kvm[MAX_KVM_STATS];
	struct exit_counts exits;
	uint64_t dev[10];      /* summed struct dev_counters, in declaration order */
	uint64_t io[5];        /* struct iocore_stats */
	uint64_t cpu_vcpu, cpu_iocore, cpu_dev[VMM_MAX_DISKS];
};

struct stats {
	int fd;
	int n;
	char name[MAX_KVM_STATS][KVM_NAME_MAX];
	uint64_t off[MAX_KVM_STATS];
	pid_t vcpu_tid;
	struct snap begin, end;
	int marks_begin, marks_end;
};

static const char *const dev_names[10] = { "requests", "completed", "errors", "unsupported",
	"bytes_read", "bytes_written", "flushes", "irqs", "wakeups", "notifies" };
static const char *const io_names[5] = { "polls", "busy_polls", "sleeps", "wakeups", "handoffs" };

/* Reads the descriptors of the vCPU's binary stats: the single-value counters are kept. */
static void kvm_stats_open(struct stats *s, int vcpu_fd)
{
	struct kvm_stats_header h;
	size_t dsz;
	uint8_t *descs;

	s->fd = ioctl(vcpu_fd, KVM_GET_STATS_FD, NULL);
	if (s->fd < 0 || pread(s->fd, &h, sizeof(h), 0) != sizeof(h))
		return;
	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = malloc(dsz * h.num_desc);
	if (!descs || pread(s->fd, descs, dsz * h.num_desc, h.desc_offset) != (ssize_t)(dsz * h.num_desc)) {
		free(descs);
		return;
	}
	for (uint32_t i = 0; i < h.num_desc && s->n < MAX_KVM_STATS; i++) {
		struct kvm_stats_desc *d = (struct kvm_stats_desc *)(descs + i * dsz);

		if (d->size != 1)
			continue; /* histograms are left out */
		snprintf(s->name[s->n], KVM_NAME_MAX, "%s", d->name);
		s->off[s->n++] = h.data_offset + d->offset;
	}
	free(descs);
}

static void take(struct vmm *v, struct snap *p)
{
	struct stats *s = v->stats;
	const struct iocore_stats *io = iocore_stats();

	memset(p, 0, sizeof(*p));
	p->t_ns = mono_ns();
	for (int i = 0; i < s->n; i++)
		if (pread(s->fd, &p->kvm[i], 8, (off_t)s->off[i]) != 8)
			p->kvm[i] = 0;
	p->exits = v->exits;
	for (int i = 0; i < v->ndisks; i++) {
		const _Atomic uint64_t *c = &v->disks[i]->c.requests;

		for (int k = 0; k < 10; k++)
			p->dev[k] += atomic_load(&c[k]);
		p->cpu_dev[i] = v->disks[i]->emu_tid ? task_cpu_ns(v->disks[i]->emu_tid) : 0;
	}
	p->io[0] = io->polls, p->io[1] = io->busy_polls, p->io[2] = io->sleeps;
	p->io[3] = io->wakeups, p->io[4] = io->handoffs;
	p->cpu_vcpu = task_cpu_ns(s->vcpu_tid);
	p->cpu_iocore = iocore_tid() ? task_cpu_ns(iocore_tid()) : 0;
}

int stats_init(struct vmm *v)
{
	struct stats *s = calloc(1, sizeof(*s));

	if (!s)
		return err_set("out of memory");
	v->stats = s;
	s->fd = -1;
	s->vcpu_tid = gettid();
	kvm_stats_open(s, v->kvm.vcpu_fd);
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

static const char *mode_name(const struct vmm_config *c, int which)
{
	static const char *const req[] = { "exit", "ioeventfd", "exitless" };
	static const char *const emu[] = { "thread", "process" };
	static const char *const comp[] = { "irq", "poll" };

	return which == 0 ? req[c->request] : which == 1 ? emu[c->emulation] : comp[c->completion];
}

static double per_io(uint64_t n, uint64_t ios)
{
	return ios ? (double)n / (double)ios : 0.0;
}

static void write_config(FILE *f, const struct vmm *v)
{
	const struct vmm_config *c = &v->cfg;

	fprintf(f, "  \"config\": {\"request\": \"%s\", \"emulation\": \"%s\", \"completion\": \"%s\", "
		   "\"poll_us\": %ld, \"pin\": {\"vcpu\": %d, \"iocore\": %d, \"dev\": %d}, "
		   "\"kvm_flavor\": \"%s\", \"posted_interrupts\": %s, \"disks\": %d},\n",
		mode_name(c, 0), mode_name(c, 1), mode_name(c, 2), c->poll_us < 0 ? 0 : c->poll_us,
		c->pin.vcpu, c->pin.iocore, c->pin.dev, v->kvm.flavor,
		host_posted_interrupts() ? "true" : "false", c->ndisks);
}

static void write_counts(FILE *f, const char *key, const char *const *names, const uint64_t *a,
			 const uint64_t *b, int n)
{
	fprintf(f, "  \"%s\": {", key);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", names[i], b[i] - a[i]);
	fprintf(f, "},\n");
}

static void write_threads(FILE *f, const struct vmm *v, const struct snap *a, const struct snap *b)
{
	fprintf(f, "  \"threads\": {\"vcpu\": {\"cpu_us\": %.1f}", (double)(b->cpu_vcpu - a->cpu_vcpu) / 1e3);
	if (iocore_tid())
		fprintf(f, ", \"iocore\": {\"cpu_us\": %.1f}", (double)(b->cpu_iocore - a->cpu_iocore) / 1e3);
	for (int i = 0; i < v->ndisks; i++)
		fprintf(f, ", \"dev%d\": {\"cpu_us\": %.1f, \"kind\": \"%s\", \"realtime\": %s}", i,
			(double)(b->cpu_dev[i] - a->cpu_dev[i]) / 1e3,
			v->cfg.emulation == EMU_PROCESS ? "process" : "thread",
			atomic_load(&v->disks[i]->rt_ok) ? "true" : "false");
	fprintf(f, "},\n");
}

static uint64_t cpu_total(const struct vmm *v, const struct snap *p)
{
	uint64_t t = p->cpu_vcpu + p->cpu_iocore;

	for (int i = 0; i < v->ndisks; i++)
		t += p->cpu_dev[i];
	return t;
}

/* Delta of one KVM statistic over the window; 0 when this kernel does not have it. */
static uint64_t kvm_delta(const struct stats *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return s->end.kvm[i] - s->begin.kvm[i];
	return 0;
}

/* The headline counts. KVM's `exits` also counts the host's own interrupts that land while the
 * vCPU runs (timer ticks, the host disk's completions, IPIs): `irq_exits`. Those occur at the
 * host's rate whatever the guest does, so `exits` here is what the guest caused (PIO/MMIO, HLT,
 * MSR, EOI, ...) and the host-interrupt exits are reported beside it. */
static void write_headline(FILE *f, const struct stats *s, uint64_t ios)
{
	uint64_t all = kvm_delta(s, "exits"), host = kvm_delta(s, "irq_exits");
	uint64_t guest = all - (host < all ? host : all);
	const struct snap *a = &s->begin, *b = &s->end;

	fprintf(f, "  \"ios\": %" PRIu64 ",\n  \"exits\": %" PRIu64 ",\n  \"host_irq_exits\": %" PRIu64
		   ",\n  \"exits_all\": %" PRIu64 ",\n", ios, guest, host, all);
	fprintf(f, "  \"exits_per_io\": %.6f,\n  \"host_irq_exits_per_io\": %.6f,\n  \"exits_all_per_io\": %.6f,\n",
		per_io(guest, ios), per_io(host, ios), per_io(all, ios));
	fprintf(f, "  \"irqs_per_io\": %.6f,\n  \"notifies_per_io\": %.6f,\n",
		per_io(b->dev[7] - a->dev[7], ios), per_io(b->dev[9] - a->dev[9], ios));
}

int stats_write(struct vmm *v, const char *path)
{
	struct stats *s = v->stats;
	struct snap *a = &s->begin, *b = &s->end;
	static const char *const exit_names[6] = { "io", "mmio", "hlt", "intr", "shutdown", "other" };
	uint64_t ios, cpu;
	FILE *f;

	if (!s->marks_end)
		take(v, b); /* no END marker: the window runs to the guest's exit */
	ios = b->dev[1] - a->dev[1];
	cpu = cpu_total(v, b) - cpu_total(v, a);
	f = fopen(path, "w");
	if (!f)
		return err_set("cannot write %s: %s", path, strerror(errno));
	fprintf(f, "{\n  \"format\": %d,\n", STATS_FORMAT);
	write_config(f, v);
	fprintf(f, "  \"window\": {\"ns\": %" PRIu64 ", \"marked\": %s},\n", b->t_ns - a->t_ns,
		s->marks_begin && s->marks_end ? "true" : "false");
	write_headline(f, s, ios);
	fprintf(f, "  \"cpu_us_per_io\": %.3f,\n  \"io_cpu_us_per_io\": %.3f,\n",
		ios ? (double)cpu / 1e3 / (double)ios : 0.0,
		ios ? (double)(cpu - (b->cpu_vcpu - a->cpu_vcpu)) / 1e3 / (double)ios : 0.0);
	fprintf(f, "  \"kvm\": {");
	for (int i = 0; i < s->n; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", s->name[i], b->kvm[i] - a->kvm[i]);
	fprintf(f, "},\n");
	write_counts(f, "vmm_exits", exit_names, (uint64_t *)&a->exits, (uint64_t *)&b->exits, 6);
	write_counts(f, "devices", dev_names, a->dev, b->dev, 10);
	write_counts(f, "iocore", io_names, a->io, b->io, 5);
	write_threads(f, v, a, b);
	fprintf(f, "  \"notifies\": %" PRIu64 ",\n  \"irqs_sent\": %" PRIu64 "\n}\n",
		b->dev[9] - a->dev[9], b->dev[7] - a->dev[7]);
	return fclose(f) == 0 ? 0 : err_set("cannot write %s", path);
}

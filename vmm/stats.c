/* stats.c - the measured window (marker port writes): at each end a snapshot of every counter set the
 * objects publish (vCPUs, queues, emulation contexts, the IOCore: by name, vmm.h), of KVM's statistics
 * (stats_kvm.c) and of the CPU time of every host thread. The document is stats_json.c's. */
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static void add_source(struct stats *st, struct counter_set set, enum source_kind kind, int index)
{
	struct source *s = &st->src[st->nsrc++];

	if (set.table->n > COUNTERS_MAX)
		die(VMM_EXIT_FAILURE, "a counter set of %d values: COUNTERS_MAX is %d", set.table->n, COUNTERS_MAX);
	*s = (struct source){ .set = set, .kind = kind, .index = index };
}

/* Every object that publishes counters, in the order the document lists them. */
static void add_sources(struct stats *st, const struct vmm *v)
{
	int k = 0;

	for (int c = 0; c < v->kvm.nvcpus; c++)
		add_source(st, vcpu_counters(v, c), SRC_VCPU, c);
	for (int d = 0; d < v->ndisks; d++)
		for (int q = 0; q < v->disks[d]->nqueues; q++, k++) {
			add_source(st, vqueue_counters(&v->disks[d]->queues[q]), SRC_QUEUE, k);
			st->src[st->nsrc - 1].disk = d, st->src[st->nsrc - 1].queue = q;
		}
	for (int i = 0; i < v->nctx; i++)
		add_source(st, emu_ctx_counters(v->ctx[i]), SRC_CTX, i);
	add_source(st, iocore_counters(), SRC_IOCORE, 0);
}

static void open_thread(struct thread_cpu *t, pid_t tid)
{
	t->fd = tid ? task_cpu_open(tid) : -1;
	if (tid)
		task_affinity(tid, t->affinity, sizeof(t->affinity));
}

/* The published counters (shared memory: still readable once the I/O threads have stopped). */
static void take_counters(struct stats *st, int which)
{
	for (int i = 0; i < st->nsrc; i++)
		st->src[i].set.read(st->src[i].set.obj, st->src[i].at[which]);
}

static void take(struct vmm *v, int which)
{
	struct stats *st = v->stats;

	st->t_ns[which] = mono_ns();
	kvm_stats_take(&st->kvm, &v->kvm, which);
	for (int c = 0; c < v->kvm.nvcpus; c++)
		st->vcpu[c].at[which] = task_cpu_ns(st->vcpu[c].fd);
	for (int i = 0; i < v->nctx; i++)
		st->ctx[i].at[which] = task_cpu_ns(st->ctx[i].fd);
	st->iocore.at[which] = task_cpu_ns(st->iocore.fd);
	take_counters(st, which);
}

int stats_init(struct vmm *v)
{
	struct stats *st = calloc(1, sizeof(*st));

	if (!st)
		return err_set("out of memory");
	v->stats = st;
	kvm_stats_open(&st->kvm, &v->kvm);
	st->huge_fd = gmem_huge_open();
	for (int c = 0; c < v->kvm.nvcpus; c++)
		open_thread(&st->vcpu[c], v->vcpu_tid[c]);
	open_thread(&st->iocore, iocore_tid());
	for (int i = 0; i < v->nctx; i++)
		open_thread(&st->ctx[i], v->ctx[i]->tid);
	add_sources(st, v);
	take(v, AT_BEGIN);
	return 0;
}

void stats_mark(struct vmm *v, int which)
{
	struct stats *st = v->stats;

	if (!st)
		return;
	if (which == 1 && !st->marks_begin++) {
		take(v, AT_BEGIN); /* the window starts at the first BEGIN */
	} else if (which == 2) {
		st->marks_end++;
		take(v, AT_END); /* and ends at the last END */
	}
}

void stats_close_window(struct vmm *v)
{
	if (v->stats && !v->stats->marks_end)
		take(v, AT_END); /* no END marker: the window runs to the guest's exit */
}

bool stats_kvm_delta(const struct vmm *v, const char *name, int c, uint64_t *out)
{
	*out = 0;
	return v->stats && kvm_stats_delta(&v->stats->kvm, v->kvm.nvcpus, name, c, out);
}

void stats_drained(struct vmm *v)
{
	/* Without an END marker the requests the drain completed belong to the window too. */
	if (v->stats && !v->stats->marks_end)
		take_counters(v->stats, AT_END);
}

uint64_t source_value(const struct source *s, int i)
{
	const struct counter_table *t = s->set.table;

	if (t->gauge && t->gauge[i])
		return s->at[AT_END][i];
	return s->at[AT_END][i] - s->at[AT_BEGIN][i];
}

bool source_get(const struct source *s, const char *name, uint64_t *out)
{
	for (int i = 0; i < s->set.table->n; i++)
		if (strcmp(s->set.table->names[i], name) == 0) {
			*out = source_value(s, i);
			return true;
		}
	*out = 0;
	return false;
}

uint64_t sources_sum(const struct stats *st, enum source_kind kind, const char *name)
{
	uint64_t sum = 0, n;

	for (int i = 0; i < st->nsrc; i++)
		if (st->src[i].kind == kind && source_get(&st->src[i], name, &n))
			sum += n;
	return sum;
}

uint64_t thread_cpu_ns(const struct thread_cpu *t)
{
	return t->at[AT_END] - t->at[AT_BEGIN];
}

/* stats.h - what the accounting's files share: stats.c (the measured window and its snapshots of every
 * published counter set and host thread), stats_kvm.c (KVM's binary statistics) and stats_json.c (the
 * --stats document). */
#ifndef STATS_H
#define STATS_H

#include "virtio.h"

#define MAX_KVM_STATS 96
#define KVM_NAME_MAX 64
#define MAX_CTX (VMM_MAX_DISKS * VIRTIO_MAX_QUEUES)
#define MAX_SOURCES (VMM_MAX_VCPUS + VMM_MAX_DISKS * VIRTIO_MAX_QUEUES + MAX_CTX + 1)
enum { AT_BEGIN, AT_END };

/* ---- KVM's single-value statistics of every vCPU (stats_kvm.c) ---- */

struct kvm_stats {
	bool ok; /* every vCPU has a stats fd and the descriptors could be read */
	int n;
	char name[MAX_KVM_STATS][KVM_NAME_MAX];
	uint64_t off[MAX_KVM_STATS];
	uint64_t at[2][VMM_MAX_VCPUS][MAX_KVM_STATS];
};

/* Reads vCPU 0's descriptors (every vCPU has the same layout). */
void kvm_stats_open(struct kvm_stats *k, const struct kvm_vm *vm);
/* Snapshot of every vCPU's statistics into k->at[which]. */
void kvm_stats_take(struct kvm_stats *k, const struct kvm_vm *vm, int which);
/* Change of statistic `name` over the window, on vCPU c (-1: summed over the vCPUs); false when this kernel
 * has no binary statistics or no statistic of that name. */
bool kvm_stats_delta(const struct kvm_stats *k, int nvcpus, const char *name, int c, uint64_t *out);

/* ---- the window (stats.c) ---- */

/* Who published a counter set. */
enum source_kind { SRC_VCPU, SRC_QUEUE, SRC_CTX, SRC_IOCORE };

/* One published counter set and its values at both ends of the window. */
struct source {
	struct counter_set set;
	enum source_kind kind;
	int index;   /* vCPU; queue in disk order; context */
	int disk, queue;
	uint64_t at[2][COUNTERS_MAX];
};

/* A host thread's CPU time at both ends of the window, and the CPUs it was allowed on. */
struct thread_cpu {
	int fd;      /* task_cpu_open; -1: no such thread */
	char affinity[64];
	uint64_t at[2];
};

struct stats {
	struct kvm_stats kvm;
	struct source src[MAX_SOURCES];
	int nsrc;
	struct thread_cpu vcpu[VMM_MAX_VCPUS], iocore, ctx[MAX_CTX];
	int huge_fd;  /* /proc/self/smaps_rollup, for the huge pages that back guest RAM */
	uint64_t t_ns[2];
	int marks_begin, marks_end;
};

/* Value i of s over the window: a counter's change, a gauge's value at the end. */
uint64_t source_value(const struct source *s, int i);
/* The value named `name` of s over the window; false when s publishes no such name. */
bool source_get(const struct source *s, const char *name, uint64_t *out);
/* The sum of `name` over the window across every source of a kind. */
uint64_t sources_sum(const struct stats *st, enum source_kind kind, const char *name);
/* CPU time of a thread over the window, ns. */
uint64_t thread_cpu_ns(const struct thread_cpu *t);

#endif

/* stats_kvm.c - KVM's binary statistics of every vCPU (KVM_GET_STATS_FD): the single-value counters by the
 * names the kernel gives them, snapshotted at both ends of the measured window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"

/* Reads the descriptors of one vCPU's binary stats: the single-value counters are kept. Returns false when
 * this kernel has no binary stats. */
static bool read_descriptors(struct kvm_stats *k, int fd)
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
	for (uint32_t i = 0; i < h.num_desc && k->n < MAX_KVM_STATS; i++) {
		struct kvm_stats_desc *d = (struct kvm_stats_desc *)(descs + i * dsz);

		if (d->size != 1)
			continue; /* histograms are left out */
		snprintf(k->name[k->n], KVM_NAME_MAX, "%s", d->name);
		k->off[k->n++] = h.data_offset + d->offset;
	}
	free(descs);
	return true;
}

void kvm_stats_open(struct kvm_stats *k, const struct kvm_vm *vm)
{
	k->ok = read_descriptors(k, vm->vcpu[0].stats_fd);
	for (int c = 0; c < vm->nvcpus; c++)
		k->ok &= vm->vcpu[c].stats_fd >= 0;
}

void kvm_stats_take(struct kvm_stats *k, const struct kvm_vm *vm, int which)
{
	for (int c = 0; c < vm->nvcpus; c++)
		for (int i = 0; k->ok && i < k->n; i++)
			if (pread(vm->vcpu[c].stats_fd, &k->at[which][c][i], 8, (off_t)k->off[i]) != 8)
				k->at[which][c][i] = 0;
}

bool kvm_stats_delta(const struct kvm_stats *k, int nvcpus, const char *name, int c, uint64_t *out)
{
	*out = 0;
	for (int i = 0; k->ok && i < k->n; i++) {
		if (strcmp(k->name[i], name) != 0)
			continue;
		for (int v = c < 0 ? 0 : c; v < (c < 0 ? nvcpus : c + 1); v++)
			*out += k->at[AT_END][v][i] - k->at[AT_BEGIN][v][i];
		return true;
	}
	return false;
}

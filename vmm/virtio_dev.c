/* virtio_dev.c - what every virtio device shares: its queues in shared memory, NEEDS_RESET, publishing
 * used entries with the interrupt, and the per-queue counters by name. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio.h"

static const char *const queue_names[QC_COUNT] = { QUEUE_COUNTERS(COUNTER_NAME) };
static const struct counter_table queue_table = { queue_names, NULL, QC_COUNT };

static void queue_read(const void *obj, uint64_t *out)
{
	const struct queue_counters *c = obj;

#define X(name) out[QC_##name] = atomic_load_explicit(&c->name, memory_order_relaxed);
	QUEUE_COUNTERS(X)
#undef X
}

struct counter_set vqueue_counters(const struct vqueue *q)
{
	return (struct counter_set){ &queue_table, queue_read, q ? &q->c : NULL };
}

static size_t round64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

struct virtio_dev *virtio_dev_create(const struct virtio_dev_ops *ops, int index, int nqueues,
				     const struct guest_mem *m, size_t priv_size, size_t qpriv_size)
{
	size_t dsz = round64(sizeof(struct virtio_dev)), qsz = round64(sizeof(struct vqueue));
	size_t psz = round64(priv_size), qpsz = round64(qpriv_size);
	size_t total = dsz + (size_t)nqueues * qsz + psz + (size_t)nqueues * qpsz;
	uint8_t *blk;
	struct virtio_dev *d;

	if (nqueues < 1 || nqueues > VIRTIO_MAX_QUEUES)
		return err_set("%d queues: a device has 1 to %d", nqueues, VIRTIO_MAX_QUEUES), NULL;
	/* Shared, so that a device process forked later sees and updates the same state. */
	blk = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (blk == MAP_FAILED)
		return err_set("cannot allocate device state: %s", strerror(errno)), NULL;
	d = (struct virtio_dev *)blk;
	d->ops = ops;
	d->index = index;
	d->mem = m;
	d->nqueues = nqueues;
	d->queues = (struct vqueue *)(blk + dsz);
	d->priv = blk + dsz + (size_t)nqueues * qsz;
	for (int i = 0; i < nqueues; i++) {
		struct vqueue *q = &d->queues[i];

		q->dev = d;
		q->index = (uint16_t)i;
		q->notify_fd = -1;
		q->priv = blk + dsz + (size_t)nqueues * qsz + psz + (size_t)i * qpsz;
	}
	return d;
}

int virtio_dev_keep_fd(struct virtio_dev *d, int fd)
{
	if (d->nkeep == VIRTIO_KEEP_FDS)
		return err_set("device %d: too many file descriptors for its device process", d->index);
	d->keep_fds[d->nkeep++] = fd;
	return 0;
}

/* Asks the transport for the interrupt of queue `which` (or VIRTIO_SIGNAL_CONFIG) and counts one sent on q.
 * A device attached to no transport (the unit tests' and the fuzzers') raises nothing. */
static void raise_irq(struct virtio_dev *d, struct vqueue *q, int which)
{
	if (d->transport && d->transport->signal(d, which) && q)
		atomic_fetch_add(&q->c.irqs, 1);
}

void virtio_dev_broken(struct virtio_dev *d, struct vqueue *q, const char *why)
{
	struct vqueue *at = q ? q : &d->queues[0]; /* where the error and the interrupt are counted */

	for (int i = 0; i < d->nqueues; i++)
		atomic_store(&d->queues[i].active, 0);
	if (atomic_exchange(&d->broken, 1))
		return;
	fprintf(stderr, "vmm: disk %d needs a reset: %s\n", d->index, why);
	atomic_fetch_add(&at->c.errors, 1);
	raise_irq(d, at, VIRTIO_SIGNAL_CONFIG);
}

void virtio_queue_flush(struct vqueue *q)
{
	if (vq_publish_used(&q->vq))
		raise_irq(q->dev, q, q->index);
}

static void dev_dsdt(const void *o, struct aml *sb)
{
	const struct virtio_dev *d = o;

	if (d->transport && d->transport->acpi)
		d->transport->acpi(d, sb);
}

struct acpi_part virtio_dev_acpi_part(const struct virtio_dev *d)
{
	return (struct acpi_part){ .dsdt = dev_dsdt, .o = d };
}

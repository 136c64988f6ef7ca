/* msix.c - MSI-X for a PCI function (PCI Local Bus 3.0 §6.8.2): the capability, the vector table and the
 * pending-bit array in BAR 0, and raising a vector. Each vector has a GSI of its own with an irqfd bound to
 * it; the table entry the guest writes becomes the GSI's MSI route when the vector is unmasked, so KVM
 * delivers it inline from the eventfd write, straight to the LAPIC the guest named.
 *
 * Raising a vector (any thread, or a device process) and unblocking it (the vCPU thread: MSI-X enabled, the
 * function or the vector unmasked, a route installed) race; neither loses it: the raiser sets `pending`, fences,
 * then fires only if the vector is not blocked; the unblocker clears `blocked`, fences, then fires if `pending`
 * is set. Both take `pending` with an atomic exchange, so the interrupt is sent once. A message the guest aims
 * outside the LAPIC window, or at a vector below 16, is not routed (one line on stderr): the vector stays
 * pending. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pci.h"
#include "virtio.h" /* smp_mb */

static bool fire_now(struct msix_vec *v)
{
	uint64_t one = 1;

	return atomic_exchange(&v->pending, 0) && v->fd >= 0 && write(v->fd, &one, sizeof(one)) == sizeof(one);
}

bool msix_fire(struct msix_vec *v)
{
	atomic_store(&v->pending, 1);
	smp_mb(); /* pending store -> blocked load: pairs with the fence in unblock() */
	return !atomic_load(&v->blocked) && fire_now(v);
}

static uint16_t control(const struct msix *m)
{
	return (uint16_t)pci_cfg_get(m->f, m->cap + PCI_MSIX_FLAGS, 2);
}

bool msix_enabled(const struct msix *m)
{
	return control(m) & PCI_MSIX_FLAGS_ENABLE;
}

/* A message KVM may deliver: fixed or lowest-priority to a LAPIC, a vector of 16 or more, no remapping. */
static bool message_valid(const struct msix *m, int i)
{
	uint32_t lo = m->entry[i][0], hi = m->entry[i][1], data = m->entry[i][2];
	const char *why = NULL;

	if (hi || (lo & MSI_ADDR_MASK) != MSI_ADDR_BASE)
		why = "an address outside the LAPIC window 0xfee00000";
	else if ((data & MSI_DATA_VECTOR_MASK) < 16)
		why = "a vector below 16";
	else if ((data >> 8 & 7) > 1)
		why = "a delivery mode other than fixed or lowest priority";
	if (why)
		fprintf(stderr, "vmm: pci %s: MSI-X vector %d (address %#x:%08x, data %#x) has %s: not routed\n",
			m->f->name, i, hi, lo, data, why);
	return !why;
}

/* Vector i's route follows its table entry whenever it is unmasked (a guest changes an entry while it is
 * masked, then unmasks it: one routing update per change). */
static void route(struct msix *m, int i)
{
	const uint32_t *e = m->entry[i];

	if ((e[3] & PCI_MSIX_ENTRY_MASKED) || (m->seen[i] && !memcmp(m->route[i], e, sizeof(m->route[i]))))
		return;
	m->seen[i] = true;
	memcpy(m->route[i], e, sizeof(m->route[i]));
	m->routed[i] = message_valid(m, i);
	if (irq_route_msi(m->f->v, m->gsi[i], m->routed[i], m->entry[i][0], m->entry[i][1], m->entry[i][2]) < 0) {
		fprintf(stderr, "vmm: pci %s: MSI-X vector %d: %s\n", m->f->name, i, err_msg());
		m->routed[i] = false;
	}
}

/* Recomputes every vector's blocked state; a vector that unblocks with its pending bit set fires now. */
static void update(struct msix *m)
{
	uint16_t ctl = control(m);

	for (int i = 0; i < m->n; i++) {
		bool blocked;

		route(m, i);
		blocked = !(ctl & PCI_MSIX_FLAGS_ENABLE) || (ctl & PCI_MSIX_FLAGS_MASKALL) ||
			  (m->entry[i][3] & PCI_MSIX_ENTRY_MASKED) || !m->routed[i];
		atomic_store(&m->vec[i].blocked, blocked);
		smp_mb(); /* blocked store -> pending load: pairs with the fence in msix_fire() */
		if (!blocked && atomic_load(&m->vec[i].pending))
			fire_now(&m->vec[i]);
	}
}

void msix_config_written(struct msix *m, uint32_t off, uint32_t size)
{
	if (off < m->cap + (uint32_t)PCI_MSIX_CAP_SIZE && off + size > m->cap)
		update(m);
}

bool msix_owns(const struct msix *m, uint64_t off)
{
	return (off >= m->table_off && off < m->table_off + (uint64_t)m->n * PCI_MSIX_ENTRY_SIZE) ||
	       (off >= m->pba_off && off < m->pba_off + 8 * (((uint64_t)m->n + 63) / 64));
}

/* The PBA: bit i is vector i's pending bit; read-only. */
static void pba_read(const struct msix *m, uint64_t off, uint8_t *data, uint32_t size)
{
	for (uint32_t b = 0; b < size; b++) {
		uint8_t byte = 0;

		for (int bit = 0; bit < 8; bit++) {
			uint64_t i = (off - m->pba_off + b) * 8 + (uint64_t)bit;

			if (i < (uint64_t)m->n && atomic_load(&m->vec[i].pending))
				byte |= (uint8_t)(1u << bit);
		}
		data[b] = byte;
	}
}

/* The table: 32-bit or 64-bit accesses, naturally aligned (others read as zero, writes are dropped). */
void msix_access(struct msix *m, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	uint64_t rel = off - m->table_off;
	int i = (int)(rel / PCI_MSIX_ENTRY_SIZE), w = (int)(rel % PCI_MSIX_ENTRY_SIZE) / 4;

	if (off >= m->pba_off && off + size <= m->pba_off + 8 * (((uint64_t)m->n + 63) / 64)) {
		if (!is_write)
			pba_read(m, off, data, size);
		return;
	}
	if ((size != 4 && size != 8) || (off & (size - 1)) || off < m->table_off || i >= m->n) {
		if (!is_write)
			memset(data, 0, size);
		return;
	}
	if (!is_write) {
		memcpy(data, &m->entry[i][w], size);
		return;
	}
	memcpy(&m->entry[i][w], data, size);
	m->entry[i][3] &= PCI_MSIX_ENTRY_MASKED; /* the control word's other bits are reserved */
	update(m);
}

/* An irqfd for the vector, bound to its GSI, kept open in a device process. */
static int bind_vector(struct vmm *v, struct msix_vec *vec, unsigned gsi, int (*keep)(void *o, int fd), void *keep_o)
{
	struct kvm_irqfd irqfd = { .gsi = gsi };

	vec->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	irqfd.fd = (uint32_t)vec->fd;
	if (vec->fd < 0 || ioctl(v->kvm.vm_fd, KVM_IRQFD, &irqfd) < 0)
		return err_set("KVM_IRQFD (MSI-X, GSI %u): %s", gsi, strerror(errno));
	return keep(keep_o, vec->fd);
}

int msix_init(struct msix *m, struct vmm *v, struct pci_fn *f, int n, struct msix_vec *vec, uint32_t table_off,
	      uint32_t pba_off, int (*keep)(void *o, int fd), void *keep_o)
{
	uint8_t body[PCI_MSIX_CAP_SIZE - 2] = { 0 }, wmask[PCI_MSIX_CAP_SIZE - 2] = { 0 };
	uint16_t ctl = (uint16_t)(n - 1);

	BUG_ON(n < 1 || n > PCI_MAX_VECTORS);
	memset(m, 0, sizeof(*m));
	m->f = f, m->n = n, m->vec = vec, m->table_off = table_off, m->pba_off = pba_off;
	memcpy(body, &ctl, 2);
	memcpy(body + 2, &table_off, 4); /* BIR 0 */
	memcpy(body + 6, &pba_off, 4);
	wmask[1] = (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
	m->cap = pci_fn_cap(f, PCI_CAP_ID_MSIX, body, sizeof(body), wmask);
	for (int i = 0; i < n; i++) {
		int gsi = layout_msi_gsi(v);

		m->entry[i][3] = PCI_MSIX_ENTRY_MASKED;
		atomic_store(&vec[i].blocked, 1);
		atomic_store(&vec[i].pending, 0);
		vec[i].fd = -1;
		if (gsi < 0)
			return -1;
		m->gsi[i] = (unsigned)gsi;
		if (irq_route_msi(v, m->gsi[i], false, 0, 0, 0) < 0) /* the routing table exists before any vCPU runs */
			return -1;
		if (v->kvm.vm_fd >= 0 && bind_vector(v, &vec[i], m->gsi[i], keep, keep_o) < 0) /* no VM: the fuzz target */
			return -1;
	}
	return 0;
}

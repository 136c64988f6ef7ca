/* virtio_pci.c - the virtio-pci transport, modern: the function's vendor capabilities name the common
 * configuration, notify, ISR and device structures in its BARs; interrupts are MSI-X, one vector per queue and
 * one for configuration changes, each an MSI line of this CPU (syscall.h): the interrupt handler reads no device
 * register. Every access here is an exit: set-up only, but for notify, written only when the device asks. */
#include "guest.h"
#include "vdev.h"

static const struct vpci *P(const struct vdev *d) { return &d->t.pci; }

static uint8_t rd8(uint64_t a) { return *(volatile uint8_t *)(uintptr_t)a; }
static uint16_t rd16(uint64_t a) { return *(volatile uint16_t *)(uintptr_t)a; }
static uint32_t rd32(uint64_t a) { return *(volatile uint32_t *)(uintptr_t)a; }
static void wr8(uint64_t a, uint8_t v) { *(volatile uint8_t *)(uintptr_t)a = v; }
static void wr16(uint64_t a, uint16_t v) { *(volatile uint16_t *)(uintptr_t)a = v; }
static void wr32(uint64_t a, uint32_t v) { *(volatile uint32_t *)(uintptr_t)a = v; }

static uint64_t C(const struct vdev *d, unsigned off) { return P(d)->common + off; }

/* ---- the transport's operations (vdev.h) ---------------------------------------------------------- */

static void op_reset(struct vdev *d)
{
	wr8(C(d, VIRTIO_PCI_COMMON_STATUS), 0);
	while (rd8(C(d, VIRTIO_PCI_COMMON_STATUS)) != 0) /* §4.1.4.3.2: wait until the reset took */
		__asm__ volatile("pause");
}

static uint32_t op_status(struct vdev *d) { return rd8(C(d, VIRTIO_PCI_COMMON_STATUS)); }
static void op_set_status(struct vdev *d, uint32_t s) { wr8(C(d, VIRTIO_PCI_COMMON_STATUS), (uint8_t)s); }

static uint64_t op_device_features(struct vdev *d)
{
	uint64_t f;

	wr32(C(d, VIRTIO_PCI_COMMON_DFSELECT), 0);
	f = rd32(C(d, VIRTIO_PCI_COMMON_DF));
	wr32(C(d, VIRTIO_PCI_COMMON_DFSELECT), 1);
	return f | (uint64_t)rd32(C(d, VIRTIO_PCI_COMMON_DF)) << 32;
}

static void op_driver_features(struct vdev *d, uint64_t features)
{
	wr32(C(d, VIRTIO_PCI_COMMON_GFSELECT), 0);
	wr32(C(d, VIRTIO_PCI_COMMON_GF), (uint32_t)features);
	wr32(C(d, VIRTIO_PCI_COMMON_GFSELECT), 1);
	wr32(C(d, VIRTIO_PCI_COMMON_GF), (uint32_t)(features >> 32));
}

static uint32_t op_queue_max(struct vdev *d, unsigned q)
{
	wr16(C(d, VIRTIO_PCI_COMMON_Q_SELECT), (uint16_t)q);
	return rd16(C(d, VIRTIO_PCI_COMMON_Q_ENABLE)) ? 0 : rd16(C(d, VIRTIO_PCI_COMMON_Q_SIZE));
}

/* Stopping one queue is virtio 1.2's queue_reset, which this driver does not negotiate. */
static int op_queue_stop(struct vdev *d, unsigned q)
{
	(void)d, (void)q;
	return -1;
}

static void wr64(uint64_t a, uint64_t v)
{
	wr32(a, (uint32_t)v);
	wr32(a + 4, (uint32_t)(v >> 32));
}

static void op_queue_set(struct vdev *d, unsigned q, unsigned num, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr16(C(d, VIRTIO_PCI_COMMON_Q_SELECT), (uint16_t)q);
	wr16(C(d, VIRTIO_PCI_COMMON_Q_SIZE), (uint16_t)num);
	wr64(C(d, VIRTIO_PCI_COMMON_Q_DESCLO), desc);
	wr64(C(d, VIRTIO_PCI_COMMON_Q_AVAILLO), avail);
	wr64(C(d, VIRTIO_PCI_COMMON_Q_USEDLO), used);
	if (q < VPCI_MAX_QUEUES)
		d->t.pci.notify_off[q] = rd16(C(d, VIRTIO_PCI_COMMON_Q_NOFF));
	wr16(C(d, VIRTIO_PCI_COMMON_Q_ENABLE), 1);
}

static uint32_t op_config32(struct vdev *d, unsigned off) { return rd32(P(d)->device + off); }
static uint32_t op_config_generation(struct vdev *d) { return rd8(C(d, VIRTIO_PCI_COMMON_CFGGENERATION)); }

/* The queue's notify address takes its index, 16 bits (§4.1.4.4.1). */
static void op_notify(struct vdev *d, unsigned q)
{
	wr16(P(d)->notify + (uint64_t)P(d)->notify_off[q] * P(d)->notify_mult, (uint16_t)q);
}

/* ---- MSI-X ---------------------------------------------------------------------------------------- */

/* An MSI line of this CPU and what a message must carry to raise it. */
struct msi_line {
	long line;                    /* 0: not taken yet (MSI lines start at IRQ_MAX_GSI) */
	uint32_t vector, apic_id;
};

/* Table entry i sends m's vector to its CPU, unmasked (the control word last); m is taken on first use. */
static int msix_aim(struct vdev *d, unsigned i, struct msi_line *m)
{
	uint64_t e = P(d)->msix_table + 16ull * i;
	uint32_t va[2];

	if (!m->line) {
		long l = sys_irq_msi(va);

		if (l < 0) {
			kprintf("%s: no MSI line left for vector %u (%ld)\n", d->name, i, l);
			return -1;
		}
		*m = (struct msi_line){ l, va[0], va[1] };
	}
	wr32(e + PCI_MSIX_ENTRY_ADDR_LO, MSI_ADDR_BASE | m->apic_id << MSI_ADDR_DEST_SHIFT);
	wr32(e + PCI_MSIX_ENTRY_ADDR_HI, 0);
	wr32(e + PCI_MSIX_ENTRY_DATA, m->vector);
	wr32(e + PCI_MSIX_ENTRY_CTRL, 0);
	return 0;
}

/* A vector register takes it, or reads back VIRTIO_MSI_NO_VECTOR (§4.1.5.1.2.1): then the device refused it. */
static int set_vector(struct vdev *d, unsigned reg, uint16_t vec)
{
	wr16(C(d, reg), vec);
	return rd16(C(d, reg)) == vec ? 0 : -1;
}

/* Vector 0 for configuration changes, vector q + 1 for queue q; MSI-X enabled under the function mask, which
 * comes off once every entry is set. A device keeps its lines across a re-initialisation. */
static int op_irq_setup(struct vdev *d, unsigned nq, long *line)
{
	static struct msi_line lines[32][VPCI_MAX_QUEUES + 1];
	const struct vpci *p = P(d);
	struct msi_line *l = lines[p->pci.dev & 31];
	unsigned ctl = p->msix_cap + PCI_MSIX_FLAGS;

	if (!p->msix_cap || p->msix_size < nq + 1 || nq > VPCI_MAX_QUEUES) {
		kprintf("%s: %u queues need %u MSI-X vectors, the function has %u\n", d->name, nq, nq + 1, p->msix_size);
		return -1;
	}
	pci_write(&p->pci, ctl, 2, pci_read(&p->pci, ctl, 2) | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	for (unsigned i = 0; i <= nq; i++)
		if (msix_aim(d, i, &l[i]) != 0)
			return -1;
	if (set_vector(d, VIRTIO_PCI_COMMON_MSIX, 0) != 0)
		return kprintf("%s: the device refused MSI-X vector 0 for configuration changes\n", d->name), -1;
	for (unsigned q = 0; q < nq; q++) {
		wr16(C(d, VIRTIO_PCI_COMMON_Q_SELECT), (uint16_t)q);
		if (set_vector(d, VIRTIO_PCI_COMMON_Q_MSIX, (uint16_t)(q + 1)) != 0)
			return kprintf("%s: the device refused MSI-X vector %u for queue %u\n", d->name, q + 1, q), -1;
		line[q] = l[q + 1].line;
	}
	line[nq] = l[0].line;
	pci_write(&p->pci, ctl, 2, (pci_read(&p->pci, ctl, 2) | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL);
	return 0;
}

static const struct vdev_ops vpci_ops = {
	.name = "pci",
	.reset = op_reset,
	.status = op_status,
	.set_status = op_set_status,
	.device_features = op_device_features,
	.driver_features = op_driver_features,
	.queue_max = op_queue_max,
	.queue_stop = op_queue_stop,
	.queue_set = op_queue_set,
	.config32 = op_config32,
	.config_generation = op_config_generation,
	.notify = op_notify,
	.irq_setup = op_irq_setup,
};

/* ---- finding it ----------------------------------------------------------------------------------- */

/* Where a capability's structure is: its BAR's address plus its offset (0: an unassigned BAR, nothing there). */
static uint64_t cap_at(const struct pci_dev *f, unsigned cap)
{
	uint64_t bar = pci_bar(f, pci_read(f, cap + VIRTIO_PCI_CAP_BAR, 1) % 6);

	return bar ? bar + pci_read(f, cap + VIRTIO_PCI_CAP_OFFSET, 4) : 0;
}

/* Reads the function's vendor capabilities and MSI-X; 0, or -1 after a console line. */
static int vpci_probe(struct vpci *p, const char *name)
{
	const struct pci_dev *f = &p->pci;
	uint32_t tbl;

	for (unsigned cap = pci_cap(f, PCI_CAP_ID_VNDR, 0); cap; cap = pci_cap(f, PCI_CAP_ID_VNDR, cap)) {
		switch (pci_read(f, cap + VIRTIO_PCI_CAP_TYPE, 1)) {
		case VIRTIO_PCI_CAP_COMMON_CFG: p->common = cap_at(f, cap); break;
		case VIRTIO_PCI_CAP_ISR_CFG: p->isr = cap_at(f, cap); break;
		case VIRTIO_PCI_CAP_DEVICE_CFG: p->device = cap_at(f, cap); break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			p->notify = cap_at(f, cap);
			p->notify_mult = pci_read(f, cap + VIRTIO_PCI_NOTIFY_MULT, 4);
			break;
		}
	}
	p->msix_cap = pci_cap(f, PCI_CAP_ID_MSIX, 0);
	if (p->msix_cap) {
		tbl = pci_read(f, p->msix_cap + PCI_MSIX_TABLE, 4);
		p->msix_size = (pci_read(f, p->msix_cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1;
		p->msix_table = pci_bar(f, tbl & 7) ? pci_bar(f, tbl & 7) + (tbl & ~7u) : 0;
	}
	if (!p->common || !p->notify || !p->device || (p->msix_cap && !p->msix_table)) {
		kprintf("%s: a virtio structure is missing or its BAR is not assigned: not driven\n", name);
		return -1;
	}
	return 0;
}

int vpci_vdev_find(uint32_t device_id, struct vdev *d)
{
	struct pci_dev f = { .dev = ~0u };

	while (pci_find(VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + device_id), &f) == 0) {
		memset(d, 0, sizeof(*d));
		d->t.pci.pci = f;
		snprintf(d->name, sizeof(d->name), "virtio-pci@00:%02x.0", f.dev);
		/* the device reaches memory only with bus mastering, and its BARs answer only with memory decoding */
		pci_write(&f, PCI_COMMAND, 2, pci_read(&f, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
		if (vpci_probe(&d->t.pci, d->name) != 0)
			continue;
		d->ops = &vpci_ops;
		d->device_id = device_id;
		d->version = 2;
		return 0;
	}
	return -1;
}

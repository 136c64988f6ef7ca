/* virtio_pci.c - the virtio-pci transport, modern (virtio 1.x §4.1), for any virtio device: one PCI function
 * per device (vendor 0x1af4, device 0x1040 + type) whose BAR 0 holds the common configuration, the ISR, the
 * device configuration, a notify address per queue, and the MSI-X table and PBA; vendor capabilities point at
 * them (and a PCI configuration access window). Interrupts are MSI-X only: one vector per queue and one for
 * configuration changes, each an MSI route bound to an irqfd (msix.c), so the guest's handler touches no device
 * register and KVM delivers the interrupt inline. A driver that never enables MSI-X gets no interrupt (the
 * function has no INTx pin: Linux then refuses the device rather than wait; the VMM says so once); a polling
 * driver needs none. Notifications: an ioeventfd per queue address (request=ioeventfd|exitless; the IOCore
 * takes them), or an MMIO exit to the vCPU thread (request=exit).
 *
 * BAR 0:   0x0000 common configuration   0x1000 ISR   0x2000 device configuration
 *          0x3000 notify (4 bytes per queue)   0x4000 MSI-X table   0x5000 PBA */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pci.h"
#include "virtio.h"

#define BAR_SIZE      0x8000u
#define COMMON_OFF    0x0000u
#define ISR_OFF       0x1000u
#define DEVICE_OFF    0x2000u
#define DEVICE_LEN    0x1000u
#define NOTIFY_OFF    0x3000u
#define NOTIFY_MULT   4u
#define MSIX_TABLE    0x4000u
#define MSIX_PBA      0x5000u
#define CLASS_STORAGE 0x01000001u /* class 01 (mass storage), subclass 00, prog-if 00, revision 1 (modern) */
#define SUBSYS_ID     0x1100u

static struct vpci_shared *shared_of(const struct virtio_dev *d)
{
	return d->tstate;
}

/* ---- interrupts --------------------------------------------------------------------------------- */

static bool pci_signal(struct virtio_dev *d, int q)
{
	struct vpci_shared *sh = shared_of(d);
	uint16_t vec;

	atomic_fetch_or(&sh->isr, q == VIRTIO_SIGNAL_CONFIG ? VIRTIO_PCI_ISR_CONFIG : VIRTIO_PCI_ISR_QUEUE);
	vec = q == VIRTIO_SIGNAL_CONFIG ? atomic_load(&sh->config_vec) : atomic_load(&sh->queue_vec[q]);
	return vec < sh->nvec && msix_fire(&sh->vec[vec]);
}

static int pci_irq_state(const struct virtio_dev *d, char *s, size_t len)
{
	const struct vpci_shared *sh = shared_of(d);
	int n = snprintf(s, len, "isr %#x, msi-x pending", atomic_load(&sh->isr));

	for (int i = 0; i < sh->nvec && n > 0 && (size_t)n < len; i++)
		n += snprintf(s + n, len - (size_t)n, "%s%d", i ? "" : " ", atomic_load(&sh->vec[i].pending));
	return n;
}

/* ---- the common configuration ------------------------------------------------------------------- */

/* Device reset: the shared state, every queue back to its largest size, no vectors. */
static void pci_reset(struct virtio_pci *t)
{
	struct virtio_state *s = &t->s;

	vstate_reset(s);
	for (uint32_t i = 0; i < (uint32_t)s->dev->nqueues; i++) {
		s->queue_sel = i;
		vstate_queue_write(s, VQF_NUM, VQ_MAX_SIZE);
		atomic_store(&t->sh->queue_vec[i], VIRTIO_MSI_NO_VECTOR);
	}
	s->queue_sel = 0;
	t->dfselect = t->gfselect = 0;
	atomic_store(&t->sh->config_vec, VIRTIO_MSI_NO_VECTOR);
	atomic_store(&t->sh->isr, 0);
}

static uint16_t vector_or_none(const struct virtio_pci *t, uint32_t v)
{
	return v < (uint32_t)t->sh->nvec ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

/* DRIVER_OK without MSI-X: this function raises no interrupt at all; a polling driver is fine. */
static void check_msix(struct virtio_pci *t)
{
	if ((t->s.status & VIRTIO_CONFIG_S_DRIVER_OK) && !msix_enabled(&t->msix) && !t->told_no_msix) {
		fprintf(stderr, "vmm: pci %s: the driver set DRIVER_OK without enabling MSI-X: this transport "
				"interrupts only through MSI-X (no INTx), so the device will raise no interrupt\n",
			t->fn.name);
		t->told_no_msix = true;
	}
}

static void common_write(struct virtio_pci *t, uint32_t off, uint32_t size, uint32_t v)
{
	struct virtio_state *s = &t->s;
	struct vstate_queue *q = vstate_selected(s);

	switch (off | size << 8) {
	case VIRTIO_PCI_COMMON_DFSELECT | 4 << 8: t->dfselect = v; break;
	case VIRTIO_PCI_COMMON_GFSELECT | 4 << 8: t->gfselect = v; break;
	case VIRTIO_PCI_COMMON_GF | 4 << 8: vstate_driver_features(s, t->gfselect, v); break;
	case VIRTIO_PCI_COMMON_MSIX | 2 << 8: atomic_store(&t->sh->config_vec, vector_or_none(t, v)); break;
	case VIRTIO_PCI_COMMON_STATUS | 1 << 8:
		if (v == 0) {
			pci_reset(t);
		} else {
			vstate_write_status(s, v);
			check_msix(t);
		}
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT | 2 << 8: s->queue_sel = v; break;
	case VIRTIO_PCI_COMMON_Q_SIZE | 2 << 8: vstate_queue_write(s, VQF_NUM, v); break;
	case VIRTIO_PCI_COMMON_Q_MSIX | 2 << 8:
		if (q)
			atomic_store(&t->sh->queue_vec[s->queue_sel], vector_or_none(t, v));
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE | 2 << 8: vstate_queue_ready(s, v & 1); break;
	case VIRTIO_PCI_COMMON_Q_DESCLO | 4 << 8: vstate_queue_write(s, VQF_DESC_LO, v); break;
	case VIRTIO_PCI_COMMON_Q_DESCHI | 4 << 8: vstate_queue_write(s, VQF_DESC_HI, v); break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO | 4 << 8: vstate_queue_write(s, VQF_AVAIL_LO, v); break;
	case VIRTIO_PCI_COMMON_Q_AVAILHI | 4 << 8: vstate_queue_write(s, VQF_AVAIL_HI, v); break;
	case VIRTIO_PCI_COMMON_Q_USEDLO | 4 << 8: vstate_queue_write(s, VQF_USED_LO, v); break;
	case VIRTIO_PCI_COMMON_Q_USEDHI | 4 << 8: vstate_queue_write(s, VQF_USED_HI, v); break;
	default: break; /* read-only fields, wrong sizes, nothing there */
	}
}

static uint32_t queue_field(const struct virtio_pci *t, uint32_t off)
{
	const struct vstate_queue *q = vstate_selected((struct virtio_state *)&t->s);
	uint64_t v;

	if (!q)
		return 0; /* no such queue: queue_size 0 says so */
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE: return q->num;
	case VIRTIO_PCI_COMMON_Q_MSIX: return atomic_load(&t->sh->queue_vec[t->s.queue_sel]);
	case VIRTIO_PCI_COMMON_Q_ENABLE: return q->ready;
	case VIRTIO_PCI_COMMON_Q_NOFF: return t->s.queue_sel;
	}
	v = off < VIRTIO_PCI_COMMON_Q_AVAILLO ? q->desc : off < VIRTIO_PCI_COMMON_Q_USEDLO ? q->avail : q->used;
	return off & 4 ? (uint32_t)(v >> 32) : (uint32_t)v;
}

static uint32_t common_read(const struct virtio_pci *t, uint32_t off, uint32_t size)
{
	const struct virtio_state *s = &t->s;

	switch (off | size << 8) {
	case VIRTIO_PCI_COMMON_DFSELECT | 4 << 8: return t->dfselect;
	case VIRTIO_PCI_COMMON_DF | 4 << 8: return vstate_device_features(s, t->dfselect);
	case VIRTIO_PCI_COMMON_GFSELECT | 4 << 8: return t->gfselect;
	case VIRTIO_PCI_COMMON_GF | 4 << 8:
		return t->gfselect < 2 ? (uint32_t)(s->drv_features >> (32 * t->gfselect)) : 0;
	case VIRTIO_PCI_COMMON_MSIX | 2 << 8: return atomic_load(&t->sh->config_vec);
	case VIRTIO_PCI_COMMON_NUMQ | 2 << 8: return (uint32_t)s->dev->nqueues;
	case VIRTIO_PCI_COMMON_STATUS | 1 << 8: return vstate_read_status(s);
	case VIRTIO_PCI_COMMON_CFGGENERATION | 1 << 8: return 0; /* the configuration never changes */
	case VIRTIO_PCI_COMMON_Q_SELECT | 2 << 8: return s->queue_sel;
	case VIRTIO_PCI_COMMON_Q_SIZE | 2 << 8:
	case VIRTIO_PCI_COMMON_Q_MSIX | 2 << 8:
	case VIRTIO_PCI_COMMON_Q_ENABLE | 2 << 8:
	case VIRTIO_PCI_COMMON_Q_NOFF | 2 << 8:
		return queue_field(t, off);
	case VIRTIO_PCI_COMMON_Q_DESCLO | 4 << 8:
	case VIRTIO_PCI_COMMON_Q_DESCHI | 4 << 8:
	case VIRTIO_PCI_COMMON_Q_AVAILLO | 4 << 8:
	case VIRTIO_PCI_COMMON_Q_AVAILHI | 4 << 8:
	case VIRTIO_PCI_COMMON_Q_USEDLO | 4 << 8:
	case VIRTIO_PCI_COMMON_Q_USEDHI | 4 << 8:
		return queue_field(t, off);
	default: return 0;
	}
}

/* ---- BAR 0 ---------------------------------------------------------------------------------------- */

/* A notification that reached the VMM. With ioeventfds the IOCore owns the avail rings: an access KVM did not
 * catch (another width) is passed to it through the queue's eventfd, never popped here. */
static void notify(struct virtio_pci *t, uint32_t queue)
{
	struct virtio_dev *d = t->s.dev;
	uint64_t one = 1;

	if (queue < (uint32_t)d->nqueues && d->queues[queue].notify_fd >= 0) {
		if (write(d->queues[queue].notify_fd, &one, sizeof(one)) < 0)
			perror("vmm: virtio-pci notify");
		return;
	}
	vstate_queue_notify(&t->s, queue);
}

static void bar_access(struct pci_fn *f, int bar, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct virtio_pci *t = f->opaque;
	struct virtio_dev *d = t->s.dev;
	uint32_t v = 0;

	(void)bar;
	if (msix_owns(&t->msix, off)) {
		msix_access(&t->msix, off, data, size, is_write);
	} else if (off >= DEVICE_OFF && off < DEVICE_OFF + DEVICE_LEN) {
		if (is_write)
			d->ops->config_write(d, off - DEVICE_OFF, data, size);
		else
			d->ops->config_read(d, off - DEVICE_OFF, data, size);
	} else if (is_write && size <= 4) {
		memcpy(&v, data, size);
		if (off < VIRTIO_PCI_COMMON_CFG_SIZE)
			common_write(t, (uint32_t)off, size, v);
		else if (off >= NOTIFY_OFF && off < NOTIFY_OFF + NOTIFY_MULT * (uint64_t)d->nqueues)
			notify(t, (uint32_t)(off - NOTIFY_OFF) / NOTIFY_MULT);
	} else if (!is_write) {
		if (off < VIRTIO_PCI_COMMON_CFG_SIZE && size <= 4)
			v = common_read(t, (uint32_t)off, size);
		else if (off == ISR_OFF && size <= 4)
			v = atomic_exchange(&t->sh->isr, 0); /* read-to-clear */
		memset(data, 0, size);
		memcpy(data, &v, size < 4 ? size : 4);
	}
}

/* The notify addresses move with the BAR: an ioeventfd per queue where the BAR now decodes. */
static void bind_notify(struct virtio_pci *t, uint64_t base, bool assign)
{
	struct virtio_dev *d = t->s.dev;

	for (int i = 0; i < d->nqueues; i++) {
		struct kvm_ioeventfd ioev = { .addr = base + NOTIFY_OFF + NOTIFY_MULT * (uint64_t)i, .len = t->notify_len,
					      .fd = d->queues[i].notify_fd,
					      .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN };

		if (d->queues[i].notify_fd >= 0 && t->v->kvm.vm_fd >= 0 && ioctl(t->v->kvm.vm_fd, KVM_IOEVENTFD, &ioev) < 0)
			fprintf(stderr, "vmm: pci %s: KVM_IOEVENTFD for queue %d at %#llx: %s\n", t->fn.name, i,
				(unsigned long long)ioev.addr, strerror(errno));
	}
}

static void bar_mapped(struct pci_fn *f, int bar, uint64_t addr)
{
	struct virtio_pci *t = f->opaque;

	(void)bar;
	if (t->notify_at)
		bind_notify(t, t->notify_at, false);
	t->notify_at = addr;
	if (addr)
		bind_notify(t, addr, true);
}

/* ---- configuration space: MSI-X control, the configuration access window, bus mastering ------------ */

/* The PCI configuration access capability: a window onto BAR 0 (bar, offset, length, then 4 data bytes). */
static bool window(const struct virtio_pci *t, uint32_t *off, uint32_t *len)
{
	const struct pci_fn *f = &t->fn;
	uint32_t c = t->cfg_cap;

	*off = pci_cfg_get(f, c + VIRTIO_PCI_CAP_OFFSET, 4);
	*len = pci_cfg_get(f, c + VIRTIO_PCI_CAP_LENGTH, 4);
	return f->cfg[c + VIRTIO_PCI_CAP_BAR] == 0 && (*len == 1 || *len == 2 || *len == 4) && !(*off % *len) &&
	       *off <= BAR_SIZE - *len;
}

static bool touches(uint32_t off, uint32_t size, uint32_t at, uint32_t len)
{
	return off < at + len && off + size > at;
}

static void config_written(struct pci_fn *f, uint32_t off, uint32_t size)
{
	struct virtio_pci *t = f->opaque;
	uint32_t data_at = t->cfg_cap + VIRTIO_PCI_CFG_DATA, woff, wlen;

	msix_config_written(&t->msix, off, size);
	if (touches(off, size, data_at, 4) && window(t, &woff, &wlen))
		bar_access(f, 0, woff, f->cfg + data_at, wlen, true);
	if (touches(off, size, PCI_COMMAND, 2) && !(pci_cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_MASTER) &&
	    (t->s.status & VIRTIO_CONFIG_S_DRIVER_OK) && !atomic_load(&t->s.dev->broken))
		virtio_dev_broken(t->s.dev, NULL, "bus mastering turned off while the driver runs it");
}

static bool config_read(struct pci_fn *f, uint32_t off, uint8_t *data, uint32_t size)
{
	struct virtio_pci *t = f->opaque;
	uint32_t data_at = t->cfg_cap + VIRTIO_PCI_CFG_DATA, woff, wlen;

	(void)data; /* the window fills its data bytes in the header, which are then read as stored */

	if (touches(off, size, data_at, 4) && window(t, &woff, &wlen))
		bar_access(f, 0, woff, f->cfg + data_at, wlen, false);
	return false; /* then the stored bytes, the window's data among them */
}

static const struct pci_fn_ops vpci_fn_ops = {
	.config_written = config_written,
	.config_read = config_read,
	.bar_access = bar_access,
	.bar_mapped = bar_mapped,
};

/* ---- set-up ------------------------------------------------------------------------------------- */

/* A virtio vendor capability: cfg_type, a structure at [off, off + len) of BAR 0, and extra bytes after. */
static uint8_t vcap(struct pci_fn *f, uint8_t type, uint32_t off, uint32_t len, uint32_t extra, bool writable)
{
	uint8_t body[VIRTIO_PCI_CAP_SIZE + 4 - 2] = { 0 }, wmask[sizeof(body)] = { 0 };
	uint8_t n = type == VIRTIO_PCI_CAP_NOTIFY_CFG || type == VIRTIO_PCI_CAP_PCI_CFG ? 20 : 16;

	body[0] = n;    /* cap_len */
	body[1] = type; /* cfg_type */
	body[2] = 0;    /* bar */
	memcpy(body + VIRTIO_PCI_CAP_OFFSET - 2, &off, 4);
	memcpy(body + VIRTIO_PCI_CAP_LENGTH - 2, &len, 4);
	memcpy(body + VIRTIO_PCI_CAP_SIZE - 2, &extra, 4);
	if (writable) /* the access window: bar, offset, length and data */
		memset(wmask + 2, 0xff, 1), memset(wmask + 6, 0xff, 12);
	return pci_fn_cap(f, PCI_CAP_ID_VNDR, body, (uint8_t)(n - 2), wmask);
}

static int keep_fd(void *o, int fd)
{
	return virtio_dev_keep_fd(o, fd);
}

int virtio_pci_init(struct virtio_pci *t, struct vmm *v, struct virtio_dev *d, bool with_ioeventfd)
{
	struct vpci_shared *sh = d->tstate;
	struct pci_fn *f = &t->fn;

	if (!sh) { /* shared: a device process raises the vectors through it */
		sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (sh == MAP_FAILED)
			return err_set("cannot allocate the transport's shared state: %s", strerror(errno));
	}
	memset(t, 0, sizeof(*t));
	memset(sh, 0, sizeof(*sh));
	t->sh = sh;
	t->v = v;
	sh->nvec = d->nqueues + 1;
	t->notify_len = v->kvm.kvm_fd >= 0 &&
			ioctl(v->kvm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0 ? 0 : 2;
	vstate_init(&t->s, d);
	d->tstate = sh;
	d->transport = &virtio_pci_transport;
	pci_fn_init(f, &vpci_fn_ops, t, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + d->ops->device_id),
		    CLASS_STORAGE, VIRTIO_PCI_VENDOR, SUBSYS_ID);
	f->v = v;
	pci_fn_bar(f, 0, BAR_SIZE);
	vcap(f, VIRTIO_PCI_CAP_COMMON_CFG, COMMON_OFF, VIRTIO_PCI_COMMON_CFG_SIZE, 0, false);
	vcap(f, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY_OFF, NOTIFY_MULT * (uint32_t)d->nqueues, NOTIFY_MULT, false);
	vcap(f, VIRTIO_PCI_CAP_ISR_CFG, ISR_OFF, 4, 0, false);
	vcap(f, VIRTIO_PCI_CAP_DEVICE_CFG, DEVICE_OFF, DEVICE_LEN, 0, false);
	t->cfg_cap = vcap(f, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, true);
	for (int i = 0; with_ioeventfd && i < d->nqueues; i++)
		if ((d->queues[i].notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
			return err_set("eventfd: %s", strerror(errno));
	if (msix_init(&t->msix, v, f, sh->nvec, sh->vec, MSIX_TABLE, MSIX_PBA, keep_fd, d) < 0)
		return -1;
	pci_reset(t);
	return 0;
}

static int pci_attach(struct vmm *v, struct virtio_dev *d, bool with_ioeventfd)
{
	struct virtio_pci *t = calloc(1, sizeof(*t)); /* lives as long as the machine */

	if (!t)
		return err_set("out of memory");
	if (virtio_pci_init(t, v, d, with_ioeventfd) < 0 || pci_add(v, &t->fn) < 0)
		return -1;
	t->sh->dev = t->fn.dev;
	return 0;
}

const struct virtio_transport virtio_pci_transport = {
	.name = "pci",
	.attach = pci_attach,
	.signal = pci_signal,
	.irq_state = pci_irq_state,
};

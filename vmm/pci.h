/* pci.h - PCI for the VMM: the host bridge of bus 0 with ECAM configuration space (pci.c), its functions'
 * type-0 headers, BARs and capabilities, and MSI-X (msix.c). A function is a device's PCI face: virtio-pci
 * (virtio_pci.c) makes one per device. Configuration and BAR accesses run on a vCPU thread, under the bus lock. */
#ifndef PCI_H
#define PCI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci_spec.h"
#include "virtio.h"

#define PCI_MAX_DEVS    32
#define PCI_MAX_VECTORS 32 /* MSI-X vectors of one function */

/* The window the bridge decodes for BARs (described in ACPI), and ECAM for bus 0: above the largest RAM,
 * below the platform's fixed devices (virtio-mmio, IOAPIC, LAPIC). */
#define PCI_MMIO_BASE 0xc0000000ull
#define PCI_MMIO_SIZE 0x20000000ull
#define PCI_ECAM_BASE 0xe0000000ull
#define PCI_ECAM_SIZE (PCI_MAX_DEVS * 8 * PCI_ECAM_FN_SIZE) /* bus 0 only */

struct pci_fn;

/* What a function does beyond the generic header (BAR sizing and placement, the command register). */
struct pci_fn_ops {
	/* The guest wrote [off, off + size) of configuration space (already merged under the write mask). */
	void (*config_written)(struct pci_fn *f, uint32_t off, uint32_t size);
	/* A read of [off, off + size) that the function answers itself (true), else the stored bytes are read. */
	bool (*config_read)(struct pci_fn *f, uint32_t off, uint8_t *data, uint32_t size);
	/* An access to BAR bar at offset off (off + size within the BAR). */
	void (*bar_access)(struct pci_fn *f, int bar, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
	/* BAR bar is now decoded at addr, or no longer decoded (addr 0): move what hangs on the address. */
	void (*bar_mapped)(struct pci_fn *f, int bar, uint64_t addr);
};

struct pci_fn {
	const struct pci_fn_ops *ops;
	void *opaque;                   /* the function's owner (a virtio-pci transport) */
	struct vmm *v;
	int dev;                        /* device number on bus 0 (function 0) */
	uint8_t cfg[PCI_CFG_SPACE];     /* the header and capabilities as the guest reads them */
	uint8_t wmask[PCI_CFG_SPACE];   /* bits the guest may change */
	struct pci_bar {
		struct pci_fn *f;
		int index;
		uint32_t size;          /* 0: not implemented (32-bit memory BARs only) */
		uint64_t at;            /* where the bus decodes it now, 0: nowhere */
		uint64_t refused;       /* the last address refused (reported once) */
	} bar[6];
	uint8_t cap_last;               /* the last capability in the list (0: none yet) */
	uint8_t cap_end;                /* where the next capability goes */
	char name[16];                  /* "00:01.0" */
};

/* ---- functions and their configuration space (pci.c) ---- */

/* Fills f's header: ids, class, subsystem, no capabilities yet, command 0 (the guest enables decoding). */
void pci_fn_init(struct pci_fn *f, const struct pci_fn_ops *ops, void *opaque, uint16_t vendor, uint16_t device,
		 uint32_t class_rev, uint16_t subsys_vendor, uint16_t subsys);
/* Declares BAR bar as a 32-bit memory BAR of size bytes (a power of two >= 4 KiB). */
void pci_fn_bar(struct pci_fn *f, int bar, uint32_t size);
/* Appends a capability with id and body (len bytes after the id and next bytes) to the list. Returns its
 * offset in configuration space; the body bytes listed in wmask_body (NULL: none) are writable. */
uint8_t pci_fn_cap(struct pci_fn *f, uint8_t id, const uint8_t *body, uint8_t len, const uint8_t *wmask_body);
/* Little-endian fields of configuration space. */
uint32_t pci_cfg_get(const struct pci_fn *f, uint32_t off, uint32_t size);
void pci_cfg_put(struct pci_fn *f, uint32_t off, uint32_t size, uint32_t v);

/* A configuration access to f at register reg (ECAM's 4 KiB; at most 4 bytes, inside it: else reads all-ones and
 * writes are dropped): stored bytes under the write mask, then the function's own reaction. */
void pci_config_access(struct pci_fn *f, uint32_t reg, uint8_t *data, uint32_t size, bool is_write);
/* Puts f on bus 0 (the bus and its ECAM window appear with the first function): a device number, its BARs
 * placed in the window as firmware would place them. Returns 0 or -1 (err_set). */
int pci_add(struct vmm *v, struct pci_fn *f);
/* The bridge's description to the guest: the host bridge (PNP0A08) in the DSDT, the MCFG table. */
struct acpi_part pci_acpi_part(const struct vmm *v);
/* Whether the machine has a PCI bus, and the reserved range it occupies (for the memory map). */
bool pci_present(const struct vmm *v);

/* ---- MSI-X (msix.c) ---- */

/* What whoever raises a vector needs, in shared memory (a device process raises them too). `blocked` is
 * MSI-X off, the function masked, the vector masked or not routed; `pending` is its PBA bit. */
struct msix_vec {
	_Atomic int blocked;
	_Atomic int pending;
	int fd;                         /* irqfd bound to the vector's GSI */
};

struct msix {
	struct pci_fn *f;
	uint8_t cap;                    /* the capability's offset in configuration space */
	int n;                          /* vectors */
	struct msix_vec *vec;           /* n of them, shared */
	uint32_t table_off, pba_off;    /* in BAR 0 */
	uint32_t entry[PCI_MAX_VECTORS][4]; /* the table as the guest wrote it */
	unsigned gsi[PCI_MAX_VECTORS];
	bool routed[PCI_MAX_VECTORS];   /* a valid message is routed to the vector's GSI */
	bool seen[PCI_MAX_VECTORS];     /* route[] holds the entry last evaluated */
	uint32_t route[PCI_MAX_VECTORS][3]; /* address low, high and data last evaluated */
};

/* Adds the MSI-X capability to f with n vectors (table and PBA in BAR 0 at the offsets given), and for
 * each a GSI and an irqfd bound to it (their fds kept for a device process through keep). Every vector
 * starts masked. Returns 0 or -1 (err_set). */
int msix_init(struct msix *m, struct vmm *v, struct pci_fn *f, int n, struct msix_vec *vec, uint32_t table_off,
	      uint32_t pba_off, int (*keep)(void *o, int fd), void *keep_o);
/* Configuration space at [off, off + size) changed: MSI-X enable and the function mask take effect. */
void msix_config_written(struct msix *m, uint32_t off, uint32_t size);
/* Whether BAR 0 offset off is in the table or the PBA; and an access there. */
bool msix_owns(const struct msix *m, uint64_t off);
void msix_access(struct msix *m, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
/* Any thread or a device process: raises vector v (its irqfd) unless it is blocked, in which case its PBA
 * bit stays set and it is raised when it unblocks. Returns true when it was raised now. */
bool msix_fire(struct msix_vec *vec);
/* Whether MSI-X is enabled on the function (message control). */
bool msix_enabled(const struct msix *m);

/* ---- GSI routing (irq.c): the IOAPIC's and PIC's pins as KVM sets them up, plus MSI routes ---- */

/* Routes gsi to the MSI (address, data), or removes its route (route false), and commits the whole table
 * (KVM_SET_GSI_ROUTING). Returns 0 or -1 (err_set). */
int irq_route_msi(struct vmm *v, unsigned gsi, bool route, uint32_t addr_lo, uint32_t addr_hi, uint32_t data);

/* ---- the virtio-pci transport's state (virtio_pci.c) ---- */

/* The transport's state of a device that whoever completes requests uses (d->tstate, shared memory). */
struct vpci_shared {
	_Atomic uint32_t isr;            /* ISR status: read-to-clear */
	_Atomic uint16_t queue_vec[VIRTIO_MAX_QUEUES];
	_Atomic uint16_t config_vec;
	int nvec;
	struct msix_vec vec[VIRTIO_MAX_QUEUES + 1];
	int dev;                         /* PCI device number, for messages */
};

struct virtio_pci {
	struct virtio_state s;
	struct pci_fn fn;
	struct msix msix;
	struct vpci_shared *sh;
	struct vmm *v;
	uint32_t dfselect, gfselect;
	uint8_t cfg_cap;                 /* the PCI configuration access capability's offset */
	uint64_t notify_at;              /* where the notify ioeventfds are bound (0: not bound) */
	unsigned notify_len;             /* their access length (0: any, when KVM allows it) */
	bool told_no_msix;
};


/* Sets t up as device d's virtio-pci function (configuration space, capabilities, MSI-X with a vector per queue
 * and one for configuration changes), in the reset state, without putting it on the bus; with a VM (v->kvm
 * open) its vectors' irqfds are bound too. The fuzz target drives a function set up this way. Returns 0 or -1
 * (err_set). */
int virtio_pci_init(struct virtio_pci *t, struct vmm *v, struct virtio_dev *d, bool with_ioeventfd);

#endif

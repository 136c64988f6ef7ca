/* vdev.h - a virtio device as the guest's drivers see it, on whichever transport found it (virtio-mmio from the
 * command line, virtio-pci from ACPI and the PCI bus): the transport is one ops table, so a device driver
 * (virtio_blk.c) never names a transport. Set-up accesses are register accesses (an exit each); the one data-path
 * operation, notify, is called only when the device asked for it. */
#ifndef EXITLESS_GUEST_VDEV_H
#define EXITLESS_GUEST_VDEV_H

#include <stdint.h>

#include "virtio_mmio.h"
#include "virtio_pci.h"

struct vdev;

struct vdev_ops {
	const char *name;	/* the transport: "mmio", "pci" */
	/* Device reset: write 0, wait until the status reads 0. */
	void (*reset)(struct vdev *d);
	uint32_t (*status)(struct vdev *d);
	void (*set_status)(struct vdev *d, uint32_t status);
	uint64_t (*device_features)(struct vdev *d);
	/* Writes the driver's features (a legacy transport takes only the low 32 bits). */
	void (*driver_features)(struct vdev *d, uint64_t features);
	/* The largest size of queue q, 0 when it does not exist or is in use. */
	uint32_t (*queue_max)(struct vdev *d, unsigned q);
	/* Stops queue q and waits until the device shows it stopped: 0, or -1 (still running, or not possible). */
	int (*queue_stop)(struct vdev *d, unsigned q);
	/* Hands queue q of num entries to the device (a legacy transport derives avail and used from desc). */
	void (*queue_set)(struct vdev *d, unsigned q, unsigned num, uint64_t desc, uint64_t avail, uint64_t used);
	/* 32 bits of the device configuration at off, and its generation (0 when the transport has none). */
	uint32_t (*config32)(struct vdev *d, unsigned off);
	uint32_t (*config_generation)(struct vdev *d);
	/* Tells the device queue q has new buffers (an exit, or an ioeventfd). */
	void (*notify)(struct vdev *d, unsigned q);
	/* Connects the interrupts of queues 0 .. nq-1 and of configuration changes (call before DRIVER_OK, after the
	 * queues are set): line[q] is the interrupt line (syscall.h) a completion on queue q raises, line[nq] the one a
	 * configuration change raises. Returns 0, or -1 after a console line. */
	int (*irq_setup)(struct vdev *d, unsigned nq, long *line);
};

struct vdev {
	const struct vdev_ops *ops;
	uint32_t device_id;
	uint32_t version;            /* 1 legacy, 2 modern */
	char name[40];               /* "virtio-mmio@0xfeb00000", "virtio-pci@00:01.0": for messages */
	union {
		struct vmmio mmio;
		struct vpci pci;
	} t;
};

/* Finds the first device of type device_id on any transport: the `virtio_mmio.device=` words first (as QEMU
 * microvm and build/vmm's mmio transport give them), then the PCI bus. Returns 0 with *d filled, or -1. */
int vdev_find(uint32_t device_id, struct vdev *d);
/* The status OR bits; status FAILED with "NAME: WHY" on the console. */
void vdev_add_status(struct vdev *d, uint32_t bits);
void vdev_fail(struct vdev *d, const char *why);
/* Writes the driver's features; a modern transport then sets FEATURES_OK and checks that the device kept it.
 * Returns 0, or -1 when it refused. */
int vdev_set_features(struct vdev *d, uint64_t features);
/* A 64-bit configuration field read consistently (the generation, or a re-read of the high half). */
uint64_t vdev_config64(struct vdev *d, unsigned off);

/* The transports' finders (virtio_mmio.c, virtio_pci.c): the first device of type device_id, 0 or -1. */
int vmmio_vdev_find(uint32_t device_id, struct vdev *d);
int vpci_vdev_find(uint32_t device_id, struct vdev *d);
/* A vdev on an already probed virtio-mmio transport (the hostile self-tests drive its registers directly). */
void vmmio_vdev(const struct vmmio *m, struct vdev *d);

#endif

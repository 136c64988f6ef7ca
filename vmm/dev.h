/* dev.h - the storage path: virtio-mmio transport, split virtqueues, virtio-blk, backends,
 * emulation contexts (thread or process), the IOCore, and the switches that select them. */
#ifndef DEV_H
#define DEV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "virtio.h"
#include "vmm.h"

/* ---- lock-free single-producer/single-consumer ring (spsc.h) -------------------------------- */

#define SPSC_SIZE 1024 /* a power of two, > the largest queue size */
struct spsc {
	/* head: written by the producer only; tail: by the consumer only. Each on its own cache
	 * line so the two sides do not false-share. */
	_Alignas(64) _Atomic uint32_t head;
	_Alignas(64) _Atomic uint32_t tail;
	_Alignas(64) uint16_t slot[SPSC_SIZE];
};

/* ---- split virtqueue (virtqueue.c) ----------------------------------------------------------- */

#define VQ_MAX_SIZE 256

struct vq {
	/* Configuration: written by the vCPU thread before DRIVER_OK, read-only while active. */
	uint16_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx;
	struct vring_desc *desc; /* host pointers, checked at activation */
	struct vring_avail *avail;
	struct vring_used *used;
	/* Avail side: owned by the thread that pops requests (vCPU in request=exit, else IOCore). */
	uint16_t last_avail;
	bool notify;         /* the driver is asked to notify (kick) */
	/* Used side: owned by the emulation context. */
	uint16_t used_idx;
	uint16_t signalled_used; /* used idx at the last interrupt decision (event idx) */
};

/* One descriptor of a chain, after validation: a host pointer into guest RAM. */
struct vq_buf {
	uint8_t *p;
	uint32_t len;
	bool write; /* device-writable */
};

struct vq_chain {
	uint16_t head;
	int n;
	struct vq_buf buf[VQ_MAX_SIZE];
};

/* Checks that the rings of a `num`-entry queue at the configured addresses lie in guest RAM and
 * resolves the host pointers. Returns 0, or -1 (err_set) when a ring is outside RAM or num is not
 * a power of two in [1, VQ_MAX_SIZE]. */
int vq_activate(struct vq *q, const struct guest_mem *m);
/* Number of new avail entries, or -1 when the guest moved avail->idx more than num ahead
 * (a broken or hostile driver). Acquire ordering: entries read after this are published. */
int vq_avail_pending(struct vq *q);
/* Pops the next avail head (call only when vq_avail_pending() > 0). */
uint16_t vq_pop(struct vq *q);
/* Asks the driver to notify (enable) or not (disable) on new avail entries: the used ring's
 * NO_NOTIFY flag, or avail_event with VIRTIO_RING_F_EVENT_IDX. Enabling is followed by a full
 * barrier so a re-check of the avail ring cannot miss an entry published before the flag. */
void vq_set_notify(struct vq *q, bool enable);
/* Copies the chain starting at `head` out of the descriptor table, validating every index,
 * address and length. Returns 0, or -1 (err_set) for a chain that loops or exceeds num, an index
 * out of range, an indirect descriptor (the walk stops there) or a buffer outside guest RAM (its
 * p is NULL and the walk goes on). c->n counts the descriptors read either way. */
int vq_read_chain(struct vq *q, const struct guest_mem *m, uint16_t head, struct vq_chain *c);
/* Adds {head, len} to the used ring (not yet visible: see vq_publish_used). */
void vq_push_used(struct vq *q, uint16_t head, uint32_t len);
/* Makes pushed used entries visible (release) and returns true when the driver wants an
 * interrupt for them (VRING_AVAIL_F_NO_INTERRUPT clear, or used_event passed). */
bool vq_publish_used(struct vq *q);

/* ---- backends (backend*.c) ------------------------------------------------------------------- */

struct blk_req;

struct backend {
	const struct backend_ops *ops;
	int fd;            /* image opened for the fast path (O_DIRECT for uring) */
	int fd_buffered;   /* the same image without O_DIRECT (misaligned requests) */
	uint64_t size;     /* bytes */
	uint8_t *ram;      /* backend=ram: the image in memory */
	void *priv;        /* backend-private state */
};

struct backend_ops {
	const char *name;
	/* Prepares the backend in the emulating context. Returns 0 or -1 (err_set). */
	int (*open)(struct backend *b);
	/* Starts a request. Returns 1 when it completed at once (r->result set), 0 when queued. */
	int (*submit)(struct backend *b, struct blk_req *r);
	/* Hands queued requests to the kernel. */
	void (*kick)(struct backend *b);
	/* Completes finished requests through `done`; never blocks. Returns how many. */
	int (*reap)(struct backend *b, void (*done)(struct blk_req *r));
	/* An fd readable when completions are pending, for the emulation's idle wait; -1 if none. */
	int (*event_fd)(struct backend *b);
	void (*close)(struct backend *b);
};

/* Looks up a backend by name; NULL when unknown. */
const struct backend_ops *backend_find(const char *name);
/* The fd for a request: the O_DIRECT one unless a buffer or length is not sector-aligned. */
int backend_fd_for(const struct backend *b, const struct blk_req *r);
/* Opens the image file or block device of a disk and checks size and permissions.
 * Returns 0 or -1 with a one-line reason (err_set). */
int backend_open_image(struct backend *b, const struct disk_config *cfg);

/* ---- virtio-blk (blk.c) ---------------------------------------------------------------------- */

enum blk_op { BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH, BLK_OP_DONE };

struct blk_req {
	struct blk_dev *dev;
	uint16_t head;
	uint8_t op;         /* enum blk_op; BLK_OP_DONE: completed while parsing */
	uint8_t status;     /* VIRTIO_BLK_S_* */
	uint8_t *status_p;  /* the device-writable status byte in guest RAM (NULL: none) */
	uint64_t offset;    /* bytes */
	uint32_t len;       /* data bytes */
	uint32_t used_len;  /* bytes written into the guest buffers, incl. status */
	int result;         /* backend: bytes transferred, or -errno */
	int niov;
	struct iovec iov[VQ_MAX_SIZE];
};

struct dev_counters {
	_Atomic uint64_t requests, completed, errors, unsupported;
	_Atomic uint64_t bytes_read, bytes_written, flushes;
	_Atomic uint64_t irqs, wakeups, notifies;
};

/* A virtio-blk disk. Lives in MAP_SHARED memory so a device process sees the same state. */
struct blk_dev {
	int index;
	struct disk_config cfg;
	struct vq vq;
	struct spsc ring;          /* descriptor heads: popper -> emulation */
	_Atomic uint32_t isr;      /* virtio-mmio InterruptStatus */
	_Atomic int active;        /* DRIVER_OK with valid rings */
	_Atomic int sleeping;      /* emulation is blocked (or about to block) on wake_fd */
	_Atomic int stop;
	_Atomic int broken;        /* the driver broke the protocol: DEVICE_NEEDS_RESET */
	_Atomic int popping;       /* the IOCore is inside a pass over this disk's avail ring */
	uint64_t features;         /* negotiated */
	uint64_t capacity;         /* sectors */
	int wake_fd;               /* eventfd: wakes the emulation context */
	int irq_fd;                /* irqfd: raises GSI ABI_VIRTIO_IRQ_BASE + index */
	int notify_fd;             /* ioeventfd on QueueNotify (request=ioeventfd|exitless) */
	struct dev_counters c;
	struct backend be;         /* opened and used in the emulation context only */
	pthread_t thread;
	pid_t pid;
	pid_t emu_tid;             /* the emulation thread or process, for CPU accounting */
	const struct guest_mem *mem;
	bool always_wake;          /* emulation=process: every hand-off goes through wake_fd */
	int64_t spin_ns;           /* emulation thread: poll this long after work; <0 forever, 0 never */
	bool realtime;             /* shares a CPU with the IOCore: run at SCHED_FIFO 1 so a wake-up
				    * preempts the polling IOCore at once */
	_Atomic int rt_ok;         /* the emulation context got SCHED_FIFO */
	uint8_t inflight[VQ_MAX_SIZE]; /* per head: started and not yet completed (emulation) */
	struct blk_req req[VQ_MAX_SIZE];
};

/* Creates disk `index` from cfg in shared memory and checks its image (one-line error on a
 * missing, short or unwritable image). Returns NULL on error (err_set). */
struct blk_dev *blk_create(int index, const struct disk_config *cfg, const struct guest_mem *m);
/* Features offered to the driver. */
uint64_t blk_features(const struct blk_dev *d);
/* Reads the virtio-blk config space (capacity, seg_max, blk_size). */
void blk_config_read(const struct blk_dev *d, uint64_t off, uint8_t *data, uint32_t size);
/* Emulation context: parses the chain at `head` and starts it on the backend. */
void blk_start(struct blk_dev *d, uint16_t head);
/* Emulation context: publishes finished requests and raises the interrupt if the driver asks. */
void blk_flush_completions(struct blk_dev *d);
/* Marks the device DEVICE_NEEDS_RESET (virtio 1.x §2.1.2): stops serving it, counts an error and
 * raises a configuration-change interrupt. */
void blk_mark_broken(struct blk_dev *d, const char *why);
/* Backend completion callback: records the result and pushes the used entry. */
void blk_complete(struct blk_req *r);

/* ---- emulation contexts and the hand-off (emu.c) --------------------------------------------- */

/* Starts the emulation context of a disk: a thread, or a forked device process. Returns 0 or -1. */
int emu_start(struct blk_dev *d, enum emu_mode mode, int pin_cpu);
/* Asks the emulation context to stop and waits for it. */
void emu_stop(struct blk_dev *d);
/* Producer side (vCPU thread or IOCore): pops every pending avail entry of the disk and hands
 * the heads to its emulation context, waking it if needed. Returns the number handed off. */
int emu_handoff(struct blk_dev *d);
/* vCPU thread, on a device reset: stops serving the queue and waits until the IOCore has left
 * it and every request already handed off has completed, so no thread touches the old rings
 * once the reset is visible to the guest. False when requests did not drain within 5 s. */
bool emu_quiesce(struct blk_dev *d);

/* ---- least privilege for device processes (sandbox.c) ------------------------------------- */

/* Closes every fd from 3 up that is not in keep[]: the device process drops KVM and the other
 * disks. */
void sandbox_close_fds(const int *keep, int nkeep);
/* no_new_privs, then a seccomp filter allowing only the serving loop's system calls; any other
 * kills the process. Returns 0 or -1 (err_set). */
int sandbox_seccomp(void);

/* ---- the IOCore (iocore.c) ------------------------------------------------------------------- */

struct iocore_stats {
	_Atomic uint64_t polls, busy_polls, sleeps, wakeups, handoffs;
};

/* Starts the IOCore thread serving every disk: polling the avail rings (request=exitless, going
 * to sleep on the ioeventfds after poll_us idle µs; poll_us < 0: never) or waiting on the
 * ioeventfds (request=ioeventfd). share_cpu: an emulation context may need the IOCore's CPU, so
 * idle polling yields it. Returns 0 or -1. */
int iocore_start(struct blk_dev **disks, int n, enum request_mode mode, long poll_us, int pin_cpu,
		 bool share_cpu);
void iocore_stop(void);
const struct iocore_stats *iocore_stats(void);
pid_t iocore_tid(void);

/* ---- the virtio-mmio transport (virtio_mmio.c) ----------------------------------------------- */

struct virtio_mmio {
	struct blk_dev *dev;
	struct vmm *vmm;
	uint64_t base;
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel;
	uint64_t drv_features;
	uint32_t queue_sel;
	uint32_t queue_ready;
	/* Queue 0 as the driver writes it. The device's struct vq takes it only at DRIVER_OK: the
	 * emulation context may still use the old queue after a reset or while QueueReady is 0, and
	 * must always find its ring pointers checked for its size. */
	uint16_t queue_num;
	uint64_t queue_desc, queue_avail, queue_used;
	uint32_t config_generation;
};

/* Resets the transport's registers for disk d at slot d->index (no KVM: what attach does before
 * it binds the fds and the bus region; the fuzz targets drive the registers through this). */
void virtio_mmio_init(struct virtio_mmio *t, struct vmm *v, struct blk_dev *d);
/* Registers disk d's transport at slot d->index on the MMIO bus and its ioeventfd/irqfd with KVM.
 * Returns 0 or -1. */
int virtio_mmio_attach(struct vmm *v, struct virtio_mmio *t, struct blk_dev *d);
/* The MMIO bus handler (opaque = struct virtio_mmio *). */
void virtio_mmio_access(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);

/* ---- memory barriers: x86-64 is TSO, so only store->load needs a fence ---------------------- */
#define barrier() __asm__ __volatile__("" ::: "memory")
#define smp_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)

#endif

/* virtio.h - the device model: split virtqueues, virtio devices with their queues and ops tables, the
 * virtio-mmio transport, and the request path (emulation contexts and the IOCore). The virtio ABI itself
 * (registers, status and feature bits, ring layouts) is include/virtio_spec.h, shared with the guest. */
#ifndef VIRTIO_H
#define VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "abi.h"
#include "virtio_spec.h"
#include "vmm.h"

#define VQ_MAX_SIZE ABI_VIRTQ_MAX_SIZE /* QueueNumMax of every queue */
#define VIRTIO_MAX_QUEUES 16           /* per device */

/* x86-64 is TSO: only store -> load needs a fence (the flag-then-check halves of the sleep protocols). */
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

struct virtio_dev;
struct vqueue;
struct emu_ctx;

/* ---- lock-free single-producer/single-consumer ring of descriptor heads --------------------- */

#define SPSC_SIZE 1024 /* a power of two, > the largest queue size */
struct spsc {
	/* head: written by the producer only; tail: by the consumer only. Each on its own cache
	 * line so the two sides do not false-share. */
	_Alignas(64) _Atomic uint32_t head;
	_Alignas(64) _Atomic uint32_t tail;
	_Alignas(64) uint16_t slot[SPSC_SIZE];
};

/* ---- split virtqueue, device side (virtqueue.c) ---------------------------------------------- */

struct vq {
	/* Configuration: written by the vCPU thread before the queue is served, read-only after. */
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
	int n;
	struct vq_buf buf[VQ_MAX_SIZE];
};

/* Checks that the rings of a `num`-entry queue at the configured addresses lie in guest RAM, aligned, and
 * resolves the host pointers. Returns 0, or -1 (err_set) for a ring outside RAM or misaligned, or a num
 * that is not a power of two in [1, VQ_MAX_SIZE]. */
int vq_activate(struct vq *q, const struct guest_mem *m);
/* Number of new avail entries, or -1 when the guest moved avail->idx more than num ahead
 * (a broken or hostile driver). Acquire ordering: entries read after this are published. */
int vq_avail_pending(struct vq *q);
/* Pops the next avail head (call only when vq_avail_pending() > 0). */
uint16_t vq_pop(struct vq *q);
/* Asks the driver to notify (enable) or not (disable) on new avail entries: the used ring's
 * NO_NOTIFY flag, or avail_event with VIRTIO_RING_F_EVENT_IDX. Followed by a full barrier so a
 * re-check of the avail ring cannot miss an entry published before the flag. */
void vq_set_notify(struct vq *q, bool enable);
/* Copies the chain starting at `head` out of the descriptor table, validating every index,
 * address and length. Returns 0, or -1 (err_set) for a chain that loops or exceeds num, an index
 * out of range, an indirect descriptor (not negotiated) or a buffer outside guest RAM (its p is
 * NULL and the walk goes on, so the status byte at the end can still be reached). c->n counts
 * the descriptors read either way. */
int vq_read_chain(struct vq *q, const struct guest_mem *m, uint16_t head, struct vq_chain *c);
/* Adds {head, len} to the used ring (not yet visible: see vq_publish_used). */
void vq_push_used(struct vq *q, uint16_t head, uint32_t len);
/* Makes pushed used entries visible (release) and returns true when the driver wants an
 * interrupt for them (VRING_AVAIL_F_NO_INTERRUPT clear, or used_event passed). */
bool vq_publish_used(struct vq *q);

/* ---- per-queue counters, by name: this list drives collection, deltas and the stats JSON ----- */

#define QUEUE_COUNTERS(X)                                                                          \
	X(requests)      /* heads the device took from the avail ring */                           \
	X(completed)     /* used entries it returned */                                            \
	X(errors)        /* requests completed with VIRTIO_BLK_S_IOERR, and protocol errors */     \
	X(unsupported)   /* requests completed with VIRTIO_BLK_S_UNSUPP */                         \
	X(bytes_read)                                                                              \
	X(bytes_written)                                                                           \
	X(flushes)                                                                                 \
	X(irqs)          /* interrupts raised for this queue (used buffers, NEEDS_RESET) */        \
	X(notifies)      /* guest kicks (QueueNotify) that reached the VMM or an ioeventfd */

enum queue_counter {
#define X(name) QC_##name,
	QUEUE_COUNTERS(X)
#undef X
	QC_COUNT
};

struct queue_counters {
#define X(name) _Atomic uint64_t name;
	QUEUE_COUNTERS(X)
#undef X
};



/* ---- a device's queue and its hand-off: the unit the IOCore and the emulation contexts see --- */

/* Lives in MAP_SHARED memory (virtio_dev_create) so a device process sees the same state. */
struct vqueue {
	struct virtio_dev *dev;
	uint16_t index;           /* queue number within the device */
	struct vq vq;             /* the rings, installed by the transport at activation */
	struct spsc ring;         /* descriptor heads: popper -> emulation context */
	_Atomic int active;       /* being served: DRIVER_OK (or QueueReady again) with valid rings */
	_Atomic int popping;      /* the IOCore is inside a pass over this queue */
	int notify_fd;            /* ioeventfd on QueueNotify == index; -1 with request=exit */
	struct emu_ctx *ctx;      /* the emulation context that serves it */
	uint8_t inflight[VQ_MAX_SIZE]; /* per head: started and not yet completed (emulation side) */
	_Atomic int outstanding;  /* heads handed to the emulation, not yet completed: the depth adaptive polling
	                           * counts (emu_handoff adds, the device's completion takes; 0 at activation) */
	struct queue_counters c;
	void *priv;               /* the device's per-queue state (virtio-blk: its requests) */
};

/* Queue q's counters by name (QUEUE_COUNTERS); with q NULL, only the table (nothing to read). */
struct counter_set vqueue_counters(const struct vqueue *q);

/* ---- a virtio device and what the transport and the emulation contexts call it for ---------- */

struct virtio_dev_ops {
	const char *name;
	uint32_t device_id;
	/* Transport side (vCPU thread). */
	uint64_t (*features)(const struct virtio_dev *d);
	void (*config_read)(const struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t size);
	void (*config_write)(struct virtio_dev *d, uint64_t off, const uint8_t *data, uint32_t size);
	/* Queue q's rings are valid and DRIVER_OK is set: serve it (the request path, emu.c). */
	void (*queue_ready)(struct virtio_dev *d, struct vqueue *q);
	/* Stop serving q: false when started requests did not drain (emu_quiesce). */
	bool (*queue_stop)(struct virtio_dev *d, struct vqueue *q);
	/* A queue notification that reached the VMM (request=exit). */
	void (*notify)(struct virtio_dev *d, struct vqueue *q);
	/* Emulation side (the context serving the device's queues). */
	/* Parses the chain at head and starts it, or completes it at once with an error status. */
	void (*start)(struct emu_ctx *c, struct vqueue *q, uint16_t head);
	/* Opens / closes the context's backend. ctx_open returns 0 or -1 (err_set). */
	int (*ctx_open)(struct emu_ctx *c);
	void (*ctx_close)(struct emu_ctx *c);
	/* Hands queued requests to the backend and completes finished ones; never blocks. Returns
	 * how many completed. */
	int (*ctx_poll)(struct emu_ctx *c);
	/* An fd readable when the backend has completions, for an idle wait; -1 if none. */
	int (*ctx_event_fd)(struct emu_ctx *c);
};

#define VIRTIO_KEEP_FDS (VIRTIO_MAX_QUEUES + 8)

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	int index;                /* the device's number among its kind (disk N: vd<a + N>) */
	const struct guest_mem *mem;
	int nqueues;
	struct vqueue *queues;    /* nqueues of them, in the device's shared block */
	_Atomic int broken;       /* the driver broke the protocol: DEVICE_NEEDS_RESET */
	const struct virtio_transport *transport; /* how the device reaches the guest; NULL: not attached */
	void *tstate;             /* the transport's interrupt state, in shared memory (a device process
				   * signals through it) */
	int keep_fds[VIRTIO_KEEP_FDS]; /* what a device process keeps open besides its wake-up eventfd:
					* the image, the transport's interrupt eventfds */
	int nkeep;
	void *priv;               /* the device itself */
};

/* Allocates a device with nqueues queues and `priv_size` bytes of device state and `qpriv_size` bytes
 * per queue, all zeroed in one MAP_SHARED block (a device process shares it). Returns NULL (err_set). */
struct virtio_dev *virtio_dev_create(const struct virtio_dev_ops *ops, int index, int nqueues,
				     const struct guest_mem *m, size_t priv_size, size_t qpriv_size);
/* Adds fd to what a device process of d keeps open. Returns 0 or -1 (err_set) when the list is full. */
int virtio_dev_keep_fd(struct virtio_dev *d, int fd);
/* Marks the device DEVICE_NEEDS_RESET (virtio 1.x §2.1.2): stops serving every queue, counts an error
 * on queue q (NULL: queue 0) and raises a configuration-change interrupt. Any thread. */
void virtio_dev_broken(struct virtio_dev *d, struct vqueue *q, const char *why);
/* Emulation context: publishes q's used entries and raises the interrupt if the driver asks. */
void virtio_queue_flush(struct vqueue *q);
/* What d's transport describes of it in the ACPI tables (acpi_build). */
struct acpi_part virtio_dev_acpi_part(const struct virtio_dev *d);

/* ---- transports: how a device reaches the guest (virtio_mmio.c, virtio_pci.c) ---------------- */

struct aml;

/* What a transport does for the machine and for its devices. A device never raises an interrupt itself:
 * it asks its transport to signal a queue or a configuration change (as kvmtool's signal_vq and
 * Firecracker's VirtioInterrupt::trigger). */
struct virtio_transport {
	const char *name;         /* as --transport names it */
	/* Set-up, on the main thread before any device process exists: binds device d to the machine (its
	 * slot, registers, interrupts, and with with_ioeventfd a notify ioeventfd per queue). Returns 0 or -1
	 * (err_set). */
	int (*attach)(struct vmm *v, struct virtio_dev *d, bool with_ioeventfd);
	/* Any thread or a device process, through d->tstate only: raises the interrupt of queue q, or of a
	 * configuration change for q == VIRTIO_SIGNAL_CONFIG. Returns true when an interrupt was sent. */
	bool (*signal)(struct virtio_dev *d, int q);
	/* The guest's view of d: its objects under \_SB in the DSDT (NULL: none), and the words it adds to the
	 * tiny guest's command line (returns the bytes written, as snprintf; NULL: none). */
	void (*acpi)(const struct virtio_dev *d, struct aml *sb);
	int (*cmdline)(const struct virtio_dev *d, char *s, size_t len);
	/* One line of d's interrupt state for a timeout report ("isr 0x1"), as snprintf. */
	int (*irq_state)(const struct virtio_dev *d, char *s, size_t len);
};

#define VIRTIO_SIGNAL_CONFIG (-1)

/* ---- what every transport shares: status, features, queue set-up and activation, reset -------
 * (virtio_transport.c). Runs on a vCPU thread (under the bus lock); the transport maps its registers
 * onto these. */

/* A queue as the driver configures it. The device's struct vq takes it only at DRIVER_OK: the emulation
 * context may still use the old rings after a reset or while the queue is disabled, and must always find
 * its ring pointers checked for its size. */
struct vstate_queue {
	uint16_t num;
	uint32_t ready;
	uint64_t desc, avail, used;
};

struct virtio_state {
	struct virtio_dev *dev;
	uint32_t status;          /* device status as the driver wrote it (NEEDS_RESET is the device's) */
	uint64_t drv_features;
	uint32_t queue_sel;
	struct vstate_queue q[VIRTIO_MAX_QUEUES];
};

/* Binds s to device d in the reset state. */
void vstate_init(struct virtio_state *s, struct virtio_dev *d);
/* The device reset (status 0 written): stops every queue (a device whose requests did not drain stays
 * DEVICE_NEEDS_RESET), clears status, features, queue selection and the queues' set-up. */
void vstate_reset(struct virtio_state *s);
/* A write of the device status other than 0: FEATURES_OK is refused (reads back 0) for features the device
 * does not offer or without VIRTIO_F_VERSION_1; DRIVER_OK serves every ready queue. */
void vstate_write_status(struct virtio_state *s, uint32_t v);
/* The device status as the driver reads it (with NEEDS_RESET when the device is broken). */
uint32_t vstate_read_status(const struct virtio_state *s);
/* 32 bits of the device's features (sel 0: bits 0-31, 1: 32-63, else 0). */
uint32_t vstate_device_features(const struct virtio_state *s, uint32_t sel);
/* 32 bits of the driver's features; ignored after FEATURES_OK and for sel > 1. */
void vstate_driver_features(struct virtio_state *s, uint32_t sel, uint32_t v);
/* The queue queue_sel names, or NULL when the device has no such queue. */
struct vstate_queue *vstate_selected(struct virtio_state *s);
/* Sets a field of the selected queue (its size, a ring address half): ignored while the queue is ready
 * or when no queue is selected. */
enum vstate_field { VQF_NUM, VQF_DESC_LO, VQF_DESC_HI, VQF_AVAIL_LO, VQF_AVAIL_HI, VQF_USED_LO, VQF_USED_HI };
void vstate_queue_write(struct virtio_state *s, enum vstate_field f, uint32_t v);
/* Enables (1) or stops (0) the selected queue: stopping lets go of its rings first; enabling while
 * DRIVER_OK serves it at once. */
void vstate_queue_ready(struct virtio_state *s, uint32_t ready);
/* A notification of queue `index` that reached the VMM (request=exit): the device takes the new heads. */
void vstate_queue_notify(struct virtio_state *s, uint32_t index);
/* ---- the virtio-mmio transport (virtio_mmio.c): registers, on the vCPU thread ---------------- */

/* Its state of a device (d->tstate, in shared memory: a device process raises the interrupt through it):
 * InterruptStatus, the irqfd of the line, where the window and the line are. */
struct mmio_shared {
	_Atomic uint32_t isr;
	int fd;                   /* irqfd: raises the transport's GSI; -1 when not bound */
	uint64_t base;            /* guest-physical address of the register window */
	unsigned gsi;             /* its interrupt line (an IOAPIC pin) */
	int slot;                 /* which of the machine's virtio-mmio windows */
};

struct virtio_mmio {
	struct virtio_state s;
	struct mmio_shared *sh;   /* = s.dev->tstate */
	uint32_t dev_features_sel, drv_features_sel;
};

/* Binds device d to transport t in the reset state at window `slot` (ABI_VIRTIO_MMIO_BASE + slot * SIZE) and
 * interrupt line gsi, and allocates its shared state (no KVM: what attach does before it binds the fds and the bus region; the fuzz targets
 * drive the registers through this). Returns 0 or -1 (err_set). */
int virtio_mmio_init(struct virtio_mmio *t, struct virtio_dev *d, int slot, unsigned gsi);
extern const struct virtio_transport virtio_mmio_transport;
/* The virtio-pci transport (virtio_pci.c): a PCI function per device, MSI-X vectors per queue. */
extern const struct virtio_transport virtio_pci_transport;
/* The MMIO bus handler (opaque = struct virtio_mmio *). */
void virtio_mmio_access(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);

/* ---- the switches, as tables (modes.c) ------------------------------------------------------- */

struct request_mode {
	struct mode m;
	bool ioeventfd; /* KVM catches QueueNotify in-kernel (else it exits to the vCPU thread) */
	bool polls;     /* the IOCore polls the avail rings with notifications suppressed */
};

struct emu_mode {
	struct mode m;
	const char *kind;  /* the stats' thread kind: "thread", "process" or "iocore" */
	bool always_wake;  /* every hand-off goes through the context's eventfd (a kernel-mediated wake-up) */
	bool on_iocore;    /* the IOCore runs the context itself (run to completion, no hand-off thread) */
	bool resolve;      /* not a mode: stands for inline or thread, chosen by the placement (machine.c) */
	/* Starts / stops the context's thread or process (NULL: nothing to start). start returns 0/-1. */
	int (*start)(struct emu_ctx *c);
	void (*stop)(struct emu_ctx *c);
};

struct completion_mode {
	struct mode m;
};

/* --hlt-exits: whether a halting vCPU exits to KVM (on), or halts inside the guest (off: KVM_CAP_X86_DISABLE_EXITS). */
struct hlt_mode {
	struct mode m;
	bool exits;
};

/* --transport: which transport a device is attached to (per disk: --disk ...,transport=). */
struct transport_mode {
	struct mode m;
	const struct virtio_transport *ops;
};

extern const struct request_mode request_modes[];
extern const struct emu_mode emu_modes[];
extern const struct completion_mode completion_modes[];
extern const struct transport_mode transport_modes[];
extern const struct hlt_mode hlt_modes[];
extern const int n_request_modes, n_emu_modes, n_completion_modes, n_transport_modes, n_hlt_modes;

/* ---- the idle window of a polling thread (pollwin.c) ----------------------------------------- */

#define POLLWIN_BUCKETS 20          /* log2 buckets of idle periods, from 1 µs; the last is open */
#define POLLWIN_NEVER   UINT64_MAX  /* a window that never ends: the thread never sleeps */
#define POLLWIN_DEEP    2           /* requests outstanding on a queue from which a wait is for a deep queue */

/* What an idle period waits for, from the requests outstanding at the thread's queues when it starts: the guest's
 * next request (none), the device (one: its service time), or a deep queue's next completion (POLLWIN_DEEP). An
 * adaptive window learns the first two apart; through the third it polls on, or polls the maximum and sleeps
 * where that has been measured to cost the device no rate (pollwin.c). */
enum pollwin_wait { PW_GUEST, PW_DEVICE, PW_DEEP };
#define PW_LEARNED 2 /* the waits with a window of their own: PW_GUEST, PW_DEVICE */

/* What a wait on q is for (an unserved queue: the guest's). */
static inline enum pollwin_wait queue_wait(struct vqueue *q)
{
	int n;

	if (!atomic_load_explicit(&q->active, memory_order_acquire))
		return PW_GUEST;
	n = atomic_load_explicit(&q->outstanding, memory_order_relaxed);
	return n >= POLLWIN_DEEP ? PW_DEEP : n > 0 ? PW_DEVICE : PW_GUEST;
}

/* What the requests at a polling thread's queues say where an idle period starts (pollwin_expired). */
struct pollwin_look {
	enum pollwin_wait wait; /* what the thread waits for: the furthest along of its queues' waits (queue_wait) */
	uint64_t completed;     /* requests completed so far, over its queues */
	uint64_t bytes;         /* and the bytes they moved */
};
typedef void pollwin_look_fn(const void *arg, struct pollwin_look *l);

/* The look of a thread serving the n queues q. */
static inline void queues_look(struct vqueue *const *q, int n, struct pollwin_look *l)
{
	*l = (struct pollwin_look){ PW_GUEST, 0, 0 };
	for (int i = 0; i < n; i++) {
		enum pollwin_wait qw = queue_wait(q[i]);

		l->wait = qw > l->wait ? qw : l->wait;
		l->completed += atomic_load_explicit(&q[i]->c.completed, memory_order_relaxed);
		l->bytes += atomic_load_explicit(&q[i]->c.bytes_read, memory_order_relaxed) +
			    atomic_load_explicit(&q[i]->c.bytes_written, memory_order_relaxed);
	}
}

/* The window's numbers, by name: X a counter (the stats report its change over the measured window), G a gauge
 * (its value at the end). Counted where the thread may sleep (not with --poll-us 0: no clock is read there). */
#define POLLWIN_COUNTERS(X, G)                                                                     \
	X(idles)         /* idle periods that ended with work */                                  \
	X(idle_ns)       /* their total length, sleeps included */                                \
	X(window_ns)     /* sum of the window in force in each: / idles = the mean window */       \
	X(device_idles)  /* those of them that waited for the device */                           \
	X(probes)        /* waits for the device that polled the maximum to test a smaller window */ \
	X(deep_idles)    /* waits for a deep queue that polled the maximum to sleep after it (adaptive) */ \
	G(window_now_ns) /* the window for the guest's next request now (POLLWIN_NEVER: never sleeps) */ \
	G(device_window_now_ns) /* the window for the device now */                                \
	G(deep_sleeps)   /* 1: waits for a deep queue sleep after the maximum now; 0: they poll on (adaptive) */
enum pollwin_counter {
#define X(name) PWC_##name,
	POLLWIN_COUNTERS(X, X)
#undef X
	PWC_COUNT
};

/* One polling thread's window. Written by that thread only; the counters are read by the stats. */
struct pollwin {
	struct poll_policy policy;
	struct {
		uint64_t window_ns;              /* poll this long without work, then sleep (0: at once) */
		uint32_t hist[POLLWIN_BUCKETS];  /* adaptive: recent idle periods by length */
		uint32_t periods;
	} learned[PW_LEARNED];                   /* the window for a wait for the guest, learned from every period;
	                                          * the one for the device, from the device's waits (pollwin.c) */
	enum pollwin_wait wait;                  /* what the idle period in progress waits for */
	uint64_t in_force;                       /* its window (a probe's: the maximum) */
	uint32_t since_probe;                    /* waits for the device since the last probe */
	bool device_wakes;                       /* its sleep ends with its devices' completions */
	struct {                                 /* adaptive: how it waits for a deep queue, by phases (pollwin.c) */
		bool sleeps;                     /* this phase: poll the maximum, then sleep (else poll on) */
		bool choice;                     /* what the last comparison chose */
		uint32_t waits;                  /* deep waits so far in this phase */
		uint32_t long_waits;             /* of them, polled on past the maximum */
		uint32_t phase;                  /* 0: measured polling on, 1: sleeping (if worth trying), then the choice's */
		uint64_t from_ns, from_completed, from_bytes; /* where this phase started */
		uint64_t last_ns;                /* where the last deep wait started */
		uint64_t poll_rate;              /* completions per second of the last phase polled on */
	} deep;
	uint64_t (*clock)(void);                 /* mono_ns (a test's clock in unit tests) */
	uint64_t idle_from;                      /* clock() at the first pass without work of this idle period, 0: busy */
	_Atomic uint64_t n[PWC_COUNT];
};

/* Starts a window with policy p (never sleep, fixed, adaptive up to p->ns). device_wakes: the thread's sleep ends
 * with its devices' completions (their events are among what it sleeps on), so it may sleep through a deep wait. */
void pollwin_init(struct pollwin *w, const struct poll_policy *p, bool device_wakes);
/* An idle period waiting for `wait` starts now, with the window of such waits (PW_DEEP: the maximum). */
void pollwin_start(struct pollwin *w, enum pollwin_wait wait);
/* The idle period in progress has ended after idle_ns (from the first pass without work to the pass that found
 * work, sleeps included): counts it and, adaptive, moves the windows. */
void pollwin_idle_end(struct pollwin *w, uint64_t idle_ns);
/* How long to poll without work before sleeping, now, in a wait for `wait` (PW_GUEST, PW_DEVICE). */
static inline uint64_t pollwin_window(const struct pollwin *w, enum pollwin_wait wait)
{
	return w->learned[wait].window_ns;
}
/* The thread's pass found no work: starts an idle period or goes on with it. True when the window is over
 * (sleep now); never for a window that never ends, and then without reading the clock. Where a period starts (only
 * there) it asks look(arg) what the wait is for and takes the window of that kind; an adaptive window polls on
 * through a wait for a deep queue (no idle period starts) unless sleeping through one has been seen to leave the
 * device busy (a fixed one counts it a wait for the device). */
bool pollwin_expired(struct pollwin *w, pollwin_look_fn *look, const void *arg);
/* The thread's pass found work: ends the idle period in progress, if any (pollwin_idle_end). */
static inline void pollwin_busy(struct pollwin *w)
{
	if (w->idle_from)
		pollwin_idle_end(w, w->clock() - w->idle_from);
}
/* Snapshot of the window's counters into out[PWC_COUNT] (its owner publishes them with its own). */
void pollwin_counters_read(const struct pollwin *w, uint64_t *out);

/* ---- emulation contexts and the hand-off (emu.c) --------------------------------------------- */

/* An emulation context's own counters, by name (its idle window's follow them). */
#define EMU_CTX_COUNTERS(X) X(wakeups) /* times it slept and was woken */
enum emu_ctx_counter {
#define X(name) ECC_##name,
	EMU_CTX_COUNTERS(X)
#undef X
	ECC_COUNT
};

/* One emulation context: a thread, a device process or (inline) the IOCore itself, serving some
 * queues of one device. In MAP_SHARED memory (emu_ctx_create). */
struct emu_ctx {
	int index;
	struct virtio_dev *dev;
	const struct emu_mode *mode;
	int nq;
	struct vqueue *q[VIRTIO_MAX_QUEUES];
	_Atomic int sleeping;      /* blocked (or about to block) on wake_fd */
	_Atomic int stop;
	_Atomic int rt_ok;         /* got SCHED_FIFO */
	_Atomic uint64_t n[ECC_COUNT];
	int wake_fd;               /* eventfd: wakes the context */
	pthread_t thread;
	pid_t pid;                 /* device process */
	_Atomic pid_t tid;         /* the thread or process, for CPU accounting */
	int cpu;                   /* pinned CPU, -1 none */
	struct pollwin win;        /* how long it polls without work before sleeping (0: at once) */
	bool realtime;             /* shares a CPU with the IOCore: SCHED_FIFO 1, so a wake-up preempts it */
	char info[48];             /* what its backend uses (written where it runs), for the stats */
	void *priv;                /* the device's per-context state (virtio-blk: the backend) */
};

/* Context c's counters by name: EMU_CTX_COUNTERS, then its idle window's (POLLWIN_COUNTERS). */
struct counter_set emu_ctx_counters(const struct emu_ctx *c);
/* Creates an emulation context serving queues q[0..nq) of their device, in `mode`. Returns NULL (err_set). */
struct emu_ctx *emu_ctx_create(int index, const struct emu_mode *mode, struct vqueue **q, int nq);
/* Starts it (thread, process, or nothing for inline) after ctx_open where it runs in this process.
 * Returns 0 or -1. */
int emu_ctx_start(struct emu_ctx *c);
/* Asks it to stop and waits for it; requests already started drain first. */
void emu_ctx_stop(struct emu_ctx *c);
/* One round of service: starts every handed-off head, lets the backend progress, publishes used entries.
 * Returns the amount of work done (0: idle). Used by the context's own loop and by the IOCore (inline). */
int emu_ctx_service(struct emu_ctx *c);
/* Started requests not yet completed, over every queue of the context. */
int emu_ctx_inflight(const struct emu_ctx *c);
/* Waits (bounded) until every started request of the context has completed or failed. */
void emu_drain(struct emu_ctx *c);
/* The serving loop of a thread or process, and the final drain (exported for the modes table). */
int emu_thread_start(struct emu_ctx *c);
void emu_thread_stop(struct emu_ctx *c);
int emu_process_start(struct emu_ctx *c);
void emu_process_stop(struct emu_ctx *c);

/* Producer side (vCPU thread or IOCore): pops every pending avail entry of q and hands the heads to its
 * emulation context, waking it if needed. Returns the number handed off. */
int emu_handoff(struct vqueue *q);
/* The request path's side of queue activation (the device's queue_ready): initial notification state,
 * then served. And the queue_stop: stops serving q and waits until the IOCore has left it and every
 * request already handed off has completed, so no thread touches the old rings once the guest sees the
 * queue stopped. False when requests did not drain within 5 s. */
void emu_queue_ready(struct virtio_dev *d, struct vqueue *q);
bool emu_quiesce(struct virtio_dev *d, struct vqueue *q);
/* The device's notify (request=exit): counts the kick and hands the queue's new heads off. */
void emu_notify(struct virtio_dev *d, struct vqueue *q);

/* ---- the IOCore (iocore.c) ------------------------------------------------------------------- */

#define IOCORE_COUNTERS(X) X(polls) X(busy_polls) X(sleeps) X(wakeups) X(handoffs)
enum iocore_counter {
#define X(name) IOC_##name,
	IOCORE_COUNTERS(X)
#undef X
	IOC_COUNT
};

/* What the IOCore serves and how: the request mode, the queues it pops (none with request=exit), the
 * contexts it runs inline, when it sleeps (--poll-us), its CPU and whether an emulation context may need
 * that CPU. */
struct iocore_config {
	const struct request_mode *req;
	struct poll_policy poll;
	struct vqueue **queues;
	int nqueues;
	struct emu_ctx **inline_ctx;
	int ninline;
	int cpu;
	bool share_cpu;
};

/* Whether this configuration needs an IOCore thread at all. */
bool iocore_needed(const struct request_mode *req, const struct emu_mode *emu);
/* The notification state a queue starts with when it is activated (emu_queue_ready). */
bool iocore_initial_notify(void);
/* Starts the IOCore thread. Returns 0 or -1 (err_set). */
int iocore_start(const struct iocore_config *cfg);
void iocore_stop(void);
/* The IOCore's counters by name: IOCORE_COUNTERS, then its idle window's (POLLWIN_COUNTERS); zeros when
 * none was started. */
struct counter_set iocore_counters(void);
/* Its thread id (0 when none was started). */
pid_t iocore_tid(void);

/* ---- least privilege (sandbox.c) ------------------------------------------------------------- */

/* Closes every fd from 3 up that is not in keep[]: a device process drops KVM and the other disks. */
void sandbox_close_fds(const int *keep, int nkeep);

enum sandbox_role { SANDBOX_VCPU, SANDBOX_IOCORE, SANDBOX_EMU_THREAD, SANDBOX_DEVICE_PROCESS, SANDBOX_ROLES };
/* Confines the calling thread (and the threads it creates) for good: no_new_privs, then a seccomp filter
 * allowing only the system calls of the role; any other is reported on stderr and ends the VMM with
 * VMM_EXIT_FAILURE. Call after the thread's set-up. Returns 0 or -1 (err_set). */
int sandbox_enter(enum sandbox_role role);

#endif

/* vmm.h - the VMM's internal interfaces; every prototype states its contract. */
#ifndef VMM_H
#define VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/kvm.h>

/* Process exit statuses of build/vmm besides the guest's own code (0..255 written to port 0xf4). */
#define VMM_EXIT_USAGE   2   /* bad flag, missing/malformed file, a module that does not fit */
#define VMM_EXIT_TIMEOUT 124 /* --timeout expired */
#define VMM_EXIT_FAILURE 125 /* unexpected exit, guest triple fault, host failure */

/* ---- errors (err.c) -------------------------------------------------------------------------- */

/* Records a one-line error message for the caller to print; returns -1 so callers can
 * `return err_set(...)`. Thread-local: each thread keeps its own last message. */
int err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last message recorded by err_set() on this thread ("" if none). */
const char *err_msg(void);
/* Prints "vmm: <message>" on stderr and exits with `status`. */
void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* A broken host invariant: prints file:line and the message, exits VMM_EXIT_FAILURE. */
#define BUG_ON(cond)                                                                               \
	do {                                                                                       \
		if (cond)                                                                          \
			die(VMM_EXIT_FAILURE, "%s:%d: internal error: %s", __FILE__, __LINE__,     \
			    #cond);                                                                \
	} while (0)

/* ---- guest memory (guest_mem.c) -------------------------------------------------------------- */

/* What backs guest RAM: 2 MiB hugetlb pages, transparent huge pages, or 4 KiB pages; auto picks the best the
 * host can give. */
enum mem_backing { MEM_AUTO, MEM_HUGETLB, MEM_THP, MEM_4K, MEM_BACKINGS };
extern const char *const mem_backing_names[MEM_BACKINGS];

struct guest_mem {
	int fd;          /* memfd backing shared guest RAM (hugetlb, or shared with a device process); -1: private */
	uint8_t *host;   /* the mapping in this process (MAP_SHARED of fd, or private anonymous) */
	uint64_t size;   /* bytes of RAM, guest-physical [0, size) */
	enum mem_backing backing, requested; /* what backs it; what --mem-backing asked for */
};

/* Creates `size` bytes of zeroed RAM backed as `want` asks and maps it: shared (a memfd that a forked device
 * process maps too) when `shared`, else private anonymous memory, except hugetlb, always a memfd. hugetlb
 * fails (err_set) when the host's free 2 MiB pages cannot hold it; thp on a host that keeps that memory on
 * 4 KiB pages warns; auto ending on 4 KiB pages prints one line saying what would give it huge pages.
 * Returns 0 or -1 (err_set). */
int gmem_init(struct guest_mem *m, uint64_t size, enum mem_backing want, bool shared);
/* Unmaps and closes; safe on a zeroed or already destroyed struct. */
void gmem_destroy(struct guest_mem *m);
/* The one checked translation: host pointer for guest-physical [gpa, gpa+len), or NULL when any
 * byte of it lies outside RAM (overflow of gpa+len included). len 0 is valid for gpa <= size.
 * Every device reaches guest memory through this. */
void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* How much of this process's memory sits on transparent huge pages (shmem THP and anonymous THP), from an fd of
 * /proc/self/smaps_rollup opened once (gmem_huge_open; -1 when unavailable): KiB, 0 for fd -1. */
int gmem_huge_open(void);
uint64_t gmem_huge_kib(int fd);

/* ---- PVH boot (pvh.c) ------------------------------------------------------------------------ */

#define PVH_START_INFO_GPA 0x6000ull /* hvm_start_info, then memmap and module list */
#define PVH_CMDLINE_GPA    0x7000ull /* NUL-terminated command line, up to PVH_CMDLINE_MAX */
#define PVH_CMDLINE_MAX    (0x9f000ull - PVH_CMDLINE_GPA)
#define PVH_LOW_RAM_END    0x9fc00ull /* start of the legacy hole, as on a PC */
#define PVH_KERNEL_MIN     0x100000ull /* segments must load at or above 1 MiB */
#define PVH_MAX_MODULES    16

struct pvh_image {
	uint32_t entry32; /* XEN_ELFNOTE_PHYS32_ENTRY */
	uint64_t lo, hi;  /* guest-physical span of the loaded segments [lo, hi) */
};

struct pvh_module {
	const char *path;
	uint64_t gpa, size; /* filled by pvh_load_modules() */
};

/* Validates the ELF64 image in buf[0, len) and copies its PT_LOAD segments into guest RAM
 * (zero-filling memsz beyond filesz); finds the PVH entry note. Returns 0, or -1 with a
 * one-line reason (err_set) for a truncated or malformed ELF, a segment outside RAM or below
 * 1 MiB, or a missing / out-of-image entry note. Guest RAM may be partly written on failure. */
int pvh_load_elf(struct guest_mem *m, const uint8_t *buf, size_t len, struct pvh_image *img);
/* Reads a file into a malloc'ed buffer. Returns 0 or -1 (err_set naming the path). */
int pvh_read_file(const char *path, uint8_t **buf, size_t *len);
/* Places each module's file at the top of RAM (4 KiB aligned, downwards) and fills gpa/size.
 * Returns 0, or -1 (err_set) when a file cannot be read or the modules do not fit above img. */
int pvh_load_modules(struct guest_mem *m, const struct pvh_image *img, struct pvh_module *mods,
		     int n);
/* A Linux guest's initramfs: the newc archive in file `initrd`, followed by a newc archive of the files
 * (exitless/job.fio for the first, exitless/BASENAME for the others), at the top of RAM; fills out.
 * Returns 0 or -1 (err_set) for an unreadable or non-newc initrd or when it does not fit above img. */
int pvh_load_initrd(struct guest_mem *m, const struct pvh_image *img, const char *initrd,
		    const struct pvh_module *files, int n, struct pvh_module *out);
/* Whether RAM is large enough for a Linux guest to unpack `initramfs` (as pvh_load_initrd placed it) with
 * the kernel `img` loaded (less with rootfstype=ramfs in cmdline). Returns 0, or -1 (err_set: the --mem
 * needed). */
int pvh_initrd_fits(const struct guest_mem *m, const struct pvh_image *img, const struct pvh_module *initramfs,
		    const char *cmdline);
/* A guest-physical range the memory map marks reserved (a device window firmware would reserve). */
struct pvh_range {
	uint64_t base, size;
};
#define PVH_MAX_RESERVED 4

/* Writes hvm_start_info (version 1) with the RSDP address (0: none), the memory map (RAM, the legacy hole and the
 * reserved ranges), the module list and the command line. Returns 0 or -1 (err_set) when the command line is
 * too long. */
int pvh_write_start_info(struct guest_mem *m, const char *cmdline, const struct pvh_module *mods,
			 int n, uint64_t rsdp, const struct pvh_range *reserved, int nreserved);

/* ---- ACPI tables (acpi.c) -------------------------------------------------------------------- */

#define ACPI_TABLES_GPA 0xe0000ull  /* in the reserved hole below 1 MiB, as a PC BIOS places them */
#define ACPI_TABLES_END 0x100000ull

struct aml;

/* Something that describes itself in the tables (a device through its transport, a bus): its objects under
 * \_SB in the DSDT, and a table of its own written at buf (at most max bytes, with acpi_header; returns its
 * length, 0 for none). Either may be NULL. */
struct acpi_part {
	void (*dsdt)(const void *o, struct aml *sb);
	size_t (*table)(const void *o, uint8_t *buf, size_t max);
	const void *o;
};
#define ACPI_MAX_PARTS 12

/* Writes RSDP, XSDT, a hardware-reduced FADT, the MADT (nvcpus LAPICs, the IOAPIC), the parts' tables and a
 * DSDT (COM1, COM2, the parts' objects, \_S5) at ACPI_TABLES_GPA; *rsdp_gpa gets the RSDP's address. Returns
 * 0 or -1 (err_set). */
int acpi_build(struct guest_mem *m, int nvcpus, const struct acpi_part *parts, int nparts, uint64_t *rsdp_gpa);
/* Fills an ACPI table header (signature, length, revision, the OEM fields) and its checksum over len bytes. */
void acpi_header(void *table, const char *sig, uint32_t len, uint8_t rev);

/* ---- I/O buses (bus.c) ----------------------------------------------------------------------- */

/* A device region on the port or MMIO bus. `access` gets the offset inside the region; on a read
 * it fills data[0, size), on a write it consumes it. Called on the vCPU thread. */
struct bus_region {
	uint64_t base, len;
	void *opaque;
	void (*access)(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
	const char *name;
};

#define BUS_MAX_REGIONS 32
struct bus {
	struct bus_region r[BUS_MAX_REGIONS];
	int n;
	uint64_t unclaimed; /* accesses that hit no region (reads return all-ones) */
};

/* Adds a region; regions must not overlap. Returns 0 or -1 (err_set). */
int bus_register(struct bus *b, const struct bus_region *r);
/* Removes the region that starts at base (a BAR the guest moved or stopped decoding). Returns 0 or -1. */
int bus_unregister(struct bus *b, uint64_t base);
/* Dispatches one access; an address in no region reads as all-ones and ignores writes. */
void bus_access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t size, bool is_write);

/* ---- 16550 UART (serial.c) ------------------------------------------------------------------- */

struct serial {
	int out_fd;          /* where transmitted bytes go */
	uint8_t regs[8];     /* IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR as last written */
	uint8_t dll, dlm;    /* divisor latch */
	char buf[4096];      /* transmit buffer, flushed at newline / when full / on serial_flush */
	size_t used;
	bool line_buffered;  /* flush at every '\n' (an interactive console) */
	bool fifo;           /* FCR: FIFOs enabled (IIR reads 0xc0 | ...) */
	bool thri_pending;   /* the transmitter-empty interrupt condition */
	bool irq_level;      /* what the ISA line was last set to */
	int vm_fd;           /* KVM_IRQ_LINE target; -1: no interrupt line */
	unsigned irq;
};

/* Initialises a UART writing to out_fd. */
void serial_init(struct serial *s, int out_fd, bool line_buffered);
/* Connects the UART's interrupt to ISA IRQ `irq` of the VM's in-kernel irqchip. */
void serial_set_irq(struct serial *s, int vm_fd, unsigned irq);
/* Bus access handler for the UART's 8 registers (opaque = struct serial *). */
void serial_access(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
/* Writes out what is buffered. */
void serial_flush(struct serial *s);

/* ---- KVM (kvm.c) ----------------------------------------------------------------------------- */

#define VMM_MAX_VCPUS 16

struct kvm_vcpu {
	int index;
	int fd;
	struct kvm_run *run;
	int stats_fd;        /* KVM_GET_STATS_FD, -1 when this kernel has none */
};

struct kvm_vm {
	int kvm_fd, vm_fd;
	int nvcpus;
	struct kvm_vcpu vcpu[VMM_MAX_VCPUS];
	size_t run_size;
	uint32_t tsc_khz;
	const char *flavor;  /* "vmx", "svm" or "pvm" */
	bool emulated;       /* the host's hardware virtualization is itself emulated (QEMU TCG, Bochs) */
	bool posted_interrupts; /* APICv / AVIC on */
	char host_hv[64];    /* the hypervisor or emulator this process runs under (host_hypervisor), "" on bare metal */
	bool hints_realtime;  /* CPUID tells the guest its vCPUs have CPUs of their own (KVM_HINTS_REALTIME) */
	bool hlt_exits_off;   /* KVM took KVM_CAP_X86_DISABLE_EXITS (HLT): a halt stays in the guest */
	bool pv_eoi, poll_control; /* offered to the guest in KVM's CPUID leaf */
	const char *avic_inhibitors; /* what keeps AVIC off for this VM (kvm_avic_inhibitors), read at set-up */
};

/* What the machine asks of KVM before the first vCPU: the realtime hint in CPUID, no HLT exits. */
struct kvm_opts {
	bool hints_realtime;
	bool disable_hlt_exits;
};

/* Opens /dev/kvm, creates the VM with an in-kernel irqchip (PIC, IOAPIC, LAPIC; no PIT) and what VT-x needs
 * before the first vCPU (TSS and identity-map pages), registers guest RAM, applies o, creates nvcpus vCPUs
 * with CPUID from KVM_GET_SUPPORTED_CPUID (topology and APIC ids per vCPU, KVM's leaf) and reads the TSC
 * frequency. Returns 0 or -1 (err_set). */
int kvm_vm_create(struct kvm_vm *vm, const struct guest_mem *m, int nvcpus, const struct kvm_opts *o);
/* Puts vCPU 0 in the PVH entry state: 32-bit flat protected mode, paging off,
 * eip = entry, ebx = start_info. Returns 0 or -1 (err_set). */
int kvm_vcpu_pvh_entry(struct kvm_vm *vm, uint32_t entry, uint32_t start_info);
/* Prints general and segment registers of a vCPU on stderr. */
void kvm_dump_regs(const struct kvm_vcpu *c);
/* Closes every fd and unmaps kvm_run; safe on a partly created VM. */
void kvm_vm_destroy(struct kvm_vm *vm);
/* Whether KVM on this host delivers interrupts as posted interrupts (APICv / AVIC). */
bool host_posted_interrupts(void);
/* The hypervisor or emulator this process runs under, in name (n bytes): the CPUID signature of leaf
 * 0x40000000 when the hypervisor bit is set (QEMU TCG: "TCGTCGTCGTCG", KVM: "KVMKVMKVM"), else the BIOS
 * version from DMI when the BIOS is Bochs's ("Bochs 2.7": Bochs sets no hypervisor bit); "" on bare metal. */
void host_hypervisor(char *name, size_t n);
/* host_hypervisor's rule on given facts: the CPUID signature sig ("" without the hypervisor bit) and DMI's
 * bios_vendor and bios_version. */
void host_identify(const char *sig, const char *bios_vendor, const char *bios_version, char *name, size_t n);
/* Whether the hypervisor or emulator named so (host_hypervisor) emulates the CPU (QEMU TCG, Bochs): timings
 * there are no performance. */
bool host_emulated(const char *name);
/* The KVM module loaded: "vmx", "svm", "pvm" or "unknown". */
const char *kvm_flavor(void);
/* What would keep AVIC (posted interrupts) off for this VM on an SVM host, "" when nothing or not SVM. */
const char *kvm_avic_inhibitors(void);

/* ---- the experiment switches and disks ------------------------------------------------------- */

/* What every mode of a switch has first: the options, --help, the guest's command line and the stats use it. */
struct mode {
	const char *name, *help;
};

struct request_mode;
struct emu_mode;
struct completion_mode;
struct transport_mode;
struct hlt_mode;

struct disk_config {
	const char *path;
	const char *backend; /* "uring" (default), "sync", "null", "ram" */
	bool ro;             /* offer VIRTIO_BLK_F_RO; the image is opened read-only */
	bool rw_device;      /* allow writes to a block device */
	int queues;          /* request queues; 0: one per vCPU */
	uint32_t latency_us; /* backend=null: every request completes this long after it started (0: at once) */
	bool serial;         /* backend=null with latency=: one request in service at a time */
	const struct transport_mode *transport; /* ,transport=: NULL takes --transport */
};

#define VMM_MAX_DISKS 8

/* A CPU list as --pin takes it ("2", "0-3", "1:3:5"); n == 0: not pinned. Entry i of the threads of a
 * kind goes to cpu[i % n]. */
struct cpu_list {
	int n;
	int cpu[64];
};

struct pin_config {
	struct cpu_list vcpu, iocore, dev;
};

/* How emulation contexts are laid out: one per device (each device's queues share it) or one per queue. */
enum ctx_layout { CTX_PER_DEVICE, CTX_PER_QUEUE };

/* ---- the machine ---------------------------------------------------------------------------- */

/* --poll-us: how long a polling thread (the IOCore, an emulation thread with a CPU of its own) spins without
 * work before it sleeps (vmm/pollwin.c). */
enum poll_kind {
	POLL_NEVER_SLEEP, /* --poll-us 0 */
	POLL_FIXED,       /* --poll-us N; also a context that must sleep as soon as it is idle (ns 0) */
	POLL_ADAPTIVE,    /* --poll-us adaptive[:MAX] */
};
struct poll_policy {
	enum poll_kind kind;
	uint64_t ns; /* POLL_FIXED: the window (0: sleep at once); POLL_ADAPTIVE: its maximum */
};
#define POLL_ADAPTIVE_MAX_US 200 /* --poll-us adaptive: Linux's guest halt polling maximum (guest_halt_poll_ns) */

struct vmm_config {
	uint64_t mem_mib;
	enum mem_backing mem_backing;
	int cpus;
	const char *cmdline;
	const char *guest;
	const char *initrd;   /* --initrd: the guest is a Linux kernel */
	const char *console;  /* NULL: stdout */
	const char *results;  /* NULL: COM2 output is dropped */
	unsigned timeout_s;   /* 0: none */
	struct pvh_module modules[PVH_MAX_MODULES];
	int nmodules;
	struct disk_config disks[VMM_MAX_DISKS];
	int ndisks;
	const struct request_mode *request;
	const struct emu_mode *emulation;
	const struct emu_mode *emulation_asked; /* what --emulation said (auto resolves into emulation) */
	const struct completion_mode *completion;
	const struct transport_mode *transport;
	const struct hlt_mode *hlt_exits;
	enum ctx_layout contexts;
	struct poll_policy poll; /* --poll-us: when the IOCore (and an emulation thread with a CPU of its own)
				  * sleeps: never, after a fixed time without work, or an adapted one */
	struct pin_config pin;
	bool pin_given;
	const char *stats;    /* --stats FILE */
	bool dry_run;         /* --dry-run: describe the machine (describe.c) instead of running it */
};

/* "A:B:C" of a CPU list into s (len bytes); "" when not pinned. */
void cpu_list_format(const struct cpu_list *l, char *s, size_t len);

/* ---- counters by name ------------------------------------------------------------------------- */

/* What an object counts, as it publishes it (cloud-hypervisor's counters()): a table of names, one entry of
 * the object's X-macro list each, and a snapshot of the values in table order. The stats take the snapshot at
 * both ends of the measured window and write each value under its name: a counter's change over the window,
 * a gauge's (a value now, not a running count) value at the end, null when it is UINT64_MAX (none). They never
 * look inside the object. */
#define COUNTERS_MAX 24 /* values in one set */
struct counter_table {
	const char *const *names;
	const bool *gauge; /* per name; NULL: none is a gauge */
	int n;
};
struct counter_set {
	const struct counter_table *table;
	void (*read)(const void *obj, uint64_t *out); /* out[table->n]; any thread, while the object exists */
	const void *obj;
};
/* For the X-macro lists of counters (C) and gauges (G): their names, and which are gauges. */
#define COUNTER_NAME(name) #name,
#define COUNTER_NOT_GAUGE(name) false,
#define COUNTER_GAUGE(name) true,

/* Counts of userspace exits by reason, kept by each vCPU thread. */
#define EXIT_REASONS(X) X(io) X(mmio) X(hlt) X(intr) X(shutdown) X(other)
struct exit_counts {
#define X(name) _Atomic uint64_t name;
	EXIT_REASONS(X)
#undef X
};

struct virtio_dev;
struct emu_ctx;
struct stats;

struct vmm {
	struct vmm_config cfg;
	struct guest_mem mem;
	struct kvm_vm kvm;
	struct bus pio, mmio;
	pthread_mutex_t bus_lock;  /* device regions are entered by one vCPU thread at a time */
	struct serial com1, com2;
	struct pvh_module initramfs; /* --initrd: the initramfs with the --module files appended, as loaded */
	struct exit_counts exits[VMM_MAX_VCPUS];
	pthread_t vcpu_thread[VMM_MAX_VCPUS];
	_Atomic pid_t vcpu_tid[VMM_MAX_VCPUS];
	_Atomic int guest_exit;    /* the value the guest wrote to the debug-exit port, -1 before */
	_Atomic int exit_code;     /* the process status, decided by whatever ended the run first */
	_Atomic int stop;          /* the run is over: every vCPU leaves KVM_RUN */
	struct virtio_dev *disks[VMM_MAX_DISKS];
	int ndisks;
	struct {
		int mmio_slots;    /* virtio-mmio windows handed out (layout.c) */
		int pci_devs;      /* PCI device numbers handed out */
		int msi_gsis;      /* GSIs handed out for MSI routes */
	} layout;
	struct emu_ctx *ctx[VMM_MAX_DISKS * 16];
	int nctx;
	struct stats *stats;       /* exit and cost accounting (stats.c) */
	int stats_fd;              /* --stats FILE, opened at set-up */
};

/* Parses argv into cfg. Prints usage and exits 0 on --help; on a bad flag prints one line and exits
 * VMM_EXIT_USAGE. */
void options_parse(struct vmm_config *cfg, int argc, char **argv);

/* Builds the machine from v->cfg: RAM, KVM, devices, loads the guest, starts the I/O threads. Exits
 * VMM_EXIT_USAGE on bad input (unreadable or malformed ELF, a module that does not fit) and
 * VMM_EXIT_FAILURE on host failures, each with one line. */
void machine_setup(struct vmm *v);
/* What needs no KVM: the default placement (--pin), --emulation auto resolved. */
void machine_plan(struct vmm_config *c);
/* Disk i's request queues (its queues=, else one per vCPU and a Linux guest's poll queue) and transport. */
int machine_disk_queues(const struct vmm_config *c, int i);
const struct transport_mode *machine_disk_transport(const struct vmm_config *c, int i);
/* The guest command line's words that come from the configuration: head, the Linux guest's console, reset and
 * panic words and the user's (--cmdline); else the tail, the modes and a Linux guest's poll queue. The tiny
 * guest gets each device's words between them and tsc_khz= after. Returns the length as snprintf does. */
size_t machine_cmdline_words(const struct vmm_config *c, bool head, char *s, size_t len);
/* --dry-run: the machine as it would run (switches resolved, disks and their queues, the guest command line)
 * as JSON on stdout. */
void machine_describe(struct vmm *v);
/* Installs the run's signal handlers and starts a thread for every vCPU but 0 (the application processors
 * wait in KVM_RUN for their INIT/SIPI). Call with the main-thread-only signals blocked. Returns 0 or -1. */
int vcpu_start_aps(struct vmm *v);
/* Runs every vCPU until the guest writes the debug-exit port, the timeout expires, a stop signal
 * arrives or a fatal exit; returns the process exit status. Call on the main thread (vCPU 0). */
int vcpu_run_all(struct vmm *v);
/* Stops the I/O threads, writes the stats, releases what machine_setup() acquired, flushes the UARTs. */
void machine_teardown(struct vmm *v);

/* ---- the machine's layout (layout.c): windows and interrupt lines, handed out in one place ---------- */

/* The next virtio-mmio window: its slot (window ABI_VIRTIO_MMIO_BASE + slot * ABI_VIRTIO_MMIO_SIZE) and its
 * interrupt line in *gsi. Returns the slot, or -1 (err_set) when every window is taken. */
int layout_mmio_slot(struct vmm *v, unsigned *gsi);
/* The next PCI device number on bus 0 (1 ..), or -1 (err_set). */
#define PCI_LAYOUT_DEVS 32
int layout_pci_slot(struct vmm *v);
/* A GSI for an MSI route, from LAYOUT_MSI_GSI_BASE (above the 24 IOAPIC pins), or -1 (err_set). */
#define LAYOUT_MSI_GSI_BASE 24
#define LAYOUT_MAX_MSI (VMM_MAX_DISKS * 17)
int layout_msi_gsi(struct vmm *v);

/* vCPU c's counters by name: its userspace exits by reason (EXIT_REASONS). */
struct counter_set vcpu_counters(const struct vmm *v, int c);

/* ---- accounting (stats*.c) and host threads (thread.c) ---------------------------------------- */

/* The window's delta of KVM statistic `name` on vCPU c (c < 0: summed over the vCPUs). False when KVM has no such
 * statistic (then *out is 0). */
bool stats_kvm_delta(const struct vmm *v, const char *name, int c, uint64_t *out);

/* Opens every vCPU's KVM statistics and each host thread's CPU-time counter and takes the opening
 * snapshot (the window starts at boot unless the guest marks it). Returns 0 or -1. */
int stats_init(struct vmm *v);
/* Marker-port write: 1 (ABI_MARK_BEGIN) snapshots the start of the window (first one wins),
 * 2 (ABI_MARK_END) its end (last one wins). Called with the bus lock held. */
void stats_mark(struct vmm *v, int which);
/* Writes the window's deltas as JSON (format 2) to fd. Returns 0 or -1 (err_set). */
int stats_write(struct vmm *v, int fd);
/* Takes the window's end snapshot unless the guest marked one: call before the I/O threads stop. */
void stats_close_window(struct vmm *v);
/* Without an END marker: the device counters again once the I/O threads have drained (their CPU times stay
 * those of stats_close_window, taken while they ran). */
void stats_drained(struct vmm *v);

/* Pins the calling thread / thread t to the CPU. Returns 0 or -1 (err_set). */
int pin_self(int cpu);
int pin_thread(pthread_t t, int cpu);
/* The CPU a thread of kind `list` with index i goes to; -1: not pinned. */
int cpu_for(const struct cpu_list *list, int i);
/* The CPUs thread tid may run on, as a cpu list string ("1", "0-1") in buf. */
void task_affinity(pid_t tid, char *buf, size_t len);
/* An fd from which task_cpu_ns reads the CPU time of a thread of this process or of another process
 * (its schedstat), opened once at set-up; -1 when it cannot be opened. */
int task_cpu_open(pid_t tid);
/* CPU time consumed so far by the task behind fd (task_cpu_open), in ns; 0 for fd -1. */
uint64_t task_cpu_ns(int fd);
/* CLOCK_MONOTONIC in ns. */
uint64_t mono_ns(void);

#endif

/* kvm.c - the KVM VM and its vCPUs: in-kernel irqchip, what VT-x needs before the first vCPU, guest RAM,
 * CPUID with the topology of N vCPUs, the PVH entry state. */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asm/kvm_para.h>

#include "vmm.h"

/* VT-x runs real mode through a TSS of 3 pages and an identity-mapped page table page; both must lie
 * in guest-physical space outside RAM and outside every device, and be set before the first vCPU
 * exists (as QEMU and Firecracker do). SVM ignores them. */
#define KVM_TSS_GPA      0xfffbd000ull
#define KVM_IDENTITY_GPA 0xfffbc000ull
#define CPUID_MAX_ENTRIES 256

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_EDX_HTT        (1u << 28)

const char *kvm_flavor(void)
{
	struct stat st;

	if (stat("/sys/module/kvm_pvm", &st) == 0)
		return "pvm";
	if (stat("/sys/module/kvm_intel", &st) == 0)
		return "vmx";
	if (stat("/sys/module/kvm_amd", &st) == 0)
		return "svm";
	return "unknown";
}

/* The CPUID signature of the hypervisor this process runs under (leaf 0x40000000), "" without the
 * hypervisor bit. */
static void cpuid_signature(char sig[13])
{
	unsigned a, b, c, d;

	sig[0] = 0;
	__cpuid(1, a, b, c, d);
	if (!(c & CPUID_1_ECX_HYPERVISOR))
		return;
	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = 0;
}

/* The first line of a DMI attribute (/sys/class/dmi/id/NAME), "" when there is none. */
static void dmi_read(const char *name, char *buf, size_t n)
{
	char path[128];
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/sys/class/dmi/id/%s", name);
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(buf, (int)n, f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

void host_identify(const char *sig, const char *bios_vendor, const char *bios_version, char *name, size_t n)
{
	/* Bochs sets no hypervisor bit, but its BIOS says what it is: the VMX or SVM it offers is an emulation. */
	if (!sig[0] && strstr(bios_vendor, "Bochs") && strstr(bios_version, "Bochs"))
		snprintf(name, n, "%s", bios_version);
	else
		snprintf(name, n, "%s", sig);
}

void host_hypervisor(char *name, size_t n)
{
	char sig[13], vendor[64], version[64];

	cpuid_signature(sig);
	dmi_read("bios_vendor", vendor, sizeof(vendor));
	dmi_read("bios_version", version, sizeof(version));
	host_identify(sig, vendor, version, name, n);
}

bool host_emulated(const char *name)
{
	/* QEMU without KVM (TCG) and Bochs emulate the CPU: timings there are no performance */
	return strcmp(name, "TCGTCGTCGTCG") == 0 || strncmp(name, "Bochs", 5) == 0;
}

/* Bits needed to number n things (the APIC-id field width of one topology level). */
static unsigned id_bits(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

/* One vCPU's CPUID: the topology of n cores of one thread in one package, APIC id = vCPU index (Linux reads it
 * from leaf 1 and the extended topology leaves 0xb, 0x1f; AMD: 0x80000008, 0x8000001e), and KVM's leaves. */
static void cpuid_topology(struct kvm_cpuid2 *cpuid, unsigned id, unsigned n, uint32_t hints)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0xffff) | (n << 16) | (id << 24);
			e->ecx |= CPUID_1_ECX_HYPERVISOR; /* a guest may look for the KVM leaves */
			e->edx = n > 1 ? e->edx | CPUID_1_EDX_HTT : e->edx & ~CPUID_1_EDX_HTT;
			break;
		case 4:
			e->eax = (e->eax & 0x3ffffff) | ((n - 1) << 26);
			break;
		case 0xb:
		case 0x1f:
			e->edx = id;
			if (e->index == 0) {        /* SMT level: one thread per core */
				e->eax = 0, e->ebx = 1, e->ecx = 1u << 8;
			} else if (e->index == 1) { /* core level */
				e->eax = id_bits(n), e->ebx = n, e->ecx = 2u << 8 | 1;
			} else {
				e->eax = e->ebx = 0, e->ecx = e->index;
			}
			break;
		case 0x80000008:
			e->ecx = (e->ecx & ~0xf0ffu) | (id_bits(n) << 12) | (n - 1);
			break;
		case 0x8000001e:
			e->eax = id, e->ebx = id & 0xff, e->ecx = 0;
			break;
		case KVM_CPUID_FEATURES:
			/* No PV spinlocks: their waiter halts with interrupts off until the holder's kick hypercall; with
			 * vCPUs on CPUs of their own (the default placement) native spinning is what a lock wants, and a
			 * stopped guest then shows where it spins. kvmclock, PV EOI, PV TLB flush stay. */
			/* EDX: KVM_HINTS_REALTIME when the machine gives every vCPU a CPU of its own and the guest should poll
			 * before it halts (completion=hybrid): Linux then takes cpuidle-haltpoll, and with
			 * KVM_FEATURE_POLL_CONTROL turns the host's own halt polling off. */
			e->eax &= ~(1u << KVM_FEATURE_PV_UNHALT);
			e->edx = hints;
			break;
		}
	}
}

static int kvm_set_cpuid(struct kvm_vm *vm, const struct kvm_cpuid2 *supported, struct kvm_vcpu *c)
{
	size_t sz = sizeof(struct kvm_cpuid2) + supported->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = malloc(sz);
	int rc = 0;

	if (!cpuid)
		return err_set("out of memory");
	memcpy(cpuid, supported, sz);
	cpuid_topology(cpuid, (unsigned)c->index, (unsigned)vm->nvcpus, vm->hints_realtime ? 1u << KVM_HINTS_REALTIME : 0);
	if (ioctl(c->fd, KVM_SET_CPUID2, cpuid) < 0)
		rc = err_set("KVM_SET_CPUID2: %s", strerror(errno));
	free(cpuid);
	return rc;
}

static struct kvm_cpuid2 *supported_cpuid(struct kvm_vm *vm)
{
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));

	if (!cpuid)
		return err_set("out of memory"), NULL;
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		free(cpuid);
		return err_set("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno)), NULL;
	}
	/* KVM emulates the LAPIC's TSC-deadline mode (with an hrtimer, or VMX's preemption timer where it has one)
	 * but leaves its CPUID bit to the VMM, as QEMU sets it: Linux then programs its timer with one MSR write of
	 * an absolute TSC value instead of the one-shot count. */
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
		for (uint32_t i = 0; i < cpuid->nent; i++)
			if (cpuid->entries[i].function == 1)
				cpuid->entries[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
	return cpuid;
}

static int kvm_open_vm(struct kvm_vm *vm)
{
	uint64_t identity = KVM_IDENTITY_GPA;
	int version;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return err_set("cannot open /dev/kvm: %s", strerror(errno));
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		return err_set("unsupported KVM API version %d", version);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return err_set("KVM_CREATE_VM: %s", strerror(errno));
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		return err_set("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_GPA) < 0 && errno != ENOTTY)
		return err_set("KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return err_set("KVM_CREATE_IRQCHIP (in-kernel IOAPIC/LAPIC): %s", strerror(errno));
	return 0;
}

static int kvm_add_ram(struct kvm_vm *vm, const struct guest_mem *m)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = m->size,
		.userspace_addr = (uintptr_t)m->host,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return err_set("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	return 0;
}

static int kvm_open_vcpu(struct kvm_vm *vm, struct kvm_vcpu *c, int index)
{
	int sz;

	c->index = index;
	c->stats_fd = -1;
	c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (c->fd < 0)
		return err_set("KVM_CREATE_VCPU %d: %s", index, strerror(errno));
	sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		return err_set("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	c->run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED) {
		c->run = NULL;
		return err_set("cannot map kvm_run: %s", strerror(errno));
	}
	vm->run_size = (size_t)sz;
	c->stats_fd = ioctl(c->fd, KVM_GET_STATS_FD, NULL);
	return 0;
}

/* KVM_CAP_X86_DISABLE_EXITS (HLT), which must come before the first vCPU: whether KVM took it. PVM takes it and
 * changes nothing; the stats' halt_exits tell. */
static bool disable_hlt_exits(struct kvm_vm *vm)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_DISABLE_EXITS, .args = { KVM_X86_DISABLE_EXITS_HLT } };
	int can = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_DISABLE_EXITS);

	return can > 0 && (can & KVM_X86_DISABLE_EXITS_HLT) && ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0;
}

/* What the guest is offered in KVM's leaf: PV EOI, and poll control (the guest turns host halt polling off). */
static void pv_offered(struct kvm_vm *vm, const struct kvm_cpuid2 *cpuid)
{
	for (uint32_t i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == KVM_CPUID_FEATURES) {
			vm->pv_eoi = cpuid->entries[i].eax & (1u << KVM_FEATURE_PV_EOI);
			vm->poll_control = cpuid->entries[i].eax & (1u << KVM_FEATURE_POLL_CONTROL);
		}
}

int kvm_vm_create(struct kvm_vm *vm, const struct guest_mem *m, int nvcpus, const struct kvm_opts *o)
{
	struct kvm_cpuid2 *cpuid;
	int khz, rc = 0;

	*vm = (struct kvm_vm){ .kvm_fd = -1, .vm_fd = -1, .nvcpus = nvcpus, .flavor = kvm_flavor(),
			       .posted_interrupts = host_posted_interrupts(), .hints_realtime = o->hints_realtime };
	host_hypervisor(vm->host_hv, sizeof(vm->host_hv));
	vm->emulated = host_emulated(vm->host_hv);
	vm->avic_inhibitors = kvm_avic_inhibitors(); /* read now: the threads' allowlists open no files later */
	for (int i = 0; i < VMM_MAX_VCPUS; i++)
		vm->vcpu[i].fd = vm->vcpu[i].stats_fd = -1;
	if (kvm_open_vm(vm) < 0 || kvm_add_ram(vm, m) < 0 || !(cpuid = supported_cpuid(vm)))
		return -1;
	pv_offered(vm, cpuid);
	vm->hlt_exits_off = o->disable_hlt_exits && disable_hlt_exits(vm);
	for (int i = 0; i < nvcpus && rc == 0; i++)
		rc = kvm_open_vcpu(vm, &vm->vcpu[i], i) < 0 || kvm_set_cpuid(vm, cpuid, &vm->vcpu[i]) < 0 ? -1 : 0;
	free(cpuid);
	if (rc < 0)
		return -1;
	khz = ioctl(vm->vcpu[0].fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0)
		return err_set("KVM_GET_TSC_KHZ: %s", strerror(errno));
	vm->tsc_khz = (uint32_t)khz;
	return 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
}

int kvm_vcpu_pvh_entry(struct kvm_vm *vm, uint32_t entry, uint32_t start_info)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = entry, .rbx = start_info, .rflags = 0x2 };
	int fd = vm->vcpu[0].fd;

	if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
		return err_set("KVM_GET_SREGS: %s", strerror(errno));
	/* The PVH ABI: 32-bit protected mode, paging off, flat 4 GiB segments (as QEMU sets up). */
	flat_segment(&sregs.cs, 0x10, 0xb);
	flat_segment(&sregs.ds, 0x18, 0x3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = 0x11; /* PE | ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0)
		return err_set("KVM_SET_SREGS: %s", strerror(errno));
	if (ioctl(fd, KVM_SET_REGS, &regs) < 0)
		return err_set("KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

static void dump_seg(const char *name, const struct kvm_segment *s)
{
	fprintf(stderr, "  %-3s sel=%04x base=%016llx limit=%08x type=%x dpl=%u l=%u db=%u\n", name,
		s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl, s->l, s->db);
}

void kvm_dump_regs(const struct kvm_vcpu *c)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(c->fd, KVM_GET_REGS, &r) < 0 || ioctl(c->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(stderr, "  (registers unavailable: %s)\n", strerror(errno));
		return;
	}
	fprintf(stderr,
		"  vcpu %d\n"
		"  rip=%016llx rsp=%016llx rflags=%016llx\n"
		"  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
		"  rsi=%016llx rdi=%016llx rbp=%016llx\n"
		"  r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n"
		"  r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n"
		"  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx\n", c->index,
		r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8, r.r9,
		r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	dump_seg("cs", &s.cs);
	dump_seg("ss", &s.ss);
	dump_seg("ds", &s.ds);
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	for (int i = 0; i < vm->nvcpus; i++) {
		struct kvm_vcpu *c = &vm->vcpu[i];

		if (c->run)
			munmap(c->run, vm->run_size);
		if (c->stats_fd >= 0)
			close(c->stats_fd);
		if (c->fd >= 0)
			close(c->fd);
		c->run = NULL;
		c->fd = c->stats_fd = -1;
	}
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

/* Reads a module parameter that is "Y"/"1" when set. */
static bool param_on(const char *path)
{
	char c = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	if (fread(&c, 1, 1, f) != 1)
		c = 0;
	fclose(f);
	return c == 'Y' || c == '1';
}

bool host_posted_interrupts(void)
{
	return param_on("/sys/module/kvm_intel/parameters/enable_apicv") ||
	       param_on("/sys/module/kvm_amd/parameters/avic");
}

/* What would keep AVIC off for this VM on an AMD host (it inhibits posted interrupts for the whole VM): AVIC
 * disabled in kvm_amd, or x2APIC in the guest's CPUID (which this VMM offers) on a CPU without x2AVIC. The
 * VMM creates no PIT, the other common inhibitor. "" when nothing does, or on a host that is not SVM. */
const char *kvm_avic_inhibitors(void)
{
	static char flags[4096];
	FILE *f;
	size_t n = 0;

	if (strcmp(kvm_flavor(), "svm") != 0)
		return "";
	if (!param_on("/sys/module/kvm_amd/parameters/avic"))
		return "avic off in kvm_amd";
	f = fopen("/proc/cpuinfo", "r");
	if (f) {
		n = fread(flags, 1, sizeof(flags) - 1, f);
		fclose(f);
	}
	flags[n] = 0;
	return strstr(flags, " x2avic") ? "" : "x2apic in the guest's CPUID without x2avic";
}

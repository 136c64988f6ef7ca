/* kvm.c - the KVM VM and vCPU 0: in-kernel irqchip, guest RAM slot, CPUID, PVH entry state. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

#define KVM_TSS_GPA 0xfffbd000ull /* 3 pages VMX needs for its real-mode TSS, above any RAM */
#define CPUID_MAX_ENTRIES 256

static const char *kvm_flavor(void)
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

static int kvm_set_cpuid(struct kvm_vm *vm)
{
	size_t sz = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, sz);
	int rc = 0;

	if (!cpuid)
		return err_set("out of memory");
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		rc = err_set("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	else if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		rc = err_set("KVM_SET_CPUID2: %s", strerror(errno));
	free(cpuid);
	return rc;
}

static int kvm_open_vm(struct kvm_vm *vm)
{
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
	/* VMX needs the TSS pages set before the first vCPU exists; harmless elsewhere. */
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

static int kvm_open_vcpu(struct kvm_vm *vm)
{
	int sz;

	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		return err_set("KVM_CREATE_VCPU: %s", strerror(errno));
	sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		return err_set("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	vm->run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		return err_set("cannot map kvm_run: %s", strerror(errno));
	}
	vm->run_size = (size_t)sz;
	return 0;
}

int kvm_vm_create(struct kvm_vm *vm, const struct guest_mem *m)
{
	int khz;

	*vm = (struct kvm_vm){ .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1, .flavor = kvm_flavor() };
	if (kvm_open_vm(vm) < 0 || kvm_add_ram(vm, m) < 0 || kvm_open_vcpu(vm) < 0 ||
	    kvm_set_cpuid(vm) < 0)
		return -1;
	khz = ioctl(vm->vcpu_fd, KVM_GET_TSC_KHZ, 0);
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

	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return err_set("KVM_GET_SREGS: %s", strerror(errno));
	/* The PVH ABI: 32-bit protected mode, paging off, flat 4 GiB segments (as QEMU sets up). */
	flat_segment(&sregs.cs, 0x10, 0xb);
	flat_segment(&sregs.ds, 0x18, 0x3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = 0x11; /* PE | ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return err_set("KVM_SET_SREGS: %s", strerror(errno));
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return err_set("KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

static void dump_seg(const char *name, const struct kvm_segment *s)
{
	fprintf(stderr, "  %-3s sel=%04x base=%016llx limit=%08x type=%x dpl=%u l=%u db=%u\n", name,
		s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl, s->l, s->db);
}

void kvm_dump_regs(struct kvm_vm *vm)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &r) < 0 || ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(stderr, "  (registers unavailable: %s)\n", strerror(errno));
		return;
	}
	fprintf(stderr,
		"  rip=%016llx rsp=%016llx rflags=%016llx\n"
		"  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
		"  rsi=%016llx rdi=%016llx rbp=%016llx\n"
		"  r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n"
		"  r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n"
		"  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx\n",
		r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8, r.r9,
		r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	dump_seg("cs", &s.cs);
	dump_seg("ss", &s.ss);
	dump_seg("ds", &s.ds);
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->run = NULL;
	vm->vcpu_fd = vm->vm_fd = vm->kvm_fd = -1;
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

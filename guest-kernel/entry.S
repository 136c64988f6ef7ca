/* entry.S - PVH entry: 32-bit protected mode -> long mode -> CPL3, with every boot table built at assembly
 * time; and the application processors' path: real mode (the SIPI trampoline) -> protected -> long -> CPL3. */
/*
 * Under PVM every CPL0 instruction is emulated (~0.55 us), so nothing is computed at boot that the
 * assembler and linker can compute instead: the page tables, GDT, TSSs (with the I/O bitmap) and IDT are
 * initialised data. The linker script supplies the split address fields (isr_lo16, tss_lo16, ...).
 * The boot path below is about 30 CPL0 instructions from the PVH entry to the iretq into CPL3.
 *
 * Per CPU (index = initial APIC ID, 0 the boot CPU, below GUEST_MAX_CPUS): a kernel stack (the TSS's rsp0),
 * a #DF stack (IST1), a user stack, and a TSS. The TSSs are 128-byte headers side by side, all pointing
 * (I/O map base) at the one I/O permission bitmap after the last header, so the bitmap exists once.
 */
#include "syscall.h"
#include "smp.h"

#define PVH_MAGIC        0x336ec578
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define PTE_P   0x001
#define PTE_W   0x002
#define PTE_U   0x004
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_A   0x020
#define PTE_D   0x040
#define PTE_PS  0x080

#define TSS_HEADER     128			/* bytes per CPU: the 104-byte 64-bit TSS, padded */
#define IOMAP_BYTES    8192

#define SEL_KCODE   0x08
#define SEL_KDATA   0x10
#define SEL_TSS     0x28			/* CPU i: SEL_TSS + 16 * i */
#define SEL_KCODE32 (SEL_TSS + 16 * GUEST_MAX_CPUS)	/* flat 32-bit code: the APs' way out of real mode */

/* ---- the PVH note: QEMU and build/vmm start the 32-bit entry it names ---- */
	.section .note.Xen, "a"
	.balign 4
	.long 4			/* name size */
	.long 4			/* descriptor size */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_start32

/* Protected mode, paging off -> long mode with our page tables -> a far jump to the 64-bit \target. */
.macro long_mode target
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80010001, %eax		/* PG | WP | PE */
	movl %eax, %cr0
	ljmp $SEL_KCODE, $\target
.endm

/* 64-bit, CPL0: data selectors, then the CPU's kernel stack and TSS for index \cpu (a 32-bit register). */
.macro cpu_tables cpu
	movl $SEL_KDATA, %eax
	movl %eax, %ss			/* iretq back to CPL0 reloads SS: it must be a valid selector of our GDT */
	movl %eax, %ds
	movl %eax, %es
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	leal 1(\cpu), %eax
	shll $KSTACK_SHIFT, %eax
	leaq kstacks(%rax), %rsp
	movl \cpu, %eax
	shll $4, %eax
	andb $0xfd, gdt + SEL_TSS + 5(%rax)	/* available again: ltr faults on the busy TSS of an earlier start */
	addl $SEL_TSS, %eax
	ltr %ax
	lidt idt_ptr
.endm

/* Into CPL3 with interrupts enabled on CPU \cpu's user stack, at \entry (which never returns). */
.macro to_user cpu, entry
	leal 1(\cpu), %eax
	shll $USTACK_SHIFT, %eax
	leaq ustacks(%rax), %rax
	pushq $0x23			/* SS: user data */
	pushq %rax
	pushq $0x202			/* RFLAGS: IF */
	pushq $0x1b			/* CS: user code */
	pushq $\entry
	iretq
.endm

/* ---- 32-bit entry: flat protected mode, paging off, ebx = hvm_start_info ---- */
	.section .text.boot, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	movl %ebx, pvh_start_info_paddr	/* checked later, at CPL3 (eax may hold 0x2BADB002 on microvm) */
	lgdt gdt_ptr
	long_mode start64

	.code64
start64:
	xorl %ebx, %ebx			/* the boot CPU is CPU 0 */
	cpu_tables %ebx
	to_user %ebx, user_start

/* ---- application processors: INIT and a SIPI start one at the trampoline's copy (smp.c puts it in a page
 * below 1 MiB), in real mode with CS = page >> 4, IP = 0. Every start runs the whole path again: an AP that
 * finished its work halts with interrupts off until the next INIT. ---- */
	.section .rodata.trampoline, "a"
	.code16
	.globl ap_trampoline, ap_trampoline_end
ap_trampoline:
	cli
	movw %cs, %ax
	movw %ax, %ds
	lgdtl ap_gdtr - ap_trampoline	/* DS-relative: the copy of the GDT pointer travels with the code */
	movl %cr0, %eax
	orl $1, %eax			/* PE */
	movl %eax, %cr0
	ljmpl $SEL_KCODE32, $ap_start32
	.balign 4
ap_gdtr:
	.word gdt_end - gdt - 1
	.long gdt
ap_trampoline_end:

	.section .text.boot, "ax"
	.code32
ap_start32:
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	long_mode ap_start64

	.code64
ap_start64:
	movl $1, %eax
	cpuid
	shrl $24, %ebx			/* initial APIC ID: the CPU's index (build/vmm and QEMU number them 0..N-1) */
	cmpl $GUEST_MAX_CPUS, %ebx
	jae 2f
	cpu_tables %ebx
	movl %ebx, %edi			/* ap_user_start(cpu) */
	to_user %ebx, ap_user_start
2:	cli				/* an index we have no tables for: park */
	hlt
	jmp 2b

/* ---- descriptor tables ---- */
	.section .data.boot, "aw"
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10 kernel data */
	.quad 0x00affa000000ffff	/* 0x18 user code, 64-bit, DPL3 */
	.quad 0x00cff2000000ffff	/* 0x20 user data, DPL3 */
	.set i, 0
	.rept GUEST_MAX_CPUS		/* 0x28 + 16 i: CPU i's TSS, available 64-bit TSS */
	.word (GUEST_MAX_CPUS - i) * TSS_HEADER + IOMAP_BYTES	/* limit: through the bitmap's trailing byte */
	.word tss_lo16 + i * TSS_HEADER	/* no carry: the headers sit in one 4 KiB page */
	.byte tss_b2
	.byte 0x89
	.byte 0
	.byte tss_b3
	.long 0
	.long 0
	.set i, i + 1
	.endr
	.quad 0x00cf9a000000ffff	/* SEL_KCODE32: kernel code, 32-bit flat */
gdt_end:

	.balign 8
	.word 0, 0, 0
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.word 0, 0, 0
idt_ptr:
	.word 256 * 16 - 1
	.quad idt

/* One IDT gate: handler = isr_stubs + 16 * slot (isr.S places every stub at that offset). */
.macro gate slot, type=0x8e, ist=0
	.word isr_lo16 + (\slot) * 16
	.word 0x08
	.byte \ist
	.byte \type
	.word isr_hi16
	.long 0
	.long 0
.endm

	.balign 16
idt:
	.set v, 0
	.rept 32			/* exceptions: vector v -> slot v */
	.if v == 3
	gate v, 0xee			/* #BP: DPL3 interrupt gate, the system-call entry */
	.elseif v == 8
	gate v, 0x8e, 1			/* #DF on its own stack: a kernel stack overflow still gets reported */
	.else
	gate v
	.endif
	.set v, v + 1
	.endr
	.fill (IRQ_VECTOR_BASE - 32) * 16, 1, 0
	.set v, 0
	.rept IRQ_MAX_LINES		/* line n (an IOAPIC pin or an MSI) -> vector IRQ_VECTOR_BASE + n -> slot 32 + n */
	gate 32 + v
	.set v, v + 1
	.endr
	.fill (255 - IRQ_VECTOR_BASE - IRQ_MAX_LINES) * 16, 1, 0
	gate 32 + IRQ_MAX_LINES		/* 0xff: LAPIC spurious vector */
idt_end:

/* The TSSs: per CPU rsp0 (CPL3 -> CPL0 transitions) and IST1 (#DF); then the I/O permission bitmap they
 * share (0 = allowed). */
	.balign 4096
	.globl tss
tss:
	.set i, 0
	.rept GUEST_MAX_CPUS
	.long 0
	.quad kstacks + (i + 1) * KSTACK_SIZE	/* rsp0 */
	.quad 0, 0, 0			/* rsp1, rsp2, reserved */
	.quad dfstacks + (i + 1) * DFSTACK_SIZE	/* ist1 */
	.fill 6, 8, 0			/* ist2-7 */
	.quad 0
	.word 0
	.word (GUEST_MAX_CPUS - i) * TSS_HEADER	/* I/O map base: the bitmap after the last header */
	.fill TSS_HEADER - 104, 1, 0
	.set i, i + 1
	.endr
iomap:
	.fill 0xf4 / 8, 1, 0xff
	.byte 0x0f			/* 0xf4-0xf7: debug exit */
	.byte 0xfe			/* 0xf8: measurement marker */
	.fill 0x2f8 / 8 - 0xf8 / 8 - 1, 1, 0xff
	.byte 0x00			/* 0x2f8-0x2ff: COM2 */
	.fill 0x3f8 / 8 - 0x2f8 / 8 - 1, 1, 0xff
	.byte 0x00			/* 0x3f8-0x3ff: COM1 */
	.fill IOMAP_BYTES - 0x3f8 / 8 - 1, 1, 0xff
	.byte 0xff			/* the CPU reads 2 bytes: the byte after the bitmap must be all ones */
tss_end:

	.globl pvh_start_info_paddr
	.balign 8
pvh_start_info_paddr:
	.quad 0

/* ---- page tables: 4 GiB identity-mapped with 2 MiB pages (1 GiB pages fault under PVM), user-accessible;
 * the top 32 MiB (IOAPIC, LAPIC, virtio-mmio) uncached. A/D preset: the CPU never has to write them. ---- */
	.section .data.pagetables, "aw"
	.balign 4096
pml4:
	.quad pdpt + PTE_P + PTE_W + PTE_U + PTE_A
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0000 + PTE_P + PTE_W + PTE_U + PTE_A
	.quad pd + 0x1000 + PTE_P + PTE_W + PTE_U + PTE_A
	.quad pd + 0x2000 + PTE_P + PTE_W + PTE_U + PTE_A
	.quad pd + 0x3000 + PTE_P + PTE_W + PTE_U + PTE_A
	.fill 508, 8, 0
pd:
	.set i, 0
	.rept 2048
	.quad (i << 21) + PTE_P + PTE_W + PTE_U + PTE_A + PTE_D + PTE_PS + ((i >= 2032) & (PTE_PCD + PTE_PWT))
	.set i, i + 1
	.endr

/* ---- stacks, GUEST_MAX_CPUS of each: CPU i's stack is [base + i * SIZE, base + (i + 1) * SIZE) ---- */
	.section .bss, "aw", @nobits
	.balign 4096
	.globl kstacks, ustacks
kstacks:
	.space GUEST_MAX_CPUS * KSTACK_SIZE
dfstacks:
	.space GUEST_MAX_CPUS * DFSTACK_SIZE
ustacks:
	.space GUEST_MAX_CPUS * USTACK_SIZE

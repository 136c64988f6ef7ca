/* entry.S - PVH entry: 32-bit protected mode -> long mode -> CPL3, with every boot table built at assembly time. */
/*
 * Under PVM every CPL0 instruction is emulated (~0.55 us), so nothing is computed at boot that the
 * assembler and linker can compute instead: the page tables, GDT, TSS (with its I/O bitmap) and IDT are
 * initialised data. The linker script supplies the split address fields (isr_lo16, tss_lo16, ...).
 * The boot path below is about 30 CPL0 instructions from the PVH entry to the iretq into CPL3.
 */
#include "syscall.h"

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

#define TSS_IOMAP_BASE 104
#define TSS_LIMIT      (TSS_IOMAP_BASE + 8192)	/* the byte after the bitmap must be 0xff: it is */

#define KSTACK_SIZE 16384
#define USTACK_SIZE 65536

/* ---- the PVH note: QEMU and build/vmm start the 32-bit entry it names ---- */
	.section .note.Xen, "a"
	.balign 4
	.long 4			/* name size */
	.long 4			/* descriptor size */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_start32

/* ---- 32-bit entry: flat protected mode, paging off, ebx = hvm_start_info ---- */
	.section .text.boot, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	movl %ebx, pvh_start_info_paddr	/* checked later, at CPL3 (eax may hold 0x2BADB002 on microvm) */
	lgdt gdt_ptr
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
	ljmp $0x08, $start64

	.code64
start64:
	movl $0x10, %eax
	movl %eax, %ss			/* iretq back to CPL0 reloads SS: it must be a valid selector of our GDT */
	movl %eax, %ds
	movl %eax, %es
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $kstack_top, %rsp
	movl $0x28, %eax
	ltr %ax
	lidt idt_ptr
	/* Into CPL3 with interrupts enabled; user_start never returns (it exits through port 0xf4). */
	pushq $0x23			/* SS: user data */
	pushq $ustack_top
	pushq $0x202			/* RFLAGS: IF */
	pushq $0x1b			/* CS: user code */
	pushq $user_start
	iretq

/* ---- descriptor tables ---- */
	.section .data.boot, "aw"
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10 kernel data */
	.quad 0x00affa000000ffff	/* 0x18 user code, 64-bit, DPL3 */
	.quad 0x00cff2000000ffff	/* 0x20 user data, DPL3 */
	.word TSS_LIMIT & 0xffff	/* 0x28 TSS: available 64-bit TSS */
	.word tss_lo16
	.byte tss_b2
	.byte 0x89
	.byte 0
	.byte tss_b3
	.long 0
	.long 0
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
	.rept IRQ_MAX_GSI		/* IOAPIC pin n -> vector IRQ_VECTOR_BASE + n -> slot 32 + n */
	gate 32 + v
	.set v, v + 1
	.endr
	.fill (255 - IRQ_VECTOR_BASE - IRQ_MAX_GSI) * 16, 1, 0
	gate 32 + IRQ_MAX_GSI		/* 0xff: LAPIC spurious vector */
idt_end:

/* The TSS: rsp0 for CPL3 -> CPL0 transitions, IST1 for #DF, and the I/O permission bitmap (0 = allowed). */
	.balign 16
	.globl tss
tss:
	.long 0
	.quad kstack_top		/* rsp0 */
	.quad 0, 0, 0			/* rsp1, rsp2, reserved */
	.quad dfstack_top		/* ist1 */
	.fill 6, 8, 0			/* ist2-7 */
	.quad 0
	.word 0
	.word TSS_IOMAP_BASE
iomap:
	.fill 0xf4 / 8, 1, 0xff
	.byte 0x0f			/* 0xf4-0xf7: debug exit */
	.byte 0xfe			/* 0xf8: measurement marker */
	.fill 0x2f8 / 8 - 0xf8 / 8 - 1, 1, 0xff
	.byte 0x00			/* 0x2f8-0x2ff: COM2 */
	.fill 0x3f8 / 8 - 0x2f8 / 8 - 1, 1, 0xff
	.byte 0x00			/* 0x3f8-0x3ff: COM1 */
	.fill 8192 - 0x3f8 / 8 - 1, 1, 0xff
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

/* ---- stacks ---- */
	.section .bss, "aw", @nobits
	.balign 4096
	.space KSTACK_SIZE
	.globl kstack_top
kstack_top:
	.space 4096
dfstack_top:
	.space USTACK_SIZE
	.globl ustack_top
ustack_top:

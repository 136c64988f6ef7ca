/* isr.S - CPL0 entry stubs: exceptions (crash report), the int3 system-call gate, IOAPIC interrupts. */
/*
 * Every stub sits at isr_stubs + 16 * slot so the IDT in entry.S can be built at link time:
 * slots 0-31 are exception vectors, 32 + n is line n (IOAPIC pin n, or an MSI line), 32 + IRQ_MAX_LINES the
 * spurious vector.
 * Each instruction here is emulated under PVM (~0.55 us): the interrupt path is kept to ~20 of them.
 */
#include "syscall.h"

.macro stub slot
	.org (\slot) * 16
.endm

/* Exceptions that push an error code: 8, 10-14, 17, 21, 29, 30. The others get a 0 in its place. */
.macro exception vec
	stub \vec
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq $0
	.endif
	pushq $\vec
	jmp exc_entry
.endm

	.section .text.isr, "ax"
	.globl isr_stubs, isr_stubs_end
isr_stubs:
	.set v, 0
	.rept 32
	.if v == 3
	stub 3
	jmp syscall_entry
	.else
	exception v
	.endif
	.set v, v + 1
	.endr

	.set v, 0
	.rept IRQ_MAX_LINES
	stub 32 + v
	pushq $v
	jmp irq_entry
	.set v, v + 1
	.endr

	stub 32 + IRQ_MAX_LINES
	iretq				/* spurious: no EOI by definition */
	.balign 16
isr_stubs_end:

	.text
/* A CPU exception: save everything for the report; trap_crash never returns. */
exc_entry:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call trap_crash
1:	hlt
	jmp 1b

/* int3 from CPL3: rax = number, rdi/rsi/rdx = arguments, result in rax. The caller treats the C
 * caller-saved registers as clobbered (syscall.h), so nothing is saved here. */
syscall_entry:
	movq %rdx, %rcx
	movq %rsi, %rdx
	movq %rdi, %rsi
	movq %rax, %rdi
	subq $8, %rsp			/* the CPU pushed 5 words: realign to 16 for the C call */
	call syscall_dispatch
	addq $8, %rsp
	iretq

/* Line n (pushed by the stub): ack the device through its status/ack MMIO pair if it has one (virtio-mmio; an
 * MSI line has none), count, EOI. */
irq_entry:
	pushq %rax
	pushq %rcx
	pushq %rdx
	movq 24(%rsp), %rdx
	shlq $5, %rdx			/* sizeof(struct irq_line) */
	addq $irq_lines, %rdx
	movq (%rdx), %rcx		/* status_mmio */
	testq %rcx, %rcx
	jz 1f
	movl (%rcx), %eax		/* InterruptStatus */
	movq 8(%rdx), %rcx
	movl %eax, (%rcx)		/* InterruptACK: the device drops its line before the EOI */
1:	incq 16(%rdx)			/* one vCPU: no lock needed; CPL3 only reads the counters */
	incq irq_total
	cmpb $0, apic_pv_eoi
	je 2f
	btrl $0, apic_pv_eoi_word	/* KVM set bit 0: it will EOI by itself, no write needed */
	jc 4f
2:	cmpb $0, apic_x2apic
	je 3f
	movl $0x80b, %ecx		/* x2APIC EOI MSR */
	xorl %eax, %eax
	xorl %edx, %edx
	wrmsr
	jmp 4f
3:	movl $0xfee000b0, %ecx		/* xAPIC EOI register */
	movl $0, (%rcx)
4:	popq %rdx
	popq %rcx
	popq %rax
	addq $8, %rsp
	iretq

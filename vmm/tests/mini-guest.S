/* mini-guest.S - the smallest PVH guest: prints a line on COM1 and exits with the code given in
 * its command line's first byte ('0'..'9'), or spins forever when that byte is 's'. Used by the
 * VMM's tests independently of the guest kernel. */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4, 4, 18          /* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long start32

	.text
	.code32
	.globl start32
start32:
	cmpl $0x336ec578, (%ebx)      /* hvm_start_info magic */
	jne bad
	mov 24(%ebx), %esi            /* cmdline_paddr (low half) */
	lea msg, %ecx
	mov $0x3f8, %dx
1:	movb (%ecx), %al
	test %al, %al
	jz 2f
	outb %al, %dx
	inc %ecx
	jmp 1b
2:	movzbl (%esi), %eax
	cmp $'s', %al
	je spin
	sub $'0', %eax
	mov $0xf4, %dx
	outl %eax, %dx
spin:	jmp spin
bad:	mov $0xf4, %dx
	mov $7, %eax
	outl %eax, %dx
	hlt

	.section .rodata
msg:	.asciz "mini-guest: hello\n"

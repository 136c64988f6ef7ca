/* smp.h - the guest's CPUs: limits and per-CPU stack sizes (shared by C and assembly). */
#ifndef EXITLESS_GUEST_SMP_H
#define EXITLESS_GUEST_SMP_H

#define GUEST_MAX_CPUS   16	/* CPU index = initial APIC ID, 0 .. GUEST_MAX_CPUS - 1 */
#define KSTACK_SHIFT     14
#define KSTACK_SIZE      (1 << KSTACK_SHIFT)	/* per CPU, CPL0 (the TSS's rsp0) */
#define USTACK_SHIFT     16
#define USTACK_SIZE      (1 << USTACK_SHIFT)	/* per CPU, CPL3 */
#define DFSTACK_SIZE     4096			/* per CPU, #DF (IST1) */

#endif

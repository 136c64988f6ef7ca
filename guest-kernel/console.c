/* console.c - COM1 console and COM2 results channel: THR writes only, one `rep outsb` per buffer. */
#include "guest.h"

#define CON_BUF 1024

/* Never polls LSR: every port access is an exit (~25 us at CPL3 under PVM). A string OUT lets KVM hand the
 * whole buffer to the VMM in one exit (kvm_run->io.count bytes); both UART models accept back-to-back THR
 * writes. Works at CPL3 (TSS I/O bitmap) and at CPL0. */
static void port_write(uint16_t port, const char *s, size_t n)
{
	static uint32_t lock;	/* CPUs write whole buffers one at a time (KVM splits a string OUT at page ends) */
	uint32_t spins = 0;

	if (!n)
		return;
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE) && ++spins < (1u << 26))	/* bounded: a crash */
		__asm__ volatile("pause");						/* report still gets out */
	__asm__ volatile("cld; rep outsb" : "+S"(s), "+c"(n) : "d"(port) : "memory");
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
}

void con_write(const char *s, size_t n) { port_write(ABI_COM1_PORT, s, n); }
void res_write(const char *s, size_t n) { port_write(ABI_COM2_PORT, s, n); }

/* Formats into a stack buffer; longer output is cut at CON_BUF - 1 bytes and ends with "...\n". */
static int vprint_to(uint16_t port, const char *fmt, va_list ap)
{
	char buf[CON_BUF];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;

	if ((size_t)n > len)
		memcpy(buf + len - 4, "...\n", 4);
	port_write(port, buf, len);
	return n;
}

int kvprintf(const char *fmt, va_list ap) { return vprint_to(ABI_COM1_PORT, fmt, ap); }

int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprint_to(ABI_COM1_PORT, fmt, ap);
	va_end(ap);
	return n;
}

int res_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprint_to(ABI_COM2_PORT, fmt, ap);
	va_end(ap);
	return n;
}

/* At CPL3 the OUT ends the VM; should no debug-exit device be present, spin rather than return. */
void guest_exit(int code)
{
	outl(ABI_DEBUG_EXIT_PORT, (uint32_t)code);
	for (;;)
		__asm__ volatile("pause");
}

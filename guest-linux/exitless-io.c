/* exitless-io.c - the Linux guest's port I/O with the VMM (include/abi.h): the measurement-window markers,
 * the results channel (COM2) and the exit port. Runs as root in the guest (ioperm, or iopl(3)).
 *
 *   exitless-io mark begin|end   an 8-bit OUT of ABI_MARK_BEGIN / ABI_MARK_END to ABI_MARKER_PORT
 *   exitless-io send FILE        FILE's bytes to COM2: wait for LSR.THRE, then up to 16 bytes (rep outsb)
 *   exitless-io exit N           a 32-bit OUT of N to ABI_DEBUG_EXIT_PORT (ends the VM)
 *
 * Exit status: 0 done; 1 the port I/O failed (no permission, COM2 never ready, the VM did not end);
 * 2 bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <unistd.h>

#include "abi.h"

#define UART_IER      1
#define UART_FCR      2
#define UART_LCR      3
#define UART_MCR      4
#define UART_LSR      5
#define UART_PORTS    8
#define LSR_THRE      0x20
#define LCR_8N1       0x03 /* 8 data bits, no parity, 1 stop bit, DLAB clear: offset 0 is THR */
#define FCR_FIFO_ON   0x07 /* FIFOs enabled and cleared */
#define MCR_DTR_RTS   0x03 /* no loopback: in loopback the transmitter's bytes never leave */
#define UART_FIFO     16
#define THRE_SPINS    (1u << 24) /* LSR reads before COM2 counts as stuck */

static const char *prog = "exitless-io";

static int usage(void)
{
	fprintf(stderr, "%s: usage: exitless-io mark begin|end | send FILE | exit N\n", prog);
	return 2;
}

/* access_ports: permission for ports [port, port + n); falls back to iopl(3) where ioperm is refused. */
static int access_ports(unsigned port, unsigned n)
{
	if (ioperm(port, n, 1) == 0 || iopl(3) == 0)
		return 0;
	fprintf(stderr, "%s: no access to I/O port 0x%x: %s (needs root)\n", prog, port, strerror(errno));
	return -1;
}

static int mark(const char *what)
{
	unsigned char v;

	if (!strcmp(what, "begin"))
		v = ABI_MARK_BEGIN;
	else if (!strcmp(what, "end"))
		v = ABI_MARK_END;
	else
		return usage();
	if (access_ports(ABI_MARKER_PORT, 1))
		return 1;
	outb(v, ABI_MARKER_PORT);
	return 0;
}

/* com2_write: n bytes to COM2's transmitter, one FIFO's worth each time it reports empty. */
static int com2_write(const unsigned char *p, size_t n)
{
	while (n) {
		size_t k = n < UART_FIFO ? n : UART_FIFO;
		uint32_t spins = 0;

		while (!(inb(ABI_COM2_PORT + UART_LSR) & LSR_THRE))
			if (++spins == THRE_SPINS) {
				fprintf(stderr, "%s: COM2 (0x%x) never reported its transmitter empty\n", prog,
					ABI_COM2_PORT);
				return -1;
			}
		outsb(ABI_COM2_PORT, p, (unsigned long)k);
		p += k;
		n -= k;
	}
	return 0;
}

static int send_file(const char *path)
{
	unsigned char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		fprintf(stderr, "%s: cannot open %s: %s\n", prog, path, strerror(errno));
		return 1;
	}
	if (access_ports(ABI_COM2_PORT, UART_PORTS)) {
		close(fd);
		return 1;
	}
	/* The port as the transmitter needs it, whatever a probe left behind: no interrupts, no loopback. */
	outb(LCR_8N1, ABI_COM2_PORT + UART_LCR);
	outb(0, ABI_COM2_PORT + UART_IER);
	outb(MCR_DTR_RTS, ABI_COM2_PORT + UART_MCR);
	outb(FCR_FIFO_ON, ABI_COM2_PORT + UART_FCR);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: cannot read %s: %s\n", prog, path, strerror(errno));
			close(fd);
			return 1;
		}
		if (com2_write(buf, (size_t)n)) {
			close(fd);
			return 1;
		}
	}
	close(fd);
	return 0;
}

static int exit_vm(const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || end == arg || *end || *arg == '-' || v > UINT32_MAX)
		return usage();
	if (access_ports(ABI_DEBUG_EXIT_PORT, 4))
		return 1;
	outl((unsigned)v, ABI_DEBUG_EXIT_PORT);
	fprintf(stderr, "%s: the write to the exit port 0x%x did not end the VM\n", prog, ABI_DEBUG_EXIT_PORT);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return usage();
	if (!strcmp(argv[1], "mark"))
		return mark(argv[2]);
	if (!strcmp(argv[1], "send"))
		return send_file(argv[2]);
	if (!strcmp(argv[1], "exit"))
		return exit_vm(argv[2]);
	return usage();
}

/* serial.c - a 16550-compatible UART that only transmits: enough for a polled guest console.
 * The transmitter is always ready (LSR.THRE|TEMT), so a guest need never poll it: every port
 * access is a VM exit. */
#include <string.h>
#include <unistd.h>

#include "vmm.h"

enum { UART_RBR_THR, UART_IER, UART_IIR_FCR, UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR };
#define LCR_DLAB     0x80
#define LSR_THRE     0x20
#define LSR_TEMT     0x40
#define IIR_NO_INT   0x01
#define MSR_DCD_DSR_CTS 0xb0

void serial_init(struct serial *s, int out_fd, bool line_buffered)
{
	memset(s, 0, sizeof(*s));
	s->out_fd = out_fd;
	s->line_buffered = line_buffered;
}

void serial_flush(struct serial *s)
{
	size_t done = 0;

	while (done < s->used) {
		ssize_t n = write(s->out_fd, s->buf + done, s->used - done);

		if (n <= 0)
			break; /* a closed console must not stop the guest */
		done += (size_t)n;
	}
	s->used = 0;
}

static void serial_tx(struct serial *s, uint8_t c)
{
	if (s->out_fd < 0)
		return;
	s->buf[s->used++] = (char)c;
	if (s->used == sizeof(s->buf) || (c == '\n' && s->line_buffered))
		serial_flush(s);
}

static uint8_t serial_read(struct serial *s, uint64_t reg)
{
	bool dlab = s->regs[UART_LCR] & LCR_DLAB;

	switch (reg) {
	case UART_RBR_THR: return dlab ? s->dll : 0;
	case UART_IER: return dlab ? s->dlm : s->regs[UART_IER];
	case UART_IIR_FCR: return IIR_NO_INT;
	case UART_LSR: return LSR_THRE | LSR_TEMT;
	case UART_MSR: return MSR_DCD_DSR_CTS;
	default: return s->regs[reg];
	}
}

static void serial_write(struct serial *s, uint64_t reg, uint8_t v)
{
	bool dlab = s->regs[UART_LCR] & LCR_DLAB;

	if (reg == UART_RBR_THR && dlab)
		s->dll = v;
	else if (reg == UART_RBR_THR)
		serial_tx(s, v);
	else if (reg == UART_IER && dlab)
		s->dlm = v;
	else if (reg != UART_LSR && reg != UART_MSR)
		s->regs[reg] = v;
}

void serial_access(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct serial *s = opaque;

	for (uint32_t i = 0; i < size && off + i < 8; i++) {
		if (is_write)
			serial_write(s, off + i, data[i]);
		else
			data[i] = serial_read(s, off + i);
	}
}

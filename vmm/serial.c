/* serial.c - a 16550A UART as the 8250 driver of a stock kernel probes and drives it, that only transmits:
 * the transmitter is always empty (LSR.THRE|TEMT, each byte goes out at once), the FIFO identifies as a
 * 16550A's, loopback mode reflects the modem-control lines in MSR, and the transmitter-empty interrupt is
 * raised on its ISA line when enabled (IER.ETBEI) and cleared by reading IIR or writing THR, as on the
 * real part. A polled console (the tiny guest) never enables it: every register access is one VM exit. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm.h"

enum { UART_RBR_THR, UART_IER, UART_IIR_FCR, UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR };
#define IER_THRI     0x02
#define IIR_NO_INT   0x01
#define IIR_THRI     0x02
#define IIR_FIFO_ON  0xc0
#define FCR_ENABLE   0x01
#define LCR_DLAB     0x80
#define MCR_LOOP     0x10
#define LSR_THRE     0x20
#define LSR_TEMT     0x40
#define MSR_DCD_DSR_CTS 0xb0

void serial_init(struct serial *s, int out_fd, bool line_buffered)
{
	memset(s, 0, sizeof(*s));
	s->out_fd = out_fd;
	s->line_buffered = line_buffered;
	s->vm_fd = -1;
}

void serial_set_irq(struct serial *s, int vm_fd, unsigned irq)
{
	s->vm_fd = vm_fd;
	s->irq = irq;
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
	if (s->out_fd < 0 || (s->regs[UART_MCR] & MCR_LOOP))
		return; /* in loopback the byte goes to the receiver, which this UART does not model */
	s->buf[s->used++] = (char)c;
	if (s->used == sizeof(s->buf) || (c == '\n' && s->line_buffered))
		serial_flush(s);
}

/* The interrupt line follows the enabled, pending transmitter-empty condition; KVM's IOAPIC sees the edges. */
static void update_irq(struct serial *s)
{
	bool level = s->thri_pending && (s->regs[UART_IER] & IER_THRI);
	struct kvm_irq_level l = { .irq = s->irq, .level = level };

	if (level == s->irq_level || s->vm_fd < 0)
		return;
	s->irq_level = level;
	if (ioctl(s->vm_fd, KVM_IRQ_LINE, &l) < 0)
		BUG_ON(errno != EINTR);
}

static uint8_t modem_status(const struct serial *s)
{
	uint8_t mcr = s->regs[UART_MCR];

	if (!(mcr & MCR_LOOP))
		return MSR_DCD_DSR_CTS;
	/* loopback: RTS -> CTS, DTR -> DSR, OUT1 -> RI, OUT2 -> DCD */
	return (uint8_t)(((mcr & 0x02) << 3) | ((mcr & 0x01) << 5) | ((mcr & 0x04) << 4) | ((mcr & 0x08) << 4));
}

static uint8_t serial_read(struct serial *s, uint64_t reg)
{
	bool dlab = s->regs[UART_LCR] & LCR_DLAB;
	uint8_t fifo = s->fifo ? IIR_FIFO_ON : 0;

	switch (reg) {
	case UART_RBR_THR: return dlab ? s->dll : 0;
	case UART_IER: return dlab ? s->dlm : s->regs[UART_IER];
	case UART_IIR_FCR:
		if (s->thri_pending && (s->regs[UART_IER] & IER_THRI)) {
			s->thri_pending = false; /* reading IIR with THRI the source clears it */
			update_irq(s);
			return fifo | IIR_THRI;
		}
		return fifo | IIR_NO_INT;
	case UART_LSR: return LSR_THRE | LSR_TEMT;
	case UART_MSR: return modem_status(s);
	default: return s->regs[reg];
	}
}

static void serial_write(struct serial *s, uint64_t reg, uint8_t v)
{
	bool dlab = s->regs[UART_LCR] & LCR_DLAB;

	if (reg == UART_RBR_THR && dlab) {
		s->dll = v;
	} else if (reg == UART_RBR_THR) {
		serial_tx(s, v);
		s->thri_pending = true; /* sent at once: the holding register is empty again */
	} else if (reg == UART_IER && dlab) {
		s->dlm = v;
	} else if (reg == UART_IER) {
		if ((v & IER_THRI) && !(s->regs[UART_IER] & IER_THRI))
			s->thri_pending = true; /* enabling ETBEI with THR empty raises it */
		s->regs[UART_IER] = v & 0x0f;
	} else if (reg == UART_IIR_FCR) {
		s->fifo = v & FCR_ENABLE;
	} else if (reg != UART_LSR && reg != UART_MSR) {
		s->regs[reg] = v;
	}
	update_irq(s);
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

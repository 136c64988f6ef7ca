/* abi.h - the contract between build/vmm (and QEMU microvm) and the guest kernel: ports, markers, exit codes. */
#ifndef EXITLESS_ABI_H
#define EXITLESS_ABI_H

/* 16550 UARTs: COM1 carries the human console, COM2 the machine-readable results (fio JSON). */
#define ABI_COM1_PORT 0x3f8
#define ABI_COM2_PORT 0x2f8
#define ABI_COM1_IRQ  4
#define ABI_COM2_IRQ  3

/* isa-debug-exit compatible: a 32-bit OUT of value V ends the VM. build/vmm exits with V;
 * QEMU's isa-debug-exit exits with (V << 1) | 1. */
#define ABI_DEBUG_EXIT_PORT 0xf4

/* Measurement-window marker: an 8-bit OUT of ABI_MARK_BEGIN / ABI_MARK_END. build/vmm snapshots
 * KVM statistics and host-thread CPU time at each; QEMU ignores the write (unassigned port). */
#define ABI_MARKER_PORT 0xf8
#define ABI_MARK_BEGIN  1
#define ABI_MARK_END    2

/* ACPI (hardware-reduced FADT): writing SLP_TYP << 2 | SLP_EN (0x20) to the sleep control register with
 * SLP_TYP = ABI_ACPI_SLP_TYP_S5 powers the machine off (build/vmm exits with the debug-exit code written
 * before, or 0); writing ABI_ACPI_RESET_VALUE to the reset register is a reset (build/vmm ends the run with
 * 125: it does not reboot a guest). */
#define ABI_ACPI_SLEEP_CONTROL_PORT 0x600
#define ABI_ACPI_SLEEP_STATUS_PORT  0x601
#define ABI_ACPI_RESET_PORT         0x602
#define ABI_ACPI_RESET_VALUE        0x01
#define ABI_ACPI_SLP_TYP_S5         5

/* Guest exit codes written to ABI_DEBUG_EXIT_PORT. */
#define ABI_EXIT_OK        0
#define ABI_EXIT_FAIL      1  /* a self-test or a job failed (I/O error, verify mismatch) */
#define ABI_EXIT_CRASH     3  /* CPU exception: a crash report was printed on COM1 */
#define ABI_EXIT_BADARG    2  /* bad command line or bad job file */

/* virtio-mmio transports, placed where QEMU microvm places them: slot n at BASE + n * SIZE, GSI IRQ_BASE + n. */
#define ABI_VIRTIO_MMIO_BASE 0xfeb00000ull
#define ABI_VIRTIO_MMIO_SIZE 0x200
#define ABI_VIRTIO_IRQ_BASE  5
#define ABI_VIRTIO_MAX_SLOTS 8

/* The largest virtqueue either side uses: the device's QueueNumMax, the driver's upper bound. */
#define ABI_VIRTQ_MAX_SIZE 256

#endif

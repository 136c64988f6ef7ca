/* pci_spec.h - the PCI ABI both sides speak (the VMM's host bridge and virtio-pci transport, the guest's
 * driver, the fuzzers): a type-0 configuration header, ECAM addressing, MSI-X (PCI Local Bus 3.0 §6.8.2) and
 * the virtio-pci capabilities and common configuration (virtio 1.x §4.1.4). Little-endian, as x86 is. */
#ifndef EXITLESS_PCI_SPEC_H
#define EXITLESS_PCI_SPEC_H

#include <stdint.h>

/* ---- configuration space (type-0 header) ---- */
#define PCI_VENDOR_ID         0x00 /* 16 */
#define PCI_DEVICE_ID         0x02 /* 16 */
#define PCI_COMMAND           0x04 /* 16 */
#define PCI_STATUS            0x06 /* 16 */
#define PCI_REVISION_ID       0x08 /* 8, then the class code in 0x09-0x0b */
#define PCI_HEADER_TYPE       0x0e /* 8 */
#define PCI_BAR0              0x10 /* 6 x 32 */
#define PCI_SUBSYSTEM_VENDOR  0x2c /* 16 */
#define PCI_SUBSYSTEM_ID      0x2e /* 16 */
#define PCI_CAPABILITY_LIST   0x34 /* 8 */
#define PCI_INTERRUPT_LINE    0x3c /* 8 */
#define PCI_INTERRUPT_PIN     0x3d /* 8 */
#define PCI_CFG_SPACE         256  /* conventional space; ECAM gives 4 KiB per function, the rest reads 0 */
#define PCI_ECAM_FN_SIZE      4096

#define PCI_COMMAND_MEMORY    0x0002 /* decode memory BARs */
#define PCI_COMMAND_MASTER    0x0004 /* bus mastering: the device may reach memory */
#define PCI_COMMAND_INTX_OFF  0x0400
#define PCI_STATUS_CAP_LIST   0x0010
#define PCI_BAR_MEM_MASK      (~0xfu) /* a 32-bit memory BAR: address bits; bits 0-3 type, all 0 here */

#define PCI_CAP_ID_VNDR       0x09 /* vendor-specific: virtio's capabilities */
#define PCI_CAP_ID_MSIX       0x11

/* ECAM: bus 0's functions at base + (dev << 15 | fn << 12) + register. */
#define PCI_ECAM_OFFSET(dev, fn) ((uint32_t)(dev) << 15 | (uint32_t)(fn) << 12)

/* ---- MSI-X: the capability, the table in a BAR, the pending-bit array ---- */
#define PCI_MSIX_FLAGS         2     /* 16: message control, at the capability's offset + 2 */
#define PCI_MSIX_TABLE         4     /* 32: table offset | BIR */
#define PCI_MSIX_PBA           8     /* 32: PBA offset | BIR */
#define PCI_MSIX_CAP_SIZE      12
#define PCI_MSIX_FLAGS_QSIZE   0x07ff /* table size - 1 */
#define PCI_MSIX_FLAGS_MASKALL 0x4000 /* function mask */
#define PCI_MSIX_FLAGS_ENABLE  0x8000
#define PCI_MSIX_ENTRY_SIZE    16
#define PCI_MSIX_ENTRY_ADDR_LO 0
#define PCI_MSIX_ENTRY_ADDR_HI 4
#define PCI_MSIX_ENTRY_DATA    8
#define PCI_MSIX_ENTRY_CTRL    12
#define PCI_MSIX_ENTRY_MASKED  1
/* An x86 MSI: address 0xfee00000 | destination APIC ID << 12, data = the vector (fixed delivery, edge). */
#define MSI_ADDR_BASE          0xfee00000u
#define MSI_ADDR_MASK          0xfff00000u
#define MSI_ADDR_DEST_SHIFT    12
#define MSI_DATA_VECTOR_MASK   0xffu

/* ---- virtio-pci (§4.1) ---- */
#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* modern devices: 0x1040 + virtio device id */

/* struct virtio_pci_cap: a vendor-specific capability naming a structure in a BAR. */
#define VIRTIO_PCI_CAP_VNDR    0 /* 8: PCI_CAP_ID_VNDR */
#define VIRTIO_PCI_CAP_NEXT    1 /* 8 */
#define VIRTIO_PCI_CAP_LEN     2 /* 8 */
#define VIRTIO_PCI_CAP_TYPE    3 /* 8: one of VIRTIO_PCI_CAP_*_CFG */
#define VIRTIO_PCI_CAP_BAR     4 /* 8 */
#define VIRTIO_PCI_CAP_OFFSET  8 /* 32 */
#define VIRTIO_PCI_CAP_LENGTH  12 /* 32 */
#define VIRTIO_PCI_CAP_SIZE    16
#define VIRTIO_PCI_NOTIFY_MULT 16 /* 32: notify_off_multiplier, after a notify capability's 16 bytes */
#define VIRTIO_PCI_CFG_DATA    16 /* 8 x 4: pci_cfg_data, after a PCI configuration access capability */

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

/* struct virtio_pci_common_cfg */
#define VIRTIO_PCI_COMMON_DFSELECT    0x00 /* 32 */
#define VIRTIO_PCI_COMMON_DF          0x04 /* 32, read-only */
#define VIRTIO_PCI_COMMON_GFSELECT    0x08 /* 32 */
#define VIRTIO_PCI_COMMON_GF          0x0c /* 32 */
#define VIRTIO_PCI_COMMON_MSIX        0x10 /* 16: config_msix_vector */
#define VIRTIO_PCI_COMMON_NUMQ        0x12 /* 16, read-only */
#define VIRTIO_PCI_COMMON_STATUS      0x14 /* 8 */
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15 /* 8, read-only */
#define VIRTIO_PCI_COMMON_Q_SELECT    0x16 /* 16 */
#define VIRTIO_PCI_COMMON_Q_SIZE      0x18 /* 16 */
#define VIRTIO_PCI_COMMON_Q_MSIX      0x1a /* 16 */
#define VIRTIO_PCI_COMMON_Q_ENABLE    0x1c /* 16 */
#define VIRTIO_PCI_COMMON_Q_NOFF      0x1e /* 16, read-only: queue_notify_off */
#define VIRTIO_PCI_COMMON_Q_DESCLO    0x20 /* 32 */
#define VIRTIO_PCI_COMMON_Q_DESCHI    0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO   0x28 /* the driver area */
#define VIRTIO_PCI_COMMON_Q_AVAILHI   0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO    0x30 /* the device area */
#define VIRTIO_PCI_COMMON_Q_USEDHI    0x34
#define VIRTIO_PCI_COMMON_CFG_SIZE    0x38

#define VIRTIO_MSI_NO_VECTOR   0xffff
#define VIRTIO_PCI_ISR_QUEUE   1
#define VIRTIO_PCI_ISR_CONFIG  2

#endif

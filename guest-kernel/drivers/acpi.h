/* acpi.h - the ACPI tables as the guest's drivers read them: the RSDP (from the PVH start info, else the BIOS
 * area), the XSDT, and a table found by its signature. Plain memory reads at CPL3 (identity-mapped). */
#ifndef EXITLESS_GUEST_ACPI_H
#define EXITLESS_GUEST_ACPI_H

#include <stdint.h>

/* The table with signature sig (4 characters) that the XSDT lists and whose checksum holds, or NULL. */
const uint8_t *acpi_table(const char *sig);

#endif

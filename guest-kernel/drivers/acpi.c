/* acpi.c - finds ACPI tables: RSDP -> XSDT -> the table by signature, every one checksummed. */
#include "guest.h"
#include "acpi.h"

#define BIOS_AREA     0xe0000u
#define BIOS_AREA_END 0x100000u

static uint32_t le32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t le64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static int sums_to_zero(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s == 0;
}

/* The RSDP (revision 2, 36 bytes): where the loader said, else on a 16-byte boundary in the BIOS area. */
static const uint8_t *rsdp(void)
{
	uint64_t at = pvh_rsdp();

	if (at && at < (1ull << 32))
		return (const uint8_t *)(uintptr_t)at;
	for (uintptr_t a = BIOS_AREA; a < BIOS_AREA_END; a += 16)
		if (!memcmp((const void *)a, "RSD PTR ", 8) && sums_to_zero((const uint8_t *)a, 20))
			return (const uint8_t *)a;
	return NULL;
}

/* A table header at gpa that names sig and checksums over its length (below 4 GiB, which is mapped). */
static const uint8_t *checked(uint64_t gpa, const char *sig)
{
	const uint8_t *t = (const uint8_t *)(uintptr_t)gpa;

	if (!gpa || gpa >= (1ull << 32) - 36 || memcmp(t, sig, 4) || le32(t + 4) < 36 || le32(t + 4) > (1u << 20))
		return NULL;
	return sums_to_zero(t, le32(t + 4)) ? t : NULL;
}

const uint8_t *acpi_table(const char *sig)
{
	const uint8_t *r = rsdp(), *x;

	if (!r || memcmp(r, "RSD PTR ", 8) || r[15] < 2 || !sums_to_zero(r, 36))
		return NULL;
	x = checked(le64(r + 24), "XSDT");
	for (uint32_t off = 36; x && off + 8 <= le32(x + 4); off += 8) {
		const uint8_t *t = checked(le64(x + off), sig);

		if (t)
			return t;
	}
	return NULL;
}

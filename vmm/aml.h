/* aml.h - building ACPI Machine Language (ACPI 6.5, section 20), the DSDT's byte code: names, devices,
 * packages and resource templates. Each device or transport that describes itself to the guest emits its own
 * objects with these (acpi.c builds the tables around them). */
#ifndef AML_H
#define AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX 8192

/* A growing byte string; overflow is sticky and checked once by the table builder. */
struct aml {
	uint8_t b[AML_MAX];
	size_t n;
	bool overflow;
};

void aml_emit(struct aml *a, const void *p, size_t len);
void aml_emit8(struct aml *a, uint8_t v);
void aml_emit32(struct aml *a, uint32_t v);
/* opcode(s), PkgLength, body (section 20.2.4). */
void aml_pkg(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body);
/* An integer object: Zero, One, a byte, a word or a dword constant. */
void aml_int(struct aml *a, uint32_t v);
/* Name(seg, Integer), Name(seg, "string"); seg is a 4-character name segment. */
void aml_name_int(struct aml *a, const char *seg, uint32_t v);
void aml_name_str(struct aml *a, const char *seg, const char *s);
/* EisaId("PNPxxxx") as an integer (section 19.6.35). */
uint32_t aml_eisa_id(const char *id);
/* Name(_CRS, ResourceTemplate() { res[0, len) EndTag }). */
void aml_name_crs(struct aml *a, const uint8_t *res, size_t len);
/* Device(seg) { inner }. */
void aml_device(struct aml *a, const char *seg, const struct aml *inner);

/* Resource descriptors (section 6.4), appended to a byte buffer for aml_name_crs; each returns the bytes
 * written. Memory32Fixed (read-write); an Extended Interrupt (consumer, edge, active high, exclusive); a
 * WordBusNumber range; a DWordMemory range (read-write, non-cacheable, producer: a bridge's window). */
size_t aml_res_mem32_fixed(uint8_t *p, uint32_t base, uint32_t size);
size_t aml_res_ext_irq(uint8_t *p, uint32_t gsi);
size_t aml_res_bus_range(uint8_t *p, uint16_t first, uint16_t last);
size_t aml_res_dword_mem(uint8_t *p, uint32_t base, uint32_t size);

#endif

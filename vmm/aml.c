/* aml.c - ACPI Machine Language building blocks (ACPI 6.5, sections 6.4 and 20): what a device or transport
 * uses to describe itself in the DSDT. */
#include <stdlib.h>
#include <string.h>

#include "aml.h"

void aml_emit(struct aml *a, const void *p, size_t len)
{
	if (a->n + len > AML_MAX) {
		a->overflow = true;
		return;
	}
	memcpy(a->b + a->n, p, len);
	a->n += len;
}

void aml_emit8(struct aml *a, uint8_t v)
{
	aml_emit(a, &v, 1);
}

void aml_emit32(struct aml *a, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	aml_emit(a, b, 4);
}

/* The PkgLength counts its own bytes (section 20.2.4). */
void aml_pkg(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body)
{
	size_t t = body->n + 1;
	uint8_t len[4];
	int nb;

	if (t <= 0x3f) {
		len[0] = (uint8_t)t;
		nb = 1;
	} else {
		t = body->n + 2;
		nb = 2;
		if (t > 0xfff) {
			t = body->n + 3;
			nb = 3;
		}
		len[0] = (uint8_t)(((nb - 1) << 6) | (t & 0xf));
		len[1] = (uint8_t)(t >> 4);
		len[2] = (uint8_t)(t >> 12);
	}
	aml_emit(a, op, oplen);
	aml_emit(a, len, (size_t)nb);
	aml_emit(a, body->b, body->n);
	a->overflow |= body->overflow;
}

void aml_int(struct aml *a, uint32_t v)
{
	if (v <= 1) {
		aml_emit8(a, (uint8_t)v); /* ZeroOp, OneOp */
	} else if (v <= 0xff) {
		aml_emit8(a, 0x0a); /* BytePrefix */
		aml_emit8(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_emit8(a, 0x0b); /* WordPrefix */
		aml_emit8(a, (uint8_t)v);
		aml_emit8(a, (uint8_t)(v >> 8));
	} else {
		aml_emit8(a, 0x0c); /* DWordPrefix */
		aml_emit32(a, v);
	}
}

void aml_name_int(struct aml *a, const char *seg, uint32_t v)
{
	aml_emit8(a, 0x08); /* NameOp */
	aml_emit(a, seg, 4);
	aml_int(a, v);
}

void aml_name_str(struct aml *a, const char *seg, const char *s)
{
	aml_emit8(a, 0x08);
	aml_emit(a, seg, 4);
	aml_emit8(a, 0x0d); /* StringPrefix */
	aml_emit(a, s, strlen(s) + 1);
}

/* Three compressed letters and a product number, stored big-endian. */
uint32_t aml_eisa_id(const char *id)
{
	uint32_t vendor = (uint32_t)(((id[0] - 0x40) << 10) | ((id[1] - 0x40) << 5) | (id[2] - 0x40));
	uint32_t product = (uint32_t)strtoul(id + 3, NULL, 16);

	return (vendor >> 8) | ((vendor & 0xff) << 8) | ((product >> 8) << 16) | ((product & 0xff) << 24);
}

void aml_name_crs(struct aml *a, const uint8_t *res, size_t len)
{
	static const uint8_t end_tag[] = { 0x79, 0x00 };
	static const uint8_t buffer_op = 0x11;
	struct aml body = { .n = 0 };

	aml_int(&body, (uint32_t)(len + sizeof(end_tag)));
	aml_emit(&body, res, len);
	aml_emit(&body, end_tag, sizeof(end_tag));
	aml_emit8(a, 0x08);
	aml_emit(a, "_CRS", 4);
	aml_pkg(a, &buffer_op, 1, &body);
}

void aml_device(struct aml *a, const char *seg, const struct aml *inner)
{
	static const uint8_t device_op[] = { 0x5b, 0x82 };
	struct aml body = { .n = 0 };

	aml_emit(&body, seg, 4);
	aml_emit(&body, inner->b, inner->n);
	body.overflow = inner->overflow;
	aml_pkg(a, device_op, sizeof(device_op), &body);
}

/* ---- resource descriptors (section 6.4.3): little-endian fields after a tag and a 16-bit length ------- */

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
	return 2;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
	return 4;
}

/* Memory32Fixed(ReadWrite, base, size): tag 0x86, 9 bytes. */
size_t aml_res_mem32_fixed(uint8_t *p, uint32_t base, uint32_t size)
{
	p[0] = 0x86, p[1] = 9, p[2] = 0, p[3] = 1;
	put32(p + 4, base);
	put32(p + 8, size);
	return 12;
}

/* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi }: tag 0x89, 6 bytes. */
size_t aml_res_ext_irq(uint8_t *p, uint32_t gsi)
{
	p[0] = 0x89, p[1] = 6, p[2] = 0, p[3] = 0x03, p[4] = 1;
	put32(p + 5, gsi);
	return 9;
}

/* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, first, last, 0, count): tag 0x88. */
size_t aml_res_bus_range(uint8_t *p, uint16_t first, uint16_t last)
{
	p[0] = 0x88, p[1] = 13, p[2] = 0, p[3] = 2 /* bus numbers */, p[4] = 0x0c, p[5] = 0;
	put16(p + 6, 0);
	put16(p + 8, first);
	put16(p + 10, last);
	put16(p + 12, 0);
	put16(p + 14, (uint16_t)(last - first + 1));
	return 16;
}

/* DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0, base, end, 0,
 * size): tag 0x87, 23 bytes. */
size_t aml_res_dword_mem(uint8_t *p, uint32_t base, uint32_t size)
{
	p[0] = 0x87, p[1] = 23, p[2] = 0, p[3] = 0 /* memory */, p[4] = 0x0c, p[5] = 0x01;
	put32(p + 6, 0);
	put32(p + 10, base);
	put32(p + 14, base + size - 1);
	put32(p + 18, 0);
	put32(p + 22, size);
	return 26;
}

/* verify.c - verify blocks: crc32c (Castagnoli) and the self-describing block format, shared with imgcheck. */
#include "eng.h"

/*
 * Block layout (little-endian), one per bs-sized block of a verify job:
 *   0 u32 magic "EXVB"   4 u32 crc32c of the whole block with this field zeroed
 *   8 u64 LBA (device offset / 512)   16 u64 seed   24 u32 block length   28 u32 format (1)
 *  32 payload: splitmix64 words seeded from (seed, offset), so any block can be regenerated alone.
 */
#define VFY_FORMAT 1

static uint32_t crc_tab[8][256];
static int crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
	crc_ready = 1;
}

/* Slicing-by-8: eight table lookups per 8 bytes. crc is the running value (0 to start). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (!crc_ready)
		crc_init();
	crc = ~crc;
	for (; len >= 8; len -= 8, p += 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		w ^= crc;
		crc = crc_tab[7][w & 0xff] ^ crc_tab[6][(w >> 8) & 0xff] ^ crc_tab[5][(w >> 16) & 0xff] ^
		      crc_tab[4][(w >> 24) & 0xff] ^ crc_tab[3][(w >> 32) & 0xff] ^ crc_tab[2][(w >> 40) & 0xff] ^
		      crc_tab[1][(w >> 48) & 0xff] ^ crc_tab[0][w >> 56];
	}
	while (len--)
		crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

static void payload_rng(struct eng_rng *r, uint64_t off, uint64_t seed)
{
	rng_seed(r, seed ^ (off * 0x9e3779b97f4a7c15ull) ^ 0x243f6a8885a308d3ull);
}

static uint32_t block_crc(const uint8_t *blk, uint32_t len)
{
	static const uint8_t zero[4];
	uint32_t c = crc32c(0, blk, 4);
	c = crc32c(c, zero, 4);
	return crc32c(c, blk + 8, len - 8);
}

void vfy_fill(void *blk, uint32_t len, uint64_t off, uint64_t seed)
{
	uint8_t *b = blk;
	uint32_t magic = VFY_MAGIC, fmt = VFY_FORMAT, zero = 0;
	uint64_t lba = off / 512;
	struct eng_rng r;
	memcpy(b + 0, &magic, 4);
	memcpy(b + 4, &zero, 4);
	memcpy(b + 8, &lba, 8);
	memcpy(b + 16, &seed, 8);
	memcpy(b + 24, &len, 4);
	memcpy(b + 28, &fmt, 4);
	payload_rng(&r, off, seed);
	for (uint32_t i = VFY_HDR_SIZE; i + 8 <= len; i += 8) {
		uint64_t w = rng_next(&r);
		memcpy(b + i, &w, 8);
	}
	uint32_t crc = block_crc(b, len);
	memcpy(b + 4, &crc, 4);
}

static int mismatch(char *msg, size_t n, uint64_t off, const char *what, uint64_t want, uint64_t got)
{
	snprintf(msg, n, "offset %llu (LBA %llu): %s expected 0x%llx found 0x%llx", (unsigned long long)off,
		 (unsigned long long)(off / 512), what, (unsigned long long)want, (unsigned long long)got);
	return 1;
}

static uint64_t field(const uint8_t *b, unsigned at, unsigned size)
{
	uint64_t v = 0;
	memcpy(&v, b + at, size);
	return v;
}

/* Names the first payload byte that differs from the regenerated data, or reports the crc itself. */
static int payload_mismatch(const uint8_t *b, uint32_t len, uint64_t off, uint64_t seed, char *msg, size_t n)
{
	struct eng_rng r;
	char what[48];
	payload_rng(&r, off, seed);
	for (uint32_t i = VFY_HDR_SIZE; i + 8 <= len; i += 8) {
		uint64_t want = rng_next(&r), got = field(b, i, 8);
		if (want == got)
			continue;
		unsigned k = 0;
		while (((want >> (8 * k)) & 0xff) == ((got >> (8 * k)) & 0xff))
			k++;
		snprintf(what, sizeof(what), "payload byte +%u", i + k);
		return mismatch(msg, n, off, what, (want >> (8 * k)) & 0xff, (got >> (8 * k)) & 0xff);
	}
	return mismatch(msg, n, off, "crc32c", block_crc(b, len), field(b, 4, 4));
}

int vfy_check(const void *blk, uint32_t len, uint64_t off, uint64_t seed, char *msg, size_t n)
{
	const uint8_t *b = blk;
	const struct { const char *name; unsigned at, size; uint64_t want; } hdr[] = {
		{"magic", 0, 4, VFY_MAGIC}, {"LBA", 8, 8, off / 512}, {"seed", 16, 8, seed},
		{"length", 24, 4, len}, {"format", 28, 4, VFY_FORMAT},
	};
	for (unsigned i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++)
		if (field(b, hdr[i].at, hdr[i].size) != hdr[i].want)
			return mismatch(msg, n, off, hdr[i].name, hdr[i].want, field(b, hdr[i].at, hdr[i].size));
	if (block_crc(b, len) != (uint32_t)field(b, 4, 4))
		return payload_mismatch(b, len, off, seed, msg, n);
	return 0;
}

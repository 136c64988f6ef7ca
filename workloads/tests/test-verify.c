/* test-verify.c - crc32c vectors and the verify block: round trip, and each kind of corruption named. */
#include "unit.h"

static uint8_t blk[4096] __attribute__((aligned(8)));
static char msg[160];

static void crc_vectors(void)
{
	ok(crc32c(0, "123456789", 9) == 0xe3069283u, "crc32c(\"123456789\") = 0xE3069283");
	ok(crc32c(0, "", 0) == 0, "crc32c of nothing is 0");
	static uint8_t zeros[32];
	ok(crc32c(0, zeros, 32) == 0x8a9136aau, "crc32c of 32 zero bytes = 0x8A9136AA (RFC 3720)");
	ok(crc32c(crc32c(0, "1234", 4), "56789", 5) == 0xe3069283u, "crc32c continues across calls");
}

static int corrupt_and_check(unsigned at, const char *want)
{
	vfy_fill(blk, sizeof(blk), 8192, 99);
	blk[at] ^= 0x5a;
	int bad = vfy_check(blk, sizeof(blk), 8192, 99, msg, sizeof(msg));
	if (!bad || !strstr(msg, want))
		printf("#   got: %s\n", msg);
	return bad && strstr(msg, want);
}

static void blocks(void)
{
	vfy_fill(blk, sizeof(blk), 8192, 99);
	ok(!vfy_check(blk, sizeof(blk), 8192, 99, msg, sizeof(msg)), "a filled block checks");
	ok(vfy_check(blk, sizeof(blk), 12288, 99, msg, sizeof(msg)) &&
	       !strcmp(msg, "offset 12288 (LBA 24): LBA expected 0x18 found 0x10"), "a block at the wrong LBA: %s", msg);
	ok(vfy_check(blk, sizeof(blk), 8192, 98, msg, sizeof(msg)) && strstr(msg, "seed expected 0x62 found 0x63"),
	       "a block with another seed");
	ok(corrupt_and_check(100, "offset 8192 (LBA 16): payload byte +100 expected"), "a flipped payload byte is named");
	ok(corrupt_and_check(4095, "payload byte +4095"), "the last byte is covered");
	ok(corrupt_and_check(5, "crc32c expected"), "a damaged crc field");
	ok(corrupt_and_check(0, "magic expected 0x42565845"), "a damaged magic");
	memset(blk, 0, sizeof(blk));
	ok(vfy_check(blk, sizeof(blk), 0, 99, msg, sizeof(msg)) && strstr(msg, "magic expected 0x42565845 found 0x0"),
	       "a never-written block");
}

void test_verify(void)
{
	crc_vectors();
	blocks();
}

/* unit-kcmd.c - the guest's command-line parser (cmdline.c) on the host: TAP output. */
#include <stdio.h>
#include "kernel.h"

#include "tap.h"

static int is(const char *got, const char *want)
{
	return got && want ? !klib_strcmp(got, want) : got == want;
}

int main(void)
{
	int good;

	kcmd_init("tsc_khz=2596000  virtio_mmio.device=512@0xfeb00e00:12 quiet\tvirtio_mmio.device=512@0xfeb00c00:11 "
		  "title=\"two words\" tsc=bad");
	ok(is(kcmd_get("tsc_khz"), "2596000"), "kcmd_get returns a value");
	ok(is(kcmd_get("quiet"), ""), "a bare word has the empty value");
	ok(is(kcmd_get("missing"), NULL), "an absent key gives NULL");
	ok(is(kcmd_get("tsc"), "bad"), "a key that prefixes another key is not confused with it");
	ok(is(kcmd_get_nth("virtio_mmio.device", 0), "512@0xfeb00e00:12") &&
	   is(kcmd_get_nth("virtio_mmio.device", 1), "512@0xfeb00c00:11") &&
	   is(kcmd_get_nth("virtio_mmio.device", 2), NULL), "repeated keys are enumerable in order");
	ok(is(kcmd_get("title"), "two words"), "double quotes keep blanks inside a value");
	ok(kcmd_u64("tsc_khz", 7, &good) == 2596000 && good, "kcmd_u64 parses a number");
	ok(kcmd_u64("tsc", 7, &good) == 7 && !good, "kcmd_u64 rejects a non-number and returns the default");
	ok(kcmd_u64("missing", 9, &good) == 9 && good, "kcmd_u64 returns the default for an absent key");
	kcmd_init(NULL);
	ok(is(kcmd_line(), "") && is(kcmd_get("tsc_khz"), NULL), "no command line: nothing found");
	kcmd_init("   ");
	ok(is(kcmd_get(""), NULL), "blanks only: no words");
	return tap_done();
}

/* unit-klib.c - the mini libc (built with -DKLIB_RENAME as klib_*) against the host libc: TAP output. */
#include "klib.h"
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef strlen
#undef strcmp
#undef strncmp
#undef strchr
#undef vsnprintf
#undef snprintf
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <limits.h>

#include "tap.h"

/* Formats with both implementations into buffers of several sizes; results and return values must agree. */
#define SAME(...) do { \
	char want[256], got[256]; \
	int wn = snprintf(want, sizeof(want), __VA_ARGS__), gn = klib_snprintf(got, sizeof(got), __VA_ARGS__); \
	char ws[5] = "####", gs[5] = "####"; \
	int wsn = snprintf(ws, 4, __VA_ARGS__), gsn = klib_snprintf(gs, 4, __VA_ARGS__); \
	int same = wn == gn && !strcmp(want, got) && wsn == gsn && !memcmp(ws, gs, 5); \
	if (!same) printf("# want \"%s\" (%d), got \"%s\" (%d)\n", want, wn, got, gn); \
	ok(same, "%s", "snprintf " #__VA_ARGS__); \
} while (0)

static void test_format(void)
{
	SAME("plain text");
	SAME("%d %i %d %d", 0, -1, INT_MAX, INT_MIN);
	SAME("%u %x %X %o", 0u, 0xdeadbeefu, 0xabcdefu, 0755u);
	SAME("%hhd %hhu %hd %hu", (signed char)-5, (unsigned char)250, (short)-300, (unsigned short)65000);
	SAME("%ld %lu %lx", LONG_MIN, ULONG_MAX, 0x123456789abcdefUL);
	SAME("%lld %llu %llX", LLONG_MIN, ULLONG_MAX, 0xfedcba9876543210ULL);
	SAME("%zu %zx %zd", (size_t)12345, (size_t)0xffff, (ssize_t)-9);
	SAME("[%5d] [%-5d] [%05d] [%5s] [%-5s|]", 42, 42, -42, "ab", "cd");
	SAME("[%08x] [%#x] [%#o] [%#X] [%+d] [% d]", 0xbeefu, 0x1fu, 8u, 0xabu, 5, 6);
	SAME("[%.3d] [%8.3d] [%.0d] [%-8.3x]", 7, -7, 0, 0xau);
	SAME("[%.2s] [%.*s] [%*d] [%-*d] [%.10s]", "hello", 3, "world", 6, 1, 6, 2, "short");
	SAME("[%c] [%3c] [%-3c] %%", 'a', 'b', 'c');
	SAME("[%p] [%20p]", (void *)0x1234, (void *)0xffffffff81000000UL);
	SAME("%s=%d, %s=%s", "a", 1, "b", "two");
}

static void test_parse(void)
{
	const char *end, *s;

	s = "1234xyz";
	ok(kstrtoull(s, &end, 10) == 1234 && end == s + 4, "kstrtoull decimal stops at the first non-digit");
	s = "0x1F";
	ok(kstrtoull(s, &end, 0) == 0x1f && *end == 0, "kstrtoull base 0 detects 0x");
	s = "0755";
	ok(kstrtoull(s, &end, 0) == 0755 && *end == 0, "kstrtoull base 0 detects octal");
	s = "  +42";
	ok(kstrtoull(s, &end, 0) == 42 && *end == 0, "kstrtoull skips blanks and '+'");
	s = "abc";
	ok(kstrtoull(s, &end, 10) == 0 && end == s, "kstrtoull without digits leaves end at s");
	s = "0x";
	ok(kstrtoull(s, &end, 0) == 0 && end == s + 1, "kstrtoull '0x' alone parses the 0 like strtoull");
	ok(kstrtoull("18446744073709551615", NULL, 10) == ULLONG_MAX, "kstrtoull reaches ULLONG_MAX");
	ok(kstrtoull("18446744073709551616", NULL, 10) == ULLONG_MAX, "kstrtoull saturates on overflow");
	ok(kstrtoull("zz", NULL, 36) == 35 * 36 + 35, "kstrtoull base 36");
}

static void test_string(void)
{
	char a[64], b[64];

	for (int i = 0; i < 64; i++)
		a[i] = (char)i;
	klib_memcpy(b, a, 64);
	ok(!memcmp(a, b, 64), "memcpy copies");
	klib_memmove(a + 3, a, 20);
	memmove(b + 3, b, 20);
	ok(!memcmp(a, b, 64), "memmove forward overlap");
	klib_memmove(a, a + 5, 30);
	memmove(b, b + 5, 30);
	ok(!memcmp(a, b, 64), "memmove backward overlap");
	klib_memset(a, 0x5a, 17);
	memset(b, 0x5a, 17);
	ok(!memcmp(a, b, 64), "memset fills");
	ok(klib_memcmp("abc", "abd", 3) < 0 && klib_memcmp("abd", "abc", 3) > 0 && !klib_memcmp("ab", "ab", 2),
	   "memcmp orders bytes");
	ok(klib_memcmp("\xff", "\x01", 1) > 0, "memcmp compares unsigned bytes");
	ok(klib_strlen("") == 0 && klib_strlen("hello") == 5, "strlen");
	ok(klib_strcmp("a", "b") < 0 && klib_strcmp("b", "a") > 0 && !klib_strcmp("x", "x") &&
	   klib_strcmp("ab", "a") > 0, "strcmp");
	ok(!klib_strncmp("abcd", "abcx", 3) && klib_strncmp("abcd", "abcx", 4) < 0 && !klib_strncmp("a", "a", 9),
	   "strncmp");
	const char *s = "key=value";
	ok(klib_strchr(s, '=') == s + 3 && klib_strchr(s, 'z') == NULL && klib_strchr(s, 0) == s + 9, "strchr");
}

int main(void)
{
	test_format();
	test_parse();
	test_string();
	return tap_done();
}

/* klib.h - the freestanding mini libc shared by the guest kernel and its CPL3 code (also builds on the host). */
#ifndef EXITLESS_KLIB_H
#define EXITLESS_KLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Host unit tests compile lib/string.c and lib/fmt.c with -DKLIB_RENAME so these do not clash with the host libc they are
 * compared against; the guest uses the standard names, so the compiler's own calls to memcpy/memset land here. */
#ifdef KLIB_RENAME
#define memcpy    klib_memcpy
#define memmove   klib_memmove
#define memset    klib_memset
#define memcmp    klib_memcmp
#define strlen    klib_strlen
#define strcmp    klib_strcmp
#define strncmp   klib_strncmp
#define strchr    klib_strchr
#define vsnprintf klib_vsnprintf
#define snprintf  klib_snprintf
#endif

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/* C99 semantics: writes at most size bytes including the NUL, returns the length the full output would have.
 * Conversions: %d %i %u %x %X %o %c %s %p %%; length hh h l ll z j t; flags - 0 + space #; width and
 * precision as digits or '*'. No floating point: the guest is built with -mgeneral-regs-only. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parses an unsigned number like strtoull: leading blanks, optional '+', base 0 detects 0x (16) and 0 (8).
 * Saturates at ULLONG_MAX on overflow. *end (if end is not NULL) points after the last digit used, or at s
 * when there was no digit. */
unsigned long long kstrtoull(const char *s, const char **end, int base);

#endif

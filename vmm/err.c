/* err.c - one-line error messages: recorded by the failing layer, printed once by the caller. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmm.h"

static __thread char last_msg[512];

int err_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	return -1;
}

const char *err_msg(void)
{
	return last_msg;
}

void die(int status, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vmm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

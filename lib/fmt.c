/* fmt.c - vsnprintf/snprintf of the mini libc: integers, characters, strings and pointers, no floating point. */
#include "klib.h"

/* An output cursor: counts every character, stores those that fit (one byte is kept for the NUL). */
struct out {
	char *buf;
	size_t size;
	size_t len;
};

struct spec {
	int left, zero, plus, space, alt;
	int width, prec;	/* prec < 0: none given */
	int length;		/* 'H' hh, 'h', 'l', 'L' ll (and z j t), 0 int */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

static const char *parse_flags(const char *f, struct spec *s)
{
	for (;; f++) {
		switch (*f) {
		case '-': s->left = 1; break;
		case '0': s->zero = 1; break;
		case '+': s->plus = 1; break;
		case ' ': s->space = 1; break;
		case '#': s->alt = 1; break;
		default: return f;
		}
	}
}

static const char *parse_num(const char *f, int *v, va_list *ap)
{
	if (*f == '*') {
		*v = va_arg(*ap, int);
		return f + 1;
	}
	for (*v = 0; *f >= '0' && *f <= '9'; f++)
		*v = *v * 10 + (*f - '0');
	return f;
}

static const char *parse_spec(const char *f, struct spec *s, va_list *ap)
{
	*s = (struct spec){ .prec = -1 };
	f = parse_flags(f, s);
	f = parse_num(f, &s->width, ap);
	if (s->width < 0) {	/* a negative '*' width means '-' */
		s->left = 1;
		s->width = -s->width;
	}
	if (*f == '.') {
		f = parse_num(f + 1, &s->prec, ap);
		if (s->prec < 0)
			s->prec = -1;
	}
	if (f[0] == 'h' && f[1] == 'h')
		s->length = 'H', f += 2;
	else if (f[0] == 'l' && f[1] == 'l')
		s->length = 'L', f += 2;
	else if (*f == 'h' || *f == 'l')
		s->length = *f++;
	else if (*f == 'z' || *f == 'j' || *f == 't')
		s->length = 'L', f++;
	return f;
}

/* Fetches an integer argument of the spec's length; signed conversions are sign-extended into *neg/magnitude. */
static unsigned long long fetch(const struct spec *s, int is_signed, int *neg, va_list *ap)
{
	long long v;

	*neg = 0;
	if (!is_signed) {
		switch (s->length) {
		case 'H': return (unsigned char)va_arg(*ap, unsigned int);
		case 'h': return (unsigned short)va_arg(*ap, unsigned int);
		case 'l': return va_arg(*ap, unsigned long);
		case 'L': return va_arg(*ap, unsigned long long);
		default: return va_arg(*ap, unsigned int);
		}
	}
	switch (s->length) {
	case 'H': v = (signed char)va_arg(*ap, int); break;
	case 'h': v = (short)va_arg(*ap, int); break;
	case 'l': v = va_arg(*ap, long); break;
	case 'L': v = va_arg(*ap, long long); break;
	default: v = va_arg(*ap, int); break;
	}
	*neg = v < 0;
	return *neg ? 0ull - (unsigned long long)v : (unsigned long long)v;
}

/* Formats one integer: [sign][0x][zeros][digits] padded to the width. */
static void put_int(struct out *o, const struct spec *s, unsigned long long v, int neg, unsigned base, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24], sign = neg ? '-' : s->plus ? '+' : s->space ? ' ' : 0;
	const char *prefix = (s->alt && base == 16 && v) ? (upper ? "0X" : "0x") : "";
	int n = 0, zeros, plen = (int)strlen(prefix) + (sign != 0), body;

	while (v || (n == 0 && s->prec != 0)) {
		tmp[n++] = digits[v % base];
		v /= base;
	}
	if (s->alt && base == 8 && (n == 0 || tmp[n - 1] != '0'))
		tmp[n++] = '0';
	zeros = s->prec > n ? s->prec - n : 0;
	if (s->zero && !s->left && s->prec < 0 && s->width > n + plen)
		zeros = s->width - n - plen;
	body = plen + zeros + n;
	if (!s->left)
		pad(o, ' ', s->width - body);
	if (sign)
		put(o, sign);
	while (*prefix)
		put(o, *prefix++);
	pad(o, '0', zeros);
	while (n)
		put(o, tmp[--n]);
	if (s->left)
		pad(o, ' ', s->width - body);
}

static void put_str(struct out *o, const struct spec *s, const char *str)
{
	int n = 0;

	if (!str)
		str = "(null)";
	while (str[n] && (s->prec < 0 || n < s->prec))
		n++;
	if (!s->left)
		pad(o, ' ', s->width - n);
	for (int i = 0; i < n; i++)
		put(o, str[i]);
	if (s->left)
		pad(o, ' ', s->width - n);
}

static void convert(struct out *o, char c, struct spec *s, va_list *ap)
{
	unsigned long long v;
	int neg;

	switch (c) {
	case 'd': case 'i':
		v = fetch(s, 1, &neg, ap);
		put_int(o, s, v, neg, 10, 0);
		break;
	case 'u': case 'x': case 'X': case 'o':
		v = fetch(s, 0, &neg, ap);
		put_int(o, s, v, 0, c == 'u' ? 10 : c == 'o' ? 8 : 16, c == 'X');
		break;
	case 'p':
		s->alt = 1;
		put_int(o, s, (uintptr_t)va_arg(*ap, void *), 0, 16, 0);
		break;
	case 'c':
		if (!s->left)
			pad(o, ' ', s->width - 1);
		put(o, (char)va_arg(*ap, int));
		if (s->left)
			pad(o, ' ', s->width - 1);
		break;
	case 's':
		put_str(o, s, va_arg(*ap, const char *));
		break;
	default:	/* '%%' and unknown conversions print themselves */
		put(o, c);
		break;
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	struct spec s;
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt = parse_spec(fmt + 1, &s, &args);
		if (!*fmt)
			break;
		convert(&o, *fmt++, &s, &args);
	}
	va_end(args);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

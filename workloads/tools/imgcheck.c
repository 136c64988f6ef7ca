/* imgcheck.c - writes or checks verify blocks (the engine's crc32c format) in an image file on the host. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eng.h"

#define CHUNK (4u << 20) /* bytes per pread/pwrite */
#define SHOWN 5          /* mismatches listed on stderr */

struct args {
	int write;
	const char *img;
	uint64_t bs, offset, size, seed;
	int have_size;
};

static int usage(const char *why)
{
	fprintf(stderr, "imgcheck: %s\nusage: imgcheck --write|--check IMAGE --bs N [--offset O] [--size S] [--seed N]\n",
		why);
	return 2;
}

static int number(const char *flag, const char *s, uint64_t *out)
{
	if (s && !opt_parse_size(s, out))
		return 0;
	fprintf(stderr, "imgcheck: bad value '%s' for %s (a number, k/m/g suffixes allowed)\n", s ? s : "", flag);
	return -1;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	a->seed = VFY_DEFAULT_SEED;
	for (int i = 1; i < argc; i++) {
		const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;
		if (!strcmp(f, "--write") || !strcmp(f, "--check")) {
			a->write = f[2] == 'w';
			a->img = v, i++;
		} else if (!strcmp(f, "--bs")) {
			rc = number(f, v, &a->bs), i++;
		} else if (!strcmp(f, "--offset")) {
			rc = number(f, v, &a->offset), i++;
		} else if (!strcmp(f, "--size")) {
			rc = number(f, v, &a->size), i++, a->have_size = 1;
		} else if (!strcmp(f, "--seed")) {
			rc = number(f, v, &a->seed), i++;
		} else {
			fprintf(stderr, "imgcheck: unknown argument '%s'\n", f);
			return -1;
		}
		if (rc)
			return -1;
	}
	if (!a->img)
		return usage("needs --write IMAGE or --check IMAGE"), -1;
	if (!a->bs || a->bs % 512 || a->bs > CHUNK)
		return usage("--bs must be a multiple of 512 up to 4m (the job's bs)"), -1;
	if (a->offset % 512)
		return usage("--offset must be a multiple of 512"), -1;
	return 0;
}

static int run_chunk(const struct args *a, int fd, uint8_t *buf, uint64_t off, uint64_t len, uint64_t *bad)
{
	char msg[160];
	if (a->write) {
		for (uint64_t k = 0; k < len; k += a->bs)
			vfy_fill(buf + k, (uint32_t)a->bs, off + k, a->seed);
		return pwrite(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
	}
	if (pread(fd, buf, len, (off_t)off) != (ssize_t)len)
		return -1;
	for (uint64_t k = 0; k < len; k += a->bs) {
		if (!vfy_check(buf + k, (uint32_t)a->bs, off + k, a->seed, msg, sizeof(msg)))
			continue;
		if (++*bad <= SHOWN)
			fprintf(stderr, "imgcheck: %s: %s\n", a->img, msg);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	struct stat st;
	if (parse_args(argc, argv, &a))
		return 2;
	int fd = open(a.img, a.write ? O_RDWR : O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		return fprintf(stderr, "imgcheck: cannot open %s: %s\n", a.img, strerror(errno)), 2;
	if (!a.have_size)
		a.size = (uint64_t)st.st_size > a.offset ? (uint64_t)st.st_size - a.offset : 0;
	uint64_t blocks = a.size / a.bs, bad = 0, chunk = CHUNK / a.bs * a.bs;
	if (!blocks || (!a.write && a.offset + blocks * a.bs > (uint64_t)st.st_size))
		return fprintf(stderr, "imgcheck: %s: the region holds no whole block inside the file\n", a.img), 2;
	static uint8_t buf[CHUNK] __attribute__((aligned(4096))); /* lives as long as the process: nothing to free */
	for (uint64_t done = 0; done < blocks * a.bs; done += chunk) {
		uint64_t len = blocks * a.bs - done < chunk ? blocks * a.bs - done : chunk;
		if (run_chunk(&a, fd, buf, a.offset + done, len, &bad))
			return fprintf(stderr, "imgcheck: %s: I/O error at offset %llu: %s\n", a.img,
				       (unsigned long long)(a.offset + done), strerror(errno)), 1;
	}
	if (a.write && fdatasync(fd))
		return fprintf(stderr, "imgcheck: %s: fdatasync: %s\n", a.img, strerror(errno)), 1;
	printf("imgcheck: %s: %s %llu blocks of %llu bytes from offset %llu (seed 0x%llx): %llu mismatches\n", a.img,
	       a.write ? "wrote" : "checked", (unsigned long long)blocks, (unsigned long long)a.bs,
	       (unsigned long long)a.offset, (unsigned long long)a.seed, (unsigned long long)bad);
	return bad ? 1 : 0;
}

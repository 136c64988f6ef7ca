/* engine-host.c - runs the guest's job engine on the host against a file, with a synchronous pread/pwrite device. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"

#define QUEUE_MAX 256

/* A queue in front of synchronous I/O: queue() collects, commit() makes the batch visible, reap() does
 * the reads and writes in order. iodepth therefore shapes batches as in the guest, and clat (issue ->
 * reap) contains the I/O time, while the device itself has one request outstanding at a time. */
struct syncdev {
	int fd;
	struct eng_io *q[QUEUE_MAX];
	unsigned head, committed, tail; /* [head, committed) submitted, [committed, tail) queued */
};

static int sd_queue(void *ctx, struct eng_io *io)
{
	struct syncdev *d = ctx;
	if (d->tail - d->head == QUEUE_MAX)
		return ENG_Q_FULL;
	d->q[d->tail++ % QUEUE_MAX] = io;
	return ENG_Q_OK;
}

static void sd_commit(void *ctx)
{
	struct syncdev *d = ctx;
	d->committed = d->tail;
}

static int sd_do(struct syncdev *d, struct eng_io *io)
{
	ssize_t n;
	if (io->op == ENG_OP_FLUSH)
		return fdatasync(d->fd) ? -errno : 0;
	if (io->op == ENG_OP_READ)
		n = pread(d->fd, io->buf, io->length, (off_t)io->offset);
	else
		n = pwrite(d->fd, io->buf, io->length, (off_t)io->offset);
	if (n < 0)
		return -errno;
	return (size_t)n == io->length ? 0 : -EIO;
}

static int sd_reap(void *ctx, struct eng_io **done, unsigned max, int wait)
{
	struct syncdev *d = ctx;
	unsigned n = 0;
	(void)wait; /* every submitted request completes here, so waiting never blocks longer */
	while (n < max && d->head != d->committed) {
		struct eng_io *io = d->q[d->head++ % QUEUE_MAX];
		io->status = sd_do(d, io);
		done[n++] = io;
	}
	return (int)n;
}

static const struct eng_dev_ops syncdev_ops = { .queue = sd_queue, .commit = sd_commit, .reap = sd_reap };

static FILE *results_file;

static uint64_t host_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* fio sleeps between the I/Os of an offered load: so does the host engine, waking a little early (the
 * engine spins the rest on the clock) so that the timer's slack does not delay the I/O. */
static void host_sleep_until(uint64_t deadline)
{
	const uint64_t early = 60000; /* ns: more than the default 50 us timer slack */
	struct timespec ts;

	if (deadline <= host_now_ns() + early)
		return;
	deadline -= early;
	ts.tv_sec = (time_t)(deadline / 1000000000ull);
	ts.tv_nsec = (long)(deadline % 1000000000ull);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void host_console(const char *s, size_t n) { fwrite(s, 1, n, stderr); }
static void host_results(const char *s, size_t n) { fwrite(s, 1, n, results_file); }
static uint64_t host_wall_s(void) { return (uint64_t)time(NULL); }

/* The engine never frees what it gets (its contract, as in the guest): the blocks are listed here and
 * freed once the run is over. */
static void **blocks;
static size_t nblocks;

static void *host_alloc(size_t size, size_t align)
{
	void *p = NULL, **more = realloc(blocks, (nblocks + 1) * sizeof(*blocks));
	if (!more)
		return NULL;
	blocks = more;
	if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size ? size : 1))
		return NULL;
	blocks[nblocks++] = p;
	return memset(p, 0, size);
}

/* Frees the engine's blocks and the job text; returns rc. */
static int release(char *job, int rc)
{
	while (nblocks)
		free(blocks[--nblocks]);
	free(blocks);
	free(job);
	return rc;
}

static int usage(const char *why)
{
	fprintf(stderr, "engine-host: %s\nusage: engine-host [--direct] [--readonly] [--results FILE] JOB.fio IMAGE\n       engine-host --parse-only JOB.fio\n",
		why);
	return 2;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;
	if (!f)
		return NULL;
	for (;;) {
		buf = realloc(buf, cap + 65536);
		size_t n = fread(buf + cap, 1, 65536, f);
		cap += n;
		if (n < 65536)
			break;
	}
	fclose(f);
	*len = cap;
	return buf;
}

static int open_image(const char *path, int direct, int readonly, struct eng_dev *dev)
{
	int flags = (readonly ? O_RDONLY : O_RDWR) | (direct ? O_DIRECT : 0);
	int fd = open(path, flags);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		return -1;
	dev->capacity = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &dev->capacity))
		return -1;
	dev->sector_size = 512;
	dev->max_inflight = QUEUE_MAX;
	dev->read_only = readonly;
	return fd;
}

int main(int argc, char **argv)
{
	int direct = 0, readonly = 0, parse_only = 0, i = 1;
	const char *out = NULL;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--direct"))
			direct = 1;
		else if (!strcmp(argv[i], "--readonly"))
			readonly = 1;
		else if (!strcmp(argv[i], "--parse-only"))
			parse_only = 1;
		else if (!strcmp(argv[i], "--results") && i + 1 < argc)
			out = argv[++i];
		else
			return usage("unknown option (see usage)");
	}
	if (argc - i != 2 - parse_only)
		return usage(parse_only ? "--parse-only needs a job file" : "needs a job file and an image");
	size_t len;
	char *job = read_file(argv[i], &len);
	if (!job)
		return fprintf(stderr, "engine-host: cannot read job file %s: %s\n", argv[i], strerror(errno)), 2;
	struct eng_env env = { .now_ns = host_now_ns, .console = host_console, .results = host_results,
				.alloc = host_alloc, .wall_s = host_wall_s, .sleep_until = host_sleep_until };
	if (parse_only)
		return release(job, engine_check(job, len, &env));
	static struct syncdev sd;
	struct eng_dev dev = {.ops = &syncdev_ops, .ctx = &sd};
	sd.fd = open_image(argv[i + 1], direct, readonly, &dev);
	if (sd.fd < 0)
		return fprintf(stderr, "engine-host: cannot open image %s: %s\n", argv[i + 1], strerror(errno)), release(job, 2);
	results_file = out ? fopen(out, "w") : stdout;
	if (!results_file)
		return fprintf(stderr, "engine-host: cannot write %s: %s\n", out, strerror(errno)), release(job, 2);
	int rc = engine_run(job, len, &env, &dev);
	fclose(results_file);
	return release(job, rc);
}
